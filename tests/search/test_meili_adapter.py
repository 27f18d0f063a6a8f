"""The Meilisearch adapter against a tiny in-process fake of the Meilisearch HTTP API.

The official client sends its requests with `requests`; the fake replaces
`requests.adapters.HTTPAdapter.send`, records every request (method, path, query, JSON
body) and answers like Meilisearch does (task infos, task status, documents, swaps).
Nothing leaves the process. The tests assert the exact settings, filters and search
parameters the adapter sends, and how it maps answers and errors.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

pytest.importorskip("meilisearch")

from search import synonyms
from search.embedded import EmbeddedSearchIndex
from search.meili import (
    MeiliSearchIndex,
    filter_clause,
    index_settings,
    quote,
)
from search.port import (
    Filter,
    InvalidSearchQuery,
    SearchError,
    SearchIndex,
    SearchQuery,
    SearchUnavailable,
    SolverDocument,
    TaskDocument,
)
from search.schema import SOLVERS, TASKS
from search.text import MARK_POST, MARK_PRE

URL = "http://127.0.0.1:7700"
WHEN = "2026-01-01T00:00:00.000000Z"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeMeili:
    calls: list[Call] = field(default_factory=list)
    indexes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    search_response: dict[str, Any] | None = None
    fail_next: tuple[int, dict[str, Any]] | None = None
    fail_task_type: str | None = None
    down: bool = False
    _uids: itertools.count[int] = field(default_factory=itertools.count)

    # -- helpers used by the tests ---------------------------------------------------------

    def writes(self) -> list[Call]:
        return [c for c in self.calls if not (c.method == "GET" and c.path.startswith("tasks/"))]

    def waits(self) -> list[Call]:
        return [c for c in self.calls if c.method == "GET" and c.path.startswith("tasks/")]

    # -- the API ---------------------------------------------------------------------------

    def _task(
        self, index_uid: str | None, kind: str, error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        uid = next(self._uids)
        if self.fail_task_type == kind:
            error = {"code": "internal", "message": "boom", "type": "internal", "link": ""}
        self.tasks[uid] = {
            "uid": uid,
            "indexUid": index_uid,
            "status": "failed" if error else "succeeded",
            "type": kind,
            "details": {},
            "error": error,
            "duration": "PT0.001S",
            "enqueuedAt": WHEN,
            "startedAt": WHEN,
            "finishedAt": WHEN,
        }
        return {
            "taskUid": uid,
            "indexUid": index_uid,
            "status": "enqueued",
            "type": kind,
            "enqueuedAt": WHEN,
        }

    def _index(self, uid: str) -> dict[str, Any]:
        return self.indexes.setdefault(uid, {"docs": {}, "settings": {}})

    def _hits(self, uid: str) -> list[dict[str, Any]]:
        docs = self.indexes.get(uid, {"docs": {}})["docs"]
        return [{**doc, "_formatted": dict(doc), "_rankingScore": 0.5} for doc in docs.values()]

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.split("/")
        if method == "GET" and parts[0] == "tasks":
            return 200, self.tasks[int(parts[1])]
        if self.fail_next is not None:
            status, payload = self.fail_next
            self.fail_next = None
            return status, payload
        if method == "POST" and path == "indexes":
            uid = body["uid"]
            if uid in self.indexes:
                error = {
                    "code": "index_already_exists",
                    "message": "exists",
                    "type": "invalid_request",
                    "link": "",
                }
                return 202, self._task(uid, "indexCreation", error)
            self._index(uid)
            return 202, self._task(uid, "indexCreation")
        if method == "POST" and path == "swap-indexes":
            for swap in body:
                a, b = swap["indexes"]
                self.indexes[a], self.indexes[b] = self.indexes[b], self.indexes[a]
            return 202, self._task(None, "indexSwap")
        if method == "POST" and path == "multi-search":
            results = [
                {"indexUid": q["indexUid"], "hits": self._hits(q["indexUid"]), "query": q["q"]}
                for q in body["queries"]
            ]
            return 200, {"results": results}
        uid = parts[1]
        if method == "DELETE" and len(parts) == 2:
            self.indexes.pop(uid, None)
            return 202, self._task(uid, "indexDeletion")
        if method == "PATCH" and parts[2:] == ["settings"]:
            self._index(uid)["settings"].update(body)
            return 202, self._task(uid, "settingsUpdate")
        if method == "POST" and parts[2:] == ["documents"]:
            docs = self._index(uid)["docs"]
            if self.fail_task_type != "documentAdditionOrUpdate":
                docs.update({d["id"]: d for d in body})
            return 202, self._task(uid, "documentAdditionOrUpdate")
        if method == "DELETE" and parts[2:] == ["documents"]:
            self._index(uid)["docs"].clear()
            return 202, self._task(uid, "documentDeletion")
        if method == "DELETE" and parts[2] == "documents":
            self._index(uid)["docs"].pop(int(parts[3]), None)
            return 202, self._task(uid, "documentDeletion")
        if method == "POST" and parts[2:] == ["search"]:
            if self.search_response is not None:
                return 200, self.search_response
            hits = self._hits(uid)
            return 200, {"hits": hits, "totalHits": len(hits), "page": 1, "hitsPerPage": 20}
        return 404, {
            "code": "not_found",
            "message": f"no route {method} {path}",
            "type": "invalid_request",
            "link": "",
        }

    def send(
        self, _adapter: object, request: requests.PreparedRequest, **_kwargs: Any
    ) -> requests.Response:
        if self.down:
            raise requests.exceptions.ConnectionError("connection refused")
        split = urlsplit(request.url or "")
        raw = request.body
        body = json.loads(raw) if isinstance(raw, str | bytes) and raw else None
        path = split.path.lstrip("/")
        self.calls.append(
            Call(
                request.method or "",
                path,
                dict(parse_qsl(split.query)),
                body,
                {k: str(v) for k, v in request.headers.items()},
            )
        )
        status, payload = self.handle(request.method or "", path, body)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url or ""
        response.request = request
        response.reason = "fake"
        return response


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMeili:
    server = FakeMeili()

    def send(
        adapter: object, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        return server.send(adapter, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return server


@pytest.fixture
def meili(fake: FakeMeili) -> MeiliSearchIndex:
    return MeiliSearchIndex(URL, "secret-key", index_prefix="mk_")


# -- settings -------------------------------------------------------------------------------


TASK_SETTINGS_WITHOUT_SYNONYMS = {
    "displayedAttributes": ["*"],
    "searchableAttributes": [
        "title_zh",
        "title_en",
        "skills",
        "summary_zh",
        "summary_en",
        "industry_labels",
        "district_labels",
        "description_zh",
        "description_en",
    ],
    "filterableAttributes": [
        "bid_deadline",
        "budget_minor",
        "district",
        "id",
        "industry",
        "poster_org_id",
        "published_at",
        "skills",
        "status",
        "trl_current",
        "trl_target",
        "zone",
    ],
    "sortableAttributes": [
        "bid_deadline",
        "budget_minor",
        "id",
        "published_at",
        "trl_current",
        "trl_target",
    ],
    "rankingRules": ["sort", "words", "typo", "proximity", "attribute", "exactness"],
    "stopWords": list(synonyms.STOP_WORDS),
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}},
    "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "count"}},
    "pagination": {"maxTotalHits": 100000},
    "localizedAttributes": [
        {"attributePatterns": ["*_zh"], "locales": ["cmn"]},
        {"attributePatterns": ["*_en"], "locales": ["eng"]},
    ],
}


def test_ensure_settings_creates_indexes_and_sends_the_settings(
    fake: FakeMeili, meili: MeiliSearchIndex
) -> None:
    meili.ensure_settings()
    writes = fake.writes()
    assert [(c.method, c.path) for c in writes] == [
        ("POST", "indexes"),
        ("PATCH", "indexes/mk_tasks/settings"),
        ("POST", "indexes"),
        ("PATCH", "indexes/mk_solvers/settings"),
    ]
    assert writes[0].body == {"uid": "mk_tasks", "primaryKey": "id"}
    assert writes[0].headers["Authorization"] == "Bearer secret-key"
    sent = dict(writes[1].body)
    sent_synonyms = sent.pop("synonyms")
    assert sent == TASK_SETTINGS_WITHOUT_SYNONYMS
    assert sent_synonyms == synonyms.meili_synonyms()
    assert len(fake.waits()) == 4  # start-up waits for every task

    solver_settings = writes[3].body
    assert solver_settings["searchableAttributes"] == [
        "display_name",
        "headline_zh",
        "headline_en",
        "skills",
        "field_labels",
        "district_labels",
        "bio_zh",
        "bio_en",
    ]
    assert solver_settings["filterableAttributes"] == [
        "completed_count",
        "district",
        "fields",
        "id",
        "languages",
        "rating_avg",
        "skills",
    ]
    assert solver_settings["sortableAttributes"] == ["completed_count", "id", "rating_avg"]

    meili.ensure_settings()  # idempotent: "index_already_exists" is fine


def test_synonyms_go_both_ways() -> None:
    sent = index_settings(TASKS)["synonyms"]
    assert "new materials" in sent["新材料"] and "新材料" in sent["new materials"]
    assert "石墨烯" in sent["graphene"] and "graphene" in sent["石墨烯"]
    assert "finite element analysis" in sent["有限元分析"]
    assert "welding" in sent["焊接"] and "焊接" in sent["welding"]
    for term, others in sent.items():
        for other in others:
            assert term in sent[other]


def test_failed_settings_task_is_an_error(fake: FakeMeili, meili: MeiliSearchIndex) -> None:
    fake.fail_task_type = "settingsUpdate"
    with pytest.raises(SearchError, match="settingsUpdate"):
        meili.ensure_settings()


# -- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("new_materials", '"new_materials"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ('tricky\\"', '"tricky\\\\\\""'),
        ("AND OR NOT", '"AND OR NOT"'),
        ("新材料", '"新材料"'),
        (42, "42"),
        (4.5, "4.5"),
    ],
)
def test_quote(value: str | int | float, literal: str) -> None:
    assert quote(value) == literal


def test_quote_rejects_booleans() -> None:
    with pytest.raises(InvalidSearchQuery):
        quote(True)


@pytest.mark.parametrize(
    ("f", "expression"),
    [
        (Filter.eq("industry", "new_materials"), 'industry = "new_materials"'),
        (Filter.any_of("district", ["haian", "haimen"]), 'district IN ["haian", "haimen"]'),
        (Filter.eq("poster_org_id", 12), "poster_org_id = 12"),
        (Filter.between("budget_minor", 100, 500), "budget_minor 100 TO 500"),
        (Filter.between("trl_target", gte=7), "trl_target >= 7"),
        (Filter.between("rating_avg", lte=4.5), "rating_avg <= 4.5"),
    ],
)
def test_filter_clause(f: Filter, expression: str) -> None:
    assert filter_clause(f) == expression


# -- search -----------------------------------------------------------------------------------


def test_text_search_sends_filters_facets_sort_page_and_highlight(
    fake: FakeMeili, meili: MeiliSearchIndex
) -> None:
    fake.search_response = {
        "hits": [
            {
                "id": 1,
                "_rankingScore": 0.91,
                "_formatted": {
                    "id": "1",
                    "title_zh": f"{MARK_PRE}石墨烯{MARK_POST}导热<涂层>",
                    "title_en": "",
                    "skills": [f"{MARK_PRE}石墨烯{MARK_POST}", "涂层"],
                    "description_zh": "…面向海上平台…",
                },
            },
            {"id": 14, "_rankingScore": 0.5, "_formatted": {"title_zh": "碳纤维"}},
        ],
        "totalHits": 12,
        "totalPages": 2,
        "page": 2,
        "hitsPerPage": 10,
        "facetDistribution": {
            "industry": {"new_materials": 7, "offshore_equipment": 5},
            "skills": {"石墨烯": 2},
        },
    }
    result = meili.search_tasks(
        SearchQuery(
            q="石墨烯 涂层",
            filters=(
                Filter.any_of("industry", ["new_materials", "offshore_equipment"]),
                Filter.between("budget_minor", 100, 500),
                Filter.eq("skills", 'say "hi" \\ bye'),
                Filter.eq("status", "published"),
            ),
            facets=("industry", "skills", "zone"),
            sort=("budget_minor:desc",),
            page=2,
            page_size=10,
        )
    )
    (call,) = fake.calls
    assert (call.method, call.path) == ("POST", "indexes/mk_tasks/search")
    assert call.body == {
        "q": "石墨烯 涂层",
        "page": 2,
        "hitsPerPage": 10,
        "showRankingScore": True,
        "matchingStrategy": "all",
        "filter": 'industry IN ["new_materials", "offshore_equipment"] AND budget_minor 100 TO 500'
        ' AND skills = "say \\"hi\\" \\\\ bye" AND status = "published"',
        "facets": ["industry", "skills", "zone"],
        "sort": ["budget_minor:desc"],
        "attributesToHighlight": [
            "title_zh",
            "title_en",
            "summary_zh",
            "summary_en",
            "skills",
            "description_zh",
            "description_en",
        ],
        "highlightPreTag": MARK_PRE,
        "highlightPostTag": MARK_POST,
        "attributesToCrop": ["description_en", "description_zh"],
        "cropLength": 24,
    }
    assert result.total == 12 and result.page == 2 and result.page_size == 10
    assert [h.id for h in result.hits] == [1, 14]
    assert result.hits[0].score == 0.91
    assert result.hits[0].highlights == {
        "title_zh": "<mark>石墨烯</mark>导热&lt;涂层&gt;",
        "skills": "<mark>石墨烯</mark>, 涂层",
    }
    assert result.hits[1].highlights == {}
    assert result.facets == {
        "industry": {"new_materials": 7, "offshore_equipment": 5},
        "skills": {"石墨烯": 2},
        "zone": {},
    }


def test_placeholder_search_sorts_fully(fake: FakeMeili, meili: MeiliSearchIndex) -> None:
    meili.search_tasks(SearchQuery())
    meili.search_tasks(SearchQuery(sort=("budget_minor:asc",)))
    meili.search_tasks(SearchQuery(sort=("id:asc",)))
    bodies = [c.body for c in fake.calls]
    assert bodies[0] == {
        "q": "",
        "page": 1,
        "hitsPerPage": 20,
        "showRankingScore": True,
        "matchingStrategy": "all",
        "sort": ["published_at:desc", "id:desc"],
    }
    assert bodies[1]["sort"] == ["budget_minor:asc", "published_at:desc", "id:desc"]
    assert bodies[2]["sort"] == ["id:asc", "published_at:desc"]


def test_solver_search_params(fake: FakeMeili, meili: MeiliSearchIndex) -> None:
    meili.search_solvers(
        SearchQuery(
            filters=(Filter.between("rating_avg", gte=4.5), Filter.eq("languages", "en")),
            facets=("fields",),
            sort=("rating_avg:desc",),
        )
    )
    (call,) = fake.calls
    assert call.path == "indexes/mk_solvers/search"
    assert call.body["filter"] == 'rating_avg >= 4.5 AND languages = "en"'
    assert call.body["sort"] == ["rating_avg:desc", "completed_count:desc", "id:asc"]
    assert call.body["facets"] == ["fields"]


def test_invalid_queries_are_rejected_before_any_request(
    fake: FakeMeili, meili: MeiliSearchIndex
) -> None:
    with pytest.raises(InvalidSearchQuery) as info:
        meili.search_tasks(SearchQuery(filters=(Filter.eq("description_zh", "x"),)))
    assert info.value.field == "filters[0].field"
    with pytest.raises(InvalidSearchQuery):
        meili.search_solvers(SearchQuery(page_size=500))
    assert fake.calls == []


# -- errors -----------------------------------------------------------------------------------


def _error(code: str) -> dict[str, str]:
    return {
        "message": f"{code} happened",
        "code": code,
        "type": "invalid_request",
        "link": "https://docs",
    }


@pytest.mark.parametrize(
    ("status", "code", "expected", "field"),
    [
        (400, "invalid_search_filter", InvalidSearchQuery, "filters"),
        (400, "invalid_search_sort", InvalidSearchQuery, "sort"),
        (400, "invalid_search_facets", InvalidSearchQuery, "facets"),
        (404, "index_not_found", SearchUnavailable, None),
        (401, "missing_authorization_header", SearchUnavailable, None),
        (500, "internal", SearchUnavailable, None),
        (400, "bad_request", SearchError, None),
    ],
)
def test_api_errors_are_mapped(
    fake: FakeMeili,
    meili: MeiliSearchIndex,
    status: int,
    code: str,
    expected: type[SearchError],
    field: str | None,
) -> None:
    fake.fail_next = (status, _error(code))
    with pytest.raises(expected) as info:
        meili.search_tasks(SearchQuery(q="x"))
    assert type(info.value) is expected
    if field is not None:
        assert isinstance(info.value, InvalidSearchQuery) and info.value.field == field


def test_unreachable_server_is_unavailable(fake: FakeMeili, meili: MeiliSearchIndex) -> None:
    fake.down = True
    with pytest.raises(SearchUnavailable):
        meili.search_tasks(SearchQuery(q="x"))
    with pytest.raises(SearchUnavailable):
        meili.delete_task(1)
    meili.upsert_tasks([])  # nothing to send: no request, no error


# -- writes -----------------------------------------------------------------------------------


def test_writes_do_not_wait_by_default(
    fake: FakeMeili, meili: MeiliSearchIndex, task_docs: dict[int, TaskDocument]
) -> None:
    meili.upsert_tasks([task_docs[1], task_docs[2]])
    meili.delete_task(2)
    meili.delete_solver(101)
    meili.clear()
    assert fake.waits() == []
    assert [(c.method, c.path, c.query) for c in fake.calls] == [
        ("POST", "indexes/mk_tasks/documents", {"primaryKey": "id"}),
        ("DELETE", "indexes/mk_tasks/documents/2", {}),
        ("DELETE", "indexes/mk_solvers/documents/101", {}),
        ("DELETE", "indexes/mk_tasks/documents", {}),
        ("DELETE", "indexes/mk_solvers/documents", {}),
    ]
    record = fake.calls[0].body[0]
    assert record == {
        **TASKS.to_record(task_docs[1]),
        "industry_labels": "新材料 new materials advanced materials",
        "district_labels": "通州湾 tongzhou bay",
    }
    assert record["bid_deadline"] == task_docs[1].bid_deadline


def test_writes_wait_when_asked(fake: FakeMeili, task_docs: dict[int, TaskDocument]) -> None:
    meili = MeiliSearchIndex(URL, "k", index_prefix="mk_", wait=True)
    meili.upsert_tasks([task_docs[1]])
    meili.delete_task(1)
    assert [c.path for c in fake.calls] == [
        "indexes/mk_tasks/documents",
        "tasks/0",
        "indexes/mk_tasks/documents/1",
        "tasks/1",
    ]


def test_upsert_rejects_the_wrong_document_type(
    meili: MeiliSearchIndex, solver_docs: dict[int, SolverDocument]
) -> None:
    with pytest.raises(TypeError):
        meili.upsert_tasks([solver_docs[101]])  # type: ignore[list-item]


def test_rebuild_fills_fresh_indexes_and_swaps_them_in(
    fake: FakeMeili,
    meili: MeiliSearchIndex,
    task_docs: dict[int, TaskDocument],
    solver_docs: dict[int, SolverDocument],
) -> None:
    meili.ensure_settings()
    meili.upsert_tasks([task_docs[1]])
    fake.calls.clear()
    progress: list[tuple[str, int]] = []
    stats = meili.rebuild(
        iter(task_docs.values()), iter(solver_docs.values()), lambda k, n: progress.append((k, n))
    )
    assert (stats.tasks, stats.solvers) == (20, 6)
    assert progress == [("tasks", 20), ("solvers", 6)]
    writes = [(c.method, c.path) for c in fake.writes()]
    fresh = fake.writes()[0].body["uid"]
    assert fresh.startswith("mk_tasks_rebuild_")
    assert writes[:6] == [
        ("POST", "indexes"),
        ("PATCH", f"indexes/{fresh}/settings"),
        ("POST", f"indexes/{fresh}/documents"),
        ("POST", "indexes"),  # the live index, in case it does not exist yet
        ("POST", "swap-indexes"),
        ("DELETE", f"indexes/{fresh}"),
    ]
    swap = next(c for c in fake.calls if c.path == "swap-indexes")
    assert swap.body == [{"indexes": ["mk_tasks", fresh]}]
    assert fake.writes()[1].body == index_settings(TASKS)
    assert set(fake.indexes["mk_tasks"]["docs"]) == set(task_docs)
    assert set(fake.indexes["mk_solvers"]["docs"]) == set(solver_docs)
    assert sorted(fake.indexes) == ["mk_solvers", "mk_tasks"]  # the old ones are gone


def test_failed_rebuild_keeps_the_live_index(
    fake: FakeMeili, meili: MeiliSearchIndex, task_docs: dict[int, TaskDocument]
) -> None:
    meili.ensure_settings()
    meili.upsert_tasks([task_docs[1]])
    fake.fail_task_type = "documentAdditionOrUpdate"
    with pytest.raises(SearchError):
        meili.rebuild(iter(task_docs.values()), iter([]))
    assert not any(c.path == "swap-indexes" for c in fake.calls)
    assert sorted(fake.indexes) == ["mk_solvers", "mk_tasks"]  # the fresh index was dropped
    assert set(fake.indexes["mk_tasks"]["docs"]) == {1}


# -- match ------------------------------------------------------------------------------------


def test_match_tasks_for_solver_queries_and_explanations(
    fake: FakeMeili,
    meili: MeiliSearchIndex,
    task_docs: dict[int, TaskDocument],
    solver_docs: dict[int, SolverDocument],
) -> None:
    meili.upsert_tasks(list(task_docs.values()))
    fake.calls.clear()
    hits = meili.match_tasks_for_solver(solver_docs[101], exclude_task_ids=[3, 2], limit=5)
    (call,) = fake.calls
    assert call.path == "multi-search"
    queries = call.body["queries"]
    base = 'status = "published"'
    excluded = "id NOT IN [2, 3]"
    assert queries[0] == {
        "indexUid": "mk_tasks",
        "q": "",
        "limit": 200,
        "filter": f'{base} AND skills IN ["welding", "焊接", "fatigue analysis", "疲劳分析",'
        f' "有限元分析", "fea", "finite element analysis", "有限元"] AND {excluded}',
        "sort": ["published_at:desc", "id:desc"],
    }
    text_queries = queries[1:-1]
    assert [q["q"] for q in text_queries][:3] == ["welding", "fatigue analysis", "有限元分析"]
    assert all(
        q["filter"] == f"{base} AND {excluded}" and q["matchingStrategy"] == "all"
        for q in text_queries
    )
    assert queries[-1] == {
        "indexUid": "mk_tasks",
        "q": "",
        "limit": 200,
        "filter": f'{base} AND industry = "offshore_equipment" AND {excluded}',
        "sort": ["published_at:desc", "id:desc"],
    }
    # The fake answers every query with every document: the shared scoring still keeps
    # open, non-excluded tasks only, and ranks and explains them as the embedded engine does.
    assert [h.id for h in hits] == [9, 4, 15, 20, 14]
    embedded = EmbeddedSearchIndex()
    embedded.upsert_tasks(list(task_docs.values()))
    assert hits == embedded.match_tasks_for_solver(
        solver_docs[101], exclude_task_ids=[3, 2], limit=5
    )
    assert hits[0].explanation.matched_skills[0].matched == "有限元分析"
    assert hits[0].explanation.matched_terms == ["有限元分析"]  # 有限元 (a synonym) in its title


def test_match_solvers_for_task_queries(
    fake: FakeMeili,
    meili: MeiliSearchIndex,
    task_docs: dict[int, TaskDocument],
    solver_docs: dict[int, SolverDocument],
) -> None:
    meili.upsert_solvers(list(solver_docs.values()))
    fake.calls.clear()
    hits = meili.match_solvers_for_task(task_docs[1], limit=3)
    queries = fake.calls[0].body["queries"]
    assert all(q["indexUid"] == "mk_solvers" for q in queries)
    assert queries[0]["filter"].startswith(
        'skills IN ["石墨烯", "graphene", "涂层", "coating", "coatings"'
    )
    assert queries[-1]["filter"] == 'fields = "new_materials"'
    assert hits[0].id == 102
    assert {(m.wanted, m.matched, m.via_synonym) for m in hits[0].explanation.matched_skills} == {
        ("石墨烯", "graphene", True),
        ("涂层", "coatings", True),
    }


def test_adapter_satisfies_the_port(meili: MeiliSearchIndex) -> None:
    assert isinstance(meili, SearchIndex)
    assert SOLVERS.kind == "solvers"
