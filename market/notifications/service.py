"""Notifications: who hears about what, over which channel, and the caller's inbox.

`notify` is called by the event handlers (tasks.py) with the event's outbox id: it writes
one notification per recipient, in Chinese and English, plus one delivery row per e-mail
and webhook endpoint, all in one transaction. (user, outbox id, kind) is unique, so a
redelivered event writes nothing. `deliver` then sends the pending deliveries of one
notification; each delivery is claimed, sent, then marked sent, and a failure leaves it
to be retried (the handler raises, so the worker retries the job).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.domain import POSTING_ROLES, CurrentUser
from market.accounts.models import User
from market.bids.domain import LIVE_BID_STATUSES, BidStatus
from market.bids.models import Bid
from market.contracts.domain import ContractStatus, MilestoneStatus
from market.contracts.models import Contract, Milestone
from market.db.base import utcnow
from market.errors import Conflict, InvalidInput, NotFound
from market.notifications import channels
from market.notifications.events import BidDeadlineApproaching, MilestoneDueSoon, NotificationQueued
from market.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    ScheduledReminder,
    WebhookEndpoint,
)
from market.notifications.schemas import (
    MAX_WEBHOOKS_PER_USER,
    Channel,
    EffectiveOut,
    NotificationOut,
    NotificationPage,
    PreferenceOut,
    PreferencesInput,
    PreferencesOut,
    WebhookInput,
    WebhookOut,
)
from market.notifications.templates import Kind, render
from market.settings import Settings
from market.tasks.domain import TaskStatus
from market.tasks.models import Task
from market.uow import UnitOfWork

log = logging.getLogger(__name__)

ALL_KINDS = "*"
BID_DEADLINE_NOTICE = timedelta(hours=24)
MILESTONE_DUE_NOTICE = timedelta(hours=48)
# How long a worker owns a delivery it is sending; after that another may take it over.
CLAIM_LEASE = timedelta(minutes=2)
OPEN_MILESTONES = (MilestoneStatus.OPEN, MilestoneStatus.REVISION_REQUESTED)

Prefs = dict[tuple[str, str], bool]


def channel_enabled(prefs: Prefs, channel: str, kind: str) -> bool:
    """A kind's own row wins over the channel's '*' row; with neither, the channel is on."""
    if (channel, kind) in prefs:
        return prefs[(channel, kind)]
    return prefs.get((channel, ALL_KINDS), True)


def notification_out(n: Notification, language: str) -> NotificationOut:
    en = language == "en"
    return NotificationOut(
        id=n.id,
        kind=n.kind,
        title=n.title_en if en else n.title_zh,
        body=n.body_en if en else n.body_zh,
        title_zh=n.title_zh,
        title_en=n.title_en,
        body_zh=n.body_zh,
        body_en=n.body_en,
        link=n.link,
        read=n.read_at is not None,
        read_at=n.read_at,
        created_at=n.created_at,
    )


def webhook_out(w: WebhookEndpoint, secret: str | None = None) -> WebhookOut:
    return WebhookOut(
        id=w.id,
        url=w.url,
        description=w.description,
        active=w.active,
        created_at=w.created_at,
        secret=secret,
    )


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """http(s) with a host, no credentials in it, and (unless allowed) not a loopback,
    private or link-local address; returned as given (stripped). A name that resolves to
    such an address is refused at sending time (it may change after registration)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port out of range
    except ValueError as exc:
        raise InvalidInput(f"not a valid URL: {exc}", field="url", rule="url") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            "the URL must be http:// or https:// with a host", field="url", rule="url"
        )
    if parts.username or parts.password:
        raise InvalidInput("put no credentials in the URL", field="url", rule="url_credentials")
    if port == 0:
        raise InvalidInput("the URL's port must be 1-65535", field="url", rule="url")
    if not allow_private and channels.literal_private_host(parts.hostname):
        raise InvalidInput(
            "the URL must name a public host, not a loopback, private or link-local one",
            field="url",
            rule="url_not_public",
        )
    return url


