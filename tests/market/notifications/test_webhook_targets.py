"""Integrators' webhook URLs cannot make the server call into its own network.

With MARKET_WEBHOOK_ALLOW_PRIVATE off (the default), a URL naming a loopback, private or
link-local address is refused at registration (422 naming `url`), and a name that resolves
to such an address when the notification is sent (DNS changed since registration) is not
contacted: the delivery is cancelled, with the reason, and never retried.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from market.notifications import channels
from market.notifications.models import NotificationDelivery
from market.settings import Settings
from tests.conftest import make_settings
from tests.helpers import Api
from tests.market.notifications.conftest import Receiver
from tests.market.notifications.helpers import english_solver, kinds
from tests.servers import Provider


@pytest.fixture
def settings(database_url: str, tmp_path: Path, provider: Provider) -> Settings:
    return dataclasses.replace(
        make_settings(database_url, tmp_path, provider), webhook_allow_private=False
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://api.localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://[::1]:9000/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_addresses_are_refused_at_registration(api: Api, url: str) -> None:
    solver = api.solver()
    r = api.c.post("/me/webhooks", json={"url": url}, headers=solver.headers)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("url", "url_not_public")
    assert api.c.get("/me/webhooks", headers=solver.headers).json() == []


def test_a_name_resolving_to_a_private_address_is_never_contacted(
    api: Api, engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The integrator's name resolved to a public address when registered; now its DNS
    # answers with the address where our receiver listens (as a rebinding attack would).
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    real_getaddrinfo = socket.getaddrinfo

    def dns(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.partner.example":
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(channels.socket, "getaddrinfo", dns)
    poster, solver = api.poster(), english_solver(api, "Ada Integrator")
    r = api.c.post(
        "/me/webhooks",
        json={"url": f"http://hooks.partner.example:{port}/market/events"},
        headers=solver.headers,
    )
    assert r.status_code == 201, r.text

    task = api.published_task(poster)
    bid = api.bid(solver, task["id"])
    r = api.c.post(f"/bids/{bid['id']}/shortlist", headers=poster.headers)
    assert r.status_code == 200  # the solver is notified: inbox yes, webhook refused

    assert receiver.calls == []
    with engine.connect() as conn:
        (delivery,) = conn.execute(
            select(NotificationDelivery).where(NotificationDelivery.channel == "webhook")
        ).all()
    assert delivery.status == "cancelled"
    assert "127.0.0.1, not a public address" in (delivery.last_error or "")
    assert kinds(api, solver) == ["bid_shortlisted"]


def test_public_addresses_pass_the_guard() -> None:
    for host in ("8.8.8.8", "2001:4860:4860::8888", "erp.example.com"):
        assert not channels.literal_private_host(host)


def test_the_checked_address_is_the_one_connected_to(
    api: Api, engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One DNS look-up per delivery: the POST goes to the address that was checked, so a
    DNS answer changing right after the check (rebinding) cannot redirect it. Here the
    receiver's loopback address stands for a public one; a second look-up would get an
    address nobody listens on."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def dns(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.partner.example":
            lookups.append(host)
            answer = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
            return real_getaddrinfo(answer, *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(channels.socket, "getaddrinfo", dns)
    real_not_public = channels._not_public
    monkeypatch.setattr(channels, "_not_public", lambda a: real_not_public(a) and a != "127.0.0.1")
    poster, solver = api.poster(), english_solver(api, "Ada Integrator")
    r = api.c.post(
        "/me/webhooks",
        json={"url": f"http://hooks.partner.example:{port}/market/events?v=1"},
        headers=solver.headers,
    )
    assert r.status_code == 201, r.text
    task = api.published_task(poster)
    bid = api.bid(solver, task["id"])
    assert api.c.post(f"/bids/{bid['id']}/shortlist", headers=poster.headers).status_code == 200

    (call,) = receiver.calls
    assert call.path == "/market/events"
    assert call.headers["host"] == f"hooks.partner.example:{port}"
    assert lookups == ["hooks.partner.example"]
    with engine.connect() as conn:
        status = conn.scalar(
            select(NotificationDelivery.status).where(NotificationDelivery.channel == "webhook")
        )
    assert status == "sent"


def test_addresses_wrapping_a_private_ipv4_are_not_public() -> None:
    for address in ("::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::a9fe:a9fe"):
        assert channels._not_public(address), address
    assert not channels._not_public("64:ff9b::808:808")  # NAT64 of 8.8.8.8
