from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
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
