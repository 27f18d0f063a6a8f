"""The Meilisearch adapter, through the official `meilisearch` Python client.

Two indexes, ``<prefix>tasks`` and ``<prefix>solvers``, whose settings are derived from
`search.schema` (`index_settings`). Writes enqueue Meilisearch tasks and return at once;
they are awaited only by `ensure_settings` (start-up), by `rebuild` (which must not swap
in an index that failed to build) and when the adapter is built with ``wait=True``
(tests). `rebuild` fills fresh indexes and swaps them in with the swap-indexes API, so
searches never see an empty or half-built index; writes made while a rebuild runs go to
the old index and must be replayed afterwards (the marketplace re-sends them from its
outbox).

Matching runs one multi-search (shared skills, each profile term, the industry) and
scores the candidates with `search.matching`, like every other adapter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import islice
from typing import Any, ParamSpec, TypeVar

import meilisearch
import msgspec
import requests
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchError,
    MeilisearchTimeoutError,
)
from meilisearch.models.task import TaskInfo

from search import matching, synonyms
from search.port import (
    DocumentKind,
    Filter,
    FilterScalar,
    InvalidSearchQuery,
    MatchHit,
    ProgressCallback,
    RebuildStats,
    SearchError,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    SolverDocument,
    TaskDocument,
)
from search.schema import (
    SOLVERS,
    TASKS,
    Document,
    IndexSchema,
    ValidQuery,
    full_order,
    validate_limit,
    validate_query,
)
from search.text import MARK_POST, MARK_PRE, render_marked

RANKING_RULES = ["sort", "words", "typo", "proximity", "attribute", "exactness"]
"""`sort` first: an explicit sort wins over relevance (as in the embedded engine);
without a sort parameter the rule does nothing."""
CROP_LENGTH = 24
MAX_TOTAL_HITS = 100_000
BATCH_SIZE = 1000

_FIELD_OF_ERROR = {
    "invalid_search_q": "q",
    "invalid_search_filter": "filters",
    "invalid_search_facets": "facets",
    "invalid_search_sort": "sort",
    "invalid_search_page": "page",
    "invalid_search_hits_per_page": "page_size",
    "invalid_search_limit": "limit",
}

T = TypeVar("T")
P = ParamSpec("P")


# ---------------------------------------------------------------------------------------
# Pure translation (unit-tested without a server)
# ---------------------------------------------------------------------------------------


def index_settings(schema: IndexSchema) -> dict[str, Any]:
    """The full settings payload of one index."""
    return {
        "displayedAttributes": ["*"],
        "searchableAttributes": list(schema.searchable),
        "filterableAttributes": sorted(schema.filterable),
        "sortableAttributes": sorted(schema.sort_fields),
        "rankingRules": list(RANKING_RULES),
        "stopWords": list(synonyms.STOP_WORDS),
        "synonyms": synonyms.meili_synonyms(),
        "typoTolerance": {
            "enabled": True,
            "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
        },
        "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "count"}},
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
        "localizedAttributes": [
            {"attributePatterns": ["*_zh"], "locales": ["cmn"]},
            {"attributePatterns": ["*_en"], "locales": ["eng"]},
        ],
    }


def quote(value: FilterScalar) -> str:
    """A filter literal: numbers as they are, strings double-quoted with ``\\`` and ``"``
    escaped (Meilisearch unescapes both)."""
    if isinstance(value, bool):
        raise InvalidSearchQuery("filters", "booleans are not filter values")
    if isinstance(value, int | float):
        return repr(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_clause(f: Filter) -> str:
    """One `Filter` as a Meilisearch filter expression (field names come from the schema)."""
    if f.values:
        if len(f.values) == 1:
            return f"{f.field} = {quote(f.values[0])}"
        return f"{f.field} IN [{', '.join(quote(v) for v in f.values)}]"
    if f.gte is not None and f.lte is not None:
        return f"{f.field} {quote(f.gte)} TO {quote(f.lte)}"
    if f.gte is not None:
        return f"{f.field} >= {quote(f.gte)}"
    if f.lte is not None:
        return f"{f.field} <= {quote(f.lte)}"
    raise InvalidSearchQuery(f.field, "empty filter")


def filter_expression(filters: Iterable[Filter], extra: Sequence[str] = ()) -> str | None:
    clauses = [filter_clause(f) for f in filters]
    clauses.extend(extra)
    return " AND ".join(clauses) if clauses else None


def _sort_param(order: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{name}:{direction}" for name, direction in order]


def search_params(schema: IndexSchema, vq: ValidQuery) -> dict[str, Any]:
    """The search body (besides ``q``) for a validated query."""
    params: dict[str, Any] = {
        "page": vq.page,
        "hitsPerPage": vq.page_size,
        "showRankingScore": True,
        "matchingStrategy": "all",
    }
    expression = filter_expression(vq.filters)
    if expression:
        params["filter"] = expression
    if vq.facets:
        params["facets"] = list(vq.facets)
    if vq.q:
        if vq.sort:
            params["sort"] = _sort_param(vq.sort)
        params.update(
            attributesToHighlight=list(schema.highlight_fields),
            highlightPreTag=MARK_PRE,
            highlightPostTag=MARK_POST,
            attributesToCrop=sorted(schema.crop_fields),
            cropLength=CROP_LENGTH,
        )
    else:
        # A placeholder search has no relevance: order fully by sort + the default order.
        params["sort"] = _sort_param(full_order(schema, vq.sort))
    return params


def highlights_of(schema: IndexSchema, formatted: dict[str, Any]) -> dict[str, str]:
    """Highlights from a hit's ``_formatted`` (only the fields holding a match)."""
    out: dict[str, str] = {}
    for name in schema.highlight_fields:
        value = formatted.get(name)
        if isinstance(value, str) and MARK_PRE in value:
            out[name] = render_marked(value)
        elif isinstance(value, list) and any(isinstance(v, str) and MARK_PRE in v for v in value):
            out[name] = ", ".join(render_marked(str(v)) for v in value)
    return out


