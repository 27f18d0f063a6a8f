"""The task listing's text filter `q` on PostgreSQL: an n-gram GIN index.

`q` matches a task whose title or summary contains it (case-sensitively in the Chinese
fields, case-insensitively in the English ones: LIKE / ILIKE, the same on every backend).
A LIKE '%q%' cannot use a B-tree, and pg_trgm's trigrams cannot serve the two-character
Chinese words most searches are made of. So PostgreSQL indexes every character bigram and
trigram of the lower-cased title and summary text (`market_text_grams`), and a search asks
for the rows that hold all the trigrams of the lower-cased term (its bigram, for a term of
two characters): a necessary condition for any of the LIKEs, checked by the index, after
which the LIKEs decide. SQLite keeps the plain LIKEs (a local installation's few tasks).

The functions and the index are PostgreSQL-only DDL outside the models (SQLite cannot
create them); the migration runs `STATEMENTS` on PostgreSQL (see market/db/migrate.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, and_, func, literal, literal_column, select
from sqlalchemy.orm import aliased

from market.tasks.domain import TaskStatus
from market.tasks.models import Task

INDEX_NAME = "ix_tasks_text_grams"

# Every distinct bigram and trigram of a text (characters, not bytes): the regular
# expression engine cuts the text into non-overlapping pairs and triples from each offset,
# which together are all of them, in linear time ("." matches a newline here too). About a
# millisecond for a task: COST tells the planner to use it through the index, never
# row by row.
_CREATE_TEXT_GRAMS = """\
CREATE OR REPLACE FUNCTION market_text_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 100000 AS $$
  SELECT coalesce(array_agg(DISTINCT m[1]), '{}') FROM (
    SELECT regexp_matches(t, '..', 'g')
    UNION ALL SELECT regexp_matches(substr(t, 2), '..', 'g')
    UNION ALL SELECT regexp_matches(t, '...', 'g')
    UNION ALL SELECT regexp_matches(substr(t, 2), '...', 'g')
    UNION ALL SELECT regexp_matches(substr(t, 3), '...', 'g')
  ) AS x(m)
$$"""

# The searched text of a task: what the index holds and what the query names, identically.
_CREATE_TASK_TEXT = """\
CREATE OR REPLACE FUNCTION market_task_text(a text, b text, c text, d text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT lower(a || E'\\n' || b || E'\\n' || c || E'\\n' || d)
$$"""

# The n-grams a matching text must hold: trigrams of a term of 3+ characters (far more
# selective than bigrams), the bigram of a 2-character term.
_CREATE_SEARCH_GRAMS = """\
CREATE OR REPLACE FUNCTION market_search_grams(q text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(l, i, n)), '{}')
  FROM (SELECT lower(q) AS l, CASE WHEN length(q) >= 3 THEN 3 ELSE 2 END AS n) AS p,
       generate_series(1, length(l) - n + 1) AS i
$$"""

# Published tasks only: what the public listing searches (other statuses are a small
# share, filtered by their status first); no status bitmap to combine with, a quicker build.
CREATE_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON tasks USING gin "
    "(market_text_grams(market_task_text(title_zh, title_en, summary_zh, summary_en))) "
    "WHERE status = 'published'"
)
DROP_INDEX = f"DROP INDEX IF EXISTS {INDEX_NAME}"
# ANALYZE keeps no statistics on a partial index's expression: these give the planner the
# share of tasks holding each common n-gram, so a term in a third of the tasks is read
# through the sort's index rather than all its matches through this one.
_CREATE_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS st_tasks_text_grams ON "
    "(market_text_grams(market_task_text(title_zh, title_en, summary_zh, summary_en))) "
    "FROM tasks"
)

STATEMENTS = (
    _CREATE_TEXT_GRAMS,
    _CREATE_TASK_TEXT,
    _CREATE_SEARCH_GRAMS,
    CREATE_INDEX,
    _CREATE_STATISTICS,
)
DROP_STATEMENTS = (
    "DROP STATISTICS IF EXISTS st_tasks_text_grams",
    DROP_INDEX,
    "DROP FUNCTION IF EXISTS market_search_grams(text)",
    "DROP FUNCTION IF EXISTS market_task_text(text, text, text, text)",
    "DROP FUNCTION IF EXISTS market_text_grams(text)",
)


def text_search_condition(
    term: str, matches: Callable[[Any], ColumnElement[bool]], *, alone: bool
) -> ColumnElement[bool]:
    """PostgreSQL only: the published tasks whose text holds TERM (2+ characters), where
    MATCHES(entity) is the listing's own text condition (the LIKEs) on an entity.

    As `id IN (a subquery)`: the subquery reads the candidates through the index and checks
    the LIKEs on each (one visit of each candidate row); on its own, the n-gram condition
    next to other filters may be planned as a per-row filter, computing the n-grams of
    each row (a millisecond each). The outer query's other filters then read the
    covering indexes by id. ALONE (no other filter than the status): the condition
    goes in the query itself, whose only index for it is this one (one pass less)."""
    if alone:
        return and_(_grams_contain(Task, term), matches(Task))
    inner = aliased(Task)
    return Task.id.in_(
        select(inner.id)
        .where(inner.status == TaskStatus.PUBLISHED, _grams_contain(inner, term), matches(inner))
        # OFFSET keeps PostgreSQL from merging the subquery into the outer query.
        .offset(literal_column("0"))
    )


def _grams_contain(t: Any, term: str) -> ColumnElement[bool]:
    grams = func.market_text_grams(
        func.market_task_text(t.title_zh, t.title_en, t.summary_zh, t.summary_en)
    )
    return grams.op("@>", return_type=Boolean)(func.market_search_grams(literal(term)))
