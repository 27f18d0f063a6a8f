"""Authorization matrix: every endpoint x every kind of caller, each cell its own test.

Actors (the columns):

- ``anonymous``: no token;
- ``owning_poster``: a poster of the enterprise that owns the task (and so the contract);
- ``other_poster``: a poster of another enterprise;
- ``bidding_solver``: has a live bid on the task, or is the contracted solver;
- ``other_solver``: a solver with nothing to do with the task;
- ``official``: a district official, not of the owning organisation;
- ``admin``: a platform admin (manages any task, sees contracts, decides disputes, but is
  not a party to contracts).

Each row names an endpoint, a function that builds (through the HTTP API) the fresh state
the action needs, so that an allowed cell really succeeds and a denied one is refused for
authorization and not for state, and the expected status per actor. 401: anonymous where
a log-in is needed; 403: the caller may see the resource but not do this; 404: the app
hides that the resource exists from this caller (another organisation's draft, someone
else's bid or contract).

Worlds. One app and one cast of actors per backend (and xdist worker) for the module: an
app per test, as the ``api`` fixture builds, costs ~0.1 s, more than a cell's budget, and it
empties the tables, so do not use ``api``/``app`` in this module. Every cell that may change
the world (an allowed write) builds its own task, bid, contract, submission or dispute. A
read, or a request that must be refused, cannot change it, so those cells reuse one world
per row; every refusal is checked to have written nothing (no audit entry, no outbox
event), and a reused world is dropped as soon as a write through it succeeds, so an
authorization hole cannot leak into other cells. Each cell still passes alone.
``AUTHZ_FRESH_WORLDS=1`` gives every cell its own world (slower).

``test_matrix_covers_every_endpoint`` fails when the app exposes a route without a row
(``/schema*`` and ``/health`` aside; the pages' rows are in tests/pages/test_page_matrix.py).
Known app bugs are strict xfails naming the service.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, insert, select

from market.app import create_app
from market.audit.models import AuditEntry
from market.db.base import utcnow
from market.notifications.models import Notification
from market.outbox.models import FailedJob, OutboxEvent
from market.settings import Settings
from tests.conftest import make_settings, open_client
from tests.helpers import PASSWORD, Actor, Api, bid_payload, task_payload
from tests.pages.test_page_matrix import PAGE_ENDPOINTS
from tests.servers import Provider, serve

ACTORS = (
    "anonymous",
    "owning_poster",
    "other_poster",
    "bidding_solver",
    "other_solver",
    "official",
    "admin",
)
OWNER, BIDDER, ADMIN = "owning_poster", "bidding_solver", "admin"
PDF = b"%PDF-1.4 authorization matrix"
FRESH_WORLDS = os.environ.get("AUTHZ_FRESH_WORLDS") == "1"  # no reuse at all (slower)
_cell_seq = itertools.count(1)
# /_paymock is the payment provider's stand-in mounted in the embedded server, guarded by
# its own secret key and tested in tests/paymock; it is not the marketplace's API.
UNCOVERED = re.compile(r"^/(schema|health|_paymock)(/|$)")


# -- the cast and the per-cell world -------------------------------------------------------


@dataclass
class Call:
    """What a cell sends: path parameters, body, and what the checks need to know."""

    params: dict[str, int] = field(default_factory=dict)
    json: Any = None
    data: dict[str, str] | None = None
    files: Any = None
    query: dict[str, str] | None = None
    headers: dict[str, str] | None = None  # instead of the actor's own (logout)
    content: bytes | None = None  # a raw body (signed webhooks)
    ctx: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stage:
    """Per backend (and xdist worker): the app, the cast, and the worlds cells may reuse."""

    api: Api
    cast: dict[str, Actor]
    reusable: dict[str, Call] = field(default_factory=dict)


@pytest.fixture(scope="module")
def stage(
    engine: Engine,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    shared_provider: Provider,
) -> Iterator[Stage]:
    """One app per backend for the whole module (see the module docstring)."""
    settings = make_settings(database_url, tmp_path_factory.mktemp("authz"), shared_provider)
    app = create_app(settings, engine, background=False)
    with open_client(app, settings, engine, shared_provider) as (client, jobs):
        api = Api(client, jobs)
        admin = api.admin()
        cast = {
            OWNER: api.poster("owner"),
            "other_poster": api.poster("rival"),
            BIDDER: api.solver("bidder"),
            "other_solver": api.solver("outsider"),
            "official": api.official(admin, district="tongzhou"),
            ADMIN: admin,
        }
        yield Stage(api, cast)


class World:
    """Builds, through the HTTP API, the state one cell needs."""

    def __init__(self, api: Api, cast: dict[str, Actor], who: str) -> None:
        self.api, self.c, self.cast, self.who = api, api.c, cast, who

    @property
    def owner(self) -> Actor:
        return self.cast[OWNER]

    @property
    def bidder(self) -> Actor:
        return self.cast[BIDDER]

    @property
    def me(self) -> Actor | None:
        return self.cast.get(self.who)

    def _ok(self, method: str, url: str, actor: Actor, status: int, **kw: Any) -> Any:
        r = self.c.request(method, url, headers=actor.headers, **kw)
        assert r.status_code == status, f"arranging {method} {url}: {r.status_code} {r.text}"
        return r.json()

    def draft(self, **overrides: Any) -> dict[str, Any]:
        return self._ok("POST", "/tasks", self.owner, 201, json=task_payload(**overrides))

    def published(self, **overrides: Any) -> dict[str, Any]:
        return self.api.published_task(self.owner, **overrides)

    def attach(self, task_id: int) -> dict[str, Any]:
        return self._ok(
            "POST",
            f"/tasks/{task_id}/attachments",
            self.owner,
            201,
            files={"data": ("spec.pdf", PDF, "application/pdf")},
        )

    def accept_nda(self, actor: Actor, task_id: int) -> None:
        self._ok("POST", f"/tasks/{task_id}/nda", actor, 200)

    def with_bid(self, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """A published task with the bidding solver's live bid on it."""
        task = self.published(**overrides)
        if task["confidentiality"] == "nda":
            self.accept_nda(self.bidder, task["id"])
        return task, self.api.bid(self.bidder, task["id"])

    def contract(self, parts: int = 2, accept: bool = True) -> dict[str, Any]:
        task = self.published()
        bid = self.api.bid(self.bidder, task["id"], parts=parts)
        contract = self._ok(
            "POST", f"/bids/{bid['id']}/award", self.owner, 201, json={"accept_terms": True}
        )
        if not accept:
            return contract
        return self._ok(
            "POST",
            f"/contracts/{contract['id']}/accept",
            self.bidder,
            200,
            json={"accept_terms": True},
        )

    def submitted(self, parts: int = 2) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """An active contract whose first milestone has a submission (with one file)."""
        contract = self.contract(parts=parts)
        milestone = contract["milestones"][0]
        r = self.api.submit(self.bidder, contract["id"], milestone["id"], content=PDF)
        assert r.status_code == 201, r.text
        return contract, milestone, r.json()

    def completed(self) -> dict[str, Any]:
        contract, milestone, _ = self.submitted(parts=1)
        url = f"/contracts/{contract['id']}/milestones/{milestone['id']}/accept"
        done = self._ok("POST", url, self.owner, 200)
        assert done["status"] == "completed"
        return done

    def dispute(self) -> dict[str, Any]:
        contract, milestone, _ = self.submitted()
        url = f"/contracts/{contract['id']}/milestones/{milestone['id']}/disputes"
        return self._ok("POST", url, self.owner, 201, json={"reason": "未达指标"})


