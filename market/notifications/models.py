"""Notifications: the inbox, each user's channel preferences, integrators' webhook endpoints,
and one delivery row per (notification, e-mail or webhook endpoint)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db.base import Base, BigId, IdMixin, UTCDateTime, utcnow


class Notification(IdMixin, Base):
    """One message to one user about one event, written in Chinese and English.

    (user_id, outbox_id, kind) is unique: a redelivered event finds its notification and
    writes nothing. `inbox` is false when the user turned the in-app inbox off for this
    kind; the row then only anchors the e-mail and webhook deliveries.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "outbox_id", "kind"),
        Index("ix_notifications_inbox", "user_id", "inbox", "id"),
        Index("ix_notifications_unread", "user_id", "inbox", "read_at"),
    )

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox_events.id"))
    title_zh: Mapped[str] = mapped_column(String(400))
    title_en: Mapped[str] = mapped_column(String(400))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    # The API path of the thing the notification is about (/bids/7, /contracts/3).
    link: Mapped[str] = mapped_column(String(200))
    inbox: Mapped[bool] = mapped_column(Boolean, default=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationPreference(Base):
    """A user's choice for one channel and one kind ('*': every kind). No row: enabled."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class WebhookEndpoint(IdMixin, Base):
    """An integrator's URL: every notification of its user is POSTed there, signed."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_user", "user_id", "active"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    url: Mapped[str] = mapped_column(String(2000))
    # Needed in clear to sign; shown to the user once, when the endpoint is created.
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NotificationDelivery(IdMixin, Base):
    """One notification sent over one channel to one target: sent at most once when it
    succeeds, retried while it fails.

    status: pending -> sending (claimed by a worker until `claimed_until`) -> sent, or back
    to retrying with `last_error`. `target` is the e-mail address or the endpoint id.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "target"),
        Index("ix_notification_deliveries_status", "status", "id"),
    )

    notification_id: Mapped[int] = mapped_column(BigId, ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(254))
    endpoint_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("webhook_endpoints.id"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledReminder(Base):
    """A reminder the scheduler has queued, by key: each is sent once."""

    __tablename__ = "scheduled_reminders"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
