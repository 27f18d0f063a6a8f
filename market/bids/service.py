"""Bids: place, edit, withdraw until the deadline; the poster shortlists or declines."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy import Row, Table, TextClause, bindparam, insert, select, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.domain import CurrentUser, Role
from market.accounts.models import User
from market.accounts.service import (
    AUTHENTICATE,
    AccountService,
    current_user_of,
    invalid_token,
    token_params,
)
from market.bids import domain
from market.bids.domain import LIVE_BID_STATUSES, BidStatus
from market.bids.events import BidDeclined, BidEdited, BidPlaced, BidShortlisted, BidWithdrawn
from market.bids.models import Bid, BidMilestone
from market.bids.schemas import BidInput, BidMilestoneOut, BidOut
from market.db.base import JsonDoc, utcnow
from market.errors import Conflict, Forbidden, NotFound
from market.settings import Settings
from market.tasks.domain import BiddingMode, TaskStatus
from market.tasks.models import Task
from market.tasks.service import TaskService, can_manage
from market.uow import UnitOfWork

_BIDS: Table = Bid.__table__  # type: ignore[assignment]
_MILESTONES: Table = BidMilestone.__table__  # type: ignore[assignment]
_LOCKED_TASK_COLUMNS = (
    Task.id,
    Task.status,
    Task.org_id,
    Task.bid_deadline,
    Task.delivery_deadline,
    Task.confidentiality,
)
_LOCK_TASK = select(*_LOCKED_TASK_COLUMNS).where(Task.id == bindparam("task_id")).with_for_update()
# The same row joined with the token's owner (AUTHENTICATE's columns, as caller_*): no row
# when either is missing.
_CALLER = AUTHENTICATE.subquery("caller")
_LOCK_TASK_AS_CALLER = (
    select(*_LOCKED_TASK_COLUMNS, *(c.label(f"caller_{c.name}") for c in _CALLER.c))
    .join_from(Task, _CALLER, true())
    .where(Task.id == bindparam("task_id"))
    .with_for_update(of=Task)
)


def _ensure_solver(user: CurrentUser) -> None:
    if user.role is not Role.SOLVER:
        raise Forbidden("only solvers bid", rule="role")


# PostgreSQL: the bid, its milestones, its audit entry and its BidPlaced outbox event in
# one statement (data-modifying CTEs), one round trip instead of four; the rows are those
# the portable path below writes (that path and UnitOfWork.record_now stay the reference;
# tests/market/test_tasks.py checks both). The milestones come as one JSON array (encoded
# by msgspec, much cheaper than binding arrays of values), so the statement text is the
# same for any number of them (one prepared plan).
_PLACE_PG: TextClause = text(
    """
    WITH b AS (
        INSERT INTO bids (task_id, solver_id, status, price_minor, duration_days, proposal,
                          team_members, created_at, updated_at)
        VALUES (:task_id, :solver_id, :status, :price_minor, :duration_days, :proposal,
                :team_members, :now, :now)
        RETURNING id
    ), m AS (
        INSERT INTO bid_milestones (bid_id, seq, title, deliverable, amount_minor, due)
        SELECT b.id, x.seq, x.title, x.deliverable, x.amount_minor, x.due
        FROM b, ROWS FROM (json_to_recordset(CAST(:milestones AS json))
                    AS (title text, deliverable text, amount_minor bigint, due timestamptz))
                WITH ORDINALITY AS x(title, deliverable, amount_minor, due, seq)
    ), a AS (
        INSERT INTO audit_entries (actor_id, entity, entity_id, action, from_state, to_state,
                                   data, at)
        SELECT :solver_id, 'bid', b.id, 'place', NULL, :status, CAST('{}' AS jsonb), :now
        FROM b
    ), o AS (
        INSERT INTO outbox_events (event_type, aggregate, aggregate_id, payload, created_at,
                                   attempts)
        SELECT :event_type, :aggregate, b.id,
               :payload || jsonb_build_object('bid_id', b.id), :now, 0
        FROM b
    )
    SELECT id FROM b
    """
).bindparams(bindparam("team_members", type_=JsonDoc), bindparam("payload", type_=JSONB))


def bid_out(bid: Bid, solver_name: str) -> BidOut:
    return BidOut(
        id=bid.id,
        task_id=bid.task_id,
        solver_id=bid.solver_id,
        solver_name=solver_name,
        status=bid.status,
        price_minor=bid.price_minor,
        duration_days=bid.duration_days,
        proposal=bid.proposal,
        team_members=list(bid.team_members),
        milestones=[
            BidMilestoneOut(
                seq=m.seq,
                title=m.title,
                deliverable=m.deliverable,
                amount_minor=m.amount_minor,
                due=m.due,
            )
            for m in bid.milestones
        ],
        decline_reason=bid.decline_reason,
        created_at=bid.created_at,
        updated_at=bid.updated_at,
    )


class _OpenForBids(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def bid_deadline(self) -> datetime: ...


def _ensure_open_for_bids(task: _OpenForBids, action: str) -> None:
    if task.status != TaskStatus.PUBLISHED:
        raise Conflict(
            f"bidding on this task is closed (it is {task.status})",
            field="task_id",
            rule="bidding_closed",
        )
    if task.bid_deadline <= utcnow():
        raise Conflict(
            f"the bid deadline has passed; cannot {action}",
            field="bid_deadline",
            rule="deadline_passed",
        )


def _apply(bid: Bid, data: BidInput) -> None:
    bid.price_minor = data.price_minor
    bid.duration_days = data.duration_days
    bid.proposal = data.proposal
    bid.team_members = [{"name": t.name, "role": t.role} for t in data.team_members]
    bid.milestones = [
        BidMilestone(
            seq=i + 1,
            title=m.title,
            deliverable=m.deliverable,
            amount_minor=m.amount_minor,
            due=m.due,
        )
        for i, m in enumerate(data.milestones)
    ]


class BidService:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    def place(self, user: CurrentUser, task_id: int, data: BidInput) -> BidOut:
        _ensure_solver(user)
        with UnitOfWork(self._sessions) as uow:
            # Locking the task orders this bid against closing, awarding and deadline edits.
            task = uow.session.connection().execute(_LOCK_TASK, {"task_id": task_id})
            return self._place_on_locked(uow, user, task_id, task.one_or_none(), data)

    def place_with_token(self, token: str, task_id: int, data: BidInput) -> BidOut:
        """`place` for the caller holding `token` (the API's hot path): the token is checked
        by the statement that locks the task, one round trip and one connection for both.
        The same answers as authenticating first: 401, then 403, then 404."""
        with UnitOfWork(self._sessions) as uow:
            conn = uow.session.connection()
            row = conn.execute(
                _LOCK_TASK_AS_CALLER, {"task_id": task_id, **token_params(token)}
            ).one_or_none()
            if row is None:
                # No such task or no such token: which one decides the answer.
                user = AccountService.authenticate_on(conn, token)
                if user is None:
                    raise invalid_token()
                _ensure_solver(user)
                raise NotFound("no such task", field="task_id")
            user = current_user_of(row._mapping, prefix="caller_")
            _ensure_solver(user)
            return self._place_on_locked(uow, user, task_id, row, data)

    def _place_on_locked(
        self,
        uow: UnitOfWork,
        user: CurrentUser,
        task_id: int,
        task: Row[Any] | None,
        data: BidInput,
    ) -> BidOut:
        # The hot path of the marketplace: columns-only reads and plain INSERTs, no ORM
        # objects to build and flush. The rules are the same as everywhere else.
        s = uow.session
        conn = s.connection()
        if task is None or not TaskService.visible_to(task, user):
            raise NotFound("no such task", field="task_id")
        _ensure_open_for_bids(task, "bid")
        if not TaskService.details_visible(s, task, user):
            raise Forbidden(
                "accept the task's NDA before bidding", field="task_id", rule="nda_required"
            )
        now = utcnow()
        domain.check_milestone_plan(data.price_minor, data.milestones, now, task.delivery_deadline)
        team = [{"name": t.name, "role": t.role} for t in data.team_members]
        on_postgresql = conn.dialect.name == "postgresql"
        try:
            # No look-up first: the partial unique index uq_bids_live_task_solver is
            # the one-live-bid rule, under concurrency too.
            if on_postgresql:
                bid_id = conn.execute(
                    _PLACE_PG, self._place_pg_params(user, task_id, data, team, now)
                ).scalar_one()
            else:
                bid_id = conn.execute(
                    insert(_BIDS).returning(_BIDS.c.id),
                    {
                        "task_id": task_id,
                        "solver_id": user.id,
                        "status": BidStatus.SUBMITTED,
                        "price_minor": data.price_minor,
                        "duration_days": data.duration_days,
                        "proposal": data.proposal,
                        "team_members": team,
                        "created_at": now,
                        "updated_at": now,
                    },
                ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(
                "you already have a live bid on this task; edit it instead",
                field="task_id",
                rule="one_live_bid",
            ) from exc
        if not on_postgresql:
            # One prepared INSERT for all the milestones (executemany: one round trip).
            conn.execute(
                insert(_MILESTONES),
                [
                    {
                        "bid_id": bid_id,
                        "seq": i + 1,
                        "title": m.title,
                        "deliverable": m.deliverable,
                        "amount_minor": m.amount_minor,
                        "due": m.due,
                    }
                    for i, m in enumerate(data.milestones)
                ],
            )
            uow.record_now(
                actor_id=user.id,
                entity="bid",
                entity_id=bid_id,
                action="place",
                to_state=BidStatus.SUBMITTED,
                event=BidPlaced(
                    bid_id=bid_id,
                    task_id=task_id,
                    solver_id=user.id,
                    price_minor=data.price_minor,
                ),
            )
        uow.commit()
        return BidOut(
            id=bid_id,
            task_id=task_id,
            solver_id=user.id,
            solver_name=user.display_name,
            status=BidStatus.SUBMITTED,
            price_minor=data.price_minor,
            duration_days=data.duration_days,
            proposal=data.proposal,
            team_members=team,
            milestones=[
                BidMilestoneOut(
                    seq=i + 1,
                    title=m.title,
                    deliverable=m.deliverable,
                    amount_minor=m.amount_minor,
                    due=m.due,
                )
                for i, m in enumerate(data.milestones)
            ],
            decline_reason=None,
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def _place_pg_params(
        user: CurrentUser,
        task_id: int,
        data: BidInput,
        team: list[dict[str, str]],
        now: datetime,
    ) -> dict[str, object]:
        # The event is built here, as record_now would; its bid_id is filled in by the
        # statement (the id does not exist before it runs).
        event = BidPlaced(
            bid_id=0, task_id=task_id, solver_id=user.id, price_minor=data.price_minor
        )
        return {
            "task_id": task_id,
            "solver_id": user.id,
            "status": BidStatus.SUBMITTED.value,
            "price_minor": data.price_minor,
            "duration_days": data.duration_days,
            "proposal": data.proposal,
            "team_members": team,
            "now": now,
            # Their order in the array is their seq (WITH ORDINALITY).
            "milestones": msgspec.json.encode(data.milestones).decode(),
            "event_type": event.name,
            "aggregate": event.aggregate,
            "payload": event.payload(),
        }

    def edit(self, user: CurrentUser, bid_id: int, data: BidInput) -> BidOut:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            bid, task = self._own_bid_for_update(s, user, bid_id)
            target = domain.next_status(BidStatus(bid.status), "edit")
            _ensure_open_for_bids(task, "edit the bid")
            domain.check_milestone_plan(
                data.price_minor, data.milestones, utcnow(), task.delivery_deadline
            )
            _apply(bid, data)
            bid.status = target
            bid.updated_at = utcnow()
            uow.record(
                actor_id=user.id,
                entity="bid",
                entity_id=bid.id,
                action="edit",
                from_state=bid.status,
                to_state=target,
                event=BidEdited(
                    bid_id=bid.id, task_id=task.id, solver_id=user.id, price_minor=bid.price_minor
                ),
            )
            uow.commit()
            return bid_out(bid, user.display_name)

    def withdraw(self, user: CurrentUser, bid_id: int) -> BidOut:
        with UnitOfWork(self._sessions) as uow:
            bid, task = self._own_bid_for_update(uow.session, user, bid_id)
            target = domain.next_status(BidStatus(bid.status), "withdraw")
            if task.bid_deadline <= utcnow() or task.status != TaskStatus.PUBLISHED:
                raise Conflict(
                    "bids can be withdrawn only until the bid deadline",
                    field="bid_deadline",
                    rule="deadline_passed",
                )
            self._move(
                uow,
                user,
                bid,
                "withdraw",
                target,
                BidWithdrawn(bid_id=bid.id, task_id=task.id, solver_id=bid.solver_id),
            )
            uow.commit()
            return bid_out(bid, user.display_name)

    def shortlist(self, user: CurrentUser, bid_id: int) -> BidOut:
        with UnitOfWork(self._sessions) as uow:
            bid, _task = self._managed_bid_for_update(uow.session, user, bid_id)
            target = domain.next_status(BidStatus(bid.status), "shortlist")
            self._move(
                uow,
                user,
                bid,
                "shortlist",
                target,
                BidShortlisted(bid_id=bid.id, task_id=bid.task_id, solver_id=bid.solver_id),
            )
            uow.commit()
            return bid_out(bid, self._name(uow.session, bid.solver_id))

    def decline(self, user: CurrentUser, bid_id: int, reason: str) -> BidOut:
        with UnitOfWork(self._sessions) as uow:
            bid, _task = self._managed_bid_for_update(uow.session, user, bid_id)
            target = domain.next_status(BidStatus(bid.status), "decline")
            bid.decline_reason = reason
            self._move(
                uow,
                user,
                bid,
                "decline",
                target,
                BidDeclined(
                    bid_id=bid.id, task_id=bid.task_id, solver_id=bid.solver_id, reason=reason
                ),
                {"reason": reason},
            )
            uow.commit()
            return bid_out(bid, self._name(uow.session, bid.solver_id))

    # -- queries --------------------------------------------------------------------------
    def get(self, user: CurrentUser, bid_id: int) -> BidOut:
        with self._sessions() as s:
            bid = s.get(Bid, bid_id)
            task = s.get(Task, bid.task_id) if bid else None
            if bid is None or task is None or not self._may_see(s, user, task, bid):
                raise NotFound("no such bid", field="bid_id")
            return bid_out(bid, self._name(s, bid.solver_id))

    def list_for_task(self, user: CurrentUser, task_id: int) -> list[BidOut]:
        """Posters see every bid; in open mode bidders see the live bids; otherwise your own."""
        with self._sessions() as s:
            task = s.get(Task, task_id)
            if task is None or not TaskService.visible_to(task, user):
                raise NotFound("no such task", field="task_id")
            stmt = (
                select(Bid, User.display_name)
                .join(User, User.id == Bid.solver_id)
                .where(Bid.task_id == task.id)
            )
            if not can_manage(user, task):
                is_bidder = s.scalar(
                    select(Bid.id).where(
                        Bid.task_id == task.id,
                        Bid.solver_id == user.id,
                        Bid.status.in_(LIVE_BID_STATUSES),
                    )
                )
                if is_bidder and task.bidding_mode == BiddingMode.OPEN:
                    stmt = stmt.where(
                        (Bid.status.in_(LIVE_BID_STATUSES)) | (Bid.solver_id == user.id)
                    )
                elif user.role is Role.SOLVER:
                    stmt = stmt.where(Bid.solver_id == user.id)
                else:
                    raise Forbidden(
                        "only the poster and, in open bidding, the bidders see bids",
                        rule="bid_visibility",
                    )
            return [
                bid_out(b, name) for b, name in s.execute(stmt.order_by(Bid.created_at, Bid.id))
            ]

    def list_mine(self, user: CurrentUser) -> list[BidOut]:
        with self._sessions() as s:
            bids = s.scalars(
                select(Bid)
                .where(Bid.solver_id == user.id)
                .order_by(Bid.created_at.desc(), Bid.id.desc())
            )
            return [bid_out(b, user.display_name) for b in bids]

    # -- internals ----------------------------------------------------------------------------
    @staticmethod
    def _may_see(s: Session, user: CurrentUser, task: Task, bid: Bid) -> bool:
        if bid.solver_id == user.id or can_manage(user, task):
            return True
        if task.bidding_mode != BiddingMode.OPEN or bid.status not in LIVE_BID_STATUSES:
            return False
        return bool(
            s.scalar(
                select(Bid.id).where(
                    Bid.task_id == task.id,
                    Bid.solver_id == user.id,
                    Bid.status.in_(LIVE_BID_STATUSES),
                )
            )
        )

    @staticmethod
    def _name(s: Session, user_id: int) -> str:
        return s.scalar(select(User.display_name).where(User.id == user_id)) or ""

    @staticmethod
    def load_for_update(s: Session, bid_id: int) -> tuple[Bid, Task]:
        """Lock the task, then the bid: one lock order everywhere, so no deadlocks."""
        task_id = s.scalar(select(Bid.task_id).where(Bid.id == bid_id))
        if task_id is None:
            raise NotFound("no such bid", field="bid_id")
        task = TaskService.load_for_update(s, task_id)
        bid = s.scalar(
            select(Bid)
            .where(Bid.id == bid_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert bid is not None  # bids are never deleted
        return bid, task

    def _own_bid_for_update(self, s: Session, user: CurrentUser, bid_id: int) -> tuple[Bid, Task]:
        bid, task = self.load_for_update(s, bid_id)
        if bid.solver_id != user.id:
            if can_manage(user, task):
                raise Forbidden("only the bidder changes a bid", rule="owner")
            raise NotFound("no such bid", field="bid_id")
        return bid, task

    def _managed_bid_for_update(
        self, s: Session, user: CurrentUser, bid_id: int
    ) -> tuple[Bid, Task]:
        bid, task = self.load_for_update(s, bid_id)
        if not can_manage(user, task):
            if bid.solver_id == user.id:
                raise Forbidden("only the poster reviews bids", rule="owner")
            raise NotFound("no such bid", field="bid_id")
        return bid, task

    @staticmethod
    def _move(
        uow: UnitOfWork,
        user: CurrentUser,
        bid: Bid,
        action: str,
        target: BidStatus,
        event: object,
        data: dict[str, str] | None = None,
    ) -> None:
        before = bid.status
        bid.status = target
        bid.updated_at = utcnow()
        uow.record(
            actor_id=user.id,
            entity="bid",
            entity_id=bid.id,
            action=action,
            from_state=before,
            to_state=target,
            event=event,  # type: ignore[arg-type]
            data=data,
        )
