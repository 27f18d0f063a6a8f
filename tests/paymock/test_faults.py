"""Fault injection: seeded error rates, failures before and after the work, timeouts, latency.

Two apps over one database stand for a flaky server and its healthy twin (two processes of
one deployment): the idempotency keys live in the shared database, so the twin replays
what the flaky one did.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from paymock_testkit import AUTH, Api, AppFactory, make_settings, serve, wait_until

from paymock.app import create_app
from paymock.faults import ApiFault, FaultInjector
from paymock.settings import PaymockSettings

TRANSFER = {"amount": "400", "currency": "cny", "destination": "acct_solver"}


def transfers(api: Api) -> list[dict[str, Any]]:
    return api.get("/v1/transfers", limit=100).json()["data"]


def test_error_rate_is_close_to_configured_and_seeded(
    make_sqlite_api: AppFactory, tmp_path: Path
) -> None:
    def statuses(db: str, seed: int) -> list[int]:
        api = make_sqlite_api(f"sqlite:///{tmp_path / db}", error_rate=0.3, seed=seed)
        return [api.get("/v1/balance").status_code for _ in range(60)]

    a = statuses("a.db", 42)
    assert set(a) == {200, 500}
    assert 8 <= a.count(500) <= 30  # 18 expected
    # Same seed, same failures, in a fresh process with a fresh database.
    assert statuses("b.db", 42) == a
    other = FaultInjector(PaymockSettings(error_rate=0.3, seed=43))
    assert [200 if other.draw_api_fault() is ApiFault.NONE else 500 for _ in range(60)] != a


def test_injected_errors_are_stripe_api_errors(make_sqlite_api: AppFactory) -> None:
    api = make_sqlite_api(error_rate=1.0)
    r = api.get("/v1/balance")
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "api_error"
    # The test helpers are never faulty, so reconciliation can always read.
    assert api.get("/v1/_mock/movements").status_code == 200


def test_fault_draws_follow_the_configured_split() -> None:
    settings = PaymockSettings(error_rate=0.4, error_after_share=0.5, timeout_rate=0.2, seed=1)
    injector = FaultInjector(settings)
    draws = [injector.draw_api_fault() for _ in range(2000)]
    share = {f: draws.count(f) / len(draws) for f in ApiFault}
    assert share[ApiFault.ERROR_BEFORE] == pytest.approx(0.2, abs=0.04)
    assert share[ApiFault.ERROR_AFTER] == pytest.approx(0.2, abs=0.04)
    assert share[ApiFault.TIMEOUT] == pytest.approx(0.2, abs=0.04)
    assert share[ApiFault.NONE] == pytest.approx(0.4, abs=0.04)


def test_failure_before_the_work_does_nothing_and_a_retry_performs_it(
    make_sqlite_api: AppFactory,
) -> None:
    healthy = make_sqlite_api()
    flaky = make_sqlite_api(error_rate=1.0, error_after_share=0.0)
    healthy.paid_intent(1000)

    r = flaky.post("/v1/transfers", TRANSFER, key="payout-m1")
    assert r.status_code == 500
    assert transfers(healthy) == []
    assert healthy.available() == 1000

    # Nothing was stored under the key: the retry runs the call, once.
    r = healthy.post("/v1/transfers", TRANSFER, key="payout-m1")
    assert r.status_code == 200
    assert "idempotent-replayed" not in r.headers
    assert len(transfers(healthy)) == 1
    assert healthy.available() == 600


def test_lost_response_is_replayed_with_the_same_key(make_sqlite_api: AppFactory) -> None:
    healthy = make_sqlite_api()
    flaky = make_sqlite_api(error_rate=1.0, error_after_share=1.0)
    healthy.paid_intent(1000)

    r = flaky.post("/v1/transfers", TRANSFER, key="payout-m1")
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "api_error"
    # The work did happen.
    (done,) = transfers(healthy)
    assert healthy.available() == 600

    # Retrying on the flaky server loses the answer again, but does not pay again.
    assert flaky.post("/v1/transfers", TRANSFER, key="payout-m1").status_code == 500
    r = healthy.post("/v1/transfers", TRANSFER, key="payout-m1")
    assert r.status_code == 200
    assert r.headers["idempotent-replayed"] == "true"
    assert r.json() == done
    assert len(transfers(healthy)) == 1
    assert healthy.available() == 600
    assert healthy.event_types().count("transfer.created") == 1


def test_lost_response_of_a_payment_is_replayed(make_sqlite_api: AppFactory) -> None:
    healthy = make_sqlite_api()
    flaky = make_sqlite_api(error_rate=1.0, error_after_share=1.0)
    body = {"amount": "900", "currency": "cny", "confirm": "true"}
    assert flaky.post("/v1/payment_intents", body, key="fund-c1").status_code == 500
    r = healthy.post("/v1/payment_intents", body, key="fund-c1")
    assert (r.status_code, r.headers["idempotent-replayed"]) == (200, "true")
    assert r.json()["status"] == "succeeded"
    assert healthy.available() == 900


def test_timeout_fault_does_the_work_then_outlasts_the_client(
    make_sqlite_api: AppFactory, sqlite_url: str
) -> None:
    healthy = make_sqlite_api()
    healthy.paid_intent(1000)
    slow = create_app(make_settings(sqlite_url, timeout_rate=1.0, timeout_sleep_s=0.6))
    with serve(slow) as base:
        # verify=False: plain http, so skip loading CA certificates.
        client = httpx.Client(base_url=base, headers=AUTH, timeout=0.2, verify=False)  # noqa: S501
        with pytest.raises(httpx.ReadTimeout):
            client.post("/v1/transfers", data=TRANSFER, headers={"Idempotency-Key": "p-1"})
        client.close()
        # The client gave up, yet the transfer is made; the retry replays it.
        wait_until(lambda: len(transfers(healthy)) == 1)
        r = healthy.post("/v1/transfers", TRANSFER, key="p-1")
        assert r.headers["idempotent-replayed"] == "true"
        assert healthy.available() == 600


def test_latency_is_added_to_calls(make_sqlite_api: AppFactory) -> None:
    api = make_sqlite_api(latency_ms=150)
    started = time.perf_counter()
    assert api.get("/v1/balance").status_code == 200
    assert time.perf_counter() - started >= 0.15
