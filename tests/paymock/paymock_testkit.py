"""Helpers for the payment mock's tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The project is not installed into the venv; make the repository importable for this suite.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from litestar.testing import TestClient  # noqa: E402

from paymock.app import PaymockRuntime, create_app  # noqa: E402
from paymock.settings import PaymockSettings  # noqa: E402
from tests.servers import serve  # noqa: E402, F401 - re-exported for the paymock tests

SECRET = "sk_test_mock"
AUTH = {"Authorization": f"Bearer {SECRET}"}


class FakeClock:
    """An injectable clock (unix seconds) that only moves when told to."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """A thin, authenticated wrapper over an HTTP client pointed at the mock."""

    def __init__(self, client: httpx.Client, runtime: PaymockRuntime | None = None) -> None:
        self.client = client
        self.runtime = runtime

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        h = {**AUTH, **(headers or {})}
        if key is not None:
            h["Idempotency-Key"] = key
        if json is not None:
            return self.client.post(path, json=json, headers=h)
        return self.client.post(path, data=data or {}, headers=h)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params, headers=AUTH)

    # Shortcuts for arranging state.
    def paid_intent(self, amount: int, **extra: Any) -> dict[str, Any]:
        r = self.post(
            "/v1/payment_intents",
            {"amount": amount, "currency": "cny", "confirm": "true", **extra},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "succeeded"
        return r.json()

    def available(self) -> int:
        r = self.get("/v1/balance")
        assert r.status_code == 200, r.text
        return int(r.json()["available"][0]["amount"])

    def event_types(self) -> list[str]:
        r = self.get("/v1/events", limit=100)
        assert r.status_code == 200, r.text
        return [e["type"] for e in reversed(r.json()["data"])]


def make_settings(url: str, **overrides: Any) -> PaymockSettings:
    base: dict[str, Any] = {"database_url": url, "webhook_worker": False}
    base.update(overrides)
    return PaymockSettings(**base)


@dataclass
class AppFactory:
    default_url: str
    clock: FakeClock
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __call__(self, url: str | None = None, **overrides: Any) -> Api:
        """Start an app (its lifespan included) and return an authenticated client to it."""
        overrides.setdefault("clock", self.clock)
        app = create_app(make_settings(url or self.default_url, **overrides))
        client = self._stack.enter_context(TestClient(app))
        return Api(client, app.state.paymock)

    def close(self) -> None:
        self._stack.close()


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    at: float


@dataclass
class Receiver:
    """A local HTTP endpoint that records requests and answers with scripted statuses."""

    url: str
    requests: list[Received]
    statuses: list[int]  # consumed one per request; 200 once empty
    delay_s: float = 0.0

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(self.requests)} webhook requests, want {count}")
            time.sleep(0.01)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
