"""Request and response types of search, matching and saved searches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from market.accounts.schemas import SolverOut
from market.catalogue import District, Industry, Zone
from market.schemas import MAX_AMOUNT_MINOR, Input, Name, Tags, Trl
from market.tasks.schemas import TaskSummaryOut
from search.port import MatchExplanation

MAX_SAVED_SEARCHES_PER_USER = 20
MAX_QUERY_LENGTH = 200
# Free text: no control characters (tabs and newlines aside).
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
SearchText = Annotated[str, Meta(max_length=MAX_QUERY_LENGTH, pattern=NO_CONTROL)]
BudgetBound = Annotated[int, Meta(ge=0, le=MAX_AMOUNT_MINOR)]


class SavedSearchFilters(Input, kw_only=True):
    """The task filters of a saved search, as GET /search/tasks takes them."""

    industry: Annotated[list[Industry], Meta(max_length=12)] = msgspec.field(default_factory=list)
    district: Annotated[list[District], Meta(max_length=10)] = msgspec.field(default_factory=list)
    zone: Annotated[list[Zone], Meta(max_length=12)] = msgspec.field(default_factory=list)
    skills: Tags = msgspec.field(default_factory=list)
    min_budget: BudgetBound | None = None
    max_budget: BudgetBound | None = None
    trl: Trl | None = None

    def is_empty(self) -> bool:
        return not (
            self.industry
            or self.district
            or self.zone
            or self.skills
            or self.min_budget is not None
            or self.max_budget is not None
            or self.trl is not None
        )


class SavedSearchInput(Input, kw_only=True):
    name: Name
    q: SearchText = ""
    filters: SavedSearchFilters = msgspec.field(default_factory=SavedSearchFilters)


class SavedSearchOut(msgspec.Struct):
    id: int
    name: str
    q: str
    filters: SavedSearchFilters
    created_at: datetime
    hit_count: int


class SavedSearchHitOut(msgspec.Struct):
    task: TaskSummaryOut
    matched_at: datetime


class TaskHit(msgspec.Struct):
    task: TaskSummaryOut
    score: float
    highlights: dict[str, str]
    """Field -> HTML-escaped text with the matches in <mark>…</mark>."""


class SolverHit(msgspec.Struct):
    solver: SolverOut
    rating_avg: float | None
    completed_count: int
    score: float
    highlights: dict[str, str]


class TaskSearchPage(msgspec.Struct):
    items: list[TaskHit]
    total: int
    page: int
    page_size: int
    facets: dict[str, dict[str, int]]


class SolverSearchPage(msgspec.Struct):
    items: list[SolverHit]
    total: int
    page: int
    page_size: int
    facets: dict[str, dict[str, int]]


class TaskMatch(msgspec.Struct):
    task: TaskSummaryOut
    score: float
    explanation: MatchExplanation


class SolverMatch(msgspec.Struct):
    solver: SolverOut
    rating_avg: float | None
    completed_count: int
    score: float
    explanation: MatchExplanation


class TaskMatches(msgspec.Struct):
    items: list[TaskMatch]


class SolverMatches(msgspec.Struct):
    task_id: int
    items: list[SolverMatch]
