"""The application, assembled in one place: settings, database, services, routes.

In the embedded default (no MARKET_PAYMENTS_URL, MARKET_BROKER=embedded) this is also the
composition root of the single-machine mode: it mounts the payment mock at /_paymock and
runs the background worker and scheduler inside the server process. That is the one place
where `market` reaches for `paymock` and `workers`; ARCHITECTURE.md's import rules hold
everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar, asgi, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Receive, Scope, Send
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.controllers import (
    AdminAccountsController,
    AuthController,
    MeController,
    SolverController,
)
from market.accounts.service import AccountService
from market.bids.controllers import BidController, TaskBidController
from market.bids.service import BidService
from market.contracts.controllers import ContractController, DisputeAdminController
from market.contracts.service import ContractService
from market.db.engine import make_engine, make_session_factory
from market.discovery.controllers import (
    MatchController,
    SavedSearchController,
    SearchController,
    TaskMatchController,
)
from market.discovery.factory import SearchIndexHandle
from market.discovery.service import DiscoveryService
from market.escrow.controllers import LedgerAdminController, PaymentWebhookController
from market.escrow.gateway import PaymentsGateway
from market.escrow.service import EscrowService
from market.escrow.webhooks import WebhookService
from market.http import (
    EXCEPTION_HANDLERS,
    provide_bearer,
    provide_optional_user,
    provide_user,
)
from market.jobs import payments_base_url
from market.notifications.controllers import (
    NotificationController,
    NotificationSettingsController,
)
from market.notifications.service import NotificationService
from market.outbox.controllers import FailedJobController
from market.pages.routing import pages_router, template_config
from market.settings import Settings
from market.tasks.controllers import TaskController
from market.tasks.service import TaskService


@dataclass
class Services:
    accounts: AccountService
    tasks: TaskService
    bids: BidService
    contracts: ContractService
    escrow: EscrowService
    webhooks: WebhookService
    notifications: NotificationService


def build_services(
    sessions: sessionmaker[Session], settings: Settings, gateway: PaymentsGateway
) -> Services:
    escrow = EscrowService(sessions, settings, gateway)
    return Services(
        accounts=AccountService(sessions, settings),
        tasks=TaskService(sessions, settings),
        bids=BidService(sessions, settings),
        contracts=ContractService(sessions, settings),
        escrow=escrow,
        webhooks=WebhookService(sessions, escrow),
        notifications=NotificationService(sessions, settings),
    )


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    *,
    background: bool | None = None,
) -> Litestar:
    """`background`: run the worker and scheduler in this process (default: embedded mode)."""
    settings = settings or Settings.from_env()
    # pool_pre_ping: a web request cannot be retried the way a job is, so every checkout
    # proves its connection (after a database restart no request fails on a dead one).
    engine = engine or make_engine(settings.effective_database_url, pool_pre_ping=True)
    sessions = make_session_factory(engine)
    gateway = PaymentsGateway(payments_base_url(settings), settings.payments_secret_key)
    services = build_services(sessions, settings, gateway)
    # The search index opens on first use: an app that never searches opens nothing.
    discovery = DiscoveryService(sessions, settings, SearchIndexHandle(settings))
    if background is None:
        background = settings.broker == "embedded"

    @get("/health", tags=["ops"], sync_to_thread=True)
    def health() -> dict[str, Any]:
        """200 when the database answers."""
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    def _const(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    handlers: list[Any] = [
        health,
        AuthController,
        MeController,
        SolverController,
        AdminAccountsController,
        TaskController,
        TaskBidController,
        BidController,
        ContractController,
        DisputeAdminController,
        PaymentWebhookController,
        LedgerAdminController,
        FailedJobController,
        NotificationController,
        NotificationSettingsController,
        SearchController,
        MatchController,
        TaskMatchController,
        SavedSearchController,
        # The web pages under /web: cookie sessions and CSRF on that router only.
        pages_router(settings),
    ]
    on_startup: list[Any] = []
    on_shutdown: list[Any] = [gateway.close, discovery.close]

    if not settings.payments_url:
        mount, start_mock, stop_mock = _mounted_paymock(settings)
        handlers.append(mount)
        on_startup.append(start_mock)
        on_shutdown.append(stop_mock)

    if background:
        from workers.runtime import EmbeddedRuntime

        runtime = EmbeddedRuntime(settings, engine)
        on_startup.append(runtime.start)
        on_shutdown.insert(0, runtime.stop)

    return Litestar(
        route_handlers=handlers,
        dependencies={
            "settings": _const(settings),
            "sessions": _const(sessions),
            "accounts": _const(services.accounts),
            "tasks": _const(services.tasks),
            "bids": _const(services.bids),
            "contracts": _const(services.contracts),
            "escrow_service": _const(services.escrow),
            "webhook_service": _const(services.webhooks),
            "notifications": _const(services.notifications),
            "discovery": _const(discovery),
            "optional_user": Provide(provide_optional_user, sync_to_thread=True),
            "user": Provide(provide_user, sync_to_thread=False),
            "bearer": Provide(provide_bearer, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=template_config(),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        openapi_config=OpenAPIConfig(
            title="R&D task marketplace / 技术创新众包平台",
            version="0.1.0",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="token from /auth/login"
                    )
                }
            ),
        ),
        request_max_body_size=settings.max_attachment_bytes + 1024 * 1024,
        state={"settings": settings, "engine": engine, "services": services},
        debug=settings.debug,
    )


def _mounted_paymock(settings: Settings) -> tuple[Any, Any, Any]:
    """The payment mock inside this server at /_paymock, with its own SQLite database,
    sending its webhooks back to us."""
    from paymock.app import create_app as create_paymock
    from paymock.models import create_schema
    from paymock.settings import PaymockSettings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    mock = create_paymock(
        PaymockSettings(
            database_url=f"sqlite:///{settings.data_dir / 'paymock.db'}",
            secret_key=settings.payments_secret_key,
            webhook_url=f"http://{settings.host}:{settings.port}/webhooks/payments",
            webhook_secret=settings.payments_webhook_secret,
        )
    )
    runtime = mock.state.paymock

    # Its own copy of the scope: the mounted app sets its own app, route and path params.
    @asgi("/_paymock", is_mount=True, copy_scope=True, include_in_schema=False)
    async def paymock_mount(scope: Scope, receive: Receive, send: Send) -> None:
        await mock(scope, receive, send)

    def start() -> None:
        create_schema(runtime.engine)
        runtime.dispatcher.start()

    def stop() -> None:
        runtime.dispatcher.stop()
        runtime.engine.dispose()

    return paymock_mount, start, stop
