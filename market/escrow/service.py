"""Escrow per milestone: fund, release, refund, each exactly once, whatever fails.

Each operation runs in three steps so that no database lock is held across the network:
1. a short transaction checks the rule and marks the escrow as in flight;
2. the provider call, with the deterministic idempotency key of (milestone, operation);
3. a short transaction books the journal entry under the same key.
A crash or retry anywhere replays step 2 (the provider answers with the same object) and
step 3 finds the entry already booked: one provider movement, one ledger entry. Webhooks
book through the same step 3, so whichever arrives first wins and the other is a no-op.
Step 1 marks which movement is in flight (funding, releasing, refunding): a release and a
refund of one milestone never overlap, since each pays out what is held and the other's
unbooked movement would still count as held.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, exists, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload, sessionmaker

from market.contracts.domain import ContractStatus, MilestoneStatus
from market.contracts.models import Contract, Milestone
from market.contracts.service import ContractService
from market.db.base import utcnow
from market.errors import Conflict, NotFound
from market.escrow import domain
from market.escrow.domain import EntryKind, EscrowStatus, Posting
from market.escrow.events import (
    MilestoneFunded,
    MilestoneFundingFailed,
    MilestoneRefunded,
    MilestoneReleased,
)
from market.escrow.gateway import GatewayError, PaymentsGateway, idempotency_key, solver_destination
from market.escrow.models import JournalEntry, JournalLine, MilestoneEscrow
from market.settings import Settings
from market.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EscrowSummary:
    milestone_id: int
    status: str
    amount_minor: int
    funded_minor: int
    released_minor: int
    refunded_minor: int


class EscrowService:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, gateway: PaymentsGateway
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._gateway = gateway

    # -- fund -------------------------------------------------------------------------------
    def fund(self, milestone_id: int) -> str:
        """Charge the poster for the milestone into escrow. Returns what happened."""
        with UnitOfWork(self._sessions) as uow:
            esc, milestone, contract = self._lock(uow.session, milestone_id)
            if esc.funded_minor > 0:
                return "already_funded"
            # A charge already on its way is replayed whatever happened since: only its
            # answer tells whether the poster paid, and a refund waits on it (found by
            # tests/market/escrow/test_funding_in_flight.py).
            if esc.status != EscrowStatus.FUNDING:
                if contract.status in (ContractStatus.CANCELLED, ContractStatus.COMPLETED):
                    return "contract_closed"
                if milestone.status == MilestoneStatus.CANCELLED:
                    return "milestone_cancelled"
            esc.status = EscrowStatus.FUNDING
            # A declined charge moved no money; the next attempt needs a fresh provider key
            # (the old one would replay the decline). Retries of one attempt share its key.
            key = f"{self._key(milestone_id, 'fund')}-{esc.fund_attempts}"
            uow.commit()
            amount, org_id, contract_id = (
                milestone.amount_minor,
                contract.poster_org_id,
                contract.id,
            )
        metadata = {
            "milestone_id": milestone_id,
            "contract_id": contract_id,
            "operation": "fund",
            "ns": self._settings.payments_key_namespace,
            "org_id": org_id,
        }
        try:
            pi = self._gateway.charge(amount_minor=amount, key=key, metadata=metadata)
            if pi.get("status") != "succeeded":
                raise GatewayError(
                    f"payment {pi.get('id')} is {pi.get('status')}", code="payment_not_succeeded"
                )
        except GatewayError as exc:
            self._funding_failed(milestone_id, str(exc))
            raise
        return self.book_fund(milestone_id, pi["id"], int(pi["amount"]))

    def _funding_failed(self, milestone_id: int, reason: str) -> None:
        with UnitOfWork(self._sessions) as uow:
            esc, _milestone, contract = self._lock(uow.session, milestone_id)
            if esc.funded_minor > 0 or esc.status != EscrowStatus.FUNDING:
                return
            esc.status = EscrowStatus.UNFUNDED
            esc.fund_attempts += 1
            uow.record(
                actor_id=None,
                entity="milestone",
                entity_id=milestone_id,
                action="funding_failed",
                to_state=esc.status,
                event=MilestoneFundingFailed(
                    contract_id=contract.id,
                    milestone_id=milestone_id,
                    amount_minor=esc.amount_minor,
                    reason=reason[:500],
                ),
                data={"reason": reason[:500]},
            )
            uow.commit()

    def book_fund(self, milestone_id: int, payment_intent: str, amount: int) -> str:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            esc, _milestone, contract = self._lock(s, milestone_id)
            if esc.funded_minor > 0:
                return "already_funded"
            if amount != esc.amount_minor:
                raise Conflict(
                    f"payment {payment_intent} is for {amount}, the milestone for {esc.amount_minor}",
                    rule="amount_mismatch",
                )
            if not self._book(
                s,
                EntryKind.FUND,
                self._key(milestone_id, "fund"),
                contract.id,
                milestone_id,
                payment_intent,
                domain.fund_postings(contract.poster_org_id, contract.id, amount),
            ):
                return "already_funded"
            esc.funded_minor = amount
            esc.payment_intent_id = payment_intent
            ContractService.on_milestone_funded(uow, contract)
            esc.status = domain.next_escrow_status(EscrowStatus(esc.status), "funded")
            uow.record(
                actor_id=None,
                entity="milestone",
                entity_id=milestone_id,
                action="fund",
                to_state=esc.status,
                event=MilestoneFunded(
                    contract_id=contract.id,
                    milestone_id=milestone_id,
                    amount_minor=amount,
                    payment_intent=payment_intent,
                ),
                data={"payment_intent": payment_intent, "amount_minor": amount},
            )
            uow.commit()
            return "funded"

    # -- release and refund ---------------------------------------------------------------
    def release(self, milestone_id: int, amount: int | None = None) -> str:
        """Pay the solver `amount` (default: all that is held) less the platform fee."""
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            esc, contract, booked = self._lock_settlement(s, milestone_id, "release")
            if booked:
                return "already_released"
            in_flight = domain.start_settlement(EscrowStatus(esc.status), "release")
            held = esc.funded_minor - esc.released_minor - esc.refunded_minor
            if amount is None and held == 0:
                return "nothing_held"
            amount = held if amount is None else amount
            domain.check_can_settle(
                esc.funded_minor, esc.released_minor, esc.refunded_minor, amount
            )
            esc.status = in_flight
            uow.commit()
            contract_id, solver_id = contract.id, contract.solver_id
        _lines, net = domain.release_postings(
            contract_id, solver_id, amount, self._settings.platform_fee_bps
        )
        tr = self._gateway.transfer(
            amount_minor=net,
            destination=solver_destination(solver_id),
            key=self._key(milestone_id, "release"),
            transfer_group=f"contract-{contract_id}",
            metadata={
                "milestone_id": milestone_id,
                "contract_id": contract_id,
                "operation": "release",
                "ns": self._settings.payments_key_namespace,
                "gross_minor": amount,
            },
        )
        return self.book_release(milestone_id, tr["id"], amount)

    def book_release(self, milestone_id: int, transfer: str, amount: int) -> str:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            esc, contract, booked = self._lock_settlement(s, milestone_id, "release")
            if booked:
                return "already_released"
            lines, net = domain.release_postings(
                contract.id, contract.solver_id, amount, self._settings.platform_fee_bps
            )
            if not self._book(
                s,
                EntryKind.RELEASE,
                self._key(milestone_id, "release"),
                contract.id,
                milestone_id,
                transfer,
                lines,
            ):
                return "already_released"
            self._settle(esc, EntryKind.RELEASE, amount)
            # Plain INSERTs (nothing reads the rows back): no ORM flush for them.
            uow.record_now(
                actor_id=None,
                entity="milestone",
                entity_id=milestone_id,
                action="release",
                to_state=esc.status,
                event=MilestoneReleased(
                    contract_id=contract.id,
                    milestone_id=milestone_id,
                    amount_minor=amount,
                    to_solver_minor=net,
                    fee_minor=amount - net,
                    transfer=transfer,
                ),
                data={"transfer": transfer, "amount_minor": amount, "to_solver_minor": net},
            )
            uow.commit()
            return "released"

    def refund(self, milestone_id: int, amount: int | None = None) -> str:
        """Return `amount` (default: all that is held) to the poster."""
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            esc, contract, booked = self._lock_settlement(s, milestone_id, "refund")
            if booked:
                return "already_refunded"
            in_flight = domain.start_settlement(EscrowStatus(esc.status), "refund")
            held = esc.funded_minor - esc.released_minor - esc.refunded_minor
            if amount is None and held == 0:
                if esc.status == EscrowStatus.FUNDING:
                    # A charge is on its way: retry once it has landed, or nothing is returned.
                    raise Conflict("funding in flight; refund later", rule="funding_in_flight")
                return "nothing_held"
            amount = held if amount is None else amount
            domain.check_can_settle(
                esc.funded_minor, esc.released_minor, esc.refunded_minor, amount
            )
            esc.status = in_flight
            payment_intent = esc.payment_intent_id
            contract_id = contract.id
            uow.commit()
        assert payment_intent is not None  # funded implies a payment
        rf = self._gateway.refund(
            payment_intent=payment_intent,
            amount_minor=amount,
            key=self._key(milestone_id, "refund"),
            metadata={
                "milestone_id": milestone_id,
                "contract_id": contract_id,
                "operation": "refund",
                "ns": self._settings.payments_key_namespace,
            },
        )
        return self.book_refund(milestone_id, rf["id"], amount)

    def book_refund(self, milestone_id: int, refund: str, amount: int) -> str:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            esc, contract, booked = self._lock_settlement(s, milestone_id, "refund")
            if booked:
                return "already_refunded"
            lines = domain.refund_postings(contract.poster_org_id, contract.id, amount)
            if not self._book(
                s,
                EntryKind.REFUND,
                self._key(milestone_id, "refund"),
                contract.id,
                milestone_id,
                refund,
                lines,
            ):
                return "already_refunded"
            self._settle(esc, EntryKind.REFUND, amount)
            uow.record_now(
                actor_id=None,
                entity="milestone",
                entity_id=milestone_id,
                action="refund",
                to_state=esc.status,
                event=MilestoneRefunded(
                    contract_id=contract.id,
                    milestone_id=milestone_id,
                    amount_minor=amount,
                    refund=refund,
                ),
                data={"refund": refund, "amount_minor": amount},
            )
            uow.commit()
            return "refunded"

    @staticmethod
    def _settle(esc: MilestoneEscrow, kind: EntryKind, amount: int) -> None:
        """Count a booked release or refund against what is held; escrow never goes negative."""
        domain.check_can_settle(esc.funded_minor, esc.released_minor, esc.refunded_minor, amount)
        if kind is EntryKind.RELEASE:
            esc.released_minor += amount
        else:
            esc.refunded_minor += amount
        esc.status = (
            domain.settled_status(esc.funded_minor, esc.released_minor, esc.refunded_minor)
            or EscrowStatus.SETTLING
        )

    # -- queries ------------------------------------------------------------------------------
    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

    def balance(self, account: str) -> int:
        with self._sessions() as s:
            return int(
                s.scalar(
                    select(func.coalesce(func.sum(JournalLine.amount_minor), 0)).where(
                        JournalLine.account == account
                    )
                )
                or 0
            )

    def summary(self, contract_id: int) -> list[EscrowSummary]:
        with self._sessions() as s:
            rows = s.scalars(
                select(MilestoneEscrow)
                .where(MilestoneEscrow.contract_id == contract_id)
                .order_by(MilestoneEscrow.milestone_id)
            )
            return [
                EscrowSummary(
                    r.milestone_id,
                    r.status,
                    r.amount_minor,
                    r.funded_minor,
                    r.released_minor,
                    r.refunded_minor,
                )
                for r in rows
            ]

    # -- internals ----------------------------------------------------------------------------
    def _key(self, milestone_id: int, operation: str) -> str:
        return idempotency_key(self._settings.payments_key_namespace, milestone_id, operation)

    @staticmethod
    def _lock_contract(s: Session, milestone_id: int) -> Contract:
        """Lock order: contract, milestone, escrow (the contract service locks the same way)."""
        # One round trip finds and locks the contract (a milestone never changes contract;
        # FOR UPDATE locks only the contracts row). Its milestones are not loaded: the
        # relationship is selectin by default, an extra query no caller here reads.
        contract = s.scalar(
            select(Contract)
            .where(
                Contract.id
                == select(Milestone.contract_id)
                .where(Milestone.id == milestone_id)
                .scalar_subquery()
            )
            .options(lazyload(Contract.milestones))
            .with_for_update(of=Contract)
        )
        if contract is None:
            raise NotFound("no such milestone", field="milestone_id")
        return contract

    @staticmethod
    def _lock_milestone(s: Session, milestone_id: int) -> Milestone:
        milestone = s.scalar(
            select(Milestone).where(Milestone.id == milestone_id).with_for_update()
        )
        assert milestone is not None
        return milestone

    @staticmethod
    def _new_escrow(s: Session, milestone: Milestone) -> MilestoneEscrow:
        esc = MilestoneEscrow(
            milestone_id=milestone.id,
            contract_id=milestone.contract_id,
            status=EscrowStatus.UNFUNDED,
            amount_minor=milestone.amount_minor,
            funded_minor=0,
            released_minor=0,
            refunded_minor=0,
            fund_attempts=0,
        )
        s.add(esc)
        s.flush()
        return esc

    @classmethod
    def _lock(cls, s: Session, milestone_id: int) -> tuple[MilestoneEscrow, Milestone, Contract]:
        """Contract, milestone and escrow locked, in that order (funding reads the milestone)."""
        contract = cls._lock_contract(s, milestone_id)
        milestone = cls._lock_milestone(s, milestone_id)
        esc = s.scalar(
            select(MilestoneEscrow)
            .where(MilestoneEscrow.milestone_id == milestone_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if esc is None:
            esc = cls._new_escrow(s, milestone)
        return esc, milestone, contract

    def _lock_settlement(
        self, s: Session, milestone_id: int, operation: str
    ) -> tuple[MilestoneEscrow, Contract, bool]:
        """Contract and escrow locked, and whether OPERATION's entry is booked: two round
        trips. Releases and refunds read nothing of the milestone, so its row is not locked:
        every writer of this milestone or its escrow locks the contract first, so the
        contract lock alone serialises them (no new lock order, no deadlock).

        The booked check rides on the escrow's SELECT. That is safe under READ COMMITTED
        only because the contract lock was taken by an earlier statement: whoever booked
        before us held it until their commit, so this later statement's snapshot sees
        their entry."""
        contract = self._lock_contract(s, milestone_id)
        booked = exists().where(JournalEntry.idempotency_key == self._key(milestone_id, operation))
        row = s.execute(
            select(MilestoneEscrow, booked)
            .where(MilestoneEscrow.milestone_id == milestone_id)
            .with_for_update(of=MilestoneEscrow)
            .execution_options(populate_existing=True)
        ).first()
        if row is not None:
            return row[0], contract, bool(row[1])
        # Never funded (rare: nothing to pay out): as `_lock` does.
        esc = self._new_escrow(s, self._lock_milestone(s, milestone_id))
        return esc, contract, False

    @staticmethod
    def _insert_entry(s: Session) -> Insert:
        """INSERT of a journal entry that does nothing when its key or provider object is
        already booked (both are unique): no failed statement, no aborted transaction."""
        table = JournalEntry.__table__
        if s.get_bind().dialect.name == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if s.get_bind().dialect.name == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        return insert(table)

    @staticmethod
    def _book(
        s: Session,
        kind: EntryKind,
        key: str,
        contract_id: int,
        milestone_id: int,
        provider_object: str,
        postings: list[Posting],
    ) -> bool:
        """Write the balanced entry once; False when its key (or provider object) is booked.

        Two statements whatever the number of lines: the entry (INSERT … ON CONFLICT DO
        NOTHING RETURNING id: None when already booked), then all its lines in one
        multi-row INSERT. Callers have checked the key under the locks of `_lock` /
        `_lock_settlement`; the conflict clause covers anything that got past them.
        """
        lines = domain.check_balanced(postings)
        conn = s.connection()
        entry_id = conn.execute(
            EscrowService._insert_entry(s)
            .values(
                kind=kind,
                idempotency_key=key,
                contract_id=contract_id,
                milestone_id=milestone_id,
                provider_object=provider_object,
                memo="",
                created_at=utcnow(),
            )
            .returning(JournalEntry.__table__.c.id)
        ).scalar()
        if entry_id is None:
            return False
        conn.execute(
            insert(JournalLine.__table__).values(
                [
                    {"entry_id": entry_id, "account": p.account, "amount_minor": p.amount_minor}
                    for p in lines
                ]
            )
        )
        return True


def ledger_totals(s: Session) -> dict[str, Any]:
    """The ledger's own checks: all lines sum to zero, and each entry does."""
    total = s.scalar(select(func.coalesce(func.sum(JournalLine.amount_minor), 0))) or 0
    unbalanced = s.scalars(
        select(JournalLine.entry_id)
        .group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.amount_minor) != 0)
    ).all()
    return {"total": int(total), "unbalanced_entries": list(unbalanced)}
