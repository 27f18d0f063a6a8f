"""Bad input and illegal transitions: a 4xx problem that names the field or rule, nothing written.

Every endpoint that takes input gets: missing required fields, wrong types, oversized strings
and lists, unknown fields, non-positive amounts, milestone sums that miss the price, past
deadlines, naive datetimes, unknown enum values, bad query parameters, oversized and
disallowed uploads, and the transitions the state machines forbid. Each case checks the
status, the problem+json body (`errors[0].field`, or `errors[0].rule` for state errors) and
that every table of the database is exactly as it was before the request.

One world (actors, tasks in each state, bids, contracts, a dispute) is built per backend and
module and shared by the cases: they must leave it untouched, which is what they assert.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, delete, insert, text, update

from market.app import create_app
from market.audit.models import AuditEntry
from market.db.base import utcnow
from market.db.models import Base, Task
from market.escrow.gateway import PaymentsGateway
from market.jobs import build_job_context
from market.outbox.dispatch import drain
from market.settings import Settings
from tests.helpers import Actor, Api, bid_payload, in_days, task_payload
from tests.servers import Provider

PROBLEM_JSON = "application/problem+json"
MAX_UPLOAD = 4096  # the world's attachment limit, so an oversized upload stays small
PDF = "application/pdf"
ANY = object()  # the field is not checked (state errors are identified by their rule)


# -- the database must not change --------------------------------------------------------


# Every row of every table in primary-key order (the row count comes with it): one plain
# query per table on SQLite; on PostgreSQL all tables in one round trip, as JSON.
_TABLES = [(t.name, ", ".join(c.name for c in t.primary_key)) for t in Base.metadata.sorted_tables]
_DUMPS = [(name, f"SELECT * FROM {name} ORDER BY {pk}") for name, pk in _TABLES]
_PG_DUMP = "SELECT " + ", ".join(
    f"(SELECT coalesce(json_agg(t ORDER BY {pk}), '[]') FROM {name} t)" for name, pk in _TABLES
)


def _snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            row = conn.exec_driver_sql(_PG_DUMP).one()
            return {name: list(rows) for (name, _), rows in zip(_TABLES, row, strict=True)}
        return {name: [tuple(r) for r in conn.exec_driver_sql(sql)] for name, sql in _DUMPS}


@contextmanager
def assert_unchanged(engine: Engine) -> Iterator[None]:
    """Assert that the block leaves every table's row count and every row's content as it was."""
    before = _snapshot(engine)
    yield
    after = _snapshot(engine)
    counts_before = {name: len(rows) for name, rows in before.items()}
    counts_after = {name: len(rows) for name, rows in after.items()}
    assert counts_after == counts_before, "row counts changed"
    for name, rows in before.items():
        changed = [(b, a) for b, a in zip(rows, after[name], strict=True) if a != b]
        assert not changed, f"rows of {name} changed (before, after): {changed}"


# -- the world ---------------------------------------------------------------------------


@dataclass
class World:
    client: TestClient[Any]
    actors: dict[str, Actor]
    ids: dict[str, int] = field(default_factory=dict)

    def headers(self, actor: str | None) -> dict[str, str]:
        return self.actors[actor].headers if actor else {}


def _empty_tables(engine: Engine) -> None:
    names = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))


def _build(api: Api, engine: Engine) -> World:
    c = api.c
    poster, admin = api.poster("bad-poster"), api.admin()
    s1, s2, s3 = api.solver("s1"), api.solver("s2"), api.solver("s3")
    w = World(c, {"poster": poster, "s1": s1, "s2": s2, "s3": s3, "admin": admin})

    def ok(r: Any, status: int = 200) -> dict[str, Any]:
        assert r.status_code == status, r.text
        return r.json()

    ok(c.post("/auth/register", json={**REGISTER, "email": TAKEN}), 201)

    # A draft.
    w.ids["t_draft"] = ok(c.post("/tasks", json=task_payload(), headers=poster.headers), 201)["id"]
    # Published, with a live bid (s1), a declined bid (s2) and an attachment.
    t_pub = api.published_task(poster)
    w.ids["t_pub"] = t_pub["id"]
    w.ids["b_live"] = api.bid(s1, t_pub["id"])["id"]
    w.ids["b_declined"] = api.bid(s2, t_pub["id"])["id"]
    ok(
        c.post(
            f"/bids/{w.ids['b_declined']}/decline",
            json={"reason": "报价过高"},
            headers=poster.headers,
        )
    )
    ok(
        c.post(
            f"/tasks/{t_pub['id']}/attachments",
            files={"file": ("spec.pdf", b"%PDF-1.4 spec", PDF)},
            headers=poster.headers,
        ),
        201,
    )
    # Awarded: s1's bid won, s2's was declined by the award; the contract awaits s1.
    t_aw = api.published_task(poster)
    w.ids["t_awarded"] = t_aw["id"]
    b_won = api.bid(s1, t_aw["id"])["id"]
    w.ids["b_lost"] = api.bid(s2, t_aw["id"])["id"]
    pending = ok(
        c.post(f"/bids/{b_won}/award", json={"accept_terms": True}, headers=poster.headers), 201
    )
    w.ids["c_pending"] = pending["id"]
    w.ids["m_pending"] = pending["milestones"][0]["id"]
    # Active (s3): milestone 1 delivered and disputed (dispute open), milestone 2 open.
    active = api.contract(poster, s3)
    w.ids["c_active"] = active["id"]
    m1, m2 = (m["id"] for m in active["milestones"])
    w.ids["m_disputed"], w.ids["m_open"] = m1, m2
    assert api.submit(s3, active["id"], m1).status_code == 201
    w.ids["dispute"] = ok(
        c.post(
            f"/contracts/{active['id']}/milestones/{m1}/disputes",
            json={"reason": "指标未达标"},
            headers=poster.headers,
        ),
        201,
    )["id"]
    # Published with a near bid deadline, which is then moved into the past in the database.
    late = api.published_task(poster, bid_deadline=in_days(1))
    w.ids["t_late"] = late["id"]
    with engine.begin() as conn:
        conn.execute(
            update(Task)
            .where(Task.id == late["id"])
            .values(bid_deadline=utcnow() - timedelta(hours=1))
        )
    return w


@pytest.fixture(scope="module")
def world(
    engine: Engine,
    database_url: str,
    shared_provider: Provider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """As conftest's `api`, but once per module: the cases share (and must not change) it."""
    data_dir: Path = tmp_path_factory.mktemp("bad-input")
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        argon2_profile="CHEAPEST",
        payments_url=shared_provider.url,
        payments_secret_key=Provider.SECRET,
        max_attachment_bytes=MAX_UPLOAD,
    )
    _empty_tables(engine)
    app = create_app(settings, engine, background=False)
    gateway = PaymentsGateway(shared_provider.url, Provider.SECRET, backoff_base_s=0.01)
    jobs = build_job_context(settings, engine, gateway)

    def run_background_work(response: Any) -> None:
        if response.request.method != "GET":
            drain(jobs)

    try:
        with TestClient(app) as client:
            client.event_hooks["response"].append(run_background_work)
            world = _build(Api(client, jobs), engine)
            # A refused request leaves nothing to run: no background work after the build
            # (were an outbox event written, the snapshot would show it).
            client.event_hooks["response"].remove(run_background_work)
            yield world
    finally:
        jobs.close()


