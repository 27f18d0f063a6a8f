"""From rows to search documents: the one mapping the indexer, the reindex and matching use.

What goes into the index is what anyone may see: a task under NDA is indexed without its
description (its title, summary and skills are public); drafts and cancelled tasks are not
indexed at all; solvers are active users with the solver role, with their reputation
(average rating received, contracts completed) computed from ratings and contracts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.domain import Role
from market.accounts.models import SolverProfile, User
from market.contracts.domain import ContractStatus
from market.contracts.models import Contract, Rating
from market.tasks.domain import Confidentiality, TaskStatus
from market.tasks.models import Task
from search.port import SolverDocument, TaskDocument

# Task statuses with a document in the index (search filters by status, published first).
INDEXED_STATUSES = frozenset(
    {
        TaskStatus.PUBLISHED,
        TaskStatus.BIDDING_CLOSED,
        TaskStatus.AWARDED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.COMPLETED,
    }
)
BATCH = 500


def epoch(dt: datetime | None) -> int:
    return int(dt.timestamp()) if dt is not None else 0


def task_document(task: Task) -> TaskDocument:
    public = task.confidentiality == Confidentiality.PUBLIC
    return TaskDocument(
        id=task.id,
        title_zh=task.title_zh,
        title_en=task.title_en,
        summary_zh=task.summary_zh,
        summary_en=task.summary_en,
        description_zh=task.description_zh if public else "",
        description_en=task.description_en if public else "",
        skills=list(task.required_skills),
        industry=task.industry,
        district=task.district,
        zone=task.zone,
        status=task.status,
        trl_current=task.trl_current,
        trl_target=task.trl_target,
        budget_minor=task.budget_minor,
        bid_deadline=epoch(task.bid_deadline),
        published_at=epoch(task.published_at or task.created_at),
        poster_org_id=task.org_id,
    )


def solver_document(
    user: User, profile: SolverProfile | None, rating_avg: float | None, completed_count: int
) -> SolverDocument:
    p = profile
    return SolverDocument(
        id=user.id,
        display_name=user.display_name,
        headline_zh=p.headline_zh if p else "",
        headline_en=p.headline_en if p else "",
        skills=list(p.skills) if p else [],
        fields=list(p.fields) if p else [],
        bio_zh=p.bio_zh if p else "",
        bio_en=p.bio_en if p else "",
        languages=list(p.languages) if p else [],
        district=p.district if p else None,
        rating_avg=rating_avg,
        completed_count=completed_count,
    )


def is_indexed(task: Task) -> bool:
    return task.status in INDEXED_STATUSES


def is_indexed_solver(user: User) -> bool:
    return user.role == Role.SOLVER and user.is_active


# -- reputation ---------------------------------------------------------------------------


def solver_stats(
    s: Session, solver_ids: Iterable[int] | None = None
) -> dict[int, tuple[float | None, int]]:
    """solver id -> (average rating received, rounded to 2 places; contracts completed).
    Only solvers with a rating or a completed contract appear; `None`: every solver."""
    ratings = select(Rating.rated_user_id, func.avg(Rating.score)).where(
        Rating.rated_user_id.is_not(None)
    )
    completed = select(Contract.solver_id, func.count()).where(
        Contract.status == ContractStatus.COMPLETED
    )
    if solver_ids is not None:
        ids = list(solver_ids)
        if not ids:
            return {}
        ratings = ratings.where(Rating.rated_user_id.in_(ids))
        completed = completed.where(Contract.solver_id.in_(ids))
    out: dict[int, tuple[float | None, int]] = {}
    for uid, avg in s.execute(ratings.group_by(Rating.rated_user_id)):
        out[uid] = (round(float(avg), 2) if avg is not None else None, 0)
    for uid, count in s.execute(completed.group_by(Contract.solver_id)):
        out[uid] = (out.get(uid, (None, 0))[0], int(count))
    return out


# -- loading --------------------------------------------------------------------------------


def load_task_document(s: Session, task_id: int) -> TaskDocument | None:
    """The task's document, or None when it must not be in the index."""
    task = s.get(Task, task_id)
    return task_document(task) if task is not None and is_indexed(task) else None


def load_solver_document(s: Session, user_id: int) -> SolverDocument | None:
    user = s.get(User, user_id)
    if user is None or not is_indexed_solver(user):
        return None
    avg, count = solver_stats(s, [user.id]).get(user.id, (None, 0))
    return solver_document(user, user.profile, avg, count)


def solver_documents(s: Session, users: Sequence[User]) -> dict[int, SolverDocument]:
    stats = solver_stats(s, [u.id for u in users])
    return {
        u.id: solver_document(u, u.profile, *stats.get(u.id, (None, 0)))
        for u in users
        if is_indexed_solver(u)
    }


def count_documents(s: Session) -> tuple[int, int]:
    tasks = s.scalar(
        select(func.count()).select_from(Task).where(Task.status.in_(list(INDEXED_STATUSES)))
    )
    solvers = s.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.SOLVER, User.is_active.is_(True))
    )
    return tasks or 0, solvers or 0


def iter_task_documents(s: Session) -> Iterator[TaskDocument]:
    """Every indexable task, by id, read in batches (keyset pagination)."""
    last = 0
    while True:
        batch = list(
            s.scalars(
                select(Task)
                .where(Task.status.in_(list(INDEXED_STATUSES)), Task.id > last)
                .order_by(Task.id)
                .limit(BATCH)
            )
        )
        if not batch:
            return
        for task in batch:
            yield task_document(task)
        last = batch[-1].id
        s.expunge_all()


def iter_solver_documents(s: Session) -> Iterator[SolverDocument]:
    stats = solver_stats(s)
    last = 0
    while True:
        batch = list(
            s.scalars(
                select(User)
                .where(User.role == Role.SOLVER, User.is_active.is_(True), User.id > last)
                .order_by(User.id)
                .limit(BATCH)
            )
        )
        if not batch:
            return
        for user in batch:
            yield solver_document(user, user.profile, *stats.get(user.id, (None, 0)))
        last = batch[-1].id
        s.expunge_all()
