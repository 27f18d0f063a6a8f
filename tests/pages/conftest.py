"""The pages served for a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; nothing downloads a browser), over the demo data.

The browser tests run on SQLite only: on PostgreSQL they would double their ~15 s, and the
pages reach the database only through the services, which every backend test covers
(the pages' own authorization matrix, test_page_matrix.py, runs on both).

As `tests.conftest.open_client` does for the API's TestClient, the served app runs the
background work (funding, release, notifications, indexing) right after each write and
before the answer leaves, as a prompt worker would: the next page the browser loads
already shows the funded or released escrow and the new notifications.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import Engine

from market.app import create_app
from market.db.engine import make_engine
from market.db.migrate import upgrade
from market.demo.loader import DEMO_PASSWORD, load_demo
from market.escrow.gateway import PaymentsGateway
from market.jobs import JobContext, build_job_context
from market.outbox.dispatch import drain
from market.settings import Settings
from tests.conftest import make_settings
from tests.servers import Provider, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SOLVER = "solver@demo.example"
POSTER = "poster@demo.example"


class DrainAfterWrites:
    """ASGI wrapper: after a non-GET request the jobs drain, then the held answer is sent."""

    def __init__(self, app: Any, jobs: JobContext) -> None:
        self.app, self.jobs = app, jobs
        self._lock = threading.Lock()  # one drain at a time, like one prompt worker

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await anyio.to_thread.run_sync(self._drain)
        for message in held:
            await send(message)

    def _drain(self) -> None:
        with self._lock:
            drain(self.jobs)


@dataclass
class Site:
    url: str
    settings: Settings
    engine: Engine
    jobs: JobContext

    def token(self, email: str) -> str:
        """A token from the API's log-in: the same kind a page session holds."""
        r = httpx.post(f"{self.url}/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    def api_login(self, email: str) -> dict[str, str]:
        """Bearer headers for the API of the same server (set-up and cross-checks)."""
        return {"Authorization": f"Bearer {self.token(email)}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, shared_provider: Provider) -> Iterator[Site]:
    """The demo in its own SQLite database, served on a free port, one per module."""
    data_dir = tmp_path_factory.mktemp("pages")
    database_url = f"sqlite:///{data_dir / 'market.db'}"
    upgrade(database_url)
    settings = make_settings(database_url, data_dir, shared_provider)
    load_demo(settings, echo=lambda _: None)
    engine = make_engine(database_url)
    app = create_app(settings, engine, background=False)
    gateway = PaymentsGateway(
        shared_provider.url, Provider.SECRET, backoff_base_s=0.01, backoff_max_s=0.05
    )
    jobs = build_job_context(settings, engine, gateway)
    try:
        drain(jobs)  # the demo's own events (bids placed, indexing)
        with serve(DrainAfterWrites(app, jobs)) as url:
            yield Site(url, settings, engine, jobs)
    finally:
        jobs.close()
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "no /usr/bin/chromium: `./dev test` installs it with apt-get "
            "(apt-get install chromium fonts-noto-cjk)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
