"""Background work of the escrow: what money moves when which event happens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from market.contracts.domain import FINISHED_MILESTONES
from market.contracts.models import Milestone
from market.outbox.registry import subscribe

if TYPE_CHECKING:
    from market.jobs import JobContext


def _next_milestone(
    ctx: JobContext, contract_id: int, after_milestone_id: int | None
) -> int | None:
    with ctx.sessions() as s:
        ids = list(
            s.scalars(
                select(Milestone.id)
                .where(Milestone.contract_id == contract_id)
                .order_by(Milestone.seq)
            )
        )
    if after_milestone_id is None:
        return ids[0] if ids else None
    i = ids.index(after_milestone_id)
    return ids[i + 1] if i + 1 < len(ids) else None


@subscribe("ContractAwarded", name="escrow.fund_first_milestone")
def fund_first_milestone(ctx: JobContext, event: dict[str, Any]) -> None:
    first = _next_milestone(ctx, event["contract_id"], None)
    if first is not None:
        ctx.escrow.fund(first)


@subscribe("MilestoneFundingRequested", name="escrow.fund_requested")
def fund_requested(ctx: JobContext, event: dict[str, Any]) -> None:
    ctx.escrow.fund(event["milestone_id"])


@subscribe("MilestoneAccepted", name="escrow.release_accepted")
def release_accepted(ctx: JobContext, event: dict[str, Any]) -> None:
    ctx.escrow.release(event["milestone_id"])


@subscribe("MilestoneAccepted", "DisputeResolved", name="escrow.fund_next_milestone")
def fund_next_milestone(ctx: JobContext, event: dict[str, Any]) -> None:
    nxt = _next_milestone(ctx, event["contract_id"], event["milestone_id"])
    if nxt is not None:
        ctx.escrow.fund(nxt)


@subscribe("DisputeResolved", name="escrow.settle_dispute")
def settle_dispute(ctx: JobContext, event: dict[str, Any]) -> None:
    if event["to_solver_minor"] > 0:
        ctx.escrow.release(event["milestone_id"], event["to_solver_minor"])
    if event["to_poster_minor"] > 0:
        ctx.escrow.refund(event["milestone_id"], event["to_poster_minor"])


@subscribe("ContractCancelled", name="escrow.refund_cancelled")
def refund_cancelled(ctx: JobContext, event: dict[str, Any]) -> None:
    for milestone_id in event["milestone_ids"]:
        ctx.escrow.refund(milestone_id)


@subscribe("ContractCompleted", name="escrow.refund_leftovers")
def refund_leftovers(ctx: JobContext, event: dict[str, Any]) -> None:
    """Whatever is still held when the contract closes goes back to the poster.

    Not the money of accepted or resolved milestones: release_accepted and settle_dispute
    pay that out, and their messages may run after this one (or be waiting for a retry),
    so a refund here would take the solver's money back (found by
    tests/market/escrow/test_lifecycle_machine.py).
    """
    with ctx.sessions() as s:
        ids = list(
            s.scalars(
                select(Milestone.id).where(
                    Milestone.contract_id == event["contract_id"],
                    Milestone.status.not_in(sorted(FINISHED_MILESTONES)),
                )
            )
        )
    for milestone_id in ids:
        ctx.escrow.refund(milestone_id)
