from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import msgspec
from anyio.to_thread import run_sync
from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import func, select

from market.accounts.domain import CurrentUser, Role
from market.escrow import webhooks
from market.escrow.models import JournalLine, ReconciliationRun
from market.escrow.service import EscrowService, ledger_totals
from market.http import require_role
from market.settings import Settings


class WebhookReceipt(msgspec.Struct):
    id: str
    outcome: str


class AccountBalance(msgspec.Struct):
    account: str
    balance_minor: int


class LedgerCheck(msgspec.Struct):
    total_minor: int
    unbalanced_entries: list[int]
    accounts: list[AccountBalance]


class PaymentWebhookController(Controller):
    path = "/webhooks/payments"
    tags = ["payments"]

    @post("/", status_code=HTTP_200_OK)
    async def receive(
        self,
        request: Request[Any, Any, Any],
        webhook_service: webhooks.WebhookService,
        settings: Settings,
    ) -> WebhookReceipt:
        """The payment provider's events, signed like Stripe's (`Stripe-Signature`).

        A bad signature, an old timestamp or a malformed body gets 400 and changes nothing;
        a replayed event id is acknowledged and changes nothing.
        """
        payload = await request.body()
        webhooks.verify(
            payload,
            request.headers.get("stripe-signature"),
            settings.payments_webhook_secret,
            settings.payments_webhook_tolerance_s,
            int(time.time()),
        )
        event = webhooks.parse(payload)
        outcome = await run_sync(lambda: webhook_service.receive(event))
        return WebhookReceipt(id=event["id"], outcome=outcome)


class ReconciliationOut(msgspec.Struct):
    id: int
    ran_at: datetime
    ok: bool
    provider_movements: int
    ledger_entries: int
    provider_balance: int
    ledger_balance: int
    differences: list[dict[str, Any]]


class LedgerAdminController(Controller):
    path = "/admin/ledger"
    tags = ["admin"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def check(self, user: CurrentUser, escrow_service: EscrowService) -> LedgerCheck:
        """Every account's balance, and the ledger's own checks (all lines sum to zero)."""
        require_role(user, Role.ADMIN)
        with escrow_service.sessions() as s:
            totals = ledger_totals(s)
            rows = s.execute(
                select(JournalLine.account, func.sum(JournalLine.amount_minor))
                .group_by(JournalLine.account)
                .order_by(JournalLine.account)
            ).all()
        return LedgerCheck(
            total_minor=totals["total"],
            unbalanced_entries=totals["unbalanced_entries"],
            accounts=[AccountBalance(a, int(b)) for a, b in rows],
        )

    @get("/reconciliation", sync_to_thread=True)
    def reconciliations(
        self, user: CurrentUser, escrow_service: EscrowService
    ) -> list[ReconciliationOut]:
        """The latest reconciliation runs (hourly, and `market reconcile`), newest first."""
        require_role(user, Role.ADMIN)
        with escrow_service.sessions() as s:
            runs = s.scalars(
                select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(20)
            )
            return [
                ReconciliationOut(
                    r.id,
                    r.ran_at,
                    r.ok,
                    r.provider_movements,
                    r.ledger_entries,
                    r.provider_balance,
                    r.ledger_balance,
                    list(r.differences),
                )
                for r in runs
            ]
