"""Real edges for the notification tests: an SMTP server (aiosmtpd) and a webhook receiver
(uvicorn), both on localhost. Every test here runs with e-mail turned on."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar, Request, Response, post
from litestar.testing import TestClient

from market.settings import Settings
from tests.conftest import make_settings
from tests.servers import Provider, serve


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(box, port)
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Mailbox:
    smtp_server.mailbox.clear()
    return smtp_server.mailbox


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, provider: Provider, smtp_server: SmtpServer
) -> Settings:
    """conftest's settings, with e-mail going to the local SMTP server."""
    return replace(
        make_settings(database_url, tmp_path, provider),
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        public_url="https://market.example",
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """An integrator's endpoint: records every POST; answers `fail_next` of them with 503."""

    url: str = ""
    calls: list[Received] = field(default_factory=list)
    fail_next: int = 0

    def reset(self) -> None:
        self.calls.clear()
        self.fail_next = 0


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[Receiver]:
    receiver = Receiver()

    @post("/{path:path}", status_code=204)
    async def hook(path: str, request: Request[Any, Any, Any]) -> Response[None]:
        body = await request.body()
        status = 204
        if receiver.fail_next > 0:
            receiver.fail_next -= 1
            status = 503
        receiver.calls.append(Received(path, dict(request.headers), body, status))
        return Response(None, status_code=status)

    with serve(Litestar([hook])) as url:
        receiver.url = url
        yield receiver


@pytest.fixture
def receiver(webhook_server: Receiver) -> Receiver:
    webhook_server.reset()
    return webhook_server


@contextlib.contextmanager
def background_paused(client: TestClient[Any]) -> Iterator[None]:
    """Requests inside leave their background work pending (for the test to run by hand)."""
    hooks = client.event_hooks["response"]
    saved = list(hooks)
    hooks.clear()
    try:
        yield
    finally:
        hooks.extend(saved)
