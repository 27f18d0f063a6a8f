"""The pages as one router under /web, with its own session, CSRF and error handling, and
the Jinja2 template set-up the app adds."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from market.http import EXCEPTION_HANDLERS
from market.pages.controllers import (
    BidPages,
    ContractPages,
    DisputeAdminPages,
    InboxPages,
    MatchPages,
    SessionPages,
    TaskPages,
    page_error_handler,
)
from market.pages.session import CSRF_COOKIE, PAGES_PATH, page_secret, provide_viewer
from market.settings import Settings

TEMPLATES = Path(__file__).with_name("templates")


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)


def pages_router(settings: Settings) -> Router:
    # CSRF on this router only: the pages authenticate with a cookie, the API does not
    # (bearer header), so the API needs no token and never gets the CSRF cookie.
    csrf = CSRFConfig(
        secret=page_secret(settings),
        cookie_name=CSRF_COOKIE,
        cookie_path=PAGES_PATH,
        cookie_httponly=True,  # the forms carry the token; no script needs to read it
        cookie_samesite="lax",
        # Served over https (MARKET_PUBLIC_URL): the CSRF cookie is never sent in clear.
        cookie_secure=settings.public_url.lower().startswith("https://"),
    )
    return Router(
        path=PAGES_PATH,
        route_handlers=[
            SessionPages,
            TaskPages,
            BidPages,
            MatchPages,
            InboxPages,
            ContractPages,
            DisputeAdminPages,
        ],
        dependencies={"viewer": Provide(provide_viewer, sync_to_thread=True)},
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        # The same keys as the app's handlers, so that these win on this router.
        exception_handlers=dict.fromkeys(EXCEPTION_HANDLERS, page_error_handler),
        response_headers=[
            # Personal pages: not cached, not framed (clickjacking of the action buttons).
            ResponseHeader(name="Cache-Control", value="no-store"),
            ResponseHeader(name="X-Frame-Options", value="DENY"),
            ResponseHeader(
                name="Content-Security-Policy",
                value="default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
            ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ],
        include_in_schema=False,
        tags=["pages"],
    )
