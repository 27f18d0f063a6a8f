from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from market.schemas import (
    NO_NUL,
    AmountMinor,
    AwareDatetime,
    Comment,
    Input,
    LongText,
    Name,
    Title,
)


class MilestonePlanInput(Input, kw_only=True):
    title: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    deliverable: Comment = ""
    amount_minor: AmountMinor
    due: AwareDatetime


class TeamMemberInput(Input, kw_only=True):
    name: Name
    role: Title = ""


class BidInput(Input, kw_only=True):
    price_minor: AmountMinor
    duration_days: Annotated[int, Meta(ge=1, le=3650)]
    proposal: LongText = ""
    milestones: Annotated[list[MilestonePlanInput], Meta(min_length=1, max_length=20)]
    team_members: Annotated[list[TeamMemberInput], Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


class DeclineInput(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=2_000, pattern=NO_NUL)]


class AwardInput(Input, kw_only=True):
    """The poster accepts the task's IP and NDA terms for the contract."""

    accept_terms: bool


class BidMilestoneOut(msgspec.Struct):
    seq: int
    title: str
    deliverable: str
    amount_minor: int
    due: AwareDatetime


class BidOut(msgspec.Struct):
    id: int
    task_id: int
    solver_id: int
    solver_name: str
    status: str
    price_minor: int
    duration_days: int
    proposal: str
    team_members: list[dict[str, str]]
    milestones: list[BidMilestoneOut]
    decline_reason: str | None
    created_at: datetime
    updated_at: datetime