# -- arrangements: the state each row needs ----------------------------------------------------


def nothing(w: World) -> Call:
    return Call()


def register(w: World, role: str = "solver") -> Call:
    n = next(_cell_seq)
    body = {"email": f"newcomer{n}@lab.example", "password": PASSWORD}
    return Call(json={**body, "display_name": "新人", "role": role})


def register_official(w: World) -> Call:
    return register(w, role="official")


def login(w: World) -> Call:
    actor = w.me or w.owner
    return Call(json={"email": actor.email, "password": PASSWORD})


def logout(w: World) -> Call:
    # A fresh token of the same user: the cast's own tokens must outlive this cell.
    return Call(headers=w.api.login(w.me.email).headers if w.me else {})


def profile(w: World) -> Call:
    return Call(json={"headline_zh": "焊接专家", "skills": ["焊接"], "languages": ["zh"]})


def solver(w: World) -> Call:
    return Call(params={"solver_id": w.bidder.id})


def organisation(w: World) -> Call:
    return Call(json={"name_zh": "如东县科技局", "kind": "district", "district": "rudong"})


def admin_user(w: World) -> Call:
    n = next(_cell_seq)
    body = {"email": f"made{n}@lab.example", "password": PASSWORD, "display_name": "新用户"}
    return Call(json={**body, "role": "solver"})


