"""Notifications through the HTTP API, on SQLite and PostgreSQL: who hears what, in which
language, once; the inbox; preferences; deadline reminders."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from dramatiq.brokers.stub import StubBroker
from sqlalchemy import Engine, delete, func, select

from market.jobs import JobContext
from market.notifications.models import Notification
from market.notifications.tasks import bid_declined
from market.outbox.dispatch import drain, run_handler
from market.outbox.models import OutboxDelivery
from tests.helpers import Api, in_days
from tests.market.notifications.conftest import Mailbox
from tests.market.notifications.helpers import (
    TASK_EN,
    TASK_ZH,
    colleague,
    english_solver,
    inbox,
    kinds,
    last_event,
)
from workers.actors import Actors
from workers.runtime import Scheduler

POSTER_SIDE = {
    "bid_placed": 2,
    "milestone_funded": 2,
    "milestone_submitted": 2,
    "dispute_opened": 1,
    "dispute_resolved": 1,
    "milestone_refunded": 1,
}
WINNER = {
    "bid_shortlisted": 1,
    "contract_awarded": 1,
    "contract_funded": 1,
    "milestone_accepted": 1,
    "milestone_released": 2,
    "milestone_ready": 1,
    "dispute_opened": 1,
    "dispute_resolved": 1,
}


def test_the_loop_notifies_the_right_people_in_their_language(api: Api, mailbox: Mailbox) -> None:
    c = api.c
    admin = api.admin()
    poster = api.poster("海工")  # Chinese
    partner = colleague(api, admin, poster, "en", "Jane Poster")  # same enterprise, English
    winner = english_solver(api, "Dr Smith")
    loser = api.solver("刘博士")  # Chinese
    outsider = api.solver("旁观者")

    task = api.published_task(poster)
    b1 = api.bid(winner, task["id"], price=40_000_000, parts=2)
    b2 = api.bid(loser, task["id"], price=45_000_000, parts=2)
    assert c.post(f"/bids/{b1['id']}/shortlist", headers=poster.headers).status_code == 200
    r = c.post(
        f"/bids/{b2['id']}/decline",
        json={"reason": "报价过高 / price too high"},
        headers=poster.headers,
    )
    assert r.status_code == 200
    r = c.post(f"/bids/{b1['id']}/award", json={"accept_terms": True}, headers=poster.headers)
    contract = r.json()
    cid = contract["id"]
    r = c.post(f"/contracts/{cid}/accept", json={"accept_terms": True}, headers=winner.headers)
    assert r.status_code == 200, r.text
    m1, m2 = contract["milestones"]
    assert api.submit(winner, cid, m1["id"]).status_code == 201
    r = c.post(f"/contracts/{cid}/milestones/{m1['id']}/accept", headers=poster.headers)
    assert r.status_code == 200
    assert api.submit(winner, cid, m2["id"]).status_code == 201
    r = c.post(
        f"/contracts/{cid}/milestones/{m2['id']}/disputes",
        json={"reason": "盐雾数据不全"},
        headers=poster.headers,
    )
    dispute = r.json()
    r = c.post(
        f"/admin/disputes/{dispute['id']}/resolve",
        json={"outcome": "split", "solver_share_pct": 60},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text

    # Who heard what.
    assert Counter(kinds(api, poster)) == POSTER_SIDE
    assert Counter(kinds(api, partner)) == POSTER_SIDE
    assert Counter(kinds(api, winner)) == WINNER
    assert kinds(api, loser) == ["bid_declined"]
    assert kinds(api, outsider) == []
    assert kinds(api, admin) == []

    # In which language: both are kept; `title` and `body` are the reader's.
    awarded = next(n for n in inbox(api, winner)["items"] if n["kind"] == "contract_awarded")
    assert awarded["title"] == awarded["title_en"] == f"You won “{TASK_EN}”"
    assert awarded["title_zh"] == f"恭喜！您中标了「{TASK_ZH}」"
    assert "¥400,000.00" in awarded["body"] and "¥400,000.00" in awarded["body_zh"]
    assert awarded["link"] == f"/contracts/{cid}"
    assert c.get(awarded["link"], headers=winner.headers).status_code == 200
    (declined,) = inbox(api, loser)["items"]
    assert declined["title"] == f"您对「{TASK_ZH}」的投标未被采纳"
    assert (
        declined["body"]
        == f"发布方未采纳您对任务「{TASK_ZH}」的投标。理由：报价过高 / price too high"
    )
    assert declined["link"] == f"/bids/{b2['id']}"
    resolved = next(n for n in inbox(api, poster)["items"] if n["kind"] == "dispute_resolved")
    m2_amount = m2["amount_minor"]
    to_solver = m2_amount * 60 // 100
    assert "按比例分配" in resolved["body"]
    assert f"¥{to_solver // 100:,}.{to_solver % 100:02d}" in resolved["body"]

    # The same, by e-mail, in each reader's language, UTF-8 intact.
    for actor, language in ((poster, "zh"), (partner, "en"), (winner, "en"), (loser, "zh")):
        mails = mailbox.to(actor.email)
        notes = inbox(api, actor)["items"]
        assert len(mails) == len(notes), actor.email
        assert Counter(m["Subject"] for m in mails) == Counter(
            n[f"title_{language}"] for n in notes
        )
    (mail,) = mailbox.to(loser.email)
    assert mail["Subject"] == f"您对「{TASK_ZH}」的投标未被采纳"
    body = mail.get_content()
    assert "理由：报价过高 / price too high" in body
    assert f"查看详情：https://market.example/bids/{b2['id']}" in body
    assert mail.get_content_charset() == "utf-8"
    english = [m for m in mailbox.to(winner.email) if m["Subject"] == f"You won “{TASK_EN}”"]
    assert len(english) == 1
    assert "Your bid on" in english[0].get_content() and TASK_ZH not in english[0].get_content()
    assert all(m["From"] == api.jobs.settings.mail_from for m in mailbox.messages)


def test_a_redelivered_event_notifies_nobody_twice(
    api: Api, engine: Engine, jobs: JobContext, mailbox: Mailbox
) -> None:
    c = api.c
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster)
    bid = api.bid(solver, task["id"])
    r = c.post(f"/bids/{bid['id']}/decline", json={"reason": "预算不足"}, headers=poster.headers)
    assert r.status_code == 200
    oid, payload = last_event(engine, "BidDeclined")

    # The broker delivers the message again and the handler's delivery row is gone (a crash
    # between the handler's work and its bookkeeping): the notification is not written twice.
    handler = "notifications.bid_declined"
    with engine.begin() as conn:
        conn.execute(
            delete(OutboxDelivery).where(
                OutboxDelivery.outbox_id == oid, OutboxDelivery.handler == handler
            )
        )
    assert run_handler(jobs, oid, handler) == "done"
    assert run_handler(jobs, oid, handler) == "duplicate"
    # The handler itself, called twice with the same event.
    bid_declined(jobs, {**payload, "_outbox_id": oid})
    bid_declined(jobs, {**payload, "_outbox_id": oid})
    drain(jobs)

    assert kinds(api, solver) == ["bid_declined"]
    with engine.connect() as conn:
        count = conn.scalar(
            select(func.count()).select_from(Notification).where(Notification.outbox_id == oid)
        )
    assert count == 1
    assert len(mailbox.to(solver.email)) == 1

    # The e-mail job delivered again: its delivery row says sent, so no second e-mail.
    qid, _ = last_event(engine, "NotificationQueued")
    with engine.begin() as conn:
        conn.execute(delete(OutboxDelivery).where(OutboxDelivery.outbox_id == qid))
    assert run_handler(jobs, qid, "notifications.deliver") == "done"
    assert len(mailbox.to(solver.email)) == 1


def test_preferences_turn_channels_off(api: Api, mailbox: Mailbox) -> None:
    c = api.c
    poster, solver = api.poster(), api.solver()
    r = c.get("/me/notification-preferences", headers=solver.headers)
    assert r.status_code == 200
    assert r.json()["preferences"] == []
    assert all(e["inbox"] and e["email"] and e["webhook"] for e in r.json()["effective"])

    # No e-mail at all, except shortlists; no inbox entry for declines.
    prefs = [
        {"channel": "email", "kind": "*", "enabled": False},
        {"channel": "email", "kind": "bid_shortlisted", "enabled": True},
        {"channel": "inbox", "kind": "bid_declined", "enabled": False},
    ]
    r = c.put("/me/notification-preferences", json={"preferences": prefs}, headers=solver.headers)
    assert r.status_code == 200, r.text
    effective = {e["kind"]: e for e in r.json()["effective"]}
    assert effective["bid_declined"] == {
        "kind": "bid_declined",
        "inbox": False,
        "email": False,
        "webhook": True,
    }
    assert effective["bid_shortlisted"]["email"] is True
    assert effective["contract_awarded"]["email"] is False
    assert effective["contract_awarded"]["inbox"] is True
    assert c.get("/me/notification-preferences", headers=solver.headers).json() == r.json()

    t1, t2 = api.published_task(poster), api.published_task(poster)
    b1, b2 = api.bid(solver, t1["id"]), api.bid(solver, t2["id"])
    assert c.post(f"/bids/{b1['id']}/shortlist", headers=poster.headers).status_code == 200
    r = c.post(f"/bids/{b2['id']}/decline", json={"reason": "不合适"}, headers=poster.headers)
    assert r.status_code == 200
    assert kinds(api, solver) == ["bid_shortlisted"]
    assert [m["Subject"] for m in mailbox.to(solver.email)] == [f"您对「{TASK_ZH}」的投标已入围"]
    # Other people's preferences are their own: the poster still gets everything.
    assert kinds(api, poster) == ["bid_placed", "bid_placed"]
    assert len(mailbox.to(poster.email)) == 2

    # Bad input: a problem naming the field, nothing changed.
    bad = [
        ({"preferences": [{"channel": "sms", "kind": "*", "enabled": False}]}, 400,
         "preferences[0].channel", "enum"),
        ({"preferences": [{"channel": "email", "kind": "gossip", "enabled": False}]}, 400,
         "preferences[0].kind", "pattern"),
        ({"preferences": [prefs[0], prefs[0]]}, 422, "preferences[1]", "duplicate"),
        ({"preferences": [], "mute": True}, 400, "mute", "unknown_field"),
        ({"preferences": [{"channel": "email", "kind": "*"}]}, 400,
         "preferences[0].enabled", "required"),
    ]  # fmt: skip
    for body, status, field, rule in bad:
        r = c.put("/me/notification-preferences", json=body, headers=solver.headers)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (r.json()["errors"][0]["field"], r.json()["errors"][0]["rule"]) == (field, rule)
    assert (
        len(c.get("/me/notification-preferences", headers=solver.headers).json()["preferences"])
        == 3
    )

    # The empty set puts every channel back on.
    r = c.put("/me/notification-preferences", json={"preferences": []}, headers=solver.headers)
    assert all(e["inbox"] and e["email"] for e in r.json()["effective"])


def test_inbox_pages_filters_and_marks_read(api: Api) -> None:
    c = api.c
    poster, other = api.poster(), api.poster()
    task = api.published_task(poster)
    for _ in range(3):
        api.bid(api.solver(), task["id"])

    page = inbox(api, poster, page_size=2)
    assert (page["total"], page["unread"], page["page"], page["page_size"]) == (3, 3, 1, 2)
    first, second = page["items"]
    assert first["id"] > second["id"]  # newest first
    assert [n["id"] for n in inbox(api, poster, page_size=2, page=2)["items"]] == [
        min(n["id"] for n in inbox(api, poster)["items"])
    ]
    assert inbox(api, poster, page=3, page_size=2)["items"] == []

    r = c.post(f"/notifications/{second['id']}/read", headers=poster.headers)
    assert r.status_code == 200 and r.json()["read"] is True
    read_at = r.json()["read_at"]
    again = c.post(f"/notifications/{second['id']}/read", headers=poster.headers).json()
    assert again["read_at"] == read_at  # reading twice changes nothing
    assert inbox(api, poster, unread="true")["total"] == 2
    assert [n["id"] for n in inbox(api, poster, unread="false")["items"]] == [second["id"]]
    assert inbox(api, poster)["unread"] == 2

    # Someone else's notification, or none at all: 404, as if it did not exist.
    for nid in (first["id"], 10**9):
        r = c.post(f"/notifications/{nid}/read", headers=other.headers)
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "notification_id"
    assert inbox(api, poster, unread="true")["total"] == 2

    r = c.post("/notifications/read-all", headers=poster.headers)
    assert r.status_code == 200 and r.json() == {"marked": 2}
    assert inbox(api, poster, unread="true")["total"] == 0
    assert c.post("/notifications/read-all", headers=poster.headers).json() == {"marked": 0}

    for params, field in (({"page_size": 0}, "page_size"), ({"unread": "maybe"}, "unread")):
        r = c.get("/notifications", params=params, headers=poster.headers)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == field
    assert c.get("/notifications").status_code == 401


def test_deadline_reminders_are_sent_once(api: Api, jobs: JobContext, mailbox: Mailbox) -> None:
    poster, solver = api.poster(), api.solver()
    closing = api.published_task(poster, bid_deadline=in_days(0.5))
    api.published_task(poster)  # closes in 20 days: not yet

    # The scheduler's periodic scan queues it (through the outbox).
    Scheduler(jobs, Actors(StubBroker(), jobs)).scan()
    drain(jobs)
    assert jobs.notifications.schedule_reminders() == 0  # keyed: queued once
    drain(jobs)
    (reminder,) = inbox(api, poster)["items"]
    assert reminder["kind"] == "bid_deadline_soon"
    assert reminder["title"] == f"「{TASK_ZH}」的投标将在 24 小时内截止"
    assert "目前已收到 0 份投标" in reminder["body"] and "北京时间" in reminder["body"]
    assert reminder["link"] == f"/tasks/{closing['id']}/bids"

    # 48 hours before a milestone of an active contract is due, its solver is reminded.
    contract = api.contract(poster, solver)
    m1 = contract["milestones"][0]
    now = datetime.fromisoformat(m1["due"]) - timedelta(hours=47)
    assert jobs.notifications.schedule_reminders(now=now) == 1
    drain(jobs)
    assert jobs.notifications.schedule_reminders(now=now + timedelta(hours=1)) == 0
    drain(jobs)
    due_soon = [n for n in inbox(api, solver)["items"] if n["kind"] == "milestone_due_soon"]
    assert len(due_soon) == 1
    assert due_soon[0]["title"] == f"「{TASK_ZH}」第 1 期将在 48 小时内到期"
    assert m1["title"] in due_soon[0]["body"]
    assert len([m for m in mailbox.to(solver.email) if "48" in m["Subject"]]) == 1


def test_cancellations_tell_the_bidders_and_the_solver(api: Api, mailbox: Mailbox) -> None:
    c = api.c
    poster = api.poster("海工")
    waiting, shortlisted, withdrawn = api.solver("甲"), api.solver("乙"), api.solver("丙")
    task = api.published_task(poster)
    api.bid(waiting, task["id"])
    bid = api.bid(shortlisted, task["id"])
    assert c.post(f"/bids/{bid['id']}/shortlist", headers=poster.headers).status_code == 200
    gone = api.bid(withdrawn, task["id"])
    assert c.post(f"/bids/{gone['id']}/withdraw", headers=withdrawn.headers).status_code == 200
    r = c.post(f"/tasks/{task['id']}/cancel", json={"reason": "预算调整"}, headers=poster.headers)
    assert r.status_code == 200, r.text

    for solver in (waiting, shortlisted):
        note = next(n for n in inbox(api, solver)["items"] if n["kind"] == "task_cancelled")
        assert note["title"] == f"您投标的任务「{TASK_ZH}」已取消"
        assert "理由：预算调整" in note["body"]
        assert note["link"] == f"/tasks/{task['id']}"
    assert "task_cancelled" not in kinds(api, withdrawn)
    assert kinds(api, poster).count("task_cancelled") == 0

    # A contract the poster cancels: its solver hears it once, in their language, and is
    # not also told "the task you bid on was cancelled".
    solver = english_solver(api, "Dr Smith")
    contract = api.contract(poster, solver)
    r = c.post(
        f"/contracts/{contract['id']}/cancel",
        json={"reason": "项目终止 / project stopped"},
        headers=poster.headers,
    )
    assert r.status_code == 200, r.text
    got = kinds(api, solver)
    assert got.count("contract_cancelled") == 1
    assert "task_cancelled" not in got
    note = next(n for n in inbox(api, solver)["items"] if n["kind"] == "contract_cancelled")
    assert note["title"] == f"The poster cancelled the contract for “{TASK_EN}”"
    assert "Reason: 项目终止 / project stopped" in note["body"]
    (mail,) = [m for m in mailbox.to(solver.email) if m["Subject"] == note["title"]]
    assert "project stopped" in mail.get_content()
