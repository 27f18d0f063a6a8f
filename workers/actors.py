"""The actors, bound to one broker and one job context.

Dramatiq delivers at least once, so every actor is idempotent: handlers through the
outbox delivery rows, money through the provider's idempotency keys and the ledger's.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import dramatiq
from dramatiq.broker import Broker

from market.errors import NotFound
from market.escrow.gateway import GatewayError
from market.escrow.reconcile import run_and_record
from market.jobs import JobContext
from market.outbox.dispatch import run_handler

log = logging.getLogger(__name__)

QUEUE = "market"
# Exponential back-off between 1 s and 5 min; about an hour of retries in all.
RETRY_OPTIONS = {"max_retries": 12, "min_backoff": 1_000, "max_backoff": 300_000}
# Retrying these cannot help: a refusal by the provider, or a row that does not exist.
NOT_RETRYABLE = (GatewayError, NotFound)


class Actors:
    def __init__(self, broker: Broker, ctx: JobContext) -> None:
        self.broker = broker
        self.ctx = ctx
        self.run_handler = dramatiq.actor(
            self._run_handler,
            actor_name="run_handler",
            queue_name=QUEUE,
            broker=broker,
            throws=NOT_RETRYABLE,
            **RETRY_OPTIONS,
        )
        self.close_bidding = dramatiq.actor(
            self._close_bidding,
            actor_name="close_bidding",
            queue_name=QUEUE,
            broker=broker,
            throws=NOT_RETRYABLE,
            **RETRY_OPTIONS,
        )
        self.auto_accept = dramatiq.actor(
            self._auto_accept,
            actor_name="auto_accept",
            queue_name=QUEUE,
            broker=broker,
            throws=NOT_RETRYABLE,
            **RETRY_OPTIONS,
        )

        # Reconciliation reads only; a failed run is simply the next hour's run.
        self.reconcile = dramatiq.actor(
            self._reconcile, actor_name="reconcile", queue_name=QUEUE, broker=broker, max_retries=0
        )

    def send_handler(self, outbox_id: int, handler: str) -> None:
        self.run_handler.send(outbox_id, handler)

    def _run_handler(self, outbox_id: int, handler: str) -> None:
        outcome = run_handler(self.ctx, outbox_id, handler)
        log.debug("handler %s for event %s: %s", handler, outbox_id, outcome)

    def _close_bidding(self, task_id: int) -> None:
        self.ctx.tasks.close_bidding_at_deadline(task_id)

    def _auto_accept(self, milestone_id: int) -> None:
        self.ctx.contracts.auto_accept(
            milestone_id, timedelta(days=self.ctx.settings.review_window_days)
        )

    def _reconcile(self) -> None:
        run_and_record(
            self.ctx.sessions, self.ctx.gateway, self.ctx.settings.payments_key_namespace
        )