def result_of(schema: IndexSchema, vq: ValidQuery, response: dict[str, Any]) -> SearchResult:
    hits = [
        SearchHit(
            id=int(hit["id"]),
            score=round(float(hit.get("_rankingScore", 0.0)), 6),
            highlights=highlights_of(schema, hit.get("_formatted") or {}),
        )
        for hit in response.get("hits", [])
    ]
    distribution = response.get("facetDistribution") or {}
    facets = {
        name: {str(value): int(count) for value, count in (distribution.get(name) or {}).items()}
        for name in vq.facets
    }
    total = int(response.get("totalHits", response.get("estimatedTotalHits", len(hits))))
    return SearchResult(hits=hits, total=total, facets=facets, page=vq.page, page_size=vq.page_size)


def match_queries(
    schema: IndexSchema,
    index_uid: str,
    profile: matching.Profile,
    filters: Sequence[Filter],
    industry: Filter,
    extra: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The multi-search queries retrieving match candidates: documents sharing a skill
    (synonyms included), documents matching each profile term, documents of the industry."""
    cap = matching.CANDIDATES_PER_SOURCE
    default_sort = _sort_param(schema.default_order)
    queries: list[dict[str, Any]] = []

    def add(q: str, extra_filters: Sequence[Filter], sort: bool) -> None:
        query: dict[str, Any] = {"indexUid": index_uid, "q": q, "limit": cap}
        expression = filter_expression([*filters, *extra_filters], extra)
        if expression:
            query["filter"] = expression
        if sort:
            query["sort"] = default_sort
        else:
            query["matchingStrategy"] = "all"
        queries.append(query)

    variants = profile.skill_variants
    if variants:
        add("", [Filter.any_of("skills", variants)], sort=True)
    for concept in profile.concepts:
        add(concept.label, [], sort=False)
    if industry.values:
        add("", [industry], sort=True)
    return queries


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# ---------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------


class MeiliSearchIndex:
    """`SearchIndex` on a Meilisearch server."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        index_prefix: str = "market_",
        *,
        wait: bool = False,
        timeout: int = 10,
        task_timeout_ms: int = 120_000,
    ) -> None:
        self._url = url.rstrip("/")
        self._api_key = api_key
        self._prefix = index_prefix
        self._wait = wait
        self._timeout = timeout
        self._task_timeout_ms = task_timeout_ms
        self._local = threading.local()

    # -- plumbing ------------------------------------------------------------------------

    def _client(self) -> meilisearch.Client:
        """One client per thread (the client's request layer mutates shared headers)."""
        client: meilisearch.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = meilisearch.Client(self._url, self._api_key, timeout=self._timeout)
            self._local.client = client
        return client

    def uid(self, kind: DocumentKind) -> str:
        return f"{self._prefix}{kind}"

    def _index(self, kind: DocumentKind) -> meilisearch.index.Index:
        return self._client().index(self.uid(kind))

    @staticmethod
    @contextmanager
    def _errors() -> Iterator[None]:
        try:
            yield
        except MeilisearchApiError as exc:
            code = exc.code or ""
            if code in _FIELD_OF_ERROR or code.startswith("invalid_search_"):
                raise InvalidSearchQuery(_FIELD_OF_ERROR.get(code, "query"), exc.message) from exc
            if exc.status_code >= 500 or exc.status_code in (401, 403) or code == "index_not_found":
                raise SearchUnavailable(
                    f"meilisearch: {code or exc.status_code}: {exc.message}"
                ) from exc
            raise SearchError(f"meilisearch rejected the request: {code}: {exc.message}") from exc
        except (
            MeilisearchCommunicationError,
            MeilisearchTimeoutError,
            requests.RequestException,
        ) as exc:
            raise SearchUnavailable(f"meilisearch unreachable: {exc}") from exc
        except MeilisearchError as exc:
            raise SearchError(f"meilisearch: {exc}") from exc

    def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one client call, mapping its errors to `SearchError` types."""
        with self._errors():
            return fn(*args, **kwargs)

    def _await(self, info: TaskInfo, *, allow: frozenset[str] = frozenset()) -> None:
        """Wait for a Meilisearch task; raise unless it succeeded (or failed with an
        error code listed in `allow`)."""
        task = self._call(
            self._client().wait_for_task,
            info.task_uid,
            timeout_in_ms=self._task_timeout_ms,
            interval_in_ms=50,
        )
        if task.status == "succeeded":
            return
        code = (task.error or {}).get("code", "")
        if task.status == "failed" and code in allow:
            return
        raise SearchError(
            f"meilisearch task {info.task_uid} ({task.type}) {task.status}: {task.error}"
        )

    def _settle(self, info: TaskInfo) -> None:
        if self._wait:
            self._await(info)

    # -- set-up --------------------------------------------------------------------------

    def _create_index(self, uid: str) -> None:
        info = self._call(self._client().create_index, uid, {"primaryKey": "id"})
        self._await(info, allow=frozenset({"index_already_exists"}))

    def ensure_settings(self) -> None:
        """Create both indexes if missing and apply their settings; waits (start-up)."""
        for schema in (TASKS, SOLVERS):
            uid = self.uid(schema.kind)
            self._create_index(uid)
            settings = index_settings(schema)
            self._await(self._call(self._client().index(uid).update_settings, settings))

    # -- writes --------------------------------------------------------------------------

    def _upsert(self, schema: IndexSchema, docs: Sequence[Document]) -> None:
        for doc in docs:
            if not isinstance(doc, schema.doc_type):
                raise TypeError(f"expected {schema.doc_type.__name__}, got {type(doc).__name__}")
        for batch in _batched(docs, BATCH_SIZE):
            records = [schema.to_record(d) for d in batch]
            index = self._index(schema.kind)
            self._settle(self._call(index.add_documents, records, primary_key="id"))

    def upsert_tasks(self, docs: Sequence[TaskDocument]) -> None:
        self._upsert(TASKS, docs)

    def upsert_solvers(self, docs: Sequence[SolverDocument]) -> None:
        self._upsert(SOLVERS, docs)

    def delete_task(self, task_id: int) -> None:
        self._settle(self._call(self._index("tasks").delete_document, int(task_id)))

    def delete_solver(self, solver_id: int) -> None:
        self._settle(self._call(self._index("solvers").delete_document, int(solver_id)))

    def clear(self) -> None:
        for kind in ("tasks", "solvers"):
            index = self._index(kind)
            self._settle(self._call(index.delete_all_documents))

    def rebuild(
        self,
        tasks: Iterable[TaskDocument],
        solvers: Iterable[SolverDocument],
        progress: ProgressCallback | None = None,
    ) -> RebuildStats:
        """Fill fresh indexes, then swap them in (no downtime) and drop the old ones."""
        stamp = f"{int(time.time() * 1000):x}"
        counts: dict[DocumentKind, int] = {"tasks": 0, "solvers": 0}
        sources: list[tuple[IndexSchema, Iterable[Document]]] = [(TASKS, tasks), (SOLVERS, solvers)]
        client = self._client()
        for schema, docs in sources:
            live = self.uid(schema.kind)
            fresh = f"{live}_rebuild_{stamp}"
            try:
                self._create_index(fresh)
                settings = index_settings(schema)
                self._await(self._call(client.index(fresh).update_settings, settings))
                pending: list[TaskInfo] = []
                for batch in _batched(docs, BATCH_SIZE):
                    records = [schema.to_record(d) for d in batch]
                    add = client.index(fresh).add_documents
                    pending.append(self._call(add, records, primary_key="id"))
                    counts[schema.kind] += len(batch)
                    if progress is not None:
                        progress(schema.kind, counts[schema.kind])
                for info in pending:
                    self._await(info)
                self._create_index(live)
                self._await(self._call(client.swap_indexes, [{"indexes": [live, fresh]}]))
            except BaseException:
                with suppress(Exception):  # best effort: the original error matters
                    client.delete_index(fresh)
                raise
            # After the swap `fresh` holds the old documents.
            self._settle(self._call(client.delete_index, fresh))
        return RebuildStats(tasks=counts["tasks"], solvers=counts["solvers"])

    # -- search --------------------------------------------------------------------------

    def _search(self, schema: IndexSchema, query: SearchQuery) -> SearchResult:
        vq = validate_query(schema, query)
        params = search_params(schema, vq)
        index = self._index(schema.kind)
        response = self._call(index.search, vq.q, params)
        return result_of(schema, vq, response)

    def search_tasks(self, query: SearchQuery) -> SearchResult:
        return self._search(TASKS, query)

    def search_solvers(self, query: SearchQuery) -> SearchResult:
        return self._search(SOLVERS, query)

    # -- match ---------------------------------------------------------------------------

    def _candidates(self, schema: IndexSchema, queries: list[dict[str, Any]]) -> list[Any]:
        if not queries:
            return []
        response = self._call(self._client().multi_search, queries)
        docs: dict[int, Any] = {}
        for result in response.get("results", []):
            for hit in result.get("hits", []):
                doc_id = int(hit["id"])
                if doc_id not in docs:
                    fields = {k: v for k, v in hit.items() if not k.startswith("_")}
                    docs[doc_id] = msgspec.convert(fields, schema.doc_type)
        return list(docs.values())

    def match_tasks_for_solver(
        self, solver: SolverDocument, exclude_task_ids: Iterable[int] = (), limit: int = 20
    ) -> list[MatchHit]:
        limit = validate_limit(limit)
        exclude = frozenset(int(i) for i in exclude_task_ids)
        profile = matching.solver_profile(solver)
        extra = [f"id NOT IN [{', '.join(str(i) for i in sorted(exclude))}]"] if exclude else []
        queries = match_queries(
            TASKS,
            self.uid("tasks"),
            profile,
            [Filter.eq("status", matching.OPEN_STATUS)],
            Filter.any_of("industry", profile.industries),
            extra,
        )
        docs = self._candidates(TASKS, queries)
        return matching.tasks_for_solver(solver, profile, docs, exclude, limit)

    def match_solvers_for_task(self, task: TaskDocument, limit: int = 20) -> list[MatchHit]:
        limit = validate_limit(limit)
        profile = matching.task_profile(task)
        queries = match_queries(
            SOLVERS, self.uid("solvers"), profile, [], Filter.any_of("fields", [task.industry])
        )
        docs = self._candidates(SOLVERS, queries)
        return matching.solvers_for_task(task, profile, docs, limit)

    def close(self) -> None:
        """Nothing to release: the client opens a connection per request."""
