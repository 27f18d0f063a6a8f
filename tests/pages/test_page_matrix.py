"""Authorization of the web pages: every page x the seven callers of the API's matrix
(tests/market/test_authorization.py), on SQLite and PostgreSQL, through a TestClient.

A page answers like its API twin: the same 200, 403 or 404 (as an HTML page, not a
problem document), with two differences of form: where the API says 401 a page sends
the visitor to the log-in form (`L`: 303 to /web/login), and a successful form post
redirects to the page showing the result (`R`: 303 elsewhere). Every refusal (403, 404,
L) is checked to have written nothing (no audit entry, no outbox event). The session
cookie holds the caller's API token (the same kind of token); posts carry the CSRF token.

`PAGE_ENDPOINTS` is what test_authorization's coverage test counts for /web: a page
without a row here fails there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, func, select

from market.app import create_app
from market.audit.models import AuditEntry
from market.notifications.models import Notification
from market.outbox.models import OutboxEvent
from market.pages.session import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import _empty_tables, make_settings, open_client
from tests.helpers import PASSWORD, Actor, Api, task_payload
from tests.servers import Provider

ACTORS = (
    "anonymous",
    "owning_poster",
    "other_poster",
    "bidding_solver",
    "other_solver",
    "official",
    "admin",
)
OWNER, BIDDER = "owning_poster", "bidding_solver"
_seq = itertools.count(1)


@dataclass
class Call:
    params: dict[str, int] = field(default_factory=dict)
    data: dict[str, str] | None = None
    token: str | None = None  # instead of the actor's own (log-out)
    ctx: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stage:
    api: Api
    cast: dict[str, Actor]
    csrf: str
    reusable: dict[str, Call] = field(default_factory=dict)


@pytest.fixture(scope="module")
def page_stage(
    engine: Engine,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    shared_provider: Provider,
) -> Iterator[Stage]:
    """One app and cast per backend for the module, as in the API's matrix, from empty
    tables: what other modules left (say, a saved search whose webhook server is gone)
    must not be notified by this module's tasks."""
    _empty_tables(engine)
    settings = make_settings(database_url, tmp_path_factory.mktemp("page-authz"), shared_provider)
    app = create_app(settings, engine, background=False)
    with open_client(app, settings, engine, shared_provider) as (client, jobs):
        api = Api(client, jobs)
        admin = api.admin()
        cast = {
            OWNER: api.poster("owner"),
            "other_poster": api.poster("rival"),
            BIDDER: api.solver(
                "bidder", profile={"skills": ["welding"], "fields": ["offshore_equipment"]}
            ),
            "other_solver": api.solver("outsider"),
            "official": api.official(admin, district="tongzhou"),
            "admin": admin,
        }
        csrf = client.get("/web/login").cookies[CSRF_COOKIE]
        client.cookies.clear()
        yield Stage(api, cast, csrf)


# -- arrangements (through the API) ------------------------------------------------------------


def nothing(s: Stage, who: str) -> Call:
    return Call()


def log_in_form(s: Stage, who: str) -> Call:
    if who == "anonymous":  # someone new logs in
        # Not the API matrix's "newcomer{n}": both modules share the database.
        email = f"web-newcomer{next(_seq)}@lab.example"
        r = s.api.c.post(
            "/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "新人", "role": "solver"},
        )
        assert r.status_code == 201, r.text
    else:
        email = s.cast[who].email
    return Call(data={"email": email, "password": PASSWORD})


def fresh_session(s: Stage, who: str) -> Call:
    # A fresh token of the same user: the cast's own tokens must outlive this cell.
    if who == "anonymous":
        return Call()
    return Call(token=s.api.login(s.cast[who].email).token)


def listing(s: Stage, who: str) -> Call:
    published = s.api.published_task(s.cast[OWNER], title_zh=f"公开任务 {next(_seq)}")
    draft = draft_task(s, who)
    return Call(ctx={"published": published["title_zh"], "draft": draft.ctx["title"]})


def draft_task(s: Stage, who: str) -> Call:
    title = f"草稿任务 {next(_seq)}"
    r = s.api.c.post("/tasks", json=task_payload(title_zh=title), headers=s.cast[OWNER].headers)
    assert r.status_code == 201, r.text
    return Call(params={"task_id": r.json()["id"]}, ctx={"title": title})


