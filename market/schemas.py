"""Shared request/response types: bounded texts, money, pages. Limits live here once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

import msgspec
from msgspec import Meta

T = TypeVar("T")

# Money is integer minor units (CNY fen). 1 fen .. 100 million yuan.
MAX_AMOUNT_MINOR = 10_000_000_000
AmountMinor = Annotated[int, Meta(gt=0, le=MAX_AMOUNT_MINOR, description="CNY in fen (1/100 yuan)")]

# PostgreSQL text cannot hold NUL (0x00): refuse it here, as a 400, not at the database.
NO_NUL = r"^[^\x00]*$"
Title = Annotated[str, Meta(max_length=200, pattern=NO_NUL)]
Summary = Annotated[str, Meta(max_length=2_000, pattern=NO_NUL)]
LongText = Annotated[str, Meta(max_length=20_000, pattern=NO_NUL)]
Comment = Annotated[str, Meta(max_length=5_000, pattern=NO_NUL)]
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Email = Annotated[
    str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
]
Password = Annotated[str, Meta(min_length=8, max_length=128)]
Tag = Annotated[str, Meta(min_length=1, max_length=60, pattern=NO_NUL)]
Tags = Annotated[list[Tag], Meta(max_length=30)]
Trl = Annotated[int, Meta(ge=1, le=9, description="Technology readiness level")]
# Timestamps must carry their offset: a naive time is ambiguous across time zones.
AwareDatetime = Annotated[
    datetime, Meta(tz=True, description="RFC 3339 with offset, e.g. 2027-03-01T09:00:00+08:00")
]
# Row ids: both backends store 64-bit integers; a larger id is a 400, not a driver overflow.
MAX_ID = 2**62
Id = Annotated[int, Meta(ge=1, le=MAX_ID)]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base for request bodies: unknown fields are an error, not silently dropped."""


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    # False when `total` is a lower bound: very broad listings stop counting early.
    total_is_exact: bool = True
