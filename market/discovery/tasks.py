"""Background work of discovery: keep the search index in step with the database.

Every handler reads the row's current state and upserts or deletes its document, so a
redelivered, late or out-of-order event leaves the index right (the last run wins with
the latest state). A backend that is down makes the handler raise: the worker retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from market.notifications.templates import Kind, task_titles
from market.outbox.registry import subscribe
from market.tasks.models import Task

if TYPE_CHECKING:
    from market.jobs import JobContext

TASK_EVENTS = (
    "TaskPublished",
    "TaskEdited",
    "TaskBiddingClosed",
    "TaskCancelled",
    "TaskAwarded",
    "TaskStarted",
    "TaskCompleted",
)


@subscribe(*TASK_EVENTS, name="discovery.index_task")
def index_task(ctx: JobContext, event: dict[str, Any]) -> None:
    ctx.discovery.index_task(int(event["task_id"]))


@subscribe("SolverProfileChanged", name="discovery.index_solver")
def index_solver(ctx: JobContext, event: dict[str, Any]) -> None:
    ctx.discovery.index_solver(int(event["user_id"]))


@subscribe("ContractCompleted", name="discovery.index_solver_completed")
def index_solver_completed(ctx: JobContext, event: dict[str, Any]) -> None:
    """One more completed contract for the solver."""
    ctx.discovery.index_contract_solver(int(event["contract_id"]))


@subscribe("RatingGiven", name="discovery.index_solver_rating")
def index_solver_rating(ctx: JobContext, event: dict[str, Any]) -> None:
    """A new rating moves the rated solver's average."""
    ctx.discovery.index_rated_solver(int(event["rating_id"]))


@subscribe("TaskPublished", name="discovery.saved_search_hits")
def saved_search_hits(ctx: JobContext, event: dict[str, Any]) -> None:
    """Record the saved searches the new task matches and tell their owners (once per
    user and event: the notification is keyed on the outbox id)."""
    task_id = int(event["task_id"])
    matches = ctx.discovery.match_saved_searches(task_id)
    if not matches:
        return
    row = ctx.notifications.load(Task, task_id)
    values = task_titles(row.title_zh, row.title_en)
    for match in matches:
        ctx.notifications.notify(
            int(event["_outbox_id"]),
            Kind.SAVED_SEARCH_MATCH,
            [match.user_id],
            values
            | {
                "search": "、".join(match.names),
                "search_en": ", ".join(f"“{n}”" for n in match.names),
            },
            f"/tasks/{task_id}",
        )
