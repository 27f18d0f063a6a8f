"""The application, assembled in one place: settings, database, services, routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
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
from market.http import EXCEPTION_HANDLERS, provide_optional_user, provide_user
from market.settings import Settings
from market.tasks.controllers import TaskController
from market.tasks.service import TaskService


@dataclass
class Services:
    accounts: AccountService
    tasks: TaskService
    bids: BidService
    contracts: ContractService


def build_services(sessions: sessionmaker[Session], settings: Settings) -> Services:
    return Services(
        accounts=AccountService(sessions, settings),
        tasks=TaskService(sessions, settings),
        bids=BidService(sessions, settings),
        contracts=ContractService(sessions, settings),
    )


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = engine or make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    services = build_services(sessions, settings)

    @get("/health", tags=["ops"], sync_to_thread=True)
    def health() -> dict[str, Any]:
        """200 when the database answers."""
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    def _const(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    return Litestar(
        route_handlers=[
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
        ],
        dependencies={
            "accounts": _const(services.accounts),
            "tasks": _const(services.tasks),
            "bids": _const(services.bids),
            "contracts": _const(services.contracts),
            "optional_user": Provide(provide_optional_user, sync_to_thread=True),
            "user": Provide(provide_user, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
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
