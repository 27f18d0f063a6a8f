"""Unit of work: one transaction per use case, with its audit entries and outbox events."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from market.audit.models import AuditEntry
from market.db.base import utcnow
from market.events import DomainEvent
from market.outbox.models import OutboxEvent


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self.session: Session

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        # "write" makes SQLite take its write lock at BEGIN (see db.engine).
        self.session.connection(execution_options={"write": True})
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Anything not committed explicitly is rolled back: nothing is half-written.
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def record(
        self,
        *,
        actor_id: int | None,
        entity: str,
        entity_id: int,
        action: str,
        from_state: str | None = None,
        to_state: str | None = None,
        event: DomainEvent | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Write the audit entry and, when given, the outbox event for one change."""
        audit, outbox = _change_rows(
            actor_id, entity, entity_id, action, from_state, to_state, event, data
        )
        self.session.add(AuditEntry(**audit))
        if outbox is not None:
            self.session.add(OutboxEvent(**outbox))

    def record_now(
        self,
        *,
        actor_id: int | None,
        entity: str,
        entity_id: int,
        action: str,
        from_state: str | None = None,
        to_state: str | None = None,
        event: DomainEvent | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """`record`, written at once with plain INSERTs: for hot paths that use no ORM
        objects (no unit-of-work flush to pay for)."""
        audit, outbox = _change_rows(
            actor_id, entity, entity_id, action, from_state, to_state, event, data
        )
        conn = self.session.connection()
        conn.execute(insert(AuditEntry.__table__), audit)
        if outbox is not None:
            conn.execute(insert(OutboxEvent.__table__), outbox)


def _change_rows(
    actor_id: int | None,
    entity: str,
    entity_id: int,
    action: str,
    from_state: str | None,
    to_state: str | None,
    event: DomainEvent | None,
    data: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The audit row and the outbox row (if any) of one change, as column values."""
    now = utcnow()
    audit = {
        "actor_id": actor_id,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "data": data or {},
        "at": now,
    }
    if event is None:
        return audit, None
    return audit, {
        "event_type": event.name,
        "aggregate": event.aggregate,
        "aggregate_id": event.aggregate_id,
        "payload": event.payload(),
        "created_at": now,
        "attempts": 0,
    }
