from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from market.contracts.domain import DisputeOutcome
from market.schemas import NO_NUL, Comment, Input


class AcceptContractInput(Input, kw_only=True):
    """The solver accepts the contract's IP and NDA terms."""

    accept_terms: bool


class CancelContractInput(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=2_000)]


class EscrowOut(msgspec.Struct):
    milestone_id: int
    status: str
    amount_minor: int
    funded_minor: int
    released_minor: int
    refunded_minor: int


class RevisionInput(Input, kw_only=True):
    comment: Annotated[str, Meta(min_length=1, max_length=5_000, pattern=NO_NUL)]


class DisputeInput(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=5_000, pattern=NO_NUL)]


class ResolveDisputeInput(Input, kw_only=True):
    outcome: DisputeOutcome
    solver_share_pct: Annotated[int, Meta(ge=0, le=100)] | None = None
    note: Comment = ""


class RatingInput(Input, kw_only=True):
    score: Annotated[int, Meta(ge=1, le=5)]
    comment: Comment = ""


class SubmissionFileOut(msgspec.Struct):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class SubmissionOut(msgspec.Struct):
    id: int
    milestone_id: int
    version: int
    note: str
    sha256: str
    submitted_by_id: int
    submitted_at: datetime
    review_status: str
    review_comment: str | None
    reviewed_at: datetime | None
    files: list[SubmissionFileOut]


class MilestoneOut(msgspec.Struct):
    id: int
    seq: int
    title: str
    deliverable: str
    amount_minor: int
    due: datetime
    status: str


class ContractOut(msgspec.Struct):
    id: int
    task_id: int
    bid_id: int
    poster_org_id: int
    solver_id: int
    status: str
    price_minor: int
    ip_terms: str
    confidentiality: str
    poster_accepted_by_id: int
    poster_accepted_at: datetime
    solver_accepted_at: datetime | None
    completed_at: datetime | None
    milestones: list[MilestoneOut]
    created_at: datetime


class DisputeOut(msgspec.Struct):
    id: int
    contract_id: int
    milestone_id: int
    opened_by_id: int
    reason: str
    status: str
    outcome: str | None
    solver_share_pct: int | None
    to_solver_minor: int | None
    to_poster_minor: int | None
    resolution_note: str | None
    resolved_at: datetime | None
    created_at: datetime


class RatingOut(msgspec.Struct):
    id: int
    contract_id: int
    rater_id: int
    rated_user_id: int | None
    rated_org_id: int | None
    score: int
    comment: str
    created_at: datetime


class ContractActionsOut(msgspec.Struct):
    """What the caller may do on a contract right now (the web pages' buttons); the
    service checks the same rules again when the action is taken."""

    accept_contract: bool
    submit_milestones: list[int]
    accept_milestones: list[int]
    revise_milestones: list[int]  # the poster may ask for a revision
    dispute_milestones: list[int]  # either party may open a dispute
    rate: bool  # completed, and the caller has not rated it yet
