"""The engine survives connections that die in its pool (no pool_pre_ping: see db.engine)."""

from __future__ import annotations

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
