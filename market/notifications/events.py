from __future__ import annotations

from typing import ClassVar

from market.events import DomainEvent


class NotificationQueued(DomainEvent, frozen=True):
    """A notification has e-mail or webhook deliveries to send (`channels`)."""

    aggregate: ClassVar[str] = "notification"
    notification_id: int
    user_id: int
    kind: str
    channels: list[str]

    @property
    def aggregate_id(self) -> int:
        return self.notification_id


class BidDeadlineApproaching(DomainEvent, frozen=True):
    """Written once per (task, deadline) by the scheduler, 24 h before bidding closes."""

    aggregate: ClassVar[str] = "task"
    task_id: int
    bid_deadline: str

    @property
    def aggregate_id(self) -> int:
        return self.task_id


class MilestoneDueSoon(DomainEvent, frozen=True):
    """Written once per (milestone, due date) by the scheduler, 48 h before it is due."""

    aggregate: ClassVar[str] = "milestone"
    contract_id: int
    milestone_id: int
    due: str

    @property
    def aggregate_id(self) -> int:
        return self.milestone_id