def listing(w: World) -> Call:
    return Call(ctx={"published": w.published()["id"], "draft": w.draft()["id"]})


def my_drafts(w: World) -> Call:
    return Call(query={"mine": "true", "status": "draft"}, ctx={"draft": w.draft()["id"]})


def new_task(w: World) -> Call:
    return Call(json=task_payload())


def draft_task(w: World) -> Call:
    return Call(params={"task_id": w.draft()["id"]})


def nda_task_with_bid(w: World) -> Call:
    task, bid = w.with_bid(confidentiality="nda")
    return Call(params={"task_id": task["id"]}, ctx={"bid": bid["id"]})


def task_with_bid(w: World) -> Call:
    task, bid = w.with_bid()
    return Call(params={"task_id": task["id"]}, ctx={"bid": bid["id"]})


def edit_task(w: World) -> Call:
    call = task_with_bid(w)
    call.json = {"title_en": "Welding for offshore platforms, phase 2", "budget_minor": 60_000_000}
    return call


def cancel_task(w: World) -> Call:
    call = task_with_bid(w)
    call.json = {"reason": "预算调整"}
    return call


def attachment_upload(w: World) -> Call:
    call = task_with_bid(w)
    call.files = {"data": ("drawing.pdf", PDF, "application/pdf")}
    return call


def nda_attachment(w: World) -> Call:
    task, _ = w.with_bid(confidentiality="nda")
    att = w.attach(task["id"])
    return Call(params={"task_id": task["id"], "attachment_id": att["id"]})


def open_task(w: World) -> Call:
    # Here the bidding solver is the one about to bid: nobody has bid yet.
    return Call(params={"task_id": w.published()["id"]}, json=bid_payload())


def nda_open_task(w: World) -> Call:
    task = w.published(confidentiality="nda")
    w.accept_nda(w.bidder, task["id"])  # the bidding solver accepted the NDA; nobody else did
    return Call(params={"task_id": task["id"]}, json=bid_payload())


def bid(w: World) -> Call:
    _, b = w.with_bid()
    return Call(params={"bid_id": b["id"]}, ctx={"bid": b["id"]})


def edit_bid(w: World) -> Call:
    call = bid(w)
    call.json = bid_payload(price=25_000_000, parts=3)
    return call


def decline_bid(w: World) -> Call:
    call = bid(w)
    call.json = {"reason": "报价过高 / price too high"}
    return call


def award_bid(w: World) -> Call:
    call = bid(w)
    call.json = {"accept_terms": True}
    return call


def contract(w: World) -> Call:
    c = w.contract()
    return Call(params={"contract_id": c["id"]}, ctx={"contract": c["id"]})


def pending_contract(w: World) -> Call:
    c = w.contract(accept=False)
    return Call(params={"contract_id": c["id"]}, json={"accept_terms": True})


def open_milestone(w: World) -> Call:
    c = w.contract()
    return Call(
        params={"contract_id": c["id"], "milestone_id": c["milestones"][0]["id"]},
        data={"note": "交付报告"},
        files=[("files", ("report.pdf", PDF, "application/pdf"))],
    )


def submitted_milestone(w: World) -> Call:
    c, m, sub = w.submitted()
    return Call(
        params={"contract_id": c["id"], "milestone_id": m["id"], "file_id": sub["files"][0]["id"]},
        ctx={"submission": sub["id"]},
    )


def revision(w: World) -> Call:
    call = submitted_milestone(w)
    call.json = {"comment": "请补充数据"}
    return call


def dispute_milestone(w: World) -> Call:
    call = submitted_milestone(w)
    call.json = {"reason": "交付物不符合指标"}
    return call


