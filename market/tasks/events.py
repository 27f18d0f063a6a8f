from __future__ import annotations

from typing import ClassVar

from market.events import DomainEvent


class TaskEvent(DomainEvent, frozen=True):
    aggregate: ClassVar[str] = "task"
    task_id: int

    @property
    def aggregate_id(self) -> int:
        return self.task_id


class TaskCreated(TaskEvent, frozen=True):
    pass


class TaskPublished(TaskEvent, frozen=True):
    pass


class TaskEdited(TaskEvent, frozen=True):
    fields: list[str]


class TaskBiddingClosed(TaskEvent, frozen=True):
    pass


class TaskCancelled(TaskEvent, frozen=True):
    reason: str


class TaskAwarded(TaskEvent, frozen=True):
    contract_id: int
    bid_id: int
    solver_id: int


class TaskStarted(TaskEvent, frozen=True):
    contract_id: int


class TaskCompleted(TaskEvent, frozen=True):
    contract_id: int
