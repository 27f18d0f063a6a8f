"""One conformance suite for every `SearchIndex` adapter.

Parametrized over the adapters by the `loaded` (shared, read-only) and `fresh` (own copy,
for writes) fixtures of conftest.py: the embedded engine always, Meilisearch only when
MEILI_URL is set. Expectations over filters, facets and sort come from a plain Python
reference over the same documents; text cases assert the hits that must (and must not)
be there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol, TypeVar

import pytest

from search.port import (
    Filter,
    InvalidSearchQuery,
    MatchHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    SolverDocument,
    TaskDocument,
)

PUBLISHED = Filter.eq("status", "published")


# -- a reference implementation of filters and sort over the fixture documents ----------


def _passes(doc: object, f: Filter) -> bool:
    value = getattr(doc, f.field)
    if f.values:
        wanted = {str(v).casefold() for v in f.values}
        if isinstance(value, list):
            return any(str(v).casefold() in wanted for v in value)
        return value is not None and str(value).casefold() in wanted
    if value is None:
        return False
    return (f.gte is None or value >= f.gte) and (f.lte is None or value <= f.lte)


class _HasId(Protocol):
    id: int


D = TypeVar("D", bound=_HasId)


def reference(docs: Sequence[D], *filters: Filter) -> list[D]:
    return [d for d in docs if all(_passes(d, f) for f in filters)]


def ids(result: SearchResult) -> list[int]:
    return [h.id for h in result.hits]


def search_ids(index: SearchIndex, q: str, *filters: Filter) -> list[int]:
    return ids(index.search_tasks(SearchQuery(q=q, filters=filters, page_size=100)))


def explained(hit: MatchHit) -> set[tuple[str, str, bool]]:
    return {(m.wanted, m.matched, m.via_synonym) for m in hit.explanation.matched_skills}


# -- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        (Filter.eq("industry", "offshore_equipment"),),
        (Filter.any_of("district", ["haian", "haimen"]),),
        (Filter.any_of("district", ["haian", "haimen"]), PUBLISHED),
        (Filter.eq("zone", "chuangyuan"),),
        (Filter.eq("skills", "有限元分析"),),
        (Filter.any_of("skills", ["machine learning", "BIM"]),),
        (Filter.between("budget_minor", 30_000_000, 50_000_000),),
        (Filter.between("trl_target", gte=7), PUBLISHED),
        (Filter.between("trl_current", lte=3), Filter.eq("industry", "new_materials")),
        (Filter.eq("poster_org_id", 12),),
    ],
    ids=lambda fs: " & ".join(f.field for f in fs),
)
def test_filters_select_exactly_the_matching_tasks(
    loaded: SearchIndex, task_docs: dict[int, TaskDocument], filters: tuple[Filter, ...]
) -> None:
    result = loaded.search_tasks(SearchQuery(filters=filters, page_size=100))
    expected = {d.id for d in reference(list(task_docs.values()), *filters)}
    assert expected, "a filter case must select something"
    assert set(ids(result)) == expected
    assert result.total == len(expected)


def test_hand_checked_filters(loaded: SearchIndex) -> None:
    industry = Filter.eq("industry", "offshore_equipment")
    assert sorted(search_ids(loaded, "", industry)) == [2, 4, 15, 20]
    assert sorted(
        search_ids(loaded, "", Filter.any_of("district", ["haian", "haimen"]), PUBLISHED)
    ) == [5, 11]
    assert sorted(search_ids(loaded, "", Filter.between("budget_minor", lte=12_000_000))) == [
        17,
        18,
    ]


def test_filters_combine_with_a_text_query(loaded: SearchIndex) -> None:
    # welding (or 焊接) in any field, but only in Qidong
    assert search_ids(loaded, "welding", Filter.eq("district", "qidong")) == [3]


def test_solver_filters(loaded: SearchIndex, solver_docs: dict[int, SolverDocument]) -> None:
    for filters in (
        (Filter.eq("languages", "en"),),
        (Filter.eq("fields", "high_end_equipment"),),
        (Filter.between("rating_avg", gte=4.5),),
        (Filter.between("completed_count", gte=5), Filter.eq("languages", "zh")),
    ):
        result = loaded.search_solvers(SearchQuery(filters=filters, page_size=100))
        expected = {s.id for s in reference(list(solver_docs.values()), *filters)}
        assert set(ids(result)) == expected, filters


# -- facets -------------------------------------------------------------------------------


def test_facet_counts_over_the_filtered_set(
    loaded: SearchIndex, task_docs: dict[int, TaskDocument]
) -> None:
    result = loaded.search_tasks(
        SearchQuery(
            filters=(PUBLISHED,), facets=("industry", "district", "skills", "zone", "status")
        )
    )
    published = [t for t in task_docs.values() if t.status == "published"]
    assert result.total == len(published) == 18
    assert result.facets["industry"] == dict(Counter(t.industry for t in published))
    assert result.facets["district"] == dict(Counter(t.district for t in published))
    assert result.facets["zone"] == dict(Counter(t.zone for t in published if t.zone))
    assert result.facets["skills"] == dict(Counter(s for t in published for s in t.skills))
    assert result.facets["status"] == {"published": 18}
    assert result.facets["skills"]["有限元分析"] == 3


def test_facets_follow_a_text_query(loaded: SearchIndex) -> None:
    result = loaded.search_tasks(SearchQuery(q="焊接", facets=("industry",), page_size=100))
    assert sum(result.facets["industry"].values()) == result.total
    assert result.facets["industry"]["offshore_equipment"] >= 2  # tasks 2 and 4
    assert "biomedicine" not in result.facets["industry"]


def test_solver_facets(loaded: SearchIndex, solver_docs: dict[int, SolverDocument]) -> None:
    result = loaded.search_solvers(SearchQuery(facets=("fields", "languages", "district")))
    solvers = list(solver_docs.values())
    assert result.facets["fields"] == dict(Counter(f for s in solvers for f in s.fields))
    assert result.facets["languages"] == dict(
        Counter(lang for s in solvers for lang in s.languages)
    )
    assert result.facets["district"] == dict(Counter(s.district for s in solvers if s.district))


# -- sort and pagination ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "key", "reverse"),
    [
        ("budget_minor:desc", "budget_minor", True),
        ("budget_minor:asc", "budget_minor", False),
        ("published_at:desc", "published_at", True),
        ("bid_deadline:asc", "bid_deadline", False),
    ],
)
def test_sort(
    loaded: SearchIndex, task_docs: dict[int, TaskDocument], spec: str, key: str, reverse: bool
) -> None:
    result = loaded.search_tasks(SearchQuery(filters=(PUBLISHED,), sort=(spec,), page_size=100))
    published = [t for t in task_docs.values() if t.status == "published"]
    expected = [t.id for t in sorted(published, key=lambda t: getattr(t, key), reverse=reverse)]
    assert ids(result) == expected


def test_sort_applies_to_text_results(loaded: SearchIndex) -> None:
    # 机器学习 finds the tasks tagged "machine learning" (10: 280k, 13: 420k)
    assert search_ids(loaded, "机器学习") and set(search_ids(loaded, "机器学习")) >= {10, 13}
    result = loaded.search_tasks(SearchQuery(q="machine learning", sort=("budget_minor:asc",)))
    budgets = [h.id for h in result.hits]
    assert budgets.index(10) < budgets.index(13)
    result = loaded.search_tasks(SearchQuery(q="machine learning", sort=("budget_minor:desc",)))
    assert [h.id for h in result.hits].index(13) < [h.id for h in result.hits].index(10)


def test_sort_solvers_by_rating_with_unrated_last(loaded: SearchIndex) -> None:
    result = loaded.search_solvers(SearchQuery(sort=("rating_avg:desc",)))
    assert ids(result) == [105, 101, 102, 103, 106, 104]


def test_pagination_walks_the_whole_sorted_result(loaded: SearchIndex) -> None:
    full = loaded.search_tasks(
        SearchQuery(filters=(PUBLISHED,), sort=("budget_minor:desc",), page_size=100)
    )
    pages = [
        loaded.search_tasks(
            SearchQuery(filters=(PUBLISHED,), sort=("budget_minor:desc",), page=page, page_size=5)
        )
        for page in range(1, 6)
    ]
    assert [len(p.hits) for p in pages] == [5, 5, 5, 3, 0]
    assert all(p.total == 18 and p.page_size == 5 for p in pages)
    assert [p.page for p in pages] == [1, 2, 3, 4, 5]
    assert [h for p in pages for h in ids(p)] == ids(full)


# -- text queries -------------------------------------------------------------------------


def test_chinese_query_and_highlight(loaded: SearchIndex) -> None:
    result = loaded.search_tasks(SearchQuery(q="石墨烯"))
    assert ids(result)[0] == 1
    assert "<mark>石墨烯</mark>" in result.hits[0].highlights["title_zh"]


def test_english_query_and_highlight(loaded: SearchIndex) -> None:
    result = loaded.search_tasks(SearchQuery(q="antibody"))
    assert ids(result)[0] == 11
    assert result.hits[0].highlights["title_en"] == (
        "Scale-up of cell culture for <mark>antibody</mark> drugs"
    )
    result = loaded.search_tasks(SearchQuery(q="welding"))
    marked = {h.id: h.highlights for h in result.hits}
    assert "<mark>welding</mark>" in marked[3]["title_en"]
    assert "<mark>Welding</mark>" not in marked[3]["title_en"]


def test_english_phrase_query(loaded: SearchIndex) -> None:
    hits = search_ids(loaded, "lithium battery")
    assert hits[0] == 5
    assert 11 not in hits


def test_mixed_chinese_and_english_query(loaded: SearchIndex) -> None:
    assert search_ids(loaded, "BIM 装配式建筑") == [7]


@pytest.mark.parametrize(
    ("q", "must", "must_not"),
    [
        ("膜", {19}, {1, 11}),  # one character
        ("焊", {2, 3, 4, 20}, {11, 19}),  # one character (焊接, 焊缝)
        ("盐雾", {1}, {5, 11}),  # two characters, not a dictionary word
        ("导热", {1}, {5, 14}),
        ("储能", {5}, {1, 19}),  # two characters, a dictionary word (energy storage)
        ("海门", {11, 12}, {1, 3}),  # a district label
    ],
)
def test_short_chinese_queries(
    loaded: SearchIndex, q: str, must: set[int], must_not: set[int]
) -> None:
    found = set(search_ids(loaded, q))
    assert must <= found
    assert not found & must_not


def test_no_match_gives_an_empty_result(loaded: SearchIndex) -> None:
    result = loaded.search_tasks(SearchQuery(q="量子计算", facets=("industry",)))
    assert result.hits == [] and result.total == 0
    assert result.facets == {"industry": {}}


def test_solver_search(loaded: SearchIndex) -> None:
    assert search_solver_ids(loaded, "机器视觉")[0] == 105
    assert search_solver_ids(loaded, "graphene")[0] == 102
    assert 102 in search_solver_ids(loaded, "石墨烯")


def search_solver_ids(index: SearchIndex, q: str) -> list[int]:
    return ids(index.search_solvers(SearchQuery(q=q)))


# -- synonyms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("new materials", 15),  # tagged 新材料 (in the offshore industry)
        ("新材料", 16),  # tagged "new materials" (in the smart-construction industry)
        ("graphene", 1),  # a Chinese-only task
        ("finite element analysis", 2),  # tagged 有限元分析
        ("机器学习", 10),  # tagged "machine learning"
        ("coating", 1),  # 涂层
        ("涂层", 1),
    ],
)
def test_synonyms_cross_languages(loaded: SearchIndex, q: str, expected: int) -> None:
    assert expected in search_ids(loaded, q)


def test_synonym_phrase_does_not_match_unrelated_tasks(loaded: SearchIndex) -> None:
    found = set(search_ids(loaded, "finite element analysis"))
    assert {2, 14} <= found
    assert not found & {5, 11, 17, 18}


# -- ranking ------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["焊接", "welding"])
def test_skill_match_ranks_above_a_passing_mention(loaded: SearchIndex, q: str) -> None:
    ranked = search_ids(loaded, q)
    assert 4 in ranked  # mentions 焊接 once, in its description
    assert ranked.index(3) < ranked.index(4)
    assert ranked.index(2) < ranked.index(4)


def test_scores_decrease_down_a_relevance_ranking(loaded: SearchIndex) -> None:
    result = loaded.search_tasks(SearchQuery(q="焊接"))
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


# -- writes -------------------------------------------------------------------------------


def test_updates_are_visible(fresh: SearchIndex, task_docs: dict[int, TaskDocument]) -> None:
    old = task_docs[17]
    assert 17 in search_ids(fresh, "数字化")
    updated = TaskDocument(
        **{
            **{f: getattr(old, f) for f in old.__struct_fields__},
            "title_zh": "中小企业质量追溯区块链平台",
            "title_en": "Blockchain quality traceability for small firms",
            "skills": ["区块链", "质量管理"],
            "status": "closed",
        }
    )
    fresh.upsert_tasks([updated])
    assert 17 not in search_ids(fresh, "数字化")
    assert 17 in search_ids(fresh, "区块链")
    assert 17 in search_ids(fresh, "blockchain")
    assert 17 not in search_ids(fresh, "", PUBLISHED)
    result = fresh.search_tasks(SearchQuery(facets=("status", "skills")))
    assert result.total == 20
    assert result.facets["status"]["closed"] == 2
    assert result.facets["skills"]["区块链"] == 1
    assert result.facets["skills"]["软件开发"] == 1


def test_upserting_twice_does_not_duplicate(
    fresh: SearchIndex, task_docs: dict[int, TaskDocument]
) -> None:
    fresh.upsert_tasks([task_docs[1], task_docs[1]])
    fresh.upsert_tasks([task_docs[1]])
    assert fresh.search_tasks(SearchQuery()).total == 20
    assert search_ids(fresh, "石墨烯").count(1) == 1


def test_deletions_are_visible(fresh: SearchIndex, task_docs: dict[int, TaskDocument]) -> None:
    fresh.delete_task(3)
    assert 3 not in search_ids(fresh, "robotic welding")
    assert 3 not in search_ids(fresh, "焊")
    result = fresh.search_tasks(SearchQuery(facets=("industry",)))
    assert result.total == 19
    assert result.facets["industry"]["high_end_equipment"] == 1
    fresh.delete_task(3)  # deleting a missing document is not an error
    fresh.delete_solver(105)
    assert 105 not in search_solver_ids(fresh, "机器视觉")
    matches = fresh.match_solvers_for_task(task_docs[3])
    assert matches and 105 not in [m.id for m in matches]


def test_clear_and_rebuild(
    fresh: SearchIndex, task_docs: dict[int, TaskDocument], solver_docs: dict[int, SolverDocument]
) -> None:
    fresh.clear()
    assert fresh.search_tasks(SearchQuery()).total == 0
    assert fresh.search_solvers(SearchQuery()).total == 0
    calls: list[tuple[str, int]] = []
    stats = fresh.rebuild(
        iter(task_docs.values()),
        iter(solver_docs.values()),
        lambda kind, n: calls.append((kind, n)),
    )
    assert (stats.tasks, stats.solvers) == (20, 6)
    assert calls[-1] == ("solvers", 6) and ("tasks", 20) in calls
    assert fresh.search_tasks(SearchQuery()).total == 20
    assert search_ids(fresh, "石墨烯")[0] == 1
    assert search_solver_ids(fresh, "graphene")[0] == 102


# -- match --------------------------------------------------------------------------------


def test_match_tasks_for_solver_explains_skills_and_synonyms(
    loaded: SearchIndex, solver_docs: dict[int, SolverDocument]
) -> None:
    hits = loaded.match_tasks_for_solver(solver_docs[101], limit=10)
    assert hits[0].id == 2
    assert explained(hits[0]) == {
        ("焊接", "welding", True),
        ("疲劳分析", "fatigue analysis", True),
        ("有限元分析", "有限元分析", False),
    }
    assert "welding" in hits[0].explanation.matched_terms  # "welds" in its title
    signals = hits[0].explanation.signals
    assert signals["industry_match"] == 1.0 and signals["district_match"] == 1.0
    assert isinstance(signals["skill_overlap"], float) and signals["skill_overlap"] > 0.9
    ranked = [h.id for h in hits]
    assert {3, 9, 14} <= set(ranked)  # welding; 有限元分析
    assert not set(ranked) & {6, 12}  # not open
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(
        h.explanation.matched_skills
        or h.explanation.matched_terms
        or h.explanation.signals["industry_match"]
        for h in hits
    )


def test_match_tasks_excludes_given_and_closed_tasks(
    loaded: SearchIndex, solver_docs: dict[int, SolverDocument]
) -> None:
    hits = loaded.match_tasks_for_solver(solver_docs[101], exclude_task_ids=[2, 3], limit=10)
    assert not {h.id for h in hits} & {2, 3, 6, 12}
    assert hits and len(hits) <= 10
    assert len(loaded.match_tasks_for_solver(solver_docs[101], limit=1)) == 1


def test_match_tasks_for_a_new_energy_solver_skips_awarded_tasks(
    loaded: SearchIndex, solver_docs: dict[int, SolverDocument]
) -> None:
    hits = loaded.match_tasks_for_solver(solver_docs[106])
    assert hits[0].id == 5
    assert explained(hits[0]) == {
        ("锂电池", "lithium battery", True),
        ("热管理", "thermal management", True),
        ("计算流体力学", "CFD", True),
    }
    assert 6 not in [h.id for h in hits]  # same industry, but awarded


def test_match_solvers_for_task(loaded: SearchIndex, task_docs: dict[int, TaskDocument]) -> None:
    hits = loaded.match_solvers_for_task(task_docs[1], limit=3)
    assert hits[0].id == 102
    assert explained(hits[0]) == {("石墨烯", "graphene", True), ("涂层", "coatings", True)}
    assert hits[0].explanation.signals["industry_match"] == 1.0

    hits = loaded.match_solvers_for_task(task_docs[3])
    assert hits[0].id == 105
    assert ("机器视觉", "机器视觉", False) in explained(hits[0])
    assert ("industrial robot", "工业机器人", True) in explained(hits[0])
    assert 101 in [h.id for h in hits]  # welding <-> welding
    assert ("welding", "welding", False) in explained(next(h for h in hits if h.id == 101))


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (SearchQuery(page_size=101), "page_size"),
        (SearchQuery(page=0), "page"),
        (SearchQuery(sort=("title_zh:asc",)), "sort"),
        (SearchQuery(sort=("budget_minor:up",)), "sort"),
        (SearchQuery(facets=("budget_minor",)), "facets"),
        (SearchQuery(filters=(Filter.eq("title_zh", "x"),)), "filters[0].field"),
        (SearchQuery(filters=(Filter.between("industry", gte=1),)), "filters[0].field"),
        (SearchQuery(filters=(Filter(field="budget_minor"),)), "filters[0]"),
        (SearchQuery(filters=(Filter.between("budget_minor", 10, 1),)), "filters[0]"),
        (SearchQuery(q="x" * 201), "q"),
    ],
)
def test_invalid_queries_name_the_field(
    loaded: SearchIndex, query: SearchQuery, field: str
) -> None:
    with pytest.raises(InvalidSearchQuery) as info:
        loaded.search_tasks(query)
    assert info.value.field == field


def test_invalid_match_limit(loaded: SearchIndex, solver_docs: dict[int, SolverDocument]) -> None:
    with pytest.raises(InvalidSearchQuery) as info:
        loaded.match_tasks_for_solver(solver_docs[101], limit=0)
    assert info.value.field == "limit"
