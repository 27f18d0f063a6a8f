"""Contracts: award, acceptance of terms, milestone delivery and review, disputes, ratings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import msgspec
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.domain import CurrentUser, Role
from market.bids import domain as bid_domain
from market.bids.domain import BidStatus
from market.bids.events import BidAwarded, BidDeclined
from market.bids.models import Bid
from market.bids.service import BidService
from market.contracts import domain
from market.contracts.domain import ContractStatus, DisputeOutcome, DisputeStatus, MilestoneStatus
from market.contracts.events import (
    ContractAccepted,
    ContractAwarded,
    ContractCancelled,
    ContractCompleted,
    ContractFunded,
    DisputeOpened,
    DisputeResolved,
    MilestoneAccepted,
    MilestoneFundingRequested,
    MilestoneRevisionRequested,
    MilestoneSubmitted,
    RatingGiven,
)
from market.contracts.models import Contract, Dispute, Milestone, Rating, Submission, SubmissionFile
from market.contracts.schemas import (
    ContractActionsOut,
    ContractOut,
    DisputeOut,
    EscrowOut,
    RatingOut,
    ResolveDisputeInput,
    SubmissionOut,
)
from market.db.base import utcnow
from market.errors import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from market.escrow.models import MilestoneEscrow
from market.settings import Settings
from market.tasks import domain as task_domain
from market.tasks.domain import TaskStatus
from market.tasks.events import TaskAwarded, TaskCancelled, TaskCompleted, TaskStarted
from market.tasks.service import TaskService, check_upload, posts_for
from market.uow import UnitOfWork

OTHER_BID_DECLINED_REASON = "另一份投标已中标 / Another bid was awarded"
MAX_FILES_PER_SUBMISSION = 10


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


def contract_out(c: Contract) -> ContractOut:
    return msgspec.convert(c, ContractOut, from_attributes=True)


def submission_out(s: Submission) -> SubmissionOut:
    return msgspec.convert(s, SubmissionOut, from_attributes=True)


def dispute_out(d: Dispute) -> DisputeOut:
    return msgspec.convert(d, DisputeOut, from_attributes=True)


def rating_out(r: Rating) -> RatingOut:
    return msgspec.convert(r, RatingOut, from_attributes=True)


def submission_digest(note: str, file_digests: list[str]) -> str:
    h = hashlib.sha256()
    h.update(note.encode())
    for d in file_digests:
        h.update(b"\0" + d.encode())
    return h.hexdigest()


class ContractService:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    # -- award and acceptance -------------------------------------------------------------
    def award(self, user: CurrentUser, bid_id: int, accept_terms: bool) -> ContractOut:
        if not accept_terms:
            raise InvalidInput(
                "accept the task's IP and NDA terms to award",
                field="accept_terms",
                rule="must_accept",
            )
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            bid, task = BidService.load_for_update(s, bid_id)
            if not posts_for(user, task):
                if bid.solver_id == user.id or user.is_admin:
                    raise Forbidden("only the posting organisation awards", rule="owner")
                raise NotFound("no such bid", field="bid_id")
            task_target = task_domain.next_status(TaskStatus(task.status), "award")
            bid_target = bid_domain.next_status(BidStatus(bid.status), "award")
            now = utcnow()
            contract = Contract(
                task_id=task.id,
                bid_id=bid.id,
                poster_org_id=task.org_id,
                solver_id=bid.solver_id,
                status=ContractStatus.AWAITING_FUNDING,
                price_minor=bid.price_minor,
                ip_terms=task.ip_terms,
                confidentiality=task.confidentiality,
                poster_accepted_by_id=user.id,
                poster_accepted_at=now,
            )
            s.add(contract)
            try:
                s.flush()
            except IntegrityError as exc:  # a concurrent award of the same task
                raise Conflict(
                    "this task has already been awarded", field="task_id", rule="single_award"
                ) from exc
            for m in bid.milestones:
                s.add(
                    Milestone(
                        contract_id=contract.id,
                        seq=m.seq,
                        title=m.title,
                        deliverable=m.deliverable,
                        amount_minor=m.amount_minor,
                        due=m.due,
                        status=MilestoneStatus.OPEN,
                    )
                )
            before_bid = bid.status
            bid.status = bid_target
            uow.record(
                actor_id=user.id,
                entity="bid",
                entity_id=bid.id,
                action="award",
                from_state=before_bid,
                to_state=bid_target,
                event=BidAwarded(
                    bid_id=bid.id, task_id=task.id, solver_id=bid.solver_id, contract_id=contract.id
                ),
            )
            others = s.scalars(
                select(Bid)
                .where(
                    Bid.task_id == task.id,
                    Bid.id != bid.id,
                    Bid.status.in_((BidStatus.SUBMITTED, BidStatus.SHORTLISTED)),
                )
                .with_for_update()
            ).all()
            for other in others:
                before = other.status
                other.status = BidStatus.DECLINED
                other.decline_reason = OTHER_BID_DECLINED_REASON
                uow.record(
                    actor_id=user.id,
                    entity="bid",
                    entity_id=other.id,
                    action="decline",
                    from_state=before,
                    to_state=BidStatus.DECLINED,
                    event=BidDeclined(
                        bid_id=other.id,
                        task_id=task.id,
                        solver_id=other.solver_id,
                        reason=OTHER_BID_DECLINED_REASON,
                    ),
                    data={"reason": OTHER_BID_DECLINED_REASON},
                )
            before_task = task.status
            task.status = task_target
            uow.record(
                actor_id=user.id,
                entity="task",
                entity_id=task.id,
                action="award",
                from_state=before_task,
                to_state=task_target,
                event=TaskAwarded(
                    task_id=task.id, contract_id=contract.id, bid_id=bid.id, solver_id=bid.solver_id
                ),
            )
            uow.record(
                actor_id=user.id,
                entity="contract",
                entity_id=contract.id,
                action="award",
                to_state=contract.status,
                event=ContractAwarded(
                    contract_id=contract.id,
                    task_id=task.id,
                    bid_id=bid.id,
                    solver_id=bid.solver_id,
                    price_minor=bid.price_minor,
                ),
                data={
                    "poster_accepted_terms": {
                        "ip_terms": task.ip_terms,
                        "confidentiality": task.confidentiality,
                        "at": now.isoformat(),
                    }
                },
            )
            uow.commit()
            s.refresh(contract)
            return contract_out(contract)

    def accept(self, user: CurrentUser, contract_id: int, accept_terms: bool) -> ContractOut:
        if not accept_terms:
            raise InvalidInput(
                "accept the contract's IP and NDA terms", field="accept_terms", rule="must_accept"
            )
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract = self._load_for_update(s, contract_id)
            if contract.solver_id != user.id:
                self._deny(s, user, contract, "only the awarded solver accepts the contract")
            if contract.status == ContractStatus.AWAITING_FUNDING:
                raise Conflict(
                    "the first milestone is not funded yet; the contract opens once it is",
                    field="contract_id",
                    rule="awaiting_funding",
                )
            if contract.status != ContractStatus.PENDING_ACCEPTANCE:
                raise IllegalTransition("contract", contract.status, "accept")
            task = TaskService.load_for_update(s, contract.task_id)
            task_target = task_domain.next_status(TaskStatus(task.status), "start")
            now = utcnow()
            contract.solver_accepted_at = now
            contract.status = ContractStatus.ACTIVE
            uow.record(
                actor_id=user.id,
                entity="contract",
                entity_id=contract.id,
                action="accept",
                from_state=ContractStatus.PENDING_ACCEPTANCE,
                to_state=ContractStatus.ACTIVE,
                event=ContractAccepted(contract_id=contract.id, solver_id=user.id),
                data={
                    "solver_accepted_terms": {
                        "ip_terms": contract.ip_terms,
                        "confidentiality": contract.confidentiality,
                        "at": now.isoformat(),
                    }
                },
            )
            before = task.status
            task.status = task_target
            uow.record(
                actor_id=user.id,
                entity="task",
                entity_id=task.id,
                action="start",
                from_state=before,
                to_state=task_target,
                event=TaskStarted(task_id=task.id, contract_id=contract.id),
            )
            uow.commit()
            return contract_out(contract)

    # -- delivery ---------------------------------------------------------------------------
    def submit(
        self,
        user: CurrentUser,
        contract_id: int,
        milestone_id: int,
        note: str,
        files: list[UploadedFile],
    ) -> SubmissionOut:
        if len(note) > 20_000:
            raise InvalidInput(
                "the note is at most 20000 characters", field="note", rule="max_length"
            )
        if "\x00" in note:
            raise InvalidInput(
                "the note cannot contain NUL characters", field="note", rule="pattern"
            )
        if not files and not note.strip():
            raise InvalidInput(
                "a submission needs a note or at least one file", field="files", rule="non_empty"
            )
        if len(files) > MAX_FILES_PER_SUBMISSION:
            raise InvalidInput(
                f"at most {MAX_FILES_PER_SUBMISSION} files per submission",
                field="files",
                rule="max_count",
            )
        for f in files:
            check_upload(f.filename, f.content_type, f.data, self._settings.max_attachment_bytes)
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract, milestone = self._milestone_for_update(s, contract_id, milestone_id)
            if contract.solver_id != user.id:
                self._deny(s, user, contract, "only the contracted solver submits deliverables")
            self._ensure_active(contract)
            target = domain.next_milestone_status(MilestoneStatus(milestone.status), "submit")
            if not self._funded(s, milestone.id):
                raise Conflict(
                    "this milestone's money is not in escrow yet; work starts once it is",
                    field="milestone_id",
                    rule="milestone_not_funded",
                )
            version = (
                s.scalar(
                    select(func.max(Submission.version)).where(
                        Submission.milestone_id == milestone.id
                    )
                )
                or 0
            ) + 1
            digests = [hashlib.sha256(f.data).hexdigest() for f in files]
            sub = Submission(
                milestone_id=milestone.id,
                version=version,
                note=note,
                sha256=submission_digest(note, digests),
                submitted_by_id=user.id,
                submitted_at=utcnow(),
            )
            sub.files = [
                SubmissionFile(
                    filename=f.filename,
                    content_type=f.content_type,
                    size=len(f.data),
                    sha256=d,
                    data=f.data,
                )
                for f, d in zip(files, digests, strict=True)
            ]
            s.add(sub)
            s.flush()
            before = milestone.status
            milestone.status = target
            uow.record(
                actor_id=user.id,
                entity="milestone",
                entity_id=milestone.id,
                action="submit",
                from_state=before,
                to_state=target,
                event=MilestoneSubmitted(
                    contract_id=contract.id,
                    milestone_id=milestone.id,
                    version=version,
                    sha256=sub.sha256,
                ),
                data={"submission_id": sub.id, "version": version, "sha256": sub.sha256},
            )
            uow.commit()
            return submission_out(sub)

    def accept_milestone(
        self, user: CurrentUser, contract_id: int, milestone_id: int
    ) -> ContractOut:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract, milestone = self._milestone_for_update(s, contract_id, milestone_id)
            self._require_poster(s, user, contract)
            self._accept(uow, user.id, contract, milestone)
            uow.commit()
            s.refresh(contract)
            return contract_out(contract)

    def auto_accept(self, milestone_id: int, review_window: timedelta) -> bool:
        """Accept on the poster's behalf when a submission went unanswered for the window.

        A revision request stops the clock (the milestone is no longer submitted); a new
        submission starts it again. Idempotent: anything else is a no-op.
        """
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract_id = s.scalar(
                select(Milestone.contract_id).where(Milestone.id == milestone_id)
            )
            if contract_id is None:
                return False
            contract, milestone = self._milestone_for_update(s, contract_id, milestone_id)
            if (
                milestone.status != MilestoneStatus.SUBMITTED
                or contract.status != ContractStatus.ACTIVE
            ):
                return False
            latest = s.scalar(
                select(func.max(Submission.submitted_at)).where(
                    Submission.milestone_id == milestone.id
                )
            )
            if latest is None or latest + review_window > utcnow():
                return False
            self._accept(uow, None, contract, milestone, auto=True)
            uow.commit()
            return True

    def due_for_auto_accept(self, review_window: timedelta, limit: int = 500) -> list[int]:
        with self._sessions() as s:
            latest = (
                select(Submission.milestone_id, func.max(Submission.submitted_at).label("at"))
                .group_by(Submission.milestone_id)
                .subquery()
            )
            return list(
                s.scalars(
                    select(Milestone.id)
                    .join(latest, latest.c.milestone_id == Milestone.id)
                    .where(
                        Milestone.status == MilestoneStatus.SUBMITTED,
                        latest.c.at <= utcnow() - review_window,
                    )
                    .limit(limit)
                )
            )

    def _accept(
        self,
        uow: UnitOfWork,
        actor_id: int | None,
        contract: Contract,
        milestone: Milestone,
        auto: bool = False,
    ) -> None:
        self._ensure_active(contract)
        target = domain.next_milestone_status(MilestoneStatus(milestone.status), "accept")
        self._review_latest(uow.session, actor_id, milestone.id, "accepted", None)
        before = milestone.status
        milestone.status = target
        uow.record(
            actor_id=actor_id,
            entity="milestone",
            entity_id=milestone.id,
            action="auto_accept" if auto else "accept",
            from_state=before,
            to_state=target,
            event=MilestoneAccepted(
                contract_id=contract.id,
                milestone_id=milestone.id,
                amount_minor=milestone.amount_minor,
            ),
        )
        self._complete_if_done(uow, actor_id, contract)

    def request_revision(
        self, user: CurrentUser, contract_id: int, milestone_id: int, comment: str
    ) -> ContractOut:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract, milestone = self._milestone_for_update(s, contract_id, milestone_id)
            self._require_poster(s, user, contract)
            self._ensure_active(contract)
            target = domain.next_milestone_status(
                MilestoneStatus(milestone.status), "request_revision"
            )
            self._review_latest(s, user.id, milestone.id, "revision_requested", comment)
            before = milestone.status
            milestone.status = target
            uow.record(
                actor_id=user.id,
                entity="milestone",
                entity_id=milestone.id,
                action="request_revision",
                from_state=before,
                to_state=target,
                event=MilestoneRevisionRequested(
                    contract_id=contract.id, milestone_id=milestone.id, comment=comment
                ),
                data={"comment": comment},
            )
            uow.commit()
            s.refresh(contract)
            return contract_out(contract)

    # -- funding and cancellation ---------------------------------------------------------
    def request_funding(
        self, user: CurrentUser, contract_id: int, milestone_id: int
    ) -> ContractOut:
        """Ask again for a milestone's money (after a declined payment, say)."""
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract, milestone = self._milestone_for_update(s, contract_id, milestone_id)
            self._require_poster(s, user, contract)
            if contract.status not in domain.OPEN_CONTRACTS:
                raise IllegalTransition("contract", contract.status, "fund")
            if milestone.status != MilestoneStatus.OPEN or self._funded(s, milestone.id):
                raise Conflict(
                    "this milestone is funded or past funding",
                    field="milestone_id",
                    rule="already_funded",
                )
            uow.record(
                actor_id=user.id,
                entity="milestone",
                entity_id=milestone.id,
                action="request_funding",
                event=MilestoneFundingRequested(contract_id=contract.id, milestone_id=milestone.id),
            )
            uow.commit()
            return contract_out(contract)

    def cancel(self, user: CurrentUser, contract_id: int, reason: str) -> ContractOut:
        """The poster cancels; money held for undelivered milestones goes back to them."""
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract = self._load_for_update(s, contract_id)
            self._require_poster(s, user, contract)
            if contract.status not in domain.OPEN_CONTRACTS:
                raise IllegalTransition("contract", contract.status, "cancel")
            milestones = s.scalars(
                select(Milestone)
                .where(Milestone.contract_id == contract.id)
                .order_by(Milestone.seq)
                .with_for_update()
            ).all()
            if any(MilestoneStatus(m.status) in domain.IN_REVIEW for m in milestones):
                raise Conflict(
                    "a delivered milestone is under review or dispute; decide it first",
                    field="contract_id",
                    rule="work_in_review",
                )
            task = TaskService.load_for_update(s, contract.task_id)
            cancelled = []
            for m in milestones:
                if m.status in (MilestoneStatus.OPEN, MilestoneStatus.REVISION_REQUESTED):
                    before = m.status
                    m.status = domain.next_milestone_status(MilestoneStatus(m.status), "cancel")
                    uow.record(
                        actor_id=user.id,
                        entity="milestone",
                        entity_id=m.id,
                        action="cancel",
                        from_state=before,
                        to_state=m.status,
                    )
                    cancelled.append(m.id)
            before = contract.status
            contract.status = ContractStatus.CANCELLED
            uow.record(
                actor_id=user.id,
                entity="contract",
                entity_id=contract.id,
                action="cancel",
                from_state=before,
                to_state=contract.status,
                event=ContractCancelled(
                    contract_id=contract.id, task_id=task.id, reason=reason, milestone_ids=cancelled
                ),
                data={"reason": reason},
            )
            before_task = task.status
            task.status = task_domain.next_status(TaskStatus(task.status), "cancel_contract")
            uow.record(
                actor_id=user.id,
                entity="task",
                entity_id=task.id,
                action="cancel",
                from_state=before_task,
                to_state=task.status,
                event=TaskCancelled(task_id=task.id, reason=reason),
            )
            uow.commit()
            s.refresh(contract)
            return contract_out(contract)

    @staticmethod
    def on_milestone_funded(uow: UnitOfWork, contract: Contract) -> None:
        """Called in the escrow's transaction: the first funding completes the award."""
        if contract.status != ContractStatus.AWAITING_FUNDING:
            return
        contract.status = ContractStatus.PENDING_ACCEPTANCE
        uow.record(
            actor_id=None,
            entity="contract",
            entity_id=contract.id,
            action="funded",
            from_state=ContractStatus.AWAITING_FUNDING,
            to_state=contract.status,
            event=ContractFunded(contract_id=contract.id),
        )

    def escrow(self, user: CurrentUser, contract_id: int) -> list[EscrowOut]:
        with self._sessions() as s:
            contract = s.get(Contract, contract_id)
            if contract is None or not (user.is_admin or self._is_party(user, contract, s)):
                raise NotFound("no such contract", field="contract_id")
            held = {
                e.milestone_id: e
                for e in s.scalars(
                    select(MilestoneEscrow).where(MilestoneEscrow.contract_id == contract.id)
                )
            }
            out = []
            for m in contract.milestones:
                e = held.get(m.id)
                out.append(
                    EscrowOut(
                        milestone_id=m.id,
                        status=e.status if e else "unfunded",
                        amount_minor=m.amount_minor,
                        funded_minor=e.funded_minor if e else 0,
                        released_minor=e.released_minor if e else 0,
                        refunded_minor=e.refunded_minor if e else 0,
                    )
                )
            return out

    @staticmethod
    def _funded(s: Session, milestone_id: int) -> bool:
        return bool(
            s.scalar(
                select(MilestoneEscrow.funded_minor).where(
                    MilestoneEscrow.milestone_id == milestone_id
                )
            )
        )

    # -- disputes -----------------------------------------------------------------------------
    def open_dispute(
        self, user: CurrentUser, contract_id: int, milestone_id: int, reason: str
    ) -> DisputeOut:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract, milestone = self._milestone_for_update(s, contract_id, milestone_id)
            if not self._is_party(user, contract, s):
                self._deny(s, user, contract, "only the parties open a dispute")
            self._ensure_active(contract)
            target = domain.next_milestone_status(MilestoneStatus(milestone.status), "dispute")
            dispute = Dispute(
                milestone_id=milestone.id,
                contract_id=contract.id,
                opened_by_id=user.id,
                reason=reason,
                status=DisputeStatus.OPEN,
            )
            s.add(dispute)
            s.flush()
            before = milestone.status
            milestone.status = target
            uow.record(
                actor_id=user.id,
                entity="milestone",
                entity_id=milestone.id,
                action="dispute",
                from_state=before,
                to_state=target,
                event=DisputeOpened(
                    contract_id=contract.id, dispute_id=dispute.id, milestone_id=milestone.id
                ),
                data={"dispute_id": dispute.id, "reason": reason},
            )
            uow.commit()
            return dispute_out(dispute)

    def resolve_dispute(
        self, user: CurrentUser, dispute_id: int, data: ResolveDisputeInput
    ) -> DisputeOut:
        if user.role is not Role.ADMIN:
            raise Forbidden("only an admin resolves disputes", rule="role")
        if data.outcome is not DisputeOutcome.SPLIT and data.solver_share_pct is not None:
            raise InvalidInput(
                "solver_share_pct goes with outcome 'split' only",
                field="solver_share_pct",
                rule="split_only",
            )
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            dispute = s.scalar(select(Dispute).where(Dispute.id == dispute_id).with_for_update())
            if dispute is None:
                raise NotFound("no such dispute", field="dispute_id")
            if dispute.status != DisputeStatus.OPEN:
                raise IllegalTransition("dispute", dispute.status, "resolve")
            contract, milestone = self._milestone_for_update(
                s, dispute.contract_id, dispute.milestone_id
            )
            target = domain.next_milestone_status(MilestoneStatus(milestone.status), "resolve")
            to_solver, to_poster = domain.split_amounts(
                milestone.amount_minor, data.outcome, data.solver_share_pct
            )
            dispute.status = DisputeStatus.RESOLVED
            dispute.outcome = data.outcome
            dispute.solver_share_pct = data.solver_share_pct
            dispute.to_solver_minor, dispute.to_poster_minor = to_solver, to_poster
            dispute.resolution_note = data.note
            dispute.resolved_by_id = user.id
            dispute.resolved_at = utcnow()
            before = milestone.status
            milestone.status = target
            uow.record(
                actor_id=user.id,
                entity="milestone",
                entity_id=milestone.id,
                action="resolve_dispute",
                from_state=before,
                to_state=target,
                event=DisputeResolved(
                    contract_id=contract.id,
                    dispute_id=dispute.id,
                    milestone_id=milestone.id,
                    outcome=data.outcome,
                    to_solver_minor=to_solver,
                    to_poster_minor=to_poster,
                ),
                data={
                    "dispute_id": dispute.id,
                    "outcome": str(data.outcome),
                    "to_solver_minor": to_solver,
                    "to_poster_minor": to_poster,
                },
            )
            self._complete_if_done(uow, user.id, contract)
            uow.commit()
            return dispute_out(dispute)

    # -- ratings ------------------------------------------------------------------------------
    def rate(self, user: CurrentUser, contract_id: int, score: int, comment: str) -> RatingOut:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            contract = self._load_for_update(s, contract_id)
            if not self._is_party(user, contract, s):
                self._deny(s, user, contract, "only the parties rate each other")
            if contract.status != ContractStatus.COMPLETED:
                raise Conflict(
                    "ratings open when the contract is completed",
                    field="contract_id",
                    rule="not_completed",
                )
            if user.id == contract.solver_id:
                rating = Rating(
                    contract_id=contract.id,
                    rater_id=user.id,
                    rated_org_id=contract.poster_org_id,
                    score=score,
                    comment=comment,
                )
            else:
                rating = Rating(
                    contract_id=contract.id,
                    rater_id=user.id,
                    rated_user_id=contract.solver_id,
                    score=score,
                    comment=comment,
                )
            if s.scalar(
                select(Rating.id).where(
                    Rating.contract_id == contract.id, Rating.rater_id == user.id
                )
            ):
                raise Conflict(
                    "you have rated this contract already", field="contract_id", rule="one_rating"
                )
            s.add(rating)
            try:
                s.flush()
            except IntegrityError as exc:
                raise Conflict(
                    "you have rated this contract already", field="contract_id", rule="one_rating"
                ) from exc
            uow.record(
                actor_id=user.id,
                entity="contract",
                entity_id=contract.id,
                action="rate",
                event=RatingGiven(contract_id=contract.id, rating_id=rating.id, score=score),
                data={"score": score},
            )
            uow.commit()
            return rating_out(rating)

    # -- queries ------------------------------------------------------------------------------
    def get(self, user: CurrentUser, contract_id: int) -> ContractOut:
        with self._sessions() as s:
            contract = s.get(Contract, contract_id)
            if contract is None or not (user.is_admin or self._is_party(user, contract, s)):
                raise NotFound("no such contract", field="contract_id")
            return contract_out(contract)

    def actions(self, user: CurrentUser, contract_id: int) -> ContractActionsOut:
        """The actions `accept`, `submit`, `accept_milestone`, `request_revision`,
        `open_dispute` and `rate` would allow the caller now, from the same party, state
        and funding checks (admins see none: not a party)."""
        with self._sessions() as s:
            contract = s.get(Contract, contract_id)
            if contract is None or not (user.is_admin or self._is_party(user, contract, s)):
                raise NotFound("no such contract", field="contract_id")
            is_solver = contract.solver_id == user.id
            active = contract.status == ContractStatus.ACTIVE
            can_submit, _ = domain.MILESTONE_TRANSITIONS["submit"]
            can_accept, _ = domain.MILESTONE_TRANSITIONS["accept"]
            can_revise, _ = domain.MILESTONE_TRANSITIONS["request_revision"]
            can_dispute, _ = domain.MILESTONE_TRANSITIONS["dispute"]
            is_poster = self._is_poster(user, contract)
            is_party = is_solver or is_poster
            rated = s.scalar(
                select(Rating.id).where(
                    Rating.contract_id == contract.id, Rating.rater_id == user.id
                )
            )
            return ContractActionsOut(
                accept_contract=is_solver and contract.status == ContractStatus.PENDING_ACCEPTANCE,
                submit_milestones=[
                    m.id
                    for m in contract.milestones
                    if is_solver
                    and active
                    and MilestoneStatus(m.status) in can_submit
                    and self._funded(s, m.id)
                ],
                accept_milestones=[
                    m.id
                    for m in contract.milestones
                    if is_poster and active and MilestoneStatus(m.status) in can_accept
                ],
                revise_milestones=[
                    m.id
                    for m in contract.milestones
                    if is_poster and active and MilestoneStatus(m.status) in can_revise
                ],
                dispute_milestones=[
                    m.id
                    for m in contract.milestones
                    if is_party and active and MilestoneStatus(m.status) in can_dispute
                ],
                rate=is_party and contract.status == ContractStatus.COMPLETED and rated is None,
            )

    def ratings(self, user: CurrentUser, contract_id: int) -> list[RatingOut]:
        """The contract's ratings (each party's of the other), to its parties and admins."""
        with self._sessions() as s:
            contract = s.get(Contract, contract_id)
            if contract is None or not (user.is_admin or self._is_party(user, contract, s)):
                raise NotFound("no such contract", field="contract_id")
            return [
                rating_out(r)
                for r in s.scalars(
                    select(Rating).where(Rating.contract_id == contract.id).order_by(Rating.id)
                )
            ]

    def list_mine(self, user: CurrentUser) -> list[ContractOut]:
        with self._sessions() as s:
            stmt = select(Contract)
            if not user.is_admin:
                conds = [Contract.solver_id == user.id]
                if user.can_post and user.org_id is not None:
                    conds.append(Contract.poster_org_id == user.org_id)
                stmt = stmt.where(or_(*conds))
            return [
                contract_out(c) for c in s.scalars(stmt.order_by(Contract.id.desc()).limit(200))
            ]

    def submissions(
        self, user: CurrentUser, contract_id: int, milestone_id: int
    ) -> list[SubmissionOut]:
        with self._sessions() as s:
            contract = s.get(Contract, contract_id)
            milestone = s.get(Milestone, milestone_id)
            if (
                contract is None
                or milestone is None
                or milestone.contract_id != contract.id
                or not (user.is_admin or self._is_party(user, contract, s))
            ):
                raise NotFound("no such milestone", field="milestone_id")
            subs = s.scalars(
                select(Submission)
                .where(Submission.milestone_id == milestone.id)
                .order_by(Submission.version)
            )
            return [submission_out(x) for x in subs]

    def submission_file(
        self, user: CurrentUser, contract_id: int, file_id: int
    ) -> tuple[SubmissionFile, bytes]:
        with self._sessions() as s:
            contract = s.get(Contract, contract_id)
            f = s.get(SubmissionFile, file_id)
            if (
                contract is None
                or f is None
                or not (user.is_admin or self._is_party(user, contract, s))
            ):
                raise NotFound("no such file", field="file_id")
            sub = s.get(Submission, f.submission_id)
            milestone = s.get(Milestone, sub.milestone_id) if sub else None
            if milestone is None or milestone.contract_id != contract.id:
                raise NotFound("no such file", field="file_id")
            return f, f.data

    def disputes(self, user: CurrentUser, status: DisputeStatus | None) -> list[DisputeOut]:
        if not user.is_admin:
            raise Forbidden("only admins list all disputes", rule="role")
        with self._sessions() as s:
            stmt = select(Dispute).order_by(Dispute.created_at, Dispute.id)
            if status is not None:
                stmt = stmt.where(Dispute.status == status)
            return [dispute_out(d) for d in s.scalars(stmt.limit(500))]

    def ratings_for_solver(self, solver_id: int) -> list[RatingOut]:
        with self._sessions() as s:
            return [
                rating_out(r)
                for r in s.scalars(
                    select(Rating)
                    .where(Rating.rated_user_id == solver_id)
                    .order_by(Rating.id.desc())
                    .limit(100)
                )
            ]

    # -- internals ----------------------------------------------------------------------------
    @staticmethod
    def _load_for_update(s: Session, contract_id: int) -> Contract:
        contract = s.scalar(select(Contract).where(Contract.id == contract_id).with_for_update())
        if contract is None:
            raise NotFound("no such contract", field="contract_id")
        return contract

    def _milestone_for_update(
        self, s: Session, contract_id: int, milestone_id: int
    ) -> tuple[Contract, Milestone]:
        contract = self._load_for_update(s, contract_id)
        milestone = s.scalar(
            select(Milestone).where(Milestone.id == milestone_id).with_for_update()
        )
        if milestone is None or milestone.contract_id != contract.id:
            raise NotFound("no such milestone", field="milestone_id")
        return contract, milestone

    @staticmethod
    def _is_poster(user: CurrentUser, contract: Contract) -> bool:
        return user.can_post and user.org_id == contract.poster_org_id

    def _is_party(self, user: CurrentUser, contract: Contract, s: Session) -> bool:
        return contract.solver_id == user.id or self._is_poster(user, contract)

    def _deny(self, s: Session, user: CurrentUser, contract: Contract, message: str) -> None:
        """Parties and admins learn why; anyone else learns nothing about the contract."""
        if user.is_admin or self._is_party(user, contract, s):
            raise Forbidden(message, rule="party")
        raise NotFound("no such contract", field="contract_id")

    def _require_poster(self, s: Session, user: CurrentUser, contract: Contract) -> None:
        if not self._is_poster(user, contract):
            self._deny(s, user, contract, "only the posting organisation reviews deliverables")

    @staticmethod
    def _ensure_active(contract: Contract) -> None:
        if contract.status != ContractStatus.ACTIVE:
            raise Conflict(
                f"the contract is {contract.status}, not active",
                field="contract_id",
                rule="contract_not_active",
            )

    @staticmethod
    def _review_latest(
        s: Session, actor_id: int | None, milestone_id: int, status: str, comment: str | None
    ) -> None:
        latest = s.scalar(
            select(Submission)
            .where(Submission.milestone_id == milestone_id)
            .order_by(Submission.version.desc())
            .limit(1)
        )
        if latest is not None:
            s.execute(
                update(Submission)
                .where(Submission.id == latest.id)
                .values(
                    review_status=status,
                    review_comment=comment,
                    reviewed_by_id=actor_id,
                    reviewed_at=utcnow(),
                )
            )

    def _complete_if_done(self, uow: UnitOfWork, actor_id: int | None, contract: Contract) -> None:
        s = uow.session
        s.flush()
        statuses = s.scalars(
            select(Milestone.status).where(Milestone.contract_id == contract.id)
        ).all()
        if not domain.all_finished(statuses):
            return
        contract.status = ContractStatus.COMPLETED
        contract.completed_at = utcnow()
        uow.record(
            actor_id=actor_id,
            entity="contract",
            entity_id=contract.id,
            action="complete",
            from_state=ContractStatus.ACTIVE,
            to_state=ContractStatus.COMPLETED,
            event=ContractCompleted(contract_id=contract.id, task_id=contract.task_id),
        )
        task = TaskService.load_for_update(s, contract.task_id)
        before = task.status
        task.status = task_domain.next_status(TaskStatus(task.status), "complete")
        uow.record(
            actor_id=actor_id,
            entity="task",
            entity_id=task.id,
            action="complete",
            from_state=before,
            to_state=task.status,
            event=TaskCompleted(task_id=task.id, contract_id=contract.id),
        )
