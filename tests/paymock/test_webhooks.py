"""Webhook signatures and delivery: signed, retried with backoff, duplicated, reordered."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from paymock_testkit import Api, AppFactory, FakeClock, Receiver

from paymock.signing import compute_signature, sign_header, verify_signature

WHSEC = "whsec_test_secret"


# ---------------------------------------------------------------------------------------
# Signatures


@settings(max_examples=40, deadline=None, database=None)
@given(payload=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40))
def test_signature_round_trip(payload: bytes, secret: str) -> None:
    header = sign_header(payload, secret, 1_700_000_000)
    assert verify_signature(payload, header, secret, 300, 1_700_000_100)
    assert not verify_signature(payload, header, secret + "x", 300, 1_700_000_100)
    assert not verify_signature(payload + b" ", header, secret, 300, 1_700_000_100)


def test_signature_is_stripes_scheme() -> None:
    import hashlib
    import hmac

    body = b'{"id":"evt_1","object":"event"}'
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert compute_signature(body, "whsec_abc", 1_700_000_000) == expected
    assert sign_header(body, "whsec_abc", 1_700_000_000) == f"t=1700000000,v1={expected}"


def test_signature_rejections() -> None:
    body = b"{}"
    good = sign_header(body, WHSEC, 1000)
    sig = good.split("v1=")[1]
    assert verify_signature(body, good, WHSEC, 300, 1300)
    assert not verify_signature(body, good, WHSEC, 300, 1301)  # too old
    assert not verify_signature(body, good, WHSEC, 300, 699)  # too far in the future
    assert not verify_signature(body, "", WHSEC, 300, 1000)
    assert not verify_signature(body, f"v1={sig}", WHSEC, 300, 1000)  # no timestamp
    assert not verify_signature(body, "t=1000", WHSEC, 300, 1000)  # no signature
    assert not verify_signature(body, f"t=abc,v1={sig}", WHSEC, 300, 1000)
    assert not verify_signature(body, f"t=1000,v0={sig}", WHSEC, 300, 1000)  # other scheme
    # While a secret is being rolled, several v1 entries come; one match is enough.
    assert verify_signature(body, f"t=1000,v1={'0' * 64},v1={sig}", WHSEC, 300, 1000)


# ---------------------------------------------------------------------------------------
# Delivery


def _events_by_id(api: Api) -> dict[str, dict[str, object]]:
    return {e["id"]: e for e in api.get("/v1/events", limit=100).json()["data"]}


def test_events_are_posted_signed_to_the_endpoint(
    make_sqlite_api: AppFactory, receiver: Receiver, clock: FakeClock
) -> None:
    api = make_sqlite_api(webhook_url=receiver.url, webhook_secret=WHSEC)
    assert api.runtime is not None
    api.paid_intent(1000)
    assert api.runtime.deliver_pending_webhooks(clock()) == 3
    assert len(receiver.requests) == 3
    stored = _events_by_id(api)
    now = int(clock())
    for req in receiver.requests:
        header = req.headers["stripe-signature"]
        assert header.startswith(f"t={now},v1=")
        assert verify_signature(req.body, header, WHSEC, 300, now)
        assert not verify_signature(req.body, header, "whsec_wrong", 300, now)
        assert req.headers["content-type"].startswith("application/json")
        event = json.loads(req.body)
        assert event == stored[event["id"]]
    types = sorted(json.loads(r.body)["type"] for r in receiver.requests)
    assert types == ["charge.succeeded", "payment_intent.created", "payment_intent.succeeded"]
    deliveries = api.get("/v1/_mock/webhook_deliveries").json()["data"]
    assert {d["status"] for d in deliveries} == {"delivered"}
    # Nothing is due any more.
    assert api.runtime.deliver_pending_webhooks(clock() + 3600) == 0


def test_failed_deliveries_are_retried_with_exponential_backoff(
    make_sqlite_api: AppFactory, receiver: Receiver, clock: FakeClock
) -> None:
    api = make_sqlite_api(webhook_url=receiver.url, webhook_secret=WHSEC, webhook_backoff_base_s=10)
    assert api.runtime is not None
    deliver = api.runtime.deliver_pending_webhooks
    receiver.statuses = [500, 503]
    api.post("/v1/payment_intents", {"amount": 100, "currency": "cny"})  # one event
    t0 = clock()

    assert deliver(t0) == 1
    (d,) = api.get("/v1/_mock/webhook_deliveries").json()["data"]
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 1, 500)
    assert d["next_attempt_at"] == t0 + 10
    assert deliver(t0 + 9.9) == 0
    assert deliver(t0 + 10) == 1  # second attempt, 503
    (d,) = api.get("/v1/_mock/webhook_deliveries").json()["data"]
    assert d["next_attempt_at"] == t0 + 10 + 20  # the wait doubled
    assert deliver(t0 + 29.9) == 0
    assert deliver(t0 + 30) == 1
    (d,) = api.get("/v1/_mock/webhook_deliveries").json()["data"]
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 3, 200)

    # The same event each time, each attempt signed at its own time.
    assert len({r.body for r in receiver.requests}) == 1
    stamps = [r.headers["stripe-signature"].split(",")[0] for r in receiver.requests]
    assert stamps == [f"t={int(t0)}", f"t={int(t0 + 10)}", f"t={int(t0 + 30)}"]
    for r, t in zip(receiver.requests, (t0, t0 + 10, t0 + 30), strict=True):
        assert verify_signature(r.body, r.headers["stripe-signature"], WHSEC, 300, int(t))


def test_timeouts_are_failures_and_delivery_gives_up_after_max_attempts(
    make_sqlite_api: AppFactory, clock: FakeClock
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("receiver too slow", request=request)

    api = make_sqlite_api(
        webhook_url="http://receiver.invalid/hook",
        webhook_transport=httpx.MockTransport(handler),
        webhook_backoff_base_s=1,
        webhook_max_attempts=3,
    )
    assert api.runtime is not None
    api.post("/v1/payment_intents", {"amount": 100, "currency": "cny"})
    t = clock()
    for _ in range(10):
        api.runtime.deliver_pending_webhooks(t)
        t += 100
    assert len(calls) == 3
    (d,) = api.get("/v1/_mock/webhook_deliveries").json()["data"]
    assert (d["status"], d["attempts"]) == ("failed", 3)
    assert "ReadTimeout" in d["last_error"]


def test_duplicate_deliveries_when_configured(
    make_sqlite_api: AppFactory, receiver: Receiver, clock: FakeClock
) -> None:
    api = make_sqlite_api(webhook_url=receiver.url, duplicate_webhook_rate=1.0)
    assert api.runtime is not None
    api.paid_intent(1000)
    assert api.runtime.deliver_pending_webhooks(clock()) == 6
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert len(ids) == 6
    assert len(set(ids)) == 3
    assert all(ids.count(i) == 2 for i in ids)


def test_duplicate_rate_is_seeded(
    make_sqlite_api: AppFactory, tmp_path: Path, clock: FakeClock
) -> None:
    def pattern(db: str, seed: int) -> list[bool]:
        api = make_sqlite_api(
            f"sqlite:///{tmp_path / db}",
            webhook_url="http://receiver.invalid/hook",
            duplicate_webhook_rate=0.5,
            seed=seed,
        )
        for _ in range(10):
            api.post("/v1/payment_intents", {"amount": 100, "currency": "cny"})
        deliveries = api.get("/v1/_mock/webhook_deliveries").json()["data"]
        per_event: dict[str, int] = {}
        for d in deliveries:
            per_event[d["event"]] = per_event.get(d["event"], 0) + 1
        return [per_event[d["event"]] == 2 for d in deliveries if not d["duplicate"]]

    a, b, c = pattern("a.db", 7), pattern("b.db", 7), pattern("c.db", 8)
    assert a == b
    assert 1 <= sum(a) <= 9
    assert a != c


def test_reordered_deliveries_when_configured(
    make_sqlite_api: AppFactory, receiver: Receiver, clock: FakeClock
) -> None:
    api = make_sqlite_api(webhook_url=receiver.url, reorder_webhooks=True, seed=3)
    assert api.runtime is not None
    for amount in (100, 200, 300):
        api.paid_intent(amount)
    created = [e["id"] for e in reversed(api.get("/v1/events", limit=100).json()["data"])]
    assert api.runtime.deliver_pending_webhooks(clock()) == 9
    received = [json.loads(r.body)["id"] for r in receiver.requests]
    assert sorted(received) == sorted(created)
    assert received != created


def test_in_order_without_reordering(
    make_sqlite_api: AppFactory, receiver: Receiver, clock: FakeClock
) -> None:
    api = make_sqlite_api(webhook_url=receiver.url)
    assert api.runtime is not None
    api.paid_intent(100)
    created = [e["id"] for e in reversed(api.get("/v1/events", limit=100).json()["data"])]
    api.runtime.deliver_pending_webhooks(clock())
    assert [json.loads(r.body)["id"] for r in receiver.requests] == created


def test_background_thread_delivers(make_sqlite_api: AppFactory, receiver: Receiver) -> None:
    api = make_sqlite_api(
        webhook_url=receiver.url,
        webhook_secret=WHSEC,
        webhook_worker=True,
        webhook_poll_interval_s=0.05,
        clock=time.time,
    )
    api.paid_intent(100)
    receiver.wait_for(3)
    for r in receiver.requests:
        assert verify_signature(r.body, r.headers["stripe-signature"], WHSEC, 300, int(time.time()))


def test_mock_endpoint_triggers_delivery(make_sqlite_api: AppFactory, receiver: Receiver) -> None:
    api = make_sqlite_api(webhook_url=receiver.url, clock=time.time)
    api.paid_intent(100)
    r = api.post("/v1/_mock/webhooks/deliver")
    assert (r.status_code, r.json()) == (200, {"attempts": 3})
    assert len(receiver.requests) == 3
