"""Engine and session factory for PostgreSQL and SQLite (WAL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _ping_when_idle(engine)
        return engine

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Take over BEGIN from pysqlite so that write transactions can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        # A unit of work that writes takes SQLite's write lock up front: its reads then
        # see the state it will change, as SELECT ... FOR UPDATE does on PostgreSQL.
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


# A pooled connection idle for longer than this is pinged before use; a busy one is not.
PING_IDLE_AFTER_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Dropped-connection protection without a round trip per checkout (`pool_pre_ping`
    costs one on every session: four per escrow release).

    Connections die while they sit in the pool (server restart, idle timeouts in between),
    so only those idle for PING_IDLE_AFTER_S are pinged; a dead one raises
    DisconnectionError, on which the pool discards it and checks out another (SQLAlchemy's
    "pessimistic, custom" recipe). A connection that dies within seconds of its last use
    fails its statement instead: SQLAlchemy then invalidates the whole pool, so the process
    reconnects at once, and the job is retried (every job is idempotent). The web app, whose
    requests are not retried, asks for pool_pre_ping instead (market/app.py)."""

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("checked_in_at")
        if last is None or time.monotonic() - last < PING_IDLE_AFTER_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
