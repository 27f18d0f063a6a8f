"""Rebuilding the search index from the database: `market search reindex`, the demo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from market.db.engine import make_engine, make_session_factory
from market.discovery.factory import SearchIndexHandle
from market.discovery.service import DiscoveryService
from market.settings import Settings
from search.port import RebuildStats


def _service(settings: Settings, engine: Engine) -> DiscoveryService:
    return DiscoveryService(make_session_factory(engine), settings, SearchIndexHandle(settings))


def reindex(
    settings: Settings,
    engine: Engine | None = None,
    *,
    progress_bar: bool = True,
    only_if_empty: bool = False,
    echo: Callable[[str], Any] = print,
) -> RebuildStats | None:
    """Rebuild every task and solver document from the database (None: skipped, because
    `only_if_empty` and the index has documents already)."""
    own_engine = engine is None
    engine = engine or make_engine(settings.effective_database_url)
    service = _service(settings, engine)
    try:
        if only_if_empty and not service.index_is_empty():
            return None
        tasks, solvers = service.count_documents()
        if not progress_bar:
            stats = service.reindex()
        else:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            with Progress(
                TextColumn("{task.description:<8}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            ) as progress:
                bars = {
                    "tasks": progress.add_task("tasks", total=tasks),
                    "solvers": progress.add_task("solvers", total=solvers),
                }

                def advance(kind: str, done: int) -> None:
                    progress.update(bars[kind], completed=done)

                stats = service.reindex(advance)
                for bar in bars.values():  # an empty kind reports no progress
                    progress.update(bar, completed=progress.tasks[bar].total)
        echo(
            f"search index ({settings.search_backend}) rebuilt: "
            f"{stats.tasks} tasks, {stats.solvers} solvers"
        )
        return stats
    finally:
        service.close()
        if own_engine:
            engine.dispose()
