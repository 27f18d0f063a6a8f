"""Provider webhooks: check the signature and age, keep each event once, book its money.

Written independently of the mock's own signing code: the market trusts only the
scheme (Stripe's `t=…,v1=HMAC-SHA256("t.body")`), not the mock's implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from market.db.base import utcnow
from market.errors import DomainError, InvalidInput
from market.escrow.models import ProviderEvent
from market.escrow.service import EscrowService
from market.uow import UnitOfWork


class BadWebhook(DomainError):
    status_code = 400
    title = "Invalid webhook"
    default_rule = "webhook"


def verify(payload: bytes, header: str | None, secret: str, tolerance_s: int, now: int) -> None:
    if not header:
        raise BadWebhook(
            "missing Stripe-Signature header", field="Stripe-Signature", rule="signature_missing"
        )
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadWebhook(
            "malformed Stripe-Signature header",
            field="Stripe-Signature",
            rule="signature_malformed",
        )
    if abs(now - timestamp) > tolerance_s:
        raise BadWebhook(
            "the webhook's timestamp is outside the tolerance",
            field="Stripe-Signature",
            rule="signature_expired",
        )
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise BadWebhook(
            "the webhook's signature does not match",
            field="Stripe-Signature",
            rule="signature_mismatch",
        )


def parse(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise BadWebhook("the webhook body is not JSON", field="body", rule="malformed") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
    ):
        raise BadWebhook("the webhook body is not an event", field="body", rule="not_an_event")
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, dict):
        raise BadWebhook("the event has no data.object", field="data.object", rule="not_an_event")
    return event


class WebhookService:
    def __init__(self, sessions: sessionmaker[Session], escrow: EscrowService) -> None:
        self._sessions = sessions
        self._escrow = escrow

    def receive(self, event: dict[str, Any]) -> str:
        """Book what the event reports, once. A replayed id changes nothing.

        The event is marked processed only after its booking succeeded, so one that failed
        is taken again when the provider retries; booking is idempotent, so a concurrent
        duplicate is harmless too.
        """
        with self._sessions() as s:
            seen = s.get(ProviderEvent, event["id"])
            if seen is not None and seen.processed_at is not None:
                return "duplicate"
        outcome = self._apply(event)
        with UnitOfWork(self._sessions) as uow:
            row = uow.session.get(ProviderEvent, event["id"])
            if row is None:
                uow.session.add(
                    ProviderEvent(
                        id=event["id"], type=event["type"], payload=event, processed_at=utcnow()
                    )
                )
            else:
                row.processed_at = utcnow()
            try:
                uow.commit()
            except IntegrityError:
                return "duplicate"
        return outcome

    def _apply(self, event: dict[str, Any]) -> str:
        obj = event["data"]["object"]
        meta = obj.get("metadata") or {}
        try:
            milestone_id = int(meta["milestone_id"])
        except (KeyError, TypeError, ValueError):
            return "ignored"  # not one of ours (or no money for a milestone)
        kind = event["type"]
        try:
            if kind == "payment_intent.succeeded" and meta.get("operation") == "fund":
                return self._escrow.book_fund(milestone_id, obj["id"], int(obj["amount"]))
            if kind == "transfer.created" and meta.get("operation") == "release":
                return self._escrow.book_release(milestone_id, obj["id"], int(meta["gross_minor"]))
            if kind == "refund.created" and meta.get("operation") == "refund":
                return self._escrow.book_refund(milestone_id, obj["id"], int(obj["amount"]))
        except (KeyError, ValueError) as exc:
            raise InvalidInput(
                f"event {event['id']} lacks {exc}", field="data.object", rule="event_fields"
            ) from exc
        return "ignored"
