"""Search: the port (`search.port`) and its adapters.

- `search.embedded.EmbeddedSearchIndex`: SQLite FTS5, the single-machine default;
- `search.meili.MeiliSearchIndex`: Meilisearch (needs the `meilisearch` package).

This package imports nothing from `market`.
"""

from search.port import (
    Filter,
    InvalidSearchQuery,
    MatchExplanation,
    MatchHit,
    RebuildStats,
    SearchError,
    SearchHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    SkillMatch,
    SolverDocument,
    TaskDocument,
)

__all__ = [
    "Filter",
    "InvalidSearchQuery",
    "MatchExplanation",
    "MatchHit",
    "RebuildStats",
    "SearchError",
    "SearchHit",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "SkillMatch",
    "SolverDocument",
    "TaskDocument",
]
