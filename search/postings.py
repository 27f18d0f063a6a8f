"""Value postings of the embedded engine: per (field, normalized value, spelling), the ids
of the documents carrying it, as a roaring bitmap (`pyroaring`).

They serve a text search's filters, totals and facets as set operations: the documents
matching the text (fetched from FTS5 as one JSON array) intersected with a filter's
bitmap, then counted against each facet value's bitmap -- microseconds per value instead
of a join per matching document (which cost ~1-5 µs per document: 40-100 ms for a word
found in 40k tasks).

Kept for the keyword facet fields and every list field (`fields_of`), in
``<kind>_postings``, one row per (field, norm, value) with the serialized bitmap; written
in the same transaction as the documents. A connection caches what it read until the
database changes (`PRAGMA data_version` for other connections' commits, the index's own
write counter for this process's).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyroaring import BitMap

Key = tuple[str, str, str]
"""(field, norm, value): for a keyword field, norm is the value itself."""


def ddl(kind: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {kind}_postings (field TEXT NOT NULL, norm TEXT NOT NULL,"
        " value TEXT NOT NULL, ids BLOB NOT NULL, PRIMARY KEY (field, norm, value))"
        " WITHOUT ROWID"
    )


@dataclass
class Changes:
    """Document ids to take out of / put into each posting, applied once per transaction."""

    removed: dict[Key, BitMap] = field(default_factory=dict)
    added: dict[Key, BitMap] = field(default_factory=dict)

    def remove(self, doc_id: int, keys: Iterable[Key]) -> None:
        for key in keys:
            self.removed.setdefault(key, BitMap()).add(doc_id)

    def add(self, doc_id: int, keys: Iterable[Key]) -> None:
        for key in keys:
            self.added.setdefault(key, BitMap()).add(doc_id)

    def write(self, conn: sqlite3.Connection, kind: str) -> None:
        """Apply to ``<kind>_postings`` (removals first: an upsert takes the document out of
        its old values and puts it into its new ones, which may be the same)."""
        for key in self.removed.keys() | self.added.keys():
            row = conn.execute(
                f"SELECT ids FROM {kind}_postings WHERE field = ? AND norm = ? AND value = ?",  # noqa: S608
                key,
            ).fetchone()
            ids = BitMap.deserialize(row[0]) if row is not None else BitMap()
            ids -= self.removed.get(key, BitMap())
            ids |= self.added.get(key, BitMap())
            if ids:
                ids.run_optimize()
                conn.execute(
                    f"INSERT OR REPLACE INTO {kind}_postings (field, norm, value, ids)"  # noqa: S608
                    " VALUES (?, ?, ?, ?)",
                    (*key, ids.serialize()),
                )
            elif row is not None:
                conn.execute(
                    f"DELETE FROM {kind}_postings WHERE field = ? AND norm = ? AND value = ?",  # noqa: S608
                    key,
                )
        self.removed.clear()
        self.added.clear()


@dataclass(frozen=True)
class Group:
    """The documents of one normalized value, and its spellings (smallest first)."""

    ids: BitMap
    spellings: tuple[tuple[str, BitMap], ...]

    def shown_spelling(self, among: BitMap) -> str:
        """The smallest spelling carried by a document of `among` (as SQL's min(value))."""
        for value, ids in self.spellings:
            if ids.intersect(among):
                return value
        return self.spellings[0][0]


FieldPostings = dict[str, Group]
"""norm -> its group, for one field."""


class Cache:
    """One connection's postings as read, per (kind, field), valid for one `stamp`."""

    def __init__(self) -> None:
        self._stamp: tuple[int, int] | None = None
        self._fields: dict[tuple[str, str], FieldPostings] = {}

    def field(
        self, conn: sqlite3.Connection, kind: str, name: str, stamp: tuple[int, int]
    ) -> FieldPostings:
        if stamp != self._stamp:
            self._fields.clear()
            self._stamp = stamp
        cached = self._fields.get((kind, name))
        if cached is None:
            spellings: dict[str, list[tuple[str, BitMap]]] = {}
            for norm, value, blob in conn.execute(
                f"SELECT norm, value, ids FROM {kind}_postings WHERE field = ?"  # noqa: S608
                " ORDER BY norm, value",
                (name,),
            ):
                spellings.setdefault(norm, []).append((value, BitMap.deserialize(blob)))
            cached = {
                norm: Group(
                    ids=BitMap.union(*(ids for _, ids in values))
                    if len(values) > 1
                    else values[0][1],
                    spellings=tuple(values),
                )
                for norm, values in spellings.items()
            }
            self._fields[(kind, name)] = cached
        return cached
