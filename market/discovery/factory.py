"""The one place where `market` names a search adapter: the port, built from settings.

`MARKET_SEARCH_BACKEND=embedded` (default): SQLite FTS5 in `$MARKET_DATA_DIR/search.db`.
`MARKET_SEARCH_BACKEND=meilisearch`: `MARKET_MEILI_URL`, `MARKET_MEILI_KEY` and the index
prefix `MARKET_MEILI_INDEX_PREFIX`. Everything else in `market` sees only `SearchIndex`.
"""

from __future__ import annotations

import threading

from market.settings import Settings
from search.port import SearchIndex, SearchUnavailable

BACKENDS = ("embedded", "meilisearch")


def check_search_settings(settings: Settings) -> None:
    """Refuse a configuration that cannot work, at start-up rather than at the first search."""
    if settings.search_backend not in BACKENDS:
        raise ValueError(
            f"MARKET_SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, "
            f"not {settings.search_backend!r}"
        )
    if settings.search_backend == "meilisearch" and not settings.meili_url:
        raise ValueError("MARKET_SEARCH_BACKEND=meilisearch needs MARKET_MEILI_URL")


def build_search_index(settings: Settings) -> SearchIndex:
    """Open the configured backend (the Meilisearch indexes get their settings applied)."""
    check_search_settings(settings)
    if settings.search_backend == "meilisearch":
        from search.meili import MeiliSearchIndex

        meili = MeiliSearchIndex(
            settings.meili_url, settings.meili_key or None, settings.meili_index_prefix
        )
        meili.ensure_settings()
        return meili
    from search.embedded import EmbeddedSearchIndex

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SearchUnavailable(f"cannot create {settings.data_dir}: {exc}") from exc
    return EmbeddedSearchIndex(str(settings.search_index_file))


class SearchIndexHandle:
    """Opens the index on first use, once, and closes it. The API and each worker process
    hold one; a process that never searches never opens a file or a connection. A failed
    open (Meilisearch down) is not remembered: the next use tries again."""

    def __init__(self, settings: Settings) -> None:
        check_search_settings(settings)
        self._settings = settings
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> SearchIndex:
        index = self._index
        if index is not None:
            return index
        with self._lock:
            if self._index is None:
                self._index = build_search_index(self._settings)
            return self._index

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
