"""E-mail to a real SMTP server and signed webhooks to a real receiver: each delivery is
sent once when it succeeds, and retried (the job raises) while it fails."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import replace

import pytest
from sqlalchemy import Engine, delete, select

from market.jobs import JobContext, build_job_context
from market.notifications.channels import DeliveryError
from market.notifications.models import NotificationDelivery
from market.outbox.dispatch import drain, run_handler
from market.outbox.models import OutboxDelivery
from market.settings import Settings
from tests.helpers import Api
from tests.market.notifications.conftest import (
    Mailbox,
    Receiver,
    SmtpServer,
    background_paused,
    free_port,
)
from tests.market.notifications.helpers import TASK_EN, english_solver, last_event
from workers.actors import NOT_RETRYABLE


def _deliveries(engine: Engine, channel: str) -> list[NotificationDelivery]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(NotificationDelivery)
                .where(NotificationDelivery.channel == channel)
                .order_by(NotificationDelivery.id)
            ).all()
        )


def test_smtp_down_the_job_fails_and_nothing_is_marked_sent(
    api: Api,
    engine: Engine,
    settings: Settings,
    jobs: JobContext,
    mailbox: Mailbox,
    smtp_server: SmtpServer,
) -> None:
    c = api.c
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster)
    bid = api.bid(solver, task["id"])
    mailbox.clear()
    # A worker whose SMTP server does not answer.
    down = build_job_context(replace(settings, smtp_port=free_port()), engine, jobs.gateway)
    with background_paused(c):
        r = c.post(
            f"/bids/{bid['id']}/decline", json={"reason": "预算不足"}, headers=poster.headers
        )
        assert r.status_code == 200
    with pytest.raises(DeliveryError, match="smtp"):
        drain(down)
    # The worker retries what raises this (only refusals and missing rows are final).
    assert not issubclass(DeliveryError, NOT_RETRYABLE)

    (row,) = [d for d in _deliveries(engine, "email") if d.target == solver.email]
    assert (row.status, row.attempts, row.sent_at) == ("retrying", 1, None)
    assert "ConnectionRefusedError" in row.last_error
    assert mailbox.to(solver.email) == []

    # The retry, once the server answers: sent, once.
    qid, _ = last_event(engine, "NotificationQueued")
    assert run_handler(jobs, qid, "notifications.deliver") == "done"
    assert run_handler(jobs, qid, "notifications.deliver") == "duplicate"
    assert jobs.notifications.deliver(row.notification_id) == {"sent": 0, "failed": 0, "skipped": 0}
    (mail,) = mailbox.to(solver.email)
    assert mail["Subject"].endswith("的投标未被采纳")
    assert mail["Message-ID"] == f"<notification-{row.notification_id}.{row.id}@rd-market.example>"
    (row,) = [d for d in _deliveries(engine, "email") if d.target == solver.email]
    assert (row.status, row.attempts) == ("sent", 2) and row.sent_at is not None


def _verify(secret: str, header: str, body: bytes) -> int:
    parts = dict(p.split("=", 1) for p in header.split(","))
    t = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "bad signature"
    assert abs(time.time() - t) < 300
    return t


def test_webhooks_are_signed_retried_and_sent_once(
    api: Api, engine: Engine, jobs: JobContext, receiver: Receiver
) -> None:
    c = api.c
    poster = api.poster()
    solver = english_solver(api, "Ada Integrator")

    # Bad endpoints are refused with a problem naming the field.
    for url, status, rule in (
        ("ftp://files.example/x", 400, "pattern"),
        ("javascript:alert(1)", 400, "pattern"),
        ("https://user:pw@erp.example/hook", 422, "url_credentials"),
        ("https://[::1/hook", 422, "url"),
        ("http://erp.example:99999/hook", 422, "url"),
    ):
        r = c.post("/me/webhooks", json={"url": url}, headers=solver.headers)
        assert r.status_code == status, (url, r.text)
        assert r.json()["errors"][0]["field"] == "url" and r.json()["errors"][0]["rule"] == rule
    r = c.post("/me/webhooks", json={"url": receiver.url, "token": "x"}, headers=solver.headers)
    assert r.status_code == 400 and r.json()["errors"][0]["rule"] == "unknown_field"

    r = c.post(
        "/me/webhooks",
        json={"url": f"{receiver.url}/market/events", "description": "ERP"},
        headers=solver.headers,
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    secret = hook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    listed = c.get("/me/webhooks", headers=solver.headers).json()
    assert [(h["id"], h["secret"], h["url"]) for h in listed] == [
        (hook["id"], None, f"{receiver.url}/market/events")
    ]
    assert c.get("/me/webhooks", headers=poster.headers).json() == []

    task = api.published_task(poster)
    bid = api.bid(solver, task["id"])
    # The receiver is down for the first attempt: the job raises, so the worker retries it.
    receiver.fail_next = 1
    with background_paused(c):
        assert c.post(f"/bids/{bid['id']}/shortlist", headers=poster.headers).status_code == 200
    with pytest.raises(DeliveryError, match="HTTP 503"):
        drain(jobs)
    (row,) = _deliveries(engine, "webhook")
    assert (row.status, row.attempts) == ("retrying", 1)
    qid, _ = last_event(engine, "NotificationQueued")
    assert run_handler(jobs, qid, "notifications.deliver") == "done"
    # Redelivered after success: nothing is sent again.
    with engine.begin() as conn:
        conn.execute(delete(OutboxDelivery).where(OutboxDelivery.outbox_id == qid))
    assert run_handler(jobs, qid, "notifications.deliver") == "done"

    assert [call.status for call in receiver.calls] == [503, 204]
    failed, sent = receiver.calls
    assert sent.path == "/market/events"
    assert sent.body == failed.body  # the same document, signed afresh
    assert sent.headers["x-market-delivery"] == failed.headers["x-market-delivery"] == str(row.id)
    assert sent.headers["x-market-event"] == "bid_shortlisted"
    assert sent.headers["content-type"] == "application/json"
    _verify(secret, sent.headers["x-market-signature"], sent.body)
    with pytest.raises(AssertionError, match="bad signature"):
        _verify("whsec_wrong", sent.headers["x-market-signature"], sent.body)
    doc = json.loads(sent.body)
    assert doc["type"] == "bid_shortlisted" and doc["user_id"] == solver.id
    assert doc["language"] == "en"
    assert doc["title_en"] == f"Your bid on “{TASK_EN}” was shortlisted"
    assert doc["title_zh"].endswith("的投标已入围")  # UTF-8, not escaped
    assert "入围".encode() in sent.body
    assert doc["link"] == f"/bids/{bid['id']}"
    (row,) = _deliveries(engine, "webhook")
    assert (row.status, row.attempts) == ("sent", 2)

    # Deleted: no more deliveries, and it is gone from the list.
    assert c.delete(f"/me/webhooks/{hook['id']}", headers=poster.headers).status_code == 404
    assert c.delete(f"/me/webhooks/{hook['id']}", headers=solver.headers).status_code == 204
    assert c.delete(f"/me/webhooks/{hook['id']}", headers=solver.headers).status_code == 404
    assert c.get("/me/webhooks", headers=solver.headers).json() == []
    r = c.post(f"/bids/{bid['id']}/decline", json={"reason": "改期"}, headers=poster.headers)
    assert r.status_code == 200
    assert len(receiver.calls) == 2
