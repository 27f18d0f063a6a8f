from __future__ import annotations

from typing import ClassVar

from market.events import DomainEvent


class EscrowEvent(DomainEvent, frozen=True):
    aggregate: ClassVar[str] = "milestone"
    contract_id: int
    milestone_id: int
    amount_minor: int

    @property
    def aggregate_id(self) -> int:
        return self.milestone_id


class MilestoneFunded(EscrowEvent, frozen=True):
    payment_intent: str


class MilestoneReleased(EscrowEvent, frozen=True):
    """amount_minor left escrow; to_solver_minor reached the solver, the rest is the fee."""

    to_solver_minor: int
    fee_minor: int
    transfer: str


class MilestoneRefunded(EscrowEvent, frozen=True):
    refund: str


class MilestoneFundingFailed(EscrowEvent, frozen=True):
    reason: str
