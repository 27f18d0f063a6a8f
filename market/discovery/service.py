"""Search, matching, saved searches and the index upkeep, over the `search` port.

The API reads the index and shapes the hits from the database (the index only finds ids;
what a caller sees is always the rows' current state). The background handlers
(`tasks.py`) write to the index; nothing here makes a request wait on an index write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.domain import CurrentUser, Role
from market.accounts.models import Organisation, User
from market.accounts.schemas import SolverOut
from market.accounts.service import organisation_out, profile_out
from market.bids.models import Bid
from market.contracts.models import Contract, Rating
from market.discovery import documents
from market.discovery.factory import SearchIndexHandle
from market.discovery.models import SavedSearch, SavedSearchHit
from market.discovery.schemas import (
    MAX_SAVED_SEARCHES_PER_USER,
    SavedSearchFilters,
    SavedSearchHitOut,
    SavedSearchInput,
    SavedSearchOut,
    SolverHit,
    SolverMatch,
    SolverMatches,
    SolverSearchPage,
    TaskHit,
    TaskMatch,
    TaskMatches,
    TaskSearchPage,
)
from market.errors import DomainError, Forbidden, InvalidInput, NotFound
from market.schemas import Page
from market.settings import Settings
from market.tasks.domain import TaskStatus
from market.tasks.models import Task
from market.tasks.schemas import TaskSummaryOut
from market.tasks.service import TaskService, can_manage, task_summary_out
from market.uow import UnitOfWork
from search.port import (
    MAX_MATCH_LIMIT,
    Filter,
    InvalidSearchQuery,
    MatchHit,
    RebuildStats,
    SearchError,
    SearchIndex,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)

T = TypeVar("T")

MAX_SKILL_LENGTH = 60
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Matching asks the index for a few more than wanted: hits whose task has meanwhile
# left the open state (the index lags the database a little) are dropped.
MATCH_SLACK = 20


class InvalidSearch(DomainError):
    """A search parameter the engine refuses (unknown facet, sort field, bad range...)."""

    status_code = 400
    title = "Invalid request"
    default_rule = "invalid_search"


class SearchDown(DomainError):
    """The search backend cannot answer now; the rest of the API still works."""

    status_code = 503
    title = "Search unavailable"
    default_rule = "search_unavailable"


# -- parsed requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSearch:
    q: str = ""
    industry: Sequence[str] = ()
    district: Sequence[str] = ()
    zone: Sequence[str] = ()
    skills: Sequence[str] = ()
    min_budget: int | None = None
    max_budget: int | None = None
    trl: int | None = None
    status: Sequence[str] = (TaskStatus.PUBLISHED,)
    facets: Sequence[str] = ()
    sort: Sequence[str] = ()
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class SolverSearch:
    q: str = ""
    skills: Sequence[str] = ()
    fields: Sequence[str] = ()
    languages: Sequence[str] = ()
    district: Sequence[str] = ()
    min_rating: float | None = None
    min_completed: int | None = None
    facets: Sequence[str] = ()
    sort: Sequence[str] = ()
    page: int = 1
    page_size: int = 20


@dataclass
class _Query:
    """Port filters with the API parameter each came from (to name it in a 400)."""

    filters: list[Filter] = field(default_factory=list)
    params: list[str] = field(default_factory=list)

    def values(self, param: str, index_field: str, values: Iterable[Any]) -> None:
        values = tuple(dict.fromkeys(str(v) for v in values))
        if values:
            self.filters.append(Filter.any_of(index_field, values))
            self.params.append(param)

    def range(
        self, param: str, index_field: str, gte: float | None = None, lte: float | None = None
    ) -> None:
        if gte is not None or lte is not None:
            self.filters.append(Filter.between(index_field, gte=gte, lte=lte))
            self.params.append(param)

    def param_of(self, port_field: str) -> str:
        found = re.match(r"filters\[(\d+)\]", port_field)
        if found and int(found.group(1)) < len(self.params):
            return self.params[int(found.group(1))]
        return port_field


def split_list(values: Iterable[str] | None) -> tuple[str, ...]:
    """Repeated parameters and comma-separated values alike: `facets=a,b&facets=c`."""
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(","))
    return tuple(dict.fromkeys(p for p in out if p))


def sort_specs(values: Iterable[str] | None) -> tuple[str, ...]:
    """API sort (`budget_minor`, `-budget_minor`, `budget_minor:desc`) -> the port's form."""
    specs = []
    for value in split_list(values):
        if value.startswith("-"):
            specs.append(f"{value[1:]}:desc")
        elif ":" in value:
            specs.append(value)
        else:
            specs.append(f"{value}:asc")
    return tuple(specs)


