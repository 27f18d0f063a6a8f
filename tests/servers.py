"""Real servers for tests: an ASGI app under uvicorn on a free localhost port."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free localhost port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class Provider:
    """The payment mock as the tests see it: its URL, and what money it moved."""

    SECRET = "sk_test_mock"

    def __init__(self, url: str, app: Any) -> None:
        import httpx

        self.url = url
        self.app = app
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {self.SECRET}"})

    def movements(self) -> dict[str, Any]:
        return self.http.get("/v1/_mock/movements").json()  # type: ignore[no-any-return]

    def balance(self) -> int:
        return int(self.http.get("/v1/balance").json()["available"][0]["amount"])


@contextlib.contextmanager
def payment_provider(db_path: Any, **overrides: Any) -> Iterator[Provider]:
    """A fresh payment mock with its own SQLite database, served on localhost."""
    from paymock.app import create_app
    from paymock.settings import PaymockSettings

    settings = PaymockSettings(database_url=f"sqlite:///{db_path}", webhook_worker=False, secret_key=Provider.SECRET, **overrides)
    app = create_app(settings)
    with serve(app) as url:
        p = Provider(url, app)
        try:
            yield p
        finally:
            p.http.close()
