"""Domain events: facts the rest of the system (search, escrow, notifications) reacts to."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    aggregate: ClassVar[str]

    @property
    def aggregate_id(self) -> int:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)
