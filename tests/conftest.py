"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the machine's server (127.0.0.1:5432, trust auth); each xdist worker gets
its own database, migrated with Alembic, and every test starts from empty tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, create_engine, text

from market.app import create_app
from market.db.engine import make_engine
from market.db.migrate import upgrade
from market.db.models import Base
from market.settings import Settings
from tests.helpers import Api

PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _create_pg_database(name: str) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "market.db"
        upgrade(f"sqlite:///{path}")
        yield f"sqlite:///{path}"
        return
    # The pid keeps concurrent test runs on one server out of each other's way.
    name = f"market_test_{_worker()}_{os.getpid()}"
    url = _create_pg_database(name)
    upgrade(url)
    yield url
    _drop_pg_database(name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _empty_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, argon2_profile="CHEAPEST")


@pytest.fixture
def app(engine: Engine, settings: Settings) -> Any:
    _empty_tables(engine)
    return create_app(settings, engine)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient[Any]]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api(client: TestClient[Any]) -> Api:
    return Api(client)
