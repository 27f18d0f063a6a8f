"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the machine's server (127.0.0.1:5432, trust auth); each xdist worker gets
its own database, migrated with Alembic, and every test starts from empty tables.
"""

from __future__ import annotations

import contextlib
import os
import uuid
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
from market.escrow.gateway import PaymentsGateway
from market.jobs import JobContext, build_job_context
from market.outbox.dispatch import drain
from market.settings import Settings
from tests.helpers import Api
from tests.servers import Provider, payment_provider

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


@pytest.fixture(scope="session")
def shared_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with payment_provider(tmp_path_factory.mktemp("paymock") / "paymock.db") as p:
        yield p


@pytest.fixture
def provider(shared_provider: Provider) -> Provider:
    """The payment provider the app pays through (tests that count money use a fresh one)."""
    return shared_provider


def make_settings(database_url: str, data_dir: Path, provider: Provider) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        argon2_profile="CHEAPEST",
        payments_url=provider.url,
        payments_secret_key=Provider.SECRET,
        # The shared provider outlives each test's emptied database: keep keys apart.
        payments_key_namespace=f"test-{uuid.uuid4().hex[:12]}",
        # The tests' webhook receivers listen on 127.0.0.1.
        webhook_allow_private=True,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, provider: Provider) -> Settings:
    return make_settings(database_url, tmp_path, provider)


@pytest.fixture
def app(engine: Engine, settings: Settings) -> Any:
    _empty_tables(engine)
    return create_app(settings, engine, background=False)


@contextlib.contextmanager
def open_client(app: Any, settings: Settings, engine: Engine, provider: Provider) -> Iterator[tuple[TestClient[Any], JobContext]]:
    """The API, with the background work done right after each write, as a prompt worker
    would: tests then see the funded escrow, the released money, and so on."""
    gateway = PaymentsGateway(provider.url, Provider.SECRET, backoff_base_s=0.01, backoff_max_s=0.05)
    jobs = build_job_context(settings, engine, gateway)

    def run_background_work(response: Any) -> None:
        if response.request.method != "GET":
            drain(jobs)

    try:
        with TestClient(app) as c:
            c.event_hooks["response"].append(run_background_work)
            yield c, jobs
    finally:
        jobs.close()


@pytest.fixture
def client_and_jobs(app: Any, settings: Settings, engine: Engine, provider: Provider) -> Iterator[tuple[TestClient[Any], JobContext]]:
    with open_client(app, settings, engine, provider) as pair:
        yield pair


@pytest.fixture
def client(client_and_jobs: tuple[TestClient[Any], JobContext]) -> TestClient[Any]:
    return client_and_jobs[0]


@pytest.fixture
def jobs(client_and_jobs: tuple[TestClient[Any], JobContext]) -> JobContext:
    """The background jobs' context, paying through the test provider."""
    return client_and_jobs[1]


@pytest.fixture
def api(client: TestClient[Any], jobs: JobContext) -> Api:
    return Api(client, jobs)