def _check_terms(param: str, values: Iterable[str]) -> None:
    for value in values:
        if len(value) > MAX_SKILL_LENGTH:
            raise InvalidSearch(
                f"{param}: a value is at most {MAX_SKILL_LENGTH} characters",
                field=param,
                rule="max_length",
            )
        if _CONTROL.search(value):
            raise InvalidSearch(
                f"{param}: control characters are not allowed", field=param, rule="pattern"
            )


def _check_range(low_param: str, high_param: str, low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidSearch(
            f"{high_param} must not be below {low_param}", field=high_param, rule="range_order"
        )


SEARCHABLE_STATUSES = tuple(sorted(documents.INDEXED_STATUSES))


def task_query(p: TaskSearch) -> tuple[SearchQuery, _Query]:
    bad = [s for s in p.status if s not in documents.INDEXED_STATUSES]
    if bad:
        raise InvalidSearch(
            f"status {bad[0]!r} is not searchable; use {', '.join(SEARCHABLE_STATUSES)}",
            field="status",
            rule="not_searchable",
        )
    _check_terms("skills", p.skills)
    _check_range("min_budget", "max_budget", p.min_budget, p.max_budget)
    f = _Query()
    f.values("status", "status", p.status or (TaskStatus.PUBLISHED,))
    f.values("industry", "industry", p.industry)
    f.values("district", "district", p.district)
    f.values("zone", "zone", p.zone)
    f.values("skills", "skills", p.skills)
    f.range("min_budget", "budget_minor", p.min_budget, p.max_budget)
    if p.trl is not None:  # the task's TRL span covers the level, as in GET /tasks
        f.range("trl", "trl_current", lte=p.trl)
        f.range("trl", "trl_target", gte=p.trl)
    query = SearchQuery(
        q=p.q,
        filters=tuple(f.filters),
        facets=split_list(p.facets),
        sort=sort_specs(p.sort),
        page=p.page,
        page_size=p.page_size,
    )
    return query, f


def solver_query(p: SolverSearch) -> tuple[SearchQuery, _Query]:
    _check_terms("skills", p.skills)
    f = _Query()
    f.values("skills", "skills", p.skills)
    f.values("fields", "fields", p.fields)
    f.values("languages", "languages", p.languages)
    f.values("district", "district", p.district)
    f.range("min_rating", "rating_avg", gte=p.min_rating)
    f.range("min_completed", "completed_count", gte=p.min_completed)
    query = SearchQuery(
        q=p.q,
        filters=tuple(f.filters),
        facets=split_list(p.facets),
        sort=sort_specs(p.sort),
        page=p.page,
        page_size=p.page_size,
    )
    return query, f


def saved_query(saved: SavedSearch, task_id: int) -> SearchQuery:
    """A saved search narrowed to one task: does the task match it?"""
    filters = msgspec.convert(saved.filters or {}, SavedSearchFilters)
    query, _ = task_query(
        TaskSearch(
            q=saved.q,
            industry=filters.industry,
            district=filters.district,
            zone=filters.zone,
            skills=filters.skills,
            min_budget=filters.min_budget,
            max_budget=filters.max_budget,
            trl=filters.trl,
        )
    )
    return msgspec.structs.replace(
        query, filters=(*query.filters, Filter.eq("id", task_id)), page_size=1
    )


def saved_search_out(saved: SavedSearch, hit_count: int) -> SavedSearchOut:
    return SavedSearchOut(
        id=saved.id,
        name=saved.name,
        q=saved.q,
        filters=msgspec.convert(saved.filters or {}, SavedSearchFilters),
        created_at=saved.created_at,
        hit_count=hit_count,
    )


def solver_out(user: User) -> SolverOut:
    return SolverOut(
        id=user.id,
        display_name=user.display_name,
        organisation=organisation_out(user.organisation),
        profile=profile_out(user.profile),
    )


@dataclass(frozen=True)
class SavedSearchMatch:
    """Saved searches of one user that a newly published task matched."""

    user_id: int
    names: list[str]


class DiscoveryService:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, handle: SearchIndexHandle
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._handle = handle

    @property
    def index(self) -> SearchIndex:
        return self._handle.get()

    def close(self) -> None:
        self._handle.close()

    # -- calling the port from a request -------------------------------------------------------
    def _ask(self, call: Callable[[SearchIndex], T], q: _Query | None = None) -> T:
        try:
            return call(self.index)
        except InvalidSearchQuery as exc:
            param = q.param_of(exc.field) if q is not None else exc.field
            raise InvalidSearch(f"{param}: {exc.rule}", field=param) from exc
        except SearchUnavailable as exc:
            raise SearchDown("search is unavailable; try again shortly") from exc
        except SearchError as exc:
            raise SearchDown(f"search failed: {exc}") from exc

    # -- search -------------------------------------------------------------------------------
    def search_tasks(self, params: TaskSearch) -> TaskSearchPage:
        query, f = task_query(params)
        result: SearchResult = self._ask(lambda index: index.search_tasks(query), f)
        tasks = self._task_rows([h.id for h in result.hits])
        return TaskSearchPage(
            items=[
                TaskHit(task=tasks[h.id], score=h.score, highlights=dict(h.highlights))
                for h in result.hits
                if h.id in tasks
            ],
            total=result.total,
            page=result.page,
            page_size=result.page_size,
            facets={k: dict(v) for k, v in result.facets.items()},
        )

    def search_solvers(self, params: SolverSearch) -> SolverSearchPage:
        query, f = solver_query(params)
        result: SearchResult = self._ask(lambda index: index.search_solvers(query), f)
        solvers = self._solver_rows([h.id for h in result.hits])
        items = []
        for h in result.hits:
            if h.id in solvers:
                out, (avg, count) = solvers[h.id]
                items.append(
                    SolverHit(
                        solver=out,
                        rating_avg=avg,
                        completed_count=count,
                        score=h.score,
                        highlights=dict(h.highlights),
                    )
                )
        return SolverSearchPage(
            items=items,
            total=result.total,
            page=result.page,
            page_size=result.page_size,
            facets={k: dict(v) for k, v in result.facets.items()},
        )

    # -- matching -----------------------------------------------------------------------------
    def tasks_for_solver(self, user: CurrentUser, limit: int = 20) -> TaskMatches:
        """Open tasks for the calling solver, best first, without those already bid on."""
        if user.role is not Role.SOLVER:
            raise Forbidden("tasks are matched to solvers only", rule="role")
        with self._sessions() as s:
            solver = documents.load_solver_document(s, user.id)
            if solver is None:
                raise NotFound("no such solver")
            bid_on = set(s.scalars(select(Bid.task_id).where(Bid.solver_id == user.id)))
        wanted = min(MAX_MATCH_LIMIT, limit + MATCH_SLACK)
        hits: list[MatchHit] = self._ask(
            lambda index: index.match_tasks_for_solver(solver, sorted(bid_on), wanted)
        )
        tasks = self._task_rows(
            [h.id for h in hits if h.id not in bid_on], statuses=(TaskStatus.PUBLISHED,)
        )
        items = [
            TaskMatch(task=tasks[h.id], score=h.score, explanation=h.explanation)
            for h in hits
            if h.id in tasks
        ]
        return TaskMatches(items=items[:limit])

    def solvers_for_task(self, user: CurrentUser, task_id: int, limit: int = 20) -> SolverMatches:
        """Solvers suited to a task: for its posting organisation and admins."""
        with self._sessions() as s:
            task = s.get(Task, task_id)
            if task is None or not TaskService.visible_to(task, user):
                raise NotFound("no such task", field="task_id")
            if not can_manage(user, task):
                raise Forbidden(
                    "only the posting organisation sees the solvers matched to its task",
                    rule="owner",
                )
            doc = documents.task_document(task)
        hits: list[MatchHit] = self._ask(lambda index: index.match_solvers_for_task(doc, limit))
        solvers = self._solver_rows([h.id for h in hits])
        items = []
        for h in hits:
            if h.id in solvers:
                out, (avg, count) = solvers[h.id]
                items.append(
                    SolverMatch(
                        solver=out,
                        rating_avg=avg,
                        completed_count=count,
                        score=h.score,
                        explanation=h.explanation,
                    )
                )
        return SolverMatches(task_id=task_id, items=items)

    # -- saved searches -----------------------------------------------------------------------
    def save_search(self, user: CurrentUser, data: SavedSearchInput) -> SavedSearchOut:
        q = data.q.strip()
        if not q and data.filters.is_empty():
            raise InvalidInput(
                "give a query text or at least one filter", field="q", rule="required_q_or_filter"
            )
        f = data.filters
        if f.min_budget is not None and f.max_budget is not None and f.min_budget > f.max_budget:
            raise InvalidInput(
                "max_budget must not be below min_budget",
                field="filters.max_budget",
                rule="range_order",
            )
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            # Serialise a user's concurrent saves, so the limit holds.
            s.scalar(select(User.id).where(User.id == user.id).with_for_update())
            count = s.scalar(
                select(func.count()).select_from(SavedSearch).where(SavedSearch.user_id == user.id)
            )
            if (count or 0) >= MAX_SAVED_SEARCHES_PER_USER:
                raise InvalidInput(
                    f"a user keeps at most {MAX_SAVED_SEARCHES_PER_USER} saved searches",
                    field="body",
                    rule="max_count",
                )
            saved = SavedSearch(
                user_id=user.id,
                name=data.name.strip() or data.name,
                q=q,
                filters=msgspec.to_builtins(f),
            )
            s.add(saved)
            s.flush()
            uow.record(actor_id=user.id, entity="saved_search", entity_id=saved.id, action="create")
            uow.commit()
            return saved_search_out(saved, 0)

    def list_saved_searches(self, user: CurrentUser) -> list[SavedSearchOut]:
        with self._sessions() as s:
            rows = list(
                s.scalars(
                    select(SavedSearch)
                    .where(SavedSearch.user_id == user.id)
                    .order_by(SavedSearch.id)
                )
            )
            counts: dict[int, int] = {
                sid: n
                for sid, n in s.execute(
                    select(SavedSearchHit.saved_search_id, func.count())
                    .where(SavedSearchHit.saved_search_id.in_([r.id for r in rows]))
                    .group_by(SavedSearchHit.saved_search_id)
                )
            }
            return [saved_search_out(r, counts.get(r.id, 0)) for r in rows]

    def delete_saved_search(self, user: CurrentUser, search_id: int) -> None:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            saved = s.get(SavedSearch, search_id)
            if saved is None or saved.user_id != user.id:
                raise NotFound("no such saved search", field="search_id")
            s.execute(delete(SavedSearchHit).where(SavedSearchHit.saved_search_id == saved.id))
            s.delete(saved)
            uow.record(
                actor_id=user.id, entity="saved_search", entity_id=search_id, action="delete"
            )
            uow.commit()

    def saved_search_hits(
        self, user: CurrentUser, search_id: int, page: int, page_size: int
    ) -> Page[SavedSearchHitOut]:
        with self._sessions() as s:
            saved = s.get(SavedSearch, search_id)
            if saved is None or saved.user_id != user.id:
                raise NotFound("no such saved search", field="search_id")
            where = SavedSearchHit.saved_search_id == saved.id
            total = s.scalar(select(func.count()).select_from(SavedSearchHit).where(where)) or 0
            rows = s.execute(
                select(SavedSearchHit, Task, Organisation)
                .join(Task, Task.id == SavedSearchHit.task_id)
                .join(Organisation, Organisation.id == Task.org_id)
                .where(where)
                .order_by(SavedSearchHit.matched_at.desc(), SavedSearchHit.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            ).all()
            return Page(
                items=[
                    SavedSearchHitOut(task=task_summary_out(t, o), matched_at=h.matched_at)
                    for h, t, o in rows
                ],
                total=total,
                page=page,
                page_size=page_size,
            )

    # -- index upkeep (background handlers) -----------------------------------------------------
    def index_task(self, task_id: int) -> None:
        """Make the task's document what the database says: upserted, or gone."""
        with self._sessions() as s:
            doc = documents.load_task_document(s, task_id)
        if doc is None:
            self.index.delete_task(task_id)
        else:
            self.index.upsert_tasks([doc])

    def index_solver(self, user_id: int) -> None:
        with self._sessions() as s:
            doc = documents.load_solver_document(s, user_id)
        if doc is None:
            self.index.delete_solver(user_id)
        else:
            self.index.upsert_solvers([doc])

    def index_contract_solver(self, contract_id: int) -> None:
        with self._sessions() as s:
            solver_id = s.scalar(select(Contract.solver_id).where(Contract.id == contract_id))
        if solver_id is not None:
            self.index_solver(solver_id)

    def index_rated_solver(self, rating_id: int) -> None:
        with self._sessions() as s:
            rated = s.scalar(select(Rating.rated_user_id).where(Rating.id == rating_id))
        if rated is not None:  # a solver rating the posting organisation changes no solver
            self.index_solver(rated)

    def match_saved_searches(self, task_id: int) -> list[SavedSearchMatch]:
        """Record the saved searches a newly published task matches (once per search and
        task); returns them per user, for the notifications."""
        with self._sessions() as s:
            task = s.get(Task, task_id)
            if task is None or task.status != TaskStatus.PUBLISHED:
                return []
            doc = documents.task_document(task)
            searches = list(
                s.scalars(
                    select(SavedSearch)
                    .join(User, User.id == SavedSearch.user_id)
                    .where(User.is_active.is_(True))
                    .order_by(SavedSearch.id)
                )
            )
            s.expunge_all()
        if not searches:
            return []
        # The task's own index handler may not have run yet (handlers run in any order).
        self.index.upsert_tasks([doc])
        matched = [
            saved
            for saved in searches
            if self.index.search_tasks(saved_query(saved, task_id)).total > 0
        ]
        if matched:
            self._record_hits(task_id, [m.id for m in matched])
        by_user: dict[int, list[str]] = {}
        for saved in matched:
            by_user.setdefault(saved.user_id, []).append(saved.name)
        return [SavedSearchMatch(user_id=u, names=names) for u, names in by_user.items()]

    def _record_hits(self, task_id: int, search_ids: list[int]) -> None:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            done = set(
                s.scalars(
                    select(SavedSearchHit.saved_search_id).where(
                        SavedSearchHit.task_id == task_id,
                        SavedSearchHit.saved_search_id.in_(search_ids),
                    )
                )
            )
            alive = set(s.scalars(select(SavedSearch.id).where(SavedSearch.id.in_(search_ids))))
            for sid in search_ids:
                if sid not in done and sid in alive:
                    s.add(SavedSearchHit(saved_search_id=sid, task_id=task_id))
            try:
                uow.commit()
            except IntegrityError:  # a concurrent run of the same event wrote them first
                return

    # -- rebuilding ------------------------------------------------------------------------------
    def count_documents(self) -> tuple[int, int]:
        with self._sessions() as s:
            return documents.count_documents(s)

    def reindex(self, progress: Callable[[str, int], None] | None = None) -> RebuildStats:
        """Rebuild the whole index from the database."""
        with self._sessions() as tasks_session, self._sessions() as solvers_session:
            return self.index.rebuild(
                documents.iter_task_documents(tasks_session),
                documents.iter_solver_documents(solvers_session),
                progress,
            )

    def index_is_empty(self) -> bool:
        probe = SearchQuery(page_size=1)
        return self.index.search_tasks(probe).total == 0 and (
            self.index.search_solvers(probe).total == 0
        )

    # -- shaping hits from rows ------------------------------------------------------------------
    def _task_rows(
        self, ids: Sequence[int], statuses: Iterable[str] | None = None
    ) -> dict[int, TaskSummaryOut]:
        if not ids:
            return {}
        allowed = set(statuses) if statuses is not None else documents.INDEXED_STATUSES
        with self._sessions() as s:
            rows = s.execute(
                select(Task, Organisation)
                .join(Organisation, Organisation.id == Task.org_id)
                .where(Task.id.in_(list(ids)))
            ).all()
            return {t.id: task_summary_out(t, o) for t, o in rows if t.status in allowed}

    def _solver_rows(
        self, ids: Sequence[int]
    ) -> dict[int, tuple[SolverOut, tuple[float | None, int]]]:
        if not ids:
            return {}
        with self._sessions() as s:
            users = [
                u
                for u in s.scalars(select(User).where(User.id.in_(list(ids))))
                if documents.is_indexed_solver(u)
            ]
            stats = documents.solver_stats(s, [u.id for u in users])
            return {u.id: (solver_out(u), stats.get(u.id, (None, 0))) for u in users}
