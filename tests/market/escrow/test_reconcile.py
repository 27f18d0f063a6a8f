"""Reconciliation reports every difference between the provider and the ledger."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select

from market.escrow.models import JournalEntry, JournalLine
from market.escrow.reconcile import reconcile, run_and_record
from market.jobs import JobContext
from tests.helpers import Api


def _lifecycle(api: Api, jobs: JobContext) -> dict:
    poster, solver = api.poster(), api.solver()
    contract = api.contract(poster, solver)
    m1, _m2 = contract["milestones"]
    assert api.submit(solver, contract["id"], m1["id"]).status_code == 201
    r = api.c.post(
        f"/contracts/{contract['id']}/milestones/{m1['id']}/accept", headers=poster.headers
    )
    assert r.status_code == 200
    # m2 is funded by now; cancel the rest of the contract: it is refunded.
    r = api.c.post(
        f"/contracts/{contract['id']}/cancel", json={"reason": "需求变更"}, headers=poster.headers
    )
    assert r.status_code == 200, r.text
    return contract


def test_a_clean_history_reconciles(api: Api, jobs: JobContext) -> None:
    _lifecycle(api, jobs)
    report = reconcile(jobs.sessions, jobs.gateway, jobs.settings.payments_key_namespace)
    assert report.differences == []
    # fund m1, fund m2, release m1, refund m2
    assert report.provider_movements == report.ledger_entries == 4
    assert report.provider_balance == report.ledger_balance > 0  # the platform's fee


def test_a_lost_booking_and_a_phantom_entry_are_reported(
    api: Api, jobs: JobContext, engine: Engine
) -> None:
    _lifecycle(api, jobs)
    with engine.begin() as conn:
        release = conn.execute(
            select(JournalEntry.id, JournalEntry.provider_object).where(
                JournalEntry.kind == "release"
            )
        ).one()
        conn.execute(delete(JournalLine).where(JournalLine.entry_id == release.id))
        conn.execute(delete(JournalEntry).where(JournalEntry.id == release.id))
        phantom = conn.execute(
            JournalEntry.__table__.insert().values(
                kind="refund", idempotency_key="phantom", provider_object="re_phantom", memo=""
            )
        ).inserted_primary_key[0]
        conn.execute(
            JournalLine.__table__.insert(),
            [
                {"entry_id": phantom, "account": "escrow:contract:999", "amount_minor": -5},
                {"entry_id": phantom, "account": "poster:org:999", "amount_minor": 5},
            ],
        )
    report = reconcile(jobs.sessions, jobs.gateway, jobs.settings.payments_key_namespace)
    kinds = {(d.kind, d.provider_object) for d in report.differences}
    assert ("missing_in_ledger", release.provider_object) in kinds
    assert ("missing_at_provider", "re_phantom") in kinds
    assert any(d.kind == "balance" for d in report.differences)


def test_the_command_records_runs_for_admins(api: Api, jobs: JobContext) -> None:
    _lifecycle(api, jobs)
    run_and_record(jobs.sessions, jobs.gateway, jobs.settings.payments_key_namespace)
    admin = api.admin()
    runs = api.c.get("/admin/ledger/reconciliation", headers=admin.headers).json()
    assert len(runs) == 1 and runs[0]["ok"] is True and runs[0]["differences"] == []
