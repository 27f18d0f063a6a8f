"""Background work of notifications: which event tells whom what.

Each handler runs for one outbox event (market.outbox.dispatch.run_handler passes the
event's id as `_outbox_id`); NotificationService.notify writes each recipient's
notification once per (event, kind), so a redelivered event notifies nobody twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from market.accounts.models import User
from market.bids.models import Bid
from market.contracts.models import Contract, Dispute, Milestone
from market.notifications.templates import (
    OUTCOMES,
    PARTIES,
    Kind,
    money,
    parse_when,
    task_titles,
    when_en,
    when_zh,
)
from market.outbox.registry import subscribe
from market.tasks.models import Task

if TYPE_CHECKING:
    from market.jobs import JobContext


def _outbox_id(event: dict[str, Any]) -> int:
    return int(event["_outbox_id"])


def _task(ctx: JobContext, task_id: int) -> tuple[Task, dict[str, Any]]:
    task = ctx.notifications.load(Task, task_id)
    return task, task_titles(task.title_zh, task.title_en)


def _contract(ctx: JobContext, contract_id: int) -> tuple[Contract, dict[str, Any]]:
    contract = ctx.notifications.load(Contract, contract_id)
    _, values = _task(ctx, contract.task_id)
    return contract, values


def _milestone(
    ctx: JobContext, event: dict[str, Any]
) -> tuple[Contract, Milestone, dict[str, Any]]:
    contract, values = _contract(ctx, event["contract_id"])
    milestone = ctx.notifications.load(Milestone, event["milestone_id"])
    values |= {"seq": milestone.seq, "milestone": milestone.title}
    return contract, milestone, values


def _to_posters(
    ctx: JobContext,
    event: dict[str, Any],
    kind: Kind,
    org_id: int,
    values: dict[str, Any],
    link: str,
) -> None:
    ns = ctx.notifications
    ns.notify(_outbox_id(event), kind, ns.org_posters(org_id), values, link)


def _to_user(
    ctx: JobContext,
    event: dict[str, Any],
    kind: Kind,
    user_id: int,
    values: dict[str, Any],
    link: str,
) -> None:
    ctx.notifications.notify(_outbox_id(event), kind, [user_id], values, link)


# -- bids ---------------------------------------------------------------------------------


@subscribe("BidPlaced", name="notifications.bid_placed")
def bid_placed(ctx: JobContext, event: dict[str, Any]) -> None:
    task, values = _task(ctx, event["task_id"])
    bid = ctx.notifications.load(Bid, event["bid_id"])
    solver = ctx.notifications.load(User, event["solver_id"])
    values |= {
        "solver": solver.display_name,
        "amount": money(event["price_minor"]),
        "days": bid.duration_days,
    }
    _to_posters(ctx, event, Kind.BID_PLACED, task.org_id, values, f"/bids/{event['bid_id']}")


@subscribe("BidShortlisted", name="notifications.bid_shortlisted")
def bid_shortlisted(ctx: JobContext, event: dict[str, Any]) -> None:
    _, values = _task(ctx, event["task_id"])
    link = f"/bids/{event['bid_id']}"
    _to_user(ctx, event, Kind.BID_SHORTLISTED, event["solver_id"], values, link)


@subscribe("BidDeclined", name="notifications.bid_declined")
def bid_declined(ctx: JobContext, event: dict[str, Any]) -> None:
    _, values = _task(ctx, event["task_id"])
    values["reason"] = event["reason"]
    link = f"/bids/{event['bid_id']}"
    _to_user(ctx, event, Kind.BID_DECLINED, event["solver_id"], values, link)


# -- contracts ----------------------------------------------------------------------------


@subscribe("ContractAwarded", name="notifications.contract_awarded")
def contract_awarded(ctx: JobContext, event: dict[str, Any]) -> None:
    # BidAwarded reports the same fact to the same person: only this one notifies.
    _, values = _task(ctx, event["task_id"])
    values["amount"] = money(event["price_minor"])
    link = f"/contracts/{event['contract_id']}"
    _to_user(ctx, event, Kind.CONTRACT_AWARDED, event["solver_id"], values, link)


@subscribe("ContractFunded", name="notifications.contract_funded")
def contract_funded(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, values = _contract(ctx, event["contract_id"])
    first = contract.milestones[0] if contract.milestones else None
    values["amount"] = money(first.amount_minor if first else contract.price_minor)
    link = f"/contracts/{contract.id}"
    _to_user(ctx, event, Kind.CONTRACT_FUNDED, contract.solver_id, values, link)


@subscribe("MilestoneFunded", name="notifications.milestone_funded")
def milestone_funded(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, milestone, values = _milestone(ctx, event)
    values["amount"] = money(event["amount_minor"])
    link = f"/contracts/{contract.id}"
    _to_posters(ctx, event, Kind.MILESTONE_FUNDED, contract.poster_org_id, values, link)
    # The first milestone's funding reaches the solver as ContractFunded (accept the terms).
    if milestone.seq > 1:
        _to_user(ctx, event, Kind.MILESTONE_READY, contract.solver_id, values, link)


@subscribe("MilestoneFundingFailed", name="notifications.milestone_funding_failed")
def milestone_funding_failed(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    values |= {"amount": money(event["amount_minor"]), "reason": event["reason"]}
    link = f"/contracts/{contract.id}"
    _to_posters(ctx, event, Kind.MILESTONE_FUNDING_FAILED, contract.poster_org_id, values, link)


@subscribe("MilestoneSubmitted", name="notifications.milestone_submitted")
def milestone_submitted(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    values |= {"version": event["version"], "review_days": ctx.settings.review_window_days}
    link = f"/contracts/{contract.id}/milestones/{event['milestone_id']}/submissions"
    _to_posters(ctx, event, Kind.MILESTONE_SUBMITTED, contract.poster_org_id, values, link)


@subscribe("MilestoneRevisionRequested", name="notifications.milestone_revision_requested")
def milestone_revision_requested(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    values["comment"] = event["comment"]
    link = f"/contracts/{contract.id}/milestones/{event['milestone_id']}/submissions"
    _to_user(ctx, event, Kind.MILESTONE_REVISION_REQUESTED, contract.solver_id, values, link)


@subscribe("MilestoneAccepted", name="notifications.milestone_accepted")
def milestone_accepted(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    values["amount"] = money(event["amount_minor"])
    link = f"/contracts/{contract.id}"
    _to_user(ctx, event, Kind.MILESTONE_ACCEPTED, contract.solver_id, values, link)


@subscribe("MilestoneReleased", name="notifications.milestone_released")
def milestone_released(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    values |= {"paid": money(event["to_solver_minor"]), "fee": money(event["fee_minor"])}
    link = f"/contracts/{contract.id}/escrow"
    _to_user(ctx, event, Kind.MILESTONE_RELEASED, contract.solver_id, values, link)


@subscribe("MilestoneRefunded", name="notifications.milestone_refunded")
def milestone_refunded(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    values["amount"] = money(event["amount_minor"])
    link = f"/contracts/{contract.id}/escrow"
    _to_posters(ctx, event, Kind.MILESTONE_REFUNDED, contract.poster_org_id, values, link)


@subscribe("ContractCancelled", name="notifications.contract_cancelled")
def contract_cancelled(ctx: JobContext, event: dict[str, Any]) -> None:
    # Only the poster cancels a contract: the solver is the one to tell.
    contract, values = _contract(ctx, event["contract_id"])
    values["reason"] = event["reason"]
    link = f"/contracts/{contract.id}"
    _to_user(ctx, event, Kind.CONTRACT_CANCELLED, contract.solver_id, values, link)


@subscribe("TaskCancelled", name="notifications.task_cancelled")
def task_cancelled(ctx: JobContext, event: dict[str, Any]) -> None:
    _, values = _task(ctx, event["task_id"])
    values["reason"] = event["reason"]
    bidders = ctx.notifications.waiting_bidders(event["task_id"])
    ctx.notifications.notify(
        _outbox_id(event), Kind.TASK_CANCELLED, bidders, values, f"/tasks/{event['task_id']}"
    )


# -- disputes: both parties ------------------------------------------------------------


def _both_parties(
    ctx: JobContext, event: dict[str, Any], kind: Kind, contract: Contract, values: dict[str, Any]
) -> None:
    ns = ctx.notifications
    parties = [*ns.org_posters(contract.poster_org_id), contract.solver_id]
    ns.notify(_outbox_id(event), kind, parties, values, f"/contracts/{contract.id}")


@subscribe("DisputeOpened", name="notifications.dispute_opened")
def dispute_opened(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    dispute = ctx.notifications.load(Dispute, event["dispute_id"])
    opener = "solver" if dispute.opened_by_id == contract.solver_id else "poster"
    values |= {
        "opener_zh": PARTIES[opener][0],
        "opener_en": PARTIES[opener][1],
        "reason": dispute.reason,
    }
    _both_parties(ctx, event, Kind.DISPUTE_OPENED, contract, values)


@subscribe("DisputeResolved", name="notifications.dispute_resolved")
def dispute_resolved(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    outcome_zh, outcome_en = OUTCOMES.get(event["outcome"], (event["outcome"], event["outcome"]))
    values |= {
        "outcome_zh": outcome_zh,
        "outcome_en": outcome_en,
        "to_solver": money(event["to_solver_minor"]),
        "to_poster": money(event["to_poster_minor"]),
    }
    _both_parties(ctx, event, Kind.DISPUTE_RESOLVED, contract, values)


# -- reminders, queued by the scheduler (NotificationService.schedule_reminders) ----------


@subscribe("BidDeadlineApproaching", name="notifications.bid_deadline_soon")
def bid_deadline_soon(ctx: JobContext, event: dict[str, Any]) -> None:
    task, values = _task(ctx, event["task_id"])
    at = parse_when(event["bid_deadline"])
    values |= {
        "deadline_zh": when_zh(at),
        "deadline_en": when_en(at),
        "bids": ctx.notifications.live_bid_count(task.id),
    }
    link = f"/tasks/{task.id}/bids"
    _to_posters(ctx, event, Kind.BID_DEADLINE_SOON, task.org_id, values, link)


@subscribe("MilestoneDueSoon", name="notifications.milestone_due_soon")
def milestone_due_soon(ctx: JobContext, event: dict[str, Any]) -> None:
    contract, _, values = _milestone(ctx, event)
    at = parse_when(event["due"])
    values |= {"due_zh": when_zh(at), "due_en": when_en(at)}
    link = f"/contracts/{contract.id}"
    _to_user(ctx, event, Kind.MILESTONE_DUE_SOON, contract.solver_id, values, link)


# -- sending ------------------------------------------------------------------------------


@subscribe("NotificationQueued", name="notifications.deliver")
def deliver(ctx: JobContext, event: dict[str, Any]) -> None:
    """E-mail and webhooks of one notification; raises while any fails (the job retries)."""
    ctx.notifications.deliver(event["notification_id"])
