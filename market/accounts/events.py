from __future__ import annotations

from typing import ClassVar

from market.events import DomainEvent


class SolverProfileChanged(DomainEvent, frozen=True):
    aggregate: ClassVar[str] = "solver"
    user_id: int

    @property
    def aggregate_id(self) -> int:
        return self.user_id
