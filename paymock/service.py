"""The rules of the mock: state machines, balance, idempotency, events.

Every state change, its balance line and its events (with their webhook deliveries) are
written in one transaction. With an idempotency key, the stored response joins that same
transaction, so "the work happened" and "the response is stored" cannot disagree.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Engine, Insert, delete, func, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from paymock.faults import FaultInjector
from paymock.models import (
    BalanceTransaction,
    Base,
    Charge,
    Event,
    IdempotencyKey,
    PaymentIntent,
    Platform,
    Refund,
    Transfer,
    WebhookDelivery,
)
from paymock.schemas import (
    API_VERSION,
    CURRENCIES,
    MAX_IDEMPOTENCY_KEY_LEN,
    BalanceAmount,
    BalanceOut,
    BalanceTransactionOut,
    ChargeOut,
    ListOut,
    Params,
    PaymentIntentOut,
    RefundOut,
    StripeError,
    TransferOut,
    encode,
    invalid,
    missing,
    params_fingerprint,
)
from paymock.settings import PaymockSettings

ModelT = TypeVar("ModelT", bound=Base)

_ALPHABET = string.ascii_letters + string.digits

# Stripe's test payment methods that decline; any other pm_* succeeds.
DECLINING_PAYMENT_METHODS: dict[str, tuple[str, str | None, str]] = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", None, "Your card has expired."),
}
DEFAULT_PAYMENT_METHOD = "pm_card_visa"
CONFIRMABLE = ("requires_payment_method", "requires_confirmation")
CANCELABLE = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(24))}"


@dataclass(slots=True)
class ApiResult:
    status: int
    body: bytes
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class RequestContext:
    """What the service needs to know about the HTTP request it is serving."""

    method: str
    path: str
    idempotency_key: str | None = None
    request_id: str = field(default_factory=lambda: new_id("req"))


@dataclass(slots=True, frozen=True)
class _Claim:
    seq: int
    token: str


class _LostClaimError(Exception):
    """Another request took over our stale idempotency claim; our work must not land."""


Outcome = tuple[int, Any]
Operation = Callable[[Session], Outcome]


def _error_result(exc: StripeError) -> ApiResult:
    return ApiResult(exc.status, exc.body())


def _in_progress(key: str) -> StripeError:
    return StripeError(
        409,
        "idempotency_error",
        "There is currently another in-progress request using this Idempotency-Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        f"{key}. Please try again later.",
        code="idempotency_key_in_use",
    )


def _insert_now(session: Session, row: Base) -> None:
    """INSERT a new row at once, in the session's transaction, without the ORM's unit of
    work (its flush costs more than the statement here). For rows nothing reads back as
    objects within the request: balance lines, events, webhook deliveries, transfers."""
    mapper = inspect(type(row))
    values = {
        prop.columns[0].name: value
        for prop in mapper.column_attrs
        if (value := getattr(row, prop.key)) is not None
    }
    session.connection().execute(insert(mapper.local_table), values)


def _to_dict(obj: msgspec.Struct) -> dict[str, Any]:
    out = msgspec.to_builtins(obj)
    assert isinstance(out, dict)
    return out


# ---------------------------------------------------------------------------------------
# Serialisation of rows into Stripe objects


def pi_out(pi: PaymentIntent) -> PaymentIntentOut:
    return PaymentIntentOut(
        id=pi.id,
        amount=pi.amount,
        amount_capturable=pi.amount_capturable,
        amount_received=pi.amount_received,
        capture_method=pi.capture_method,
        currency=pi.currency,
        status=pi.status,
        payment_method=pi.payment_method,
        latest_charge=pi.latest_charge,
        last_payment_error=pi.last_payment_error,
        description=pi.description,
        metadata=dict(pi.metadata_json or {}),
        canceled_at=pi.canceled_at,
        cancellation_reason=pi.cancellation_reason,
        transfer_group=pi.transfer_group,
        created=pi.created,
    )


def charge_out(ch: Charge) -> ChargeOut:
    return ChargeOut(
        id=ch.id,
        amount=ch.amount,
        amount_captured=ch.amount_captured,
        amount_refunded=ch.amount_refunded,
        balance_transaction=ch.balance_transaction,
        captured=ch.captured,
        currency=ch.currency,
        failure_code=ch.failure_code,
        failure_message=ch.failure_message,
        metadata=dict(ch.metadata_json or {}),
        paid=ch.status == "succeeded",
        payment_intent=ch.payment_intent,
        payment_method=ch.payment_method,
        refunded=ch.refunded,
        status=ch.status,
        created=ch.created,
    )


def transfer_out(tr: Transfer) -> TransferOut:
    return TransferOut(
        id=tr.id,
        amount=tr.amount,
        balance_transaction=tr.balance_transaction,
        currency=tr.currency,
        description=tr.description,
        destination=tr.destination,
        metadata=dict(tr.metadata_json or {}),
        transfer_group=tr.transfer_group,
        created=tr.created,
    )


def refund_out(rf: Refund) -> RefundOut:
    return RefundOut(
        id=rf.id,
        amount=rf.amount,
        balance_transaction=rf.balance_transaction,
        charge=rf.charge,
        currency=rf.currency,
        metadata=dict(rf.metadata_json or {}),
        payment_intent=rf.payment_intent,
        reason=rf.reason,
        status=rf.status,
        created=rf.created,
    )


def txn_out(bt: BalanceTransaction) -> BalanceTransactionOut:
    return BalanceTransactionOut(
        id=bt.id,
        amount=bt.amount,
        currency=bt.currency,
        description=bt.description,
        net=bt.amount,
        source=bt.source,
        type=bt.type,
        created=bt.created,
        available_on=bt.created,
    )


class PaymockService:
    def __init__(self, engine: Engine, settings: PaymockSettings, faults: FaultInjector) -> None:
        self.engine = engine
        self.settings = settings
        self.faults = faults
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def now(self) -> float:
        return self.settings.clock()

    def _ts(self) -> int:
        return int(self.now())

    def _latency(self) -> None:
        if self.faults.latency_s > 0:
            time.sleep(self.faults.latency_s)

    # -----------------------------------------------------------------------------------
    # Idempotency

    def _post(self, ctx: RequestContext, params: dict[str, Any], op: Operation) -> ApiResult:
        """Run a POST's operation under Stripe's idempotency rules.

        Parameters were validated before this point: Stripe stores a result only once the
        endpoint has begun executing, so a request rejected by validation may be corrected
        and retried under the same key.
        """
        claim: _Claim | None = None
        if ctx.idempotency_key is not None:
            claimed = self._claim(ctx, params_fingerprint(params))
            if isinstance(claimed, ApiResult):
                return claimed
            claim = claimed
        self._latency()  # inside the claim, so concurrent retries meet an in-progress key
        try:
            with self.sessions.begin() as s:
                status, payload = op(s)
                body = payload if isinstance(payload, bytes) else encode(payload)
                if claim is not None:
                    self._finish_claim(s, claim, status, body)
            return ApiResult(status, body)
        except StripeError as exc:
            # The operation rolled back; its error is still the key's stored answer.
            if claim is not None:
                try:
                    with self.sessions.begin() as s:
                        self._finish_claim(s, claim, exc.status, exc.body())
                except _LostClaimError:
                    return _error_result(_in_progress(ctx.idempotency_key or ""))
            return _error_result(exc)
        except _LostClaimError:
            return _error_result(_in_progress(ctx.idempotency_key or ""))
        except BaseException:
            # Nothing was done; free the key so a retry can run (the client sees a 500).
            if claim is not None:
                self._release(claim)
            raise

    def _claim(self, ctx: RequestContext, fingerprint: str) -> _Claim | ApiResult:
        key = ctx.idempotency_key
        assert key is not None
        if len(key) > MAX_IDEMPOTENCY_KEY_LEN or not key.strip():
            return _error_result(
                invalid(
                    f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters",
                    param="Idempotency-Key",
                )
            )
        for _ in range(3):
            try:
                return self._try_claim(ctx, key, fingerprint)
            except IntegrityError:
                # Two first uses raced on the unique key; look again and meet the winner.
                continue
        return _error_result(_in_progress(key))

    def _try_claim(self, ctx: RequestContext, key: str, fingerprint: str) -> _Claim | ApiResult:
        s = self.settings
        now = self.now()
        token = secrets.token_hex(16)
        with self.sessions.begin() as session:
            # A key's first use (the usual case): one INSERT that does nothing on a known
            # key. Only then is the row read (and locked) to replay it or report it in use.
            seq = (
                session.connection()
                .execute(
                    self._insert_key(session)
                    .values(
                        key=key,
                        method=ctx.method,
                        path=ctx.path,
                        params_hash=fingerprint,
                        status="in_progress",
                        lock_token=token,
                        locked_at=now,
                        created_at=now,
                    )
                    .returning(IdempotencyKey.__table__.c.seq)
                )
                .scalar()
            )
            if seq is not None:
                return _Claim(seq, token)
            row = session.execute(
                select(IdempotencyKey).where(IdempotencyKey.key == key).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                row = IdempotencyKey(
                    key=key,
                    method=ctx.method,
                    path=ctx.path,
                    params_hash=fingerprint,
                    status="in_progress",
                    lock_token=token,
                    locked_at=now,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                return _Claim(row.seq, token)
            if now - row.created_at >= s.idempotency_ttl_s:
                # Pruned after 24 h: the key is new again, whatever it was used for.
                row.method, row.path, row.params_hash = ctx.method, ctx.path, fingerprint
                row.status, row.lock_token, row.locked_at = "in_progress", token, now
                row.created_at, row.response_status, row.response_body = now, None, None
                return _Claim(row.seq, token)
            if (row.method, row.path) != (ctx.method, ctx.path):
                return _error_result(
                    StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used for the same endpoint "
                        f"they were first used for ('{row.method} {row.path}' vs "
                        f"'{ctx.method} {ctx.path}'). Try using a key other than '{key}' if "
                        "you meant to execute a different request.",
                        code="idempotency_key_reused",
                    )
                )
            if row.params_hash != fingerprint:
                return _error_result(
                    StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        f"parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        code="idempotency_key_reused",
                    )
                )
            if row.status == "done":
                assert row.response_status is not None
                assert row.response_body is not None
                return ApiResult(
                    row.response_status,
                    row.response_body.encode("utf-8"),
                    replayed=True,
                    headers={"Idempotent-Replayed": "true"},
                )
            if now - row.locked_at > s.idempotency_lock_timeout_s:
                # The request holding it died mid-way (its transaction rolled back).
                row.lock_token, row.locked_at = token, now
                return _Claim(row.seq, token)
            return _error_result(_in_progress(key))

    @staticmethod
    def _insert_key(session: Session) -> Insert:
        table = IdempotencyKey.__table__
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
        return insert(table)  # elsewhere a concurrent first use raises: _claim looks again

    def _finish_claim(self, session: Session, claim: _Claim, status: int, body: bytes) -> None:
        result = session.connection().execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.seq == claim.seq, IdempotencyKey.lock_token == claim.token)
            .values(status="done", response_status=status, response_body=body.decode("utf-8"))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise _LostClaimError

    def _release(self, claim: _Claim) -> None:
        with self.sessions.begin() as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.seq == claim.seq,
                    IdempotencyKey.lock_token == claim.token,
                    IdempotencyKey.status == "in_progress",
                )
            )

    # -----------------------------------------------------------------------------------
    # Shared helpers

    def _get(
        self,
        session: Session,
        model: type[ModelT],
        ident: str,
        resource: str,
        *,
        lock: bool = False,
    ) -> ModelT:
        stmt = select(model).where(model.id == ident)  # type: ignore[attr-defined]
        if lock:
            stmt = stmt.with_for_update()
        row = session.execute(stmt).scalar_one_or_none()
        if row is None:
            raise missing(resource, ident)
        return row

    def _lock_platform(self, session: Session) -> None:
        # PostgreSQL: serialises every debit of the balance. SQLite: BEGIN IMMEDIATE already
        # did (it has no row locks), so no statement there.
        conn = session.connection()
        if conn.dialect.name != "sqlite":
            conn.execute(select(Platform.id).where(Platform.id == 1).with_for_update())

    def _available(self, session: Session, currency: str = "cny") -> int:
        # Balance lines are written with _insert_now: already in the database, no flush.
        total = (
            session.connection()
            .execute(
                select(func.coalesce(func.sum(BalanceTransaction.amount), 0)).where(
                    BalanceTransaction.currency == currency
                )
            )
            .scalar_one()
        )
        return int(total)

    def _book(self, session: Session, amount: int, type_: str, source: str, desc: str) -> str:
        txn = BalanceTransaction(
            id=new_id("txn"),
            amount=amount,
            currency="cny",
            type=type_,
            source=source,
            description=desc,
            created=self._ts(),
        )
        _insert_now(session, txn)
        return txn.id

    def _debit_check(self, session: Session, amount: int) -> None:
        self._lock_platform(session)
        available = self._available(session)
        if amount > available:
            raise StripeError(
                400,
                "invalid_request_error",
                "You have insufficient available funds in your balance "
                f"(available {available} cny, requested {amount} cny).",
                code="balance_insufficient",
                param="amount",
            )

    def _emit(
        self,
        session: Session,
        ctx: RequestContext,
        type_: str,
        obj: msgspec.Struct,
        previous: dict[str, Any] | None = None,
    ) -> None:
        """Record an Event and queue its webhook deliveries in the caller's transaction."""
        now = self.now()
        url = self.settings.webhook_url
        copies = 0
        if url:
            copies = 2 if self.faults.duplicate_webhook() else 1
        data: dict[str, Any] = {"object": _to_dict(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = Event(id=new_id("evt"), type=type_, created=int(now), body="")
        event.body = encode(
            {
                "id": event.id,
                "object": "event",
                "api_version": API_VERSION,
                "created": event.created,
                "data": data,
                "livemode": False,
                "pending_webhooks": 1 if url else 0,
                "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
                "type": type_,
            }
        ).decode("utf-8")
        _insert_now(session, event)
        for i in range(copies):
            _insert_now(
                session,
                WebhookDelivery(
                    event_id=event.id,
                    url=url,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    duplicate=i > 0,
                    created=now,
                ),
            )

    # -----------------------------------------------------------------------------------
    # PaymentIntents

    def create_payment_intent(self, ctx: RequestContext, raw: dict[str, Any]) -> ApiResult:
        p = Params(raw)
        try:
            amount = p.amount("amount", required=True)
            currency = p.currency()
            capture_method = p.string(
                "capture_method",
                choices=("automatic", "automatic_async", "manual"),
                default="automatic",
            )
            confirm = p.boolean("confirm")
            payment_method = self._payment_method(p)
            description = p.string("description", max_length=1000)
            transfer_group = p.string("transfer_group", max_length=200)
            metadata = p.metadata()
            p.finish()
        except StripeError as exc:
            return _error_result(exc)
        assert amount is not None
        assert capture_method is not None
        # automatic_async is Stripe's newer spelling of automatic; the mock has no async.
        capture = "manual" if capture_method == "manual" else "automatic"

        def op(s: Session) -> Outcome:
            pi = PaymentIntent(
                id=new_id("pi"),
                amount=amount,
                currency=currency,
                status="requires_confirmation",
                capture_method=capture,
                payment_method=payment_method or DEFAULT_PAYMENT_METHOD,
                amount_capturable=0,
                amount_received=0,
                description=description,
                metadata_json=metadata,
                transfer_group=transfer_group,
                created=self._ts(),
            )
            s.add(pi)
            self._emit(s, ctx, "payment_intent.created", pi_out(pi))
            if confirm:
                return self._confirm(s, ctx, pi)
            return 200, pi_out(pi)

        return self._post(ctx, raw, op)

    def _payment_method(self, p: Params) -> str | None:
        pm = p.string("payment_method", max_length=255)
        if pm is not None and not pm.startswith("pm_"):
            raise StripeError(
                400,
                "invalid_request_error",
                f"No such PaymentMethod: '{pm}'",
                code="resource_missing",
                param="payment_method",
            )
        return pm

    def _confirm(self, s: Session, ctx: RequestContext, pi: PaymentIntent) -> Outcome:
        pm = pi.payment_method or DEFAULT_PAYMENT_METHOD
        now = self._ts()
        charge = Charge(
            id=new_id("ch"),
            payment_intent=pi.id,
            amount=pi.amount,
            amount_captured=0,
            amount_refunded=0,
            currency=pi.currency,
            captured=False,
            refunded=False,
            payment_method=pm,
            metadata_json=dict(pi.metadata_json or {}),
            created=now,
            status="succeeded",
        )
        s.add(charge)
        pi.latest_charge = charge.id
        decline = DECLINING_PAYMENT_METHODS.get(pm)
        if decline is not None:
            code, decline_code, message = decline
            charge.status, charge.failure_code, charge.failure_message = "failed", code, message
            error = StripeError(402, "card_error", message, code=code, decline_code=decline_code)
            pi.last_payment_error = {
                **error.to_dict()["error"],
                "charge": charge.id,
                "payment_method": {"id": pm, "object": "payment_method"},
            }
            # Stripe detaches the failed method: the intent wants a new one.
            pi.status, pi.payment_method = "requires_payment_method", None
            self._emit(s, ctx, "charge.failed", charge_out(charge))
            self._emit(s, ctx, "payment_intent.payment_failed", pi_out(pi))
            # A committed error: the failure itself is a state change worth keeping.
            error.extra = {"charge": charge.id, "payment_intent": _to_dict(pi_out(pi))}
            return 402, error.to_dict()
        pi.last_payment_error = None
        if pi.capture_method == "manual":
            pi.status, pi.amount_capturable = "requires_capture", pi.amount
            self._emit(s, ctx, "charge.succeeded", charge_out(charge))
            self._emit(
                s,
                ctx,
                "payment_intent.amount_capturable_updated",
                pi_out(pi),
                {"amount_capturable": 0},
            )
            return 200, pi_out(pi)
        charge.captured, charge.amount_captured = True, pi.amount
        charge.balance_transaction = self._book(s, pi.amount, "charge", charge.id, "Payment")
        pi.status, pi.amount_received, pi.amount_capturable = "succeeded", pi.amount, 0
        self._emit(s, ctx, "charge.succeeded", charge_out(charge))
        self._emit(s, ctx, "payment_intent.succeeded", pi_out(pi))
        return 200, pi_out(pi)

    def confirm_payment_intent(
        self, ctx: RequestContext, pi_id: str, raw: dict[str, Any]
    ) -> ApiResult:
        p = Params(raw)
        try:
            payment_method = self._payment_method(p)
            p.finish()
        except StripeError as exc:
            return _error_result(exc)

        def op(s: Session) -> Outcome:
            pi = self._get(s, PaymentIntent, pi_id, "payment_intent", lock=True)
            if pi.status not in CONFIRMABLE:
                raise self._unexpected_state(pi, "confirm", CONFIRMABLE)
            if payment_method is not None:
                pi.payment_method = payment_method
            if pi.payment_method is None:
                raise invalid(
                    "You cannot confirm this PaymentIntent because it's missing a payment "
                    "method. Pass a payment_method.",
                    param="payment_method",
                    code="payment_intent_unexpected_state",
                )
            return self._confirm(s, ctx, pi)

        return self._post(ctx, raw, op)

    def capture_payment_intent(
        self, ctx: RequestContext, pi_id: str, raw: dict[str, Any]
    ) -> ApiResult:
        p = Params(raw)
        try:
            amount_to_capture = p.amount("amount_to_capture")
            p.finish()
        except StripeError as exc:
            return _error_result(exc)

        def op(s: Session) -> Outcome:
            pi = self._get(s, PaymentIntent, pi_id, "payment_intent", lock=True)
            if pi.status != "requires_capture":
                raise self._unexpected_state(pi, "capture", ("requires_capture",))
            amount = pi.amount_capturable if amount_to_capture is None else amount_to_capture
            if amount > pi.amount_capturable:
                raise invalid(
                    f"The amount to capture ({amount}) is greater than the amount capturable "
                    f"({pi.amount_capturable}).",
                    param="amount_to_capture",
                    code="amount_too_large",
                )
            assert pi.latest_charge is not None
            charge = self._get(s, Charge, pi.latest_charge, "charge", lock=True)
            charge.captured, charge.amount_captured = True, amount
            charge.balance_transaction = self._book(s, amount, "charge", charge.id, "Payment")
            # A partial capture releases the rest of the authorisation, as Stripe does.
            pi.status, pi.amount_received, pi.amount_capturable = "succeeded", amount, 0
            self._emit(s, ctx, "charge.captured", charge_out(charge))
            self._emit(s, ctx, "payment_intent.succeeded", pi_out(pi))
            return 200, pi_out(pi)

        return self._post(ctx, raw, op)

    def cancel_payment_intent(
        self, ctx: RequestContext, pi_id: str, raw: dict[str, Any]
    ) -> ApiResult:
        p = Params(raw)
        try:
            reason = p.string(
                "cancellation_reason",
                choices=("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
            )
            p.finish()
        except StripeError as exc:
            return _error_result(exc)

        def op(s: Session) -> Outcome:
            pi = self._get(s, PaymentIntent, pi_id, "payment_intent", lock=True)
            if pi.status not in CANCELABLE:
                raise self._unexpected_state(pi, "cancel", CANCELABLE)
            previous = {"status": pi.status}
            pi.status, pi.amount_capturable = "canceled", 0
            pi.canceled_at, pi.cancellation_reason = self._ts(), reason
            self._emit(s, ctx, "payment_intent.canceled", pi_out(pi), previous)
            return 200, pi_out(pi)

        return self._post(ctx, raw, op)

    def _unexpected_state(
        self, pi: PaymentIntent, action: str, allowed: tuple[str, ...]
    ) -> StripeError:
        return StripeError(
            400,
            "invalid_request_error",
            f"You cannot {action} this PaymentIntent because it has a status of {pi.status}. "
            f"Only a PaymentIntent with one of the following statuses may be {action}ed: "
            f"{', '.join(allowed)}.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": _to_dict(pi_out(pi))},
        )

    # -----------------------------------------------------------------------------------
    # Transfers

    def create_transfer(self, ctx: RequestContext, raw: dict[str, Any]) -> ApiResult:
        p = Params(raw)
        try:
            amount = p.amount("amount", required=True)
            currency = p.currency()
            destination = p.string("destination", required=True, max_length=255)
            transfer_group = p.string("transfer_group", max_length=200)
            description = p.string("description", max_length=1000)
            metadata = p.metadata()
            p.finish()
            assert destination is not None
            if not destination.startswith("acct_") or len(destination) < 6:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"No such destination: '{destination}'",
                    code="resource_missing",
                    param="destination",
                )
        except StripeError as exc:
            return _error_result(exc)
        assert amount is not None

        def op(s: Session) -> Outcome:
            self._debit_check(s, amount)
            tr = Transfer(
                id=new_id("tr"),
                amount=amount,
                currency=currency,
                destination=destination,
                transfer_group=transfer_group,
                description=description,
                metadata_json=metadata,
                created=self._ts(),
                balance_transaction="",
            )
            tr.balance_transaction = self._book(s, -amount, "transfer", tr.id, f"To {destination}")
            _insert_now(s, tr)
            self._emit(s, ctx, "transfer.created", transfer_out(tr))
            return 200, transfer_out(tr)

        return self._post(ctx, raw, op)

    # -----------------------------------------------------------------------------------
    # Refunds

    def create_refund(self, ctx: RequestContext, raw: dict[str, Any]) -> ApiResult:
        p = Params(raw)
        try:
            pi_id = p.string("payment_intent", max_length=255)
            charge_id = p.string("charge", max_length=255)
            amount = p.amount("amount")
            reason = p.string(
                "reason", choices=("duplicate", "fraudulent", "requested_by_customer")
            )
            metadata = p.metadata()
            p.finish()
            if (pi_id is None) == (charge_id is None):
                raise invalid(
                    "Pass exactly one of payment_intent or charge.",
                    param="payment_intent",
                    code="parameter_missing" if pi_id is None else "parameters_exclusive",
                )
        except StripeError as exc:
            return _error_result(exc)

        def op(s: Session) -> Outcome:
            if pi_id is not None:
                pi = self._get_param(s, PaymentIntent, pi_id, "payment_intent")
            else:
                assert charge_id is not None
                ch = self._get_param(s, Charge, charge_id, "charge", lock=False)
                pi = self._get_param(s, PaymentIntent, ch.payment_intent, "payment_intent")
            param = "payment_intent" if pi_id is not None else "charge"
            if pi.status != "succeeded" or pi.latest_charge is None:
                raise invalid(
                    f"PaymentIntent {pi.id} has a status of {pi.status}; only a succeeded "
                    "PaymentIntent has a captured charge to refund.",
                    param=param,
                    code="payment_intent_unexpected_state",
                )
            charge = self._get(s, Charge, pi.latest_charge, "charge", lock=True)
            remaining = charge.amount_captured - charge.amount_refunded
            if remaining <= 0:
                raise invalid(
                    f"Charge {charge.id} has already been refunded.",
                    param=param,
                    code="charge_already_refunded",
                )
            value = remaining if amount is None else amount
            if value > remaining:
                raise invalid(
                    f"Refund amount ({value} cny) is greater than unrefunded amount on charge "
                    f"({remaining} cny)",
                    param="amount",
                    code="amount_too_large",
                )
            self._debit_check(s, value)
            rf = Refund(
                id=new_id("re"),
                amount=value,
                currency=charge.currency,
                payment_intent=pi.id,
                charge=charge.id,
                status="succeeded",
                reason=reason,
                metadata_json=metadata,
                created=self._ts(),
                balance_transaction="",
            )
            rf.balance_transaction = self._book(s, -value, "refund", rf.id, f"Refund of {pi.id}")
            s.add(rf)
            previous = {"amount_refunded": charge.amount_refunded, "refunded": charge.refunded}
            charge.amount_refunded += value
            charge.refunded = charge.amount_refunded >= charge.amount_captured
            self._emit(s, ctx, "refund.created", refund_out(rf))
            self._emit(s, ctx, "charge.refunded", charge_out(charge), previous)
            return 200, refund_out(rf)

        return self._post(ctx, raw, op)

    def _get_param(
        self, s: Session, model: type[ModelT], ident: str, param: str, *, lock: bool = True
    ) -> ModelT:
        # A missing object named in the body is a 400 naming the parameter (404 is for paths).
        try:
            return self._get(s, model, ident, param, lock=lock)
        except StripeError as exc:
            exc.status, exc.param = 400, param
            raise

    # -----------------------------------------------------------------------------------
    # Reads

    def _read(self, fn: Callable[[Session], Any]) -> ApiResult:
        self._latency()
        try:
            with self.sessions() as s:
                out = fn(s)
            return ApiResult(200, out if isinstance(out, bytes) else encode(out))
        except StripeError as exc:
            return _error_result(exc)

    def retrieve(self, kind: str, ident: str) -> ApiResult:
        model, resource, out = _RESOURCES[kind]
        return self._read(lambda s: out(self._get(s, model, ident, resource)))

    def retrieve_event(self, ident: str) -> ApiResult:
        self._latency()
        with self.sessions() as s:
            row = s.execute(select(Event).where(Event.id == ident)).scalar_one_or_none()
        if row is None:
            return _error_result(missing("event", ident))
        return ApiResult(200, row.body.encode("utf-8"))

    def balance(self) -> ApiResult:
        def fn(s: Session) -> BalanceOut:
            available = self._available(s)
            return BalanceOut(
                available=[BalanceAmount(amount=available, currency="cny")],
                pending=[BalanceAmount(amount=0, currency="cny")],
            )

        return self._read(fn)

    def list_transfers(self, raw: dict[str, Any]) -> ApiResult:
        p = Params(raw)
        try:
            destination = p.string("destination", max_length=255)
            group = p.string("transfer_group", max_length=200)
            page = _Page.parse(p)
            p.finish()
        except StripeError as exc:
            return _error_result(exc)
        filters = []
        if destination is not None:
            filters.append(Transfer.destination == destination)
        if group is not None:
            filters.append(Transfer.transfer_group == group)

        def fn(s: Session) -> ListOut:
            rows, has_more = page.run(s, Transfer, filters, "transfer")
            return ListOut(
                url="/v1/transfers", has_more=has_more, data=[transfer_out(r) for r in rows]
            )

        return self._read(fn)

    def list_balance_transactions(self, raw: dict[str, Any]) -> ApiResult:
        p = Params(raw)
        try:
            type_ = p.string("type", choices=("charge", "transfer", "refund"))
            page = _Page.parse(p)
            p.finish()
        except StripeError as exc:
            return _error_result(exc)
        filters = [] if type_ is None else [BalanceTransaction.type == type_]

        def fn(s: Session) -> ListOut:
            rows, has_more = page.run(s, BalanceTransaction, filters, "balance_transaction")
            return ListOut(
                url="/v1/balance_transactions", has_more=has_more, data=[txn_out(r) for r in rows]
            )

        return self._read(fn)

    def list_events(self, raw: dict[str, Any]) -> ApiResult:
        p = Params(raw)
        try:
            type_ = p.string("type", max_length=100)
            page = _Page.parse(p)
            p.finish()
        except StripeError as exc:
            return _error_result(exc)
        filters = []
        if type_ is not None:
            # Stripe allows one trailing wildcard: "payment_intent.*".
            if type_.endswith("*"):
                filters.append(Event.type.startswith(type_[:-1], autoescape=True))
            else:
                filters.append(Event.type == type_)

        def fn(s: Session) -> bytes:
            rows, has_more = page.run(s, Event, filters, "event")
            # Events are stored as final JSON; splice them in rather than re-encode.
            items = b",".join(e.body.encode("utf-8") for e in rows)
            head = encode(ListOut(url="/v1/events", has_more=has_more, data=[]))
            return head.replace(b'"data":[]', b'"data":[' + items + b"]")

        return self._read(fn)

    # -----------------------------------------------------------------------------------
    # Test helpers (not Stripe): reconciliation and webhook inspection

    def movements(self) -> ApiResult:
        def fn(s: Session) -> dict[str, Any]:
            rows = s.execute(select(BalanceTransaction).order_by(BalanceTransaction.seq)).scalars()
            data = [_to_dict(txn_out(r)) for r in rows]
            totals: dict[str, int] = {"charge": 0, "transfer": 0, "refund": 0}
            for d in data:
                totals[d["type"]] = totals.get(d["type"], 0) + d["amount"]
            by_destination: dict[str, int] = {}
            for tr in s.execute(select(Transfer).order_by(Transfer.seq)).scalars():
                by_destination[tr.destination] = by_destination.get(tr.destination, 0) + tr.amount
            return {
                "object": "list",
                "data": data,
                "totals": totals,
                "available": sum(totals.values()),
                "transfers_by_destination": by_destination,
                "currencies": list(CURRENCIES),
            }

        return self._read(fn)

    def webhook_deliveries(self) -> ApiResult:
        def fn(s: Session) -> dict[str, Any]:
            rows = s.execute(select(WebhookDelivery).order_by(WebhookDelivery.seq)).scalars()
            data = [
                {
                    "id": r.seq,
                    "event": r.event_id,
                    "url": r.url,
                    "status": r.status,
                    "attempts": r.attempts,
                    "next_attempt_at": r.next_attempt_at,
                    "last_status_code": r.last_status_code,
                    "last_error": r.last_error,
                    "delivered_at": r.delivered_at,
                    "duplicate": r.duplicate,
                }
                for r in rows
            ]
            return {"object": "list", "data": data}

        return self._read(fn)


_RESOURCES: dict[str, tuple[type[Any], str, Callable[[Any], msgspec.Struct]]] = {
    "payment_intent": (PaymentIntent, "payment_intent", pi_out),
    "charge": (Charge, "charge", charge_out),
    "transfer": (Transfer, "transfer", transfer_out),
    "refund": (Refund, "refund", refund_out),
    "balance_transaction": (BalanceTransaction, "balance_transaction", txn_out),
}


@dataclass(slots=True)
class _Page:
    """Stripe's cursor pagination: newest first, ``starting_after``/``ending_before`` an id."""

    limit: int
    starting_after: str | None
    ending_before: str | None

    @classmethod
    def parse(cls, p: Params) -> _Page:
        limit = p.integer("limit", default=10, minimum=1, maximum=100)
        after = p.string("starting_after", max_length=255)
        before = p.string("ending_before", max_length=255)
        if after is not None and before is not None:
            raise invalid(
                "You may only specify one of starting_after and ending_before.",
                param="ending_before",
                code="parameters_exclusive",
            )
        return cls(limit, after, before)

    def run(
        self,
        s: Session,
        model: type[Any],
        filters: list[Any],
        resource: str,
    ) -> tuple[list[Any], bool]:
        stmt = select(model).where(*filters)
        cursor = self.starting_after or self.ending_before
        if cursor is not None:
            seq = s.execute(select(model.seq).where(model.id == cursor)).scalar_one_or_none()
            if seq is None:
                param = "starting_after" if self.starting_after else "ending_before"
                err = missing(resource, cursor, param)
                err.status = 400
                raise err
            if self.starting_after:
                stmt = stmt.where(model.seq < seq)
            else:
                stmt = stmt.where(model.seq > seq)
        ascending = self.ending_before is not None
        stmt = stmt.order_by(model.seq.asc() if ascending else model.seq.desc())
        rows = list(s.execute(stmt.limit(self.limit + 1)).scalars())
        has_more = len(rows) > self.limit
        rows = rows[: self.limit]
        if ascending:
            rows.reverse()
        return rows, has_more
