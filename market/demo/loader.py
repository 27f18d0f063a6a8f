"""Loads the demo data (market/demo/data.json) through the services, so it obeys every rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select

from market.accounts.domain import CurrentUser, Language, OrgKind, Role
from market.accounts.models import SolverProfile, User
from market.accounts.service import AccountService
from market.bids.schemas import BidInput
from market.bids.service import BidService
from market.db.base import utcnow
from market.db.engine import make_engine, make_session_factory
from market.settings import Settings
from market.tasks.schemas import TaskInput
from market.tasks.service import TaskService
from market.uow import UnitOfWork

DATA = Path(__file__).with_name("data.json")
DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - public demo log-in, printed on start
DEMO_LOGINS = [
    ("poster@demo.example", DEMO_PASSWORD, "enterprise poster / 企业发布方"),
    ("solver@demo.example", DEMO_PASSWORD, "solver / 解题方"),
    ("official@demo.example", DEMO_PASSWORD, "district official / 区科技局"),
    ("admin@demo.example", DEMO_PASSWORD, "platform admin / 平台管理员"),
]


def load_demo(settings: Settings, echo: Callable[[str], Any] = print) -> bool:
    """Load once; returns False when the demo is already there."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    engine = make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    try:
        with sessions() as s:
            if s.scalar(select(User.id).where(User.email == DEMO_LOGINS[0][0])):
                echo("demo data already loaded")
                return False
        accounts = AccountService(sessions, settings)
        tasks = TaskService(sessions, settings)
        bids = BidService(sessions, settings)

        orgs: dict[str, int] = {}
        for o in data["organisations"]:
            orgs[o["key"]] = accounts.create_organisation(
                OrgKind(o["kind"]), o["name_zh"], o["name_en"], o.get("district"), None
            ).id
        echo(f"organisations: {len(orgs)}")

        users: dict[str, CurrentUser] = {}
        with UnitOfWork(sessions) as uow:
            for u in data["users"]:
                user = User(
                    email=u["email"],
                    password_hash=accounts.hash_password(u["password"]),
                    display_name=u["display_name"],
                    role=u["role"],
                    org_id=orgs.get(u["org_key"]) if u.get("org_key") else None,
                    language=u["language"],
                )
                uow.session.add(user)
                uow.session.flush()
                p = u.get("profile")
                if p:
                    uow.session.add(
                        SolverProfile(
                            user_id=user.id,
                            headline_zh=p.get("headline_zh", ""),
                            headline_en=p.get("headline_en", ""),
                            skills=p["skills"],
                            fields=p["fields"],
                            bio_zh=p["bio_zh"],
                            bio_en=p["bio_en"],
                            languages=p["languages"],
                            district=p.get("district"),
                        )
                    )
                uow.record(
                    actor_id=None,
                    entity="user",
                    entity_id=user.id,
                    action="register",
                    to_state="active",
                )
                users[u["email"]] = CurrentUser(
                    id=user.id,
                    email=user.email,
                    role=Role(user.role),
                    org_id=user.org_id,
                    language=Language(user.language),
                    display_name=user.display_name,
                )
            uow.commit()
        echo(f"users: {len(users)}")

        now = utcnow()
        task_ids: dict[str, int] = {}
        for i, t in enumerate(data["tasks"], 1):
            author = users[t["created_by_email"]]
            fields = {
                k: v
                for k, v in t.items()
                if k
                not in {
                    "key",
                    "org_key",
                    "created_by_email",
                    "status",
                    "bid_deadline_days",
                    "delivery_deadline_days",
                }
            }
            fields["bid_deadline"] = (now + timedelta(days=t["bid_deadline_days"])).isoformat()
            fields["delivery_deadline"] = (
                now + timedelta(days=t["delivery_deadline_days"])
            ).isoformat()
            created = tasks.create(author, msgspec.convert(fields, TaskInput, strict=False))
            if t["status"] == "published":
                tasks.publish(author, created.id)
            task_ids[t["key"]] = created.id
            if i % 12 == 0:
                echo(f"tasks: {i}/{len(data['tasks'])}")

        for b in data.get("bids", []):
            solver = users[b["solver_email"]]
            task_id = task_ids[b["task_key"]]
            tasks.accept_nda(solver, task_id)
            plan = {
                "price_minor": b["price_minor"],
                "duration_days": b["duration_days"],
                "proposal": b["proposal"],
                "team_members": b.get("team_members", []),
                "milestones": [
                    {
                        "title": m["title"],
                        "deliverable": m["deliverable"],
                        "amount_minor": m["amount_minor"],
                        "due": (now + timedelta(days=m["due_in_days"])).isoformat(),
                    }
                    for m in b["milestones"]
                ],
            }
            bids.place(solver, task_id, msgspec.convert(plan, BidInput, strict=False))
        echo(f"bids: {len(data.get('bids', []))}")
        # Search and "tasks for me" work at once, before the worker catches up.
        from market.discovery.rebuild import reindex

        reindex(settings, engine, progress_bar=False, echo=echo)
        return True
    finally:
        engine.dispose()
