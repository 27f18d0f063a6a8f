from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from market.notifications.templates import Kind
from market.schemas import NO_NUL, Input

MAX_WEBHOOKS_PER_USER = 10
MAX_PREFERENCES = 3 * (len(Kind) + 1)


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    WEBHOOK = "webhook"


# A kind of notification, or '*' for all of them.
KindOrAll = Annotated[
    str,
    Meta(
        max_length=40,
        pattern="^(\\*|" + "|".join(k.value for k in Kind) + ")$",
        description="a notification kind, or '*' for every kind",
    ),
]


class NotificationOut(msgspec.Struct):
    id: int
    kind: str
    # In the caller's language; both languages follow.
    title: str
    body: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str
    read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationPage(msgspec.Struct):
    items: list[NotificationOut]
    total: int
    unread: int
    page: int
    page_size: int


class ReadAllOut(msgspec.Struct):
    marked: int


class PreferenceInput(Input, kw_only=True):
    channel: Channel
    kind: KindOrAll
    enabled: bool


class PreferencesInput(Input, kw_only=True):
    """The complete set: rows left out go back to the default (enabled)."""

    preferences: Annotated[list[PreferenceInput], Meta(max_length=MAX_PREFERENCES)]


class PreferenceOut(msgspec.Struct):
    channel: str
    kind: str
    enabled: bool


class EffectiveOut(msgspec.Struct):
    kind: str
    inbox: bool
    email: bool
    webhook: bool


class PreferencesOut(msgspec.Struct):
    preferences: list[PreferenceOut]
    # What applies to each kind: a kind's own row, else its channel's '*' row, else enabled.
    effective: list[EffectiveOut]


WebhookUrl = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2000,
        pattern=r"^[hH][tT][tT][pP][sS]?://[^\s\x00]+$",
        description="http:// or https:// URL receiving the signed POSTs",
    ),
]


class WebhookInput(Input, kw_only=True):
    url: WebhookUrl
    description: Annotated[str, Meta(max_length=200, pattern=NO_NUL)] = ""


class WebhookOut(msgspec.Struct):
    id: int
    url: str
    description: str
    active: bool
    created_at: datetime
    # Only in the answer to its creation: store it, it is not shown again.
    secret: str | None = None