def completed_contract(w: World) -> Call:
    return Call(params={"contract_id": w.completed()["id"]}, json={"score": 4, "comment": "好"})


def open_dispute(w: World) -> Call:
    d = w.dispute()
    return Call(params={"dispute_id": d["id"]}, json={"outcome": "split", "solver_share_pct": 60})


def second_milestone(w: World) -> Call:
    """An active contract whose second milestone is not funded yet."""
    c = w.contract()
    return Call(params={"contract_id": c["id"], "milestone_id": c["milestones"][1]["id"]})


def cancel_contract(w: World) -> Call:
    c = w.contract()
    return Call(params={"contract_id": c["id"]}, json={"reason": "项目调整"})


def failed_job(w: World) -> Call:
    engine = w.c.app.state["engine"]
    with engine.begin() as conn:
        job_id = conn.execute(
            insert(FailedJob)
            .values(actor="close_bidding", args=[1], message_id=f"m{next(_cell_seq)}", error="boom", failed_at=utcnow())
            .returning(FailedJob.id)
        ).scalar_one()
    return Call(params={"job_id": job_id})


def signed_webhook(w: World) -> Call:
    """A provider event, correctly signed: the signature, not a log-in, authorises it."""
    body = json.dumps(
        {"id": f"evt_matrix_{next(_cell_seq)}", "type": "balance.available", "data": {"object": {"id": "bal"}}}
    ).encode()
    settings = w.c.app.state["settings"]
    t = int(time.time())
    sig = hmac.new(settings.payments_webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return Call(content=body, headers={"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"})


# Webhook endpoints made here receive the cast's later notifications: they point at a local
# receiver that accepts everything, so those deliveries succeed.
_HOOK_SINK: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def webhook_sink() -> Iterator[str]:
    from litestar import Litestar, post

    @post("/{path:path}", status_code=204)
    async def accept(path: str) -> None:
        return None

    with serve(Litestar([accept])) as url:
        _HOOK_SINK["url"] = url
        yield url


def bid_notification(w: World) -> Call:
    """The owning poster's notification of the bidding solver's new bid."""
    _, b = w.with_bid()
    with w.c.app.state["engine"].connect() as conn:
        nid = conn.scalar(
            select(Notification.id).where(
                Notification.user_id == w.owner.id, Notification.link == f"/bids/{b['id']}"
            )
        )
    assert nid is not None, "the bid notified nobody"
    return Call(params={"notification_id": nid})


def preferences(w: World) -> Call:
    return Call(json={"preferences": [{"channel": "email", "kind": "bid_placed", "enabled": False}]})


def new_webhook(w: World) -> Call:
    return Call(json={"url": f"{_HOOK_SINK['url']}/hooks/{next(_cell_seq)}", "description": "ERP"})


def webhook(w: World) -> Call:
    """A webhook endpoint of the owning poster."""
    hook = w._ok("POST", "/me/webhooks", w.owner, 201, json=new_webhook(w).json)
    return Call(params={"webhook_id": hook["id"]}, ctx={"webhook": hook["id"]})


# -- checks on allowed cells: what the caller gets to see -----------------------------------


def ids(r: httpx.Response) -> list[int]:
    body = r.json()
    return [x["id"] for x in (body["items"] if isinstance(body, dict) else body)]


def token_revoked(r: httpx.Response, call: Call, w: World) -> None:
    assert w.c.get("/me", headers=call.headers).status_code == 401


def sees_me(r: httpx.Response, call: Call, w: World) -> None:
    assert w.me is not None and r.json()["id"] == w.me.id


def sees_published_not_draft(r: httpx.Response, call: Call, w: World) -> None:
    listed = ids(r)
    assert call.ctx["published"] in listed and call.ctx["draft"] not in listed


def sees_own_drafts(r: httpx.Response, call: Call, w: World) -> None:
    assert (call.ctx["draft"] in ids(r)) is (w.who == OWNER)


def nda_details(r: httpx.Response, call: Call, w: World) -> None:
    visible = w.who in (OWNER, BIDDER, ADMIN)
    body = r.json()
    assert body["details_visible"] is visible
    assert (body["description_zh"] is not None) is visible


def is_draft(r: httpx.Response, call: Call, w: World) -> None:
    assert r.json()["status"] == "draft"


def sees_bids(r: httpx.Response, call: Call, w: World) -> None:
    # Open bidding: the poster, admins and the bidders see the live bids; an outsider
    # solver sees only their own (none).
    expected = [] if w.who == "other_solver" else [call.ctx["bid"]]
    assert ids(r) == expected


def sees_own_bids(r: httpx.Response, call: Call, w: World) -> None:
    assert (call.ctx["bid"] in ids(r)) is (w.who == BIDDER)


def sees_contract(r: httpx.Response, call: Call, w: World) -> None:
    assert (call.ctx["contract"] in ids(r)) is (w.who in (OWNER, BIDDER, ADMIN))


def sees_submission(r: httpx.Response, call: Call, w: World) -> None:
    assert ids(r) == [call.ctx["submission"]]


def gets_pdf(r: httpx.Response, call: Call, w: World) -> None:
    assert r.content == PDF


def sees_own_inbox(r: httpx.Response, call: Call, w: World) -> None:
    assert w.me is not None
    with w.c.app.state["engine"].connect() as conn:
        mine = conn.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == w.me.id, Notification.inbox.is_(True))
        )
    assert r.json()["total"] == mine
    assert mine or w.who != OWNER, "the owning poster was notified of the bid"


