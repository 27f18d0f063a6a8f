"""Which handlers react to which outbox event. Handlers live in each context's tasks.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from market.jobs import JobContext

Handler = Callable[["JobContext", dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str
    fn: Handler


_BY_EVENT: dict[str, list[Subscription]] = {}
_BY_NAME: dict[str, Subscription] = {}


def subscribe(*event_types: str, name: str) -> Callable[[Handler], Handler]:
    """Register fn(ctx, payload) as handler `name` for the given event types."""

    def register(fn: Handler) -> Handler:
        sub = Subscription(name, fn)
        _BY_NAME[name] = sub
        for event_type in event_types:
            _BY_EVENT.setdefault(event_type, []).append(sub)
        return fn

    return register


def handlers_for(event_type: str) -> list[Subscription]:
    return list(_BY_EVENT.get(event_type, ()))


def handler_named(name: str) -> Subscription:
    return _BY_NAME[name]
