"""Transfers, refunds, the platform balance and events, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from paymock_testkit import Api, AppFactory


def err(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def transfer(api: Api, amount: Any, destination: str = "acct_solver1", **extra: Any) -> Any:
    return api.post(
        "/v1/transfers",
        {"amount": amount, "currency": "cny", "destination": destination, **extra},
    )


def test_balance_is_captured_minus_transfers_minus_refunds(api: Api) -> None:
    assert api.get("/v1/balance").json() == {
        "object": "balance",
        "available": [{"amount": 0, "currency": "cny"}],
        "pending": [{"amount": 0, "currency": "cny"}],
        "livemode": False,
    }
    a = api.paid_intent(10_000)
    api.paid_intent(5_000)
    assert api.available() == 15_000

    r = transfer(api, 4_000, transfer_group="contract:7", **{"metadata[milestone]": "m-1"})
    assert r.status_code == 200
    tr = r.json()
    assert tr["object"] == "transfer"
    assert tr["id"].startswith("tr_")
    assert (tr["amount"], tr["destination"], tr["transfer_group"]) == (
        4_000,
        "acct_solver1",
        "contract:7",
    )
    assert tr["metadata"] == {"milestone": "m-1"}
    assert api.get(f"/v1/transfers/{tr['id']}").json() == tr
    assert api.available() == 11_000

    r = api.post("/v1/refunds", {"payment_intent": a["id"], "amount": 2_500})
    assert r.status_code == 200
    assert api.available() == 8_500

    moves = api.get("/v1/_mock/movements").json()
    assert moves["totals"] == {"charge": 15_000, "transfer": -4_000, "refund": -2_500}
    assert moves["available"] == 8_500
    assert moves["transfers_by_destination"] == {"acct_solver1": 4_000}
    assert [m["type"] for m in moves["data"]] == ["charge", "charge", "transfer", "refund"]
    txns = api.get("/v1/balance_transactions", limit=10).json()
    assert [t["amount"] for t in txns["data"]] == [-2_500, -4_000, 5_000, 10_000]


def test_transfer_beyond_balance_is_balance_insufficient(api: Api) -> None:
    api.paid_intent(1_000)
    r = transfer(api, 1_001)
    assert r.status_code == 400
    e = err(r)
    assert (e["type"], e["code"]) == ("invalid_request_error", "balance_insufficient")
    assert api.available() == 1_000
    assert transfer(api, 1_000).status_code == 200
    assert api.available() == 0
    assert err(transfer(api, 1))["code"] == "balance_insufficient"


def test_transfer_validation_names_the_param(api: Api) -> None:
    api.paid_intent(1_000)
    cases = [
        ({"amount": 0}, "amount"),
        ({"amount": -100}, "amount"),
        ({"destination": "bob"}, "destination"),
        ({"destination": ""}, "destination"),
        ({"currency": "eur"}, "currency"),
    ]
    for params, param in cases:
        body = {"amount": 100, "currency": "cny", "destination": "acct_x", **params}
        r = api.post("/v1/transfers", body)
        assert r.status_code == 400, params
        assert err(r)["param"] == param, params
    assert api.available() == 1_000


def test_transfer_list_paginates_newest_first(api: Api) -> None:
    api.paid_intent(10_000)
    ids = [transfer(api, 100 + i, f"acct_{i % 2}").json()["id"] for i in range(5)]
    newest_first = list(reversed(ids))

    page = api.get("/v1/transfers", limit=2).json()
    assert page["object"] == "list"
    assert page["url"] == "/v1/transfers"
    assert [t["id"] for t in page["data"]] == newest_first[:2]
    assert page["has_more"] is True
    page = api.get("/v1/transfers", limit=2, starting_after=newest_first[1]).json()
    assert [t["id"] for t in page["data"]] == newest_first[2:4]
    page = api.get("/v1/transfers", limit=2, starting_after=newest_first[3]).json()
    assert [t["id"] for t in page["data"]] == newest_first[4:]
    assert page["has_more"] is False
    page = api.get("/v1/transfers", limit=2, ending_before=newest_first[4]).json()
    assert [t["id"] for t in page["data"]] == newest_first[2:4]
    assert page["has_more"] is True

    only = api.get("/v1/transfers", destination="acct_1").json()
    assert [t["id"] for t in only["data"]] == [ids[3], ids[1]]
    assert api.get("/v1/transfers", limit=0).status_code == 400
    assert api.get("/v1/transfers", limit=101).status_code == 400
    r = api.get("/v1/transfers", starting_after="tr_unknown")
    assert (r.status_code, err(r)["param"]) == (400, "starting_after")


def test_refunds_default_to_the_remaining_amount(api: Api) -> None:
    pi = api.paid_intent(3_000)
    api.paid_intent(10_000)  # other funds, so the balance never limits these refunds
    r = api.post(
        "/v1/refunds", {"payment_intent": pi["id"], "amount": 1_000, "reason": "duplicate"}
    )
    assert r.status_code == 200
    rf = r.json()
    assert rf["object"] == "refund"
    assert (rf["amount"], rf["status"], rf["reason"]) == (1_000, "succeeded", "duplicate")
    assert rf["charge"] == pi["latest_charge"]
    assert api.get(f"/v1/refunds/{rf['id']}").json() == rf

    r = api.post("/v1/refunds", {"payment_intent": pi["id"]})
    assert r.json()["amount"] == 2_000
    charge = api.get(f"/v1/charges/{pi['latest_charge']}").json()
    assert (charge["amount_refunded"], charge["refunded"]) == (3_000, True)

    r = api.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 1})
    assert r.status_code == 400
    assert err(r)["code"] == "charge_already_refunded"
    assert api.available() == 10_000


def test_over_refund_is_rejected_naming_amount(api: Api) -> None:
    pi = api.paid_intent(3_000)
    api.paid_intent(10_000)
    api.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 2_000})
    r = api.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 1_001})
    assert r.status_code == 400
    assert (err(r)["code"], err(r)["param"]) == ("amount_too_large", "amount")
    for bad in (0, -1):
        r = api.post("/v1/refunds", {"payment_intent": pi["id"], "amount": bad})
        assert (r.status_code, err(r)["param"]) == (400, "amount")
    assert api.available() == 11_000


def test_refund_needs_a_captured_payment(api: Api) -> None:
    held = api.post(
        "/v1/payment_intents",
        {"amount": 500, "currency": "cny", "capture_method": "manual", "confirm": "true"},
    ).json()
    r = api.post("/v1/refunds", {"payment_intent": held["id"]})
    assert (r.status_code, err(r)["code"]) == (400, "payment_intent_unexpected_state")
    r = api.post("/v1/refunds", {"payment_intent": "pi_missing"})
    assert (r.status_code, err(r)["code"], err(r)["param"]) == (
        400,
        "resource_missing",
        "payment_intent",
    )
    r = api.post("/v1/refunds", {})
    assert (r.status_code, err(r)["param"]) == (400, "payment_intent")


def test_refund_by_charge_id(api: Api) -> None:
    pi = api.paid_intent(700)
    r = api.post("/v1/refunds", {"charge": pi["latest_charge"], "amount": 200})
    assert r.status_code == 200
    assert r.json()["payment_intent"] == pi["id"]
    assert api.available() == 500


def test_every_state_change_creates_an_event(api: Api) -> None:
    pi = api.paid_intent(2_000)
    transfer(api, 500)
    api.post("/v1/refunds", {"payment_intent": pi["id"], "amount": 300})
    assert api.event_types() == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "transfer.created",
        "refund.created",
        "charge.refunded",
    ]
    listing = api.get("/v1/events", limit=100).json()
    assert listing["object"] == "list"
    newest = listing["data"][0]
    assert newest["object"] == "event"
    assert newest["data"]["object"]["object"] == "charge"
    assert newest["data"]["object"]["amount_refunded"] == 300
    assert newest["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    assert api.get(f"/v1/events/{newest['id']}").json() == newest

    tr_events = api.get("/v1/events", type="transfer.created").json()["data"]
    assert len(tr_events) == 1
    assert tr_events[0]["data"]["object"]["amount"] == 500
    pi_events = api.get("/v1/events", type="payment_intent.*").json()["data"]
    assert [e["type"] for e in pi_events] == ["payment_intent.succeeded", "payment_intent.created"]
    page = api.get("/v1/events", limit=2, starting_after=listing["data"][1]["id"]).json()
    assert [e["id"] for e in page["data"]] == [e["id"] for e in listing["data"][2:4]]


def test_balance_follows_a_model(make_sqlite_api: AppFactory) -> None:
    """Any sequence of payments, transfers and refunds keeps the balance equal to a model
    computed from the rules, and never below zero."""
    api = make_sqlite_api()  # one app for all examples; the database is shared, so use deltas

    @settings(max_examples=12, deadline=None, database=None)
    @given(
        ops=st.lists(
            st.one_of(
                st.tuples(st.just("pay"), st.integers(1, 5_000)),
                st.tuples(st.just("transfer"), st.integers(1, 8_000)),
                st.tuples(st.just("refund"), st.integers(0, 5), st.none() | st.integers(1, 5_000)),
            ),
            max_size=8,
        )
    )
    def run(ops: list[tuple[Any, ...]]) -> None:
        balance = api.available()
        refundable: list[tuple[str, int]] = []  # (payment intent, amount left to refund)
        for op in ops:
            if op[0] == "pay":
                pi = api.paid_intent(op[1])
                balance += op[1]
                refundable.append((pi["id"], op[1]))
            elif op[0] == "transfer":
                r = transfer(api, op[1])
                ok = op[1] <= balance
                assert r.status_code == (200 if ok else 400), r.text
                balance -= op[1] if ok else 0
            elif refundable:
                i = op[1] % len(refundable)
                pi_id, left = refundable[i]
                want = left if op[2] is None else op[2]
                r = api.post(
                    "/v1/refunds",
                    {"payment_intent": pi_id}
                    if op[2] is None
                    else {"payment_intent": pi_id, "amount": want},
                )
                ok = 0 < want <= left and want <= balance
                assert r.status_code == (200 if ok else 400), (r.text, want, left, balance)
                if ok:
                    balance -= want
                    refundable[i] = (pi_id, left - want)
            assert balance >= 0
            assert api.available() == balance
        moves = api.get("/v1/_mock/movements").json()
        assert moves["available"] == sum(moves["totals"].values()) == balance

    run()