def nda_task(s: Stage, who: str) -> Call:
    task = s.api.published_task(s.cast[OWNER], confidentiality="nda")
    return Call(params={"task_id": task["id"]}, ctx={"title": task["title_zh"]})


def bid_form(
    amounts: tuple[str, ...] = ("150000", "150000.00"), price: str = "300000"
) -> dict[str, str]:
    """The task page's bid form, in yuan; due dates as the form's date inputs send them."""
    today = datetime.now(UTC).date()
    data = {"price": price, "duration_days": "120", "proposal": "十年海工焊接经验"}
    for i, amount in enumerate(amounts, start=1):
        data |= {
            f"m{i}_title": f"阶段 {i}",
            f"m{i}_amount": amount,
            f"m{i}_due": (today + timedelta(days=40 * i)).isoformat(),
        }
    return data


def open_task(s: Stage, who: str) -> Call:
    task = s.api.published_task(s.cast[OWNER])
    return Call(params={"task_id": task["id"]}, data=bid_form())


def open_task_bad_plan(s: Stage, who: str) -> Call:
    task = s.api.published_task(s.cast[OWNER])
    return Call(params={"task_id": task["id"]}, data=bid_form(("100000", "100000")))


def task_with_bid(s: Stage, who: str) -> Call:
    task = s.api.published_task(s.cast[OWNER], title_zh=f"有投标的任务 {next(_seq)}")
    bid = s.api.bid(s.cast[BIDDER], task["id"])
    return Call(
        params={"task_id": task["id"], "bid_id": bid["id"]},
        data={"reason": "预算不符", "accept_terms": "yes"},
        ctx={"title": task["title_zh"]},
    )


def owner_notification(s: Stage, who: str) -> Call:
    """The owning poster's notification of the bidding solver's new bid."""
    task = s.api.published_task(s.cast[OWNER])
    bid = s.api.bid(s.cast[BIDDER], task["id"])
    with s.api.c.app.state["engine"].connect() as conn:
        nid = conn.scalar(
            select(Notification.id).where(
                Notification.user_id == s.cast[OWNER].id,
                Notification.link == f"/bids/{bid['id']}",
            )
        )
    assert nid is not None, "the bid notified nobody"
    return Call(params={"notification_id": nid})


def pending_contract(s: Stage, who: str) -> Call:
    task = s.api.published_task(s.cast[OWNER])
    bid = s.api.bid(s.cast[BIDDER], task["id"])
    r = s.api.c.post(
        f"/bids/{bid['id']}/award", json={"accept_terms": True}, headers=s.cast[OWNER].headers
    )
    assert r.status_code == 201, r.text
    return Call(params={"contract_id": r.json()["id"]}, data={"accept_terms": "yes"})


def active_contract(s: Stage, who: str) -> Call:
    contract = s.api.contract(s.cast[OWNER], s.cast[BIDDER])
    return Call(
        params={"contract_id": contract["id"], "milestone_id": contract["milestones"][0]["id"]},
        data={"note": "第一期成果说明"},
    )


def submitted_milestone(s: Stage, who: str) -> Call:
    call = active_contract(s, who)
    r = s.api.submit(s.cast[BIDDER], call.params["contract_id"], call.params["milestone_id"])
    assert r.status_code == 201, r.text
    return call


def revision(s: Stage, who: str) -> Call:
    call = submitted_milestone(s, who)
    call.data = {"comment": "请补充疲劳试验数据"}
    return call


def disputable(s: Stage, who: str) -> Call:
    call = submitted_milestone(s, who)
    call.data = {"reason": "交付物不符合指标"}
    return call


