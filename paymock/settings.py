"""Settings of the payment mock, read from PAYMOCK_* environment variables."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


def _str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return default if raw in (None, "") else raw


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return default if raw in (None, "") else float(raw)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _optional_int(name: str) -> int | None:
    raw = os.environ.get(name)
    return None if raw in (None, "") else int(raw)


@dataclass(slots=True)
class PaymockSettings:
    database_url: str = "sqlite:///./var/paymock.db"
    # Test-mode defaults, as public as Stripe's own sample keys.
    secret_key: str = "sk_test_mock"  # noqa: S105
    host: str = "127.0.0.1"
    port: int = 8090

    # Webhooks: no URL means events are stored but never delivered.
    webhook_url: str | None = None
    webhook_secret: str = "whsec_mock"  # noqa: S105
    # The background delivery thread; tests turn it off and call the dispatcher directly.
    webhook_worker: bool = True
    webhook_poll_interval_s: float = 0.5
    webhook_timeout_s: float = 5.0
    # Retry n waits base * 2**(n-1), capped; after max attempts the delivery is "failed".
    webhook_backoff_base_s: float = 5.0
    webhook_backoff_max_s: float = 3600.0
    webhook_max_attempts: int = 16
    webhook_batch_size: int = 50

    # Stripe prunes keys once they are 24 h old; after that the key starts afresh.
    idempotency_ttl_s: float = 24 * 3600.0
    # An "in progress" key older than this belongs to a crashed request and may be taken over.
    idempotency_lock_timeout_s: float = 60.0

    # Fault injection. error_rate is the share of API calls answered with a 500;
    # error_after_share is the part of those that fail only AFTER the work is committed
    # (the "lost response"), the rest fail before anything is done.
    error_rate: float = 0.0
    error_after_share: float = 0.5
    # Share of calls that do the work, then sleep timeout_sleep_s before answering, so a
    # client with a shorter timeout gives up on a call that did take effect.
    timeout_rate: float = 0.0
    timeout_sleep_s: float = 30.0
    # Added to every API call, while holding the idempotency key (widens race windows).
    latency_ms: int = 0
    duplicate_webhook_rate: float = 0.0
    reorder_webhooks: bool = False
    seed: int | None = None

    # Not from the environment: injection points for tests and in-process embedding.
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    webhook_transport: httpx.BaseTransport | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_env(cls) -> PaymockSettings:
        d = cls()
        return cls(
            database_url=_str("PAYMOCK_DATABASE_URL", d.database_url),
            secret_key=_str("PAYMOCK_SECRET_KEY", d.secret_key),
            host=_str("PAYMOCK_HOST", d.host),
            port=_int("PAYMOCK_PORT", d.port),
            webhook_url=os.environ.get("PAYMOCK_WEBHOOK_URL") or None,
            webhook_secret=_str("PAYMOCK_WEBHOOK_SECRET", d.webhook_secret),
            webhook_worker=_bool("PAYMOCK_WEBHOOK_WORKER", d.webhook_worker),
            webhook_poll_interval_s=_float(
                "PAYMOCK_WEBHOOK_POLL_INTERVAL_S", d.webhook_poll_interval_s
            ),
            webhook_timeout_s=_float("PAYMOCK_WEBHOOK_TIMEOUT_S", d.webhook_timeout_s),
            webhook_backoff_base_s=_float(
                "PAYMOCK_WEBHOOK_BACKOFF_BASE_S", d.webhook_backoff_base_s
            ),
            webhook_backoff_max_s=_float("PAYMOCK_WEBHOOK_BACKOFF_MAX_S", d.webhook_backoff_max_s),
            webhook_max_attempts=_int("PAYMOCK_WEBHOOK_MAX_ATTEMPTS", d.webhook_max_attempts),
            idempotency_ttl_s=_float("PAYMOCK_IDEMPOTENCY_TTL_S", d.idempotency_ttl_s),
            idempotency_lock_timeout_s=_float(
                "PAYMOCK_IDEMPOTENCY_LOCK_TIMEOUT_S", d.idempotency_lock_timeout_s
            ),
            error_rate=_float("PAYMOCK_ERROR_RATE", d.error_rate),
            error_after_share=_float("PAYMOCK_ERROR_AFTER_SHARE", d.error_after_share),
            timeout_rate=_float("PAYMOCK_TIMEOUT_RATE", d.timeout_rate),
            timeout_sleep_s=_float("PAYMOCK_TIMEOUT_SLEEP_S", d.timeout_sleep_s),
            latency_ms=_int("PAYMOCK_LATENCY_MS", d.latency_ms),
            duplicate_webhook_rate=_float(
                "PAYMOCK_DUPLICATE_WEBHOOK_RATE", d.duplicate_webhook_rate
            ),
            reorder_webhooks=_bool("PAYMOCK_REORDER_WEBHOOKS", d.reorder_webhooks),
            seed=_optional_int("PAYMOCK_SEED"),
        )

    def validate(self) -> None:
        """Fail at start-up on nonsense rates rather than misbehave later."""
        for name in ("error_rate", "error_after_share", "timeout_rate", "duplicate_webhook_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.error_rate + self.timeout_rate > 1.0:
            raise ValueError("error_rate + timeout_rate must not exceed 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if not self.secret_key:
            raise ValueError("secret_key must not be empty")
