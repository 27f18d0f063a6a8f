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


# IPv6 prefixes that carry an IPv4 address inside: judged by that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped or ip.sixtofour:
            ip = ip.ipv4_mapped or ip.sixtofour  # type: ignore[assignment]
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return not ip.is_global


def literal_private_host(host: str) -> bool:
    """`host` is an IP literal outside the public internet, or a localhost name."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return _not_public(name)
    except ValueError:
        return False  # a name, not an address


def public_address_of(host: str, port: int) -> str:
    """The address to connect to for `host`, checked: RefusedTarget when `host` is, or
    resolves to, an address that is not public (loopback, private, link-local such as cloud
    metadata, reserved), so integrators' URLs cannot make the server call into its own
    network. The caller connects to this very address (no second look-up that a DNS answer
    could change in between). DNS trouble is retryable."""
    if literal_private_host(host):
        raise RefusedTarget(f"{host} is not a public address")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(sockaddr[0]) for *_, sockaddr in infos]
    for address in addresses:
        if _not_public(address):
            raise RefusedTarget(f"{host} resolves to {address}, not a public address")
    if not addresses:
        raise DeliveryError(f"cannot resolve {host}: no address")
    return addresses[0]


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
        if username and not starttls:
            # A password is never sent over an unencrypted session.
            raise DeliveryError(f"smtp {host}:{port}: a log-in needs MARKET_SMTP_STARTTLS")
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
    connect_to: str | None = None,
) -> None:
    """POST the signed body; with `connect_to`, to that (checked) address, the URL's host
    still named in the Host header and, over TLS, in SNI and the certificate check."""
    target = httpx.URL(url)
    extensions: dict[str, str] = {}
    if connect_to is not None:
        headers = {"Host": target.netloc.decode("ascii"), **headers}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        target = target.copy_with(host=connect_to)
    try:
        r = client.post(
            target,
            content=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(secret, timestamp, body),
                **headers,
            },
            timeout=WEBHOOK_TIMEOUT_S,
            extensions=extensions,
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DeliveryError(f"POST {url}: {type(exc).__name__}: {exc}") from exc
    if not 200 <= r.status_code < 300:
        raise DeliveryError(f"POST {url}: HTTP {r.status_code}")
