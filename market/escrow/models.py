from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db.base import Base, BigId, IdMixin, JsonDoc, TimestampMixin, UTCDateTime, utcnow


class JournalEntry(IdMixin, Base):
    """One balanced movement of money. Its key makes a retried job write it at most once."""

    __tablename__ = "journal_entries"

    kind: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    contract_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contracts.id"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("milestones.id"), index=True)
    # The provider object this entry books (pi_…, tr_…, re_…): one entry per movement.
    provider_object: Mapped[str | None] = mapped_column(String(120), unique=True)
    memo: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[JournalLine]] = relationship(lazy="selectin", order_by="JournalLine.id")


class JournalLine(IdMixin, Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        Index("ix_journal_lines_account", "account"),
        CheckConstraint("amount_minor <> 0", name="non_zero"),
    )

    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(80))
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class MilestoneEscrow(TimestampMixin, Base):
    """What is held for one milestone, and what has left it."""

    __tablename__ = "milestone_escrows"
    __table_args__ = (
        CheckConstraint(
            "funded_minor >= 0 AND released_minor >= 0 AND refunded_minor >= 0", name="non_negative"
        ),
        CheckConstraint("released_minor + refunded_minor <= funded_minor", name="never_negative"),
        CheckConstraint("funded_minor <= amount_minor", name="funded_at_most_amount"),
        Index("ix_milestone_escrows_status", "status"),
    )

    milestone_id: Mapped[int] = mapped_column(BigId, ForeignKey("milestones.id"), primary_key=True)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contracts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="unfunded")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    funded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    released_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_intent_id: Mapped[str | None] = mapped_column(String(120))
    # Declined charges so far: each new attempt charges under a new provider key.
    fund_attempts: Mapped[int] = mapped_column(Integer, default=0)


class ProviderEvent(Base):
    """A webhook event from the payment provider, kept by id so a replay changes nothing."""

    __tablename__ = "provider_events"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReconciliationRun(IdMixin, Base):
    """One comparison of the ledger with the provider, kept for the admins to read."""

    __tablename__ = "reconciliation_runs"

    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    provider_movements: Mapped[int] = mapped_column(Integer)
    ledger_entries: Mapped[int] = mapped_column(Integer)
    provider_balance: Mapped[int] = mapped_column(BigInteger)
    ledger_balance: Mapped[int] = mapped_column(BigInteger)
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
