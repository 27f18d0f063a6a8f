"""The search port: documents, queries, results, errors and the `SearchIndex` protocol.

Everything the marketplace needs from a search engine goes through this module. The
adapters (`search.embedded`, `search.meili`) implement `SearchIndex`; the domain code
builds `TaskDocument` / `SolverDocument` values from its own rows (the index is derived
data and can always be rebuilt from the database).

Conventions:
- texts are Chinese first and English second; an English field may be an empty string;
- times are epoch seconds (int), money is integer minor units;
- industry / district / zone values are the stable keys of `market.catalogue`
  (this package does not import `market`; it only stores the strings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Protocol, runtime_checkable

import msgspec

MAX_PAGE_SIZE = 100
MAX_MATCH_LIMIT = 100
MAX_QUERY_LENGTH = 200

DocumentKind = Literal["tasks", "solvers"]

# ---------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------


class TaskDocument(msgspec.Struct, kw_only=True):
    """One R&D task as the index sees it."""

    id: int
    title_zh: str
    title_en: str = ""
    summary_zh: str = ""
    summary_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    skills: list[str] = []
    industry: str
    district: str
    zone: str | None = None
    status: str
    trl_current: int
    trl_target: int
    budget_minor: int
    bid_deadline: int
    """Epoch seconds (UTC)."""
    published_at: int
    """Epoch seconds (UTC)."""
    poster_org_id: int


class SolverDocument(msgspec.Struct, kw_only=True):
    """One solver (a user: researcher, lab or small firm) as the index sees it."""

    id: int
    """The user id."""
    display_name: str
    headline_zh: str = ""
    headline_en: str = ""
    skills: list[str] = []
    fields: list[str] = []
    """Industry keys the solver works in."""
    bio_zh: str = ""
    bio_en: str = ""
    languages: list[str] = []
    district: str | None = None
    rating_avg: float | None = None
    completed_count: int = 0


# ---------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------

FilterScalar = str | int | float


class Filter(msgspec.Struct, frozen=True, kw_only=True):
    """One structured condition. Several filters in a query are ANDed.

    Either `values` (equality; several values mean "any of", i.e. IN; on a list field such
    as `skills` a document matches when it carries any of them) or a range (`gte` and/or
    `lte`, both inclusive) -- never both.
    """

    field: str
    values: tuple[FilterScalar, ...] = ()
    gte: int | float | None = None
    lte: int | float | None = None

    @classmethod
    def eq(cls, field: str, value: FilterScalar) -> Filter:
        return cls(field=field, values=(value,))

    @classmethod
    def any_of(cls, field: str, values: Iterable[FilterScalar]) -> Filter:
        return cls(field=field, values=tuple(values))

    @classmethod
    def between(
        cls, field: str, gte: int | float | None = None, lte: int | float | None = None
    ) -> Filter:
        return cls(field=field, gte=gte, lte=lte)


class SearchQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A search request. Field names are validated per document kind (see `search.schema`).

    - `q`: free text, Chinese or English (or both); empty means "everything that passes
      the filters" (a placeholder search);
    - `filters`: ANDed conditions;
    - `facets`: field names whose value counts over the whole result set are returned;
    - `sort`: e.g. ``["budget_minor:desc"]``; ties are broken by relevance (when `q` is
      given) and then by the kind's default order;
    - `page` starts at 1; `page_size` is 1..100.
    """

    q: str = ""
    filters: tuple[Filter, ...] = ()
    facets: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()
    page: int = 1
    page_size: int = 20


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    score: float
    """Relevance of the hit (higher is better); comparable only within one result."""
    highlights: dict[str, str] = {}
    """Field name -> HTML-escaped text with the matched parts in ``<mark>…</mark>``.
    Only fields that contain a match are present; long descriptions are cropped."""


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[str, int]] = {}
    page: int = 1
    page_size: int = 20


class SkillMatch(msgspec.Struct, frozen=True, kw_only=True):
    wanted: str
    """The skill as the task lists it."""
    matched: str
    """The solver's skill that covers it."""
    via_synonym: bool


class MatchExplanation(msgspec.Struct, frozen=True, kw_only=True):
    matched_skills: list[SkillMatch] = []
    matched_terms: list[str] = []
    """Profile terms found in the other side's texts (titles, summaries, bios...)."""
    signals: dict[str, float | str] = {}
    """The score's components (skill_overlap, text_relevance, industry_match,
    district_match, ...) and a few facts (industry, district)."""


class MatchHit(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    score: float
    explanation: MatchExplanation


class RebuildStats(msgspec.Struct, frozen=True, kw_only=True):
    tasks: int
    solvers: int


ProgressCallback = Callable[[DocumentKind, int], None]
"""Called during `rebuild` as ``progress(kind, documents_done_so_far)``."""


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


class SearchError(Exception):
    """Base of every error the search port raises."""


class SearchUnavailable(SearchError):
    """The backend cannot be reached or failed on its side; retrying later may work."""


class InvalidSearchQuery(SearchError):
    """The request is invalid; `field` names the offending field, `rule` the rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


# ---------------------------------------------------------------------------------------
# The port
# ---------------------------------------------------------------------------------------


@runtime_checkable
class SearchIndex(Protocol):
    """What the marketplace needs from a search backend.

    Writes are idempotent upserts keyed by id. Matching considers only open tasks
    (``status == "published"``).
    """

    def upsert_tasks(self, docs: Sequence[TaskDocument]) -> None: ...

    def delete_task(self, task_id: int) -> None: ...

    def upsert_solvers(self, docs: Sequence[SolverDocument]) -> None: ...

    def delete_solver(self, solver_id: int) -> None: ...

    def search_tasks(self, query: SearchQuery) -> SearchResult: ...

    def search_solvers(self, query: SearchQuery) -> SearchResult: ...

    def match_tasks_for_solver(
        self,
        solver: SolverDocument,
        exclude_task_ids: Iterable[int] = (),
        limit: int = 20,
    ) -> list[MatchHit]: ...

    def match_solvers_for_task(self, task: TaskDocument, limit: int = 20) -> list[MatchHit]: ...

    def clear(self) -> None: ...

    def rebuild(
        self,
        tasks: Iterable[TaskDocument],
        solvers: Iterable[SolverDocument],
        progress: ProgressCallback | None = None,
    ) -> RebuildStats: ...

    def close(self) -> None: ...
