"""HTTP plumbing shared by every controller: problem details, authentication, paging."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.params import Parameter
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from market.accounts.domain import CurrentUser, Role
from market.accounts.service import AccountService, invalid_token
from market.errors import DomainError, Forbidden, TooManyRequests, Unauthenticated
from market.schemas import MAX_ID

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_AT_PATH = re.compile(r"- at `\$\.?([^`]*)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    rule = errors[0]["rule"] if errors else "error"
    body: dict[str, Any] = {
        "type": f"/problems/{rule}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    errors = [{"field": exc.field, "rule": exc.rule, "message": exc.detail}]
    return problem(exc.status_code, exc.title, exc.detail, errors, headers)


def _field_of(message: str, key: str | None) -> str | None:
    """Turn msgspec's "... - at `$.milestones[0].amount_minor`" into a dotted field name."""
    named = _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message)
    at = _AT_PATH.search(message)
    path = at.group(1) if at else (key or "")
    # Litestar names the whole body "data"; the client knows it as the body's top level.
    if path == "data" or path.startswith("data."):
        path = path[5:]
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return path or None


def _rule_of(message: str) -> str:
    lowered = message.lower()
    for needle, rule in (
        ("unknown field", "unknown_field"),
        ("missing required field", "required"),
        ("of length", "length"),
        ("matching regex", "pattern"),
        ("invalid enum value", "enum"),
        ("timezone", "timezone"),
        ("` >", "range"),
        ("` <", "range"),
        ("expected `", "type"),
        ("malformed", "malformed"),
    ):
        if needle in lowered:
            return rule
    return "invalid"


def validation_error_handler(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        key = item.get("key")
        source = item.get("source")
        field = _field_of(message, key)
        if source in ("query", "path", "header", "cookie") and key:
            field = str(key)
        errors.append({"field": field, "rule": _rule_of(message), "message": message})
    if not errors:
        message = str(exc.detail)
        errors.append(
            {"field": _field_of(message, None), "rule": _rule_of(message), "message": message}
        )
    detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
    return problem(400, "Invalid request", detail, errors)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    rule = "not_found" if isinstance(exc, NotFoundException) else f"http_{exc.status_code}"
    field = None
    if exc.status_code == 400 and "malformed" in str(exc.detail).lower():
        rule, field = "malformed", "body"
    errors = [{"field": field, "rule": rule, "message": str(exc.detail)}]
    return problem(exc.status_code, str(exc.detail), str(exc.detail), errors, exc.headers or None)


def internal_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "an unexpected error occurred; it has been logged",
        [{"field": None, "rule": "internal", "message": "internal error"}],
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


# -- authentication -----------------------------------------------------------------


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticated(accounts: AccountService, token: str) -> CurrentUser:
    user = accounts.authenticate(token)
    if user is None:
        raise invalid_token()
    return user


def provide_optional_user(
    request: Request[Any, Any, Any], accounts: AccountService
) -> CurrentUser | None:
    token = bearer_token(request)
    return None if token is None else authenticated(accounts, token)


def _anonymous() -> Unauthenticated:
    return Unauthenticated("log in and send 'Authorization: Bearer <token>'", field="Authorization")


def provide_user(optional_user: CurrentUser | None) -> CurrentUser:
    if optional_user is None:
        raise _anonymous()
    return optional_user


def provide_bearer(request: Request[Any, Any, Any]) -> str:
    """The bearer token, unchecked (no database; anonymous callers get their 401 here):
    for a hot path that authenticates it with `authenticated` in its own worker thread,
    which saves the thread hop of the `user` dependency."""
    token = bearer_token(request)
    if token is None:
        raise _anonymous()
    return token


def require_role(user: CurrentUser, *roles: Role) -> None:
    if user.role not in roles:
        raise Forbidden(
            f"this action needs the role {' or '.join(str(r) for r in roles)}",
            field=None,
            rule="role",
        )


# -- paging ---------------------------------------------------------------------------

PageNumber = Annotated[int, Parameter(ge=1, le=100_000, description="1-based page number")]
PageSize = Annotated[int, Parameter(ge=1, le=100, description="items per page (at most 100)")]
# Path ids are bounded like body ids: an out-of-range id is a 400, not a database overflow.
PathId = Annotated[int, Parameter(ge=1, le=MAX_ID)]

JSON = MediaType.JSON
