"""Who is looking at a page: a cookie holding the same kind of token the API issues.

The cookie carries a bearer token from `AccountService.login` (only its SHA-256 is stored),
so a page session is revoked server-side exactly like an API token: logging out revokes
it, and an expired or revoked token is no session at all. The cookies are scoped to the
pages' path: the API never reads them (it takes `Authorization: Bearer` only), which is
why CSRF protection is needed on the pages and not on the API.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from market.accounts.domain import CurrentUser
from market.accounts.service import AccountService
from market.settings import Settings

PAGES_PATH = "/web"
SESSION_COOKIE = "market_session"
CSRF_COOKIE = "market_csrf"
LANG_COOKIE = "market_lang"


def page_secret(settings: Settings) -> str:
    """MARKET_SECRET_KEY, else a key made once and kept in the data folder, so that every
    server process of one installation signs CSRF tokens alike."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key


def session_token(request: Request[Any, Any, Any]) -> str | None:
    token = request.cookies.get(SESSION_COOKIE, "").strip()
    return token or None


def provide_viewer(request: Request[Any, Any, Any], accounts: AccountService) -> CurrentUser | None:
    """The logged-in user, or None (no cookie, or its token expired or was revoked)."""
    token = session_token(request)
    return accounts.authenticate(token) if token else None


def _over_https(request: Request[Any, Any, Any]) -> bool:
    # Behind a TLS-terminating proxy the app sees http; the proxy's header only ever makes
    # the cookie stricter, so trusting it here is safe.
    return (
        request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


def session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path=PAGES_PATH,
        max_age=max_age,
        httponly=True,
        secure=_over_https(request),
        samesite="lax",
    )


def cleared_session_cookie(request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path=PAGES_PATH,
        max_age=0,
        httponly=True,
        secure=_over_https(request),
        samesite="lax",
    )


def safe_next(target: str | None) -> str | None:
    """Only our own pages: no other host (//evil, \\evil) after logging in."""
    if not target or not target.startswith(PAGES_PATH + "/"):
        return None
    if target.startswith("//") or "\\" in target or any(c in target for c in "\r\n"):
        return None
    return target
