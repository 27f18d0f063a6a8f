"""The edges: e-mail over SMTP (stdlib smtplib) and signed webhooks over httpx."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import httpx

SMTP_TIMEOUT_S = 15.0
WEBHOOK_TIMEOUT_S = 10.0
SIGNATURE_HEADER = "X-Market-Signature"


class DeliveryError(Exception):
    """Sending failed in a way a retry may fix (the worker retries the job)."""


class RefusedTarget(Exception):
    """The webhook's host is not on the public internet: it is never contacted."""


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    mapped = getattr(ip, "ipv4_mapped", None)
    return not (mapped or ip).is_global


def literal_private_host(host: str) -> bool:
    """`host` is an IP literal outside the public internet, or a localhost name."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return _not_public(name)
    except ValueError:
        return False  # a name, not an address


def refuse_private_target(host: str, port: int) -> None:
    """Raise RefusedTarget when `host` is, or resolves to, an address that is not public
    (loopback, private, link-local such as cloud metadata, reserved): integrators' URLs
    must not make the server call into its own network. DNS trouble is retryable."""
    if literal_private_host(host):
        raise RefusedTarget(f"{host} is not a public address")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
    for *_, sockaddr in infos:
        if _not_public(str(sockaddr[0])):
            raise RefusedTarget(f"{host} resolves to {sockaddr[0]}, not a public address")


def email_message(
    *, sender: str, to: str, subject: str, body: str, message_id: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    # Stable per delivery: a message sent twice (a crash between sending and recording it)
    # is recognisably the same message.
    msg["Message-ID"] = message_id
    msg.set_content(body, charset="utf-8")
    return msg


def send_email(
    host: str,
    port: int,
    msg: EmailMessage,
    *,
    starttls: bool = False,
    username: str = "",
    password: str = "",
) -> None:
    """Send one message; with `starttls` the session is encrypted (certificate and host name
    verified) before anything else, and credentials, when given, are sent only after that."""
    try:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_S) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if username:
                smtp.login(username, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
        raise DeliveryError(f"smtp {host}:{port}: {type(exc).__name__}: {exc}") from exc


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def post_webhook(
    client: httpx.Client,
    url: str,
    secret: str,
    body: bytes,
    timestamp: int,
    headers: dict[str, str],
) -> None:
    try:
        r = client.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(secret, timestamp, body),
                **headers,
            },
            timeout=WEBHOOK_TIMEOUT_S,
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DeliveryError(f"POST {url}: {type(exc).__name__}: {exc}") from exc
    if not 200 <= r.status_code < 300:
        raise DeliveryError(f"POST {url}: HTTP {r.status_code}")
