"""`market` sees the search engine only through the port: the adapters are named in one
factory module, and nothing else of the search package is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import market
from market.discovery.factory import SearchIndexHandle, build_search_index
from market.settings import Settings

MARKET = Path(market.__file__).parent
FACTORY = MARKET / "discovery" / "factory.py"
ADAPTERS = {"search.embedded", "search.meili"}


def _search_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(n for n in names if n == "search" or n.startswith("search."))
    return found


def test_market_imports_the_port_and_names_adapters_in_the_factory_only() -> None:
    seen: dict[str, set[str]] = {}
    for path in sorted(MARKET.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        imports = _search_imports(path)
        allowed = {"search.port"} | (ADAPTERS if path == FACTORY else set())
        assert imports <= allowed, f"{path.relative_to(MARKET.parent)} imports {imports - allowed}"
        if imports:
            seen[str(path.relative_to(MARKET.parent))] = imports
    assert _search_imports(FACTORY) == {"search.port", *ADAPTERS}
    assert len(seen) >= 4, seen


def test_the_factory_refuses_a_configuration_that_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MARKET_SEARCH_BACKEND"):
        SearchIndexHandle(Settings(data_dir=tmp_path, search_backend="elastic"))
    with pytest.raises(ValueError, match="MARKET_MEILI_URL"):
        SearchIndexHandle(Settings(data_dir=tmp_path, search_backend="meilisearch"))
    index = build_search_index(Settings(data_dir=tmp_path / "new"))
    try:
        assert (tmp_path / "new" / "search.db").exists()
    finally:
        index.close()
