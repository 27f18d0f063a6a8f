"""Twenty concurrent requests on one milestone move its money once.

The accepts go through the HTTP API (the market served by uvicorn, requests on 20 threads
released together); releases and refunds call the escrow service from threads, as
duplicate or concurrent jobs would. Whatever the interleaving: one journal entry per kind
at most, one provider movement, books and provider in agreement.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from market.app import create_app
from market.errors import Conflict, DomainError
from market.escrow.gateway import PaymentsError
from market.escrow.models import JournalEntry, MilestoneEscrow
from market.jobs import JobContext
from market.outbox.dispatch import relay_once, run_handler
from market.outbox.models import OutboxEvent
from market.settings import Settings
from tests.helpers import Actor, Api
from tests.market.escrow.reliability import check_books, check_provider
from tests.servers import Provider, payment_provider, serve

N = 20


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Provider]:
    """A fresh provider whose calls take 50 ms, as a real one's do: concurrent requests
    overlap inside the provider call, where the races are."""
    with payment_provider(tmp_path / "paymock.db", latency_ms=50) as p:
        yield p


def _race(fn: Callable[[int], Any], n: int = N) -> Counter[str]:
    """fn(i) on n threads released at once; outcomes counted by result or error rule."""
    barrier = threading.Barrier(n)

    def one(i: int) -> str:
        barrier.wait()
        try:
            out = fn(i)
        except DomainError as e:
            return f"{e.status_code}:{e.rule}"
        except PaymentsError as e:  # the provider said "key in use" too long: a job retries
            return type(e).__name__
        return str(out)

    with ThreadPoolExecutor(n) as pool:
        return Counter(pool.map(one, range(n)))


@pytest.fixture
def market_url(settings: Settings, engine: Engine, app: Any) -> Iterator[str]:
    """The same market (same database and provider) served over real HTTP."""
    with serve(create_app(settings, engine, background=False)) as url:
        yield url


def _submitted_milestone(api: Api) -> tuple[Actor, dict[str, Any], dict[str, Any]]:
    poster, solver = api.poster(), api.solver()
    contract = api.contract(poster, solver)
    m1 = contract["milestones"][0]
    assert api.submit(solver, contract["id"], m1["id"]).status_code == 201
    return poster, contract, m1


def _count(engine: Engine, stmt: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)


def _entries(engine: Engine, milestone_id: int) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(
            conn.scalars(select(JournalEntry.kind).where(JournalEntry.milestone_id == milestone_id))
        )


def _run_jobs_with_duplicates(jobs: JobContext, copies: int = 3) -> Counter[str]:
    """Relay the outbox, then run every message `copies` times at once (at-least-once)."""
    messages: list[tuple[int, str]] = []
    while relay_once(jobs.sessions, lambda oid, h: messages.append((oid, h))):
        pass
    work = [m for m in messages if m[1].startswith("escrow.")] * copies
    if not work:
        return Counter()
    return _race(lambda i: run_handler(jobs, *work[i]), n=len(work))


def _assert_reconciled(engine: Engine, provider: Provider) -> None:
    check_provider(provider, check_books(engine))


def test_twenty_concurrent_accepts_over_http_release_once(
    api: Api, jobs: JobContext, engine: Engine, provider: Provider, market_url: str
) -> None:
    poster, contract, m1 = _submitted_milestone(api)
    url = f"{market_url}/contracts/{contract['id']}/milestones/{m1['id']}/accept"
    with httpx.Client(headers=poster.headers, timeout=60) as http:
        outcomes = _race(lambda _: http.post(url).status_code)
    assert outcomes == Counter({"200": 1, "409": N - 1}), outcomes

    ran = _run_jobs_with_duplicates(jobs)
    assert ran["done"] >= 1, ran
    assert (
        _count(engine, select(func.count()).where(OutboxEvent.event_type == "MilestoneAccepted"))
        == 1
    )
    assert _entries(engine, m1["id"]) == Counter({"fund": 1, "release": 1})
    transfers = [d for d in provider.movements()["data"] if d["type"] == "transfer"]
    assert len(transfers) == 1
    _assert_reconciled(engine, provider)


def test_twenty_concurrent_releases_or_refunds_move_the_money_once(
    api: Api, jobs: JobContext, engine: Engine, provider: Provider
) -> None:
    """Twenty releases of one milestone at once, then twenty refunds of another."""
    for op, done, kind in (("release", "released", "transfer"), ("refund", "refunded", "refund")):
        _poster, _contract, m1 = _submitted_milestone(api)
        settle = getattr(jobs.escrow, op)
        outcomes = _race(lambda _: settle(m1["id"]))  # noqa: B023 - run before the next loop
        assert outcomes[done] <= 1, outcomes
        assert set(outcomes) <= {done, f"already_{done}", "nothing_held", "ProviderUnavailable"}
        # What gave up (the key was busy) is retried like a job: it replays, books nothing new.
        assert settle(m1["id"]) in (done, f"already_{done}")
        assert _entries(engine, m1["id"]) == Counter({"fund": 1, op: 1})
        assert len([d for d in provider.movements()["data"] if d["type"] == kind]) == 1
    _assert_reconciled(engine, provider)


def test_concurrent_accepts_releases_and_refunds_on_one_milestone_have_one_effect(
    api: Api, jobs: JobContext, engine: Engine, provider: Provider, market_url: str
) -> None:
    """Accepts over HTTP, releases and refunds from the service, all at once: the money
    leaves escrow once, by one route, and the provider agrees with the ledger."""
    poster, contract, m1 = _submitted_milestone(api)
    # Another contract's money on the platform's balance, as in production: the provider
    # alone cannot stop a second payout from this milestone's escrow.
    api.contract(api.poster(), api.solver())
    url = f"{market_url}/contracts/{contract['id']}/milestones/{m1['id']}/accept"
    with httpx.Client(headers=poster.headers, timeout=60) as http:

        def act(i: int) -> Any:
            if i % 3 == 0:
                return f"http:{http.post(url).status_code}"
            if i % 3 == 1:
                return jobs.escrow.release(m1["id"])
            return jobs.escrow.refund(m1["id"])

        outcomes = _race(act)
    assert outcomes["http:200"] == 1, outcomes
    assert outcomes["released"] + outcomes["refunded"] <= 1, outcomes

    # Retry what gave up, as Dramatiq would, and run the accept's jobs (three times over).
    retry: list[Callable[[int], str]] = [jobs.escrow.release, jobs.escrow.refund]
    for _ in range(3):
        waiting = []
        for op in retry:
            try:
                op(m1["id"])
            except Conflict as e:
                if e.rule != "settlement_in_flight":
                    raise
                waiting.append(op)
        retry = waiting
    assert not retry
    _run_jobs_with_duplicates(jobs)

    kinds = _entries(engine, m1["id"])
    assert kinds["fund"] == 1
    assert kinds["release"] + kinds["refund"] == 1, kinds
    moved = [d for d in provider.movements()["data"] if d["type"] in ("transfer", "refund")]
    assert len(moved) == 1, moved
    with engine.connect() as conn:
        esc = conn.execute(
            select(MilestoneEscrow).where(MilestoneEscrow.milestone_id == m1["id"])
        ).one()
    assert esc.released_minor + esc.refunded_minor == esc.funded_minor == m1["amount_minor"]
    _assert_reconciled(engine, provider)
