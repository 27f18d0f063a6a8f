"""What background jobs need: the services, built once per worker process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from market.contracts.service import ContractService
from market.db.engine import make_session_factory
from market.discovery.factory import SearchIndexHandle
from market.discovery.service import DiscoveryService
from market.escrow.gateway import PaymentsGateway
from market.escrow.service import EscrowService
from market.notifications.service import NotificationService
from market.settings import Settings
from market.tasks.service import TaskService


@dataclass
class JobContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    gateway: PaymentsGateway
    escrow: EscrowService
    tasks: TaskService
    contracts: ContractService
    notifications: NotificationService
    discovery: DiscoveryService

    def close(self) -> None:
        self.gateway.close()
        self.discovery.close()


def payments_base_url(settings: Settings) -> str:
    """The provider's URL; in the embedded default, the mock mounted in our own server."""
    return settings.payments_url or f"http://{settings.host}:{settings.port}/_paymock"


def build_job_context(
    settings: Settings, engine: Engine, gateway: PaymentsGateway | None = None
) -> JobContext:
    # Importing the tasks modules registers their handlers.
    import market.discovery.tasks
    import market.escrow.tasks
    import market.notifications.tasks  # noqa: F401

    sessions = make_session_factory(engine)
    gateway = gateway or PaymentsGateway(payments_base_url(settings), settings.payments_secret_key)
    return JobContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        gateway=gateway,
        escrow=EscrowService(sessions, settings, gateway),
        tasks=TaskService(sessions, settings),
        contracts=ContractService(sessions, settings),
        notifications=NotificationService(sessions, settings),
        discovery=DiscoveryService(sessions, settings, SearchIndexHandle(settings)),
    )
