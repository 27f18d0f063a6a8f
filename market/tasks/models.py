from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db.base import Base, BigId, IdMixin, JsonDoc, TimestampMixin, UTCDateTime, utcnow

_FILTER_COLUMNS = (
    "industry",
    "district",
    "zone",
    "bidding_mode",
    "budget_minor",
    "trl_current",
    "trl_target",
)


def _listing_index(name: str, *keys: str) -> Index:
    return Index(
        name,
        "status",
        *keys,
        "id",
        postgresql_include=[c for c in _FILTER_COLUMNS if c not in keys],
    )


class Task(IdMixin, TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("budget_minor > 0", name="budget_positive"),
        CheckConstraint(
            "trl_current BETWEEN 1 AND 9 AND trl_target BETWEEN trl_current AND 9", name="trl_range"
        ),
        CheckConstraint("delivery_deadline > bid_deadline", name="delivery_after_bidding"),
        # Listing indexes: (status, filter?, sort key, id) matches each sort with its id
        # tiebreak, and INCLUDEs (PostgreSQL) every filter column, so that counting and
        # paging are index-only scans; only the page's own rows are read from the table.
        _listing_index("ix_tasks_status_published_at", "published_at"),
        _listing_index("ix_tasks_status_industry", "industry", "published_at"),
        _listing_index("ix_tasks_status_district", "district", "published_at"),
        _listing_index("ix_tasks_status_zone", "zone", "published_at"),
        _listing_index("ix_tasks_status_budget", "budget_minor"),
        _listing_index("ix_tasks_status_industry_budget", "industry", "budget_minor"),
        _listing_index("ix_tasks_status_bid_deadline", "bid_deadline"),
        # A filter that starts from another table (skills) looks tasks up by id: these
        # look-ups read the index, not the 1.8 kB rows.
        Index(
            "ix_tasks_id_listing",
            "id",
            postgresql_include=["status", "published_at", "bid_deadline", *_FILTER_COLUMNS],
        ),
        Index("ix_tasks_org", "org_id", "status"),
    )

    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))
    created_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    required_skills: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    industry: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(40))
    zone: Mapped[str | None] = mapped_column(String(40))
    trl_current: Mapped[int] = mapped_column(Integer)
    trl_target: Mapped[int] = mapped_column(Integer)
    budget_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    bid_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    delivery_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    bidding_mode: Mapped[str] = mapped_column(String(10))
    ip_terms: Mapped[str] = mapped_column(String(30))
    confidentiality: Mapped[str] = mapped_column(String(10))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TaskSkill(Base):
    """Normalised required skills, so a skill filter is an indexed lookup on any backend."""

    __tablename__ = "task_skills"
    __table_args__ = (Index("ix_task_skills_skill", "skill", "task_id"),)

    task_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(60), primary_key=True)


class TaskAttachment(IdMixin, Base):
    __tablename__ = "task_attachments"

    task_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Stored in the database so an upload commits or rolls back with everything else.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NdaAcceptance(IdMixin, Base):
    __tablename__ = "nda_acceptances"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
