from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, select

from market.outbox.models import OutboxEvent
from tests.helpers import PASSWORD, Actor, Api

TASK_ZH = "海上平台耐腐蚀焊接工艺研发"
TASK_EN = "Corrosion-resistant welding for offshore platforms"


def inbox(api: Api, actor: Actor, **params: Any) -> dict[str, Any]:
    r = api.c.get("/notifications", params={"page_size": 100, **params}, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def kinds(api: Api, actor: Actor) -> list[str]:
    """The actor's notification kinds, oldest first."""
    return [n["kind"] for n in reversed(inbox(api, actor)["items"])]


def english_solver(api: Api, name: str = "Dr Smith") -> Actor:
    email = f"{name.replace(' ', '').lower()}-{uuid.uuid4().hex[:8]}@lab.example"
    r = api.c.post(
        "/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "display_name": name,
            "role": "solver",
            "language": "en",
        },
    )
    assert r.status_code == 201, r.text
    return api.login(email)


def colleague(api: Api, admin: Actor, poster: Actor, language: str, name: str) -> Actor:
    """Another poster of the poster's enterprise (admins add users to organisations)."""
    email = f"{name.replace(' ', '').lower()}-{uuid.uuid4().hex[:8]}@firm.example"
    r = api.c.post(
        "/admin/users",
        json={
            "email": email,
            "password": PASSWORD,
            "display_name": name,
            "role": "poster",
            "org_id": poster.org_id,
            "language": language,
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    return api.login(email)


def last_event(engine: Engine, event_type: str) -> tuple[int, dict[str, Any]]:
    with engine.connect() as conn:
        row = conn.execute(
            select(OutboxEvent.id, OutboxEvent.payload)
            .where(OutboxEvent.event_type == event_type)
            .order_by(OutboxEvent.id.desc())
            .limit(1)
        ).one()
    return row[0], dict(row[1])