def is_read(r: httpx.Response, call: Call, w: World) -> None:
    assert r.json()["read"] is True


def all_read(r: httpx.Response, call: Call, w: World) -> None:
    assert w.me is not None
    unread = w.c.get("/notifications", params={"unread": "true"}, headers=w.me.headers).json()
    assert unread["total"] == 0 and unread["unread"] == 0


def sees_own_webhooks(r: httpx.Response, call: Call, w: World) -> None:
    assert (call.ctx["webhook"] in ids(r)) is (w.who == OWNER)
    assert all(h["secret"] is None for h in r.json())


def gets_secret_once(r: httpx.Response, call: Call, w: World) -> None:
    assert w.me is not None
    hook = r.json()
    assert hook["secret"].startswith("whsec_")
    listed = w.c.get("/me/webhooks", headers=w.me.headers).json()
    assert [h["secret"] for h in listed if h["id"] == hook["id"]] == [None]


# -- search, matching, saved searches -------------------------------------------------------


def search_listing(w: World) -> Call:
    tag = f"矩阵检索{next(_cell_seq)}号"
    task = w.published(title_zh=f"{tag}海工焊接工艺")
    draft = w.draft(title_zh=f"{tag}草稿")
    return Call(query={"q": tag}, ctx={"published": task["id"], "draft": draft["id"]})


def finds_published_not_draft(r: httpx.Response, call: Call, w: World) -> None:
    found = [hit["task"]["id"] for hit in r.json()["items"]]
    assert found == [call.ctx["published"]], found


def solver_search(w: World) -> Call:
    return Call(query={"q": "bidder"})


def finds_bidder(r: httpx.Response, call: Call, w: World) -> None:
    assert w.bidder.id in [hit["solver"]["id"] for hit in r.json()["items"]]


def new_saved_search(w: World) -> Call:
    return Call(json={"name": "海工焊接", "q": "焊接", "filters": {"district": ["tongzhou"]}})


def saved_search(w: World) -> Call:
    """The bidding solver's saved search, matched by a task published after it."""
    mine = w._ok("GET", "/me/saved-searches", w.bidder, 200)
    for old in mine[: max(0, len(mine) - 10)]:  # stay under the per-user limit (fresh worlds)
        r = w.c.delete(f"/me/saved-searches/{old['id']}", headers=w.bidder.headers)
        assert r.status_code == 204, r.text
    saved = w._ok("POST", "/me/saved-searches", w.bidder, 201, json=new_saved_search(w).json)
    w.published()
    return Call(params={"search_id": saved["id"]}, ctx={"saved": saved["id"]})


def sees_own_saved_searches(r: httpx.Response, call: Call, w: World) -> None:
    assert (call.ctx["saved"] in ids(r)) is (w.who == BIDDER)


def sees_hit(r: httpx.Response, call: Call, w: World) -> None:
    assert r.json()["total"] >= 1