class NotificationService:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

    @property
    def settings(self) -> Settings:
        return self._settings

    # -- recipients ----------------------------------------------------------------------
    def org_posters(self, org_id: int) -> list[int]:
        """The people who act for a posting organisation: its posters and officials."""
        with self._sessions() as s:
            return list(
                s.scalars(
                    select(User.id)
                    .where(
                        User.org_id == org_id,
                        User.role.in_([str(r) for r in POSTING_ROLES]),
                        User.is_active.is_(True),
                    )
                    .order_by(User.id)
                )
            )

    # -- writing notifications -----------------------------------------------------------
    def notify(
        self,
        outbox_id: int,
        kind: Kind,
        user_ids: Iterable[int],
        values: dict[str, Any],
        link: str,
    ) -> list[int]:
        """Notify each user once about the event `outbox_id`; returns the new notifications."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return []
        text = render(kind, values)
        created: list[int] = []
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            done = set(
                s.scalars(
                    select(Notification.user_id).where(
                        Notification.outbox_id == outbox_id,
                        Notification.kind == str(kind),
                        Notification.user_id.in_(wanted),
                    )
                )
            )
            todo = [u for u in wanted if u not in done]
            if not todo:
                return []
            users = s.execute(
                select(User.id, User.email).where(User.id.in_(todo), User.is_active.is_(True))
            ).all()
            prefs: dict[int, Prefs] = {}
            for p in s.scalars(
                select(NotificationPreference).where(NotificationPreference.user_id.in_(todo))
            ):
                prefs.setdefault(p.user_id, {})[(p.channel, p.kind)] = p.enabled
            hooks: dict[int, list[int]] = {}
            for uid, hid in s.execute(
                select(WebhookEndpoint.user_id, WebhookEndpoint.id)
                .where(WebhookEndpoint.user_id.in_(todo), WebhookEndpoint.active.is_(True))
                .order_by(WebhookEndpoint.id)
            ):
                hooks.setdefault(uid, []).append(hid)
            for uid, email in users:
                p = prefs.get(uid, {})
                inbox = channel_enabled(p, Channel.INBOX, kind)
                send_mail = bool(self._settings.smtp_host) and channel_enabled(
                    p, Channel.EMAIL, kind
                )
                endpoints = hooks.get(uid, []) if channel_enabled(p, Channel.WEBHOOK, kind) else []
                if not (inbox or send_mail or endpoints):
                    continue
                n = Notification(
                    user_id=uid,
                    kind=str(kind),
                    outbox_id=outbox_id,
                    title_zh=text.title_zh[:400],
                    title_en=text.title_en[:400],
                    body_zh=text.body_zh,
                    body_en=text.body_en,
                    link=link,
                    inbox=inbox,
                )
                s.add(n)
                s.flush()
                queued: list[str] = []
                if send_mail:
                    s.add(NotificationDelivery(notification_id=n.id, channel="email", target=email))
                    queued.append("email")
                for hid in endpoints:
                    s.add(
                        NotificationDelivery(
                            notification_id=n.id,
                            channel="webhook",
                            target=str(hid),
                            endpoint_id=hid,
                        )
                    )
                if endpoints:
                    queued.append("webhook")
                uow.record(
                    actor_id=None,
                    entity="notification",
                    entity_id=n.id,
                    action="notify",
                    data={"kind": str(kind), "user_id": uid, "outbox_id": outbox_id},
                    event=NotificationQueued(
                        notification_id=n.id, user_id=uid, kind=str(kind), channels=queued
                    )
                    if queued
                    else None,
                )
                created.append(n.id)
            # A concurrent run of the same event fails here on the unique key; the retry
            # then finds its notifications and writes nothing.
            uow.commit()
        return created

    # -- sending -------------------------------------------------------------------------
    def deliver(self, notification_id: int) -> dict[str, int]:
        """Send what is pending for one notification. Raises DeliveryError if anything
        failed (after trying everything), so the job is retried; what was sent stays sent."""
        with self._sessions() as s:
            n = s.get(Notification, notification_id)
            if n is None:
                return {}
            user = s.get(User, n.user_id)
            language = user.language if user is not None else ""
            pending = [
                (d.id, d.channel, d.target, d.endpoint_id)
                for d in s.scalars(
                    select(NotificationDelivery)
                    .where(
                        NotificationDelivery.notification_id == notification_id,
                        NotificationDelivery.status.not_in(("sent", "cancelled")),
                    )
                    .order_by(NotificationDelivery.id)
                )
            ]
            s.expunge(n)
        outcome = {"sent": 0, "failed": 0, "skipped": 0}
        errors: list[str] = []
        for delivery_id, channel, target, endpoint_id in pending:
            claim = self._claim(delivery_id)
            if claim != "claimed":
                if claim == "busy":
                    errors.append(f"delivery {delivery_id} is being sent by another worker")
                outcome["skipped"] += 1
                continue
            if channel == "email" and not self._settings.smtp_host:
                # E-mail was turned off (MARKET_SMTP_HOST unset) after this was queued.
                self._finish(delivery_id, "cancelled", "e-mail is turned off")
                outcome["skipped"] += 1
                continue
            try:
                if channel == "email":
                    self._send_email(n, delivery_id, target, language)
                elif not self._send_webhook(n, delivery_id, endpoint_id, language):
                    self._finish(delivery_id, "cancelled", "the endpoint was deleted")
                    outcome["skipped"] += 1
                    continue
            except channels.RefusedTarget as exc:
                log.warning("notification %s delivery %s refused: %s", n.id, delivery_id, exc)
                self._finish(delivery_id, "cancelled", str(exc)[:2000])
                outcome["skipped"] += 1
            except channels.DeliveryError as exc:
                log.warning("notification %s delivery %s failed: %s", n.id, delivery_id, exc)
                self._finish(delivery_id, "retrying", str(exc)[:2000])
                errors.append(str(exc))
                outcome["failed"] += 1
            except Exception as exc:  # a bug: leave the delivery retryable, let the worker log it
                self._finish(delivery_id, "retrying", f"{type(exc).__name__}: {exc}"[:2000])
                raise
            else:
                self._finish(delivery_id, "sent", None)
                outcome["sent"] += 1
        if errors:
            raise channels.DeliveryError("; ".join(errors))
        return outcome

    def _claim(self, delivery_id: int) -> str:
        now = utcnow()
        with UnitOfWork(self._sessions) as uow:
            claimed = uow.session.execute(
                update(NotificationDelivery)
                .where(
                    NotificationDelivery.id == delivery_id,
                    or_(
                        NotificationDelivery.status.in_(("pending", "retrying")),
                        (NotificationDelivery.status == "sending")
                        & (NotificationDelivery.claimed_until < now),
                    ),
                )
                .values(
                    status="sending",
                    claimed_until=now + CLAIM_LEASE,
                    attempts=NotificationDelivery.attempts + 1,
                )
            ).rowcount
            if claimed == 1:
                uow.commit()
                return "claimed"
            status = uow.session.scalar(
                select(NotificationDelivery.status).where(NotificationDelivery.id == delivery_id)
            )
        return "busy" if status == "sending" else "done"

    def _finish(self, delivery_id: int, status: str, error: str | None) -> None:
        with UnitOfWork(self._sessions) as uow:
            values: dict[str, Any] = {"status": status, "claimed_until": None}
            if status == "sent":
                values["sent_at"] = utcnow()
            if error is not None:
                values["last_error"] = error
            uow.session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.id == delivery_id)
                .values(**values)
            )
            uow.commit()

    def public_link(self, link: str) -> str:
        base = self._settings.public_url or f"http://{self._settings.host}:{self._settings.port}"
        return base.rstrip("/") + link

    def email_text(self, n: Notification, language: str) -> tuple[str, str]:
        """Subject and body in the user's language; both, Chinese first, when unknown."""
        footer_zh = "此邮件由技术创新众包平台自动发送，可在“通知设置”中关闭。"
        footer_en = (
            "Sent by the R&D task marketplace. You can turn these e-mails off in your "
            "notification settings."
        )
        url = self.public_link(n.link)
        if language == "zh":
            return n.title_zh, f"{n.body_zh}\n\n查看详情：{url}\n\n--\n{footer_zh}\n"
        if language == "en":
            return n.title_en, f"{n.body_en}\n\nDetails: {url}\n\n--\n{footer_en}\n"
        return (
            f"{n.title_zh} / {n.title_en}",
            f"{n.body_zh}\n\n{n.body_en}\n\n查看详情 / Details: {url}\n\n--\n{footer_zh}\n{footer_en}\n",
        )

    def _send_email(self, n: Notification, delivery_id: int, to: str, language: str) -> None:
        subject, body = self.email_text(n, language)
        domain = self._settings.mail_from.rpartition("@")[2] or "rd-market.example"
        msg = channels.email_message(
            sender=self._settings.mail_from,
            to=to,
            subject=subject,
            body=body,
            message_id=f"<notification-{n.id}.{delivery_id}@{domain}>",
        )
        channels.send_email(
            self._settings.smtp_host,
            self._settings.smtp_port,
            msg,
            starttls=self._settings.smtp_starttls,
            username=self._settings.smtp_username,
            password=self._settings.smtp_password,
        )

    def webhook_body(self, n: Notification, language: str) -> bytes:
        doc = {
            "id": n.id,
            "type": n.kind,
            "created_at": n.created_at.isoformat(),
            "user_id": n.user_id,
            "language": language,
            "title_zh": n.title_zh,
            "title_en": n.title_en,
            "body_zh": n.body_zh,
            "body_en": n.body_en,
            "link": n.link,
            "url": self.public_link(n.link),
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    def _send_webhook(
        self, n: Notification, delivery_id: int, endpoint_id: int | None, language: str
    ) -> bool:
        with self._sessions() as s:
            endpoint = s.get(WebhookEndpoint, endpoint_id) if endpoint_id else None
            if endpoint is None or not endpoint.active:
                return False
            url, secret = endpoint.url, endpoint.secret
        connect_to = None
        if not self._settings.webhook_allow_private:
            parts = urlsplit(url)
            default_port = 443 if parts.scheme.lower() == "https" else 80
            connect_to = channels.public_address_of(
                parts.hostname or "", parts.port or default_port
            )
        headers = {"X-Market-Delivery": str(delivery_id), "X-Market-Event": n.kind}
        with httpx.Client(follow_redirects=False) as client:
            channels.post_webhook(
                client,
                url,
                secret,
                self.webhook_body(n, language),
                int(utcnow().timestamp()),
                headers,
                connect_to,
            )
        return True

    # -- reminders (the scheduler's scan) ------------------------------------------------
    def schedule_reminders(self, now: datetime | None = None) -> int:
        """Queue, once each, the bid-deadline reminder of every published task whose bidding
        closes within 24 h and the due-date reminder of every open milestone of an active
        contract due within 48 h. A moved deadline is a new deadline: it is reminded again."""
        now = now or utcnow()
        with self._sessions() as s:
            tasks = s.execute(
                select(Task.id, Task.bid_deadline).where(
                    Task.status == TaskStatus.PUBLISHED,
                    Task.bid_deadline > now,
                    Task.bid_deadline <= now + BID_DEADLINE_NOTICE,
                )
            ).all()
            milestones = s.execute(
                select(Milestone.id, Milestone.contract_id, Milestone.due)
                .join(Contract, Contract.id == Milestone.contract_id)
                .where(
                    Contract.status == ContractStatus.ACTIVE,
                    Milestone.status.in_([str(m) for m in OPEN_MILESTONES]),
                    Milestone.due > now,
                    Milestone.due <= now + MILESTONE_DUE_NOTICE,
                )
            ).all()
            due: list[tuple[str, str, int, Any]] = [
                (
                    f"bid_deadline:{tid}:{int(at.timestamp())}",
                    "task",
                    tid,
                    BidDeadlineApproaching(task_id=tid, bid_deadline=at.isoformat()),
                )
                for tid, at in tasks
            ] + [
                (
                    f"milestone_due:{mid}:{int(at.timestamp())}",
                    "milestone",
                    mid,
                    MilestoneDueSoon(contract_id=cid, milestone_id=mid, due=at.isoformat()),
                )
                for mid, cid, at in milestones
            ]
            if not due:
                return 0
            sent = set(
                s.scalars(
                    select(ScheduledReminder.key).where(
                        ScheduledReminder.key.in_([d[0] for d in due])
                    )
                )
            )
        queued = 0
        for key, entity, entity_id, event in due:
            if key in sent:
                continue
            with UnitOfWork(self._sessions) as uow:
                uow.session.add(ScheduledReminder(key=key))
                uow.record(
                    actor_id=None,
                    entity=f"{entity}_reminder",
                    entity_id=entity_id,
                    action="remind",
                    data={"key": key},
                    event=event,
                )
                try:
                    uow.commit()
                except IntegrityError:  # another scheduler queued it first
                    continue
            queued += 1
        return queued

    # -- the inbox -----------------------------------------------------------------------
    def inbox(
        self, user: CurrentUser, unread: bool | None, page: int, page_size: int
    ) -> NotificationPage:
        page_size = min(page_size, self._settings.max_page_size)
        mine = (Notification.user_id == user.id) & Notification.inbox.is_(True)
        with self._sessions() as s:
            stmt = select(Notification).where(mine)
            count = select(func.count()).select_from(Notification).where(mine)
            if unread is True:
                stmt = stmt.where(Notification.read_at.is_(None))
                count = count.where(Notification.read_at.is_(None))
            elif unread is False:
                stmt = stmt.where(Notification.read_at.is_not(None))
                count = count.where(Notification.read_at.is_not(None))
            total = s.scalar(count) or 0
            unread_count = (
                s.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(mine, Notification.read_at.is_(None))
                )
                or 0
            )
            rows = s.scalars(
                stmt.order_by(Notification.id.desc())
                .offset((page - 1) * page_size)
                .limit(page_size)
            ).all()
            return NotificationPage(
                items=[notification_out(n, user.language) for n in rows],
                total=total,
                unread=unread_count,
                page=page,
                page_size=page_size,
            )

    def mark_read(self, user: CurrentUser, notification_id: int) -> NotificationOut:
        with UnitOfWork(self._sessions) as uow:
            n = uow.session.scalar(
                select(Notification).where(Notification.id == notification_id).with_for_update()
            )
            # Someone else's notification does not exist, as far as the caller can tell.
            if n is None or n.user_id != user.id or not n.inbox:
                raise NotFound("no such notification", field="notification_id")
            if n.read_at is None:
                n.read_at = utcnow()
                uow.commit()
            return notification_out(n, user.language)

    def mark_all_read(self, user: CurrentUser) -> int:
        with UnitOfWork(self._sessions) as uow:
            marked = uow.session.execute(
                update(Notification)
                .where(
                    Notification.user_id == user.id,
                    Notification.inbox.is_(True),
                    Notification.read_at.is_(None),
                )
                .values(read_at=utcnow())
            ).rowcount
            uow.commit()
            return int(marked or 0)

    # -- preferences ---------------------------------------------------------------------
    def preferences(self, user: CurrentUser) -> PreferencesOut:
        with self._sessions() as s:
            return self._preferences_out(s, user.id)

    @staticmethod
    def _preferences_out(s: Session, user_id: int) -> PreferencesOut:
        rows = s.scalars(
            select(NotificationPreference)
            .where(NotificationPreference.user_id == user_id)
            .order_by(NotificationPreference.channel, NotificationPreference.kind)
        ).all()
        prefs: Prefs = {(p.channel, p.kind): p.enabled for p in rows}
        return PreferencesOut(
            preferences=[PreferenceOut(p.channel, p.kind, p.enabled) for p in rows],
            effective=[
                EffectiveOut(
                    kind=str(k),
                    inbox=channel_enabled(prefs, Channel.INBOX, k),
                    email=channel_enabled(prefs, Channel.EMAIL, k),
                    webhook=channel_enabled(prefs, Channel.WEBHOOK, k),
                )
                for k in Kind
            ],
        )

    def set_preferences(self, user: CurrentUser, data: PreferencesInput) -> PreferencesOut:
        seen: set[tuple[str, str]] = set()
        for i, p in enumerate(data.preferences):
            key = (str(p.channel), p.kind)
            if key in seen:
                raise InvalidInput(
                    f"channel {p.channel!s} and kind {p.kind} are given twice",
                    field=f"preferences[{i}]",
                    rule="duplicate",
                )
            seen.add(key)
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            for old in s.scalars(
                select(NotificationPreference).where(NotificationPreference.user_id == user.id)
            ):
                s.delete(old)
            s.flush()
            for p in data.preferences:
                s.add(
                    NotificationPreference(
                        user_id=user.id, channel=str(p.channel), kind=p.kind, enabled=p.enabled
                    )
                )
            s.flush()
            uow.record(
                actor_id=user.id,
                entity="notification_preferences",
                entity_id=user.id,
                action="replace",
                data={
                    "preferences": [
                        {"channel": str(p.channel), "kind": p.kind, "enabled": p.enabled}
                        for p in data.preferences
                    ]
                },
            )
            uow.commit()
            return self._preferences_out(s, user.id)

    # -- webhook endpoints ---------------------------------------------------------------
    def webhooks(self, user: CurrentUser) -> list[WebhookOut]:
        with self._sessions() as s:
            return [
                webhook_out(w)
                for w in s.scalars(
                    select(WebhookEndpoint)
                    .where(WebhookEndpoint.user_id == user.id, WebhookEndpoint.active.is_(True))
                    .order_by(WebhookEndpoint.id)
                )
            ]

    def add_webhook(self, user: CurrentUser, data: WebhookInput) -> WebhookOut:
        url = check_webhook_url(data.url, allow_private=self._settings.webhook_allow_private)
        secret = "whsec_" + secrets.token_hex(24)
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            # Lock the user's row: two concurrent creations cannot both pass the limit.
            s.scalar(select(User.id).where(User.id == user.id).with_for_update())
            active = s.scalar(
                select(func.count())
                .select_from(WebhookEndpoint)
                .where(WebhookEndpoint.user_id == user.id, WebhookEndpoint.active.is_(True))
            )
            if (active or 0) >= MAX_WEBHOOKS_PER_USER:
                raise Conflict(
                    f"at most {MAX_WEBHOOKS_PER_USER} webhook endpoints per user",
                    field="url",
                    rule="too_many_webhooks",
                )
            w = WebhookEndpoint(
                user_id=user.id, url=url, secret=secret, description=data.description
            )
            s.add(w)
            s.flush()
            uow.record(
                actor_id=user.id,
                entity="webhook_endpoint",
                entity_id=w.id,
                action="create",
                to_state="active",
                data={"url": url},
            )
            uow.commit()
            return webhook_out(w, secret)

    def delete_webhook(self, user: CurrentUser, webhook_id: int) -> None:
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            w = s.scalar(
                select(WebhookEndpoint).where(WebhookEndpoint.id == webhook_id).with_for_update()
            )
            if w is None or w.user_id != user.id or not w.active:
                raise NotFound("no such webhook endpoint", field="webhook_id")
            w.active = False
            w.deleted_at = utcnow()
            uow.record(
                actor_id=user.id,
                entity="webhook_endpoint",
                entity_id=w.id,
                action="delete",
                from_state="active",
                to_state="deleted",
            )
            uow.commit()

    # -- reading the world, for the handlers ---------------------------------------------
    def load(self, model: type[Any], key: int) -> Any:
        """One row, detached; NotFound (which the worker does not retry) when it is gone."""
        with self._sessions() as s:
            row = s.get(model, key)
            if row is None:
                raise NotFound(f"no {model.__tablename__} row {key}")
            s.expunge(row)
            return row

    def waiting_bidders(self, task_id: int) -> list[int]:
        """Solvers whose bid on the task awaits a decision (not the awarded one: a
        cancelled contract tells its solver itself)."""
        waiting = [str(BidStatus.SUBMITTED), str(BidStatus.SHORTLISTED)]
        with self._sessions() as s:
            return list(
                s.scalars(
                    select(Bid.solver_id)
                    .where(Bid.task_id == task_id, Bid.status.in_(waiting))
                    .order_by(Bid.solver_id)
                )
            )

    def live_bid_count(self, task_id: int) -> int:
        with self._sessions() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(Bid)
                    .where(Bid.task_id == task_id, Bid.status.in_(LIVE_BID_STATUSES))
                )
                or 0
            )
