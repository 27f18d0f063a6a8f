"""``python -m bench relevance``: nDCG@10 and recall@10 of matching and search on a judged set.

The judged set (`tests/data/relevance/`, see its README) holds hand-written tasks and solver
profiles from the seed plan's twelve industries, graded 0-3 per (solver, task) pair, plus
free-text queries graded per task. Three directions are measured:

- ``tasks_for_solver``: `SearchIndex.match_tasks_for_solver` for every solver profile
  (open tasks only, as the discovery service shows them: a closed task counts as grade 0);
- ``solvers_for_task``: `SearchIndex.match_solvers_for_task` for every task;
- ``search``: `SearchIndex.search_tasks` for every free-text query.

Each direction is also ranked by plain BM25 (SQLite FTS5, default ``bm25()``, no synonyms,
no skill or field knowledge) with the other side's whole text as an OR query, in two
standard analyzers: Chinese character bigrams + English words (`unicode61`), and the
FTS5 ``trigram`` tokenizer. Both run in the same process on the same documents and are
scored by the same functions. The target, for both matching directions: nDCG@10 >= 0.8
and above the better baseline (search is reported without a target).

Metrics (per query, then averaged over the queries that have a relevant document):
- nDCG@10: linear gain = grade, discount 1/log2(rank + 1), ideal DCG from all judgments
  of the query (so an unreturned relevant document costs);
- recall@10: share of the documents graded >= 2 found in the top 10.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click
import msgspec
from rich.console import JustifyMethod
from rich.table import Table

from bench.common import ROOT, console, write_results
from search.embedded import EmbeddedSearchIndex
from search.port import SearchIndex, SearchQuery, SolverDocument, TaskDocument
from search.text import CJK_CLASS, fold

DATA_DIR = ROOT / "tests" / "data" / "relevance"
K = 10
RELEVANT_GRADE = 2
"""recall@k counts the documents graded at least this (2 = good, 3 = ideal)."""
TARGET_NDCG = 0.8
OPEN_STATUS = "published"
BASE_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z: the set's publication dates start here
DAY = 86_400

Direction = Literal["tasks_for_solver", "solvers_for_task", "search"]
DIRECTIONS: tuple[Direction, ...] = ("tasks_for_solver", "solvers_for_task", "search")
TARGET_DIRECTIONS: tuple[Direction, ...] = ("tasks_for_solver", "solvers_for_task")
"""The target applies to matching; search is measured for information (its queries AND
their concepts by the port's contract, so a query with an absent concept finds nothing)."""
Judgments = dict[int, dict[int, int]]
"""Query id (solver, task or free-text query) -> document id -> grade (missing = 0)."""
Rankings = dict[int, list[int]]
"""Query id -> document ids, best first."""


# ---------------------------------------------------------------------------------------
# The judged set
# ---------------------------------------------------------------------------------------


class _TaskRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: int
    title_zh: str = ""
    title_en: str = ""
    summary_zh: str = ""
    summary_en: str = ""
    description_zh: str = ""
    description_en: str = ""
    skills: list[str]
    industry: str
    district: str
    zone: str | None = None
    status: str = OPEN_STATUS
    trl: tuple[int, int]
    budget_yuan: int
    poster_org_id: int


class _Judgment(msgspec.Struct, forbid_unknown_fields=True):
    task: int
    grades: dict[int, int]
    why: str = ""


class _Query(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    q: str
    grades: dict[int, int]


@dataclass(frozen=True)
class JudgedSet:
    tasks: dict[int, TaskDocument]
    solvers: dict[int, SolverDocument]
    grades: dict[tuple[int, int], int]
    """(solver id, task id) -> grade; unjudged pairs are 0."""
    queries: dict[int, str]
    query_grades: Judgments
    """Free-text query id -> task id -> grade."""

    def judgments(self, direction: Direction) -> Judgments:
        """The graded documents of each query of a direction (queries with no relevant
        document included: they are skipped when averaging)."""
        if direction == "tasks_for_solver":
            # Matching offers open tasks only: a closed task is of no use to a solver.
            out: Judgments = {s: {} for s in self.solvers}
            for (s, t), g in self.grades.items():
                if self.tasks[t].status == OPEN_STATUS:
                    out[s][t] = g
            return out
        if direction == "solvers_for_task":
            out = {t: {} for t in self.tasks}
            for (s, t), g in self.grades.items():
                out[t][s] = g
            return out
        return {q: dict(g) for q, g in self.query_grades.items()}


def _task_document(row: _TaskRow) -> TaskDocument:
    published_at = BASE_TIME + row.id * 3600
    return TaskDocument(
        id=row.id,
        title_zh=row.title_zh,
        title_en=row.title_en,
        summary_zh=row.summary_zh,
        summary_en=row.summary_en,
        description_zh=row.description_zh,
        description_en=row.description_en,
        skills=row.skills,
        industry=row.industry,
        district=row.district,
        zone=row.zone,
        status=row.status,
        trl_current=row.trl[0],
        trl_target=row.trl[1],
        budget_minor=row.budget_yuan * 100,
        bid_deadline=published_at + 45 * DAY,
        published_at=published_at,
        poster_org_id=row.poster_org_id,
    )


def load_judged_set(data_dir: Path = DATA_DIR) -> JudgedSet:
    """Read tasks.json, solvers.json, judgments.json and queries.json of DATA_DIR."""

    def read(name: str, kind: Any) -> Any:
        return msgspec.json.decode((data_dir / name).read_bytes(), type=kind)

    tasks = {r.id: _task_document(r) for r in read("tasks.json", list[_TaskRow])}
    solvers = {s.id: s for s in read("solvers.json", list[SolverDocument])}
    grades: dict[tuple[int, int], int] = {}
    for j in read("judgments.json", list[_Judgment]):
        for solver_id, grade in j.grades.items():
            grades[(solver_id, j.task)] = grade
    queries = read("queries.json", list[_Query])
    return JudgedSet(
        tasks=tasks,
        solvers=solvers,
        grades=grades,
        queries={q.id: q.q for q in queries},
        query_grades={q.id: dict(q.grades) for q in queries},
    )


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------


def dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(ranking: Sequence[int], grades: Mapping[int, int], k: int = K) -> float | None:
    """Graded nDCG@k (linear gain, log2 discount, ideal from all judgments); None when
    nothing is relevant (the query is then left out of the average)."""
    ideal = dcg(sorted((g for g in grades.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return None
    return dcg(grades.get(doc, 0) for doc in ranking[:k]) / ideal


def recall_at_k(
    ranking: Sequence[int], grades: Mapping[int, int], k: int = K, threshold: int = RELEVANT_GRADE
) -> float | None:
    """Share of the documents graded >= threshold found in the top k; None without any."""
    relevant = {doc for doc, g in grades.items() if g >= threshold}
    if not relevant:
        return None
    return len(relevant & set(ranking[:k])) / len(relevant)


@dataclass(frozen=True)
class Figures:
    ndcg: float
    recall: float
    queries: int
    """Queries with a relevant document (nDCG averaged over these)."""
    recall_queries: int
    """Queries with a document graded >= RELEVANT_GRADE (recall averaged over these)."""
    per_query: dict[int, float]
    """nDCG@k of each counted query (for finding the weak ones)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "ndcg_at_10": round(self.ndcg, 4),
            "recall_at_10": round(self.recall, 4),
            "queries": self.queries,
            "recall_queries": self.recall_queries,
        }


def evaluate(rankings: Rankings, judgments: Judgments, k: int = K) -> Figures:
    """Mean nDCG@k and recall@k over the judged queries (a query not ranked scores 0)."""
    ndcgs: dict[int, float] = {}
    recalls: list[float] = []
    for qid, grades in judgments.items():
        ranking = rankings.get(qid, [])
        n = ndcg_at_k(ranking, grades, k)
        if n is not None:
            ndcgs[qid] = n
        r = recall_at_k(ranking, grades, k)
        if r is not None:
            recalls.append(r)
    return Figures(
        ndcg=sum(ndcgs.values()) / len(ndcgs) if ndcgs else 0.0,
        recall=sum(recalls) / len(recalls) if recalls else 0.0,
        queries=len(ndcgs),
        recall_queries=len(recalls),
        per_query=ndcgs,
    )


# ---------------------------------------------------------------------------------------
# Rankers
# ---------------------------------------------------------------------------------------


def engine_rankings(index: SearchIndex, js: JudgedSet, k: int = K) -> dict[Direction, Rankings]:
    """The real matching and search of an index already holding the judged set."""
    return {
        "tasks_for_solver": {
            s.id: [h.id for h in index.match_tasks_for_solver(s, limit=k)]
            for s in js.solvers.values()
        },
        "solvers_for_task": {
            t.id: [h.id for h in index.match_solvers_for_task(t, limit=k)]
            for t in js.tasks.values()
        },
        "search": {
            qid: [h.id for h in index.search_tasks(SearchQuery(q=q, page_size=k)).hits]
            for qid, q in js.queries.items()
        },
    }


def task_text(t: TaskDocument) -> str:
    return "\n".join(
        (
            t.title_zh,
            t.title_en,
            t.summary_zh,
            t.summary_en,
            t.description_zh,
            t.description_en,
            " ".join(t.skills),
        )
    )


def solver_text(s: SolverDocument) -> str:
    return "\n".join(
        (s.display_name, s.headline_zh, s.headline_en, s.bio_zh, s.bio_en, " ".join(s.skills))
    )


def profile_text(s: SolverDocument) -> str:
    """A solver as a query: what it says it does (its name is not a topic)."""
    return "\n".join((s.headline_zh, s.headline_en, s.bio_zh, s.bio_en, " ".join(s.skills)))


_RUN_RE = re.compile(f"[{CJK_CLASS}]+|[0-9a-z]+")
_CJK_RUN_RE = re.compile(f"[{CJK_CLASS}]+")


def bigram_tokens(text: str) -> list[str]:
    """A standard CJK analyzer: English words and overlapping Chinese bigrams (a lone
    Chinese character stays a unigram), case-folded."""
    out: list[str] = []
    for run in _RUN_RE.findall(fold(text)):
        if _CJK_RUN_RE.fullmatch(run) and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def trigram_terms(text: str) -> list[str]:
    """The 3-character pieces of every word and Chinese run (what FTS5 trigram can match;
    shorter words such as "5g" cannot be searched with that tokenizer)."""
    out: list[str] = []
    for run in _RUN_RE.findall(fold(text)):
        out.extend(run[i : i + 3] for i in range(len(run) - 2))
    return out


Analyzer = Literal["bigram", "trigram"]


class Bm25Baseline:
    """Plain BM25 over whole texts: one FTS5 column per document, default `bm25()`."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._conn = sqlite3.connect(":memory:")
        tokenizer = "unicode61" if analyzer == "bigram" else "trigram"
        for kind in ("tasks", "solvers"):
            self._conn.execute(
                f"CREATE VIRTUAL TABLE {kind} USING fts5(body, open UNINDEXED,"
                f" tokenize='{tokenizer}')"
            )

    def _index_text(self, text: str) -> str:
        return " ".join(bigram_tokens(text)) if self.analyzer == "bigram" else fold(text)

    def load(self, js: JudgedSet) -> None:
        self._conn.executemany(
            "INSERT INTO tasks (rowid, body, open) VALUES (?, ?, ?)",
            [
                (t.id, self._index_text(task_text(t)), int(t.status == OPEN_STATUS))
                for t in js.tasks.values()
            ],
        )
        self._conn.executemany(
            "INSERT INTO solvers (rowid, body, open) VALUES (?, ?, 1)",
            [(s.id, self._index_text(solver_text(s))) for s in js.solvers.values()],
        )

    def rank(self, kind: str, text: str, *, open_only: bool = False, k: int = K) -> list[int]:
        terms = bigram_tokens(text) if self.analyzer == "bigram" else trigram_terms(text)
        unique = list(dict.fromkeys(terms))
        if not unique:
            return []
        expression = " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)
        where = " AND open = 1" if open_only else ""
        rows = self._conn.execute(
            f"SELECT rowid FROM {kind} WHERE {kind} MATCH ?{where}"
            f" ORDER BY bm25({kind}), rowid LIMIT ?",
            (expression, k),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def rankings(self, js: JudgedSet, k: int = K) -> dict[Direction, Rankings]:
        return {
            "tasks_for_solver": {
                s.id: self.rank("tasks", profile_text(s), open_only=True, k=k)
                for s in js.solvers.values()
            },
            "solvers_for_task": {
                t.id: self.rank("solvers", task_text(t), k=k) for t in js.tasks.values()
            },
            "search": {qid: self.rank("tasks", q, k=k) for qid, q in js.queries.items()},
        }

    def close(self) -> None:
        self._conn.close()


@contextmanager
def loaded_embedded(js: JudgedSet) -> Iterator[EmbeddedSearchIndex]:
    index = EmbeddedSearchIndex(":memory:")
    try:
        index.rebuild(js.tasks.values(), js.solvers.values())
        yield index
    finally:
        index.close()


@contextmanager
def loaded_meili(js: JudgedSet, url: str) -> Iterator[SearchIndex]:
    """The set in throw-away Meilisearch indexes (deleted afterwards)."""
    from search.meili import MeiliSearchIndex

    key = os.environ.get("MEILI_API_KEY") or os.environ.get("MEILI_MASTER_KEY")
    index = MeiliSearchIndex(url, key, index_prefix=f"relevance_{uuid.uuid4().hex[:8]}_", wait=True)
    index.ensure_settings()
    try:
        index.upsert_tasks(list(js.tasks.values()))
        index.upsert_solvers(list(js.solvers.values()))
        yield index
    finally:
        client: Any = index._client()
        for kind in ("tasks", "solvers"):
            client.wait_for_task(client.delete_index(index.uid(kind)).task_uid)
        index.close()


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------

BASELINES: tuple[Analyzer, ...] = ("bigram", "trigram")


def run_relevance(
    data_dir: Path = DATA_DIR, k: int = K, meili_url: str | None = None
) -> dict[str, dict[Direction, Figures]]:
    """System name -> direction -> figures: ``embedded`` (ours), ``meilisearch`` (ours,
    when a URL is given), ``bm25_bigram`` and ``bm25_trigram`` (the baselines)."""
    js = load_judged_set(data_dir)
    judgments = {d: js.judgments(d) for d in DIRECTIONS}

    def score(rankings: dict[Direction, Rankings]) -> dict[Direction, Figures]:
        return {d: evaluate(rankings[d], judgments[d], k) for d in DIRECTIONS}

    systems: dict[str, Callable[[], dict[Direction, Rankings]]] = {}

    def embedded() -> dict[Direction, Rankings]:
        with loaded_embedded(js) as index:
            return engine_rankings(index, js, k)

    systems["embedded"] = embedded
    if meili_url:

        def meili() -> dict[Direction, Rankings]:
            with loaded_meili(js, meili_url) as index:
                return engine_rankings(index, js, k)

        systems["meilisearch"] = meili
    for analyzer in BASELINES:

        def baseline(analyzer: Analyzer = analyzer) -> dict[Direction, Rankings]:
            bm25 = Bm25Baseline(analyzer)
            try:
                bm25.load(js)
                return bm25.rankings(js, k)
            finally:
                bm25.close()

        systems[f"bm25_{analyzer}"] = baseline
    return {name: score(ranker()) for name, ranker in systems.items()}


def best_baseline(results: Mapping[str, Mapping[Direction, Figures]], d: Direction) -> Figures:
    return max((results[f"bm25_{a}"][d] for a in BASELINES), key=lambda f: f.ndcg)


def _set_summary(data_dir: Path) -> dict[str, Any]:
    js = load_judged_set(data_dir)
    return {
        "tasks": len(js.tasks),
        "open_tasks": sum(t.status == OPEN_STATUS for t in js.tasks.values()),
        "solvers": len(js.solvers),
        "judged_pairs": len(js.grades),
        "queries": len(js.queries),
    }


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=DATA_DIR,
    show_default=True,
)
@click.option(
    "--meili-url",
    envvar="MEILI_URL",
    default=None,
    help="also measure the Meilisearch adapter (default: $MEILI_URL; skipped when unset)",
)
@click.option("--worst", default=3, show_default=True, help="list the N weakest queries")
def main(data_dir: Path, meili_url: str | None, worst: int) -> None:
    """nDCG@10 and recall@10 of matching (both ways) and search, against plain BM25."""
    t0 = time.perf_counter()
    results = run_relevance(data_dir, K, meili_url)
    seconds = round(time.perf_counter() - t0, 2)
    systems = list(results)
    size = _set_summary(data_dir)
    table = Table(
        title=f"relevance: {size['tasks']} tasks ({size['open_tasks']} open),"
        f" {size['solvers']} solvers, {size['judged_pairs']} graded pairs,"
        f" {size['queries']} queries"
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("direction", "left"),
        ("system", "left"),
        ("queries", "right"),
        (f"nDCG@{K}", "right"),
        (f"recall@{K}", "right"),
        ("vs best BM25 (nDCG)", "right"),
        (f"target nDCG ≥ {TARGET_NDCG} and > BM25", "left"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    summary: dict[str, Any] = {}
    for d in DIRECTIONS:
        base = best_baseline(results, d)
        summary[d] = {n: results[n][d].as_json() for n in systems}
        for n in systems:
            f = results[n][d]
            ours = not n.startswith("bm25_")
            ratio = f.ndcg / base.ndcg if base.ndcg else math.inf
            met = f.ndcg >= TARGET_NDCG and f.ndcg > base.ndcg
            verdict = ""
            if ours:
                summary[d][n].update(
                    ratio_to_best_baseline=round(ratio, 3),
                    difference_to_best_baseline=round(f.ndcg - base.ndcg, 4),
                    target_met=met,
                )
                if d in TARGET_DIRECTIONS:
                    verdict = "[green]met" if met else "[red]missed"
                else:
                    verdict = "(no target)" + (" above BM25" if f.ndcg > base.ndcg else "")
            table.add_row(
                d if n == systems[0] else "",
                n,
                str(f.queries),
                f"{f.ndcg:.3f}",
                f"{f.recall:.3f}",
                f"{ratio:.2f}x ({f.ndcg - base.ndcg:+.3f})" if ours else "",
                verdict,
                end_section=n == systems[-1],
            )
        weakest = sorted(results["embedded"][d].per_query.items(), key=lambda kv: kv[1])[:worst]
        summary[d]["embedded_weakest"] = [[q, round(v, 3)] for q, v in weakest]
    console.print(table)
    for d in DIRECTIONS:
        weakest = ", ".join(f"{q}: {v}" for q, v in summary[d]["embedded_weakest"])
        console.print(f"weakest {d} queries of embedded (id: nDCG@{K}): {weakest}")
    console.print(
        f"nDCG@{K}: linear gain = grade, log2 discount, ideal from all judgments. "
        f"recall@{K}: share of the documents graded >= {RELEVANT_GRADE} in the top {K}. "
        f"{seconds} s."
    )
    met = all(
        summary[d][n]["target_met"]
        for d in TARGET_DIRECTIONS
        for n in systems
        if not n.startswith("bm25_")
    )
    data = {
        "k": K,
        "target_ndcg": TARGET_NDCG,
        "target_directions": list(TARGET_DIRECTIONS),
        "relevant_grade": RELEVANT_GRADE,
        "judged_set": size,
        "systems": systems,
        "directions": summary,
        "target_met": met,
        "seconds": seconds,
    }
    path = write_results("relevance", data)
    console.print(f"results written to {path}")
    if not met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
