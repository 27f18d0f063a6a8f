"""From outbox rows to handler runs: the relay, and one handler run made idempotent."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from market.db.base import utcnow
from market.jobs import JobContext
from market.outbox.models import OutboxDelivery, OutboxEvent
from market.outbox.registry import handler_named, handlers_for
from market.uow import UnitOfWork

log = logging.getLogger(__name__)

Send = Callable[[int, str], None]


def relay_once(sessions: sessionmaker[Session], send: Send, batch: int = 200) -> int:
    """Send one message per (unpublished event, handler); mark the events published.

    A crash between sending and committing sends the messages again on the next pass:
    handlers are idempotent, so a duplicate costs only a look-up.
    """
    with UnitOfWork(sessions) as uow:
        rows = uow.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        now = utcnow()
        for row in rows:
            for sub in handlers_for(row.event_type):
                send(row.id, sub.name)
            row.published_at = now
            row.attempts += 1
        uow.commit()
        return len(rows)


def requeue_undelivered(sessions: sessionmaker[Session]) -> int:
    """At start-up of the embedded worker (whose queue lives in memory), send again what
    was published but not handled before the process stopped."""
    with UnitOfWork(sessions) as uow:
        s = uow.session
        pending = [
            row.id
            for row in s.scalars(select(OutboxEvent).where(OutboxEvent.published_at.is_not(None)))
            if not _all_delivered(s, row)
        ]
        if pending:
            s.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(pending)).values(published_at=None)
            )
        uow.commit()
        return len(pending)


def _all_delivered(s: Session, row: OutboxEvent) -> bool:
    wanted = {sub.name for sub in handlers_for(row.event_type)}
    if not wanted:
        return True
    done = set(s.scalars(select(OutboxDelivery.handler).where(OutboxDelivery.outbox_id == row.id)))
    return wanted <= done


# One round trip: the event's payload and whether this handler already did its work.
_EVENT_AND_DONE = select(
    OutboxEvent.payload,
    exists()
    .where(
        OutboxDelivery.outbox_id == bindparam("outbox_id"),
        OutboxDelivery.handler == bindparam("handler"),
    )
    .correlate(None),
).where(OutboxEvent.id == bindparam("outbox_id"))
_DELIVERED = insert(OutboxDelivery.__table__)


def run_handler(ctx: JobContext, outbox_id: int, handler: str) -> str:
    """Run one handler for one event, once: a redelivered message finds the delivery row."""
    # Plain connections, no ORM session: every background message pays for these two.
    engine = ctx.engine
    with engine.connect() as conn:
        found = conn.execute(_EVENT_AND_DONE, {"outbox_id": outbox_id, "handler": handler}).first()
    if found is None:
        return "missing"
    if found[1]:
        return "duplicate"
    payload = dict(found[0])
    # The event's own id, for handlers that key their idempotency on it (notifications).
    payload["_outbox_id"] = outbox_id
    handler_named(handler).fn(ctx, payload)
    try:
        with engine.begin() as conn:
            conn.execute(
                _DELIVERED, {"outbox_id": outbox_id, "handler": handler, "done_at": utcnow()}
            )
    except IntegrityError:  # a concurrent duplicate finished first; its effect was idempotent
        return "duplicate"
    return "done"


def drain(ctx: JobContext, max_rounds: int = 50) -> int:
    """Relay and run everything pending, in this thread (tests, `market jobs drain`)."""
    ran = 0
    for _ in range(max_rounds):
        queue: list[tuple[int, str]] = []

        def collect(oid: int, h: str, queue: list[tuple[int, str]] = queue) -> None:
            queue.append((oid, h))

        relay_once(ctx.sessions, collect)
        if not queue:
            return ran
        for oid, h in queue:
            run_handler(ctx, oid, h)
            ran += 1
    return ran
