"""The mock's HTTP surface: a Litestar app shaped like a subset of Stripe's /v1 API.

Handlers are thin: authenticate, draw a fault, parse the Stripe-encoded parameters, run
the blocking service call in a worker thread, shape the reply. The rules live in service.py.
"""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath
from litestar.status_codes import HTTP_405_METHOD_NOT_ALLOWED
from sqlalchemy import Engine

from paymock.faults import ApiFault, FaultInjector
from paymock.models import create_schema, make_engine
from paymock.schemas import StripeError, api_error, encode, parse_body, parse_form
from paymock.service import ApiResult, PaymockService, RequestContext
from paymock.settings import PaymockSettings
from paymock.webhooks import WebhookDispatcher

log = logging.getLogger("paymock")

Call = Callable[[RequestContext, dict[str, Any]], ApiResult]


@dataclass(slots=True)
class PaymockRuntime:
    """Everything the app holds; reachable as ``app.state.paymock`` for tests and embedding."""

    settings: PaymockSettings
    engine: Engine
    faults: FaultInjector
    service: PaymockService
    dispatcher: WebhookDispatcher

    def deliver_pending_webhooks(self, now: float | None = None) -> int:
        return self.dispatcher.deliver_pending_webhooks(now)


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=body, status_code=status, media_type="application/json", headers=headers
    )


def _error(exc: StripeError, headers: dict[str, str] | None = None) -> Response[bytes]:
    return _json(exc.status, exc.body(), headers)


def _unauthorized(message: str) -> StripeError:
    return StripeError(401, "invalid_request_error", message)


