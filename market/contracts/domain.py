"""Contract, milestone and dispute rules in plain Python."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from market.errors import IllegalTransition, InvalidInput


class ContractStatus(StrEnum):
    AWAITING_FUNDING = "awaiting_funding"  # awarded; the first milestone's money is on its way
    PENDING_ACCEPTANCE = "pending_acceptance"  # funded; the solver has not accepted yet
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MilestoneStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    REVISION_REQUESTED = "revision_requested"
    ACCEPTED = "accepted"
    DISPUTED = "disputed"
    RESOLVED = "resolved"  # by an admin's dispute decision
    CANCELLED = "cancelled"  # with the contract, before any work on it was submitted


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DisputeOutcome(StrEnum):
    RELEASE = "release"  # all to the solver
    REFUND = "refund"  # all back to the poster
    SPLIT = "split"  # solver_share_pct to the solver, the rest back


MILESTONE_TRANSITIONS: dict[str, tuple[frozenset[MilestoneStatus], MilestoneStatus]] = {
    "submit": (
        frozenset({MilestoneStatus.OPEN, MilestoneStatus.REVISION_REQUESTED}),
        MilestoneStatus.SUBMITTED,
    ),
    "accept": (frozenset({MilestoneStatus.SUBMITTED}), MilestoneStatus.ACCEPTED),
    "request_revision": (
        frozenset({MilestoneStatus.SUBMITTED}),
        MilestoneStatus.REVISION_REQUESTED,
    ),
    "dispute": (
        frozenset({MilestoneStatus.SUBMITTED, MilestoneStatus.REVISION_REQUESTED}),
        MilestoneStatus.DISPUTED,
    ),
    "resolve": (frozenset({MilestoneStatus.DISPUTED}), MilestoneStatus.RESOLVED),
    "cancel": (
        frozenset({MilestoneStatus.OPEN, MilestoneStatus.REVISION_REQUESTED}),
        MilestoneStatus.CANCELLED,
    ),
}

# Work under review must be decided (accepted, revised or disputed) before cancelling.
IN_REVIEW = frozenset({MilestoneStatus.SUBMITTED, MilestoneStatus.DISPUTED})
OPEN_CONTRACTS = frozenset(
    {ContractStatus.AWAITING_FUNDING, ContractStatus.PENDING_ACCEPTANCE, ContractStatus.ACTIVE}
)

FINISHED_MILESTONES = frozenset({MilestoneStatus.ACCEPTED, MilestoneStatus.RESOLVED})


def next_milestone_status(current: MilestoneStatus, action: str) -> MilestoneStatus:
    allowed, target = MILESTONE_TRANSITIONS[action]
    if current not in allowed:
        raise IllegalTransition("milestone", current, action.replace("_", " "))
    return target


def all_finished(statuses: Iterable[str]) -> bool:
    return all(MilestoneStatus(s) in FINISHED_MILESTONES for s in statuses)


def split_amounts(
    amount_minor: int, outcome: DisputeOutcome, solver_share_pct: int | None
) -> tuple[int, int]:
    """(to the solver, back to the poster) in minor units; integer maths, nothing lost."""
    if outcome is DisputeOutcome.RELEASE:
        return amount_minor, 0
    if outcome is DisputeOutcome.REFUND:
        return 0, amount_minor
    if solver_share_pct is None or not 1 <= solver_share_pct <= 99:
        raise InvalidInput(
            "a split gives the solver between 1 and 99 percent",
            field="solver_share_pct",
            rule="split_range",
        )
    to_solver = amount_minor * solver_share_pct // 100
    return to_solver, amount_minor - to_solver
