"""Tasks: draft, publish, edit within the rules, close bidding, cancel, list, NDA, files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.domain import CurrentUser, Role
from market.accounts.models import Organisation
from market.bids.domain import LIVE_BID_STATUSES
from market.bids.models import Bid
from market.db.base import utcnow
from market.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from market.schemas import Page
from market.settings import Settings
from market.tasks import domain
from market.tasks.domain import Confidentiality, TaskStatus
from market.tasks.events import (
    TaskBiddingClosed,
    TaskCancelled,
    TaskCreated,
    TaskEdited,
    TaskPublished,
)
from market.tasks.models import NdaAcceptance, Task, TaskAttachment, TaskSkill
from market.tasks.schemas import AttachmentOut, TaskInput, TaskOut, TaskPatch, TaskSummaryOut
from market.tasks.text_search import text_search_condition
from market.uow import UnitOfWork

MAX_ATTACHMENTS_PER_TASK = 20
COUNT_CAP = 1_000
ALLOWED_ATTACHMENT_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "text/plain",
        "text/markdown",
        "text/csv",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)

SORTS: dict[str, Any] = {
    "-published_at": (Task.published_at.desc(), Task.id.desc()),
    "published_at": (Task.published_at.asc(), Task.id.asc()),
    "-budget": (Task.budget_minor.desc(), Task.id.desc()),
    "budget": (Task.budget_minor.asc(), Task.id.asc()),
    "bid_deadline": (Task.bid_deadline.asc(), Task.id.asc()),
    "-bid_deadline": (Task.bid_deadline.desc(), Task.id.desc()),
}


# A listing row, straight from columns (no ORM objects), named as TaskSummaryOut's fields.
_SUMMARY_COLUMNS = [
    Organisation.name_zh.label("org_name_zh") if name == "org_name_zh"
    else Organisation.name_en.label("org_name_en") if name == "org_name_en"
    else getattr(Task, name)
    for name in TaskSummaryOut.__struct_fields__
]
# For a text search (this transaction only): a plan for its own term (a generic plan
# cannot tell a term in a third of the tasks from one in a few dozen, nor use the partial
# index), and none of the machinery for big analytic queries, whose start-up (JIT
# compilation, parallel workers) costs more than these queries.
_TEXT_SEARCH_SETTINGS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('jit', 'off', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)
# Text searches with more than _COMMON_TERM_MATCHES matches: the first
# _SCAN_FOR_COMMON_TERMS of them come from the sort's index scan, the LIKEs as a filter
# (see TaskService.list).
_COMMON_TERM_MATCHES = 4_000
_SCAN_FOR_COMMON_TERMS = 100


def normalise_skill(skill: str) -> str:
    return " ".join(skill.strip().lower().split())[:60]


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: TaskStatus | None = None
    industry: str | None = None
    district: str | None = None
    zone: str | None = None
    skill: str | None = None
    min_budget: int | None = None
    max_budget: int | None = None
    trl: int | None = None
    bidding_mode: str | None = None
    q: str | None = None
    mine: bool = False
    org_id: int | None = None
    sort: str = "-published_at"


class TaskRef(Protocol):
    """What the access rules read of a task: a Task, or a columns-only row of one."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def org_id(self) -> int: ...
    @property
    def confidentiality(self) -> str: ...


def can_manage(user: CurrentUser | None, task: TaskRef) -> bool:
    """Posters and officials of the posting organisation manage its tasks; so do admins."""
    if user is None:
        return False
    return user.is_admin or posts_for(user, task)


def posts_for(user: CurrentUser, task: TaskRef) -> bool:
    """The user is a poster or official of the task's organisation. Only they award: that
    commits the organisation's money and IP terms (a platform admin manages, not awards)."""
    return user.can_post and user.org_id == task.org_id


