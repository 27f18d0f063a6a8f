"""Every mapped model, imported once so Base.metadata is complete (Alembic, tests)."""

from market.accounts.models import ApiToken, LoginAttempt, Organisation, SolverProfile, User
from market.audit.models import AuditEntry
from market.bids.models import Bid, BidMilestone
from market.contracts.models import Contract, Dispute, Milestone, Rating, Submission, SubmissionFile
from market.db.base import Base
from market.discovery.models import SavedSearch, SavedSearchHit
from market.escrow.models import (
    JournalEntry,
    JournalLine,
    MilestoneEscrow,
    ProviderEvent,
    ReconciliationRun,
)
from market.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    ScheduledReminder,
    WebhookEndpoint,
)
from market.outbox.models import FailedJob, OutboxDelivery, OutboxEvent
from market.tasks.models import NdaAcceptance, Task, TaskAttachment, TaskSkill

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Bid",
    "BidMilestone",
    "Contract",
    "Dispute",
    "FailedJob",
    "JournalEntry",
    "JournalLine",
    "LoginAttempt",
    "Milestone",
    "MilestoneEscrow",
    "NdaAcceptance",
    "Notification",
    "NotificationDelivery",
    "NotificationPreference",
    "Organisation",
    "OutboxDelivery",
    "OutboxEvent",
    "ProviderEvent",
    "Rating",
    "ReconciliationRun",
    "SavedSearch",
    "SavedSearchHit",
    "ScheduledReminder",
    "SolverProfile",
    "Submission",
    "SubmissionFile",
    "Task",
    "TaskAttachment",
    "TaskSkill",
    "User",
    "WebhookEndpoint",
]
