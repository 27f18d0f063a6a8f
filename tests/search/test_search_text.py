"""Synonyms, query parsing, highlighting, validation and the package boundary."""

from __future__ import annotations

import ast
import html
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.catalogue import DISTRICT_LABELS as MARKET_DISTRICTS
from market.catalogue import INDUSTRY_LABELS as MARKET_INDUSTRIES
from search import synonyms
from search.port import Filter, InvalidSearchQuery, SearchQuery
from search.schema import SOLVERS, TASKS, validate_query
from search.text import MARK_POST, MARK_PRE, Term, has_cjk, highlight, light_stem, parse_query

SEARCH_DIR = Path(__file__).resolve().parents[2] / "search"


# -- synonyms -----------------------------------------------------------------------------


def test_there_are_enough_chinese_english_pairs() -> None:
    pairs = [g for g in synonyms.SKILL_SYNONYMS if has_cjk(g[0]) and not has_cjk(g[1])]
    assert len(pairs) == len(synonyms.SKILL_SYNONYMS) >= 60
    assert len(synonyms.groups()) >= 72  # skills and the twelve industries


def test_every_term_belongs_to_one_group() -> None:
    seen: dict[str, int] = {}
    all_groups = [*synonyms.INDUSTRY_LABELS.values(), *synonyms.SKILL_SYNONYMS]
    for number, group in enumerate(all_groups):
        for term in group:
            norm = synonyms.normalize(term)
            assert seen.setdefault(norm, number) == number, f"{term!r} is in two groups"


def test_industry_and_district_keys_follow_the_catalogue() -> None:
    assert set(synonyms.INDUSTRY_LABELS) == {str(k) for k in MARKET_INDUSTRIES}
    assert set(synonyms.DISTRICT_LABELS) == {str(k) for k in MARKET_DISTRICTS}
    for key, (zh, en) in MARKET_INDUSTRIES.items():
        assert synonyms.INDUSTRY_LABELS[str(key)][:2] == (zh, en.lower())


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("新材料", "New Materials"),
        ("有限元分析", "finite element analysis"),
        ("焊接", "Welding"),
        ("机器学习", "machine learning"),
        ("石墨烯", "graphene"),
        ("锂电池", "lithium-ion battery"),
        ("生物医药", "biomedicine"),
    ],
)
def test_synonyms_both_ways(a: str, b: str) -> None:
    assert synonyms.are_synonyms(a, b) and synonyms.are_synonyms(b, a)
    assert synonyms.normalize(b) in synonyms.equivalents(a)


def test_unknown_terms_are_their_own_group() -> None:
    assert synonyms.equivalents("盐雾试验") == frozenset({"盐雾试验"})
    assert not synonyms.are_synonyms("焊接", "焊接")


def test_meili_synonyms_are_symmetric() -> None:
    table = synonyms.meili_synonyms()
    for term, others in table.items():
        assert term not in others
        for other in others:
            assert term in table[other]


# -- query parsing ------------------------------------------------------------------------


def _labels(q: str) -> list[str]:
    return [c.label for c in parse_query(q)]


def test_chinese_runs_are_segmented_with_the_dictionary() -> None:
    assert _labels("石墨烯导热涂层") == ["石墨烯", "导热", "涂层"]
    assert _labels("焊接的机器人") == ["焊接", "机器人"]  # a lone 的 is dropped
    assert _labels("的") == ["的"]  # ...unless it is all there is


def test_english_phrases_and_stop_words() -> None:
    assert _labels("finite element analysis for new materials") == [
        "finite element analysis",
        "new materials",
    ]
    assert _labels("the corrosion of steel") == ["corrosion", "steel"]
    assert _labels("Lithium-ion Battery") == ["lithium ion battery"]


def test_concepts_carry_their_synonyms() -> None:
    (concept,) = parse_query("graphene")
    assert {t.text for t in concept.alternatives} == {"graphene", "石墨烯"}
    assert concept.known
    (literal,) = parse_query("盐雾")
    assert [t.text for t in literal.alternatives] == ["盐雾"] and not literal.known


def test_duplicates_collapse() -> None:
    assert _labels("welding 焊接 Welding") == ["welding"]


@given(st.text(max_size=60))
def test_parsing_never_fails(text: str) -> None:
    for concept in parse_query(text):
        assert concept.alternatives and all(not t.empty for t in concept.alternatives)


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("welding", "weld"),
        ("welded", "weld"),
        ("welds", "weld"),
        ("batteries", "battery"),
        ("coatings", "coat"),
        ("processes", "process"),
        ("process", "process"),
        ("analysis", "analysis"),
        ("ai", "ai"),
    ],
)
def test_light_stem(word: str, stem: str) -> None:
    assert light_stem(word) == stem


# -- highlighting -------------------------------------------------------------------------


def test_highlight_marks_every_match_and_merges_overlaps() -> None:
    terms = [Term.of("石墨烯"), Term.of("墨烯涂"), Term.of("coating")]
    assert highlight("石墨烯涂层 and Coatings", terms) == (
        "<mark>石墨烯涂</mark>层 and <mark>Coatings</mark>"
    )
    assert highlight("nothing here", terms) is None


def test_highlight_keeps_offsets_through_unicode_folding() -> None:
    # NFKC turns the full-width letters into ASCII; the marks stay on the original text.
    assert highlight("ＢＩＭ平台", [Term.of("bim")]) == "<mark>ＢＩＭ</mark>平台"


@given(st.text(max_size=80), st.sampled_from(["焊接", "welding", "a", "石墨烯", "x1"]))
def test_highlight_only_adds_marks(text: str, word: str) -> None:
    marked = highlight(text, [Term.of(word)])
    clean = text.replace(MARK_PRE, "").replace(MARK_POST, "")
    if marked is not None:
        assert marked.replace("<mark>", "").replace("</mark>", "") == html.escape(clean)


# -- query validation ---------------------------------------------------------------------


def test_validation_accepts_a_full_query() -> None:
    vq = validate_query(
        TASKS,
        SearchQuery(
            q="  焊接  ",
            filters=(Filter.eq("industry", "new_materials"), Filter.between("trl_current", 3, 6)),
            facets=("industry", "industry"),
            sort=("budget_minor",),
            page=3,
            page_size=100,
        ),
    )
    assert vq.q == "焊接" and vq.facets == ("industry",)
    assert vq.sort == (("budget_minor", "asc"),) and vq.offset == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (
            SearchQuery(filters=(Filter.eq("industry", "x"),)),
            "filters[0].field",
        ),  # not a solver field
        (SearchQuery(facets=("industry",)), "facets"),
        (SearchQuery(sort=("budget_minor:desc",)), "sort"),
        (SearchQuery(sort=("rating_avg:desc", "rating_avg:asc")), "sort"),
        (SearchQuery(filters=(Filter(field="skills", values=("x",), gte=1),)), "filters[0]"),
        (SearchQuery(filters=(Filter.eq("skills", True),)), "filters[0].values"),
        (SearchQuery(filters=(Filter.any_of("skills", ["x"] * 101),)), "filters[0].values"),
        (SearchQuery(q="a\x00b"), "q"),
        (SearchQuery(page=2000, page_size=100), "page"),
    ],
)
def test_validation_names_the_field(query: SearchQuery, field: str) -> None:
    with pytest.raises(InvalidSearchQuery) as info:
        validate_query(SOLVERS, query)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


# -- the package boundary -----------------------------------------------------------------


def test_search_imports_nothing_from_market() -> None:
    for path in SEARCH_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "market" or n.startswith("market.") for n in names), path.name
