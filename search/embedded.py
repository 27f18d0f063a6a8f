"""The embedded search engine: SQLite FTS5 in its own database file (stdlib `sqlite3`).

Per document kind (``tasks``, ``solvers``) it keeps:

- ``<kind>_docs``: one column per filterable / sortable scalar field (a narrow table, so
  filters, sorts and facets scan little), with an index per column;
- ``<kind>_blobs``: the document itself (msgspec JSON), read only for the page shown,
  and its texts as matching tests them (`matching.MatchText`, built once at indexing);
- ``<kind>_values``: one row per distinct normalized value of a multi-valued field
  (skills, fields, languages), for filters and facets;
- ``<kind>_fcube``: facet value counts per combination of a few keyword fields
  (`CUBE_FIELDS`), kept on every write, so a placeholder search filtered on those fields
  counts its facets over a few hundred cells instead of every matching document;
- ``<kind>_postings``: per value of a keyword facet or list field, the ids of its
  documents as a roaring bitmap (`search.postings`);
- three FTS5 tables over the same weighted columns (title, skills, summary, extra, body):
  ``<kind>_tri`` with the ``trigram`` tokenizer (Chinese substrings of 3+ characters),
  ``<kind>_gram`` with Chinese unigrams and bigrams as tokens (1- and 2-character
  Chinese queries, which trigram cannot match) and ``<kind>_en`` with
  ``porter unicode61`` over the Latin words only (English word matching with stemming).

A query is parsed into ANDed concepts with ORed synonym alternatives (`search.text`).
The result set is computed as bitmaps: each alternative's matches read from the right FTS
table, ORed per concept, ANDed across concepts and with the filters' postings; the total
and the facets are counts over it. Scores are BM25 with the column weights of
`search.schema`, plus `SKILL_BONUS` for a concept found among the document's skills (an
exact skill match ranks above a passing mention), computed in SQL (one statement, the
page's ORDER BY included) only for the documents that can reach the requested page (see
`_scored_search`); a term with more than RANK_CAP hits is BM25-ranked within a bounded set
(its newest title/skills matches), the others still counted. Only the page's documents are
decoded and highlighted. A search without text filters, counts and sorts in SQL over the
docs table (facets from the cube when it can).

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
from pyroaring import BitMap

from search import matching, postings, synonyms
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

SCHEMA_VERSION = 4
# Facet counts are kept per combination of these keyword fields (a small "cube"), so a
# placeholder search filtered only on them counts facets without touching the documents.
CUBE_FIELDS: dict[DocumentKind, tuple[str, ...]] = {
    "tasks": ("status", "industry", "district"),
    "solvers": ("district",),
}
_NO_VALUE = "\x00"  # a cube coordinate for NULL (never a filter value: NULLs never match)
SKILL_BONUS = 1.0
MAX_DOC_ID = 2**32 - 1
MAX_FACET_VALUES = 100
REBUILD_BATCH = 500
RANK_CAP = 500
"""A search term matching more documents (after the filters) is ranked by BM25 only
within its newest RANK_CAP matches in the two heaviest columns (title, skills) and its
newest RANK_CAP // 4 matches anywhere; its other matches still count (total, facets) and
come after them, newest first. BM25 costs ~4 µs per row: exact ranking of a word found
in 45k tasks took ~200 ms. Results matching fewer documents are ranked exactly."""
WALK_MIN = 2000
"""A text search result of up to this many documents is scored whole; a larger one only
for the documents that can reach the requested page (see `_scored_search`)."""
FILTER_PER_HIT_MAX = 20_000  # hits checked one by one against a range filter, at most
WALK_BUDGET = 5_000  # rows of a sort index walked for a page before scoring all instead
MATCH_TERM_CAP = 100  # matching ranks each profile term among its newest matches only
MATCH_SKILL_CAP = 400  # ... and looks at the newest documents carrying each skill spelling
_FTS_SUFFIXES = ("tri", "en", "gram")
CACHE_KIB = 65_536  # page cache per connection (SQLite's default is 2 MiB)
MMAP_BYTES = 1 << 30  # read the file through the OS page cache, without copies
_TOKENIZERS = {
    "tri": "trigram",
    "en": "porter unicode61 remove_diacritics 2",
    "gram": "unicode61 remove_diacritics 2",
}


def _nullable(annotation: Any) -> bool:
    return isinstance(annotation, types.UnionType) and type(None) in typing.get_args(annotation)


def _affinity(annotation: Any) -> str:
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if str in args:
        return "TEXT"
    if float in args:
        return "REAL"
    return "INTEGER"


def _without_plural_s(word: str) -> str:
    """The word as FTS5's porter stemmer's first step leaves it when that step only drops
    a final "s" (not "ss", "sses" or "ies"), so "industrial robot" and "industrial robots"
    (both in a synonym group) are one FTS query, looked up and scored once. The stemmer
    takes tokens of 3 to 64 bytes (longer ones are left as they are, the query's too):
    the word keeps 4 to 64 characters (ASCII letters and digits), what remains 3+."""
    if 4 <= len(word) <= 64 and word.endswith("s") and word[-2] not in "se":
        return word[:-1]
    return word


def _quoted(phrase: str) -> str:
    """An FTS5 string literal: the text is matched as a phrase, never parsed as syntax."""
    return '"' + phrase.replace('"', '""') + '"'


class _Row(msgspec.Struct):
    """A document prepared for writing (computed outside any lock or transaction)."""

    id: int
    blob: bytes
    mtext: bytes
    scalars: list[Any]
    values: list[tuple[str, str, str]]
    texts: dict[str, list[str]]
    cube: list[tuple[Any, ...]]
    """(*cell, field, norm, value): one per facet value of the document."""
    postings: list[postings.Key]
    """(field, norm, value): the postings (`search.postings`) the document belongs to."""


class _Statements:
    """SQL text of one document kind, built once (identifiers come from `search.schema`)."""

    def __init__(self, schema: IndexSchema) -> None:
        k = schema.kind
        hints = typing.get_type_hints(schema.doc_type)
        self.nullable = frozenset(c for c in schema.scalar_columns if _nullable(hints[c]))
        names = "".join(f', "{c}"' for c in schema.scalar_columns)
        marks = ", ?" * len(schema.scalar_columns)
        self.insert_doc = f"INSERT INTO {k}_docs (id{names}) VALUES (?{marks})"  # noqa: S608
        self.insert_blob = f"INSERT INTO {k}_blobs (id, doc, mtext) VALUES (?, ?, ?)"  # noqa: S608
        self.insert_values = (
            f"INSERT INTO {k}_values (doc_id, field, value, norm) VALUES (?, ?, ?, ?)"  # noqa: S608
        )
        columns = ", ".join(c.name for c in schema.text_columns)
        text_marks = ", ?" * len(schema.text_columns)
        self.insert_fts = {
            s: f"INSERT INTO {k}_{s} (rowid, {columns}) VALUES (?{text_marks})"  # noqa: S608
            for s in _FTS_SUFFIXES
        }
        self.weights = ", ".join(repr(c.weight) for c in schema.text_columns)
        self.keyword_facets = frozenset(schema.facet_fields - schema.list_fields)
        # Fields with postings: filters on them and their facets are set operations.
        self.posted = self.keyword_facets | schema.list_fields
        self.cube = CUBE_FIELDS[k]
        dims = ", ".join(f'"{c}"' for c in self.cube)
        cube_marks = ", ".join("?" * len(self.cube))
        self.cube_add = (
            f"INSERT INTO {k}_fcube ({dims}, field, norm, value, n)"  # noqa: S608
            f" VALUES ({cube_marks}, ?, ?, ?, 1)"
            f" ON CONFLICT DO UPDATE SET n = n + 1"
        )
        self.cube_sub = (
            f"UPDATE {k}_fcube SET n = n - 1 WHERE"  # noqa: S608
            + "".join(f' "{c}" = ? AND' for c in self.cube)
            + " field = ? AND norm = ? AND value = ?"
        )
        self.cube_dims = dims


_STATEMENTS = {kind: _Statements(schema) for kind, schema in SCHEMAS.items()}


class _StoredMatchTexts:
    """`matching.StoredTexts` from a kind's blobs, each read when first asked for (inside
    the caller's read transaction, on its connection)."""

    def __init__(self, conn: sqlite3.Connection, kind: str) -> None:
        self._conn = conn
        self._sql = f"SELECT mtext FROM {kind}_blobs WHERE id = ?"  # noqa: S608
        self._read: dict[int, matching.MatchText | None] = {}

    def get(self, doc_id: int) -> matching.MatchText | None:
        if doc_id not in self._read:
            row = self._conn.execute(self._sql, (doc_id,)).fetchone()
            self._read[doc_id] = None if row is None else matching.MatchText.decode(row[0])
        return self._read[doc_id]


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
        self._writes = 0
        self._caches: dict[int, postings.Cache] = {}  # per connection (id)
        self._shared = self._open() if self._memory else None
        with self._write() as conn:
            self._ensure_schema(conn)

    # -- connections ---------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,  # the query shapes repeat; keep them prepared
            )
            if not self._memory:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            conn.execute("PRAGMA temp_store=MEMORY")
            # Matching's candidates (`_load_any_of`), read best first through the index.
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, score REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS temp.hits_score ON hits (score)")
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

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # This process's connections cache postings: a write of ours outdates them (other
        # processes' writes show in PRAGMA data_version). Counted before COMMIT too, while
        # the connection is held: a ':memory:' reader, which shares it, takes the lock
        # only after, and cannot cache the old postings under the new count.
        try:
            with self._transaction("BEGIN IMMEDIATE") as conn:
                yield conn
                self._writes += 1
        finally:
            self._writes += 1

    def _postings_stamp(self, conn: sqlite3.Connection) -> tuple[int, int]:
        return int(conn.execute("PRAGMA data_version").fetchone()[0]), self._writes

    def _posting_cache(self, conn: sqlite3.Connection) -> postings.Cache:
        cache = self._caches.get(id(conn))
        if cache is None:
            cache = self._caches.setdefault(id(conn), postings.Cache())
        return cache

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
    def _table_ddl(schema: IndexSchema) -> list[str]:
        k = schema.kind
        hints = typing.get_type_hints(schema.doc_type)
        scalar = "".join(f', "{c}" {_affinity(hints[c])}' for c in schema.scalar_columns)
        columns = ", ".join(c.name for c in schema.text_columns)
        statements = [
            f"CREATE TABLE IF NOT EXISTS {k}_docs (id INTEGER PRIMARY KEY{scalar})",
            # mtext: the texts as matching reads them (`matching.MatchText`), built once here.
            f"CREATE TABLE IF NOT EXISTS {k}_blobs (id INTEGER PRIMARY KEY, doc BLOB NOT NULL,"
            " mtext BLOB NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {k}_values (doc_id INTEGER NOT NULL, field TEXT NOT NULL,"
            " value TEXT NOT NULL, norm TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {k}_fcube ("
            + "".join(f'"{c}" TEXT NOT NULL, ' for c in CUBE_FIELDS[k])
            + "field TEXT NOT NULL, norm TEXT NOT NULL, value NOT NULL, n INTEGER NOT NULL,"
            f" PRIMARY KEY ({', '.join(chr(34) + c + chr(34) for c in CUBE_FIELDS[k])},"
            " field, norm, value)) WITHOUT ROWID",
            postings.ddl(k),
        ]
        statements += [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {k}_{s}"
            f" USING fts5({columns}, tokenize='{_TOKENIZERS[s]}')"
            for s in _FTS_SUFFIXES
        ]
        return statements

    @staticmethod
    def _index_ddl(schema: IndexSchema) -> list[str]:
        """Secondary indexes (a rebuild creates them after the bulk load: faster)."""
        k = schema.kind
        # Both covering: filters and the skill bonus look up (field, norm); facets and
        # deletes go by document.
        statements = [
            f"CREATE INDEX IF NOT EXISTS {k}_values_lookup ON {k}_values (field, norm, doc_id)",
            f"CREATE INDEX IF NOT EXISTS {k}_values_doc ON {k}_values (doc_id, field, norm, value)",
        ]
        statements += [
            f'CREATE INDEX IF NOT EXISTS {k}_docs_{c} ON {k}_docs ("{c}")'
            for c in schema.scalar_columns
        ]
        return statements

    @staticmethod
    def _tables(schema: IndexSchema) -> list[str]:
        k = schema.kind
        return [
            f"{k}_docs",
            f"{k}_blobs",
            f"{k}_values",
            f"{k}_fcube",
            f"{k}_postings",
            *(f"{k}_{s}" for s in _FTS_SUFFIXES),
        ]

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
                for statement in self._table_ddl(schema) + self._index_ddl(schema):
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
        if not 0 <= doc.id <= MAX_DOC_ID:
            # The postings are 32-bit roaring bitmaps (database ids start at 1).
            raise ValueError(f"document id {doc.id} is outside 0..{MAX_DOC_ID}")
        record = schema.to_record(doc)
        # One row per (field, normalized value): filters and facets count documents, and a
        # facet shows the smallest spelling of a value (what min() over all spellings gave).
        distinct: dict[tuple[str, str], str] = {}
        for name in sorted(schema.list_fields):
            for value in record.get(name) or []:
                text = str(value)
                key = (name, synonyms.normalize(text))
                if key not in distinct or text < distinct[key]:
                    distinct[key] = text
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
        cell = tuple(
            _NO_VALUE if record.get(c) is None else str(record[c]) for c in CUBE_FIELDS[schema.kind]
        )
        cube = [
            (*cell, name, record[name], record[name])
            for name in sorted(_STATEMENTS[schema.kind].keyword_facets)
            if record.get(name) is not None
        ]
        cube += [
            (*cell, name, norm, value)
            for (name, norm), value in distinct.items()
            if name in schema.facet_fields
        ]
        keyword = [
            (name, str(record[name]), str(record[name]))
            for name in sorted(_STATEMENTS[schema.kind].keyword_facets)
            if record.get(name) is not None
        ]
        return _Row(
            id=doc.id,
            blob=msgspec.json.encode(doc),
            mtext=matching.MatchText.of(doc, matching.TEXT_FIELDS[schema.kind]).encode(),
            scalars=[record.get(c) for c in schema.scalar_columns],
            values=[(name, value, norm) for (name, norm), value in distinct.items()],
            texts=texts,
            cube=cube,
            postings=[*keyword, *((name, norm, value) for (name, norm), value in distinct.items())],
        )

    @staticmethod
    def _delete_rows(
        conn: sqlite3.Connection, schema: IndexSchema, doc_id: int, changes: postings.Changes
    ) -> None:
        k = schema.kind
        st = _STATEMENTS[k]
        # Take the stored document's facet values out of the cube (its stored state, which
        # may differ from the document being written).
        dims = ", ".join(f'coalesce(d."{c}", ?)' for c in st.cube)
        keyword = sorted(st.keyword_facets)
        old = conn.execute(
            f"SELECT {dims}{''.join(f', d.{chr(34)}{f}{chr(34)}' for f in keyword)}"  # noqa: S608
            f" FROM {k}_docs d WHERE d.id = ?",
            [*([_NO_VALUE] * len(st.cube)), doc_id],
        ).fetchone()
        if old is not None:
            cell = tuple(str(v) for v in old[: len(st.cube)])
            # Its keyword facet values and its list values: (field, norm, value) each.
            keys: list[postings.Key] = [
                (name, value, value)
                for name, value in zip(keyword, old[len(st.cube) :], strict=True)
                if value is not None
            ]
            keys += conn.execute(
                f"SELECT field, norm, value FROM {k}_values WHERE doc_id = ?",  # noqa: S608
                (doc_id,),
            ).fetchall()
            conn.executemany(
                st.cube_sub, [(*cell, *key) for key in keys if key[0] in schema.facet_fields]
            )
            changes.remove(doc_id, keys)
        conn.execute(f"DELETE FROM {k}_docs WHERE id = ?", (doc_id,))  # noqa: S608
        conn.execute(f"DELETE FROM {k}_blobs WHERE id = ?", (doc_id,))  # noqa: S608
        conn.execute(f"DELETE FROM {k}_values WHERE doc_id = ?", (doc_id,))  # noqa: S608
        for s in _FTS_SUFFIXES:
            conn.execute(f"DELETE FROM {k}_{s} WHERE rowid = ?", (doc_id,))  # noqa: S608

    @staticmethod
    def _insert_rows(
        conn: sqlite3.Connection,
        schema: IndexSchema,
        rows: Sequence[_Row],
        changes: postings.Changes,
    ) -> None:
        """Insert prepared rows, one `executemany` per table (fewer round trips); their
        postings go into `changes` (written once per transaction)."""
        st = _STATEMENTS[schema.kind]
        for r in rows:
            changes.add(r.id, r.postings)
        conn.executemany(st.insert_doc, [(r.id, *r.scalars) for r in rows])
        conn.executemany(st.insert_blob, [(r.id, r.blob, r.mtext) for r in rows])
        conn.executemany(st.insert_values, [(r.id, *v) for r in rows for v in r.values])
        for s in _FTS_SUFFIXES:
            conn.executemany(st.insert_fts[s], [(r.id, *r.texts[s]) for r in rows])
        conn.executemany(st.cube_add, [e for r in rows for e in r.cube])

    def _upsert(self, schema: IndexSchema, docs: Sequence[Document]) -> None:
        rows = list({row.id: row for row in (self._prepare(schema, doc) for doc in docs)}.values())
        if not rows:
            return
        changes = postings.Changes()
        with self._write() as conn:
            for row in rows:
                self._delete_rows(conn, schema, row.id, changes)
            self._insert_rows(conn, schema, rows, changes)
            changes.write(conn, schema.kind)

    def _delete(self, schema: IndexSchema, doc_id: int) -> None:
        changes = postings.Changes()
        with self._write() as conn:
            self._delete_rows(conn, schema, int(doc_id), changes)
            changes.write(conn, schema.kind)

    def upsert_tasks(self, docs: Sequence[TaskDocument]) -> None:
        self._upsert(TASKS, docs)

    def delete_task(self, task_id: int) -> None:
        self._delete(TASKS, task_id)

    def upsert_solvers(self, docs: Sequence[SolverDocument]) -> None:
        self._upsert(SOLVERS, docs)

    def delete_solver(self, solver_id: int) -> None:
        self._delete(SOLVERS, solver_id)

    def _recreate(self, conn: sqlite3.Connection, *, indexes: bool) -> None:
        """Drop and recreate every table: much faster than DELETE on FTS5 tables, and
        transactional like any DDL in SQLite (readers keep the old tables until COMMIT)."""
        for schema in SCHEMAS.values():
            for table in self._tables(schema):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in self._table_ddl(schema):
                conn.execute(statement)
            if indexes:
                for statement in self._index_ddl(schema):
                    conn.execute(statement)

    def clear(self) -> None:
        with self._write() as conn:
            self._recreate(conn, indexes=True)

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
            self._recreate(conn, indexes=False)
            for schema, docs in sources:
                batch: list[_Row] = []
                changes = postings.Changes()
                for doc in docs:
                    batch.append(self._prepare(schema, doc))
                    if len(batch) == REBUILD_BATCH:
                        self._insert_rows(conn, schema, batch, changes)
                        counts[schema.kind] += len(batch)
                        batch.clear()
                        if progress is not None:
                            progress(schema.kind, counts[schema.kind])
                if batch:
                    self._insert_rows(conn, schema, batch, changes)
                    counts[schema.kind] += len(batch)
                    if progress is not None:
                        progress(schema.kind, counts[schema.kind])
                changes.write(conn, schema.kind)
                for statement in self._index_ddl(schema):
                    conn.execute(statement)
                for s in _FTS_SUFFIXES:
                    table = f"{schema.kind}_{s}"
                    conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")  # noqa: S608
            # Statistics for the query planner (which index serves a filter or a sort).
            conn.execute("ANALYZE")
        return RebuildStats(tasks=counts["tasks"], solvers=counts["solvers"])

    # -- text scoring (SQL) --------------------------------------------------------------

    @staticmethod
    def _source(schema: IndexSchema, term: Term) -> tuple[str, str] | None:
        """(FTS table, MATCH expression) of a term: trigrams for 3+ Chinese characters,
        unigrams/bigrams for 1-2, stemmed words for English."""
        if term.empty:
            return None
        if term.cjk:
            suffix = "tri" if len(term.text) >= 3 else "gram"
            return f"{schema.kind}_{suffix}", _quoted(term.text)
        return f"{schema.kind}_en", _quoted(" ".join(_without_plural_s(w) for w in term.words))

    @staticmethod
    def _branch(kind: str, table: str, score: str, where: str) -> str:
        """``SELECT id, s`` of one FTS table's MATCH (one parameter) under `where`."""
        # The docs join is there for the filters only: BM25 (a result column) is then
        # evaluated for the rows that pass them, not for every match. CROSS JOIN keeps the
        # FTS table as the outer loop (otherwise SQLite may run the whole MATCH once per
        # document passing an indexed filter).
        join = f" CROSS JOIN {kind}_docs d ON d.id = {table}.rowid" if "d." in where else ""
        cond = f" AND {where.replace('{fts}', table)}" if where else ""
        return (
            f"SELECT {table}.rowid AS id, {score} AS s"  # noqa: S608
            f" FROM {table}{join} WHERE {table} MATCH ?{cond}"
        )

    def _concept_sql(
        self,
        schema: IndexSchema,
        concept: Concept,
        where: str,
        params: list[Any],
        newest: int,
    ) -> tuple[str, list[Any]] | None:
        """``SELECT DISTINCT id, 1.0 AS s``: the documents among each alternative's `newest`
        highest-id matches under `where` (FTS5 walks rowids downwards and stops), one point
        per concept (candidate retrieval: matching scores the candidates itself)."""
        branches: list[str] = []
        branch_params: list[Any] = []
        for term in concept.alternatives:
            source = self._source(schema, term)
            if source is None:
                continue
            table, expression = source
            branch = self._branch(schema.kind, table, "1.0", where)
            branches.append(
                f"SELECT * FROM ({branch} ORDER BY {table}.rowid DESC LIMIT {newest})"  # noqa: S608
            )
            branch_params += [expression, *params]
        if not branches:
            return None
        union = " UNION ALL ".join(branches)
        return f"SELECT DISTINCT id, 1.0 AS s FROM ({union})", branch_params  # noqa: S608

    # -- text search: postings for the result set, SQL for the scores -----------------------

    @staticmethod
    def _ids(conn: sqlite3.Connection, column: str, source: str, params: Sequence[Any]) -> BitMap:
        """``SELECT column source``'s ids as a bitmap (read as one JSON array: a row per id
        into Python costs several times more)."""
        (found,) = conn.execute(
            f"SELECT json_group_array({column}) {source}",
            list(params),
        ).fetchone()
        return BitMap(msgspec.json.decode(found))

    def _filtered(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        filters: Sequence[Filter],
        hits: BitMap,
        stamp: tuple[int, int],
    ) -> BitMap:
        """`hits` passing every filter. Equality on a posted field intersects with a union
        of postings; the other filters (ranges, unposted fields) are then checked in SQL,
        on the remaining hits when they are few (a look-up each), else by reading the
        documents that pass them from the docs table."""
        st = _STATEMENTS[schema.kind]
        rest: list[Filter] = []
        for f in filters:
            if f.values and f.field in st.posted:
                groups = self._posting_cache(conn).field(conn, schema.kind, f.field, stamp)
                normalize = synonyms.normalize if f.field in schema.list_fields else str
                keys = {normalize(str(v)) for v in f.values}
                hits = hits & BitMap().union(*(groups[key].ids for key in keys if key in groups))
            else:
                rest.append(f)
        if not rest or not hits:
            return hits
        where, params = self._conditions(schema, rest)
        k = schema.kind
        if len(hits) <= FILTER_PER_HIT_MAX:
            return self._ids(
                conn,
                "d.id",
                f"FROM json_each(?) j CROSS JOIN {k}_docs d ON d.id = j.value WHERE {where}",
                [self._json(hits), *params],
            )
        return hits & self._ids(conn, "d.id", f"FROM {k}_docs d WHERE {where}", params)

    def _posting_facets(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        fields: Sequence[str],
        hits: BitMap,
        stamp: tuple[int, int],
    ) -> dict[str, dict[str, int]]:
        """Facet counts over `hits`: one intersection count per value; ordered as `_facets`
        orders them (most frequent first, ties by the value shown)."""
        out: dict[str, dict[str, int]] = {}
        for name in fields:
            groups = self._posting_cache(conn).field(conn, schema.kind, name, stamp)
            counted = [
                (-n, group.shown_spelling(hits))
                for group in groups.values()
                if (n := hits.intersection_cardinality(group.ids))
            ]
            counted.sort()
            out[name] = {value: -neg for neg, value in counted[:MAX_FACET_VALUES]}
        return out

    def _rank_sets(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        matches: dict[tuple[str, str], BitMap],
        hits: BitMap,
    ) -> dict[tuple[str, str], BitMap]:
        """Per alternative matching more than RANK_CAP of the hits (a capped one), the hits
        BM25 ranks for it: its newest RANK_CAP matches in the two heaviest columns and its
        newest RANK_CAP // 4 matches anywhere (its other hits score 0 for it)."""
        heaviest = sorted(schema.text_columns, key=lambda c: -c.weight)[:2]
        focus = "{" + " ".join(c.name for c in heaviest) + "} : "
        ranked: dict[tuple[str, str], BitMap] = {}
        for source, ids in matches.items():
            inside = ids & hits
            if len(inside) <= RANK_CAP:
                continue
            table, expression = source
            chosen = inside[-max(1, RANK_CAP // 4) :]
            # FTS5 walks rowids downwards; we stop at the cap.
            cursor = conn.execute(
                f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC",  # noqa: S608
                (focus + expression,),
            )
            found = 0
            for (doc_id,) in cursor:
                if doc_id in inside:
                    chosen.add(doc_id)
                    found += 1
                    if found == RANK_CAP:
                        break
            cursor.close()
            ranked[source] = chosen
        return ranked

    def _walk(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        sort: Sequence[tuple[str, str]],
        among: BitMap,
        needed: int,
    ) -> BitMap:
        """The first `needed` documents of `among` in `sort` order (by the default order
        when `sort` is empty), with every document tied with the last one on the sort keys
        (their order among themselves is left to the page query): a walk down the sort
        column's index, or, when that gets long (`among` sparse in that order) or the order
        cannot come from an index (a nullable key sorts NULLs last), `among` sorted."""
        keys = [name for name, _ in sort]
        columns = "".join(f', d."{name}"' for name in keys)
        k = schema.kind
        nullable = any(name in _STATEMENTS[k].nullable for name in keys)
        if not nullable:
            order = (
                ", ".join(f'd."{name}" {direction.upper()}' for name, direction in sort)
                if sort
                else self._order(schema, (), scored=False)
            )
            walked = self._first_in_order(
                conn.execute(f"SELECT d.id{columns} FROM {k}_docs d ORDER BY {order}"),  # noqa: S608
                among,
                needed,
                bool(keys),
                WALK_BUDGET,
            )
            if walked is not None:
                return walked
        # `among` is sparse at the head of that order: sort it, a look-up per document.
        sorted_among = conn.execute(
            f"SELECT d.id{columns} FROM json_each(?) j CROSS JOIN {k}_docs d"  # noqa: S608
            f" ON d.id = j.value ORDER BY {self._order(schema, sort, scored=False)}",
            (self._json(among),),
        )
        found = self._first_in_order(sorted_among, among, needed, bool(keys), None)
        assert found is not None  # no budget: the whole of `among` is read at most
        return found

    @staticmethod
    def _first_in_order(
        cursor: sqlite3.Cursor, among: BitMap, needed: int, tied: bool, budget: int | None
    ) -> BitMap | None:
        """The first `needed` ids of `among` from rows (id, *sort keys) in order, plus those
        tied with the last on the keys (when `tied`); None after `budget` rows."""
        out = BitMap()
        last: tuple[Any, ...] | None = None
        try:
            for n, row in enumerate(cursor):
                if n == budget:
                    return None
                if row[0] not in among:
                    continue
                if len(out) >= needed and (not tied or row[1:] != last):
                    break
                out.add(row[0])
                last = row[1:]
            return out
        finally:
            cursor.close()

    @staticmethod
    def _json(ids: BitMap) -> str:
        return msgspec.json.encode(list(ids)).decode()

    def _scored_page(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        vq: ValidQuery,
        concepts: Sequence[Concept],
        matches: dict[tuple[str, str], BitMap],
        ranked: dict[tuple[str, str], BitMap],
        chosen: BitMap,
        stamp: tuple[int, int],
    ) -> list[tuple[int, float]]:
        """The page among the `chosen` documents (all in the result), in one statement.

        A document's score is the sum over the concepts (in concept order, as floating
        point sums go) of its best alternative's BM25 plus the skill bonus. BM25 is read
        only where it is not 0: a capped alternative's FTS scan is limited to its ranked
        documents, an uncapped one's to its chosen matches, each between the lowest and
        highest of them (FTS5 seeks to a rowid bound); a document no branch scores gets 0
        for the concept (every chosen document matches every concept). The sets go in as
        JSON arrays (nothing is written)."""
        k = schema.kind
        weights = _STATEMENTS[k].weights
        skills = self._posting_cache(conn).field(conn, k, "skills", stamp)
        ctes = ["chosen(id) AS MATERIALIZED (SELECT value FROM json_each(?))"]
        params: list[Any] = [self._json(chosen)]
        terms: list[str] = []
        joins: list[str] = []
        for i, concept in enumerate(concepts):
            branches: list[str] = []
            branch_params: list[Any] = []
            seen: set[tuple[str, str]] = set()
            bonus = BitMap()
            for term in concept.alternatives:
                group = skills.get(term.text)
                if group is not None:
                    bonus |= group.ids & chosen
                source = self._source(schema, term)
                if source is None or source in seen:
                    continue
                seen.add(source)
                table, expression = source
                scored = (ranked[source] if source in ranked else matches[source]) & chosen
                if not scored:
                    continue
                branches.append(
                    f"SELECT {table}.rowid AS id, -bm25({table}, {weights}) AS s"  # noqa: S608
                    f" FROM {table} WHERE {table} MATCH ?"
                    f" AND +{table}.rowid IN (SELECT value FROM json_each(?))"
                    f" AND {table}.rowid BETWEEN ? AND ?"
                )
                branch_params += [expression, self._json(scored), scored.min(), scored.max()]
            term = "0.0"
            if branches:
                ctes.append(
                    f"c{i} AS MATERIALIZED (SELECT id, max(s) AS s"  # noqa: S608
                    # LIMIT -1: not flattened into the aggregate (bm25() cannot run there).
                    f" FROM ({' UNION ALL '.join(branches)} LIMIT -1) GROUP BY id)"
                )
                params += branch_params
                joins.append(f" LEFT JOIN c{i} ON c{i}.id = x.id")
                term = f"coalesce(c{i}.s, 0.0)"
            if bonus:
                ctes.append(f"b{i}(id) AS MATERIALIZED (SELECT value FROM json_each(?))")  # noqa: S608
                params.append(self._json(bonus))
                term += f" + CASE WHEN x.id IN b{i} THEN {SKILL_BONUS!r} ELSE 0.0 END"
            terms.append(f"({term})")
        # h: every chosen document, its concept scores added in concept order.
        total = " + ".join(terms)
        ctes.append(f"h(id, score) AS (SELECT x.id, {total} FROM chosen x{''.join(joins)})")  # noqa: S608
        # Driven by the chosen few (CROSS JOIN), never by a walk of a docs index.
        return conn.execute(
            f"WITH {', '.join(ctes)} SELECT h.id, h.score FROM h"  # noqa: S608
            f" CROSS JOIN {k}_docs d ON d.id = h.id"
            f" ORDER BY {self._order(schema, vq.sort, True)} LIMIT ? OFFSET ?",
            [*params, vq.page_size, vq.offset],
        ).fetchall()

    def _chosen(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        vq: ValidQuery,
        concepts: Sequence[Concept],
        matches: dict[tuple[str, str], BitMap],
        ranked: dict[tuple[str, str], BitMap],
        hits: BitMap,
        stamp: tuple[int, int],
    ) -> BitMap:
        """The hits the requested page can come from (all of them when few).

        With an explicit sort: the first page's worth in that order, with their ties on
        the sort keys (the score only orders ties). By relevance: every hit a BM25 branch
        scores; the others score exactly their skill bonuses (one per concept), so within
        each bonus level only the first page's worth in the default order can reach it."""
        needed = vq.offset + vq.page_size
        if len(hits) <= WALK_MIN:
            return hits
        if vq.sort:
            return self._walk(conn, schema, vq.sort, hits, needed)
        scored = BitMap()
        for source, ids in matches.items():
            scored |= ranked[source] if source in ranked else ids & hits
        levels = [hits - scored]
        skills = self._posting_cache(conn).field(conn, schema.kind, "skills", stamp)
        for concept in concepts:
            carriers = BitMap().union(
                *(skills[t.text].ids for t in concept.alternatives if t.text in skills)
            )
            if carriers:
                levels = [
                    (levels[n] - carriers if n < len(levels) else BitMap())
                    | (levels[n - 1] & carriers if n > 0 else BitMap())
                    for n in range(len(levels) + 1)
                ]
        chosen = scored
        for level in levels:
            if len(level) <= max(needed, WALK_MIN // 2):
                chosen |= level
                continue
            chosen |= self._walk(conn, schema, (), level, needed)
        return chosen

    def _scored_search(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        vq: ValidQuery,
        concepts: Sequence[Concept],
    ) -> tuple[int, list[tuple[int, float]], dict[str, dict[str, int]]]:
        """(total, page of (id, score), facets) of a text search.

        The result set is computed as bitmaps: each alternative's matches (read from FTS5),
        ORed per concept, ANDed across concepts and with the filters' documents; the
        total and the facets are counts over it. Only the documents the page can come from
        (`_chosen`) are then scored, in SQL (`_scored_page`)."""
        stamp = self._postings_stamp(conn)
        matches: dict[tuple[str, str], BitMap] = {}
        hits: BitMap | None = None
        for concept in concepts:
            matched = BitMap()
            for term in concept.alternatives:
                source = self._source(schema, term)
                if source is None:
                    continue
                if source not in matches:
                    table, expression = source
                    matches[source] = self._ids(
                        conn, "rowid", f"FROM {table} WHERE {table} MATCH ?", [expression]
                    )
                matched |= matches[source]
            hits = matched if hits is None else hits & matched
        hits = hits if hits is not None else BitMap()
        hits = self._filtered(conn, schema, vq.filters, hits, stamp)
        total = len(hits)
        facets = self._posting_facets(conn, schema, vq.facets, hits, stamp) if vq.facets else {}
        if total <= vq.offset:
            return total, [], facets
        ranked = self._rank_sets(conn, schema, matches, hits)
        chosen = self._chosen(conn, schema, vq, concepts, matches, ranked, hits, stamp)
        page = self._scored_page(conn, schema, vq, concepts, matches, ranked, chosen, stamp)
        return total, page, facets

    def _load_any_of(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        concepts: Sequence[Concept],
        where: str,
        params: list[Any],
    ) -> None:
        """temp.hits := documents matching at least one concept (and `where`), scored by
        the number of concepts they match (plus the skill bonus) -- each alternative looked
        up among its MATCH_TERM_CAP newest matches only. Candidate retrieval for matching,
        which scores the candidates itself: BM25 would first count every match of each
        broad profile term for its IDF (tens of ms per term)."""
        conn.execute("DELETE FROM temp.hits")
        parts = [
            part
            for part in (
                self._concept_sql(schema, c, where, params, MATCH_TERM_CAP) for c in concepts
            )
            if part is not None
        ]
        if not parts:
            return
        # LIMIT -1 keeps SQLite from flattening the branches into the aggregate (FTS5
        # cannot evaluate bm25() there).
        union = " UNION ALL ".join(
            f"SELECT * FROM (SELECT id, s FROM ({sql}) LIMIT -1)"  # noqa: S608
            for sql, _ in parts
        )
        conn.execute(
            f"INSERT INTO temp.hits (id, score) SELECT id, sum(s) FROM ({union}) GROUP BY id",  # noqa: S608
            [p for _, ps in parts for p in ps],
        )

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

    def _conditions(
        self,
        schema: IndexSchema,
        filters: Iterable[Filter],
        extra: Sequence[tuple[str, list[Any]]] = (),
    ) -> tuple[str, list[Any]]:
        """The filters as one boolean SQL expression over ``d`` ('' when there are none)."""
        clauses = [self._filter_clause(schema, f) for f in filters]
        clauses.extend(extra)
        if not clauses:
            return "", []
        sql = " AND ".join(f"({c})" for c, _ in clauses)
        return sql, [p for _, params in clauses for p in params]

    @staticmethod
    def _order(schema: IndexSchema, sort: Sequence[tuple[str, str]], scored: bool) -> str:
        parts: list[str] = []
        named = {name for name, _ in sort}
        nullable = _STATEMENTS[schema.kind].nullable

        def add(name: str, direction: str) -> None:
            # NULLs last; a column that cannot be NULL needs no such key, and without it
            # the column's index can deliver the order (no sort of the whole result).
            if name in nullable:
                parts.append(f'(d."{name}" IS NULL)')
            parts.append(f'd."{name}" {direction.upper()}')

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

    @staticmethod
    def _ranked_facet(counts: dict[Any, int]) -> dict[str, int]:
        """Most frequent first, ties by value (SQL's ORDER BY n DESC, value), capped."""
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return {str(value): n for value, n in ranked[:MAX_FACET_VALUES]}

    def _facets(
        self,
        conn: sqlite3.Connection,
        schema: IndexSchema,
        fields: Sequence[str],
        base: str,
        params: list[Any],
        ids: str,
    ) -> dict[str, dict[str, int]]:
        """Value counts of `fields` over the result set (`base` = its FROM/WHERE over
        ``d``; `ids` = a SELECT of its ids)."""
        out: dict[str, dict[str, int]] = {}
        keyword = [f for f in fields if f in _STATEMENTS[schema.kind].keyword_facets]
        if keyword:
            # One pass over the result for all single-valued facets: count the value
            # combinations, then add them up per field here.
            cols = ", ".join(f'd."{f}"' for f in keyword)
            counts: list[dict[Any, int]] = [{} for _ in keyword]
            for row in conn.execute(f"SELECT {cols}, count(*) {base} GROUP BY {cols}", params):
                n = row[-1]
                for i, value in enumerate(row[:-1]):
                    if value is not None:
                        counts[i][value] = counts[i].get(value, 0) + n
            for name, c in zip(keyword, counts, strict=True):
                out[name] = self._ranked_facet(c)
        for field in fields:
            if field in schema.list_fields:
                # One row per (document, field, normalized value), so count(*) counts
                # documents; min(value) is the smallest spelling.
                rows = conn.execute(
                    f"SELECT min(v.value), count(*) AS n FROM {schema.kind}_values v"  # noqa: S608
                    f" WHERE v.field = ? AND v.doc_id IN ({ids})"
                    " GROUP BY v.norm ORDER BY n DESC, min(v.value) LIMIT ?",
                    [field, *params, MAX_FACET_VALUES],
                ).fetchall()
                out[field] = {str(value): int(count) for value, count in rows}
        return {f: out[f] for f in fields}

    @staticmethod
    def _cube_facets(
        conn: sqlite3.Connection,
        schema: IndexSchema,
        fields: Sequence[str],
        filters: Sequence[Filter],
    ) -> dict[str, dict[str, int]] | None:
        """Facet counts from the cube when every filter is an equality on a cube field
        (None otherwise): sums over a few hundred cells instead of a pass over the result."""
        st = _STATEMENTS[schema.kind]
        if any(f.field not in st.cube or not f.values for f in filters):
            return None
        where = [f"field IN ({', '.join('?' * len(fields))})"]
        params: list[Any] = list(fields)
        for f in filters:
            where.append(f'"{f.field}" IN ({", ".join("?" * len(f.values))})')
            params += [str(v) for v in f.values]
        out: dict[str, dict[str, int]] = {name: {} for name in fields}
        ranked: dict[str, list[tuple[int, str]]] = {name: [] for name in fields}
        for field, value, n in conn.execute(
            f"SELECT field, min(value), sum(n) AS c FROM {schema.kind}_fcube"  # noqa: S608
            f" WHERE {' AND '.join(where)} GROUP BY field, norm HAVING c > 0",
            params,
        ):
            ranked[field].append((-int(n), str(value)))
        for name, rows in ranked.items():
            rows.sort()  # most frequent first, ties by value (as `_facets` orders them)
            out[name] = {value: -neg for neg, value in rows[:MAX_FACET_VALUES]}
        return out

    @staticmethod
    def _blobs(
        conn: sqlite3.Connection, schema: IndexSchema, ids: Sequence[int]
    ) -> dict[int, bytes]:
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        return dict(
            conn.execute(
                f"SELECT id, doc FROM {schema.kind}_blobs WHERE id IN ({marks})",  # noqa: S608
                list(ids),
            ).fetchall()
        )

    # -- search --------------------------------------------------------------------------

    def _search(self, schema: IndexSchema, query: SearchQuery) -> SearchResult:
        vq: ValidQuery = validate_query(schema, query)
        concepts = parse_query(vq.q) if vq.q else []
        terms = [t for c in concepts for t in c.alternatives]
        k = schema.kind
        scored = bool(concepts)
        where, params = self._conditions(schema, vq.filters)
        with self._read() as conn:
            facets: dict[str, dict[str, int]] = {}
            if scored:
                total, page, facets = self._scored_search(conn, schema, vq, concepts)
            else:
                base = f"FROM {k}_docs d{' WHERE ' + where if where else ''}"
                total = int(conn.execute(f"SELECT count(*) {base}", params).fetchone()[0])
                page = []
                if total > vq.offset:
                    page = conn.execute(
                        f"SELECT d.id, 0.0 {base}"
                        f" ORDER BY {self._order(schema, vq.sort, False)} LIMIT ? OFFSET ?",
                        [*params, vq.page_size, vq.offset],
                    ).fetchall()
                if vq.facets:
                    cube = self._cube_facets(conn, schema, vq.facets, vq.filters)
                    facets = (
                        cube
                        if cube is not None
                        else self._facets(
                            conn, schema, vq.facets, base, params, f"SELECT d.id {base}"
                        )
                    )
            blobs = self._blobs(conn, schema, [doc_id for doc_id, _ in page])
        hits = []
        for doc_id, score in page:
            highlights: dict[str, str] = {}
            if terms:
                doc = msgspec.json.decode(blobs[doc_id], type=schema.doc_type)
                record = schema.to_record(doc)
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
        industry: Filter | None,
        exclude: frozenset[int],
    ) -> tuple[list[Any], _StoredMatchTexts]:
        """Up to CANDIDATES_PER_SOURCE documents from each source: shared skills and
        profile text (`industry` None), or the industry alone; restricted by `filters`
        and `exclude`."""
        extra: list[tuple[str, list[Any]]] = []
        if exclude:
            extra.append(
                (
                    "d.id NOT IN (SELECT value FROM json_each(?))",
                    [msgspec.json.encode(sorted(exclude)).decode()],
                )
            )
        k = schema.kind
        cap = matching.CANDIDATES_PER_SOURCE
        default = self._order(schema, (), scored=False)
        found: dict[int, None] = {}

        def fetch(sql_filters: Sequence[Filter], join: str, order: str) -> None:
            where, params = self._conditions(schema, sql_filters, extra)
            for (doc_id,) in conn.execute(
                f"SELECT d.id FROM {k}_docs d{join}{' WHERE ' + where if where else ''}"  # noqa: S608
                f" ORDER BY {order} LIMIT ?",
                [*params, cap],
            ):
                found.setdefault(int(doc_id), None)

        variants = profile.skill_variants if industry is None else []
        if variants:
            # The newest documents per spelling first (a walk down the covering index),
            # not every document carrying a common skill sorted by date.
            newest = " UNION ".join(
                f"SELECT * FROM (SELECT doc_id FROM {k}_values WHERE field = 'skills'"  # noqa: S608
                f" AND norm = ? ORDER BY doc_id DESC LIMIT {MATCH_SKILL_CAP})"
                for _ in variants
            )
            where, params = self._conditions(schema, filters, extra)
            for (doc_id,) in conn.execute(
                f"SELECT d.id FROM ({newest}) v CROSS JOIN {k}_docs d ON d.id = v.doc_id"  # noqa: S608
                f"{' WHERE ' + where if where else ''} ORDER BY {default} LIMIT ?",
                [*variants, *params, cap],
            ):
                found.setdefault(int(doc_id), None)
        if profile.concepts and industry is None:
            where, params = self._conditions(schema, filters, extra)
            self._load_any_of(conn, schema, profile.concepts, where, params)
            # temp.hits (a few thousand rows) drives the join, not the docs table.
            for (doc_id,) in conn.execute(
                f"SELECT d.id FROM temp.hits h CROSS JOIN {k}_docs d ON d.id = h.id"  # noqa: S608
                f" ORDER BY h.score DESC, {default} LIMIT ?",
                [cap],
            ):
                found.setdefault(int(doc_id), None)
        if industry is not None and industry.values:
            fetch([*filters, industry], "", default)
        ids = list(found)
        # The documents only: a candidate's match text is read when its text is scanned
        # (most never are: the score bound stops the scan), which saves their pages.
        blobs: dict[int, bytes] = {}
        for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            blobs.update(
                conn.execute(
                    f"SELECT id, doc FROM {k}_blobs"  # noqa: S608
                    f" WHERE id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        docs = [msgspec.json.decode(blobs[i], type=schema.doc_type) for i in ids]
        return docs, _StoredMatchTexts(conn, k)

    def match_tasks_for_solver(
        self, solver: SolverDocument, exclude_task_ids: Iterable[int] = (), limit: int = 20
    ) -> list[MatchHit]:
        limit = validate_limit(limit)
        exclude = frozenset(int(i) for i in exclude_task_ids)
        profile = matching.solver_profile(solver)
        filters = [Filter.eq("status", matching.OPEN_STATUS)]
        with self._read() as conn:
            docs, texts = self._candidates(conn, TASKS, profile, filters, None, exclude)
            hits = matching.tasks_for_solver(solver, profile, docs, exclude, limit, texts)
            if matching.complete(hits, limit, matching.TASK_WEIGHTS):
                return hits
            # Tasks of the industry that share nothing else could still enter: add them.
            industry = Filter.any_of("industry", profile.industries)
            more, more_texts = self._candidates(conn, TASKS, profile, filters, industry, exclude)
            # Only the new candidates are scored: the top `limit` of the union is the top
            # of both tops (the first ones were already ranked exactly).
            seen = {doc.id for doc in docs}
            more = [doc for doc in more if doc.id not in seen]
            more_hits = matching.tasks_for_solver(solver, profile, more, exclude, limit, more_texts)
        return matching.rank([*hits, *more_hits], limit)

    def match_solvers_for_task(self, task: TaskDocument, limit: int = 20) -> list[MatchHit]:
        limit = validate_limit(limit)
        profile = matching.task_profile(task)
        with self._read() as conn:
            docs, texts = self._candidates(conn, SOLVERS, profile, [], None, frozenset())
            hits = matching.solvers_for_task(task, profile, docs, limit, texts)
            if matching.complete(hits, limit, matching.SOLVER_WEIGHTS):
                return hits
            industry = Filter.any_of("fields", [task.industry])
            more, more_texts = self._candidates(conn, SOLVERS, profile, [], industry, frozenset())
            seen = {doc.id for doc in docs}  # as for tasks: score only the new candidates
            more = [doc for doc in more if doc.id not in seen]
            more_hits = matching.solvers_for_task(task, profile, more, limit, more_texts)
        return matching.rank([*hits, *more_hits], limit)
