"""Tables of the payment mock, and its engine.

The mock owns its database: tables are made with ``metadata.create_all`` (no migrations) and
carry a ``pm_`` prefix so they cannot clash if someone points the mock at a shared database.
Every table has an integer ``seq`` primary key: it orders lists the way Stripe does (newest
first) without relying on ids or clock resolution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Text,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Platform(Base):
    """One row. Money-moving transactions lock it so balance checks cannot race."""

    __tablename__ = "pm_platform"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class PaymentIntent(Base):
    __tablename__ = "pm_payment_intents"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    capture_method: Mapped[str] = mapped_column(String(16))
    payment_method: Mapped[str | None] = mapped_column(String(64))
    amount_capturable: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_received: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_json: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    latest_charge: Mapped[str | None] = mapped_column(String(40))
    last_payment_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    canceled_at: Mapped[int | None] = mapped_column(BigInteger)
    cancellation_reason: Mapped[str | None] = mapped_column(String(40))
    transfer_group: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[int] = mapped_column(BigInteger)


class Charge(Base):
    __tablename__ = "pm_charges"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    payment_intent: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_captured: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    captured: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    payment_method: Mapped[str | None] = mapped_column(String(64))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    balance_transaction: Mapped[str | None] = mapped_column(String(40))
    metadata_json: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    created: Mapped[int] = mapped_column(BigInteger)


class Transfer(Base):
    __tablename__ = "pm_transfers"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    destination: Mapped[str] = mapped_column(String(255), index=True)
    transfer_group: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_json: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    balance_transaction: Mapped[str] = mapped_column(String(40))
    created: Mapped[int] = mapped_column(BigInteger)


class Refund(Base):
    __tablename__ = "pm_refunds"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_intent: Mapped[str] = mapped_column(String(40), index=True)
    charge: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(40))
    metadata_json: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    balance_transaction: Mapped[str] = mapped_column(String(40))
    created: Mapped[int] = mapped_column(BigInteger)


class BalanceTransaction(Base):
    """One line per movement of the platform balance: + captured charge, - transfer, - refund.

    The balance is the sum of these lines; reconciliation reads them as "movements".
    """

    __tablename__ = "pm_balance_transactions"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str | None] = mapped_column(String(500))
    created: Mapped[int] = mapped_column(BigInteger)


class Event(Base):
    __tablename__ = "pm_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    # The exact JSON served by the API and POSTed to the webhook, so every delivery and
    # every GET of one event carries identical bytes.
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[int] = mapped_column(BigInteger)


class WebhookDelivery(Base):
    __tablename__ = "pm_webhook_deliveries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # pending -> delivered | failed (gave up after max attempts)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, index=True)
    last_attempt_at: Mapped[float | None] = mapped_column(Float)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[float | None] = mapped_column(Float)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[float] = mapped_column(Float)


class IdempotencyKey(Base):
    """The unique ``key`` makes two concurrent first uses collide in the database itself."""

    __tablename__ = "pm_idempotency_keys"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    params_hash: Mapped[str] = mapped_column(String(64))
    # in_progress -> done
    status: Mapped[str] = mapped_column(String(16))
    # Changed on every claim so a request that lost its claim cannot write its result.
    lock_token: Mapped[str] = mapped_column(String(32))
    locked_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)


def make_engine(url: str) -> Engine:
    """An engine for SQLite (file or memory) or PostgreSQL, tuned for many threads."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    database = parsed.database or ""
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if database in ("", ":memory:"):
        kwargs["poolclass"] = StaticPool  # one shared in-memory database
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control so that BEGIN IMMEDIATE below is what starts them.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if database not in ("", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a process crash (only power loss may drop the last
            # commits) and spares an fsync per commit, which dominated request time.
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite has no row locks; taking the write lock at BEGIN serialises writers, so a
        # read-then-write (balance check, state transition) cannot be overtaken, and avoids
        # the deadlock of two deferred readers both upgrading to writers.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            if conn.execute(select(Platform.id)).first() is None:
                conn.execute(insert(Platform).values(id=1))
    except IntegrityError:
        pass  # another process made the row between our check and insert


def drop_schema(engine: Engine) -> None:
    Base.metadata.drop_all(engine)