def task_summary_out(task: Task, org: Organisation) -> TaskSummaryOut:
    return TaskSummaryOut(
        id=task.id,
        status=task.status,
        org_id=task.org_id,
        org_name_zh=org.name_zh,
        org_name_en=org.name_en,
        title_zh=task.title_zh,
        title_en=task.title_en,
        summary_zh=task.summary_zh,
        summary_en=task.summary_en,
        required_skills=list(task.required_skills),
        industry=task.industry,
        district=task.district,
        zone=task.zone,
        trl_current=task.trl_current,
        trl_target=task.trl_target,
        budget_minor=task.budget_minor,
        bid_deadline=task.bid_deadline,
        delivery_deadline=task.delivery_deadline,
        bidding_mode=task.bidding_mode,
        ip_terms=task.ip_terms,
        confidentiality=task.confidentiality,
        published_at=task.published_at,
    )


class TaskService:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"

    # -- helpers shared with other contexts ---------------------------------------------
    @staticmethod
    def load_for_update(session: Session, task_id: int) -> Task:
        task = session.scalar(select(Task).where(Task.id == task_id).with_for_update())
        if task is None:
            raise NotFound("no such task", field="task_id")
        return task

    @staticmethod
    def visible_to(task: TaskRef, user: CurrentUser | None) -> bool:
        return task.status != TaskStatus.DRAFT or can_manage(user, task)

    @staticmethod
    def details_visible(session: Session, task: TaskRef, user: CurrentUser | None) -> bool:
        if task.confidentiality == Confidentiality.PUBLIC or can_manage(user, task):
            return True
        if user is None:
            return False
        return bool(
            session.scalar(
                select(NdaAcceptance.id).where(
                    NdaAcceptance.task_id == task.id, NdaAcceptance.user_id == user.id
                )
            )
        )

    # -- commands ---------------------------------------------------------------------------
    def create(self, user: CurrentUser, data: TaskInput) -> TaskOut:
        if not user.can_post or user.org_id is None:
            raise Forbidden("only posters and district officials post tasks", rule="role")
        domain.check_texts(data.title_zh, data.title_en)
        domain.check_trl(data.trl_current, data.trl_target)
        domain.check_schedule(data.bid_deadline, data.delivery_deadline, utcnow())
        with UnitOfWork(self._sessions) as uow:
            self._check_official_district(uow.session, user, data.district)
            values = msgspec.structs.asdict(data)
            task = Task(
                org_id=user.org_id, created_by_id=user.id, status=TaskStatus.DRAFT, **values
            )
            task.required_skills = _clean_skills(data.required_skills)
            uow.session.add(task)
            uow.session.flush()
            _sync_skills(uow.session, task)
            uow.record(
                actor_id=user.id,
                entity="task",
                entity_id=task.id,
                action="create",
                to_state=TaskStatus.DRAFT,
                event=TaskCreated(task_id=task.id),
            )
            uow.commit()
            return self._out(uow.session, task, user)

    def edit(self, user: CurrentUser, task_id: int, patch: TaskPatch) -> TaskOut:
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
        if not changes:
            raise InvalidInput("give at least one field to change", field="body", rule="non_empty")
        with UnitOfWork(self._sessions) as uow:
            task = self._managed(uow.session, user, task_id)
            before = {k: getattr(task, k) for k in changes}
            domain.check_edit(
                TaskStatus(task.status), self._has_live_bids(uow.session, task.id), before, changes
            )
            merged = {
                **{
                    k: getattr(task, k)
                    for k in (
                        "title_zh",
                        "title_en",
                        "trl_current",
                        "trl_target",
                        "bid_deadline",
                        "delivery_deadline",
                    )
                },
                **changes,
            }
            domain.check_texts(merged["title_zh"], merged["title_en"])
            domain.check_trl(merged["trl_current"], merged["trl_target"])
            if "bid_deadline" in changes or "delivery_deadline" in changes:
                domain.check_schedule(merged["bid_deadline"], merged["delivery_deadline"], utcnow())
            for k, v in changes.items():
                setattr(task, k, _clean_skills(v) if k == "required_skills" else v)
            if "district" in changes:
                self._check_official_district(uow.session, user, changes["district"])
            if "required_skills" in changes:
                _sync_skills(uow.session, task)
            task.updated_at = utcnow()
            uow.record(
                actor_id=user.id,
                entity="task",
                entity_id=task.id,
                action="edit",
                from_state=task.status,
                to_state=task.status,
                event=TaskEdited(task_id=task.id, fields=sorted(changes)),
                data={"fields": sorted(changes)},
            )
            uow.commit()
            return self._out(uow.session, task, user)

    def publish(self, user: CurrentUser, task_id: int) -> TaskOut:
        with UnitOfWork(self._sessions) as uow:
            task = self._managed(uow.session, user, task_id)
            target = domain.next_status(TaskStatus(task.status), "publish")
            domain.check_schedule(task.bid_deadline, task.delivery_deadline, utcnow())
            self._move(uow, user, task, "publish", target, TaskPublished(task_id=task.id))
            task.published_at = utcnow()
            uow.commit()
            return self._out(uow.session, task, user)

    def close_bidding(self, user: CurrentUser | None, task_id: int) -> TaskOut:
        """Close bidding now (the poster) or when the deadline passes (the scheduler: user None)."""
        with UnitOfWork(self._sessions) as uow:
            task = (
                self.load_for_update(uow.session, task_id)
                if user is None
                else self._managed(uow.session, user, task_id)
            )
            target = domain.next_status(TaskStatus(task.status), "close_bidding")
            self._move(uow, user, task, "close_bidding", target, TaskBiddingClosed(task_id=task.id))
            uow.commit()
            return self._out(uow.session, task, user)

    def close_bidding_at_deadline(self, task_id: int) -> bool:
        """The scheduler's close: only a published task whose deadline has passed; idempotent."""
        with UnitOfWork(self._sessions) as uow:
            task = self.load_for_update(uow.session, task_id)
            if task.status != TaskStatus.PUBLISHED or task.bid_deadline > utcnow():
                return False
            self._move(
                uow,
                None,
                task,
                "close_bidding",
                TaskStatus.BIDDING_CLOSED,
                TaskBiddingClosed(task_id=task.id),
            )
            uow.commit()
            return True

    def due_for_closing(self, limit: int = 500) -> list[int]:
        with self._sessions() as s:
            return list(
                s.scalars(
                    select(Task.id)
                    .where(Task.status == TaskStatus.PUBLISHED, Task.bid_deadline <= utcnow())
                    .order_by(Task.bid_deadline)
                    .limit(limit)
                )
            )

    def cancel(self, user: CurrentUser, task_id: int, reason: str) -> TaskOut:
        with UnitOfWork(self._sessions) as uow:
            task = self._managed(uow.session, user, task_id)
            target = domain.next_status(TaskStatus(task.status), "cancel")
            self._move(
                uow,
                user,
                task,
                "cancel",
                target,
                TaskCancelled(task_id=task.id, reason=reason),
                {"reason": reason},
            )
            uow.commit()
            return self._out(uow.session, task, user)

    def accept_nda(self, user: CurrentUser, task_id: int) -> TaskOut:
        # The NDA is what a solver signs to see the details before bidding; other
        # posters and officials have no business with a competitor's confidential brief.
        if user.role is not Role.SOLVER:
            raise Forbidden("only solvers accept a task's NDA", rule="role")
        with UnitOfWork(self._sessions) as uow:
            task = uow.session.get(Task, task_id)
            if task is None or not self.visible_to(task, user):
                raise NotFound("no such task", field="task_id")
            exists = uow.session.scalar(
                select(NdaAcceptance.id).where(
                    NdaAcceptance.task_id == task.id, NdaAcceptance.user_id == user.id
                )
            )
            if not exists:
                uow.session.add(NdaAcceptance(task_id=task.id, user_id=user.id))
                uow.record(actor_id=user.id, entity="task", entity_id=task.id, action="accept_nda")
            uow.commit()
            return self._out(uow.session, task, user)

    def add_attachment(
        self, user: CurrentUser, task_id: int, filename: str, content_type: str, data: bytes
    ) -> AttachmentOut:
        with UnitOfWork(self._sessions) as uow:
            task = self._managed(uow.session, user, task_id)
            check_upload(filename, content_type, data, self._settings.max_attachment_bytes)
            if TaskStatus(task.status) not in domain.EDITABLE_STATUSES:
                raise domain.IllegalTransition("task", task.status, "attach files to")
            count = uow.session.scalar(
                select(func.count())
                .select_from(TaskAttachment)
                .where(TaskAttachment.task_id == task.id)
            )
            if (count or 0) >= MAX_ATTACHMENTS_PER_TASK:
                raise InvalidInput(
                    f"a task has at most {MAX_ATTACHMENTS_PER_TASK} attachments",
                    field="file",
                    rule="max_count",
                )
            att = TaskAttachment(
                task_id=task.id,
                filename=filename,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
                uploaded_by_id=user.id,
            )
            uow.session.add(att)
            uow.session.flush()
            uow.record(
                actor_id=user.id,
                entity="task",
                entity_id=task.id,
                action="attach",
                data={"attachment_id": att.id},
            )
            uow.commit()
            return attachment_out(att)

    def get_attachment(
        self, user: CurrentUser | None, task_id: int, attachment_id: int
    ) -> tuple[TaskAttachment, bytes]:
        with self._sessions() as s:
            task = s.get(Task, task_id)
            if task is None or not self.visible_to(task, user):
                raise NotFound("no such task", field="task_id")
            if not self.details_visible(s, task, user):
                if user is None:
                    raise Unauthenticated("log in and accept the NDA to see this task's files")
                raise Forbidden("accept the NDA to see this task's files", rule="nda_required")
            att = s.get(TaskAttachment, attachment_id)
            if att is None or att.task_id != task.id:
                raise NotFound("no such attachment", field="attachment_id")
            return att, att.data

    # -- queries ------------------------------------------------------------------------------
    def get(self, user: CurrentUser | None, task_id: int) -> TaskOut:
        with self._sessions() as s:
            task = s.get(Task, task_id)
            if task is None or not self.visible_to(task, user):
                raise NotFound("no such task", field="task_id")
            return self._out(s, task, user, with_extras=True)

    def list(
        self, user: CurrentUser | None, f: TaskFilters, page: int, page_size: int
    ) -> Page[TaskSummaryOut]:
        conds: list[Any] = []
        if f.mine:
            if user is None:
                raise Unauthenticated("log in to list your organisation's tasks", field="mine")
            if user.org_id is None or not user.can_post:
                raise Forbidden(
                    "'mine' lists the tasks of the caller's organisation", field="mine", rule="role"
                )
            conds.append(Task.org_id == user.org_id)
        elif f.status == TaskStatus.DRAFT:
            raise InvalidInput(
                "drafts are listed with mine=true only", field="status", rule="drafts_private"
            )
        else:
            conds.append(Task.status != TaskStatus.DRAFT)
        if f.status is None and not f.mine:
            conds.append(Task.status == TaskStatus.PUBLISHED)
        elif f.status is not None:
            conds.append(Task.status == f.status)
        for col, val in (
            (Task.industry, f.industry),
            (Task.district, f.district),
            (Task.zone, f.zone),
            (Task.bidding_mode, f.bidding_mode),
            (Task.org_id, f.org_id),
        ):
            if val is not None:
                conds.append(col == val)
        if f.min_budget is not None:
            conds.append(Task.budget_minor >= f.min_budget)
        if f.max_budget is not None:
            conds.append(Task.budget_minor <= f.max_budget)
        if f.trl is not None:
            conds += [Task.trl_current <= f.trl, Task.trl_target >= f.trl]
        if f.skill:
            conds.append(
                Task.id.in_(
                    select(TaskSkill.task_id).where(TaskSkill.skill == normalise_skill(f.skill))
                )
            )
        # The n-gram index serves terms of two characters or more.
        text_search = len((f.q or "").strip()) >= 2
        indexed = list(conds)
        if f.q:
            like = f"%{_escape_like(f.q.strip())}%"
            conds.append(_text_matches(Task, like))
            published = f.status == TaskStatus.PUBLISHED or (f.status is None and not f.mine)
            if text_search and published and self._postgres:
                # PostgreSQL: the n-gram GIN index (of the published tasks) narrows the
                # candidates to the rows that hold every n-gram of the term (see
                # market/tasks/text_search.py); the same LIKEs decide, so both backends
                # answer the same.
                alone = len(indexed) <= 2 and not f.skill  # the status conditions only
                indexed.append(
                    text_search_condition(
                        f.q.strip(), lambda t: _text_matches(t, like), alone=alone
                    )
                )
            else:
                indexed.append(conds[-1])
        if f.sort not in SORTS:
            raise InvalidInput(f"sort is one of {', '.join(SORTS)}", field="sort", rule="enum")
        offset = (page - 1) * page_size
        with self._sessions() as s:
            searched = indexed[-1] is not conds[-1]  # through the n-gram index
            if searched:
                s.execute(_TEXT_SEARCH_SETTINGS)
            # Counting every match of a broad filter costs a scan of the table; past
            # COUNT_CAP the listing says "at least" (total_is_exact false) instead. The
            # count reads the covering indexes only (no organisation join, no text).
            # A text search counts further (internally): whether its term is common.
            limit = max(COUNT_CAP, _COMMON_TERM_MATCHES) if searched else COUNT_CAP
            capped = select(Task.id).where(*indexed).limit(limit + 1).subquery()
            total = s.scalar(select(func.count()).select_from(capped)) or 0
            # A common term (in 5 %+ of the tasks) fills the first pages within a few
            # hundred rows of the sort's index (the LIKEs as a filter): cheaper than
            # reading all its matches through the n-gram index to sort them.
            common = (
                searched
                and total > _COMMON_TERM_MATCHES
                and offset + page_size <= _SCAN_FOR_COMMON_TERMS
            )
            rows = s.execute(
                self._page_stmt(conds if common else indexed, SORTS[f.sort], page_size, offset)
            ).all()
            return Page(
                items=[TaskSummaryOut(**row._asdict()) for row in rows],
                total=min(total, COUNT_CAP),
                page=page,
                page_size=page_size,
                total_is_exact=total <= COUNT_CAP,
            )

    # -- internals ----------------------------------------------------------------------------
    @staticmethod
    def _page_stmt(conds: list[Any], order: Any, limit: int, offset: int) -> Any:
        # Deferred join: the page's ids come from an index-only scan of a covering index
        # (deep offsets walk index entries, not 1.8 kB rows); only the page's rows are read.
        page_ids = (
            select(Task.id)
            .where(*conds)
            .order_by(*order)
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        return (
            select(*_SUMMARY_COLUMNS)
            .join(Organisation, Organisation.id == Task.org_id)
            .join(page_ids, page_ids.c.id == Task.id)
            .order_by(*order)
        )

    def _managed(self, session: Session, user: CurrentUser, task_id: int) -> Task:
        task = self.load_for_update(session, task_id)
        if not can_manage(user, task):
            if not self.visible_to(task, user):
                raise NotFound("no such task", field="task_id")
            raise Forbidden("only the posting organisation manages this task", rule="owner")
        return task

    @staticmethod
    def _check_official_district(session: Session, user: CurrentUser, district: str) -> None:
        """An official publishes key tasks for their own district only."""
        if user.role is not Role.OFFICIAL:
            return
        org = session.get(Organisation, user.org_id)
        if org is not None and org.district and org.district != district:
            raise InvalidInput(
                f"an official of {org.district} posts tasks for that district",
                field="district",
                rule="own_district",
            )

    @staticmethod
    def _has_live_bids(session: Session, task_id: int) -> bool:
        return bool(
            session.scalar(
                select(Bid.id)
                .where(Bid.task_id == task_id, Bid.status.in_(LIVE_BID_STATUSES))
                .limit(1)
            )
        )

    @staticmethod
    def _move(
        uow: UnitOfWork,
        user: CurrentUser | None,
        task: Task,
        action: str,
        target: TaskStatus,
        event: Any,
        data: dict[str, Any] | None = None,
    ) -> None:
        before = task.status
        task.status = target
        task.updated_at = utcnow()
        uow.record(
            actor_id=user.id if user else None,
            entity="task",
            entity_id=task.id,
            action=action,
            from_state=before,
            to_state=target,
            event=event,
            data=data,
        )

    def _out(
        self, s: Session, task: Task, user: CurrentUser | None, with_extras: bool = False
    ) -> TaskOut:
        org = s.get(Organisation, task.org_id)
        assert org is not None
        visible = self.details_visible(s, task, user)
        bid_count = None
        attachments = None
        if with_extras:
            bid_count = s.scalar(
                select(func.count())
                .select_from(Bid)
                .where(Bid.task_id == task.id, Bid.status.in_(LIVE_BID_STATUSES))
            )
            if visible:
                attachments = [
                    attachment_out(a)
                    for a in s.scalars(
                        select(TaskAttachment)
                        .where(TaskAttachment.task_id == task.id)
                        .order_by(TaskAttachment.id)
                    )
                ]
        return TaskOut(
            id=task.id,
            status=task.status,
            org_id=task.org_id,
            org_name_zh=org.name_zh,
            org_name_en=org.name_en,
            org_kind=org.kind,
            created_by_id=task.created_by_id,
            title_zh=task.title_zh,
            title_en=task.title_en,
            summary_zh=task.summary_zh,
            summary_en=task.summary_en,
            description_zh=task.description_zh if visible else None,
            description_en=task.description_en if visible else None,
            details_visible=visible,
            required_skills=list(task.required_skills),
            industry=task.industry,
            district=task.district,
            zone=task.zone,
            trl_current=task.trl_current,
            trl_target=task.trl_target,
            budget_minor=task.budget_minor,
            currency=task.currency,
            bid_deadline=task.bid_deadline,
            delivery_deadline=task.delivery_deadline,
            bidding_mode=task.bidding_mode,
            ip_terms=task.ip_terms,
            confidentiality=task.confidentiality,
            published_at=task.published_at,
            created_at=task.created_at,
            updated_at=task.updated_at,
            bid_count=bid_count,
            attachments=attachments,
        )


def attachment_out(a: TaskAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        created_at=a.created_at,
    )


def check_upload(filename: str, content_type: str, data: bytes, max_bytes: int) -> None:
    """Size and type limits shared by task attachments and milestone deliverables."""
    if not filename or len(filename) > 200 or "\x00" in filename:
        raise InvalidInput(
            "a file needs a name of 1 to 200 characters, without NUL", field="file", rule="filename"
        )
    if content_type.split(";")[0].strip() not in ALLOWED_ATTACHMENT_TYPES:
        raise InvalidInput(
            f"file type {content_type!r} is not accepted; use PDF, images, text, CSV, ZIP or Office files",
            field="file",
            rule="content_type",
        )
    if not data:
        raise InvalidInput("the file is empty", field="file", rule="non_empty")
    if len(data) > max_bytes:
        raise InvalidInput(f"a file is at most {max_bytes} bytes", field="file", rule="max_size")


def _clean_skills(skills: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for s in skills:
        n = normalise_skill(s)
        if n and n not in seen:
            seen.add(n)
            out.append(s.strip())
    return out


def _sync_skills(session: Session, task: Task) -> None:
    session.query(TaskSkill).filter(TaskSkill.task_id == task.id).delete()
    for skill in {normalise_skill(s) for s in task.required_skills}:
        session.add(TaskSkill(task_id=task.id, skill=skill))


def _text_matches(t: Any, like: str) -> Any:
    """The text filter `q` on the Task entity T (or an alias of it)."""
    return or_(
        t.title_zh.like(like, escape="\\"),
        t.title_en.ilike(like, escape="\\"),
        t.summary_zh.like(like, escape="\\"),
        t.summary_en.ilike(like, escape="\\"),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
