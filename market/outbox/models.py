from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from market.db.base import Base, BigId, IdMixin, JsonDoc, UTCDateTime, utcnow


class OutboxEvent(IdMixin, Base):
    """A domain event written in the same transaction as the change it reports.

    A relay publishes unpublished rows to the broker; consumers key their idempotency
    on the row id, since delivery is at least once.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_unpublished", "published_at", "id"),)

    event_type: Mapped[str] = mapped_column(String(60))
    aggregate: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[int] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class OutboxDelivery(Base):
    """One handler's work for one event, done: a redelivered message finds it and stops."""

    __tablename__ = "outbox_deliveries"

    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox_events.id"), primary_key=True)
    handler: Mapped[str] = mapped_column(String(80), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FailedJob(IdMixin, Base):
    """A message that used up its retries: shown to admins, who can send it again."""

    __tablename__ = "failed_jobs"
    __table_args__ = (Index("ix_failed_jobs_open", "redriven_at", "id"),)

    actor: Mapped[str] = mapped_column(String(80))
    args: Mapped[list[Any]] = mapped_column(JsonDoc)
    message_id: Mapped[str] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redriven_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
