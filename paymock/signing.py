"""Webhook signatures, Stripe's scheme.

Header: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
A receiver recomputes the HMAC over the raw bytes it got (never over re-serialised JSON),
compares in constant time, and rejects timestamps outside its tolerance to limit replays.
"""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "v1"


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign_header(payload: bytes, secret: str, timestamp: int) -> str:
    return f"t={timestamp},{SCHEME}={compute_signature(payload, secret, timestamp)}"


def parse_header(header: str) -> tuple[int, list[str]] | None:
    """(timestamp, v1 signatures), or None when the header is malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return None
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def verify_signature(payload: bytes, header: str, secret: str, tolerance_s: int, now: int) -> bool:
    """True when one v1 signature matches and ``t`` is within ``tolerance_s`` of ``now``.

    Several v1 entries may be present (Stripe sends one per secret while a secret is being
    rolled); any match suffices. The tolerance applies both ways to bound clock skew.
    """
    parsed = parse_header(header)
    if parsed is None:
        return False
    timestamp, signatures = parsed
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = compute_signature(payload, secret, timestamp)
    # Check all candidates so timing does not reveal which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    return matched