# -- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    id: str
    actor: str | None
    method: str
    url: str  # formatted with World.ids
    status: int
    field: Any = ANY  # expected errors[0].field
    rule: str | None = None  # expected errors[0].rule
    json: Any = None
    params: dict[str, Any] | None = None
    files: list[tuple[str, Any]] | None = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    content_type: str | None = None


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def _milestones(body: dict[str, Any], i: int, **changes: Any) -> dict[str, Any]:
    ms = [dict(m) for m in body["milestones"]]
    ms[i].update(changes)
    return {**body, "milestones": ms}


def _file(name: str = "r.pdf", content: bytes = b"%PDF-1.4 x", ctype: str = PDF) -> Any:
    return (name, content, ctype)


REGISTER = {
    "email": "new.solver@lab.example",
    "password": "correct-horse-9",
    "display_name": "新人",
    "role": "solver",
}
ORG = {"name_zh": "测试实验室", "kind": "lab"}
TAKEN = "taken@lab.example"  # registered in the world
ADMIN_USER = {**REGISTER, "email": "made.by.admin@lab.example"}
TASK = task_payload()
BID = bid_payload()
LONG = "长" * 20_001

CASES: list[Bad] = [
    # -- register ------------------------------------------------------------------------
    Bad("register-missing-email", None, "POST", "/auth/register", 400, "email", "required",
        json=_without(REGISTER, "email")),
    Bad("register-email-wrong-type", None, "POST", "/auth/register", 400, "email", "type",
        json={**REGISTER, "email": 12345}),
    Bad("register-email-not-an-address", None, "POST", "/auth/register", 400, "email", "pattern",
        json={**REGISTER, "email": "no-at-sign"}),
    Bad("register-email-oversized", None, "POST", "/auth/register", 400, "email", "length",
        json={**REGISTER, "email": "a" * 250 + "@x.cn"}),
    Bad("register-password-short", None, "POST", "/auth/register", 400, "password", "length",
        json={**REGISTER, "password": "short"}),
    Bad("register-name-oversized", None, "POST", "/auth/register", 400, "display_name", "length",
        json={**REGISTER, "display_name": "名" * 101}),
    Bad("register-name-nul", None, "POST", "/auth/register", 400, "display_name", "pattern",
        json={**REGISTER, "display_name": "a\x00b"}),
    Bad("register-role-unknown", None, "POST", "/auth/register", 400, "role", "enum",
        json={**REGISTER, "role": "superuser"}),
    Bad("register-role-not-open", None, "POST", "/auth/register", 403, "role", "role_not_open",
        json={**REGISTER, "role": "official"}),
    Bad("register-unknown-field", None, "POST", "/auth/register", 400, "nickname", "unknown_field",
        json={**REGISTER, "nickname": "x"}),
    Bad("register-org-kind-not-open", None, "POST", "/auth/register", 422, "organisation.kind",
        "org_kind_not_open", json={**REGISTER, "organisation": {**ORG, "kind": "district"}}),
    Bad("register-org-name-oversized", None, "POST", "/auth/register", 400,
        "organisation.name_zh", "length",
        json={**REGISTER, "organisation": {**ORG, "name_zh": "名" * 201}}),
    Bad("register-poster-without-org", None, "POST", "/auth/register", 422, "organisation",
        "role_org_mismatch", json={**REGISTER, "role": "poster"}),
    Bad("register-long-after-lowercase", None, "POST", "/auth/register", 422, "email", "length",
        json={**REGISTER, "email": "İ" * 200 + "@x.cn"}),
    Bad("register-email-taken", None, "POST", "/auth/register", 409, "email", "unique",
        json={**REGISTER, "email": TAKEN}),
    Bad("register-not-json", None, "POST", "/auth/register", 400, "body", "malformed",
        content=b"{not json", content_type="application/json"),
    # -- log-in --------------------------------------------------------------------------
    Bad("login-missing-password", None, "POST", "/auth/login", 400, "password", "required",
        json={"email": "a@b.cn"}),
    Bad("login-email-wrong-type", None, "POST", "/auth/login", 400, "email", "type",
        json={"email": ["a@b.cn"], "password": "x"}),
    Bad("login-unknown-field", None, "POST", "/auth/login", 400, "remember", "unknown_field",
        json={"email": "a@b.cn", "password": "x", "remember": True}),
    # -- profile -------------------------------------------------------------------------
    Bad("profile-too-many-skills", "s1", "PUT", "/me/profile", 400, "skills", "length",
        json={"skills": [f"skill {i}" for i in range(31)]}),
    Bad("profile-skill-oversized", "s1", "PUT", "/me/profile", 400, "skills[0]", "length",
        json={"skills": ["x" * 61]}),
    Bad("profile-field-unknown", "s1", "PUT", "/me/profile", 400, "fields[0]", "enum",
        json={"fields": ["alchemy"]}),
    Bad("profile-too-many-languages", "s1", "PUT", "/me/profile", 400, "languages", "length",
        json={"languages": ["zh", "en", "zh"]}),
    Bad("profile-bio-over-long", "s1", "PUT", "/me/profile", 400, "bio_zh", "length",
        json={"bio_zh": LONG}),
    Bad("profile-unknown-field", "s1", "PUT", "/me/profile", 400, "age", "unknown_field",
        json={"age": 30}),
    Bad("profile-not-a-solver", "poster", "PUT", "/me/profile", 403, ANY, "role", json={}),
    Bad("profile-anonymous", None, "PUT", "/me/profile", 401, "Authorization",
        "authentication_required", json={}),
    # -- admin: organisations and users --------------------------------------------------
    Bad("org-missing-name", "admin", "POST", "/admin/organisations", 400, "name_zh", "required",
        json={"kind": "district"}),
    Bad("org-kind-unknown", "admin", "POST", "/admin/organisations", 400, "kind", "enum",
        json={**ORG, "kind": "guild"}),
    Bad("org-district-unknown", "admin", "POST", "/admin/organisations", 400, "district", "enum",
        json={**ORG, "district": "atlantis"}),
    Bad("org-not-admin", "poster", "POST", "/admin/organisations", 403, ANY, "role", json=ORG),
    Bad("user-org-id-wrong-type", "admin", "POST", "/admin/users", 400, "org_id", "type",
        json={**ADMIN_USER, "org_id": [1]}),
    Bad("user-org-id-zero", "admin", "POST", "/admin/users", 400, "org_id", "range",
        json={**ADMIN_USER, "org_id": 0}),
    Bad("user-org-id-out-of-range", "admin", "POST", "/admin/users", 400, "org_id", "range",
        json={**ADMIN_USER, "org_id": 2**70}),
    Bad("user-org-unknown", "admin", "POST", "/admin/users", 422, "org_id", "exists",
        json={**ADMIN_USER, "org_id": 999_999}),
    Bad("user-official-without-district", "admin", "POST", "/admin/users", 422, "org_id",
        "role_org_mismatch", json={**ADMIN_USER, "role": "official"}),
    Bad("user-email-taken", "admin", "POST", "/admin/users", 409, "email", "unique",
        json={**ADMIN_USER, "email": TAKEN.upper()}),
    # -- tasks: create -------------------------------------------------------------------
    Bad("task-missing-industry", "poster", "POST", "/tasks", 400, "industry", "required",
        json=_without(TASK, "industry")),
    Bad("task-budget-zero", "poster", "POST", "/tasks", 400, "budget_minor", "range",
        json={**TASK, "budget_minor": 0}),
    Bad("task-budget-negative", "poster", "POST", "/tasks", 400, "budget_minor", "range",
        json={**TASK, "budget_minor": -100}),
    Bad("task-budget-too-large", "poster", "POST", "/tasks", 400, "budget_minor", "range",
        json={**TASK, "budget_minor": 10_000_000_001}),
    Bad("task-budget-wrong-type", "poster", "POST", "/tasks", 400, "budget_minor", "type",
        json={**TASK, "budget_minor": "五百万"}),
    Bad("task-budget-float", "poster", "POST", "/tasks", 400, "budget_minor", "type",
        json={**TASK, "budget_minor": 12.5}),
    Bad("task-title-oversized", "poster", "POST", "/tasks", 400, "title_zh", "length",
        json={**TASK, "title_zh": "题" * 201}),
    Bad("task-title-nul", "poster", "POST", "/tasks", 400, "title_en", "pattern",
        json={**TASK, "title_en": "welding\x00"}),
    Bad("task-description-over-long", "poster", "POST", "/tasks", 400, "description_en", "length",
        json={**TASK, "description_en": LONG}),
    Bad("task-summary-over-long", "poster", "POST", "/tasks", 400, "summary_zh", "length",
        json={**TASK, "summary_zh": "摘" * 2_001}),
    Bad("task-too-many-skills", "poster", "POST", "/tasks", 400, "required_skills", "length",
        json={**TASK, "required_skills": [f"s{i}" for i in range(31)]}),
    Bad("task-skill-oversized", "poster", "POST", "/tasks", 400, "required_skills[1]", "length",
        json={**TASK, "required_skills": ["焊接", "x" * 61]}),
    Bad("task-skills-wrong-type", "poster", "POST", "/tasks", 400, "required_skills", "type",
        json={**TASK, "required_skills": "焊接"}),
    Bad("task-unknown-field", "poster", "POST", "/tasks", 400, "price", "unknown_field",
        json={**TASK, "price": 1}),
    Bad("task-industry-unknown", "poster", "POST", "/tasks", 400, "industry", "enum",
        json={**TASK, "industry": "alchemy"}),
    Bad("task-bidding-mode-unknown", "poster", "POST", "/tasks", 400, "bidding_mode", "enum",
        json={**TASK, "bidding_mode": "auction"}),
    Bad("task-ip-terms-unknown", "poster", "POST", "/tasks", 400, "ip_terms", "enum",
        json={**TASK, "ip_terms": "all_yours"}),
    Bad("task-trl-zero", "poster", "POST", "/tasks", 400, "trl_current", "range",
        json={**TASK, "trl_current": 0}),
    Bad("task-trl-ten", "poster", "POST", "/tasks", 400, "trl_target", "range",
        json={**TASK, "trl_target": 10}),
    Bad("task-trl-target-below-current", "poster", "POST", "/tasks", 422, "trl_target",
        "gte_trl_current", json={**TASK, "trl_current": 6, "trl_target": 3}),
    Bad("task-bid-deadline-past", "poster", "POST", "/tasks", 422, "bid_deadline", "future",
        json={**TASK, "bid_deadline": in_days(-1)}),
    Bad("task-bid-deadline-naive", "poster", "POST", "/tasks", 400, "bid_deadline", "timezone",
        json={**TASK, "bid_deadline": in_days(20)[:19]}),
    Bad("task-delivery-deadline-naive", "poster", "POST", "/tasks", 400, "delivery_deadline",
        "timezone", json={**TASK, "delivery_deadline": "2031-06-01T09:00:00"}),
    Bad("task-bid-deadline-not-a-date", "poster", "POST", "/tasks", 400, "bid_deadline", None,
        json={**TASK, "bid_deadline": "next tuesday"}),
    Bad("task-delivery-before-bidding", "poster", "POST", "/tasks", 422, "delivery_deadline",
        "after_bid_deadline", json={**TASK, "delivery_deadline": in_days(10)}),
    Bad("task-delivery-beyond-horizon", "poster", "POST", "/tasks", 422, "delivery_deadline",
        "horizon", json={**TASK, "delivery_deadline": "9999-12-31T23:59:59-01:00"}),
    Bad("task-no-title", "poster", "POST", "/tasks", 422, "title_zh", "required_one_language",
        json={**TASK, "title_zh": " ", "title_en": ""}),
    Bad("task-by-solver", "s1", "POST", "/tasks", 403, ANY, "role", json=TASK),
    Bad("task-anonymous", None, "POST", "/tasks", 401, "Authorization", "authentication_required",
        json=TASK),
    Bad("task-body-not-an-object", "poster", "POST", "/tasks", 400, ANY, "type", json=[TASK]),
    # -- tasks: edit, publish, cancel, close ---------------------------------------------
    Bad("edit-empty", "poster", "PATCH", "/tasks/{t_draft}", 422, "body", "non_empty", json={}),
    Bad("edit-unknown-field", "poster", "PATCH", "/tasks/{t_draft}", 400, "status",
        "unknown_field", json={"status": "published"}),
    Bad("edit-budget-zero", "poster", "PATCH", "/tasks/{t_draft}", 400, "budget_minor", "range",
        json={"budget_minor": 0}),
    Bad("edit-deadline-naive", "poster", "PATCH", "/tasks/{t_draft}", 400, "bid_deadline",
        "timezone", json={"bid_deadline": "2030-01-01T00:00:00"}),
    Bad("edit-deadline-past", "poster", "PATCH", "/tasks/{t_draft}", 422, "bid_deadline",
        "future", json={"bid_deadline": in_days(-2)}),
    Bad("edit-delivery-beyond-horizon", "poster", "PATCH", "/tasks/{t_pub}", 422,
        "delivery_deadline", "horizon", json={"delivery_deadline": in_days(4000)}),
    Bad("edit-zone-unknown", "poster", "PATCH", "/tasks/{t_draft}", 400, "zone", "enum",
        json={"zone": "moon_base"}),
    Bad("edit-budget-cut-after-bids", "poster", "PATCH", "/tasks/{t_pub}", 409, "budget_minor",
        "no_budget_cut_after_bids", json={"budget_minor": 1_000_000}),
    Bad("edit-deadline-earlier-after-bids", "poster", "PATCH", "/tasks/{t_pub}", 409,
        "delivery_deadline", "no_shortening_after_bids", json={"delivery_deadline": in_days(150)}),
    Bad("edit-terms-after-bids", "poster", "PATCH", "/tasks/{t_pub}", 409, "ip_terms",
        "terms_fixed_after_bids", json={"ip_terms": "solver_keeps"}),
    Bad("edit-awarded", "poster", "PATCH", "/tasks/{t_awarded}", 409, "status",
        "illegal_transition", json={"title_en": "New title"}),
    Bad("edit-by-solver", "s1", "PATCH", "/tasks/{t_pub}", 403, ANY, "owner",
        json={"title_en": "Mine now"}),
    Bad("edit-task-id-zero", "poster", "PATCH", "/tasks/0", 400, "task_id", "range",
        json={"title_en": "x"}),
    Bad("edit-task-id-out-of-range", "poster", "PATCH", "/tasks/99999999999999999999", 400,
        "task_id", "range", json={"title_en": "x"}),
    Bad("publish-twice", "poster", "POST", "/tasks/{t_pub}/publish", 409, "status",
        "illegal_transition"),
    Bad("publish-awarded", "poster", "POST", "/tasks/{t_awarded}/publish", 409, "status",
        "illegal_transition"),
    Bad("cancel-missing-reason", "poster", "POST", "/tasks/{t_pub}/cancel", 400, "reason",
        "required", json={}),
    Bad("cancel-empty-reason", "poster", "POST", "/tasks/{t_pub}/cancel", 400, "reason",
        "length", json={"reason": ""}),
    Bad("cancel-reason-over-long", "poster", "POST", "/tasks/{t_pub}/cancel", 400, "reason",
        "length", json={"reason": "因" * 1_001}),
    Bad("cancel-awarded", "poster", "POST", "/tasks/{t_awarded}/cancel", 409, "status",
        "illegal_transition", json={"reason": "changed our mind"}),
    Bad("close-awarded", "poster", "POST", "/tasks/{t_awarded}/close-bidding", 409, "status",
        "illegal_transition"),
    # -- tasks: attachments --------------------------------------------------------------
    Bad("attach-disallowed-type", "poster", "POST", "/tasks/{t_pub}/attachments", 422, "file",
        "content_type", files=[("file", _file("setup.exe", b"MZ\x90\x00", "application/x-msdownload"))]),
    Bad("attach-html", "poster", "POST", "/tasks/{t_pub}/attachments", 422, "file",
        "content_type", files=[("file", _file("x.html", b"<script>", "text/html"))]),
    Bad("attach-oversized", "poster", "POST", "/tasks/{t_pub}/attachments", 422, "file",
        "max_size", files=[("file", _file(content=b"%" * (MAX_UPLOAD + 1)))]),
    Bad("attach-empty-file", "poster", "POST", "/tasks/{t_pub}/attachments", 422, "file",
        "non_empty", files=[("file", _file(content=b""))]),
    Bad("attach-name-over-long", "poster", "POST", "/tasks/{t_pub}/attachments", 422, "file",
        "filename", files=[("file", _file(name="n" * 201 + ".pdf"))]),
    Bad("attach-no-file-part", "poster", "POST", "/tasks/{t_pub}/attachments", 422, "file",
        "required", content=b"--xyz--\r\n", content_type="multipart/form-data; boundary=xyz"),
    Bad("attach-two-files", "poster", "POST", "/tasks/{t_pub}/attachments", 422, "file",
        "one_file", files=[("a", _file()), ("b", _file())]),
    Bad("attach-to-awarded", "poster", "POST", "/tasks/{t_awarded}/attachments", 409, "status",
        "illegal_transition", files=[("file", _file())]),
    Bad("attach-by-solver", "s1", "POST", "/tasks/{t_pub}/attachments", 403, ANY, "owner",
        files=[("file", _file())]),
    # -- tasks: listing ------------------------------------------------------------------
    Bad("list-page-size-zero", None, "GET", "/tasks", 400, "page_size", "range",
        params={"page_size": 0}),
    Bad("list-page-size-101", None, "GET", "/tasks", 400, "page_size", "range",
        params={"page_size": 101}),
    Bad("list-page-zero", None, "GET", "/tasks", 400, "page", "range", params={"page": 0}),
    Bad("list-page-not-a-number", None, "GET", "/tasks", 400, "page", "type",
        params={"page": "two"}),
    Bad("list-sort-unknown", None, "GET", "/tasks", 422, "sort", "enum",
        params={"sort": "-popularity"}),
    Bad("list-sort-over-long", None, "GET", "/tasks", 400, "sort", "length",
        params={"sort": "x" * 21}),
    Bad("list-status-unknown", None, "GET", "/tasks", 400, "status", "enum",
        params={"status": "archived"}),
    Bad("list-status-draft", None, "GET", "/tasks", 422, "status", "drafts_private",
        params={"status": "draft"}),
    Bad("list-industry-unknown", None, "GET", "/tasks", 400, "industry", "enum",
        params={"industry": "alchemy"}),
    Bad("list-trl-ten", None, "GET", "/tasks", 400, "trl", "range", params={"trl": 10}),
    Bad("list-min-budget-negative", None, "GET", "/tasks", 400, "min_budget", "range",
        params={"min_budget": -1}),
    Bad("list-max-budget-out-of-range", None, "GET", "/tasks", 400, "max_budget", "range",
        params={"max_budget": 10**23}),
    Bad("list-q-over-long", None, "GET", "/tasks", 400, "q", "length", params={"q": "搜" * 101}),
    Bad("list-q-nul", None, "GET", "/tasks", 400, "q", "pattern", params={"q": "a\x00"}),
    Bad("list-org-id-out-of-range", None, "GET", "/tasks", 400, "org_id", "range",
        params={"org_id": 2**63}),
    Bad("list-mine-anonymous", None, "GET", "/tasks", 401, "mine", "authentication_required",
        params={"mine": "true"}),
    Bad("list-mine-not-bool", "poster", "GET", "/tasks", 400, "mine", "type",
        params={"mine": "perhaps"}),
    # -- bids: place ---------------------------------------------------------------------
    Bad("bid-missing-price", "s3", "POST", "/tasks/{t_pub}/bids", 400, "price_minor", "required",
        json=_without(BID, "price_minor")),
    Bad("bid-price-zero", "s3", "POST", "/tasks/{t_pub}/bids", 400, "price_minor", "range",
        json={**BID, "price_minor": 0}),
    Bad("bid-price-negative", "s3", "POST", "/tasks/{t_pub}/bids", 400, "price_minor", "range",
        json={**BID, "price_minor": -30_000_000}),
    Bad("bid-price-wrong-type", "s3", "POST", "/tasks/{t_pub}/bids", 400, "price_minor", "type",
        json={**BID, "price_minor": "三千万"}),
    Bad("bid-no-milestones", "s3", "POST", "/tasks/{t_pub}/bids", 400, "milestones", "length",
        json={**BID, "milestones": []}),
    Bad("bid-too-many-milestones", "s3", "POST", "/tasks/{t_pub}/bids", 400, "milestones",
        "length", json=bid_payload(price=21_000_000, parts=21)),
    Bad("bid-milestone-amount-zero", "s3", "POST", "/tasks/{t_pub}/bids", 400,
        "milestones[0].amount_minor", "range", json=_milestones(BID, 0, amount_minor=0)),
    Bad("bid-milestone-amount-negative", "s3", "POST", "/tasks/{t_pub}/bids", 400,
        "milestones[1].amount_minor", "range", json=_milestones(BID, 1, amount_minor=-1)),
    Bad("bid-milestones-below-price", "s3", "POST", "/tasks/{t_pub}/bids", 422, "milestones",
        "sum_equals_price", json={**BID, "price_minor": BID["price_minor"] + 1}),
    Bad("bid-milestones-above-price", "s3", "POST", "/tasks/{t_pub}/bids", 422, "milestones",
        "sum_equals_price", json={**BID, "price_minor": BID["price_minor"] - 1}),
    Bad("bid-milestone-due-naive", "s3", "POST", "/tasks/{t_pub}/bids", 400, "milestones[0].due",
        "timezone", json=_milestones(BID, 0, due="2030-01-01T00:00:00")),
    Bad("bid-milestone-due-past", "s3", "POST", "/tasks/{t_pub}/bids", 422, "milestones[0].due",
        "future", json=_milestones(BID, 0, due=in_days(-3))),
    Bad("bid-milestone-after-delivery", "s3", "POST", "/tasks/{t_pub}/bids", 422,
        "milestones[1].due", "within_delivery_deadline",
        json=_milestones(BID, 1, due=in_days(300))),
    Bad("bid-milestones-out-of-order", "s3", "POST", "/tasks/{t_pub}/bids", 422,
        "milestones[1].due", "ordered", json=_milestones(BID, 1, due=in_days(30))),
    Bad("bid-milestone-unknown-field", "s3", "POST", "/tasks/{t_pub}/bids", 400,
        "milestones[0].colour", "unknown_field", json=_milestones(BID, 0, colour="red")),
    Bad("bid-milestone-title-missing", "s3", "POST", "/tasks/{t_pub}/bids", 400,
        "milestones[0].title", "required",
        json={**BID, "milestones": [_without(BID["milestones"][0], "title"), BID["milestones"][1]]}),
    Bad("bid-duration-zero", "s3", "POST", "/tasks/{t_pub}/bids", 400, "duration_days", "range",
        json={**BID, "duration_days": 0}),
    Bad("bid-duration-too-long", "s3", "POST", "/tasks/{t_pub}/bids", 400, "duration_days",
        "range", json={**BID, "duration_days": 3651}),
    Bad("bid-proposal-over-long", "s3", "POST", "/tasks/{t_pub}/bids", 400, "proposal", "length",
        json={**BID, "proposal": LONG}),
    Bad("bid-too-many-team-members", "s3", "POST", "/tasks/{t_pub}/bids", 400, "team_members",
        "length", json={**BID, "team_members": [{"name": f"成员{i}"} for i in range(21)]}),
    Bad("bid-team-member-nameless", "s3", "POST", "/tasks/{t_pub}/bids", 400,
        "team_members[0].name", "required", json={**BID, "team_members": [{"role": "PI"}]}),
    Bad("bid-unknown-field", "s3", "POST", "/tasks/{t_pub}/bids", 400, "discount",
        "unknown_field", json={**BID, "discount": 5}),
    Bad("bid-by-poster", "poster", "POST", "/tasks/{t_pub}/bids", 403, ANY, "role", json=BID),
    Bad("bid-second-live", "s1", "POST", "/tasks/{t_pub}/bids", 409, "task_id", "one_live_bid",
        json=BID),
    Bad("bid-after-deadline", "s3", "POST", "/tasks/{t_late}/bids", 409, "bid_deadline",
        "deadline_passed", json=BID),
    Bad("bid-on-awarded", "s3", "POST", "/tasks/{t_awarded}/bids", 409, "task_id",
        "bidding_closed", json=BID),
    Bad("bid-on-draft", "s3", "POST", "/tasks/{t_draft}/bids", 404, "task_id", "not_found",
        json=BID),
    # -- bids: edit, withdraw, shortlist, decline, award ---------------------------------
    Bad("bid-edit-sum-mismatch", "s1", "PUT", "/bids/{b_live}", 422, "milestones",
        "sum_equals_price", json={**BID, "price_minor": 1}),
    Bad("bid-edit-unknown-field", "s1", "PUT", "/bids/{b_live}", 400, "status", "unknown_field",
        json={**BID, "status": "awarded"}),
    Bad("bid-edit-declined", "s2", "PUT", "/bids/{b_declined}", 409, "status",
        "illegal_transition", json=BID),
    Bad("bid-edit-by-other-solver", "s3", "PUT", "/bids/{b_live}", 404, "bid_id", "not_found",
        json=BID),
    Bad("bid-withdraw-declined", "s2", "POST", "/bids/{b_declined}/withdraw", 409, "status",
        "illegal_transition"),
    Bad("bid-withdraw-by-poster", "poster", "POST", "/bids/{b_live}/withdraw", 403, ANY, "owner"),
    Bad("bid-shortlist-declined", "poster", "POST", "/bids/{b_declined}/shortlist", 409, "status",
        "illegal_transition"),
    Bad("bid-decline-missing-reason", "poster", "POST", "/bids/{b_live}/decline", 400, "reason",
        "required", json={}),
    Bad("bid-decline-empty-reason", "poster", "POST", "/bids/{b_live}/decline", 400, "reason",
        "length", json={"reason": ""}),
    Bad("bid-decline-reason-over-long", "poster", "POST", "/bids/{b_live}/decline", 400, "reason",
        "length", json={"reason": "因" * 2_001}),
    Bad("bid-decline-declined", "poster", "POST", "/bids/{b_declined}/decline", 409, "status",
        "illegal_transition", json={"reason": "again"}),
    Bad("bid-award-terms-refused", "poster", "POST", "/bids/{b_live}/award", 422, "accept_terms",
        "must_accept", json={"accept_terms": False}),
    Bad("bid-award-terms-missing", "poster", "POST", "/bids/{b_live}/award", 400, "accept_terms",
        "required", json={}),
    Bad("bid-award-terms-wrong-type", "poster", "POST", "/bids/{b_live}/award", 400,
        "accept_terms", "type", json={"accept_terms": "yes"}),
    Bad("bid-award-second", "poster", "POST", "/bids/{b_lost}/award", 409, "status",
        "illegal_transition", json={"accept_terms": True}),
    Bad("bid-award-declined", "poster", "POST", "/bids/{b_declined}/award", 409, "status",
        "illegal_transition", json={"accept_terms": True}),
    Bad("bid-award-by-bidder", "s1", "POST", "/bids/{b_live}/award", 403, ANY, "owner",
        json={"accept_terms": True}),
    Bad("bid-id-out-of-range", "s1", "GET", "/bids/9223372036854775808", 400, "bid_id", "range"),
    # -- contracts: acceptance -----------------------------------------------------------
    Bad("contract-accept-terms-refused", "s1", "POST", "/contracts/{c_pending}/accept", 422,
        "accept_terms", "must_accept", json={"accept_terms": False}),
    Bad("contract-accept-unknown-field", "s1", "POST", "/contracts/{c_pending}/accept", 400,
        "signature", "unknown_field", json={"accept_terms": True, "signature": "s1"}),
    Bad("contract-accept-by-poster", "poster", "POST", "/contracts/{c_pending}/accept", 403, ANY,
        "party", json={"accept_terms": True}),
    Bad("contract-accept-twice", "s3", "POST", "/contracts/{c_active}/accept", 409, "status",
        "illegal_transition", json={"accept_terms": True}),
    # -- contracts: submissions (multipart) ----------------------------------------------
    Bad("submit-on-pending-contract", "s1", "POST",
        "/contracts/{c_pending}/milestones/{m_pending}/submissions", 409, "contract_id",
        "contract_not_active", data={"note": "提前交付"}, files=[("files", _file())]),
    Bad("submit-note-over-long", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_open}/submissions", 422, "note", "max_length",
        data={"note": LONG}),
    Bad("submit-note-nul", "s3", "POST", "/contracts/{c_active}/milestones/{m_open}/submissions",
        422, "note", "pattern", data={"note": "a\x00b"}),
    Bad("submit-nothing", "s3", "POST", "/contracts/{c_active}/milestones/{m_open}/submissions",
        422, "files", "non_empty", data={"note": "  "}),
    Bad("submit-disallowed-type", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_open}/submissions", 422, "file", "content_type",
        files=[("files", _file("x.sh", b"#!/bin/sh", "application/x-sh"))]),
    Bad("submit-oversized", "s3", "POST", "/contracts/{c_active}/milestones/{m_open}/submissions",
        422, "file", "max_size", files=[("files", _file(content=b"%" * (MAX_UPLOAD + 1)))]),
    Bad("submit-too-many-files", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_open}/submissions", 422, "files", "max_count",
        files=[("files", _file(f"r{i}.pdf")) for i in range(11)]),
    Bad("submit-unknown-form-field", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_open}/submissions", 422, "version", "unknown_field",
        data={"note": "v1", "version": "7"}),
    Bad("submit-files-as-text", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_open}/submissions", 422, "files", "type",
        data={"note": "v1", "files": "report.pdf"}),
    Bad("submit-on-disputed", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_disputed}/submissions", 409, "status",
        "illegal_transition", data={"note": "再次交付"}),
    Bad("submit-by-poster", "poster", "POST",
        "/contracts/{c_active}/milestones/{m_open}/submissions", 403, ANY, "party",
        data={"note": "我来交"}),
    # -- contracts: review, disputes, ratings --------------------------------------------
    Bad("accept-open-milestone", "poster", "POST",
        "/contracts/{c_active}/milestones/{m_open}/accept", 409, "status", "illegal_transition"),
    Bad("accept-disputed-milestone", "poster", "POST",
        "/contracts/{c_active}/milestones/{m_disputed}/accept", 409, "status",
        "illegal_transition"),
    Bad("revision-missing-comment", "poster", "POST",
        "/contracts/{c_active}/milestones/{m_open}/request-revision", 400, "comment", "required",
        json={}),
    Bad("revision-comment-over-long", "poster", "POST",
        "/contracts/{c_active}/milestones/{m_open}/request-revision", 400, "comment", "length",
        json={"comment": "改" * 5_001}),
    Bad("revision-open-milestone", "poster", "POST",
        "/contracts/{c_active}/milestones/{m_open}/request-revision", 409, "status",
        "illegal_transition", json={"comment": "请补充数据"}),
    Bad("dispute-empty-reason", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_open}/disputes", 400, "reason", "length",
        json={"reason": ""}),
    Bad("dispute-open-milestone", "s3", "POST",
        "/contracts/{c_active}/milestones/{m_open}/disputes", 409, "status",
        "illegal_transition", json={"reason": "未付款"}),
    Bad("dispute-pending-contract", "s1", "POST",
        "/contracts/{c_pending}/milestones/{m_pending}/disputes", 409, "contract_id",
        "contract_not_active", json={"reason": "x"}),
    Bad("rating-before-completion", "poster", "POST", "/contracts/{c_active}/ratings", 409,
        "contract_id", "not_completed", json={"score": 5}),
    Bad("rating-score-zero", "poster", "POST", "/contracts/{c_active}/ratings", 400, "score",
        "range", json={"score": 0}),
    Bad("rating-score-six", "poster", "POST", "/contracts/{c_active}/ratings", 400, "score",
        "range", json={"score": 6}),
    Bad("rating-score-wrong-type", "poster", "POST", "/contracts/{c_active}/ratings", 400,
        "score", "type", json={"score": "five"}),
    Bad("rating-score-missing", "poster", "POST", "/contracts/{c_active}/ratings", 400, "score",
        "required", json={"comment": "好"}),
    Bad("rating-comment-over-long", "poster", "POST", "/contracts/{c_active}/ratings", 400,
        "comment", "length", json={"score": 5, "comment": "好" * 5_001}),
    # -- admin: disputes -----------------------------------------------------------------
    Bad("resolve-outcome-unknown", "admin", "POST", "/admin/disputes/{dispute}/resolve", 400,
        "outcome", "enum", json={"outcome": "coin_toss"}),
    Bad("resolve-share-over-100", "admin", "POST", "/admin/disputes/{dispute}/resolve", 400,
        "solver_share_pct", "range", json={"outcome": "split", "solver_share_pct": 101}),
    Bad("resolve-split-without-share", "admin", "POST", "/admin/disputes/{dispute}/resolve", 422,
        "solver_share_pct", "split_range", json={"outcome": "split"}),
    Bad("resolve-split-share-100", "admin", "POST", "/admin/disputes/{dispute}/resolve", 422,
        "solver_share_pct", "split_range", json={"outcome": "split", "solver_share_pct": 100}),
    Bad("resolve-share-without-split", "admin", "POST", "/admin/disputes/{dispute}/resolve", 422,
        "solver_share_pct", "split_only", json={"outcome": "release", "solver_share_pct": 50}),
    Bad("resolve-by-poster", "poster", "POST", "/admin/disputes/{dispute}/resolve", 403, ANY,
        "role", json={"outcome": "refund"}),
    Bad("disputes-status-unknown", "admin", "GET", "/admin/disputes", 400, "status", "enum",
        params={"status": "pending"}),
]  # fmt: skip


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


