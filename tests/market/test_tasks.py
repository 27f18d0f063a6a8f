from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from market.audit.models import AuditEntry
from market.bids.models import Bid, BidMilestone
from market.outbox.models import OutboxEvent
from tests.helpers import Api, bid_payload, in_days, task_payload


def test_listing_filters_sort_and_pagination(api: Api) -> None:
    c = api.c
    poster = api.poster()
    a = api.published_task(
        poster,
        industry="new_materials",
        district="tongzhou_bay",
        zone=None,
        budget_minor=10_000_000,
        required_skills=["石墨烯", "thermal management"],
        trl_current=2,
        trl_target=4,
    )
    b = api.published_task(
        poster,
        industry="biomedicine",
        district="haimen",
        zone=None,
        budget_minor=80_000_000,
        required_skills=["制剂", "sustained release"],
        title_en="Sustained-release formulation",
        title_zh="缓释制剂开发",
    )
    d = api.published_task(
        poster,
        industry="new_materials",
        district="haimen",
        zone=None,
        budget_minor=30_000_000,
        required_skills=["Graphene"],
        trl_current=5,
        trl_target=7,
    )
    draft = c.post("/tasks", json=task_payload(), headers=poster.headers).json()

    def ids(query: str, **kw: Any) -> list[int]:
        r = c.get(f"/tasks?{query}", **kw)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert draft["id"] not in ids("")
    assert sorted(ids("industry=new_materials")) == sorted([a["id"], d["id"]])
    assert ids("district=haimen&industry=new_materials") == [d["id"]]
    # Skills match case- and space-insensitively.
    assert ids("skill=graphene") == [d["id"]]
    assert ids("skill=石墨烯") == [a["id"]]
    assert ids("min_budget=20000000&max_budget=50000000") == [d["id"]]
    assert ids("trl=2") == [a["id"]]
    assert ids("q=缓释") == [b["id"]]
    assert ids("q=sustained") == [b["id"]]
    assert ids("sort=-budget") == [b["id"], d["id"], a["id"]]
    assert ids("sort=budget") == [a["id"], d["id"], b["id"]]
    page = c.get("/tasks?sort=budget&page=2&page_size=2").json()
    assert page["total"] == 3 and [t["id"] for t in page["items"]] == [b["id"]]
    # The caller's own organisation's tasks, drafts included.
    assert draft["id"] in ids("mine=true", headers=poster.headers)
    # Listings never carry the confidential description.
    assert "description_zh" not in c.get("/tasks").json()["items"][0]


def test_edits_are_refused_once_bids_would_be_hurt(api: Api) -> None:
    c = api.c
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster, budget_minor=50_000_000)
    # Before any bid, the budget may go down.
    r = c.patch(f"/tasks/{task['id']}", json={"budget_minor": 40_000_000}, headers=poster.headers)
    assert r.status_code == 200 and r.json()["budget_minor"] == 40_000_000
    api.bid(solver, task["id"])
    r = c.patch(f"/tasks/{task['id']}", json={"budget_minor": 30_000_000}, headers=poster.headers)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "budget_minor"
    r = c.patch(f"/tasks/{task['id']}", json={"bid_deadline": in_days(5)}, headers=poster.headers)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "bid_deadline"
    r = c.patch(f"/tasks/{task['id']}", json={"ip_terms": "assign"}, headers=poster.headers)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "ip_terms"
    # Raising the budget, extending the deadline and clarifying the text are fine.
    r = c.patch(
        f"/tasks/{task['id']}",
        json={
            "budget_minor": 60_000_000,
            "bid_deadline": in_days(30),
            "summary_en": "Clarified scope.",
        },
        headers=poster.headers,
    )
    assert r.status_code == 200, r.text
    assert c.get(f"/tasks/{task['id']}").json()["summary_en"] == "Clarified scope."


