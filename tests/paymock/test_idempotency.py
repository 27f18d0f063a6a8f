"""Idempotency-Key with Stripe's semantics, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from paymock_testkit import AUTH, Api, AppFactory, FakeClock, make_settings, serve
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from paymock.app import create_app
from paymock.models import IdempotencyKey
from paymock.schemas import params_fingerprint

PI = {"amount": "1000", "currency": "cny", "confirm": "true", "metadata[milestone]": "m-1"}


def err(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def count_transfers(api: Api) -> int:
    return len(api.get("/v1/transfers", limit=100).json()["data"])


def test_success_is_replayed_without_a_second_effect(api: Api) -> None:
    first = api.post("/v1/payment_intents", PI, key="pay-m-1")
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    again = api.post("/v1/payment_intents", PI, key="pay-m-1")
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert api.available() == 1000
    assert api.event_types().count("payment_intent.created") == 1
    # The same parameters as JSON are the same request.
    as_json = api.post(
        "/v1/payment_intents",
        json={"amount": 1000, "currency": "cny", "confirm": True, "metadata": {"milestone": "m-1"}},
        key="pay-m-1",
    )
    assert as_json.headers["idempotent-replayed"] == "true"
    assert as_json.json() == first.json()


def test_business_errors_are_stored_and_replayed(api: Api) -> None:
    pi = api.paid_intent(1000)
    body = {"payment_intent": pi["id"], "amount": 5000}
    first = api.post("/v1/refunds", body, key="refund-1")
    assert first.status_code == 400
    assert err(first)["code"] == "amount_too_large"
    again = api.post("/v1/refunds", body, key="refund-1")
    assert (again.status_code, again.headers["idempotent-replayed"]) == (400, "true")
    assert again.content == first.content


def test_card_declines_are_stored_and_replayed(api: Api) -> None:
    body = {**PI, "payment_method": "pm_card_chargeDeclined"}
    first = api.post("/v1/payment_intents", body, key="declined")
    assert first.status_code == 402
    again = api.post("/v1/payment_intents", body, key="declined")
    assert (again.status_code, again.headers["idempotent-replayed"]) == (402, "true")
    assert again.content == first.content
    assert api.event_types().count("payment_intent.created") == 1


def test_validation_failures_are_not_stored(api: Api) -> None:
    # Stripe saves a result only once the endpoint began executing: a request that failed
    # validation may be corrected and sent again under the same key.
    bad = api.post("/v1/payment_intents", {**PI, "amount": "-1"}, key="fix-me")
    assert (bad.status_code, err(bad)["param"]) == (400, "amount")
    good = api.post("/v1/payment_intents", PI, key="fix-me")
    assert good.status_code == 200
    assert "idempotent-replayed" not in good.headers


def test_same_key_different_parameters_is_an_idempotency_error(api: Api) -> None:
    api.post("/v1/payment_intents", PI, key="k-1")
    r = api.post("/v1/payment_intents", {**PI, "amount": "1001"}, key="k-1")
    assert r.status_code == 400
    e = err(r)
    assert e["type"] == "idempotency_error"
    assert "same parameters" in e["message"]
    r = api.post(
        "/v1/transfers", {"amount": 1, "currency": "cny", "destination": "acct_1"}, key="k-1"
    )
    assert (r.status_code, err(r)["type"]) == (400, "idempotency_error")
    assert "same endpoint" in err(r)["message"]
    assert api.available() == 1000


def test_keys_expire_after_24_hours(make_api: AppFactory, clock: FakeClock) -> None:
    api = make_api()
    api.paid_intent(10_000)
    body = {"amount": "100", "currency": "cny", "destination": "acct_1"}
    assert api.post("/v1/transfers", body, key="t-1").status_code == 200
    clock.advance(24 * 3600 - 1)
    r = api.post("/v1/transfers", body, key="t-1")
    assert r.headers.get("idempotent-replayed") == "true"
    assert count_transfers(api) == 1
    clock.advance(1)
    r = api.post("/v1/transfers", body, key="t-1")
    assert r.status_code == 200
    assert "idempotent-replayed" not in r.headers
    assert count_transfers(api) == 2
    # Once expired, a key may even carry a different request.
    clock.advance(24 * 3600)
    r = api.post("/v1/payment_intents", PI, key="t-1")
    assert r.status_code == 200


def test_in_progress_key_is_409_until_its_lock_goes_stale(
    make_api: AppFactory, db_url: str, clock: FakeClock
) -> None:
    api = make_api()
    api.paid_intent(10_000)
    body = {"amount": "100", "currency": "cny", "destination": "acct_1"}
    # A request that claimed the key and died before finishing (its work rolled back).
    engine = create_engine(db_url)
    with Session(engine) as s, s.begin():
        s.add(
            IdempotencyKey(
                key="crashed",
                method="POST",
                path="/v1/transfers",
                params_hash=params_fingerprint(body),
                status="in_progress",
                lock_token="dead",
                locked_at=clock(),
                created_at=clock(),
            )
        )
    engine.dispose()
    r = api.post("/v1/transfers", body, key="crashed")
    assert r.status_code == 409
    assert (err(r)["type"], err(r)["code"]) == ("idempotency_error", "idempotency_key_in_use")
    assert count_transfers(api) == 0
    clock.advance(61)
    r = api.post("/v1/transfers", body, key="crashed")
    assert r.status_code == 200
    assert count_transfers(api) == 1
    assert api.post("/v1/transfers", body, key="crashed").headers["idempotent-replayed"] == "true"


def _fire_together(
    client: httpx.Client, requests: list[tuple[str, dict[str, Any], str]]
) -> list[Any]:
    """POST all requests at once from separate threads; returns their responses."""
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def run(i: int, path: str, data: dict[str, Any], key: str) -> None:
        barrier.wait()
        results[i] = client.post(path, data=data, headers={"Idempotency-Key": key})

    threads = [threading.Thread(target=run, args=(i, *req)) for i, req in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _client(base: str) -> httpx.Client:
    # One client shared by the threads (its pool opens a connection per concurrent request);
    # verify=False skips loading CA certificates, which plain http never needs.
    return httpx.Client(base_url=base, headers=AUTH, timeout=20, verify=False)  # noqa: S501


def test_concurrent_requests_with_one_key_have_one_effect(db_url: str) -> None:
    app = create_app(make_settings(db_url, clock=time.time))
    settings = app.state.paymock.settings
    with serve(app) as base:
        client = _client(base)
        api = Api(client)
        api.paid_intent(5_000)
        body = {"amount": "700", "currency": "cny", "destination": "acct_1"}
        # Latency is spent while holding the key, so the two requests overlap.
        settings.latency_ms = 300
        responses = _fire_together(client, [("/v1/transfers", body, "same")] * 2)
        settings.latency_ms = 0
        statuses = sorted(r.status_code for r in responses)
        originals = [r for r in responses if "idempotent-replayed" not in r.headers]
        fresh = [r for r in originals if r.status_code == 200]
        assert len(fresh) == 1, [r.text for r in responses]
        other = next(r for r in responses if r is not fresh[0])
        # The loser either met the key in progress or, if late, got the replay.
        assert other.status_code == 409 or other.headers.get("idempotent-replayed") == "true"
        assert statuses in ([200, 409], [200, 200])
        # Once done, the retry replays.
        retry = api.post("/v1/transfers", body, key="same")
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json()["id"] == fresh[0].json()["id"]
        assert count_transfers(api) == 1
        assert api.available() == 4_300
        client.close()


def test_concurrent_transfers_never_overdraw(db_url: str) -> None:
    app = create_app(make_settings(db_url, clock=time.time))
    with serve(app) as base:
        client = _client(base)
        api = Api(client)
        api.paid_intent(1_000)
        body = {"amount": "300", "currency": "cny", "destination": "acct_1"}
        responses = _fire_together(client, [("/v1/transfers", body, f"k{i}") for i in range(6)])
        ok = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 400]
        assert (len(ok), len(refused)) == (3, 3), [r.text for r in responses]
        assert all(err(r)["code"] == "balance_insufficient" for r in refused)
        assert api.available() == 100
        client.close()
