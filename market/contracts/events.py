from __future__ import annotations

from typing import ClassVar

from market.events import DomainEvent


class ContractEvent(DomainEvent, frozen=True):
    aggregate: ClassVar[str] = "contract"
    contract_id: int

    @property
    def aggregate_id(self) -> int:
        return self.contract_id


class ContractAwarded(ContractEvent, frozen=True):
    task_id: int
    bid_id: int
    solver_id: int
    price_minor: int


class ContractAccepted(ContractEvent, frozen=True):
    solver_id: int


class ContractCompleted(ContractEvent, frozen=True):
    task_id: int


class MilestoneSubmitted(ContractEvent, frozen=True):
    milestone_id: int
    version: int
    sha256: str


class MilestoneAccepted(ContractEvent, frozen=True):
    milestone_id: int
    amount_minor: int


class MilestoneRevisionRequested(ContractEvent, frozen=True):
    milestone_id: int
    comment: str


class DisputeOpened(ContractEvent, frozen=True):
    dispute_id: int
    milestone_id: int


class DisputeResolved(ContractEvent, frozen=True):
    dispute_id: int
    milestone_id: int
    outcome: str
    to_solver_minor: int
    to_poster_minor: int


class RatingGiven(ContractEvent, frozen=True):
    rating_id: int
    score: int


class ContractFunded(ContractEvent, frozen=True):
    """The first milestone is in escrow: the award is complete, the solver may accept."""


class ContractCancelled(ContractEvent, frozen=True):
    task_id: int
    reason: str
    # Milestones whose escrow (if any) goes back to the poster.
    milestone_ids: list[int]


class MilestoneFundingRequested(ContractEvent, frozen=True):
    milestone_id: int
