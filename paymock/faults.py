"""Fault injection: failed calls, lost responses, timeouts, latency, webhook chaos.

Every kind of fault draws from its own random stream seeded from ``seed`` and the kind's
name, so turning on webhook duplication does not shift which API calls fail, and a run
with a given seed fails the same calls in the same order.
"""

from __future__ import annotations

import enum
import random
import threading
from collections.abc import Sequence
from typing import TypeVar

from paymock.settings import PaymockSettings

T = TypeVar("T")


class ApiFault(enum.Enum):
    NONE = "none"
    # 500 before anything is done: nothing is stored, a retry performs the call.
    ERROR_BEFORE = "error_before"
    # The work is committed (and its response stored under the idempotency key), then the
    # client gets a 500: the "lost response". A retry with the same key replays.
    ERROR_AFTER = "error_after"
    # The work is committed, then the server sleeps past the client's timeout.
    TIMEOUT = "timeout"


class FaultInjector:
    def __init__(self, settings: PaymockSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._api = self._stream("api")
        self._dup = self._stream("duplicate")
        self._order = self._stream("order")

    def _stream(self, name: str) -> random.Random:
        seed = self.settings.seed
        # A str seed is hashed with SHA-512, so it is stable across processes and runs.
        return random.Random(f"{seed}:{name}") if seed is not None else random.Random()

    @property
    def latency_s(self) -> float:
        return self.settings.latency_ms / 1000.0

    def draw_api_fault(self) -> ApiFault:
        s = self.settings
        if s.error_rate <= 0 and s.timeout_rate <= 0:
            return ApiFault.NONE
        with self._lock:
            u = self._api.random()
            split = self._api.random()  # drawn always, so the stream stays aligned
        if u < s.error_rate:
            return ApiFault.ERROR_AFTER if split < s.error_after_share else ApiFault.ERROR_BEFORE
        if u < s.error_rate + s.timeout_rate:
            return ApiFault.TIMEOUT
        return ApiFault.NONE

    def duplicate_webhook(self) -> bool:
        if self.settings.duplicate_webhook_rate <= 0:
            return False
        with self._lock:
            return self._dup.random() < self.settings.duplicate_webhook_rate

    def order(self, items: Sequence[T]) -> list[T]:
        """The delivery order of a batch: as given, or shuffled when reordering is on."""
        out = list(items)
        if not self.settings.reorder_webhooks or len(out) < 2:
            return out
        with self._lock:
            self._order.shuffle(out)
        if out == list(items):
            out.reverse()  # a shuffle may leave the order alone; reordering must show
        return out
