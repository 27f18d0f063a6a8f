"""The Dramatiq broker from settings: Redis or RabbitMQ, or in memory for the embedded mode."""

from __future__ import annotations

import logging
import traceback

import dramatiq
from dramatiq.broker import Broker, MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from sqlalchemy.orm import Session, sessionmaker

from market.outbox.models import FailedJob
from market.settings import Settings
from market.uow import UnitOfWork

log = logging.getLogger(__name__)


def make_broker(settings: Settings, *, namespace: str | None = None) -> Broker:
    broker: Broker
    if settings.broker == "redis":
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(
            url=settings.redis_url,
            namespace=namespace or settings.redis_namespace,
            heartbeat_timeout=settings.redis_heartbeat_timeout_ms,
            maintenance_chance=settings.redis_maintenance_chance,
        )
    elif settings.broker == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=settings.rabbitmq_url)
    elif settings.broker == "embedded":
        # In memory: the outbox, not the queue, is what survives a restart (see relay).
        broker = StubBroker()
        broker.emit_after("process_boot")
    else:
        raise ValueError(f"MARKET_BROKER is embedded, redis or rabbitmq, not {settings.broker!r}")
    return broker


class RecordFailedJobs(Middleware):
    """A message that used up its retries (or threw a non-retryable error) becomes a
    failed_jobs row, which admins see and can send again."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        error = message.options.get("traceback") or "".join(
            traceback.format_exception_only(message._exception)
            if message._exception
            else ["failed"]
        )
        try:
            with UnitOfWork(self._sessions) as uow:
                uow.session.add(
                    FailedJob(
                        actor=message.actor_name,
                        args=list(message.args),
                        message_id=message.message_id,
                        error=str(error)[-4000:],
                    )
                )
                uow.commit()
        except Exception:  # the failure record must not take the worker down
            log.exception("could not record failed message %s", message.message_id)


def set_global(broker: Broker) -> None:
    dramatiq.set_broker(broker)