# -- the matrix ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    endpoint: str  # "METHOD /path/{param}" as the app routes it (without converters)
    arrange: Callable[[World], Call]
    codes: str  # one expected status per actor, in the order of ACTORS
    variant: str = ""
    see: Callable[[httpx.Response, Call, World], None] | None = None
    bugs: tuple[tuple[str, str], ...] = ()  # (actor, why): known app bugs, strict xfail
    reuse: bool = True  # False: the arrangement depends on the actor

    @property
    def method(self) -> str:
        return self.endpoint.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.endpoint.split(" ", 1)[1]

    @property
    def name(self) -> str:
        return f"{self.endpoint} ({self.variant})" if self.variant else self.endpoint

    def expected(self) -> dict[str, int]:
        codes = [int(c) for c in self.codes.split()]
        assert len(codes) == len(ACTORS), self.name
        return dict(zip(ACTORS, codes, strict=True))


C = "/contracts/{contract_id}"
M = "/contracts/{contract_id}/milestones/{milestone_id}"

# fmt: off
ROWS = (
    #   endpoint                                 arrange               anon owner other_p bidder other_s official admin
    Row("POST /auth/register",                   register,             "201 201 201 201 201 201 201"),
    Row("POST /auth/register",                   register_official,    "403 403 403 403 403 403 403",
        variant="role official"),
    Row("POST /auth/login",                      login,                "200 200 200 200 200 200 200",
        reuse=False),
    Row("POST /auth/logout",                     logout,               "401 204 204 204 204 204 204",
        reuse=False, see=token_revoked),
    Row("GET /me",                               nothing,              "401 200 200 200 200 200 200",
        see=sees_me),
    Row("PUT /me/profile",                       profile,              "401 403 403 200 200 403 403"),
    Row("GET /solvers/{solver_id}",              solver,               "200 200 200 200 200 200 200"),
    Row("POST /admin/organisations",             organisation,         "401 403 403 403 403 403 201"),
    Row("POST /admin/users",                     admin_user,           "401 403 403 403 403 403 201"),
    # tasks
    Row("GET /tasks",                            listing,              "200 200 200 200 200 200 200",
        see=sees_published_not_draft),
    Row("GET /tasks",                            my_drafts,            "401 200 200 403 403 200 403",
        variant="mine=true", see=sees_own_drafts),
    Row("POST /tasks",                           new_task,             "401 201 201 403 403 201 403"),
    Row("GET /tasks/{task_id}",                  nda_task_with_bid,    "200 200 200 200 200 200 200",
        variant="published, NDA", see=nda_details),
    Row("GET /tasks/{task_id}",                  draft_task,           "404 200 404 404 404 404 200",
        variant="draft", see=is_draft),
    Row("PATCH /tasks/{task_id}",                edit_task,            "401 200 403 403 403 403 200"),
    Row("POST /tasks/{task_id}/publish",         draft_task,           "401 200 404 404 404 404 200"),
    Row("POST /tasks/{task_id}/close-bidding",   task_with_bid,        "401 200 403 403 403 403 200"),
    Row("POST /tasks/{task_id}/cancel",          cancel_task,          "401 200 403 403 403 403 200"),
    Row("POST /tasks/{task_id}/nda",             nda_task_with_bid,    "401 403 403 200 200 403 403"),
    Row("POST /tasks/{task_id}/attachments",     attachment_upload,    "401 201 403 403 403 403 201"),
    Row("GET /tasks/{task_id}/attachments/{attachment_id}",
                                                 nda_attachment,       "401 200 403 200 403 403 200",
        variant="NDA", see=gets_pdf),
    # bids
    Row("POST /tasks/{task_id}/bids",            open_task,            "401 403 403 201 201 403 403"),
    Row("POST /tasks/{task_id}/bids",            nda_open_task,        "401 403 403 201 403 403 403",
        variant="NDA"),
    Row("GET /tasks/{task_id}/bids",             task_with_bid,        "401 200 403 200 200 403 200",
        variant="open bidding", see=sees_bids),
    Row("GET /bids",                             bid,                  "401 200 200 200 200 200 200",
        see=sees_own_bids),
    Row("GET /bids/{bid_id}",                    bid,                  "401 200 404 200 404 404 200"),
    Row("PUT /bids/{bid_id}",                    edit_bid,             "401 403 404 200 404 404 403"),
    Row("POST /bids/{bid_id}/withdraw",          bid,                  "401 403 404 200 404 404 403"),
    Row("POST /bids/{bid_id}/shortlist",         bid,                  "401 200 404 403 404 404 200"),
    Row("POST /bids/{bid_id}/decline",           decline_bid,          "401 200 404 403 404 404 200"),
    Row("POST /bids/{bid_id}/award",             award_bid,            "401 201 404 403 404 404 403"),
    # contracts
    Row("GET /contracts",                        contract,             "401 200 200 200 200 200 200",
        see=sees_contract),
    Row(f"GET {C}",                              contract,             "401 200 404 200 404 404 200"),
    Row(f"POST {C}/accept",                      pending_contract,     "401 403 404 200 404 404 403"),
    Row(f"POST {M}/submissions",                 open_milestone,       "401 403 404 201 404 404 403"),
    Row(f"GET {M}/submissions",                  submitted_milestone,  "401 200 404 200 404 404 200",
        see=sees_submission),
    Row(f"GET {C}/files/{{file_id}}",            submitted_milestone,  "401 200 404 200 404 404 200",
        see=gets_pdf),
    Row(f"POST {M}/accept",                      submitted_milestone,  "401 200 404 403 404 404 403"),
    Row(f"POST {M}/request-revision",            revision,             "401 200 404 403 404 404 403"),
    Row(f"POST {M}/disputes",                    dispute_milestone,    "401 201 404 201 404 404 403"),
    Row(f"POST {C}/ratings",                     completed_contract,   "401 201 404 201 404 404 403"),
    Row(f"POST {C}/cancel",                      cancel_contract,      "401 200 404 403 404 404 403"),
    Row(f"GET {C}/escrow",                       contract,             "401 200 404 200 404 404 200"),
    Row(f"POST {M}/fund",                        second_milestone,     "401 200 404 403 404 404 403"),
    # payments: the provider's signature is the credential, whoever sends it
    Row("POST /webhooks/payments",               signed_webhook,       "200 200 200 200 200 200 200",
        reuse=False),
    # notifications: each caller's own inbox, preferences and webhook endpoints
    Row("GET /notifications",                    task_with_bid,        "401 200 200 200 200 200 200",
        see=sees_own_inbox),
    Row("POST /notifications/{notification_id}/read",
                                                 bid_notification,     "401 200 404 404 404 404 404",
        see=is_read),
    Row("POST /notifications/read-all",          nothing,              "401 200 200 200 200 200 200",
        see=all_read),
    Row("GET /me/notification-preferences",      nothing,              "401 200 200 200 200 200 200"),
    Row("PUT /me/notification-preferences",      preferences,          "401 200 200 200 200 200 200"),
    Row("GET /me/webhooks",                      webhook,              "401 200 200 200 200 200 200",
        see=sees_own_webhooks),
    Row("POST /me/webhooks",                     new_webhook,          "401 201 201 201 201 201 201",
        see=gets_secret_once),
    Row("DELETE /me/webhooks/{webhook_id}",      webhook,              "401 204 404 404 404 404 404"),
    # search and matching (the cast's solvers have no profiles: tasks-for-me is empty)
    Row("GET /search/tasks",                     search_listing,       "200 200 200 200 200 200 200",
        see=finds_published_not_draft),
    Row("GET /search/solvers",                   solver_search,        "200 200 200 200 200 200 200",
        see=finds_bidder),
    Row("GET /match/tasks-for-me",               nothing,              "401 403 403 200 200 403 403"),
    Row("GET /tasks/{task_id}/matching-solvers", task_with_bid,        "401 200 403 403 403 403 200"),
    Row("POST /me/saved-searches",               new_saved_search,     "401 201 201 201 201 201 201"),
    Row("GET /me/saved-searches",                saved_search,         "401 200 200 200 200 200 200",
        see=sees_own_saved_searches),
    Row("DELETE /me/saved-searches/{search_id}", saved_search,         "401 404 404 204 404 404 404"),
    Row("GET /me/saved-searches/{search_id}/hits",
                                                 saved_search,         "401 404 404 200 404 404 404",
        see=sees_hit),
    # admin
    Row("GET /admin/disputes",                   nothing,              "401 403 403 403 403 403 200"),
    Row("GET /admin/ledger",                     nothing,              "401 403 403 403 403 403 200"),
    Row("GET /admin/ledger/reconciliation",      nothing,              "401 403 403 403 403 403 200"),
    Row("GET /admin/failed-jobs",                nothing,              "401 403 403 403 403 403 200"),
    Row("POST /admin/failed-jobs/{job_id}/redrive",
                                                 failed_job,           "401 403 403 403 403 403 200"),
    Row("POST /admin/disputes/{dispute_id}/resolve",
                                                 open_dispute,         "401 403 403 403 403 403 200"),
)
# fmt: on