def completed_contract(s: Stage, who: str) -> Call:
    """A one-milestone contract, delivered and accepted: completed, open for ratings."""
    owner, bidder = s.cast[OWNER], s.cast[BIDDER]
    task = s.api.published_task(owner)
    bid = s.api.bid(bidder, task["id"], parts=1)
    r = s.api.c.post(f"/bids/{bid['id']}/award", json={"accept_terms": True}, headers=owner.headers)
    assert r.status_code == 201, r.text
    contract_id, milestone_id = r.json()["id"], r.json()["milestones"][0]["id"]
    r = s.api.c.post(
        f"/contracts/{contract_id}/accept", json={"accept_terms": True}, headers=bidder.headers
    )
    assert r.status_code == 200, r.text
    assert s.api.submit(bidder, contract_id, milestone_id).status_code == 201
    r = s.api.c.post(
        f"/contracts/{contract_id}/milestones/{milestone_id}/accept", headers=owner.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    return Call(params={"contract_id": contract_id}, data={"score": "4", "comment": "按时交付"})


def open_dispute(s: Stage, who: str) -> Call:
    call = submitted_milestone(s, who)
    c, m = call.params["contract_id"], call.params["milestone_id"]
    r = s.api.c.post(
        f"/contracts/{c}/milestones/{m}/disputes",
        json={"reason": "未达指标"},
        headers=s.cast[OWNER].headers,
    )
    assert r.status_code == 201, r.text
    return Call(
        params={"dispute_id": r.json()["id"], **call.params},
        data={"outcome": "split", "solver_share_pct": "60", "note": "部分达标"},
    )


def open_dispute_bad_split(s: Stage, who: str) -> Call:
    call = open_dispute(s, who)
    call.data = {"outcome": "split", "solver_share_pct": "100"}
    return call


# -- what allowed cells must show ------------------------------------------------------------


def revoked(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    if call.token is not None:
        me = s.api.c.get("/me", headers={"Authorization": f"Bearer {call.token}"})
        assert me.status_code == 401
        assert f"{SESSION_COOKIE}=" in r.headers.get("set-cookie", "")


def sets_session(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    assert f"{SESSION_COOKIE}=" in r.headers["set-cookie"]
    assert "HttpOnly" in r.headers["set-cookie"] and "Path=/web" in r.headers["set-cookie"]


def lists_published_not_draft(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    # The list reads the search index, which the background work fills after each write.
    assert call.ctx["published"] in r.text and call.ctx["draft"] not in r.text


def shows_title(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    assert call.ctx["title"] in r.text


def chinese_page(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    assert r.headers["content-type"].startswith("text/html") and '<html lang="zh-CN">' in r.text


def offers_own_actions(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    """An active contract with milestone 1 funded: only its solver gets the submit form;
    nobody gets accept forms (nothing is submitted), admins see but act on nothing."""
    mid = call.params["milestone_id"]
    assert (f'class="card submit-form" data-milestone-id="{mid}"' in r.text) is (who == BIDDER)
    assert 'class="card accept-form"' not in r.text and 'id="accept-contract"' not in r.text
    assert 'data-escrow="funded"' in r.text


def offers_review_forms(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    """A submitted milestone: the poster may accept or ask for a revision; either party
    may open a dispute; an admin sees it all and acts on none of it."""
    mid = call.params["milestone_id"]
    assert (f'class="card revision-form" data-milestone-id="{mid}"' in r.text) is (who == OWNER)
    assert (f'class="card dispute-form" data-milestone-id="{mid}"' in r.text) is (
        who in (OWNER, BIDDER)
    )
    assert 'id="rate-form"' not in r.text


def offers_rating(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    """A completed contract: each party rates the other once; an admin does not rate."""
    assert ('id="rate-form"' in r.text) is (who in (OWNER, BIDDER))
    assert "dispute-form" not in r.text and "revision-form" not in r.text


def resolved_split(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    """60 % of the milestone to the solver, the rest back, moved by the background work."""
    escrow = s.api.c.get(
        f"/contracts/{call.params['contract_id']}/escrow", headers=s.cast[OWNER].headers
    ).json()
    e = next(x for x in escrow if x["milestone_id"] == call.params["milestone_id"])
    assert e["released_minor"] == e["amount_minor"] * 60 // 100 > 0
    assert e["refunded_minor"] == e["amount_minor"] - e["released_minor"]


def lists_open_dispute(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    d = call.params["dispute_id"]
    assert f'data-dispute-id="{d}"' in r.text
    assert f'action="/web/admin/disputes/{d}/resolve"' in r.text


def shows_split_error(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    assert 'data-rule="split_range"' in r.text and "1% 到 99%" in r.text


def offers_own_bid_actions(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    """The bidder sees their live bid with a withdraw button; another solver the bid
    form; the managers (owner, admin) a link to the bids; nobody anything else."""
    bid_id, task_id = call.params["bid_id"], call.params["task_id"]
    assert call.ctx["title"] in r.text
    assert (f'id="my-bid" data-bid-id="{bid_id}"' in r.text) is (who == BIDDER)
    assert ('id="withdraw-bid"' in r.text) is (who == BIDDER)
    assert ('id="bid-form"' in r.text) is (who == "other_solver")
    assert (f'href="/web/tasks/{task_id}/bids"' in r.text) is (who in (OWNER, "admin"))


def offers_review_actions(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    """The owner may shortlist, decline and award; an admin shortlist and decline only
    (awarding commits the organisation); the solvers only look."""
    bid_id = call.params["bid_id"]
    # Open bidding: the live bids to the managers and the bidders, not to an outsider.
    assert (f'data-bid-id="{bid_id}"' in r.text) is (who != "other_solver")
    assert ('class="shortlist-form"' in r.text) is (who in (OWNER, "admin"))
    assert ('class="decline-form"' in r.text) is (who in (OWNER, "admin"))
    assert ('class="award-form"' in r.text) is (who == OWNER)


def placed_bid(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    """The bid is there, in fen, through the API."""
    task_id = call.params["task_id"]
    assert r.headers["location"] == f"/web/tasks/{task_id}"
    bids = s.api.c.get(f"/tasks/{task_id}/bids", headers=s.cast[who].headers).json()
    mine = [b for b in bids if b["solver_id"] == s.cast[who].id]
    assert [b["price_minor"] for b in mine] == [30_000_000]
    assert [m["amount_minor"] for m in mine[0]["milestones"]] == [15_000_000, 15_000_000]


def shows_plan_error(r: httpx.Response, call: Call, s: Stage, who: str) -> None:
    assert 'data-rule="sum_equals_price"' in r.text and "里程碑金额之和必须等于报价" in r.text


# -- the matrix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    endpoint: str
    arrange: Callable[[Stage, str], Call]
    codes: str  # per actor in ACTORS order: a status, L (to the log-in page) or R (303)
    variant: str = ""
    see: Callable[[httpx.Response, Call, Stage, str], None] | None = None
    reuse: bool = True

    @property
    def method(self) -> str:
        return self.endpoint.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.endpoint.split(" ", 1)[1]

    @property
    def name(self) -> str:
        return f"{self.endpoint} ({self.variant})" if self.variant else self.endpoint

    def expected(self) -> dict[str, str]:
        codes = self.codes.split()
        assert len(codes) == len(ACTORS), self.name
        return dict(zip(ACTORS, codes, strict=True))


C = "/web/contracts/{contract_id}"
M = "/web/contracts/{contract_id}/milestones/{milestone_id}"

# fmt: off
PAGE_ROWS = (
    #   endpoint                                arrange              anon owner other_p bidder other_s official admin
    Row("GET /web/login",                       nothing,             "200 200 200 200 200 200 200"),
    Row("POST /web/login",                      log_in_form,         "R R R R R R R", reuse=False, see=sets_session),
    Row("POST /web/logout",                     fresh_session,       "L L L L L L L", reuse=False, see=revoked),
    Row("GET /web/tasks",                       listing,             "200 200 200 200 200 200 200",
        see=lists_published_not_draft),
    Row("GET /web/tasks/{task_id}",             nda_task,            "200 200 200 200 200 200 200",
        variant="published, NDA", see=shows_title),
    Row("GET /web/tasks/{task_id}",             draft_task,          "404 200 404 404 404 404 200",
        variant="draft", see=shows_title),
    Row("GET /web/tasks/{task_id}",             task_with_bid,       "200 200 200 200 200 200 200",
        variant="open, with a bid", see=offers_own_bid_actions),
    Row("POST /web/tasks/{task_id}/bids",       open_task,           "L 403 403 R R 403 403", see=placed_bid),
    Row("POST /web/tasks/{task_id}/bids",       open_task_bad_plan,  "L 403 403 422 422 403 403",
        variant="plan not adding up"),
    Row("GET /web/tasks/{task_id}/bids",        task_with_bid,       "L 200 403 200 200 403 200",
        variant="open bidding", see=offers_review_actions),
    Row("POST /web/bids/{bid_id}/withdraw",     task_with_bid,       "L 403 404 R 404 404 403"),
    Row("POST /web/bids/{bid_id}/shortlist",    task_with_bid,       "L R 404 403 404 404 R"),
    Row("POST /web/bids/{bid_id}/decline",      task_with_bid,       "L R 404 403 404 404 R"),
    Row("POST /web/bids/{bid_id}/award",        task_with_bid,       "L R 404 403 404 404 403"),
    Row("GET /web/for-me",                      nothing,             "L 403 403 200 200 403 403", see=chinese_page),
    Row("GET /web/notifications",               nothing,             "L 200 200 200 200 200 200"),
    Row("POST /web/notifications/{notification_id}/read",
                                                owner_notification,  "L R 404 404 404 404 404"),
    Row("POST /web/notifications/read-all",     nothing,             "L R R R R R R"),
    Row("GET /web/contracts",                   nothing,             "L 200 200 200 200 200 200"),
    Row(f"GET {C}",                             active_contract,     "L 200 404 200 404 404 200",
        see=offers_own_actions),
    Row(f"POST {C}/accept",                     pending_contract,    "L 403 404 R 404 404 403"),
    Row(f"POST {M}/submissions",                active_contract,     "L 403 404 R 404 404 403"),
    Row(f"POST {M}/accept",                     submitted_milestone, "L R 404 403 404 404 403"),
    Row(f"GET {C}",                             submitted_milestone, "L 200 404 200 404 404 200",
        variant="submitted milestone", see=offers_review_forms),
    Row(f"GET {C}",                             completed_contract,  "L 200 404 200 404 404 200",
        variant="completed", see=offers_rating),
    Row(f"POST {M}/request-revision",           revision,            "L R 404 403 404 404 403"),
    Row(f"POST {M}/disputes",                   disputable,          "L R 404 R 404 404 403"),
    Row(f"POST {C}/ratings",                    completed_contract,  "L R 404 R 404 404 403"),
    Row("GET /web/admin/disputes",              open_dispute,        "L 403 403 403 403 403 200",
        see=lists_open_dispute),
    Row("POST /web/admin/disputes/{dispute_id}/resolve",
                                                open_dispute,        "L 403 403 403 403 403 R",
        see=resolved_split),
    Row("POST /web/admin/disputes/{dispute_id}/resolve",
                                                open_dispute_bad_split,
                                                                     "L 403 403 403 403 403 422",
        variant="split of 100 %", see=shows_split_error),
)
# fmt: on
PAGE_ENDPOINTS = {(row.method, row.path) for row in PAGE_ROWS}


def _cells() -> Iterator[Any]:
    for row in PAGE_ROWS:
        for who in ACTORS:
            yield pytest.param(row, who, id=f"{row.name}-{who}")


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
def test_page_matrix(row: Row, who: str, page_stage: Stage, engine: Engine) -> None:
    s = page_stage
    expected = row.expected()[who]
    refused = (expected == "L" and who == "anonymous") or (
        expected.isdigit() and int(expected) >= 400
    )
    reuse = row.reuse and (row.method == "GET" or refused)
    if not reuse:
        call = row.arrange(s, who)
    elif (call := s.reusable.get(row.name)) is None:
        call = s.reusable[row.name] = row.arrange(s, who)
    token = call.token if call.token is not None else (s.cast[who].token if who in s.cast else None)
    cookies = {CSRF_COOKIE: s.csrf, **({SESSION_COOKIE: token} if token else {})}
    client: TestClient[Any] = s.api.c
    client.cookies.clear()
    before = _last_ids(engine) if refused else None
    r = client.request(
        row.method,
        row.path.format(**call.params),
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
        data={**(call.data or {}), "_csrf_token": s.csrf} if row.method == "POST" else None,
        follow_redirects=False,
    )
    client.cookies.clear()
    if reuse and row.method != "GET" and r.status_code < 400:
        del s.reusable[row.name]  # it changed the world: nobody else uses it
    got = str(r.status_code)
    if r.status_code == 303:
        got = "L" if r.headers["location"].startswith("/web/login") else "R"
    assert got == expected, f"{who} {row.name}: expected {expected}, got {got}: {r.text[:300]}"
    if refused:
        if expected != "L":
            assert r.headers["content-type"].startswith("text/html"), r.headers
        assert _last_ids(engine) == before, "a refused request wrote an audit entry or an event"
    elif row.see is not None:
        row.see(r, call, s, who)


def test_every_page_row_has_a_code_per_actor() -> None:
    assert len({row.name for row in PAGE_ROWS}) == len(PAGE_ROWS)
    for row in PAGE_ROWS:
        assert set(row.expected()) == set(ACTORS)
        assert all(c in {"L", "R"} or c.isdigit() for c in row.expected().values()), row.name


def test_post_without_the_csrf_token_is_refused(page_stage: Stage, engine: Engine) -> None:
    """With a valid session: no token, a forged token, or a token without its cookie."""
    s = page_stage
    client: TestClient[Any] = s.api.c
    session = f"{SESSION_COOKIE}={s.cast[OWNER].token}"
    before = _last_ids(engine)
    for cookie, data in (
        (f"{session}; {CSRF_COOKIE}={s.csrf}", {}),
        (f"{session}; {CSRF_COOKIE}={s.csrf}", {"_csrf_token": "0" * 128}),
        (session, {"_csrf_token": s.csrf}),
    ):
        client.cookies.clear()
        r = client.post(
            "/web/notifications/read-all",
            headers={"Cookie": cookie},
            data=data,
            follow_redirects=False,
        )
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("text/html")
    client.cookies.clear()
    assert _last_ids(engine) == before


def test_pages_never_reach_the_api_with_their_cookie(page_stage: Stage) -> None:
    """The API takes bearer tokens only: a page's session cookie is no API credential
    (which is why the API needs no CSRF token)."""
    client: TestClient[Any] = page_stage.api.c
    client.cookies.clear()
    r = client.get("/me", headers={"Cookie": f"{SESSION_COOKIE}={page_stage.cast[OWNER].token}"})
    assert r.status_code == 401
    assert CSRF_COOKIE not in r.headers.get("set-cookie", "")


def test_next_stays_on_our_pages(page_stage: Stage, tmp_path: Path) -> None:
    """After logging in, `next` leads only to one of our pages, never to another host."""
    s = page_stage
    client: TestClient[Any] = s.api.c
    for target, lands in (
        ("/web/notifications", "/web/notifications"),
        ("//evil.example/web/", "/web/tasks"),
        ("https://evil.example/", "/web/tasks"),
        ("/web/\\evil", "/web/tasks"),
    ):
        client.cookies.clear()
        r = client.post(
            "/web/login",
            headers={"Cookie": f"{CSRF_COOKIE}={s.csrf}"},
            data={
                "email": s.cast[BIDDER].email,
                "password": PASSWORD,
                "next": target,
                "_csrf_token": s.csrf,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == lands, (target, r.headers)
    client.cookies.clear()


def test_the_session_cookie_is_secure_behind_an_https_proxy(page_stage: Stage) -> None:
    """Served through a TLS-terminating proxy (X-Forwarded-Proto: https) the session cookie
    is marked Secure; over plain http (local use) it is not, or it could not be sent."""
    s = page_stage
    client: TestClient[Any] = s.api.c
    for proto, secure in (("https", True), ("", False)):
        client.cookies.clear()
        headers = {"Cookie": f"{CSRF_COOKIE}={s.csrf}"}
        if proto:
            headers["X-Forwarded-Proto"] = proto
        r = client.post(
            "/web/login",
            headers=headers,
            data={"email": s.cast[BIDDER].email, "password": PASSWORD, "_csrf_token": s.csrf},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        (cookie,) = [c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
        assert ("secure" in cookie.lower()) is secure, cookie
    client.cookies.clear()


def test_tasks_for_me_names_skills_matched_through_synonyms(page_stage: Stage) -> None:
    """The bidder's skill "welding" covers a task's "焊接" through the synonym list; the
    page says so, in Chinese (the solver's language) with English after it."""
    s = page_stage
    task = s.api.published_task(s.cast[OWNER], title_zh=f"同义词匹配任务 {next(_seq)}")
    client: TestClient[Any] = s.api.c
    client.cookies.clear()
    r = client.get("/web/for-me", headers={"Cookie": f"{SESSION_COOKIE}={s.cast[BIDDER].token}"})
    client.cookies.clear()
    assert r.status_code == 200, r.text
    card = r.text.split(f'data-task-id="{task["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "推荐理由" in card and "匹配技能" in card
    assert "焊接 ← welding（同义词）" in card
