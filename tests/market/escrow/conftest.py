"""A real payment provider for escrow tests: the mock, served over HTTP on localhost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from market.escrow.gateway import PaymentsGateway
from market.jobs import JobContext, build_job_context
from market.settings import Settings
from paymock.app import create_app as create_paymock
from paymock.settings import PaymockSettings
from tests.servers import serve

SECRET = "sk_test_mock"


class Provider:
    """The mock as the tests see it: its URL, and what money it moved."""

    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.app = app
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {SECRET}"})

    def movements(self) -> dict[str, Any]:
        return self.http.get("/v1/_mock/movements").json()  # type: ignore[no-any-return]

    def balance(self) -> int:
        return int(self.http.get("/v1/balance").json()["available"][0]["amount"])


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Provider]:
    app = create_paymock(
        PaymockSettings(
            database_url=f"sqlite:///{tmp_path / 'paymock.db'}",
            webhook_worker=False,
            secret_key=SECRET,
        )
    )
    with serve(app) as url:
        p = Provider(url, app)
        yield p
        p.http.close()


@pytest.fixture
def jobs(settings: Settings, engine: Engine, app: Any, provider: Provider) -> Iterator[JobContext]:
    """The background jobs' context, paying through the mock; `app` empties the tables first."""
    gateway = PaymentsGateway(provider.url, SECRET, backoff_base_s=0.01, backoff_max_s=0.05)
    ctx = build_job_context(settings, engine, gateway)
    yield ctx
    ctx.close()
