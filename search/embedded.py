"""The embedded search engine: SQLite FTS5 in its own database file (stdlib `sqlite3`).

Per document kind (``tasks``, ``solvers``) it keeps:

- ``<kind>_docs``: the document (msgspec JSON) plus one column per filterable / sortable
  scalar field;
- ``<kind>_values``: one row per value of a multi-valued field (skills, fields,
  languages), with its normalized form, for filters and facets;
- three FTS5 tables over the same weighted columns (title, skills, summary, extra, body):
  ``<kind>_tri`` with the ``trigram`` tokenizer (Chinese substrings of 3+ characters),
  ``<kind>_gram`` with Chinese unigrams and bigrams as tokens (1- and 2-character
  Chinese queries, which trigram cannot match) and ``<kind>_en`` with
  ``porter unicode61`` over the Latin words only (English word matching with stemming).

A query is parsed into ANDed concepts with ORed synonym alternatives (`search.text`);
each alternative is looked up in the right FTS table and scored with BM25 and the
column weights of `search.schema`; a concept found among the document's skills adds
`SKILL_BONUS`, so an exact skill match ranks above a passing mention. Filters, facets,
sort and pagination then run in SQL over the scored ids (kept in a TEMP table).

Concurrency: a file database gets one connection per thread (WAL mode: readers see the
last committed state, so a rebuild in progress does not hide the index); ``:memory:``
has a single connection guarded by a lock.

SQL identifiers interpolated below all come from `search.schema` (never from the
caller); values are always bound parameters.
"""

from __future__ import annotations

import sqlite3
import threading
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec

from search import matching, synonyms
from search.port import (
    DocumentKind,
    Filter,
    MatchHit,
    ProgressCallback,
    RebuildStats,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    SolverDocument,
    TaskDocument,
)
from search.schema import (
    SCHEMAS,
    SOLVERS,
    TASKS,
    Document,
    IndexSchema,
    ValidQuery,
    validate_limit,
    validate_query,
)
from search.text import Concept, Term, cjk_grams, fold, highlight_value, latin_only, parse_query

SCHEMA_VERSION = 1
SKILL_BONUS = 1.0
MAX_FACET_VALUES = 100
REBUILD_BATCH = 500
_FTS_SUFFIXES = ("tri", "en", "gram")
_TOKENIZERS = {
    "tri": "trigram",
    "en": "porter unicode61 remove_diacritics 2",
    "gram": "unicode61 remove_diacritics 2",
}


def _affinity(annotation: Any) -> str:
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if str in args:
        return "TEXT"
    if float in args:
        return "REAL"
    return "INTEGER"


class _Row(msgspec.Struct):
    """A document prepared for writing (computed outside any lock or transaction)."""

    id: int
    blob: bytes
    scalars: list[Any]
    values: list[tuple[str, str, str]]
    texts: dict[str, list[str]]


