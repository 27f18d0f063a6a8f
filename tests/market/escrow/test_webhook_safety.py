"""Provider webhooks: only a genuine, fresh, well-formed event has an effect, and only once.

The market is served over HTTP and the payment mock's own dispatcher delivers to it; the
forged ones are POSTed by hand. A bad signature, an old (or future) timestamp, a missing
or malformed header, a body that is not JSON or not an event, or a tampered body: 400 and
no new journal entry or provider_events row. A replayed event id (same body, freshly
signed), and a money event that arrives before, or after, the job books the same movement:
one journal entry, one provider movement.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from market.escrow.models import JournalEntry, ProviderEvent
from market.jobs import JobContext
from paymock.models import Event
from paymock.signing import sign_header
from tests.market.escrow.reliability import (
    Awarded,
    JobRunner,
    Stack,
    World,
    check_books,
    check_provider,
    stack,
)

SECRET = "whsec_mock"


@pytest.fixture
def st_(engine: Engine, tmp_path: Path) -> Iterator[Stack]:
    with stack(engine, tmp_path) as s:
        yield s


@pytest.fixture
def jobs(st_: Stack) -> Iterator[JobContext]:
    ctx = st_.job_context()
    yield ctx
    ctx.close()


def _funded_contract(jobs: JobContext) -> Awarded:
    world = World(jobs)
    awarded = world.award(world.poster(), world.solver(), [30_000, 70_000])
    JobRunner(jobs).drain()  # the award's job charges the first milestone
    return awarded


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.scalar(select(func.count()).select_from(JournalEntry)) or 0),
            int(conn.scalar(select(func.count()).select_from(ProviderEvent)) or 0),
        )


def _kinds(engine: Engine, milestone_id: int) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.scalars(select(JournalEntry.kind).where(JournalEntry.milestone_id == milestone_id))
        )


def _event(st_: Stack, type_: str) -> bytes:
    """The body the provider stored (and delivers) for its latest event of this type."""
    with st_.paymock.service.sessions() as s:
        body = s.scalar(
            select(Event.body).where(Event.type == type_).order_by(Event.seq.desc()).limit(1)
        )
    assert body is not None, type_
    return body.encode()


def _post(st_: Stack, body: bytes, header: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return httpx.post(f"{st_.market_url}/webhooks/payments", content=body, headers=headers)


def _unbooked(
    jobs: JobContext, monkeypatch: pytest.MonkeyPatch, op: str, milestone_id: int
) -> None:
    """The job moves the money at the provider, then dies before booking it."""

    def crash(*_args: Any) -> str:
        raise SystemExit(f"worker killed after the provider call of {op}, before the commit")

    with monkeypatch.context() as m:
        m.setattr(jobs.escrow, f"book_{op}", crash)  # this job's service only, not the app's
        with pytest.raises(SystemExit):
            getattr(jobs.escrow, op)(milestone_id)


def test_forged_stale_and_malformed_webhooks_are_refused_and_change_nothing(
    st_: Stack, jobs: JobContext, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    awarded = _funded_contract(jobs)
    m1 = awarded.milestone_ids[0]
    _unbooked(jobs, monkeypatch, "release", m1)  # a transfer the ledger has not booked yet
    body = _event(st_, "transfer.created")
    now = int(time.time())
    before = _counts(engine)
    not_json = b'{"id": "evt_x", "type": '
    no_object = json.dumps({"id": "evt_x", "type": "transfer.created", "data": {}}).encode()
    tampered = body.replace(b'"gross_minor":"30000"', b'"gross_minor":"1"')
    assert tampered != body
    cases: dict[str, tuple[bytes, str | None, str]] = {
        "bad signature": (body, sign_header(body, "whsec_wrong", now), "signature_mismatch"),
        "old timestamp": (body, sign_header(body, SECRET, now - 3600), "signature_expired"),
        "future timestamp": (body, sign_header(body, SECRET, now + 3600), "signature_expired"),
        "no header": (body, None, "signature_missing"),
        "malformed header": (body, "garbage", "signature_malformed"),
        "no v1": (body, f"t={now}", "signature_malformed"),
        "tampered body": (tampered, sign_header(body, SECRET, now), "signature_mismatch"),
        "not json": (not_json, sign_header(not_json, SECRET, now), "malformed"),
        "not an event": (b"[1, 2]", sign_header(b"[1, 2]", SECRET, now), "not_an_event"),
        "no data.object": (no_object, sign_header(no_object, SECRET, now), "not_an_event"),
    }
    for name, (payload, header, rule) in cases.items():
        r = _post(st_, payload, header)
        assert r.status_code == 400, (name, r.status_code, r.text)
        assert r.json()["errors"][0]["rule"] == rule, (name, r.text)
        assert _counts(engine) == before, name
    assert _kinds(engine, m1) == ["fund"]

    # The genuine delivery books the transfer; its replay (same id, freshly signed) and the
    # job's retry find it booked.
    st_.deliver_webhooks()
    assert _kinds(engine, m1) == ["fund", "release"]
    after = _counts(engine)
    r = _post(st_, body, sign_header(body, SECRET, int(time.time())))
    assert r.status_code == 200 and r.json()["outcome"] == "duplicate", r.text
    assert jobs.escrow.release(m1) == "already_released"
    assert _counts(engine) == after
    moved = st_.provider.movements()
    assert len([d for d in moved["data"] if d["type"] == "transfer"]) == 1
    check_provider(st_.provider, check_books(engine))


EVENT_TYPES = {
    "fund": "payment_intent.succeeded",
    "release": "transfer.created",
    "refund": "refund.created",
}
PROVIDER_TYPES = {"fund": "charge", "release": "transfer", "refund": "refund"}
OUTCOMES = {"fund": "funded", "release": "released", "refund": "refunded"}


def _movements(st_: Stack, op: str) -> int:
    return sum(1 for d in st_.provider.movements()["data"] if d["type"] == PROVIDER_TYPES[op])


def test_a_money_event_and_its_job_book_once_in_either_order(
    st_: Stack, jobs: JobContext, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For fund, release and refund, on a contract each: the webhook first (the job's
    provider call went through, the job died before booking, its retry comes after the
    webhook) and the job first (the webhook comes after the booking); then the same event
    once more, as a provider retry sends it. One entry, one provider movement each."""
    for first in ("webhook", "job"):
        for op in ("fund", "release", "refund"):
            case = f"{op}, {first} first"
            awarded = _funded_contract(jobs)
            st_.deliver_webhooks()  # the first milestone's funding events, out of the way
            before = _movements(st_, op)
            # fund: the second milestone (not funded yet); release, refund: the first.
            milestone = awarded.milestone_ids[1 if op == "fund" else 0]
            if first == "webhook":
                _unbooked(jobs, monkeypatch, op, milestone)
                st_.deliver_webhooks()  # books it
                assert _kinds(engine, milestone).count(op) == 1, case
                assert getattr(jobs.escrow, op)(milestone) == f"already_{OUTCOMES[op]}", case
            else:
                assert getattr(jobs.escrow, op)(milestone) == OUTCOMES[op], case
                st_.deliver_webhooks()  # finds it booked
            body = _event(st_, EVENT_TYPES[op])
            r = _post(st_, body, sign_header(body, SECRET, int(time.time())))
            assert r.status_code == 200 and r.json()["outcome"] == "duplicate", (case, r.text)
            assert _kinds(engine, milestone).count(op) == 1, case
            assert _movements(st_, op) == before + 1, case
    assert set(st_.webhook_statuses()) <= {"delivered"}
    check_provider(st_.provider, check_books(engine))
