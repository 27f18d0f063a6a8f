from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.db.base import Base, BigId, IdMixin, JsonDoc, TimestampMixin, UTCDateTime, utcnow


class Organisation(IdMixin, TimestampMixin, Base):
    __tablename__ = "organisations"

    kind: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    # For district organisations: the district they publish key tasks for.
    district: Mapped[str | None] = mapped_column(String(40))


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"))
    language: Mapped[str] = mapped_column(String(5), default="zh")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    profile: Mapped[SolverProfile | None] = relationship(lazy="selectin", uselist=False)


class SolverProfile(TimestampMixin, Base):
    __tablename__ = "solver_profiles"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True)
    headline_zh: Mapped[str] = mapped_column(String(200), default="")
    headline_en: Mapped[str] = mapped_column(String(200), default="")
    skills: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    fields: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    bio_zh: Mapped[str] = mapped_column(Text, default="")
    bio_en: Mapped[str] = mapped_column(Text, default="")
    languages: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    district: Mapped[str | None] = mapped_column(String(40))


class ApiToken(IdMixin, Base):
    """A bearer token; only its SHA-256 is stored, so a database leak leaks no tokens."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(IdMixin, Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),)

    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64), default="")
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
