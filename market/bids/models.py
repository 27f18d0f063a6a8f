from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db.base import Base, BigId, IdMixin, JsonDoc, TimestampMixin, UTCDateTime

_LIVE = "status IN ('submitted', 'shortlisted', 'awarded')"


class Bid(IdMixin, TimestampMixin, Base):
    __tablename__ = "bids"
    __table_args__ = (
        CheckConstraint("price_minor > 0", name="price_positive"),
        CheckConstraint("duration_days > 0", name="duration_positive"),
        # One live bid per solver per task, enforced by the database under concurrency.
        Index(
            "uq_bids_live_task_solver",
            "task_id",
            "solver_id",
            unique=True,
            postgresql_where=text(_LIVE),
            sqlite_where=text(_LIVE),
        ),
        Index("ix_bids_task_status", "task_id", "status"),
        Index("ix_bids_solver", "solver_id", "created_at"),
    )

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id"))
    solver_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    duration_days: Mapped[int] = mapped_column(Integer)
    proposal: Mapped[str] = mapped_column(Text, default="")
    team_members: Mapped[list[dict[str, str]]] = mapped_column(JsonDoc, default=list)
    decline_reason: Mapped[str | None] = mapped_column(Text)

    milestones: Mapped[list[BidMilestone]] = relationship(
        cascade="all, delete-orphan", order_by="BidMilestone.seq", lazy="selectin"
    )


class BidMilestone(IdMixin, Base):
    __tablename__ = "bid_milestones"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    bid_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("bids.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    deliverable: Mapped[str] = mapped_column(Text, default="")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    due: Mapped[datetime] = mapped_column(UTCDateTime)
