"""Search, matching and saved searches over HTTP. Everything here reads the index; the
index is written by the background handlers (tasks.py), never by a request."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromQuery, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from market.accounts.domain import CurrentUser, Language
from market.catalogue import District, Industry, Zone
from market.discovery.schemas import (
    MAX_QUERY_LENGTH,
    NO_CONTROL,
    SavedSearchHitOut,
    SavedSearchInput,
    SavedSearchOut,
    SolverMatches,
    SolverSearchPage,
    TaskMatches,
    TaskSearchPage,
)
from market.discovery.service import (
    SEARCHABLE_STATUSES,
    DiscoveryService,
    SolverSearch,
    TaskSearch,
)
from market.http import PageNumber, PageSize, PathId
from market.schemas import MAX_AMOUNT_MINOR, Page
from market.tasks.domain import TaskStatus

Q = Annotated[
    str,
    Parameter(
        max_length=MAX_QUERY_LENGTH,
        pattern=NO_CONTROL,
        description="free text, Chinese or English; skills match their synonyms (新材料 = new materials)",
    ),
]
Terms = Annotated[
    list[str] | None,
    Parameter(description="repeat the parameter for several values; any may match"),
]
Facets = Annotated[
    list[str] | None,
    Parameter(description="fields whose value counts to return (repeat or comma-separate)"),
]
Budget = Annotated[int | None, Parameter(ge=0, le=MAX_AMOUNT_MINOR)]
Limit = Annotated[int, Parameter(ge=1, le=100, description="at most 100")]


class SearchController(Controller):
    path = "/search"
    tags = ["search"]

    @get("/tasks", sync_to_thread=True)
    def search_tasks(
        self,
        discovery: DiscoveryService,
        q: Q = "",
        industry: FromQuery[list[Industry] | None] = None,
        district: FromQuery[list[District] | None] = None,
        zone: FromQuery[list[Zone] | None] = None,
        skills: Terms = None,
        min_budget: Budget = None,
        max_budget: Budget = None,
        trl: Annotated[
            int | None, Parameter(ge=1, le=9, description="the task's TRL span covers it")
        ] = None,
        status: Annotated[
            list[TaskStatus] | None,
            Parameter(description=f"default published; one of {', '.join(SEARCHABLE_STATUSES)}"),
        ] = None,
        facets: Facets = None,
        sort: Annotated[
            list[str] | None,
            Parameter(
                description="budget_minor, published_at, bid_deadline, trl_current, "
                "trl_target or id; '-field' or 'field:desc' for descending"
            ),
        ] = None,
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> TaskSearchPage:
        """Full-text task search (published tasks unless `status` says otherwise), with
        filters, facets, sort, pages and highlighted matches."""
        return discovery.search_tasks(
            TaskSearch(
                q=q,
                industry=industry or (),
                district=district or (),
                zone=zone or (),
                skills=skills or (),
                min_budget=min_budget,
                max_budget=max_budget,
                trl=trl,
                status=tuple(status or (TaskStatus.PUBLISHED,)),
                facets=facets or (),
                sort=sort or (),
                page=page,
                page_size=page_size,
            )
        )

    @get("/solvers", sync_to_thread=True)
    def search_solvers(
        self,
        discovery: DiscoveryService,
        q: Q = "",
        skills: Terms = None,
        fields: FromQuery[list[Industry] | None] = None,
        languages: FromQuery[list[Language] | None] = None,
        district: FromQuery[list[District] | None] = None,
        min_rating: Annotated[float | None, Parameter(ge=0, le=5)] = None,
        min_completed: Annotated[int | None, Parameter(ge=0, le=1_000_000)] = None,
        facets: Facets = None,
        sort: Annotated[
            list[str] | None,
            Parameter(description="rating_avg, completed_count or id; '-field' for descending"),
        ] = None,
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> SolverSearchPage:
        """Full-text solver search (name, headline, skills, fields, bio), with filters,
        facets, sort, pages and highlighted matches."""
        return discovery.search_solvers(
            SolverSearch(
                q=q,
                skills=skills or (),
                fields=fields or (),
                languages=languages or (),
                district=district or (),
                min_rating=min_rating,
                min_completed=min_completed,
                facets=facets or (),
                sort=sort or (),
                page=page,
                page_size=page_size,
            )
        )


class MatchController(Controller):
    path = "/match"
    tags = ["search"]
    security = [{"bearer": []}]

    @get("/tasks-for-me", sync_to_thread=True)
    def tasks_for_me(
        self, user: CurrentUser, discovery: DiscoveryService, limit: Limit = 20
    ) -> TaskMatches:
        """Open tasks suited to the calling solver's profile, best first, without those
        already bid on; each with why it matched (skills, synonyms, terms, signals)."""
        return discovery.tasks_for_solver(user, limit)


class TaskMatchController(Controller):
    path = "/tasks/{task_id:int}/matching-solvers"
    tags = ["search"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def matching_solvers(
        self, task_id: PathId, user: CurrentUser, discovery: DiscoveryService, limit: Limit = 20
    ) -> SolverMatches:
        """Solvers suited to the task, best first, with why (posting organisation, admins)."""
        return discovery.solvers_for_task(user, task_id, limit)


class SavedSearchController(Controller):
    path = "/me/saved-searches"
    tags = ["search"]
    security = [{"bearer": []}]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def save(
        self, data: SavedSearchInput, user: CurrentUser, discovery: DiscoveryService
    ) -> SavedSearchOut:
        """Save a task search; each newly published task that matches it is recorded as a
        hit and notified."""
        return discovery.save_search(user, data)

    @get("/", sync_to_thread=True)
    def list_saved(self, user: CurrentUser, discovery: DiscoveryService) -> list[SavedSearchOut]:
        return discovery.list_saved_searches(user)

    @delete("/{search_id:int}", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True)
    def delete_saved(
        self, search_id: PathId, user: CurrentUser, discovery: DiscoveryService
    ) -> None:
        discovery.delete_saved_search(user, search_id)

    @get("/{search_id:int}/hits", sync_to_thread=True)
    def hits(
        self,
        search_id: PathId,
        user: CurrentUser,
        discovery: DiscoveryService,
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> Page[SavedSearchHitOut]:
        """Tasks that matched this saved search when they were published, newest first."""
        return discovery.saved_search_hits(user, search_id, page, page_size)