class EmbeddedSearchIndex:
    """`SearchIndex` on SQLite FTS5. `path` is a file (created if missing) or ':memory:'."""

    def __init__(self, path: str = ":memory:", *, timeout: float = 30.0) -> None:
        self._path = path
        self._timeout = timeout
        self._memory = path == ":memory:"
        self._lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._shared = self._open() if self._memory else None
        with self._write() as conn:
            self._ensure_schema(conn)

    # -- connections ---------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            if not self._memory:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, score REAL NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise SearchUnavailable(f"cannot open search database {self._path!r}: {exc}") from exc
        with self._lock:
            self._connections.append(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise SearchUnavailable("the search index is closed")
        if self._shared is not None:
            with self._lock:
                yield self._shared
            return
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        yield conn

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            try:
                conn.execute(begin)
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise SearchUnavailable(f"search database error: {exc}") from exc

    def _write(self) -> typing.ContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN IMMEDIATE")

    def _read(self) -> typing.ContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # -- schema --------------------------------------------------------------------------

    @staticmethod
    def _ddl(schema: IndexSchema) -> list[str]:
        k = schema.kind
        hints = typing.get_type_hints(schema.doc_type)
        scalar = "".join(f', "{c}" {_affinity(hints[c])}' for c in schema.scalar_columns)
        columns = ", ".join(c.name for c in schema.text_columns)
        statements = [
            f"CREATE TABLE IF NOT EXISTS {k}_docs"
            f" (id INTEGER PRIMARY KEY, doc BLOB NOT NULL{scalar})",
            f"CREATE TABLE IF NOT EXISTS {k}_values (doc_id INTEGER NOT NULL, field TEXT NOT NULL,"
            " value TEXT NOT NULL, norm TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {k}_values_lookup ON {k}_values (field, norm, doc_id)",
            f"CREATE INDEX IF NOT EXISTS {k}_values_doc ON {k}_values (doc_id)",
        ]
        statements += [
            f'CREATE INDEX IF NOT EXISTS {k}_docs_{c} ON {k}_docs ("{c}")'
            for c in schema.scalar_columns
        ]
        statements += [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {k}_{s}"
            f" USING fts5({columns}, tokenize='{_TOKENIZERS[s]}')"
            for s in _FTS_SUFFIXES
        ]
        return statements

    @staticmethod
    def _tables(schema: IndexSchema) -> list[str]:
        k = schema.kind
        return [f"{k}_docs", f"{k}_values", *(f"{k}_{s}" for s in _FTS_SUFFIXES)]

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] != str(SCHEMA_VERSION):
            # The index is derived data: an old layout is dropped and must be rebuilt.
            for schema in SCHEMAS.values():
                for table in self._tables(schema):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
        try:
            for schema in SCHEMAS.values():
                for statement in self._ddl(schema):
                    conn.execute(statement)
        except sqlite3.OperationalError as exc:
            raise SearchUnavailable(
                f"SQLite FTS5 with the trigram tokenizer is needed: {exc}"
            ) from exc
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    # -- writes --------------------------------------------------------------------------

    @staticmethod
    def _prepare(schema: IndexSchema, doc: Document) -> _Row:
        if not isinstance(doc, schema.doc_type):
            raise TypeError(f"expected {schema.doc_type.__name__}, got {type(doc).__name__}")
        record = schema.to_record(doc)
        values = [
            (name, str(value), synonyms.normalize(str(value)))
            for name in sorted(schema.list_fields)
            for value in dict.fromkeys(record.get(name) or [])
        ]
        texts: dict[str, list[str]] = {s: [] for s in _FTS_SUFFIXES}
        for column in schema.text_columns:
            parts: list[str] = []
            for source in column.sources:
                value = record.get(source)
                parts.extend(value if isinstance(value, list) else [value or ""])
            folded = fold("\n".join(str(p) for p in parts))
            texts["tri"].append(folded)
            texts["en"].append(latin_only(folded))
            texts["gram"].append(cjk_grams(folded))
        return _Row(
            id=doc.id,
            blob=msgspec.json.encode(doc),
            scalars=[record.get(c) for c in schema.scalar_columns],
            values=values,
            texts=texts,
        )

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, schema: IndexSchema, doc_id: int) -> None:
        k = schema.kind
        conn.execute(f"DELETE FROM {k}_docs WHERE id = ?", (doc_id,))  # noqa: S608
        conn.execute(f"DELETE FROM {k}_values WHERE doc_id = ?", (doc_id,))  # noqa: S608
        for s in _FTS_SUFFIXES:
            conn.execute(f"DELETE FROM {k}_{s} WHERE rowid = ?", (doc_id,))  # noqa: S608

    @staticmethod
    def _insert_row(conn: sqlite3.Connection, schema: IndexSchema, row: _Row) -> None:
        k = schema.kind
        names = "".join(f', "{c}"' for c in schema.scalar_columns)
        marks = ", ?" * len(schema.scalar_columns)
        conn.execute(
            f"INSERT INTO {k}_docs (id, doc{names}) VALUES (?, ?{marks})",  # noqa: S608
            (row.id, row.blob, *row.scalars),
        )
        conn.executemany(
            f"INSERT INTO {k}_values (doc_id, field, value, norm) VALUES (?, ?, ?, ?)",  # noqa: S608
            [(row.id, *v) for v in row.values],
        )
        columns = ", ".join(c.name for c in schema.text_columns)
        text_marks = ", ?" * len(schema.text_columns)
        for s in _FTS_SUFFIXES:
            conn.execute(
                f"INSERT INTO {k}_{s} (rowid, {columns}) VALUES (?{text_marks})",  # noqa: S608
                (row.id, *row.texts[s]),
            )

    def _upsert(self, schema: IndexSchema, docs: Sequence[Document]) -> None:
        rows = [self._prepare(schema, doc) for doc in docs]
        if not rows:
            return
        with self._write() as conn:
            for row in rows:
                self._delete_rows(conn, schema, row.id)
                self._insert_row(conn, schema, row)

    def _delete(self, schema: IndexSchema, doc_id: int) -> None:
        with self._write() as conn:
            self._delete_rows(conn, schema, int(doc_id))

    def upsert_tasks(self, docs: Sequence[TaskDocument]) -> None:
        self._upsert(TASKS, docs)

    def delete_task(self, task_id: int) -> None:
        self._delete(TASKS, task_id)

    def upsert_solvers(self, docs: Sequence[SolverDocument]) -> None:
        self._upsert(SOLVERS, docs)

    def delete_solver(self, solver_id: int) -> None:
        self._delete(SOLVERS, solver_id)

    def _clear(self, conn: sqlite3.Connection) -> None:
        for schema in SCHEMAS.values():
            for table in self._tables(schema):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608

    def clear(self) -> None:
        with self._write() as conn:
            self._clear(conn)

    def rebuild(
        self,
        tasks: Iterable[TaskDocument],
        solvers: Iterable[SolverDocument],
        progress: ProgressCallback | None = None,
    ) -> RebuildStats:
        """Replace the whole index in one transaction (readers of a file database keep
        seeing the previous index until it commits)."""
        counts: dict[DocumentKind, int] = {"tasks": 0, "solvers": 0}
        sources: list[tuple[IndexSchema, Iterable[Document]]] = [(TASKS, tasks), (SOLVERS, solvers)]
        with self._write() as conn:
            self._clear(conn)
            for schema, docs in sources:
                for doc in docs:
                    self._insert_row(conn, schema, self._prepare(schema, doc))
                    counts[schema.kind] += 1
                    if progress is not None and counts[schema.kind] % REBUILD_BATCH == 0:
                        progress(schema.kind, counts[schema.kind])
                if progress is not None and counts[schema.kind] % REBUILD_BATCH:
                    progress(schema.kind, counts[schema.kind])
                for s in _FTS_SUFFIXES:
                    table = f"{schema.kind}_{s}"
                    conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")  # noqa: S608
        return RebuildStats(tasks=counts["tasks"], solvers=counts["solvers"])

    # -- text scoring --------------------------------------------------------------------

    @staticmethod
    def _term_scores(
        conn: sqlite3.Connection, schema: IndexSchema, term: Term
    ) -> list[tuple[int, float]]:
        if term.empty:
            return []
        if term.cjk:
            suffix = "tri" if len(term.text) >= 3 else "gram"
            phrase = term.text
        else:
            suffix, phrase = "en", " ".join(term.words)
        table = f"{schema.kind}_{suffix}"
        weights = ", ".join(repr(c.weight) for c in schema.text_columns)
        expression = '"' + phrase.replace('"', '""') + '"'
        return conn.execute(
            f"SELECT rowid, -bm25({table}, {weights}) FROM {table} WHERE {table} MATCH ?",  # noqa: S608
            (expression,),
        ).fetchall()

    def _concept_scores(
        self, conn: sqlite3.Connection, schema: IndexSchema, concept: Concept
    ) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term in concept.alternatives:
            for doc_id, score in self._term_scores(conn, schema, term):
                scores[doc_id] = max(scores.get(doc_id, 0.0), score)
        norms = [t.text for t in concept.alternatives]
        marks = ", ".join("?" * len(norms))
        for (doc_id,) in conn.execute(
            f"SELECT DISTINCT doc_id FROM {schema.kind}_values"  # noqa: S608
            f" WHERE field = 'skills' AND norm IN ({marks})",
            norms,
        ):
            if doc_id in scores:
                scores[doc_id] += SKILL_BONUS
        return scores

    def _all_of(
        self, conn: sqlite3.Connection, schema: IndexSchema, concepts: Sequence[Concept]
    ) -> dict[int, float]:
        """Documents matching every concept, with the sum of the concept scores."""
        total: dict[int, float] | None = None
        for concept in concepts:
            scores = self._concept_scores(conn, schema, concept)
            total = (
                scores
                if total is None
                else {i: total[i] + scores[i] for i in total.keys() & scores.keys()}
            )
            if not total:
                return {}
        return total or {}

    def _any_of(
        self, conn: sqlite3.Connection, schema: IndexSchema, concepts: Sequence[Concept]
    ) -> dict[int, float]:
        """Documents matching at least one concept, with the sum of the concept scores."""
        total: dict[int, float] = {}
        for concept in concepts:
            for doc_id, score in self._concept_scores(conn, schema, concept).items():
                total[doc_id] = total.get(doc_id, 0.0) + score
        return total

    @staticmethod
    def _load_scores(conn: sqlite3.Connection, scores: dict[int, float]) -> None:
        conn.execute("DELETE FROM temp.hits")
        conn.executemany("INSERT INTO temp.hits (id, score) VALUES (?, ?)", scores.items())

    # -- SQL building --------------------------------------------------------------------

    @staticmethod
    def _filter_clause(schema: IndexSchema, f: Filter) -> tuple[str, list[Any]]:
        if f.field in schema.list_fields:
            norms = [synonyms.normalize(str(v)) for v in f.values]
            marks = ", ".join("?" * len(norms))
            return (
                f"d.id IN (SELECT doc_id FROM {schema.kind}_values"  # noqa: S608
                f" WHERE field = ? AND norm IN ({marks}))",
                [f.field, *norms],
            )
        column = f'd."{f.field}"'
        if f.values:
            return f"{column} IN ({', '.join('?' * len(f.values))})", list(f.values)
        parts: list[str] = []
        params: list[Any] = []
        if f.gte is not None:
            parts.append(f"{column} >= ?")
            params.append(f.gte)
        if f.lte is not None:
            parts.append(f"{column} <= ?")
            params.append(f.lte)
        return " AND ".join(parts), params

    def _where(
        self,
        schema: IndexSchema,
        filters: Iterable[Filter],
        extra: Sequence[tuple[str, list[Any]]] = (),
    ) -> tuple[str, list[Any]]:
        clauses = [self._filter_clause(schema, f) for f in filters]
        clauses.extend(extra)
        if not clauses:
            return "", []
        sql = " WHERE " + " AND ".join(f"({c})" for c, _ in clauses)
        return sql, [p for _, params in clauses for p in params]

    @staticmethod
    def _order(schema: IndexSchema, sort: Sequence[tuple[str, str]], scored: bool) -> str:
        parts: list[str] = []
        named = {name for name, _ in sort}

        def add(name: str, direction: str) -> None:
            parts.append(f'(d."{name}" IS NULL), d."{name}" {direction.upper()}')

        for name, direction in sort:
            add(name, direction)
        if scored:
            parts.append("h.score DESC")
        for name, direction in schema.default_order:
            if name not in named:
                add(name, direction)
        if "id" not in named and all(n != "id" for n, _ in schema.default_order):
            parts.append("d.id ASC")
        return ", ".join(parts)

    def _facet(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        field: str,
        base: str,
        params: list[Any],
    ) -> dict[str, int]:
        if field in schema.list_fields:
            rows = conn.execute(
                f"SELECT min(v.value), count(DISTINCT v.doc_id) AS n FROM {schema.kind}_values v"  # noqa: S608
                f" WHERE v.field = ? AND v.doc_id IN (SELECT d.id {base})"
                " GROUP BY v.norm ORDER BY n DESC, min(v.value) LIMIT ?",
                [field, *params, MAX_FACET_VALUES],
            ).fetchall()
        else:
            rows = conn.execute(
                f'SELECT x.v, count(*) AS n FROM (SELECT d."{field}" AS v {base}) x'  # noqa: S608
                " WHERE x.v IS NOT NULL GROUP BY x.v ORDER BY n DESC, x.v LIMIT ?",
                [*params, MAX_FACET_VALUES],
            ).fetchall()
        return {str(value): int(count) for value, count in rows}

    # -- search --------------------------------------------------------------------------

    def _search(self, schema: IndexSchema, query: SearchQuery) -> SearchResult:
        vq: ValidQuery = validate_query(schema, query)
        concepts = parse_query(vq.q) if vq.q else []
        terms = [t for c in concepts for t in c.alternatives]
        with self._read() as conn:
            scored = bool(concepts)
            if scored:
                self._load_scores(conn, self._all_of(conn, schema, concepts))
            join = " JOIN temp.hits h ON h.id = d.id" if scored else ""
            where, params = self._where(schema, vq.filters)
            base = f"FROM {schema.kind}_docs d{join}{where}"
            total = int(conn.execute(f"SELECT count(*) {base}", params).fetchone()[0])
            rows = conn.execute(
                f"SELECT d.id, d.doc, {'h.score' if scored else '0.0'} {base}"
                f" ORDER BY {self._order(schema, vq.sort, scored)} LIMIT ? OFFSET ?",
                [*params, vq.page_size, vq.offset],
            ).fetchall()
            facets = {f: self._facet(conn, schema, f, base, params) for f in vq.facets}
        hits = []
        for doc_id, blob, score in rows:
            highlights: dict[str, str] = {}
            if terms:
                record = schema.to_record(msgspec.json.decode(blob, type=schema.doc_type))
                for name in schema.highlight_fields:
                    marked = highlight_value(
                        record.get(name), terms, crop=name in schema.crop_fields
                    )
                    if marked is not None:
                        highlights[name] = marked
            hits.append(
                SearchHit(id=int(doc_id), score=round(float(score), 6), highlights=highlights)
            )
        return SearchResult(
            hits=hits, total=total, facets=facets, page=vq.page, page_size=vq.page_size
        )

    def search_tasks(self, query: SearchQuery) -> SearchResult:
        return self._search(TASKS, query)

    def search_solvers(self, query: SearchQuery) -> SearchResult:
        return self._search(SOLVERS, query)

    # -- match ---------------------------------------------------------------------------

    def _candidates(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        profile: matching.Profile,
        filters: Sequence[Filter],
        industry: Filter,
        exclude: frozenset[int],
    ) -> list[Any]:
        """Up to CANDIDATES_PER_SOURCE documents from each source: shared skills, profile
        text, industry; restricted by `filters` and `exclude`."""
        extra: list[tuple[str, list[Any]]] = []
        if exclude:
            extra.append(
                (
                    "d.id NOT IN (SELECT value FROM json_each(?))",
                    [msgspec.json.encode(sorted(exclude)).decode()],
                )
            )
        cap = matching.CANDIDATES_PER_SOURCE
        default = self._order(schema, (), scored=False)
        blobs: dict[int, bytes] = {}

        def fetch(sql_filters: Sequence[Filter], join: str, order: str) -> None:
            where, params = self._where(schema, sql_filters, extra)
            for doc_id, blob in conn.execute(
                f"SELECT d.id, d.doc FROM {schema.kind}_docs d{join}{where}"  # noqa: S608
                f" ORDER BY {order} LIMIT ?",
                [*params, cap],
            ):
                blobs.setdefault(int(doc_id), blob)

        variants = profile.skill_variants
        if variants:
            fetch([*filters, Filter.any_of("skills", variants)], "", default)
        if profile.concepts:
            self._load_scores(conn, self._any_of(conn, schema, profile.concepts))
            fetch(filters, " JOIN temp.hits h ON h.id = d.id", "h.score DESC, " + default)
        if industry.values:
            fetch([*filters, industry], "", default)
        return [msgspec.json.decode(blob, type=schema.doc_type) for blob in blobs.values()]

    def match_tasks_for_solver(
        self, solver: SolverDocument, exclude_task_ids: Iterable[int] = (), limit: int = 20
    ) -> list[MatchHit]:
        limit = validate_limit(limit)
        exclude = frozenset(int(i) for i in exclude_task_ids)
        profile = matching.solver_profile(solver)
        with self._read() as conn:
            docs = self._candidates(
                conn,
                TASKS,
                profile,
                [Filter.eq("status", matching.OPEN_STATUS)],
                Filter.any_of("industry", profile.industries),
                exclude,
            )
        return matching.tasks_for_solver(solver, profile, docs, exclude, limit)

    def match_solvers_for_task(self, task: TaskDocument, limit: int = 20) -> list[MatchHit]:
        limit = validate_limit(limit)
        profile = matching.task_profile(task)
        with self._read() as conn:
            docs = self._candidates(
                conn, SOLVERS, profile, [], Filter.any_of("fields", [task.industry]), frozenset()
            )
        return matching.solvers_for_task(task, profile, docs, limit)
