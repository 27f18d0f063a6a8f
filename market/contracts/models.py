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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db.base import Base, BigId, IdMixin, TimestampMixin, UTCDateTime, utcnow


class Contract(IdMixin, TimestampMixin, Base):
    __tablename__ = "contracts"

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("tasks.id"), unique=True)
    bid_id: Mapped[int] = mapped_column(BigId, ForeignKey("bids.id"), unique=True)
    poster_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    solver_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    ip_terms: Mapped[str] = mapped_column(String(30))
    confidentiality: Mapped[str] = mapped_column(String(10))
    # Both parties' acceptance of the IP and NDA terms, with who and when.
    poster_accepted_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    poster_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    solver_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    milestones: Mapped[list[Milestone]] = relationship(order_by="Milestone.seq", lazy="selectin")


class Milestone(IdMixin, TimestampMixin, Base):
    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("contract_id", "seq"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contracts.id"))
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    deliverable: Mapped[str] = mapped_column(Text, default="")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30), default="open")


class Submission(IdMixin, Base):
    """One version of a milestone's deliverable, kept for ever as proof of priority."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("milestone_id", "version"),)

    milestone_id: Mapped[int] = mapped_column(BigId, ForeignKey("milestones.id"))
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    # SHA-256 over the note and the files' digests: one fingerprint for the version.
    sha256: Mapped[str] = mapped_column(String(64))
    submitted_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    review_status: Mapped[str] = mapped_column(String(30), default="pending")
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    files: Mapped[list[SubmissionFile]] = relationship(
        order_by="SubmissionFile.id", lazy="selectin"
    )


class SubmissionFile(IdMixin, Base):
    __tablename__ = "submission_files"

    submission_id: Mapped[int] = mapped_column(BigId, ForeignKey("submissions.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Dispute(IdMixin, TimestampMixin, Base):
    __tablename__ = "disputes"
    __table_args__ = (
        Index("ix_disputes_status", "status", "created_at"),
        CheckConstraint(
            "solver_share_pct IS NULL OR (solver_share_pct BETWEEN 0 AND 100)", name="share_range"
        ),
    )

    milestone_id: Mapped[int] = mapped_column(BigId, ForeignKey("milestones.id"), index=True)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contracts.id"))
    opened_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    outcome: Mapped[str | None] = mapped_column(String(20))
    solver_share_pct: Mapped[int | None] = mapped_column(Integer)
    to_solver_minor: Mapped[int | None] = mapped_column(BigInteger)
    to_poster_minor: Mapped[int | None] = mapped_column(BigInteger)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Rating(IdMixin, Base):
    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("contract_id", "rater_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
    )

    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contracts.id"))
    rater_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    # The solver when the poster rates; the posting organisation when the solver rates.
    rated_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    rated_org_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("organisations.id"), index=True
    )
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