def test_close_bidding_and_cancel(api: Api) -> None:
    c = api.c
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster)
    r = c.post(f"/tasks/{task['id']}/close-bidding", headers=poster.headers)
    assert r.status_code == 200 and r.json()["status"] == "bidding_closed"
    r = c.post(f"/tasks/{task['id']}/bids", json=bid_payload(), headers=solver.headers)
    assert r.status_code == 409 and r.json()["errors"][0]["rule"] == "bidding_closed"
    r = c.post(f"/tasks/{task['id']}/cancel", json={"reason": "需求变更"}, headers=poster.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert c.post(f"/tasks/{task['id']}/publish", headers=poster.headers).status_code == 409


def test_attachment_limits(api: Api) -> None:
    c = api.c
    poster = api.poster()
    task = c.post("/tasks", json=task_payload(), headers=poster.headers).json()
    url = f"/tasks/{task['id']}/attachments"
    r = c.post(
        url,
        files={"data": ("run.exe", b"MZ...", "application/x-msdownload")},
        headers=poster.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "content_type"
    r = c.post(url, files={"data": ("empty.pdf", b"", "application/pdf")}, headers=poster.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "non_empty"
    big = b"x" * (c.app.state["settings"].max_attachment_bytes + 1)
    r = c.post(url, files={"data": ("big.pdf", big, "application/pdf")}, headers=poster.headers)
    assert r.status_code in (413, 422)
    r = c.post(
        url, files={"data": ("规格书.pdf", b"%PDF ok", "application/pdf")}, headers=poster.headers
    )
    assert r.status_code == 201
    got = c.get(f"{url}/{r.json()['id']}", headers=poster.headers)
    assert got.content == b"%PDF ok" and "UTF-8''%E8%A7%84" in got.headers["content-disposition"]


def test_an_official_posts_for_their_own_district_only(api: Api) -> None:
    admin = api.admin()
    official = api.official(admin, district="haimen")
    r = api.c.post(
        "/tasks", json=task_payload(district="qidong", zone=None), headers=official.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "district"
    task = api.published_task(
        official, district="haimen", zone="haimen_biomedicine", industry="biomedicine"
    )
    r = api.c.patch(f"/tasks/{task['id']}", json={"district": "rudong"}, headers=official.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "own_district"


def test_broad_listings_stop_counting_at_the_cap(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("market.tasks.service.COUNT_CAP", 2)
    poster = api.poster()
    for _ in range(3):
        api.published_task(poster)
    page = api.c.get("/tasks?page_size=1").json()
    assert (page["total"], page["total_is_exact"]) == (2, False)
    page = api.c.get("/tasks?page_size=1&page=3").json()
    assert len(page["items"]) == 1  # the pages themselves are not capped
    exact = api.c.get("/tasks?industry=biomedicine").json()
    assert (exact["total"], exact["total_is_exact"]) == (0, True)


def test_text_search_matches_substrings_the_same_on_every_backend(api: Api) -> None:
    """`q` is a substring of a title or summary: case-sensitive in the Chinese fields,
    case-insensitive in the English ones. PostgreSQL answers through its n-gram index
    (market/tasks/text_search.py), SQLite with LIKE alone: the same answers."""
    poster = api.poster()
    a = api.published_task(
        poster,
        title_zh="缓释制剂开发",
        title_en="Sustained-release formulation",
        summary_zh="口服缓释片的工艺放大。",
        summary_en="Scale-up of 100% oral_tablets, Phase II.",
    )
    b = api.published_task(poster, title_zh="机器视觉检测", title_en="Machine vision QA")
    closed = api.published_task(poster, title_zh="缓释微球", title_en="Microspheres")
    r = api.c.post(f"/tasks/{closed['id']}/close-bidding", headers=poster.headers)
    assert r.status_code == 200

    def ids(q: str, **params: Any) -> set[int]:
        r = api.c.get("/tasks", params={"q": q, **params})
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["items"]}

    assert ids("缓释") == {a["id"]}  # two characters: a bigram
    assert ids("缓释制剂") == {a["id"]}  # trigrams
    assert ids("SUSTAINED-rel") == {a["id"]}  # English: any case, punctuation kept
    assert ids("100% oral_t") == {a["id"]}  # LIKE's wildcards are plain characters
    assert ids("100%% oral") == set()
    assert ids("Phase  II") == set()  # no stray n-grams: the characters in order
    assert ids("视觉检") == {b["id"]}
    assert ids("视觉检测机") == set()
    assert ids("formulation 口服") == set()  # nor across two fields
    assert ids("检") == {b["id"]}  # one character: LIKE alone
    assert ids("  机器视觉  ") == {b["id"]}
    assert ids("microSPHERES") == set()  # bidding closed: not in the public listing
    assert ids("缓释微", status="bidding_closed") == {closed["id"]}


def test_placing_a_bid_writes_its_rows_audit_and_event(api: Api, engine: Engine) -> None:
    # PostgreSQL writes a bid in one statement, SQLite with separate INSERTs: the rows must
    # be the same on both (three milestones: more than one row from the arrays, in order).
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster)
    body = bid_payload(price=30_000_001, parts=3)
    r = api.c.post(f"/tasks/{task['id']}/bids", json=body, headers=solver.headers)
    assert r.status_code == 201, r.text
    bid = r.json()
    with Session(engine) as s:
        row = s.execute(select(Bid).where(Bid.id == bid["id"])).scalar_one()
        assert (row.task_id, row.solver_id, row.status, row.price_minor) == (
            task["id"],
            bid["solver_id"],
            "submitted",
            30_000_001,
        )
        assert row.team_members == body["team_members"]
        assert row.created_at == row.updated_at
        milestones = s.execute(
            select(BidMilestone).where(BidMilestone.bid_id == bid["id"]).order_by(BidMilestone.seq)
        ).scalars()
        assert [(m.seq, m.title, m.deliverable, m.amount_minor, m.due) for m in milestones] == [
            (
                i + 1,
                m["title"],
                m["deliverable"],
                m["amount_minor"],
                datetime.fromisoformat(m["due"]),
            )
            for i, m in enumerate(body["milestones"])
        ]
        audit = s.execute(
            select(AuditEntry).where(AuditEntry.entity == "bid", AuditEntry.entity_id == bid["id"])
        ).scalar_one()
        assert (audit.actor_id, audit.action, audit.from_state, audit.to_state, audit.data) == (
            bid["solver_id"],
            "place",
            None,
            "submitted",
            {},
        )
        # Written with the bid (SQLite's path takes its own clock reading a moment later).
        assert timedelta(0) <= audit.at - row.created_at < timedelta(seconds=5)
        event = s.execute(
            select(OutboxEvent).where(
                OutboxEvent.event_type == "BidPlaced", OutboxEvent.aggregate_id == bid["id"]
            )
        ).scalar_one()
        assert event.aggregate == "bid"
        assert event.payload == {
            "bid_id": bid["id"],
            "task_id": task["id"],
            "solver_id": bid["solver_id"],
            "price_minor": 30_000_001,
        }
        assert timedelta(0) <= event.created_at - row.created_at < timedelta(seconds=5)


def test_bid_placement_answers_token_then_role_then_task(api: Api) -> None:
    # The token is checked by the statement that locks the task; when it finds no row, the
    # answer must still be what checking the token first gives: 401, then 403, then 404.
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster)
    missing = task["id"] + 10_000
    wrong = {"Authorization": "Bearer not-a-token"}

    def status(task_id: int, headers: dict[str, str]) -> tuple[int, str | None]:
        r = api.c.post(f"/tasks/{task_id}/bids", json=bid_payload(), headers=headers)
        errors = r.json().get("errors") or [{}]
        return r.status_code, errors[0].get("field")

    assert status(task["id"], wrong) == (401, "Authorization")
    assert status(missing, wrong) == (401, "Authorization")
    assert status(missing, poster.headers) == (403, None)
    assert status(task["id"], poster.headers) == (403, None)
    assert status(missing, solver.headers) == (404, "task_id")
    assert api.c.post("/auth/logout", headers=solver.headers).status_code in (200, 204)
    assert status(task["id"], solver.headers) == (401, "Authorization")  # revoked
    other = api.solver("other")
    assert status(task["id"], other.headers)[0] == 201
