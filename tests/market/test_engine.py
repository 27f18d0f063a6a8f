"""The engines survive connections that die in their pool: workers ping after idling (see
db.engine), the web app on every checkout (a request cannot be retried like a job)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from market.db import engine as db_engine
from market.db.engine import make_engine
from tests.conftest import PG_ADMIN_URL


def test_idle_dead_connection_is_replaced_on_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        eng = make_engine(PG_ADMIN_URL, pool_size=1, max_overflow=0)
        with eng.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
    except Exception as exc:  # no server here
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    # The server drops the pooled connection (a restart, an idle timeout...).
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    admin.dispose()
    monkeypatch.setattr(db_engine, "PING_IDLE_AFTER_S", 0.0)  # it has been idle "long enough"
    try:
        with eng.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        eng.dispose()


def test_the_web_app_survives_a_connection_dropped_a_moment_ago(tmp_path: Path) -> None:
    """A web request cannot be retried like a job: the app's engine pings on every checkout,
    so a connection the server dropped right after its last use is replaced, not a 500."""
    from litestar.testing import TestClient

    from market.app import create_app
    from market.settings import Settings

    try:
        probe = create_engine(PG_ADMIN_URL)
        probe.connect().close()
        probe.dispose()
    except Exception as exc:  # no server here
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    settings = Settings(data_dir=tmp_path, database_url=PG_ADMIN_URL, argon2_profile="CHEAPEST")
    app = create_app(settings, background=False)
    engine = app.state["engine"]
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # every connection of the pool: it holds only this one
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = :p"),
                {"p": pid},
            )
        admin.dispose()
        r = client.get("/health")
        assert r.status_code == 200, r.text
    engine.dispose()
