"""Task rules in plain Python: the state machine and the edits that protect bidders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from market.errors import Conflict, IllegalTransition, InvalidInput


class TaskStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    BIDDING_CLOSED = "bidding_closed"
    AWARDED = "awarded"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class BiddingMode(StrEnum):
    OPEN = "open"  # bidders see each other's bids
    SEALED = "sealed"  # only the poster sees bids


class IpTerms(StrEnum):
    ASSIGN = "assign"
    EXCLUSIVE_LICENCE = "exclusive_licence"
    NON_EXCLUSIVE_LICENCE = "non_exclusive_licence"
    SOLVER_KEEPS = "solver_keeps"


class Confidentiality(StrEnum):
    PUBLIC = "public"
    NDA = "nda"  # details only after the solver accepts the NDA


# action -> (allowed from, to)
TRANSITIONS: dict[str, tuple[frozenset[TaskStatus], TaskStatus]] = {
    "publish": (frozenset({TaskStatus.DRAFT}), TaskStatus.PUBLISHED),
    "close_bidding": (frozenset({TaskStatus.PUBLISHED}), TaskStatus.BIDDING_CLOSED),
    "award": (frozenset({TaskStatus.PUBLISHED, TaskStatus.BIDDING_CLOSED}), TaskStatus.AWARDED),
    "start": (frozenset({TaskStatus.AWARDED}), TaskStatus.IN_PROGRESS),
    "complete": (frozenset({TaskStatus.IN_PROGRESS}), TaskStatus.COMPLETED),
    # A contract cancelled before its work was delivered takes its task with it.
    "cancel_contract": (
        frozenset({TaskStatus.AWARDED, TaskStatus.IN_PROGRESS}),
        TaskStatus.CANCELLED,
    ),
    "cancel": (
        frozenset({TaskStatus.DRAFT, TaskStatus.PUBLISHED, TaskStatus.BIDDING_CLOSED}),
        TaskStatus.CANCELLED,
    ),
}

# How far ahead a delivery deadline may lie (as a bid's duration_days, ten years). It also
# keeps every deadline, and every milestone due date bounded by it, convertible to UTC.
MAX_HORIZON = timedelta(days=3650)

PUBLIC_STATUSES = frozenset(TaskStatus) - {TaskStatus.DRAFT}
EDITABLE_STATUSES = frozenset({TaskStatus.DRAFT, TaskStatus.PUBLISHED, TaskStatus.BIDDING_CLOSED})
# Changing these after bids exist would change the deal bidders priced.
TERMS_FIXED_ONCE_BID = ("bidding_mode", "ip_terms", "confidentiality")


def next_status(current: TaskStatus, action: str) -> TaskStatus:
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise IllegalTransition("task", current, action.replace("_", " "))
    return target


def check_schedule(
    bid_deadline: datetime, delivery_deadline: datetime, now: datetime, *, field_prefix: str = ""
) -> None:
    if bid_deadline <= now:
        raise InvalidInput(
            "the bid deadline must be in the future",
            field=f"{field_prefix}bid_deadline",
            rule="future",
        )
    if delivery_deadline <= bid_deadline:
        raise InvalidInput(
            "the delivery deadline must come after the bid deadline",
            field=f"{field_prefix}delivery_deadline",
            rule="after_bid_deadline",
        )
    if delivery_deadline > now + MAX_HORIZON:
        raise InvalidInput(
            "the delivery deadline is at most ten years ahead",
            field=f"{field_prefix}delivery_deadline",
            rule="horizon",
        )


def check_trl(current: int, target: int) -> None:
    if target < current:
        raise InvalidInput(
            "the target TRL cannot be below the current TRL",
            field="trl_target",
            rule="gte_trl_current",
        )


def check_texts(title_zh: str, title_en: str) -> None:
    if not (title_zh.strip() or title_en.strip()):
        raise InvalidInput(
            "give a title in Chinese, English or both",
            field="title_zh",
            rule="required_one_language",
        )


def check_edit(
    status: TaskStatus,
    has_bids: bool,
    before: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> None:
    """Reject edits that would move the goalposts for people who already bid."""
    if status not in EDITABLE_STATUSES:
        raise IllegalTransition("task", status, "edit")
    if not has_bids:
        return
    if "budget_minor" in changes and changes["budget_minor"] < before["budget_minor"]:
        raise Conflict(
            "the budget cannot be cut once bids exist",
            field="budget_minor",
            rule="no_budget_cut_after_bids",
        )
    for name in ("bid_deadline", "delivery_deadline"):
        if name in changes and changes[name] < before[name]:
            raise Conflict(
                f"the {name.replace('_', ' ')} cannot be brought forward once bids exist",
                field=name,
                rule="no_shortening_after_bids",
            )
    for name in TERMS_FIXED_ONCE_BID:
        if name in changes and changes[name] != before[name]:
            raise Conflict(
                f"{name.replace('_', ' ')} cannot change once bids exist",
                field=name,
                rule="terms_fixed_after_bids",
            )