def test_assert_unchanged_notices_changed_and_added_rows(world: World, engine: Engine) -> None:
    task_id = world.ids["t_draft"]
    title = update(Task).where(Task.id == task_id)
    with (
        pytest.raises(AssertionError, match="rows of tasks changed"),
        assert_unchanged(engine),
        engine.begin() as conn,
    ):
        conn.execute(title.values(title_en="changed behind the API's back"))
    with engine.begin() as conn:
        conn.execute(title.values(title_en=TASK["title_en"]))
    with (
        pytest.raises(AssertionError, match="row counts changed"),
        assert_unchanged(engine),
        engine.begin() as conn,
    ):
        conn.execute(insert(AuditEntry).values(entity="task", entity_id=task_id, action="x"))
    with engine.begin() as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.action == "x"))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_refused_with_a_problem_and_nothing_written(
    world: World, engine: Engine, case: Bad
) -> None:
    kwargs: dict[str, Any] = {"headers": dict(world.headers(case.actor))}
    for name in ("json", "params", "files", "data", "content"):
        value = getattr(case, name)
        if value is not None:
            kwargs[name] = value
    if case.content_type:
        kwargs["headers"]["content-type"] = case.content_type

    with assert_unchanged(engine):
        r = world.client.request(case.method, case.url.format(**world.ids), **kwargs)

    assert r.status_code == case.status, r.text
    assert r.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body = r.json()
    assert body["status"] == case.status
    error = body["errors"][0]
    if case.field is not ANY:
        assert error["field"] == case.field, body
    if case.rule is not None:
        assert error["rule"] == case.rule, body
