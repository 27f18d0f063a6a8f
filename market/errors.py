"""Domain errors, each mapped to one HTTP status and a problem-details body."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    title = "Bad request"
    default_rule = "bad_request"

    def __init__(self, detail: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.rule = rule or self.default_rule


class InvalidInput(DomainError):
    """The request is well-formed but breaks a rule (sum of milestones, a past deadline)."""

    status_code = 422
    title = "Invalid input"
    default_rule = "invalid"


class Unauthenticated(DomainError):
    status_code = 401
    title = "Not authenticated"
    default_rule = "authentication_required"


class Forbidden(DomainError):
    status_code = 403
    title = "Forbidden"
    default_rule = "forbidden"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"
    default_rule = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state: an illegal transition, a duplicate."""

    status_code = 409
    title = "Conflict"
    default_rule = "conflict"


class IllegalTransition(Conflict):
    default_rule = "illegal_transition"

    def __init__(self, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"cannot {action} a {entity} that is {current}",
            field="status",
            rule="illegal_transition",
        )
        self.entity = entity
        self.current = current
        self.action = action


class TooManyRequests(DomainError):
    status_code = 429
    title = "Too many requests"
    default_rule = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after = retry_after
