"""Saved searches and the tasks that matched them when they were published."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from market.db.base import Base, BigId, IdMixin, JsonDoc, UTCDateTime, utcnow


class SavedSearch(IdMixin, Base):
    """A user's task search (text + filters), checked against every newly published task."""

    __tablename__ = "saved_searches"
    __table_args__ = (Index("ix_saved_searches_user", "user_id", "id"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    q: Mapped[str] = mapped_column(String(200), default="")
    # The filters as the API takes them (see schemas.SavedSearchFilters).
    filters: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedSearchHit(IdMixin, Base):
    """A task that matched a saved search when it was published; once per (search, task)."""

    __tablename__ = "saved_search_hits"
    __table_args__ = (
        UniqueConstraint("saved_search_id", "task_id"),
        Index("ix_saved_search_hits_task", "task_id"),
    )

    saved_search_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("saved_searches.id", ondelete="CASCADE")
    )
    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"))
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
