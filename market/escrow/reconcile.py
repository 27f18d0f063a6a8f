"""Reconciliation: the provider's record of our money against the ledger's, difference by
difference. Only provider objects carrying our namespace count, so a shared test account
(or another installation) does not show up as a difference."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from market.escrow.domain import PLATFORM_FEES, EntryKind
from market.escrow.gateway import PaymentsGateway
from market.escrow.models import JournalEntry, JournalLine, ReconciliationRun
from market.escrow.service import ledger_totals
from market.uow import UnitOfWork

log = logging.getLogger(__name__)

# Which provider list holds which kind of movement, and how the ledger books it.
PROVIDER_KINDS = {
    EntryKind.FUND: "charge",
    EntryKind.RELEASE: "transfer",
    EntryKind.REFUND: "refund",
}


@dataclass
class Difference:
    kind: str  # missing_in_ledger | missing_at_provider | amount_mismatch | balance | ledger_unbalanced
    provider_object: str | None
    detail: str
    provider_amount: int | None = None
    ledger_amount: int | None = None


@dataclass
class ReconciliationReport:
    provider_movements: int
    ledger_entries: int
    provider_balance: int  # what our movements left on the provider's balance
    ledger_balance: int  # what the ledger says the platform holds: escrow + fees
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def provider_movements(gateway: PaymentsGateway, namespace: str) -> dict[str, tuple[str, int]]:
    """provider object id -> (ledger entry kind, amount moved), ours only."""
    out: dict[str, tuple[str, int]] = {}

    def ours(obj: dict[str, Any]) -> bool:
        return (obj.get("metadata") or {}).get("ns") == namespace

    for ev in gateway.iter_list("/v1/events", {"type": "payment_intent.succeeded"}):
        pi = ev["data"]["object"]
        if ours(pi):
            out[pi["id"]] = (EntryKind.FUND, int(pi.get("amount_received") or pi["amount"]))
    for tr in gateway.iter_list("/v1/transfers"):
        if ours(tr):
            out[tr["id"]] = (EntryKind.RELEASE, int(tr["amount"]))
    for ev in gateway.iter_list("/v1/events", {"type": "refund.created"}):
        rf = ev["data"]["object"]
        if ours(rf):
            out[rf["id"]] = (EntryKind.REFUND, int(rf["amount"]))
    return out


def ledger_movements(s: Session) -> dict[str, tuple[str, int]]:
    """provider object id -> (entry kind, the amount that crossed the provider boundary)."""
    out: dict[str, tuple[str, int]] = {}
    for entry in s.scalars(select(JournalEntry).where(JournalEntry.provider_object.is_not(None))):
        lines = entry.lines
        if entry.kind == EntryKind.FUND:
            amount = sum(ln.amount_minor for ln in lines if ln.account.startswith("escrow:"))
        elif entry.kind == EntryKind.RELEASE:
            amount = sum(ln.amount_minor for ln in lines if ln.account.startswith("solver:"))
        elif entry.kind == EntryKind.REFUND:
            amount = sum(ln.amount_minor for ln in lines if ln.account.startswith("poster:"))
        else:
            continue
        assert entry.provider_object is not None
        out[entry.provider_object] = (entry.kind, amount)
    return out


def reconcile(
    sessions: sessionmaker[Session], gateway: PaymentsGateway, namespace: str
) -> ReconciliationReport:
    provider = provider_movements(gateway, namespace)
    with sessions() as s:
        ledger = ledger_movements(s)
        totals = ledger_totals(s)
        held = s.scalars(
            select(JournalLine.amount_minor).where(
                (JournalLine.account.like("escrow:%")) | (JournalLine.account == PLATFORM_FEES)
            )
        ).all()
    signs = {EntryKind.FUND: 1, EntryKind.RELEASE: -1, EntryKind.REFUND: -1}
    report = ReconciliationReport(
        provider_movements=len(provider),
        ledger_entries=len(ledger),
        provider_balance=sum(signs[EntryKind(k)] * a for k, a in provider.values()),
        ledger_balance=sum(held),
    )
    d = report.differences
    for obj, (kind, amount) in sorted(provider.items()):
        if obj not in ledger:
            d.append(
                Difference(
                    "missing_in_ledger",
                    obj,
                    f"{PROVIDER_KINDS[EntryKind(kind)]} {obj} of {amount} has no ledger entry",
                    amount,
                    None,
                )
            )
        elif ledger[obj] != (kind, amount):
            d.append(
                Difference(
                    "amount_mismatch",
                    obj,
                    f"{obj}: provider {kind} {amount}, ledger {ledger[obj][0]} {ledger[obj][1]}",
                    amount,
                    ledger[obj][1],
                )
            )
    for obj, (kind, amount) in sorted(ledger.items()):
        if obj not in provider:
            d.append(
                Difference(
                    "missing_at_provider",
                    obj,
                    f"ledger {kind} entry for {obj} ({amount}) has no provider movement",
                    None,
                    amount,
                )
            )
    if report.provider_balance != report.ledger_balance:
        d.append(
            Difference(
                "balance",
                None,
                f"provider holds {report.provider_balance} for us, the ledger says {report.ledger_balance}",
                report.provider_balance,
                report.ledger_balance,
            )
        )
    if totals["total"] != 0 or totals["unbalanced_entries"]:
        d.append(
            Difference(
                "ledger_unbalanced",
                None,
                f"ledger total {totals['total']}, unbalanced entries {totals['unbalanced_entries']}",
            )
        )
    return report


def run_and_record(
    sessions: sessionmaker[Session], gateway: PaymentsGateway, namespace: str
) -> ReconciliationReport:
    """Reconcile and keep the result; every difference is also logged as a warning."""
    report = reconcile(sessions, gateway, namespace)
    for diff in report.differences:
        log.warning("reconciliation: %s", diff.detail)
    with UnitOfWork(sessions) as uow:
        uow.session.add(
            ReconciliationRun(
                ok=report.ok,
                provider_movements=report.provider_movements,
                ledger_entries=report.ledger_entries,
                provider_balance=report.provider_balance,
                ledger_balance=report.ledger_balance,
                differences=[asdict(d) for d in report.differences],
            )
        )
        uow.commit()
    return report
