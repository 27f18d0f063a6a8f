"""A thin client over the HTTP API for tests: actors log in, then act through real requests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import TestClient

PASSWORD = "correct-horse-9"
_seq = itertools.count(1)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def in_days(days: float) -> str:
    return iso(datetime.now(UTC) + timedelta(days=days))


@dataclass
class Actor:
    id: int
    email: str
    role: str
    token: str
    org_id: int | None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}


def task_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title_zh": "海上平台耐腐蚀焊接工艺研发",
        "title_en": "Corrosion-resistant welding for offshore platforms",
        "summary_zh": "为海工装备开发耐海水腐蚀的焊接工艺。",
        "summary_en": "Develop a seawater-resistant welding process for offshore equipment.",
        "description_zh": "焊缝在盐雾试验中 2000 小时无点蚀，抗拉强度不低于母材的 95%。",
        "description_en": "Welds must pass 2,000 h salt spray without pitting and keep 95% of base tensile strength.",
        "required_skills": ["焊接", "welding metallurgy", "有限元分析"],
        "industry": "offshore_equipment",
        "district": "tongzhou",
        "zone": "nantong_hi_tech_zone",
        "trl_current": 3,
        "trl_target": 6,
        "budget_minor": 50_000_000,
        "bid_deadline": in_days(20),
        "delivery_deadline": in_days(200),
        "bidding_mode": "open",
        "ip_terms": "exclusive_licence",
        "confidentiality": "public",
    }
    body.update(overrides)
    return body


def bid_payload(price: int = 30_000_000, parts: int = 2, **overrides: Any) -> dict[str, Any]:
    amounts = [price // parts] * parts
    amounts[-1] += price - sum(amounts)
    body: dict[str, Any] = {
        "price_minor": price,
        "duration_days": 120,
        "proposal": "我们团队在海工焊接方面有十年经验。",
        "milestones": [
            {
                "title": f"阶段 {i + 1}",
                "deliverable": f"第 {i + 1} 阶段报告",
                "amount_minor": a,
                "due": in_days(40 * (i + 1)),
            }
            for i, a in enumerate(amounts)
        ],
        "team_members": [{"name": "李工", "role": "焊接工程师"}],
    }
    body.update(overrides)
    return body


class Api:
    def __init__(self, client: TestClient[Any], jobs: Any = None) -> None:
        self.c = client
        self.jobs = jobs

    # -- actors ---------------------------------------------------------------------------
    def login(self, email: str, password: str = PASSWORD) -> Actor:
        r = self.c.post("/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        body = r.json()
        u = body["user"]
        org = u["organisation"]
        return Actor(u["id"], u["email"], u["role"], body["token"], org["id"] if org else None)

    def poster(self, name: str = "poster") -> Actor:
        email = f"{name}{next(_seq)}@firm.example"
        r = self.c.post(
            "/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "display_name": name,
                "role": "poster",
                "organisation": {"name_zh": f"{name} 科技有限公司", "name_en": f"{name} Tech Co."},
            },
        )
        assert r.status_code == 201, r.text
        return self.login(email)

    def solver(self, name: str = "solver", profile: dict[str, Any] | None = None) -> Actor:
        email = f"{name}{next(_seq)}@lab.example"
        r = self.c.post(
            "/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "display_name": name,
                "role": "solver",
                "language": "zh",
            },
        )
        assert r.status_code == 201, r.text
        actor = self.login(email)
        if profile is not None:
            r = self.c.put("/me/profile", json=profile, headers=actor.headers)
            assert r.status_code == 200, r.text
        return actor

    def admin(self) -> Actor:
        email = f"admin{next(_seq)}@platform.example"
        self.c.app.state["services"].accounts.bootstrap_admin(email, PASSWORD, "管理员")
        return self.login(email)

    def official(self, admin: Actor, district: str = "tongzhou_bay") -> Actor:
        r = self.c.post(
            "/admin/organisations",
            json={
                "name_zh": "通州湾科技局",
                "name_en": "Tongzhou Bay S&T Bureau",
                "kind": "district",
                "district": district,
            },
            headers=admin.headers,
        )
        assert r.status_code == 201, r.text
        email = f"official{next(_seq)}@gov.example"
        r = self.c.post(
            "/admin/users",
            json={
                "email": email,
                "password": PASSWORD,
                "display_name": "王科长",
                "role": "official",
                "org_id": r.json()["id"],
            },
            headers=admin.headers,
        )
        assert r.status_code == 201, r.text
        return self.login(email)

    # -- steps ----------------------------------------------------------------------------
    def published_task(self, poster: Actor, **overrides: Any) -> dict[str, Any]:
        r = self.c.post("/tasks", json=task_payload(**overrides), headers=poster.headers)
        assert r.status_code == 201, r.text
        r = self.c.post(f"/tasks/{r.json()['id']}/publish", headers=poster.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def bid(self, solver: Actor, task_id: int, **overrides: Any) -> dict[str, Any]:
        r = self.c.post(
            f"/tasks/{task_id}/bids", json=bid_payload(**overrides), headers=solver.headers
        )
        assert r.status_code == 201, r.text
        return r.json()

    def contract(self, poster: Actor, solver: Actor, **task_overrides: Any) -> dict[str, Any]:
        """A published task, one bid, awarded and accepted: an active contract."""
        task = self.published_task(poster, **task_overrides)
        bid = self.bid(solver, task["id"])
        r = self.c.post(
            f"/bids/{bid['id']}/award", json={"accept_terms": True}, headers=poster.headers
        )
        assert r.status_code == 201, r.text
        r = self.c.post(
            f"/contracts/{r.json()['id']}/accept",
            json={"accept_terms": True},
            headers=solver.headers,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def submit(
        self,
        solver: Actor,
        contract_id: int,
        milestone_id: int,
        note: str = "交付报告 v1",
        content: bytes = b"%PDF-1.4 report",
    ) -> Any:
        return self.c.post(
            f"/contracts/{contract_id}/milestones/{milestone_id}/submissions",
            data={"note": note},
            files=[("files", ("report.pdf", content, "application/pdf"))],
            headers=solver.headers,
        )
