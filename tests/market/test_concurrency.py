"""Concurrent requests on one thing have exactly one effect, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
from sqlalchemy import Engine, func, select

from market.accounts.domain import CurrentUser
from market.accounts.models import User
from market.accounts.schemas import RegisterInput
from market.bids.models import Bid
from market.bids.schemas import BidInput
from market.contracts.models import Contract
from market.errors import DomainError
from market.outbox.models import OutboxEvent
from tests.helpers import PASSWORD, Actor, Api, bid_payload

N = 20


def _race(fn: Callable[[int], Any], n: int = N) -> Counter[str]:
    """Run fn(i) for i in range(n) on n threads released at once; count outcomes."""
    barrier = threading.Barrier(n)

    def one(i: int) -> str:
        barrier.wait()
        try:
            fn(i)
        except DomainError as e:
            return f"{e.status_code}:{e.rule}"
        return "ok"

    with ThreadPoolExecutor(n) as pool:
        return Counter(pool.map(one, range(n)))


def _user(api: Api, actor: Actor) -> CurrentUser:
    user = api.c.app.state["services"].accounts.authenticate(actor.token)
    assert user is not None
    return user


def _count(engine: Engine, stmt: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(stmt) or 0


def test_one_live_bid_per_solver_under_concurrent_requests(api: Api, engine: Engine) -> None:
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster)
    bids = api.c.app.state["services"].bids
    user = _user(api, solver)
    data = msgspec.convert(bid_payload(), BidInput)

    outcomes = _race(lambda _: bids.place(user, task["id"], data))

    assert outcomes["ok"] == 1, outcomes
    assert outcomes["409:one_live_bid"] == N - 1, outcomes
    assert _count(engine, select(func.count()).select_from(Bid)) == 1
    assert _count(engine, select(func.count()).where(OutboxEvent.event_type == "BidPlaced")) == 1


def test_concurrent_awards_of_different_bids_make_one_contract(api: Api, engine: Engine) -> None:
    poster = api.poster()
    task = api.published_task(poster)
    bid_ids = [api.bid(api.solver(), task["id"])["id"] for _ in range(4)]
    contracts = api.c.app.state["services"].contracts
    user = _user(api, poster)

    outcomes = _race(lambda i: contracts.award(user, bid_ids[i % len(bid_ids)], True))

    assert outcomes["ok"] == 1, outcomes
    assert sum(v for k, v in outcomes.items() if k.startswith("409")) == N - 1, outcomes
    assert _count(engine, select(func.count()).select_from(Contract)) == 1
    assert _count(engine, select(func.count()).where(Bid.status == "awarded")) == 1
    assert _count(engine, select(func.count()).where(Bid.status == "declined")) == 3
    assert (
        _count(engine, select(func.count()).where(OutboxEvent.event_type == "ContractAwarded")) == 1
    )


def test_concurrent_acceptance_of_a_milestone_has_one_effect(api: Api, engine: Engine) -> None:
    poster, solver = api.poster(), api.solver()
    contract = api.contract(poster, solver)
    m1 = contract["milestones"][0]
    assert api.submit(solver, contract["id"], m1["id"]).status_code == 201
    contracts = api.c.app.state["services"].contracts
    user = _user(api, poster)

    outcomes = _race(lambda _: contracts.accept_milestone(user, contract["id"], m1["id"]))

    assert outcomes["ok"] == 1, outcomes
    assert outcomes["409:illegal_transition"] == N - 1, outcomes
    accepted = select(func.count()).where(OutboxEvent.event_type == "MilestoneAccepted")
    assert _count(engine, accepted) == 1


def test_concurrent_registrations_of_one_email_make_one_user(api: Api, engine: Engine) -> None:
    accounts = api.c.app.state["services"].accounts
    data = RegisterInput(
        email="same@lab.example", password=PASSWORD, display_name="x", role="solver"
    )  # type: ignore[arg-type]

    outcomes = _race(lambda _: accounts.register(data), n=10)

    assert outcomes["ok"] == 1, outcomes
    assert outcomes["409:unique"] == 9, outcomes
    assert _count(engine, select(func.count()).where(User.email == "same@lab.example")) == 1
