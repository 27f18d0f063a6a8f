"""Webhook delivery: at least once, retried with exponential backoff, order not guaranteed.

Deliveries are rows written with their event, so nothing is lost when the process stops;
``deliver_pending_webhooks`` sends those that are due. The background thread is a loop
around it; tests call it directly with a fake ``now``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from paymock.faults import FaultInjector
from paymock.models import Event, WebhookDelivery
from paymock.settings import PaymockSettings
from paymock.signing import sign_header

log = logging.getLogger("paymock.webhooks")

# A claimed delivery is hidden from other dispatchers this long beyond its HTTP timeout, so
# a dispatcher that dies mid-send lets another retry it later.
_LEASE_MARGIN_S = 30.0


@dataclass(slots=True, frozen=True)
class _Due:
    seq: int
    event_id: str
    url: str
    attempts: int
    body: bytes


class WebhookDispatcher:
    def __init__(
        self,
        engine: Engine,
        settings: PaymockSettings,
        faults: FaultInjector,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.faults = faults
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self._owns_client = client is None
        # Made on first use: building its TLS context costs ~30 ms, wasted without webhooks.
        self._client = client
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            transport=self.settings.webhook_transport, timeout=self.settings.webhook_timeout_s
        )

    @property
    def client(self) -> httpx.Client:
        if self._client is None or (self._client.is_closed and self._owns_client):
            self._client = self._new_client()  # first use, or started again after a stop
        return self._client

    def backoff_s(self, attempts: int) -> float:
        """Wait after the ``attempts``-th failed attempt: base, 2*base, 4*base, ... capped."""
        s = self.settings
        return min(s.webhook_backoff_base_s * 2 ** max(attempts - 1, 0), s.webhook_backoff_max_s)

    def _claim_due(self, now: float) -> list[_Due]:
        lease_until = now + self.settings.webhook_timeout_s + _LEASE_MARGIN_S
        with self.sessions.begin() as s:
            rows = (
                s.execute(
                    select(WebhookDelivery)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .order_by(WebhookDelivery.seq)
                    .limit(self.settings.webhook_batch_size)
                    # PostgreSQL: concurrent dispatchers take disjoint rows.
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            if not rows:
                return []
            ids = {r.event_id for r in rows}
            bodies = {
                event_id: body
                for event_id, body in s.execute(
                    select(Event.id, Event.body).where(Event.id.in_(ids))
                ).all()
            }
            due = []
            for row in rows:
                row.next_attempt_at = lease_until
                due.append(
                    _Due(
                        row.seq, row.event_id, row.url, row.attempts, bodies[row.event_id].encode()
                    )
                )
            return due

    def _send(self, item: _Due, now: float) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign_header(item.body, self.settings.webhook_secret, int(now)),
            "User-Agent": "paymock-webhooks/1.0",
        }
        try:
            response = self.client.post(item.url, content=item.body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def deliver_pending_webhooks(self, now: float | None = None) -> int:
        """Send every delivery due at ``now``; returns the number of attempts made."""
        now = self.settings.clock() if now is None else now
        due = self.faults.order(self._claim_due(now))
        for item in due:
            status, error = self._send(item, now)
            attempts = item.attempts + 1
            with self.sessions.begin() as s:
                row = s.get(WebhookDelivery, item.seq)
                if row is None:
                    continue
                row.attempts, row.last_attempt_at = attempts, now
                row.last_status_code, row.last_error = status, error
                if error is None:
                    row.status, row.delivered_at = "delivered", now
                elif attempts >= self.settings.webhook_max_attempts:
                    row.status = "failed"
                else:
                    row.next_attempt_at = now + self.backoff_s(attempts)
            if error is not None:
                log.info("webhook %s attempt %d failed: %s", item.event_id, attempts, error)
        return len(due)

    # -----------------------------------------------------------------------------------
    # Background loop

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="paymock-webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_pending_webhooks()
            except Exception:  # keep delivering after a transient database error
                log.exception("webhook delivery pass failed")
                sent = 0
            if sent == 0:
                self._stop.wait(self.settings.webhook_poll_interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_s + 5)
            self._thread = None
        if self._owns_client and self._client is not None:
            self._client.close()
