"""PaymentIntent state machine and parameter validation, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from paymock_testkit import Api


def create(api: Api, amount: Any = 1000, **extra: Any) -> Any:
    return api.post("/v1/payment_intents", {"amount": amount, "currency": "cny", **extra})


def err(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_automatic_capture_goes_straight_to_succeeded(api: Api) -> None:
    r = create(api, 1200, **{"metadata[order]": "o-1", "description": "研发任务 escrow"})
    assert r.status_code == 200
    pi = r.json()
    assert pi["object"] == "payment_intent"
    assert pi["id"].startswith("pi_")
    assert (pi["status"], pi["amount"], pi["currency"]) == ("requires_confirmation", 1200, "cny")
    assert pi["metadata"] == {"order": "o-1"}
    assert pi["description"] == "研发任务 escrow"

    r = api.post(f"/v1/payment_intents/{pi['id']}/confirm")
    assert r.status_code == 200
    done = r.json()
    assert done["status"] == "succeeded"
    assert done["amount_received"] == 1200
    assert done["amount_capturable"] == 0
    assert done["latest_charge"].startswith("ch_")

    charge = api.get(f"/v1/charges/{done['latest_charge']}").json()
    assert charge["captured"] is True
    assert charge["amount_captured"] == 1200
    assert api.get(f"/v1/payment_intents/{pi['id']}").json() == done
    assert api.available() == 1200
    assert api.event_types() == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


def test_manual_capture_holds_then_captures(api: Api) -> None:
    pi = create(api, 1000, capture_method="manual").json()
    r = api.post(f"/v1/payment_intents/{pi['id']}/confirm")
    assert r.json()["status"] == "requires_capture"
    assert r.json()["amount_capturable"] == 1000
    # Authorised is not captured: nothing is available yet.
    assert api.available() == 0

    r = api.post(f"/v1/payment_intents/{pi['id']}/capture")
    assert r.status_code == 200
    assert r.json()["status"] == "succeeded"
    assert r.json()["amount_received"] == 1000
    assert api.available() == 1000
    types = api.event_types()
    assert types == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "charge.captured",
        "payment_intent.succeeded",
    ]


def test_partial_capture_releases_the_rest(api: Api) -> None:
    pi = create(api, 1000, capture_method="manual", confirm="true").json()
    assert pi["status"] == "requires_capture"
    r = api.post(f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 600})
    assert r.status_code == 200
    assert (r.json()["amount_received"], r.json()["amount_capturable"]) == (600, 0)
    assert api.available() == 600


def test_over_capture_is_rejected_naming_the_param(api: Api) -> None:
    pi = create(api, 1000, capture_method="manual", confirm="true").json()
    r = api.post(f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 1001})
    assert r.status_code == 400
    e = err(r)
    assert (e["type"], e["code"], e["param"]) == (
        "invalid_request_error",
        "amount_too_large",
        "amount_to_capture",
    )
    # Nothing changed.
    assert api.get(f"/v1/payment_intents/{pi['id']}").json()["status"] == "requires_capture"
    r = api.post(f"/v1/payment_intents/{pi['id']}/capture", {"amount_to_capture": 0})
    assert (r.status_code, err(r)["param"]) == (400, "amount_to_capture")


@pytest.mark.parametrize("manual", [False, True])
def test_cancel_before_capture(api: Api, manual: bool) -> None:
    extra = {"capture_method": "manual", "confirm": "true"} if manual else {}
    pi = create(api, 800, **extra).json()
    r = api.post(
        f"/v1/payment_intents/{pi['id']}/cancel", {"cancellation_reason": "requested_by_customer"}
    )
    assert r.status_code == 200
    out = r.json()
    assert out["status"] == "canceled"
    assert out["cancellation_reason"] == "requested_by_customer"
    assert out["canceled_at"] is not None
    assert out["amount_capturable"] == 0
    assert api.event_types()[-1] == "payment_intent.canceled"
    assert api.available() == 0
    # A canceled intent is final.
    for action in ("confirm", "capture", "cancel"):
        r = api.post(f"/v1/payment_intents/{pi['id']}/{action}")
        assert r.status_code == 400, action
        assert err(r)["code"] == "payment_intent_unexpected_state"


def test_transitions_out_of_order_are_rejected(api: Api) -> None:
    pi = create(api).json()
    r = api.post(f"/v1/payment_intents/{pi['id']}/capture")
    assert r.status_code == 400
    assert err(r)["code"] == "payment_intent_unexpected_state"
    assert "requires_confirmation" in err(r)["message"]

    api.post(f"/v1/payment_intents/{pi['id']}/confirm")
    for action in ("confirm", "capture", "cancel"):
        r = api.post(f"/v1/payment_intents/{pi['id']}/{action}")
        assert r.status_code == 400, action
        assert err(r)["code"] == "payment_intent_unexpected_state"
        assert err(r)["payment_intent"]["status"] == "succeeded"


def test_declined_card_is_a_402_and_the_intent_can_be_retried(api: Api) -> None:
    r = create(api, 500, payment_method="pm_card_chargeDeclined", confirm="true")
    assert r.status_code == 402
    e = err(r)
    assert (e["type"], e["code"], e["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    pi = e["payment_intent"]
    assert pi["status"] == "requires_payment_method"
    assert pi["last_payment_error"]["code"] == "card_declined"
    assert api.available() == 0
    assert "payment_intent.payment_failed" in api.event_types()

    # Confirming without a new method is refused; with a good one it succeeds.
    r = api.post(f"/v1/payment_intents/{pi['id']}/confirm")
    assert (r.status_code, err(r)["param"]) == (400, "payment_method")
    r = api.post(f"/v1/payment_intents/{pi['id']}/confirm", {"payment_method": "pm_card_visa"})
    assert r.status_code == 200
    assert r.json()["status"] == "succeeded"
    assert r.json()["last_payment_error"] is None
    assert api.available() == 500


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"amount": "0"}, "amount", "amount_too_small"),
        ({"amount": "-5"}, "amount", "amount_too_small"),
        ({"amount": "12.5"}, "amount", "parameter_invalid_integer"),
        ({"amount": "abc"}, "amount", "parameter_invalid_integer"),
        ({"amount": ""}, "amount", "parameter_invalid_empty"),
        ({"amount": "100000000"}, "amount", "amount_too_large"),
        ({"amount": None}, "amount", "parameter_missing"),
        ({"currency": "usd"}, "currency", "parameter_invalid_string"),
        ({"currency": None}, "currency", "parameter_missing"),
        ({"capture_method": "later"}, "capture_method", "parameter_invalid_string"),
        ({"payment_method": "card_123"}, "payment_method", "resource_missing"),
        ({"colour": "blue"}, "colour", "parameter_unknown"),
        ({"metadata[" + "k" * 41 + "]": "v"}, "metadata[" + "k" * 41 + "]", None),
    ],
)
def test_invalid_create_parameters(
    api: Api, params: dict[str, Any], param: str, code: str | None
) -> None:
    body = {"amount": "1000", "currency": "cny", **params}
    r = api.post("/v1/payment_intents", {k: v for k, v in body.items() if v is not None})
    assert r.status_code == 400
    e = err(r)
    assert e["type"] == "invalid_request_error"
    assert e["param"] == param
    assert e.get("code") == code
    assert api.event_types() == []


def test_json_bodies_are_accepted(api: Api) -> None:
    r = api.post(
        "/v1/payment_intents",
        json={"amount": 300, "currency": "CNY", "confirm": True, "metadata": {"n": 1}},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["currency"]) == ("succeeded", "cny")
    assert r.json()["metadata"] == {"n": "1"}
    r = api.post("/v1/payment_intents", json={"amount": -1, "currency": "cny"})
    assert (r.status_code, err(r)["param"]) == (400, "amount")


def test_unknown_ids_are_404_resource_missing(api: Api) -> None:
    for path in (
        "/v1/payment_intents/pi_nope",
        "/v1/charges/ch_nope",
        "/v1/transfers/tr_nope",
        "/v1/refunds/re_nope",
        "/v1/events/evt_nope",
    ):
        r = api.get(path)
        assert r.status_code == 404, path
        assert err(r)["code"] == "resource_missing"
    r = api.post("/v1/payment_intents/pi_nope/confirm")
    assert (r.status_code, err(r)["code"]) == (404, "resource_missing")


def test_authentication(api: Api) -> None:
    r = api.client.get("/v1/balance")
    assert r.status_code == 401
    assert err(r)["type"] == "invalid_request_error"
    r = api.client.get("/v1/balance", headers={"Authorization": "Bearer sk_test_wrong"})
    assert r.status_code == 401
    # Stripe also takes the key as the Basic-auth user name.
    r = api.client.get("/v1/balance", auth=("sk_test_mock", ""))
    assert r.status_code == 200


def test_unknown_route_is_stripe_shaped(api: Api) -> None:
    r = api.get("/v1/customers")
    assert r.status_code == 404
    assert "Unrecognized request URL" in err(r)["message"]