def _check_auth(request: Request[Any, Any, Any], secret: str) -> StripeError | None:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    provided: str | None = None
    if scheme.lower() == "bearer":
        provided = credential.strip()
    elif scheme.lower() == "basic":
        # Stripe also takes the key as the Basic-auth user name (curl -u sk_test_...:).
        try:
            provided = base64.b64decode(credential).decode("utf-8").split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            provided = ""
    if not provided:
        return _unauthorized(
            "You did not provide an API key. Provide your API key in the Authorization "
            "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    if not hmac.compare_digest(provided.encode(), secret.encode()):
        return _unauthorized(f"Invalid API Key provided: {provided[:8]}****{provided[-4:]}")
    return None


def create_app(settings: PaymockSettings | None = None) -> Litestar:
    settings = settings or PaymockSettings.from_env()
    settings.validate()
    engine = make_engine(settings.database_url)
    faults = FaultInjector(settings)
    service = PaymockService(engine, settings, faults)
    dispatcher = WebhookDispatcher(engine, settings, faults)
    runtime = PaymockRuntime(settings, engine, faults, service, dispatcher)

    async def api(
        request: Request[Any, Any, Any], call: Call, *, faulty: bool = True
    ) -> Response[bytes]:
        is_post = request.method == "POST"
        key = request.headers.get("idempotency-key") if is_post else None
        ctx = RequestContext(method=request.method, path=request.url.path, idempotency_key=key)
        headers = {"Request-Id": ctx.request_id}
        if key is not None:
            headers["Idempotency-Key"] = key
        denied = _check_auth(request, settings.secret_key)
        if denied is not None:
            return _error(denied, headers)
        fault = faults.draw_api_fault() if faulty else ApiFault.NONE
        if fault is ApiFault.ERROR_BEFORE:
            return _error(
                api_error("Injected fault: the request failed before processing."), headers
            )
        try:
            if is_post:
                params = parse_body(await request.body(), request.headers.get("content-type", ""))
            else:
                params = parse_form(request.url.query)
        except StripeError as exc:
            return _error(exc, headers)
        result = await anyio.to_thread.run_sync(call, ctx, params)
        if fault is ApiFault.ERROR_AFTER:
            # The work is committed and its response stored under the key; only the
            # client's view is lost.
            return _error(api_error("Injected fault: the response was lost."), headers)
        if fault is ApiFault.TIMEOUT:
            await anyio.sleep(settings.timeout_sleep_s)
        return _json(result.status, result.body, {**headers, **result.headers})

    # -- PaymentIntents ------------------------------------------------------------------

    @post("/v1/payment_intents")
    async def create_payment_intent(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, service.create_payment_intent)

    @get("/v1/payment_intents/{pi_id:str}")
    async def retrieve_payment_intent(
        request: Request[Any, Any, Any], pi_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.retrieve("payment_intent", pi_id))

    @post("/v1/payment_intents/{pi_id:str}/confirm")
    async def confirm_payment_intent(
        request: Request[Any, Any, Any], pi_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda c, p: service.confirm_payment_intent(c, pi_id, p))

    @post("/v1/payment_intents/{pi_id:str}/capture")
    async def capture_payment_intent(
        request: Request[Any, Any, Any], pi_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda c, p: service.capture_payment_intent(c, pi_id, p))

    @post("/v1/payment_intents/{pi_id:str}/cancel")
    async def cancel_payment_intent(
        request: Request[Any, Any, Any], pi_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda c, p: service.cancel_payment_intent(c, pi_id, p))

    @get("/v1/charges/{charge_id:str}")
    async def retrieve_charge(
        request: Request[Any, Any, Any], charge_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.retrieve("charge", charge_id))

    # -- Transfers and refunds -----------------------------------------------------------

    @post("/v1/transfers")
    async def create_transfer(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, service.create_transfer)

    @get("/v1/transfers")
    async def list_transfers(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, lambda _c, p: service.list_transfers(p))

    @get("/v1/transfers/{transfer_id:str}")
    async def retrieve_transfer(
        request: Request[Any, Any, Any], transfer_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.retrieve("transfer", transfer_id))

    @post("/v1/refunds")
    async def create_refund(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, service.create_refund)

    @get("/v1/refunds/{refund_id:str}")
    async def retrieve_refund(
        request: Request[Any, Any, Any], refund_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.retrieve("refund", refund_id))

    # -- Balance and events --------------------------------------------------------------

    @get("/v1/balance")
    async def balance(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.balance())

    @get("/v1/balance_transactions")
    async def list_balance_transactions(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, lambda _c, p: service.list_balance_transactions(p))

    @get("/v1/balance_transactions/{txn_id:str}")
    async def retrieve_balance_transaction(
        request: Request[Any, Any, Any], txn_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.retrieve("balance_transaction", txn_id))

    @get("/v1/events")
    async def list_events(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, lambda _c, p: service.list_events(p))

    @get("/v1/events/{event_id:str}")
    async def retrieve_event(
        request: Request[Any, Any, Any], event_id: FromPath[str]
    ) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.retrieve_event(event_id))

    # -- Test helpers (not Stripe; never fault-injected) ---------------------------------

    @get("/v1/_mock/movements")
    async def movements(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.movements(), faulty=False)

    @get("/v1/_mock/webhook_deliveries")
    async def webhook_deliveries(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api(request, lambda _c, _p: service.webhook_deliveries(), faulty=False)

    @post("/v1/_mock/webhooks/deliver")
    async def deliver_webhooks(request: Request[Any, Any, Any]) -> Response[bytes]:
        def run(_c: RequestContext, _p: dict[str, Any]) -> ApiResult:
            return ApiResult(200, encode({"attempts": dispatcher.deliver_pending_webhooks()}))

        return await api(request, run, faulty=False)

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # -- Errors in Stripe's shape --------------------------------------------------------

    def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
        if isinstance(exc, NotFoundException) or exc.status_code == HTTP_405_METHOD_NOT_ALLOWED:
            err = StripeError(
                404,
                "invalid_request_error",
                f"Unrecognized request URL ({request.method}: {request.url.path}).",
            )
            return _error(err)
        return _error(StripeError(exc.status_code, "invalid_request_error", str(exc.detail)))

    def on_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(api_error())

    def startup() -> None:
        create_schema(engine)
        if settings.webhook_worker and settings.webhook_url:
            dispatcher.start()

    def shutdown() -> None:
        dispatcher.stop()
        engine.dispose()

    app = Litestar(
        route_handlers=[
            create_payment_intent,
            retrieve_payment_intent,
            confirm_payment_intent,
            capture_payment_intent,
            cancel_payment_intent,
            retrieve_charge,
            create_transfer,
            list_transfers,
            retrieve_transfer,
            create_refund,
            retrieve_refund,
            balance,
            list_balance_transactions,
            retrieve_balance_transaction,
            list_events,
            retrieve_event,
            movements,
            webhook_deliveries,
            deliver_webhooks,
            health,
        ],
        exception_handlers={HTTPException: on_http_error, Exception: on_error},
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=OpenAPIConfig(title="paymock", version="0.1.0"),
    )
    app.state.paymock = runtime
    return app
