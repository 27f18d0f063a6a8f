from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.params import FromQuery
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.domain import CurrentUser, Role
from market.db.base import utcnow
from market.errors import Conflict, NotFound
from market.http import PathId, require_role
from market.outbox.models import FailedJob, OutboxEvent
from market.uow import UnitOfWork


class FailedJobOut(msgspec.Struct):
    id: int
    actor: str
    args: list[Any]
    message_id: str
    error: str
    failed_at: datetime
    redriven_at: datetime | None


def _out(j: FailedJob) -> FailedJobOut:
    return FailedJobOut(
        j.id, j.actor, list(j.args), j.message_id, j.error, j.failed_at, j.redriven_at
    )


class FailedJobController(Controller):
    path = "/admin/failed-jobs"
    tags = ["admin"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def list_failed(
        self, user: CurrentUser, sessions: sessionmaker[Session], pending: FromQuery[bool] = True
    ) -> list[FailedJobOut]:
        """Background messages that used up their retries (pending: not re-driven yet)."""
        require_role(user, Role.ADMIN)
        with sessions() as s:
            stmt = select(FailedJob).order_by(FailedJob.id.desc()).limit(500)
            if pending:
                stmt = stmt.where(FailedJob.redriven_at.is_(None))
            return [_out(j) for j in s.scalars(stmt)]

    @post("/{job_id:int}/redrive", status_code=HTTP_200_OK, sync_to_thread=True)
    def redrive(
        self, job_id: PathId, user: CurrentUser, sessions: sessionmaker[Session]
    ) -> FailedJobOut:
        """Send a failed job again. Outbox handlers are re-sent through the outbox relay
        (handlers already done for that event are skipped); scheduled jobs are found again
        by the scheduler's next scan."""
        require_role(user, Role.ADMIN)
        with UnitOfWork(sessions) as uow:
            job = uow.session.get(FailedJob, job_id)
            if job is None:
                raise NotFound("no such failed job", field="job_id")
            if job.redriven_at is not None:
                raise Conflict(
                    "this job was re-driven already", field="job_id", rule="already_redriven"
                )
            if job.actor == "run_handler" and job.args:
                uow.session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == int(job.args[0]))
                    .values(published_at=None)
                )
            job.redriven_at = utcnow()
            uow.record(actor_id=user.id, entity="failed_job", entity_id=job.id, action="redrive")
            uow.commit()
            return _out(job)
