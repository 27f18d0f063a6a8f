from __future__ import annotations

from typing import ClassVar

from market.events import DomainEvent


class BidEvent(DomainEvent, frozen=True):
    aggregate: ClassVar[str] = "bid"
    bid_id: int
    task_id: int
    solver_id: int

    @property
    def aggregate_id(self) -> int:
        return self.bid_id


class BidPlaced(BidEvent, frozen=True):
    price_minor: int


class BidEdited(BidEvent, frozen=True):
    price_minor: int


class BidWithdrawn(BidEvent, frozen=True):
    pass


class BidShortlisted(BidEvent, frozen=True):
    pass


class BidDeclined(BidEvent, frozen=True):
    reason: str


class BidAwarded(BidEvent, frozen=True):
    contract_id: int
