"""Bid rules in plain Python: states, and a milestone plan that adds up to the price."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from market.errors import IllegalTransition, InvalidInput


class BidStatus(StrEnum):
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    AWARDED = "awarded"


# A solver has at most one bid in these states per task.
LIVE_BID_STATUSES = (BidStatus.SUBMITTED, BidStatus.SHORTLISTED, BidStatus.AWARDED)

TRANSITIONS: dict[str, tuple[frozenset[BidStatus], BidStatus]] = {
    "edit": (frozenset({BidStatus.SUBMITTED, BidStatus.SHORTLISTED}), BidStatus.SUBMITTED),
    "withdraw": (frozenset({BidStatus.SUBMITTED, BidStatus.SHORTLISTED}), BidStatus.WITHDRAWN),
    "shortlist": (frozenset({BidStatus.SUBMITTED}), BidStatus.SHORTLISTED),
    "decline": (frozenset({BidStatus.SUBMITTED, BidStatus.SHORTLISTED}), BidStatus.DECLINED),
    "award": (frozenset({BidStatus.SUBMITTED, BidStatus.SHORTLISTED}), BidStatus.AWARDED),
}

MAX_MILESTONES = 20


def next_status(current: BidStatus, action: str) -> BidStatus:
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise IllegalTransition("bid", current, action)
    if action == "edit":
        return current  # editing keeps a shortlisted bid shortlisted
    return target


class PlannedMilestone(Protocol):
    @property
    def amount_minor(self) -> int: ...
    @property
    def due(self) -> datetime: ...


def check_milestone_plan(
    price_minor: int,
    milestones: Sequence[PlannedMilestone],
    now: datetime,
    delivery_deadline: datetime,
) -> None:
    """The plan pays the whole price, in order, within the task's delivery deadline."""
    if not milestones:
        raise InvalidInput(
            "a bid needs at least one milestone", field="milestones", rule="non_empty"
        )
    if len(milestones) > MAX_MILESTONES:
        raise InvalidInput(
            f"at most {MAX_MILESTONES} milestones", field="milestones", rule="max_count"
        )
    total = sum(m.amount_minor for m in milestones)
    if total != price_minor:
        raise InvalidInput(
            f"milestone amounts add up to {total}, not the price {price_minor}",
            field="milestones",
            rule="sum_equals_price",
        )
    previous: datetime | None = None
    for i, m in enumerate(milestones):
        if m.due <= now:
            raise InvalidInput(
                "a milestone cannot be due in the past", field=f"milestones[{i}].due", rule="future"
            )
        if m.due > delivery_deadline:
            raise InvalidInput(
                "a milestone cannot be due after the task's delivery deadline",
                field=f"milestones[{i}].due",
                rule="within_delivery_deadline",
            )
        if previous is not None and m.due < previous:
            raise InvalidInput(
                "milestones are listed in the order they fall due",
                field=f"milestones[{i}].due",
                rule="ordered",
            )
        previous = m.due
