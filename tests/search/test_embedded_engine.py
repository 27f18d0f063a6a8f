"""What only the embedded engine has: its file, its threads, its schema, its highlights."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bench.search_speed import DocGen
from search import embedded, synonyms
from search.embedded import SCHEMA_VERSION, EmbeddedSearchIndex
from search.port import (
    Filter,
    SearchIndex,
    SearchQuery,
    SearchUnavailable,
    SolverDocument,
    TaskDocument,
)


def _ids(index: EmbeddedSearchIndex, q: str) -> list[int]:
    return [h.id for h in index.search_tasks(SearchQuery(q=q, page_size=100)).hits]


def _variant(doc: TaskDocument, **changes: object) -> TaskDocument:
    return msgspec.structs.replace(doc, **changes)


def test_it_is_a_search_index() -> None:
    index = EmbeddedSearchIndex()
    assert isinstance(index, SearchIndex)
    index.close()


def test_the_index_persists_in_its_own_file(
    tmp_path: Path, task_docs: dict[int, TaskDocument], solver_docs: dict[int, SolverDocument]
) -> None:
    path = tmp_path / "search.sqlite3"
    index = EmbeddedSearchIndex(str(path))
    index.upsert_tasks(list(task_docs.values()))
    index.upsert_solvers(list(solver_docs.values()))
    index.close()
    assert path.exists()

    reopened = EmbeddedSearchIndex(str(path))
    assert _ids(reopened, "石墨烯")[0] == 1
    assert reopened.search_solvers(SearchQuery()).total == 6
    reopened.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_index_of_another_layout_is_dropped_for_a_rebuild(
    tmp_path: Path, task_docs: dict[int, TaskDocument]
) -> None:
    path = tmp_path / "search.sqlite3"
    index = EmbeddedSearchIndex(str(path))
    index.upsert_tasks(list(task_docs.values()))
    index.close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    reopened = EmbeddedSearchIndex(str(path))
    assert reopened.search_tasks(SearchQuery()).total == 0
    reopened.upsert_tasks([task_docs[1]])
    assert _ids(reopened, "graphene") == [1]
    reopened.close()


def test_an_unusable_path_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SearchUnavailable):
        EmbeddedSearchIndex(str(tmp_path / "missing-dir" / "search.sqlite3"))


def test_a_closed_index_is_unavailable() -> None:
    index = EmbeddedSearchIndex()
    index.close()
    with pytest.raises(SearchUnavailable):
        index.search_tasks(SearchQuery(q="x"))


def test_wrong_document_type_is_a_programming_error(solver_docs: dict[int, SolverDocument]) -> None:
    index = EmbeddedSearchIndex()
    with pytest.raises(TypeError):
        index.upsert_tasks([solver_docs[101]])  # type: ignore[list-item]


@pytest.fixture(params=["memory", "file"])
def any_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedSearchIndex]:
    index = EmbeddedSearchIndex(":memory:" if request.param == "memory" else str(tmp_path / "s.db"))
    yield index
    index.close()


def test_concurrent_writers_and_readers(
    any_index: EmbeddedSearchIndex, task_docs: dict[int, TaskDocument]
) -> None:
    template = task_docs[2]
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(offset: int) -> None:
        try:
            start.wait()
            for i in range(25):
                doc_id = 1000 + offset * 100 + i
                any_index.upsert_tasks(
                    [_variant(template, id=doc_id, title_zh=f"焊接任务{doc_id}")]
                )
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            start.wait()
            for _ in range(25):
                result = any_index.search_tasks(SearchQuery(q="焊接", facets=("industry",)))
                assert result.total == sum(result.facets["industry"].values())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert any_index.search_tasks(SearchQuery(q="焊接任务")).total == 75


def test_readers_keep_the_old_index_while_a_rebuild_runs(
    tmp_path: Path, task_docs: dict[int, TaskDocument], solver_docs: dict[int, SolverDocument]
) -> None:
    index = EmbeddedSearchIndex(str(tmp_path / "s.db"))
    index.upsert_tasks(list(task_docs.values()))
    seen: list[int] = []

    def look() -> None:
        seen.append(index.search_tasks(SearchQuery()).total)

    def docs() -> Iterator[TaskDocument]:
        yield task_docs[1]
        reader = threading.Thread(target=look)  # another thread, another connection
        reader.start()
        reader.join(timeout=10)
        yield task_docs[2]

    stats = index.rebuild(docs(), iter(solver_docs.values()))
    assert seen == [20]  # not 0, not 1: the old index until the rebuild commits
    assert stats.tasks == 2
    assert index.search_tasks(SearchQuery()).total == 2
    index.close()


def test_a_failed_rebuild_changes_nothing(task_docs: dict[int, TaskDocument]) -> None:
    index = EmbeddedSearchIndex()
    index.upsert_tasks(list(task_docs.values()))

    def docs() -> Iterator[TaskDocument]:
        yield task_docs[1]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        index.rebuild(docs(), [])
    assert index.search_tasks(SearchQuery()).total == 20


def test_rebuild_reports_progress_in_batches(task_docs: dict[int, TaskDocument]) -> None:
    index = EmbeddedSearchIndex()
    many = [_variant(task_docs[1], id=i) for i in range(1, 1201)]
    calls: list[tuple[str, int]] = []
    index.rebuild(many, [], lambda kind, n: calls.append((kind, n)))
    assert calls == [("tasks", 500), ("tasks", 1000), ("tasks", 1200)]


def test_highlights_are_escaped(task_docs: dict[int, TaskDocument]) -> None:
    index = EmbeddedSearchIndex()
    index.upsert_tasks(
        [_variant(task_docs[2], title_zh="<b>焊接</b> & 检测", title_en='Welding "R&D" <script>')]
    )
    (hit,) = index.search_tasks(SearchQuery(q="焊接")).hits
    assert hit.highlights["title_zh"] == "&lt;b&gt;<mark>焊接</mark>&lt;/b&gt; &amp; 检测"
    assert hit.highlights["title_en"] == "<mark>Welding</mark> &quot;R&amp;D&quot; &lt;script&gt;"
    assert hit.highlights["skills"] == "<mark>焊接</mark>, 疲劳分析, 有限元分析"


def test_long_descriptions_are_cropped_around_the_match(task_docs: dict[int, TaskDocument]) -> None:
    index = EmbeddedSearchIndex()
    long_text = "前言" * 100 + "采用激光焊接工艺" + "结语" * 100
    index.upsert_tasks([_variant(task_docs[4], description_zh=long_text)])
    (hit,) = index.search_tasks(SearchQuery(q="激光焊接")).hits
    cropped = hit.highlights["description_zh"]
    assert cropped.startswith("…") and cropped.endswith("…")
    assert "采用<mark>激光焊接</mark>工艺" in cropped and len(cropped) < 120


def test_english_words_are_stemmed(task_docs: dict[int, TaskDocument]) -> None:
    index = EmbeddedSearchIndex()
    index.upsert_tasks(list(task_docs.values()))
    assert 3 in _ids(index, "welded")  # "welding"
    assert 20 in _ids(index, "robot")  # "robots", and 水下机器人
    assert _ids(index, "Antibodies")[0] == 11


def test_punctuation_and_stop_words_alone_match_everything(
    task_docs: dict[int, TaskDocument],
) -> None:
    index = EmbeddedSearchIndex()
    index.upsert_tasks(list(task_docs.values()))
    assert index.search_tasks(SearchQuery(q="the ,.!")).total == 20
    # FTS syntax is not interpreted: quotes and operators are plain text
    assert _ids(index, '"石墨烯" OR (') == [1]
    assert _ids(index, "NEAR(石墨烯 *") == []


def test_precomputed_facet_counts_follow_upserts_and_deletes(
    task_docs: dict[int, TaskDocument], solver_docs: dict[int, SolverDocument]
) -> None:
    """Placeholder facets filtered on cube fields come from counts kept on every write;
    a range filter that passes everything forces the count over the documents."""
    index = EmbeddedSearchIndex()
    index.rebuild(task_docs.values(), solver_docs.values())
    docs = list(task_docs.values())
    index.upsert_tasks(
        [_variant(docs[0], status="cancelled", skills=["Welding", "焊接", "新技能"])]
    )
    index.upsert_tasks([_variant(docs[1], industry=docs[2].industry, district=docs[2].district)])
    index.upsert_tasks([_variant(docs[1], zone=None)])
    index.delete_task(docs[3].id)
    index.delete_task(10**9)  # unknown: no change
    facets = ("industry", "district", "zone", "status", "skills")
    for filters in [
        (),
        (Filter.eq("status", "published"),),
        (
            Filter.any_of("status", ["published", "cancelled"]),
            Filter.eq("district", docs[2].district),
        ),
    ]:
        cube = index.search_tasks(SearchQuery(filters=filters, facets=facets))
        scan = index.search_tasks(
            SearchQuery(filters=(*filters, Filter.between("budget_minor", gte=0)), facets=facets)
        )
        assert cube.facets == scan.facets
        assert cube.total == scan.total
    solvers = index.search_solvers(
        SearchQuery(facets=("district", "skills", "fields", "languages"))
    )
    scan_solvers = index.search_solvers(
        SearchQuery(
            filters=(Filter.between("completed_count", gte=0),),
            facets=("district", "skills", "fields", "languages"),
        )
    )
    assert solvers.facets == scan_solvers.facets
    index.close()


@pytest.mark.parametrize("q", ["焊接", "涂层", "welding", "材料 工艺"])
def test_a_capped_ranking_keeps_every_match_total_and_facets(
    monkeypatch: pytest.MonkeyPatch, task_docs: dict[int, TaskDocument], q: str
) -> None:
    """Above RANK_CAP matches only some are ranked by BM25; the result set, total and
    facets stay exact, and the hits still come best first."""
    index = EmbeddedSearchIndex()
    index.upsert_tasks(list(task_docs.values()))
    query = SearchQuery(q=q, facets=("industry", "skills"), page_size=100)
    exact = index.search_tasks(query)
    monkeypatch.setattr(embedded, "RANK_CAP", 1)
    capped = index.search_tasks(query)
    assert capped.total == exact.total
    assert capped.facets == exact.facets
    assert {h.id for h in capped.hits} == {h.id for h in exact.hits}
    if exact.total > 1:
        scores = [h.score for h in capped.hits]
        assert scores == sorted(scores, reverse=True)
    index.close()


@pytest.fixture(scope="module")
def generated_index() -> Iterator[EmbeddedSearchIndex]:
    """1,500 tasks as the search benchmark generates them (broad words, tied budgets)."""
    docs = DocGen(7)
    index = EmbeddedSearchIndex()
    index.upsert_tasks([docs.task(i) for i in range(1, 1501)])
    yield index
    index.close()


@pytest.mark.parametrize("q", ["材料", "系统", "材料 工艺", "TRL 样机", "热管理", "motion control"])
@pytest.mark.parametrize(("rank_cap", "walk_budget"), [(4, 5_000), (1000, 5_000), (4, 30)])
def test_scoring_only_what_can_reach_the_page_pages_like_scoring_everything(
    monkeypatch: pytest.MonkeyPatch,
    generated_index: EmbeddedSearchIndex,
    q: str,
    rank_cap: int,
    walk_budget: int,
) -> None:
    """A large text result is scored only where the page can come from (the documents
    that can score above zero plus the first of the others in the default order, or the
    first in an explicit sort order with their ties, found by a walk of the sort index or,
    past the walk's budget, by sorting the hits); every page, total, score and facet is
    what scoring the whole result gives."""
    index = generated_index
    monkeypatch.setattr(embedded, "RANK_CAP", rank_cap)
    monkeypatch.setattr(embedded, "WALK_BUDGET", walk_budget)
    published = (Filter.eq("status", "published"),)
    queries = [
        SearchQuery(q=q, page=page, page_size=size, filters=filters, sort=sort, facets=facets)
        for page, size in ((1, 1), (2, 1), (1, 2), (1, 100), (3, 7), (50, 1))
        for filters in ((), published)
        for sort, facets in (
            ((), ()),
            (("budget_minor:desc",), ()),
            (("trl_target:asc",), ("industry", "skills")),
            (("bid_deadline:asc",), ()),
        )
    ]
    narrowed: list[bool] = []
    chosen = EmbeddedSearchIndex._chosen

    def recorded(self: EmbeddedSearchIndex, *args: Any) -> Any:
        result = chosen(self, *args)
        narrowed.append(len(result) < len(args[-2]))  # fewer than the hits were scored
        return result

    monkeypatch.setattr(EmbeddedSearchIndex, "_chosen", recorded)
    monkeypatch.setattr(embedded, "WALK_MIN", 0)
    bounded = [index.search_tasks(query) for query in queries]
    assert any(narrowed), "every query scored all its hits"
    monkeypatch.setattr(embedded, "WALK_MIN", 10**9)
    assert bounded == [index.search_tasks(query) for query in queries]


def _all_hits(index: EmbeddedSearchIndex, query: SearchQuery) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        result = index.search_tasks(msgspec.structs.replace(query, page=page, page_size=100))
        ids += [h.id for h in result.hits]
        if len(ids) >= result.total:
            return ids
        page += 1


def _facets_of(docs: list[TaskDocument]) -> dict[str, dict[str, int]]:
    """Facet counts computed from the documents themselves (most frequent first, ties by
    the value shown; a skill shows its smallest spelling among the documents)."""
    out: dict[str, dict[str, int]] = {}
    for name in ("industry", "district", "status"):
        counts: dict[str, int] = {}
        for doc in docs:
            counts[getattr(doc, name)] = counts.get(getattr(doc, name), 0) + 1
        out[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    groups: dict[str, tuple[int, str]] = {}
    for doc in docs:
        spellings: dict[str, str] = {}
        for skill in doc.skills:
            norm = synonyms.normalize(skill)
            spellings[norm] = min(spellings.get(norm, skill), skill)
        for norm, spelling in spellings.items():
            n, shown = groups.get(norm, (0, spelling))
            groups[norm] = (n + 1, min(shown, spelling))
    ranked = sorted(groups.values(), key=lambda g: (-g[0], g[1]))
    out["skills"] = {shown: n for n, shown in ranked}
    return out


def test_postings_follow_writes_seen_from_this_and_another_connection(tmp_path: Path) -> None:
    """Filters and facets of a text search come from value postings cached per
    connection: after upserts and deletes, through this index or another one on the same
    file (another process), they are those of the documents as they now are."""
    generator = DocGen(11)
    docs = {d.id: d for d in (generator.task(i) for i in range(1, 301))}
    path = str(tmp_path / "search.db")
    writer, reader = EmbeddedSearchIndex(path), EmbeddedSearchIndex(path)
    writer.upsert_tasks(list(docs.values()))
    query = SearchQuery(
        q="系统", filters=(Filter.eq("status", "published"),), facets=_FACETS_OF_DOCS
    )

    def check(index: EmbeddedSearchIndex) -> list[int]:
        ids = _all_hits(index, query)
        assert len(ids) == len(set(ids)) > 20
        hit_docs = [docs[i] for i in ids]
        assert {d.status for d in hit_docs} == {"published"}
        result = index.search_tasks(query)
        assert result.total == len(ids)
        assert result.facets == {k: v for k, v in _facets_of(hit_docs).items() if k in query.facets}
        return ids

    before = check(reader)  # both caches are now warm
    assert check(writer) == before
    changed = [
        _variant(docs[before[0]], status="bidding_closed"),
        _variant(docs[before[1]], industry="biomedicine", skills=["制剂", "Formulation"]),
        _variant(docs[before[2]], district="haimen", skills=[*docs[before[2]].skills, "新技能"]),
    ]
    writer.upsert_tasks(changed)
    docs.update({d.id: d for d in changed})
    writer.delete_task(before[3])
    del docs[before[3]]
    after = check(reader)  # another connection's commits: PRAGMA data_version changed
    assert before[0] not in after and before[3] not in after and before[1] in after
    assert check(writer) == after  # this index's own writes: its write counter changed
    writer.close()
    reader.close()


_FACETS_OF_DOCS = ("industry", "district", "status", "skills")


def _task(doc_id: int, **fields: Any) -> TaskDocument:
    values: dict[str, Any] = {
        "title_zh": "机器人系统",
        "industry": "new_materials",
        "district": "haimen",
        "status": "published",
        "trl_current": 1,
        "trl_target": 2,
        "budget_minor": 1,
        "bid_deadline": 1,
        "published_at": 1,
        "poster_org_id": 1,
    }
    values.update(fields)
    return TaskDocument(id=doc_id, **values)


def test_a_search_during_a_write_to_a_memory_index_never_reuses_outdated_postings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """':memory:' has one connection shared by every thread: a search that gets it right
    after a write's COMMIT (before the writer thread goes on) must see the new postings."""
    index = EmbeddedSearchIndex()
    index.upsert_tasks([_task(1), _task(2)])
    query = SearchQuery(q="机器人", filters=(Filter.eq("status", "published"),), facets=("status",))
    assert index.search_tasks(query).total == 2  # postings cached
    transaction = EmbeddedSearchIndex._transaction
    committed, resume = threading.Event(), threading.Event()

    @contextmanager
    def pausing_after_commit(self: EmbeddedSearchIndex, begin: str) -> Iterator[Any]:
        with transaction(self, begin) as conn:
            yield conn
        if begin == "BEGIN IMMEDIATE":  # committed, connection released
            committed.set()
            resume.wait(5)

    monkeypatch.setattr(EmbeddedSearchIndex, "_transaction", pausing_after_commit)
    writer = threading.Thread(target=index.upsert_tasks, args=([_task(1, status="completed")],))
    writer.start()
    assert committed.wait(5)
    during = index.search_tasks(query)
    resume.set()
    writer.join()
    assert (during.total, [h.id for h in during.hits], during.facets) == (
        1,
        [2],
        {"status": {"published": 1}},
    )
    index.close()


def test_document_ids_outside_the_postings_range_are_refused_whole() -> None:
    index = EmbeddedSearchIndex()
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match="outside"):
            index.upsert_tasks([_task(1), _task(bad)])
    assert index.search_tasks(SearchQuery()).total == 0  # nothing half-written
    index.upsert_tasks([_task(2**32 - 1)])
    assert [h.id for h in index.search_tasks(SearchQuery(q="机器人")).hits] == [2**32 - 1]
    index.close()


def test_a_word_longer_than_the_stemmer_takes_still_finds_itself() -> None:
    index = EmbeddedSearchIndex()
    word = "x" * 64 + "s"  # FTS5's porter leaves tokens over 64 bytes as they are
    index.upsert_tasks([_task(1, title_en=f"{word} robots")])
    assert index.search_tasks(SearchQuery(q=word)).total == 1
    assert index.search_tasks(SearchQuery(q="robot")).total == 1
    index.close()
