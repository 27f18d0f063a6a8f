from __future__ import annotations

from tests.helpers import Api


def test_health_names_the_database(api: Api, database_url: str) -> None:
    r = api.c.get("/health")
    assert r.status_code == 200
    assert r.json()["database"] == database_url.split(":")[0].split("+")[0]
