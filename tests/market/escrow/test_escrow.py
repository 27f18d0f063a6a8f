"""Escrow against the real mock provider: money moves once, and the books balance."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from market.errors import Conflict
from market.escrow.domain import PLATFORM_FEES, escrow_account, poster_account, solver_account
from market.escrow.models import JournalEntry
from market.escrow.service import EscrowService, ledger_totals
from market.jobs import JobContext
from tests.helpers import Api
from tests.servers import Provider


def _entries(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(JournalEntry.kind, JournalEntry.provider_object).order_by(JournalEntry.id)
            )
        ]  # type: ignore[misc]


def _assert_books_balance(jobs: JobContext) -> None:
    with jobs.sessions() as s:
        totals = ledger_totals(s)
    assert totals == {"total": 0, "unbalanced_entries": []}


def _contract(api: Api) -> tuple[Any, Any, dict[str, Any]]:
    poster, solver = api.poster(), api.solver()
    return poster, solver, api.contract(poster, solver)


def test_fund_then_release_pays_the_solver_less_the_fee(
    api: Api, jobs: JobContext, provider: Provider, engine: Engine
) -> None:
    poster, solver, contract = _contract(api)
    m1 = contract["milestones"][0]
    amount = m1["amount_minor"]

    # The award's background job charged the poster for the first milestone.
    assert jobs.escrow.balance(escrow_account(contract["id"])) == amount
    assert jobs.escrow.fund(m1["id"]) == "already_funded"
    assert provider.balance() == amount

    assert jobs.escrow.release(m1["id"]) == "released"
    fee = amount * jobs.settings.platform_fee_bps // 10_000
    assert jobs.escrow.balance(escrow_account(contract["id"])) == 0
    assert jobs.escrow.balance(solver_account(solver.id)) == amount - fee
    assert jobs.escrow.balance(PLATFORM_FEES) == fee
    assert jobs.escrow.balance(poster_account(poster.org_id)) == -amount
    moved = provider.movements()
    assert moved["transfers_by_destination"] == {f"acct_solver_{solver.id}": amount - fee}
    # The provider keeps exactly the fee: its balance reconciles with the ledger.
    assert provider.balance() == fee
    assert [k for k, _ in _entries(engine)] == ["fund", "release"]
    _assert_books_balance(jobs)


def test_every_operation_is_idempotent(
    api: Api, jobs: JobContext, provider: Provider, engine: Engine
) -> None:
    _poster, _solver, contract = _contract(api)
    m1, m2 = contract["milestones"]
    assert jobs.escrow.fund(m1["id"]) == "already_funded"
    assert jobs.escrow.release(m1["id"]) == "released"
    assert jobs.escrow.release(m1["id"]) == "already_released"
    assert jobs.escrow.fund(m2["id"]) == "funded"
    assert jobs.escrow.refund(m2["id"]) == "refunded"
    assert jobs.escrow.refund(m2["id"]) == "already_refunded"
    # After a full refund nothing is held: a release pays nothing, an explicit amount is refused.
    assert jobs.escrow.release(m2["id"]) == "nothing_held"
    with pytest.raises(Conflict, match="escrow holds 0"):
        jobs.escrow.release(m2["id"], 1)
    totals = provider.movements()["totals"]
    assert totals["charge"] == m1["amount_minor"] + m2["amount_minor"]
    assert totals["refund"] == -m2["amount_minor"]
    assert len(_entries(engine)) == 4
    _assert_books_balance(jobs)


def test_crash_between_provider_call_and_booking_books_once(
    api: Api, jobs: JobContext, provider: Provider, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _poster, _solver, contract = _contract(api)
    m1 = contract["milestones"][0]

    real_book = EscrowService.book_release

    def crash(self: EscrowService, *args: Any) -> str:
        raise SystemExit("worker killed after the transfer, before the commit")

    monkeypatch.setattr(EscrowService, "book_release", crash)
    with pytest.raises(SystemExit):
        jobs.escrow.release(m1["id"])
    assert len(provider.movements()["transfers_by_destination"]) == 1
    monkeypatch.setattr(EscrowService, "book_release", real_book)

    # The retried job replays the same transfer (same idempotency key) and books it once.
    assert jobs.escrow.release(m1["id"]) == "released"
    moved = provider.movements()
    assert sum(moved["transfers_by_destination"].values()) == moved["totals"]["transfer"] * -1
    assert len([d for d in moved["data"] if d["type"] == "transfer"]) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(JournalEntry.kind == "release")) == 1
    _assert_books_balance(jobs)


def test_split_releases_part_and_refunds_the_rest(
    api: Api, jobs: JobContext, provider: Provider
) -> None:
    poster, _solver, contract = _contract(api)
    m1 = contract["milestones"][0]
    amount = m1["amount_minor"]
    to_solver = amount * 70 // 100
    assert jobs.escrow.release(m1["id"], to_solver) == "released"
    assert jobs.escrow.refund(m1["id"]) == "refunded"  # the rest
    [summary] = [s for s in jobs.escrow.summary(contract["id"]) if s.milestone_id == m1["id"]]
    assert (summary.status, summary.released_minor, summary.refunded_minor) == (
        "split",
        to_solver,
        amount - to_solver,
    )
    assert jobs.escrow.balance(poster_account(poster.org_id)) == -to_solver
    assert jobs.escrow.balance(escrow_account(contract["id"])) == 0
    _assert_books_balance(jobs)
