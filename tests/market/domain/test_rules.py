"""Domain rules in plain Python: no database, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from market.bids.domain import BidStatus, check_milestone_plan
from market.bids.domain import next_status as next_bid_status
from market.contracts.domain import (
    DisputeOutcome,
    MilestoneStatus,
    all_finished,
    next_milestone_status,
    split_amounts,
)
from market.errors import Conflict, IllegalTransition, InvalidInput
from market.tasks.domain import TaskStatus, check_edit, next_status

NOW = datetime(2027, 1, 1, tzinfo=UTC)


@dataclass
class Plan:
    amount_minor: int
    due: datetime


def test_task_lifecycle_follows_the_state_machine() -> None:
    s = TaskStatus.DRAFT
    for action, expected in [
        ("publish", TaskStatus.PUBLISHED),
        ("close_bidding", TaskStatus.BIDDING_CLOSED),
        ("award", TaskStatus.AWARDED),
        ("start", TaskStatus.IN_PROGRESS),
        ("complete", TaskStatus.COMPLETED),
    ]:
        s = next_status(s, action)
        assert s is expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (TaskStatus.PUBLISHED, "publish"),
        (TaskStatus.DRAFT, "award"),
        (TaskStatus.AWARDED, "cancel"),
        (TaskStatus.COMPLETED, "cancel"),
        (TaskStatus.CANCELLED, "publish"),
        (TaskStatus.IN_PROGRESS, "close_bidding"),
    ],
)
def test_illegal_task_transitions_are_refused(status: TaskStatus, action: str) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, action)


def test_edits_that_hurt_bidders_are_refused_only_once_bids_exist() -> None:
    before = {
        "budget_minor": 100,
        "bid_deadline": NOW + timedelta(days=10),
        "delivery_deadline": NOW + timedelta(days=100),
        "ip_terms": "assign",
    }
    cut = {"budget_minor": 90}
    check_edit(TaskStatus.PUBLISHED, False, before, cut)  # no bids yet: fine
    with pytest.raises(Conflict) as e:
        check_edit(TaskStatus.PUBLISHED, True, before, cut)
    assert e.value.field == "budget_minor"
    check_edit(TaskStatus.PUBLISHED, True, before, {"budget_minor": 120})  # a raise is fine
    with pytest.raises(Conflict) as e:
        check_edit(TaskStatus.PUBLISHED, True, before, {"bid_deadline": NOW + timedelta(days=5)})
    assert e.value.field == "bid_deadline"
    check_edit(TaskStatus.PUBLISHED, True, before, {"bid_deadline": NOW + timedelta(days=15)})
    with pytest.raises(Conflict):
        check_edit(TaskStatus.PUBLISHED, True, before, {"ip_terms": "solver_keeps"})
    with pytest.raises(IllegalTransition):
        check_edit(TaskStatus.AWARDED, False, before, {"budget_minor": 200})


def test_milestone_plan_must_sum_to_the_price_in_order_and_on_time() -> None:
    deadline = NOW + timedelta(days=100)
    ok = [Plan(60, NOW + timedelta(days=10)), Plan(40, NOW + timedelta(days=20))]
    check_milestone_plan(100, ok, NOW, deadline)
    with pytest.raises(InvalidInput) as e:
        check_milestone_plan(101, ok, NOW, deadline)
    assert e.value.rule == "sum_equals_price"
    with pytest.raises(InvalidInput) as e:
        check_milestone_plan(100, list(reversed(ok)), NOW, deadline)
    assert e.value.field == "milestones[1].due"
    with pytest.raises(InvalidInput) as e:
        check_milestone_plan(100, [Plan(100, NOW - timedelta(days=1))], NOW, deadline)
    assert e.value.rule == "future"
    with pytest.raises(InvalidInput) as e:
        check_milestone_plan(100, [Plan(100, deadline + timedelta(seconds=1))], NOW, deadline)
    assert e.value.rule == "within_delivery_deadline"
    with pytest.raises(InvalidInput):
        check_milestone_plan(100, [], NOW, deadline)


def test_bid_transitions() -> None:
    assert next_bid_status(BidStatus.SUBMITTED, "shortlist") is BidStatus.SHORTLISTED
    assert next_bid_status(BidStatus.SHORTLISTED, "edit") is BidStatus.SHORTLISTED
    for status, action in [
        (BidStatus.DECLINED, "withdraw"),
        (BidStatus.WITHDRAWN, "award"),
        (BidStatus.AWARDED, "decline"),
        (BidStatus.SHORTLISTED, "shortlist"),
    ]:
        with pytest.raises(IllegalTransition):
            next_bid_status(status, action)


def test_milestone_review_and_dispute_transitions() -> None:
    s = next_milestone_status(MilestoneStatus.OPEN, "submit")
    s = next_milestone_status(s, "request_revision")
    s = next_milestone_status(s, "dispute")
    assert next_milestone_status(s, "resolve") is MilestoneStatus.RESOLVED
    with pytest.raises(IllegalTransition):
        next_milestone_status(MilestoneStatus.OPEN, "accept")
    with pytest.raises(IllegalTransition):
        next_milestone_status(MilestoneStatus.ACCEPTED, "dispute")
    assert all_finished(["accepted", "resolved"])
    assert not all_finished(["accepted", "submitted"])


@pytest.mark.parametrize("amount", [1, 99, 100, 12_345_679, 10_000_000_000])
@pytest.mark.parametrize("pct", [1, 33, 50, 67, 99])
def test_split_loses_no_fen(amount: int, pct: int) -> None:
    to_solver, to_poster = split_amounts(amount, DisputeOutcome.SPLIT, pct)
    assert to_solver + to_poster == amount
    assert to_solver == amount * pct // 100
    assert min(to_solver, to_poster) >= 0


def test_release_refund_and_bad_split() -> None:
    assert split_amounts(500, DisputeOutcome.RELEASE, None) == (500, 0)
    assert split_amounts(500, DisputeOutcome.REFUND, None) == (0, 500)
    for bad in (None, 0, 100):
        with pytest.raises(InvalidInput):
            split_amounts(500, DisputeOutcome.SPLIT, bad)
