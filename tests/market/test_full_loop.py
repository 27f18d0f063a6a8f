"""The whole marketplace loop through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, select

from market.audit.models import AuditEntry
from market.outbox.models import OutboxEvent
from tests.helpers import Api, bid_payload, task_payload


def _events(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(OutboxEvent.event_type).order_by(OutboxEvent.id))]


def _audit(engine: Engine, entity: str, entity_id: int) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                AuditEntry.action, AuditEntry.from_state, AuditEntry.to_state, AuditEntry.actor_id
            )
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


def test_register_post_bid_award_deliver_revise_accept_rate(api: Api, engine: Engine) -> None:
    c = api.c
    poster = api.poster("海工")
    winner = api.solver("张教授")
    loser = api.solver("刘博士")
    third = api.solver("陈工")

    # Post a draft, then publish it.
    r = c.post("/tasks", json=task_payload(), headers=poster.headers)
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["status"] == "draft"
    # Drafts are invisible to everyone but the posting organisation.
    assert c.get(f"/tasks/{task['id']}", headers=winner.headers).status_code == 404
    r = c.post(f"/tasks/{task['id']}/publish", headers=poster.headers)
    assert r.status_code == 200 and r.json()["status"] == "published"
    listing = c.get("/tasks").json()
    assert [t["id"] for t in listing["items"]] == [task["id"]]

    # Three solvers bid; the milestone plans add up to their prices.
    b1 = api.bid(winner, task["id"], price=40_000_000, parts=2)
    b2 = api.bid(loser, task["id"], price=45_000_000, parts=3)
    b3 = api.bid(third, task["id"], price=48_000_000, parts=1)
    assert sum(m["amount_minor"] for m in b2["milestones"]) == 45_000_000

    # The poster shortlists one and declines another with a reason the bidder sees.
    assert (
        c.post(f"/bids/{b1['id']}/shortlist", headers=poster.headers).json()["status"]
        == "shortlisted"
    )
    r = c.post(
        f"/bids/{b3['id']}/decline",
        json={"reason": "报价超出预算 / over budget"},
        headers=poster.headers,
    )
    assert r.json()["status"] == "declined"
    seen = c.get(f"/bids/{b3['id']}", headers=third.headers).json()
    assert seen["decline_reason"] == "报价超出预算 / over budget"

    # Award: a contract with the bid's milestones; the remaining bid is declined with feedback.
    r = c.post(f"/bids/{b1['id']}/award", json={"accept_terms": True}, headers=poster.headers)
    assert r.status_code == 201, r.text
    contract = r.json()
    # The award completes once the first milestone's money is in escrow (a background job).
    assert contract["status"] == "awaiting_funding"
    contract = c.get(f"/contracts/{contract['id']}", headers=poster.headers).json()
    assert contract["status"] == "pending_acceptance"
    escrow = c.get(f"/contracts/{contract['id']}/escrow", headers=winner.headers).json()
    assert [(e["status"], e["funded_minor"]) for e in escrow] == [("funded", 20_000_000), ("unfunded", 0)]
    assert contract["price_minor"] == 40_000_000
    assert [m["amount_minor"] for m in contract["milestones"]] == [20_000_000, 20_000_000]
    assert contract["poster_accepted_at"] is not None and contract["solver_accepted_at"] is None
    lost = c.get(f"/bids/{b2['id']}", headers=loser.headers).json()
    assert lost["status"] == "declined" and "awarded" in lost["decline_reason"]
    assert c.get(f"/tasks/{task['id']}").json()["status"] == "awarded"
    # A second award is refused.
    r = c.post(f"/bids/{b2['id']}/award", json={"accept_terms": True}, headers=poster.headers)
    assert r.status_code == 409

    # The solver accepts the IP and NDA terms; work starts.
    r = c.post(
        f"/contracts/{contract['id']}/accept", json={"accept_terms": True}, headers=winner.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert r.json()["solver_accepted_at"] is not None
    assert c.get(f"/tasks/{task['id']}").json()["status"] == "in_progress"

    m1, m2 = contract["milestones"]
    # Deliver milestone 1, get a revision request, deliver again, get it accepted.
    v1 = b"%PDF-1.4 first version"
    r = api.submit(winner, contract["id"], m1["id"], note="初版报告", content=v1)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    assert r.json()["files"][0]["sha256"] == hashlib.sha256(v1).hexdigest()
    r = c.post(
        f"/contracts/{contract['id']}/milestones/{m1['id']}/request-revision",
        json={"comment": "请补充盐雾试验数据"},
        headers=poster.headers,
    )
    assert r.status_code == 200
    assert r.json()["milestones"][0]["status"] == "revision_requested"
    v2 = b"%PDF-1.4 second version with salt-spray data"
    r = api.submit(winner, contract["id"], m1["id"], note="补充数据", content=v2)
    assert r.json()["version"] == 2
    # Milestone 2 is not funded yet: its work cannot be submitted.
    r = api.submit(winner, contract["id"], m2["id"])
    assert r.status_code == 409 and r.json()["errors"][0]["rule"] == "milestone_not_funded"
    r = c.post(f"/contracts/{contract['id']}/milestones/{m1['id']}/accept", headers=poster.headers)
    assert r.status_code == 200 and r.json()["milestones"][0]["status"] == "accepted"
    # Acceptance released milestone 1 (less the 5 % fee) and funded milestone 2.
    escrow = c.get(f"/contracts/{contract['id']}/escrow", headers=winner.headers).json()
    assert [(e["status"], e["released_minor"]) for e in escrow] == [("released", 20_000_000), ("funded", 0)]

    # Both versions are kept, each with its digest and timestamp, and the files download intact.
    subs = c.get(
        f"/contracts/{contract['id']}/milestones/{m1['id']}/submissions", headers=poster.headers
    ).json()
    assert [(s["version"], s["review_status"]) for s in subs] == [
        (1, "revision_requested"),
        (2, "accepted"),
    ]
    assert subs[0]["review_comment"] == "请补充盐雾试验数据"
    assert subs[0]["sha256"] != subs[1]["sha256"]
    f = c.get(
        f"/contracts/{contract['id']}/files/{subs[0]['files'][0]['id']}", headers=poster.headers
    )
    assert f.content == v1 and f.headers["x-content-sha256"] == hashlib.sha256(v1).hexdigest()

    # Rating before completion is refused.
    r = c.post(f"/contracts/{contract['id']}/ratings", json={"score": 5}, headers=poster.headers)
    assert r.status_code == 409

    # Last milestone accepted: contract and task complete.
    assert api.submit(winner, contract["id"], m2["id"], note="最终交付").status_code == 201
    r = c.post(f"/contracts/{contract['id']}/milestones/{m2['id']}/accept", headers=poster.headers)
    assert r.json()["status"] == "completed"
    assert c.get(f"/tasks/{task['id']}").json()["status"] == "completed"
    escrow = c.get(f"/contracts/{contract['id']}/escrow", headers=poster.headers).json()
    assert [e["status"] for e in escrow] == ["released", "released"]

    # Each side rates the other once.
    r = c.post(
        f"/contracts/{contract['id']}/ratings",
        json={"score": 5, "comment": "按时交付"},
        headers=poster.headers,
    )
    assert r.status_code == 201 and r.json()["rated_user_id"] == winner.id
    r = c.post(
        f"/contracts/{contract['id']}/ratings",
        json={"score": 4, "comment": "付款及时"},
        headers=winner.headers,
    )
    assert r.status_code == 201 and r.json()["rated_org_id"] == poster.org_id
    assert (
        c.post(
            f"/contracts/{contract['id']}/ratings", json={"score": 1}, headers=winner.headers
        ).status_code
        == 409
    )

    # Every state change left an audit entry and an outbox event.
    assert [a[:3] for a in _audit(engine, "task", task["id"])] == [
        ("create", None, "draft"),
        ("publish", "draft", "published"),
        ("award", "published", "awarded"),
        ("start", "awarded", "in_progress"),
        ("complete", "in_progress", "completed"),
    ]
    assert [a[:3] for a in _audit(engine, "milestone", m1["id"])] == [
        ("fund", None, "funded"),
        ("submit", "open", "submitted"),
        ("request_revision", "submitted", "revision_requested"),
        ("submit", "revision_requested", "submitted"),
        ("accept", "submitted", "accepted"),
        ("release", None, "released"),
    ]
    events = _events(engine)
    for name in (
        "TaskCreated",
        "TaskPublished",
        "BidPlaced",
        "BidShortlisted",
        "BidDeclined",
        "BidAwarded",
        "TaskAwarded",
        "ContractAwarded",
        "ContractFunded",
        "MilestoneFunded",
        "MilestoneReleased",
        "ContractAccepted",
        "MilestoneSubmitted",
        "MilestoneRevisionRequested",
        "MilestoneAccepted",
        "ContractCompleted",
        "TaskCompleted",
        "RatingGiven",
    ):
        assert name in events, name
    assert events.count("BidDeclined") == 2


def test_dispute_split_resolved_by_admin(api: Api) -> None:
    c = api.c
    poster, solver, admin = api.poster(), api.solver(), api.admin()
    contract = api.contract(poster, solver)
    m1, m2 = contract["milestones"]
    assert api.submit(solver, contract["id"], m1["id"]).status_code == 201

    # Opening a dispute on an unsubmitted milestone is refused.
    r = c.post(
        f"/contracts/{contract['id']}/milestones/{m2['id']}/disputes",
        json={"reason": "x"},
        headers=solver.headers,
    )
    assert r.status_code == 409

    r = c.post(
        f"/contracts/{contract['id']}/milestones/{m1['id']}/disputes",
        json={"reason": "交付物不符合技术指标"},
        headers=poster.headers,
    )
    assert r.status_code == 201, r.text
    dispute = r.json()
    assert (
        c.get(f"/contracts/{contract['id']}", headers=poster.headers).json()["milestones"][0][
            "status"
        ]
        == "disputed"
    )
    # While disputed, the poster cannot simply accept.
    assert (
        c.post(
            f"/contracts/{contract['id']}/milestones/{m1['id']}/accept", headers=poster.headers
        ).status_code
        == 409
    )
    # Only an admin decides.
    body = {"outcome": "split", "solver_share_pct": 70, "note": "部分达标"}
    assert (
        c.post(
            f"/admin/disputes/{dispute['id']}/resolve", json=body, headers=poster.headers
        ).status_code
        == 403
    )
    assert [
        d["id"] for d in c.get("/admin/disputes?status=open", headers=admin.headers).json()
    ] == [dispute["id"]]
    r = c.post(f"/admin/disputes/{dispute['id']}/resolve", json=body, headers=admin.headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "split"
    assert out["to_solver_minor"] == m1["amount_minor"] * 70 // 100
    assert out["to_solver_minor"] + out["to_poster_minor"] == m1["amount_minor"]
    # Deciding twice is refused.
    assert (
        c.post(
            f"/admin/disputes/{dispute['id']}/resolve", json=body, headers=admin.headers
        ).status_code
        == 409
    )
    ms = c.get(f"/contracts/{contract['id']}", headers=solver.headers).json()["milestones"]
    assert ms[0]["status"] == "resolved"

    # The other milestone: a refund decision finishes the contract.
    assert api.submit(solver, contract["id"], m2["id"]).status_code == 201
    d2 = c.post(
        f"/contracts/{contract['id']}/milestones/{m2['id']}/disputes",
        json={"reason": "逾期"},
        headers=solver.headers,
    ).json()
    r = c.post(
        f"/admin/disputes/{d2['id']}/resolve", json={"outcome": "refund"}, headers=admin.headers
    )
    assert r.json()["to_poster_minor"] == m2["amount_minor"] and r.json()["to_solver_minor"] == 0
    assert (
        c.get(f"/contracts/{contract['id']}", headers=solver.headers).json()["status"]
        == "completed"
    )


def test_bids_edit_withdraw_and_one_live_bid(api: Api) -> None:
    c = api.c
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster)
    bid = api.bid(solver, task["id"])
    # A second live bid from the same solver is refused.
    r = c.post(f"/tasks/{task['id']}/bids", json=bid_payload(), headers=solver.headers)
    assert r.status_code == 409 and r.json()["errors"][0]["rule"] == "one_live_bid"
    # Edit replaces the plan.
    r = c.put(
        f"/bids/{bid['id']}", json=bid_payload(price=20_000_000, parts=4), headers=solver.headers
    )
    assert r.status_code == 200 and len(r.json()["milestones"]) == 4
    # Withdraw; then a fresh bid is allowed.
    assert (
        c.post(f"/bids/{bid['id']}/withdraw", headers=solver.headers).json()["status"]
        == "withdrawn"
    )
    assert (
        c.post(f"/tasks/{task['id']}/bids", json=bid_payload(), headers=solver.headers).status_code
        == 201
    )
    mine = c.get("/bids", headers=solver.headers).json()
    assert sorted(b["status"] for b in mine) == ["submitted", "withdrawn"]


def test_sealed_bids_only_poster_sees_them_open_bids_bidders_see(api: Api) -> None:
    c = api.c
    poster, s1, s2 = api.poster(), api.solver(), api.solver()
    sealed = api.published_task(poster, bidding_mode="sealed")
    api.bid(s1, sealed["id"])
    api.bid(s2, sealed["id"])
    assert len(c.get(f"/tasks/{sealed['id']}/bids", headers=poster.headers).json()) == 2
    assert [
        b["solver_id"] for b in c.get(f"/tasks/{sealed['id']}/bids", headers=s1.headers).json()
    ] == [s1.id]

    open_task = api.published_task(poster, bidding_mode="open")
    api.bid(s1, open_task["id"])
    api.bid(s2, open_task["id"])
    assert len(c.get(f"/tasks/{open_task['id']}/bids", headers=s1.headers).json()) == 2
    outsider = api.solver()
    assert c.get(f"/tasks/{open_task['id']}/bids", headers=outsider.headers).json() == []


def test_nda_hides_details_until_accepted(api: Api) -> None:
    c = api.c
    poster, solver = api.poster(), api.solver()
    task = api.published_task(poster, confidentiality="nda")
    r = c.post(
        f"/tasks/{task['id']}/attachments",
        files={"data": ("spec.pdf", b"%PDF secret spec", "application/pdf")},
        headers=poster.headers,
    )
    assert r.status_code == 201, r.text
    att = r.json()
    seen = c.get(f"/tasks/{task['id']}", headers=solver.headers).json()
    assert seen["description_zh"] is None and seen["details_visible"] is False
    assert seen["summary_zh"]  # the public summary stays visible
    assert (
        c.get(f"/tasks/{task['id']}/attachments/{att['id']}", headers=solver.headers).status_code
        == 403
    )
    # Bidding needs the NDA first.
    r = c.post(f"/tasks/{task['id']}/bids", json=bid_payload(), headers=solver.headers)
    assert r.status_code == 403 and r.json()["errors"][0]["rule"] == "nda_required"
    assert (
        c.post(f"/tasks/{task['id']}/nda", headers=solver.headers).json()["details_visible"] is True
    )
    seen = c.get(f"/tasks/{task['id']}", headers=solver.headers).json()
    assert seen["description_zh"] == task_payload()["description_zh"]
    assert (
        c.get(f"/tasks/{task['id']}/attachments/{att['id']}", headers=solver.headers).content
        == b"%PDF secret spec"
    )
    assert (
        c.post(f"/tasks/{task['id']}/bids", json=bid_payload(), headers=solver.headers).status_code
        == 201
    )


def test_official_posts_district_key_task(api: Api) -> None:
    admin = api.admin()
    official = api.official(admin)
    task = api.published_task(
        official,
        industry="new_materials",
        district="tongzhou_bay",
        zone="tongzhou_bay_sci_edu_city",
    )
    assert task["org_kind"] == "district"
    listed = api.c.get("/tasks?district=tongzhou_bay").json()["items"]
    assert [t["id"] for t in listed] == [task["id"]]
