"""E-mail through an SMTP server that requires STARTTLS and a log-in (aiosmtpd with a
self-signed certificate made for the test): the market encrypts first, verifies the
certificate, then logs in; wrong credentials, a refused STARTTLS or an untrusted
certificate deliver nothing and leave the delivery to be retried."""

from __future__ import annotations

import dataclasses
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select

from market.notifications.channels import DeliveryError, email_message, send_email
from market.notifications.models import NotificationDelivery
from market.settings import Settings
from tests.conftest import make_settings
from tests.helpers import Api
from tests.market.notifications.conftest import Mailbox, free_port
from tests.servers import Provider

USER, PASSWORD = "market-mailer", "s3cret-pass"


@dataclasses.dataclass
class TlsSmtp:
    mailbox: Mailbox
    port: int
    cert: Path
    logins: list[str]


@pytest.fixture(scope="module")
def tls_smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsSmtp]:
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[str] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    box, port = Mailbox(), free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield TlsSmtp(box, port, cert, logins)
    finally:
        controller.stop()


@pytest.fixture
def trusted(tls_smtp: TlsSmtp, monkeypatch: pytest.MonkeyPatch) -> TlsSmtp:
    """The test's certificate is the one the client trusts (OpenSSL reads SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_smtp.cert))
    tls_smtp.mailbox.clear()
    tls_smtp.logins.clear()
    return tls_smtp


@pytest.fixture
def settings(database_url: str, tmp_path: Path, provider: Provider, tls_smtp: TlsSmtp) -> Settings:
    return dataclasses.replace(
        make_settings(database_url, tmp_path, provider),
        smtp_host="127.0.0.1",
        smtp_port=tls_smtp.port,
        smtp_starttls=True,
        smtp_username=USER,
        smtp_password=PASSWORD,
    )


def _message() -> EmailMessage:
    return email_message(
        sender="noreply@rd-market.example",
        to="solver@lab.example",
        subject="新投标 / New bid",
        body="您好 hello",
        message_id="<t-1@rd-market.example>",
    )


def test_mail_goes_out_encrypted_and_logged_in(api: Api, engine: Engine, trusted: TlsSmtp) -> None:
    poster, solver = api.poster("海工"), api.solver()
    task = api.published_task(poster)
    api.bid(solver, task["id"])  # the poster is told by e-mail

    (mail,) = trusted.mailbox.to(poster.email)
    assert "收到新投标" in mail["Subject"]
    assert trusted.logins == [USER]
    with engine.connect() as conn:
        statuses = conn.scalars(
            select(NotificationDelivery.status).where(NotificationDelivery.channel == "email")
        ).all()
    assert statuses == ["sent"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"password": "wrong"}, "SMTPAuthenticationError"),
        # A log-in without STARTTLS is refused before connecting: no password in clear.
        ({"starttls": False}, "a log-in needs MARKET_SMTP_STARTTLS"),
        # Without a log-in either, this server wants STARTTLS first: nothing is sent.
        ({"starttls": False, "username": "", "password": ""}, "530"),
    ],
)
def test_refused_sessions_deliver_nothing(
    trusted: TlsSmtp, change: dict[str, Any], error: str
) -> None:
    options: dict[str, Any] = {"starttls": True, "username": USER, "password": PASSWORD} | change
    with pytest.raises(DeliveryError, match=error):
        send_email("127.0.0.1", trusted.port, _message(), **options)
    assert trusted.mailbox.messages == [] and trusted.logins == []


def test_an_untrusted_certificate_is_refused(
    tls_smtp: TlsSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    tls_smtp.mailbox.clear()
    tls_smtp.logins.clear()
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        send_email(
            "127.0.0.1", tls_smtp.port, _message(), starttls=True, username=USER, password=PASSWORD
        )
    assert tls_smtp.mailbox.messages == [] and tls_smtp.logins == []
