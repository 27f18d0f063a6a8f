"""Per-kind index schemas and query validation, shared by every adapter.

One `IndexSchema` per document kind says which fields are searchable (in ranking order),
filterable (keyword or range), facetable and sortable, which fields are highlighted,
and how a document becomes a flat record (with derived label fields). The Meilisearch
settings and the embedded engine's tables are both derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from search import synonyms
from search.port import (
    MAX_MATCH_LIMIT,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    DocumentKind,
    Filter,
    InvalidSearchQuery,
    SearchQuery,
    SolverDocument,
    TaskDocument,
)

Document = TaskDocument | SolverDocument

MAX_FILTERS = 20
MAX_FILTER_VALUES = 100
MAX_FILTER_VALUE_LENGTH = 200
MAX_FACETS = 10
MAX_SORT = 3


@dataclass(frozen=True)
class TextColumn:
    """A weighted text column of the embedded engine, fed by one or more record fields."""

    name: str
    weight: float
    sources: tuple[str, ...]


@dataclass(frozen=True)
class IndexSchema:
    kind: DocumentKind
    doc_type: type[TaskDocument] | type[SolverDocument]
    searchable: tuple[str, ...]
    """Record fields searched, most important first (Meilisearch `searchableAttributes`)."""
    text_columns: tuple[TextColumn, ...]
    """The same fields grouped into weighted columns (embedded engine)."""
    keyword_fields: frozenset[str]
    """Equality / IN filters on single-valued fields."""
    list_fields: frozenset[str]
    """Equality / IN filters on multi-valued fields (a document matches if any value does)."""
    range_fields: frozenset[str]
    facet_fields: frozenset[str]
    sort_fields: frozenset[str]
    default_order: tuple[tuple[str, str], ...]
    """Order of a result without explicit sort (after relevance when `q` is given)."""
    highlight_fields: tuple[str, ...]
    crop_fields: frozenset[str]
    derived: Callable[[Any], dict[str, Any]] = field(repr=False, default=lambda _doc: {})

    @property
    def filterable(self) -> frozenset[str]:
        return self.keyword_fields | self.list_fields | self.range_fields

    @property
    def scalar_columns(self) -> tuple[str, ...]:
        """Single-valued fields stored as columns by the embedded engine."""
        return tuple(sorted((self.keyword_fields | self.range_fields | self.sort_fields) - {"id"}))

    def to_record(self, doc: Document) -> dict[str, Any]:
        record: dict[str, Any] = msgspec.to_builtins(doc)
        record.update(self.derived(doc))
        return record


def _task_derived(doc: TaskDocument) -> dict[str, Any]:
    return {
        "industry_labels": synonyms.industry_text(doc.industry),
        "district_labels": synonyms.district_text(doc.district),
    }


def _solver_derived(doc: SolverDocument) -> dict[str, Any]:
    return {
        "field_labels": " ".join(synonyms.industry_text(f) for f in doc.fields),
        "district_labels": synonyms.district_text(doc.district),
    }


TASKS = IndexSchema(
    kind="tasks",
    doc_type=TaskDocument,
    searchable=(
        "title_zh",
        "title_en",
        "skills",
        "summary_zh",
        "summary_en",
        "industry_labels",
        "district_labels",
        "description_zh",
        "description_en",
    ),
    text_columns=(
        TextColumn("title", 10.0, ("title_zh", "title_en")),
        TextColumn("skills", 8.0, ("skills",)),
        TextColumn("summary", 4.0, ("summary_zh", "summary_en")),
        TextColumn("extra", 2.0, ("industry_labels", "district_labels")),
        TextColumn("body", 1.0, ("description_zh", "description_en")),
    ),
    keyword_fields=frozenset({"id", "industry", "district", "zone", "status", "poster_org_id"}),
    list_fields=frozenset({"skills"}),
    range_fields=frozenset(
        {"budget_minor", "trl_current", "trl_target", "bid_deadline", "published_at"}
    ),
    facet_fields=frozenset({"industry", "district", "zone", "status", "skills"}),
    sort_fields=frozenset(
        {"id", "budget_minor", "published_at", "bid_deadline", "trl_current", "trl_target"}
    ),
    default_order=(("published_at", "desc"), ("id", "desc")),
    highlight_fields=(
        "title_zh",
        "title_en",
        "summary_zh",
        "summary_en",
        "skills",
        "description_zh",
        "description_en",
    ),
    crop_fields=frozenset({"description_zh", "description_en"}),
    derived=_task_derived,
)

SOLVERS = IndexSchema(
    kind="solvers",
    doc_type=SolverDocument,
    searchable=(
        "display_name",
        "headline_zh",
        "headline_en",
        "skills",
        "field_labels",
        "district_labels",
        "bio_zh",
        "bio_en",
    ),
    text_columns=(
        TextColumn("title", 10.0, ("display_name", "headline_zh", "headline_en")),
        TextColumn("skills", 8.0, ("skills",)),
        TextColumn("summary", 4.0, ()),
        TextColumn("extra", 2.0, ("field_labels", "district_labels")),
        TextColumn("body", 1.0, ("bio_zh", "bio_en")),
    ),
    keyword_fields=frozenset({"id", "district"}),
    list_fields=frozenset({"skills", "fields", "languages"}),
    range_fields=frozenset({"rating_avg", "completed_count"}),
    facet_fields=frozenset({"district", "skills", "fields", "languages"}),
    sort_fields=frozenset({"id", "rating_avg", "completed_count"}),
    default_order=(("completed_count", "desc"), ("id", "asc")),
    highlight_fields=("display_name", "headline_zh", "headline_en", "skills", "bio_zh", "bio_en"),
    crop_fields=frozenset({"bio_zh", "bio_en"}),
    derived=_solver_derived,
)

SCHEMAS: dict[DocumentKind, IndexSchema] = {"tasks": TASKS, "solvers": SOLVERS}


@dataclass(frozen=True)
class ValidQuery:
    """A query that passed `validate_query`, with sort parsed into (field, direction)."""

    q: str
    filters: tuple[Filter, ...]
    facets: tuple[str, ...]
    sort: tuple[tuple[str, str], ...]
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _check_value(schema: IndexSchema, f: Filter, index: int) -> None:
    where = f"filters[{index}]"
    if not f.values and f.gte is None and f.lte is None:
        raise InvalidSearchQuery(where, "needs values or a range (gte/lte)")
    if f.values and (f.gte is not None or f.lte is not None):
        raise InvalidSearchQuery(where, "values and a range cannot be combined")
    if f.values:
        if f.field not in schema.keyword_fields | schema.list_fields:
            raise InvalidSearchQuery(
                f"{where}.field", f"{f.field!r} cannot be filtered by value in {schema.kind}"
            )
        if len(f.values) > MAX_FILTER_VALUES:
            raise InvalidSearchQuery(f"{where}.values", f"at most {MAX_FILTER_VALUES} values")
        for value in f.values:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise InvalidSearchQuery(f"{where}.values", "values are strings or numbers")
            if isinstance(value, str) and len(value) > MAX_FILTER_VALUE_LENGTH:
                raise InvalidSearchQuery(
                    f"{where}.values", f"a value is at most {MAX_FILTER_VALUE_LENGTH} characters"
                )
        return
    if f.field not in schema.range_fields:
        raise InvalidSearchQuery(
            f"{where}.field", f"{f.field!r} cannot be filtered by range in {schema.kind}"
        )
    for bound in (f.gte, f.lte):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise InvalidSearchQuery(where, "range bounds are numbers")
    if f.gte is not None and f.lte is not None and f.gte > f.lte:
        raise InvalidSearchQuery(where, "gte must not exceed lte")


def validate_query(schema: IndexSchema, query: SearchQuery) -> ValidQuery:
    """Check a query against a schema; raise `InvalidSearchQuery` naming the field."""
    q = query.q.strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise InvalidSearchQuery("q", f"at most {MAX_QUERY_LENGTH} characters")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in q):
        raise InvalidSearchQuery("q", "control characters are not allowed")
    if len(query.filters) > MAX_FILTERS:
        raise InvalidSearchQuery("filters", f"at most {MAX_FILTERS} filters")
    for i, f in enumerate(query.filters):
        _check_value(schema, f, i)
    if len(query.facets) > MAX_FACETS:
        raise InvalidSearchQuery("facets", f"at most {MAX_FACETS} facets")
    for facet in query.facets:
        if facet not in schema.facet_fields:
            raise InvalidSearchQuery(
                "facets",
                f"{facet!r} is not a facet of {schema.kind}: "
                + ", ".join(sorted(schema.facet_fields)),
            )
    if len(query.sort) > MAX_SORT:
        raise InvalidSearchQuery("sort", f"at most {MAX_SORT} sort criteria")
    sort: list[tuple[str, str]] = []
    for spec in query.sort:
        name, _, direction = spec.partition(":")
        direction = direction or "asc"
        if name not in schema.sort_fields:
            raise InvalidSearchQuery(
                "sort",
                f"{name!r} is not sortable in {schema.kind}: "
                + ", ".join(sorted(schema.sort_fields)),
            )
        if direction not in ("asc", "desc"):
            raise InvalidSearchQuery("sort", f"direction of {name!r} must be asc or desc")
        if any(existing == name for existing, _ in sort):
            raise InvalidSearchQuery("sort", f"{name!r} is given twice")
        sort.append((name, direction))
    if query.page < 1:
        raise InvalidSearchQuery("page", "must be at least 1")
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise InvalidSearchQuery("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    if query.page * query.page_size > 100_000:
        raise InvalidSearchQuery("page", "page * page_size must not exceed 100000")
    return ValidQuery(
        q=q,
        filters=query.filters,
        facets=tuple(dict.fromkeys(query.facets)),
        sort=tuple(sort),
        page=query.page,
        page_size=query.page_size,
    )


def full_order(
    schema: IndexSchema, sort: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Explicit sort followed by the kind's default order (without repeated fields)."""
    names = {name for name, _ in sort}
    return sort + tuple((n, d) for n, d in schema.default_order if n not in names)


def validate_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_MATCH_LIMIT:
        raise InvalidSearchQuery("limit", f"must be an integer between 1 and {MAX_MATCH_LIMIT}")
    return limit