def _cells() -> Iterator[Any]:
    for row in ROWS:
        bugs = dict(row.bugs)
        for who in ACTORS:
            marks = [pytest.mark.xfail(strict=True, reason=bugs[who])] if who in bugs else []
            yield pytest.param(row, who, id=f"{row.name}-{who}", marks=marks)


def _last_ids(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                select(func.max(AuditEntry.id)).scalar_subquery(),
                select(func.max(OutboxEvent.id)).scalar_subquery(),
            )
        ).one()
    return row[0] or 0, row[1] or 0


@pytest.mark.parametrize(("row", "who"), list(_cells()))
def test_matrix(row: Row, who: str, stage: Stage, engine: Engine) -> None:
    w = World(stage.api, stage.cast, who)
    expected = row.expected()[who]
    # A read, or a request that must be refused, cannot change the world: such cells may
    # reuse the row's world. A cell that may change it always builds its own.
    reuse = row.reuse and not FRESH_WORLDS and (row.method == "GET" or expected >= 400)
    if not reuse:
        call = row.arrange(w)
    elif (call := stage.reusable.get(row.name)) is None:
        call = stage.reusable[row.name] = row.arrange(w)
    headers = call.headers if call.headers is not None else (w.me.headers if w.me else {})
    before = _last_ids(engine) if expected >= 400 else None
    r = stage.api.c.request(
        row.method,
        row.path.format(**call.params),
        headers=headers,
        params=call.query,
        json=call.json,
        data=call.data,
        files=call.files,
        content=call.content,
    )
    if reuse and row.method != "GET" and r.status_code < 400:
        del stage.reusable[row.name]  # an authorization hole changed it: nobody else uses it
    assert r.status_code == expected, (
        f"{who} {row.name}: expected {expected}, got {r.status_code}: {r.text[:500]}"
    )
    if expected < 400:
        if row.see is not None:
            row.see(r, call, w)
        return
    # Refused: a problem document, and nothing written.
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    if expected == 401:
        assert r.headers.get("www-authenticate") == "Bearer"
    assert _last_ids(engine) == before, "a refused request wrote an audit entry or an event"


def _routes(app: Any) -> set[tuple[str, str]]:
    exposed = set()
    for route in app.routes:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        if UNCOVERED.match(path):
            continue
        for method in getattr(route, "methods", None) or {"WEBSOCKET"}:
            if method != "OPTIONS":  # Litestar answers OPTIONS itself, on every path
                exposed.add((method, path))
    return exposed


def test_matrix_covers_every_endpoint(tmp_path: Path) -> None:
    app = create_app(
        Settings(
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path}/routes.db",
            argon2_profile="CHEAPEST",
        ),
        background=False,
    )
    exposed = _routes(app)
    # The web pages (/web) have their rows in tests/pages/test_page_matrix.py.
    covered = {(row.method, row.path) for row in ROWS} | PAGE_ENDPOINTS
    assert exposed - covered == set(), "endpoints without a row in the authorization matrix"
    assert covered - exposed == set(), "matrix rows for endpoints the app does not expose"
    assert len(exposed) > 35


def test_every_row_has_a_code_per_actor() -> None:
    assert len({row.name for row in ROWS}) == len(ROWS), "row names (and test ids) are unique"
    for row in ROWS:
        assert set(row.expected()) == set(ACTORS)
        assert {who for who, _ in row.bugs} <= set(ACTORS), row.name
