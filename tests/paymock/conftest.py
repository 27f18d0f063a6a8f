"""Fixtures for the payment mock: databases (SQLite file and PostgreSQL), apps and clients,
a fake clock and a local webhook receiver. Helpers live in paymock_testkit.py."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from paymock_testkit import Api, AppFactory, FakeClock, Received, Receiver
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from paymock.models import Base, create_schema, drop_schema, make_engine

PG_SERVER = os.environ.get(
    "PAYMOCK_TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# ---------------------------------------------------------------------------------------
# Databases
#
# Each backend has one database per session whose rows are wiped before every test that
# uses it; the plain ``api`` fixture also reuses one started app per backend, because
# building a Litestar app costs more than most tests.


def _pg_database_name() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"paymock_test_{worker}" if worker else "paymock_test"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL database for this session, made if missing, with fresh tables."""
    name = _pg_database_name()
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A throwaway database: no need to wait for WAL flushes on each commit.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:  # no server: run the SQLite half only
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {exc}")
    finally:
        admin.dispose()
    url = make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    drop_schema(engine)
    create_schema(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def shared_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('paymock') / 'shared.db'}"
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    return url


# Every table but the platform row, which must always exist.
_WIPED = [t for t in reversed(Base.metadata.sorted_tables) if t.name != "pm_platform"]


@pytest.fixture(scope="session")
def wipe() -> Iterator[Callable[[str], None]]:
    engines: dict[str, Engine] = {}

    def run(url: str) -> None:
        engine = engines.get(url) or engines.setdefault(url, make_engine(url))
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                names = ", ".join(t.name for t in _WIPED)
                conn.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY"))
            else:
                for table in _WIPED:
                    conn.execute(table.delete())

    yield run
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'paymock.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, wipe: Callable[[str], None]) -> str:
    """The core API suite runs once per backend, each test on empty tables."""
    fixture = "shared_sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    wipe(url)
    return url


# ---------------------------------------------------------------------------------------
# Apps and clients


@pytest.fixture(scope="session")
def session_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock(session_clock: FakeClock) -> FakeClock:
    """The fake clock of every app made in a test, rewound for each test."""
    session_clock.now = FakeClock().now
    return session_clock


class _AppPool(dict[str, Api]):
    """One started app per database URL, made on first use."""

    def __init__(self, factory: AppFactory) -> None:
        super().__init__()
        self.factory = factory

    def __missing__(self, url: str) -> Api:
        self[url] = self.factory(url)
        return self[url]


@pytest.fixture(scope="session")
def shared_apps(session_clock: FakeClock) -> Iterator[dict[str, Api]]:
    factory = AppFactory("", session_clock)
    yield _AppPool(factory)
    factory.close()


@pytest.fixture
def api(db_url: str, shared_apps: dict[str, Api], clock: FakeClock) -> Api:
    """A started app on the parametrised backend (reused across tests, tables emptied)."""
    return shared_apps[db_url]


@pytest.fixture
def make_api(db_url: str, clock: FakeClock) -> Iterator[AppFactory]:
    """New apps on the parametrised backend; several apps may share one database."""
    factory = AppFactory(db_url, clock)
    yield factory
    factory.close()


@pytest.fixture
def make_sqlite_api(sqlite_url: str, clock: FakeClock) -> Iterator[AppFactory]:
    """New apps on a SQLite file of the test's own, for suites not about the database."""
    factory = AppFactory(sqlite_url, clock)
    yield factory
    factory.close()


# ---------------------------------------------------------------------------------------
# A webhook receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP endpoint on a free port; set ``statuses`` to script its answers."""
    lock = threading.Lock()
    state = Receiver(url="", requests=[], statuses=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if state.delay_s:
                time.sleep(state.delay_s)
            with lock:
                state.requests.append(
                    Received(body, {k.lower(): v for k, v in self.headers.items()}, time.time())
                )
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
