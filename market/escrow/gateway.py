"""Client of the payment provider (Stripe-shaped; `paymock` here) over httpx.

Every write carries a deterministic Idempotency-Key, reused on every retry, so a call
that timed out or whose answer was lost is replayed by the provider, never done twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

log = logging.getLogger(__name__)

CURRENCY = "cny"
# The provider's test payment method that always succeeds (a real integration collects one).
TEST_PAYMENT_METHOD = "pm_card_visa"


class PaymentsError(Exception):
    """Base of the gateway's errors."""


class GatewayError(PaymentsError):
    """The provider refused the request; retrying the same request will not help."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        type_: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.type = type_


class ProviderUnavailable(PaymentsError):
    """Errors, time-outs or concurrent-key conflicts outlasted our retries: try again later."""


def idempotency_key(namespace: str, milestone_id: int, operation: str) -> str:
    """One key per (milestone, operation); the namespace keeps two installations (or a
    database rebuilt from scratch) that share a provider account from replaying each other."""
    return f"{namespace}-milestone-{milestone_id}-{operation}"


def solver_destination(solver_id: int) -> str:
    """The solver's connected account (onboarding would create it with the provider)."""
    return f"acct_solver_{solver_id}"


def _form(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Stripe's form encoding: nested dicts become key[sub]=value."""
    out: dict[str, str] = {}
    for k, v in params.items():
        name = f"{prefix}[{k}]" if prefix else k
        if v is None:
            continue
        if isinstance(v, dict):
            out.update(_form(v, name))
        elif isinstance(v, bool):
            out[name] = "true" if v else "false"
        else:
            out[name] = str(v)
    return out


class PaymentsGateway:
    RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {secret_key}"},
            timeout=timeout_s,
            transport=transport,
        )
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    # -- operations -----------------------------------------------------------------------
    def charge(self, *, amount_minor: int, key: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Charge the poster into the platform's balance (a confirmed, captured PaymentIntent)."""
        return self._post(
            "/v1/payment_intents",
            {
                "amount": amount_minor,
                "currency": CURRENCY,
                "capture_method": "automatic",
                "confirm": True,
                "payment_method": TEST_PAYMENT_METHOD,
                "metadata": metadata,
            },
            key,
        )

    def transfer(
        self,
        *,
        amount_minor: int,
        destination: str,
        key: str,
        transfer_group: str,
        metadata: dict[str, Any],
    ) -> dict[str, Any]:
        return self._post(
            "/v1/transfers",
            {
                "amount": amount_minor,
                "currency": CURRENCY,
                "destination": destination,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            key,
        )

    def refund(
        self, *, payment_intent: str, amount_minor: int, key: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        return self._post(
            "/v1/refunds",
            {"payment_intent": payment_intent, "amount": amount_minor, "metadata": metadata},
            key,
        )

    def balance(self) -> dict[str, Any]:
        return self._get("/v1/balance", {})

    def iter_list(
        self, path: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every object of a Stripe list endpoint, page by page."""
        query = {"limit": 100, **(params or {})}
        while True:
            page = self._get(path, query)
            yield from page["data"]
            if not page.get("has_more") or not page["data"]:
                return
            query["starting_after"] = page["data"][-1]["id"]

    # -- transport ------------------------------------------------------------------------
    def _post(self, path: str, params: dict[str, Any], key: str) -> dict[str, Any]:
        return self._request("POST", path, data=_form(params), headers={"Idempotency-Key": key})

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._request("GET", path, params=params)

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        last: str = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                r = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:  # time-outs and connection errors
                last = f"{type(exc).__name__}: {exc}"
            else:
                if r.status_code < 400:
                    return r.json()  # type: ignore[no-any-return]
                err = _error_of(r)
                if r.status_code not in self.RETRY_STATUSES:
                    raise GatewayError(
                        err.get("message", r.text),
                        status=r.status_code,
                        code=err.get("code"),
                        type_=err.get("type"),
                    )
                last = f"{r.status_code} {err.get('type')}: {err.get('message')}"
            if attempt < self._max_attempts:
                delay = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
                self._sleep(delay * (0.5 + random.random() / 2))
        log.warning("payment provider unavailable for %s %s: %s", method, path, last)
        raise ProviderUnavailable(f"payment provider unavailable: {last}")


def _error_of(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}
