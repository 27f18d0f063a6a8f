"""Machinery shared by the escrow reliability tests.

- `stack()`: the real payment mock (with fault injection) and the market app, both served
  over HTTP on localhost; the mock signs its webhooks and POSTs them to the market's
  /webhooks/payments, so a webhook can book money before (or after) the job does.
- `World`: users, tasks, bids and contracts made through the services, as the API would.
- `JobRunner`: the outbox relay and a small at-least-once queue that behaves like Dramatiq
  (messages in any order, duplicates, retry after a retryable error).
- `check_books`, `check_provider`, `check_settled`, `check_decisions`: the invariants.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from market.accounts.domain import CurrentUser, Language, Role
from market.accounts.schemas import OrganisationInput, RegisterInput
from market.accounts.service import AccountService
from market.app import create_app
from market.bids.schemas import BidInput
from market.bids.service import BidService
from market.contracts.models import Dispute, Milestone
from market.errors import Conflict, NotFound
from market.escrow.domain import escrow_account
from market.escrow.gateway import GatewayError, PaymentsGateway, ProviderUnavailable
from market.escrow.models import JournalEntry, MilestoneEscrow
from market.escrow.service import ledger_totals
from market.jobs import JobContext, build_job_context
from market.outbox.dispatch import run_handler
from market.outbox.models import OutboxDelivery, OutboxEvent
from market.outbox.registry import handlers_for
from market.settings import Settings
from market.tasks.schemas import TaskInput
from tests.conftest import _empty_tables, make_settings
from tests.helpers import PASSWORD, bid_payload, task_payload
from tests.servers import Provider, payment_provider, serve

_seq = itertools.count(1)

# The money jobs under test; other contexts' handlers (notifications) are not run here.
ESCROW_HANDLERS = "escrow."

# Retryable for the job runner, as for Dramatiq: the provider is away, or the escrow waits
# for money that is on its way. Anything else from a money job is a bug and fails the test.
RETRYABLE_RULES = frozenset({"funding_in_flight", "settlement_in_flight"})


# -- the servers -------------------------------------------------------------------------
@dataclass
class Stack:
    engine: Engine
    settings: Settings
    provider: Provider
    market_url: str

    @property
    def paymock(self) -> Any:
        """The mock's runtime (settings, fault injector, dispatcher, engine)."""
        return self.provider.app.state.paymock

    def gateway(self, **kwargs: Any) -> PaymentsGateway:
        kwargs.setdefault("backoff_base_s", 0.002)
        kwargs.setdefault("backoff_max_s", 0.01)
        return PaymentsGateway(self.provider.url, Provider.SECRET, **kwargs)

    def job_context(self, **gateway_kwargs: Any) -> JobContext:
        return build_job_context(self.settings, self.engine, self.gateway(**gateway_kwargs))

    def deliver_webhooks(self) -> int:
        return int(self.paymock.deliver_pending_webhooks())

    def pending_webhooks(self) -> int:
        from paymock.models import WebhookDelivery

        with self.paymock.service.sessions() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == "pending")
                )
                or 0
            )

    def webhook_statuses(self) -> Counter[str]:
        from paymock.models import WebhookDelivery

        with self.paymock.service.sessions() as s:
            return Counter(s.scalars(select(WebhookDelivery.status)))

    def reset_provider(self) -> None:
        """Forget every object, key, event and delivery of the mock (between examples)."""
        from paymock.models import Base as PaymockBase
        from paymock.models import Platform

        with self.paymock.service.sessions.begin() as s:
            for table in reversed(PaymockBase.metadata.sorted_tables):
                if table.name != Platform.__tablename__:
                    s.execute(delete(table))
        faults = self.paymock.faults
        # Reseed the fault streams (as a fresh mock with the same seed would be).
        faults._api, faults._dup, faults._order = (
            faults._stream("api"),
            faults._stream("duplicate"),
            faults._stream("order"),
        )

    def set_faults(self, **rates: Any) -> None:
        """Change the mock's fault injection while it runs (its settings are read per call)."""
        for name, value in rates.items():
            setattr(self.paymock.settings, name, value)


def database_url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@contextlib.contextmanager
def stack(engine: Engine, tmp_path: Path, **paymock_settings: Any) -> Iterator[Stack]:
    """Empty market tables, a fresh mock, and the market app served with webhooks wired."""
    _empty_tables(engine)
    paymock_settings.setdefault("webhook_backoff_base_s", 0.01)
    paymock_settings.setdefault("webhook_backoff_max_s", 0.05)
    with payment_provider(tmp_path / "paymock.db", **paymock_settings) as provider:
        settings = make_settings(database_url_of(engine), tmp_path, provider)
        with serve(create_app(settings, engine, background=False)) as url:
            st = Stack(engine, settings, provider, url)
            st.paymock.settings.webhook_url = f"{url}/webhooks/payments"
            yield st


# -- users and contracts through the services ----------------------------------------------
def _current(out: Any) -> CurrentUser:
    org = out.organisation
    return CurrentUser(
        id=out.id,
        email=out.email,
        role=Role(out.role),
        org_id=org.id if org else None,
        language=Language(out.language),
        display_name=out.display_name,
    )


@dataclass
class Awarded:
    contract_id: int
    poster: CurrentUser
    solver: CurrentUser
    milestone_ids: list[int]
    amounts: list[int]


class World:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.accounts = AccountService(ctx.sessions, ctx.settings)
        self.bids = BidService(ctx.sessions, ctx.settings)
        self._tag = uuid.uuid4().hex[:8]

    @property
    def contracts(self) -> Any:
        return self.ctx.contracts

    def _email(self, kind: str, domain: str) -> str:
        return f"{kind}{next(_seq)}-{self._tag}@{domain}"

    def poster(self) -> CurrentUser:
        n = next(_seq)
        data = RegisterInput(
            email=self._email("poster", "firm.example"),
            password=PASSWORD,
            display_name="poster",
            role=Role.POSTER,
            organisation=OrganisationInput(name_zh=f"测试公司{n}", name_en=f"Test Co {n}"),
        )
        return _current(self.accounts.register(data))

    def solver(self) -> CurrentUser:
        data = RegisterInput(
            email=self._email("solver", "lab.example"),
            password=PASSWORD,
            display_name="solver",
            role=Role.SOLVER,
        )
        return _current(self.accounts.register(data))

    def admin(self) -> CurrentUser:
        out = self.accounts.bootstrap_admin(
            self._email("admin", "platform.example"), PASSWORD, "管理员"
        )
        return _current(out)

    def award(self, poster: CurrentUser, solver: CurrentUser, amounts: list[int]) -> Awarded:
        """A published task, one bid with these milestone amounts, awarded (not funded yet:
        the ContractAwarded event's job charges the first milestone)."""
        price = sum(amounts)
        task = self.ctx.tasks.create(
            poster, msgspec.convert(task_payload(budget_minor=price * 2), TaskInput)
        )
        self.ctx.tasks.publish(poster, task.id)
        body = bid_payload(price=price, parts=len(amounts))
        for m, a in zip(body["milestones"], amounts, strict=True):
            m["amount_minor"] = a
        bid = self.bids.place(solver, task.id, msgspec.convert(body, BidInput))
        contract = self.contracts.award(poster, bid.id, True)
        return Awarded(
            contract.id, poster, solver, [m.id for m in contract.milestones], list(amounts)
        )


# -- a Dramatiq-like queue ------------------------------------------------------------------
@dataclass
class Message:
    outbox_id: int
    handler: str
    retries: int = 0


@dataclass
class JobRunner:
    """At-least-once delivery of the outbox's handler messages, in an order the caller picks.

    A retryable error puts the message back (Dramatiq's retry); a non-retryable one
    (GatewayError, NotFound) is recorded as a failed job; anything else propagates.
    """

    ctx: JobContext
    # Dramatiq gives up after max_retries (workers.actors: 12); the message becomes a
    # failed job. Retries while the provider is down on purpose (`outage`) are not counted:
    # Dramatiq's back-off spreads its retries over an hour, longer than any outage here.
    max_retries: int = 12
    outage: bool = False
    pending: list[Message] = field(default_factory=list)
    failed: list[tuple[Message, str]] = field(default_factory=list)
    runs: int = 0
    retries: int = 0
    duplicates: int = 0

    def relay(self, duplicate: bool = False) -> int:
        from market.outbox.dispatch import relay_once

        def send(outbox_id: int, handler: str) -> None:
            if handler.startswith(ESCROW_HANDLERS):
                self.pending.append(Message(outbox_id, handler))
                if duplicate:
                    self.pending.append(Message(outbox_id, handler))
                    self.duplicates += 1

        n = 0
        while relay_once(self.ctx.sessions, send):
            n += 1
        return n

    def rerelay(self, outbox_id: int) -> None:
        """Send an already published event again (a relay that crashed before its commit)."""
        with self.ctx.sessions() as s:
            row = s.get(OutboxEvent, outbox_id)
            if row is None:
                return
            for sub in handlers_for(row.event_type):
                if sub.name.startswith(ESCROW_HANDLERS):
                    self.pending.append(Message(outbox_id, sub.name))
                    self.duplicates += 1

    def _retry(self, msg: Message, error: BaseException) -> None:
        self.retries += 1
        if not self.outage:
            msg.retries += 1
        if msg.retries > self.max_retries:
            self.failed.append((msg, f"gave up after {self.max_retries} retries: {error!r}"))
        else:
            self.pending.append(msg)

    def _run_one(self, msg: Message) -> BaseException | None:
        try:
            run_handler(self.ctx, msg.outbox_id, msg.handler)
        except (ProviderUnavailable, Conflict) as exc:
            if isinstance(exc, Conflict) and exc.rule not in RETRYABLE_RULES:
                raise
            return exc
        except (GatewayError, NotFound) as exc:
            self.failed.append((msg, f"{type(exc).__name__}: {exc}"))
        return None

    def run(self, index: int, *, twice: bool = False, concurrent: bool = False) -> None:
        """Run the index-th pending message (modulo); `twice`: deliver it again right after;
        `concurrent`: two deliveries of it at once, on two threads."""
        if not self.pending:
            return
        msg = self.pending.pop(index % len(self.pending))
        self.runs += 1
        if concurrent:
            errors: list[BaseException | None] = [None, None]
            crashes: list[BaseException] = []

            def one(i: int) -> None:
                try:
                    errors[i] = self._run_one(msg)
                except BaseException as exc:
                    crashes.append(exc)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.duplicates += 1
            if crashes:
                raise crashes[0]
            error = errors[0] if errors[1] is not None else None
        else:
            error = self._run_one(msg)
            if twice:
                self.duplicates += 1
                again = self._run_one(msg)
                error = again if error is not None else None
        if error is not None:  # every delivery failed: retry, like Dramatiq
            self._retry(msg, error)

    def drain(self, *, max_runs: int = 2000, between: Callable[[], Any] | None = None) -> None:
        """Relay and run until nothing is left (retrying as needed)."""
        for _ in range(max_runs):
            if not self.pending:
                self.relay()
                if between is not None:
                    between()
                    self.relay()
                if not self.pending:
                    return
            self.run(0)
        raise AssertionError(f"background work did not drain: {self.pending[:10]}")


def settle(runner: JobRunner, st: Stack, *, rounds: int = 200) -> None:
    """Run every job and deliver every webhook until both are quiet."""
    for _ in range(rounds):
        runner.drain(between=st.deliver_webhooks)
        st.deliver_webhooks()
        runner.relay()
        if not runner.pending and st.pending_webhooks() == 0:
            return
    raise AssertionError(
        f"not settled: {len(runner.pending)} jobs, {st.pending_webhooks()} webhooks pending"
    )


# -- invariants -----------------------------------------------------------------------------
@dataclass
class Books:
    fund_total: int = 0
    refund_total: int = 0
    solver_credits: dict[int, int] = field(default_factory=dict)
    provider_objects: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    entries: int = 0


def check_books(engine: Engine) -> Books:
    """The ledger balances, and each milestone's escrow agrees with it and is never negative.

    For every milestone: funded - released - refunded >= 0, both in milestone_escrows and in
    the lines of its entries on the contract's escrow account; at most one entry per kind.
    """
    books = Books()
    with Session(engine) as s:
        totals = ledger_totals(s)
        assert totals == {"total": 0, "unbalanced_entries": []}, totals
        entries = list(s.scalars(select(JournalEntry).order_by(JournalEntry.id)))
        escrows = {e.milestone_id: e for e in s.scalars(select(MilestoneEscrow))}
    per_kind: Counter[tuple[int | None, str]] = Counter()
    from_ledger: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in entries:
        books.entries += 1
        assert sum(line.amount_minor for line in e.lines) == 0, f"entry {e.id} unbalanced"
        per_kind[(e.milestone_id, e.kind)] += 1
        assert e.milestone_id is not None and e.contract_id is not None, e.id
        esc_lines = [x.amount_minor for x in e.lines if x.account == escrow_account(e.contract_id)]
        assert len(esc_lines) == 1, f"entry {e.id} ({e.kind}) has no single escrow line"
        moved = esc_lines[0]
        from_ledger[e.milestone_id][e.kind] += moved
        books.provider_objects[e.kind].add(str(e.provider_object))
        if e.kind == "fund":
            assert moved > 0
            books.fund_total += moved
        elif e.kind == "refund":
            assert moved < 0
            books.refund_total += -moved
        elif e.kind == "release":
            assert moved < 0
            for line in e.lines:
                if line.account.startswith("solver:user:"):
                    uid = int(line.account.rsplit(":", 1)[1])
                    books.solver_credits[uid] = books.solver_credits.get(uid, 0) + line.amount_minor
    twice = {k: n for k, n in per_kind.items() if n > 1}
    assert not twice, f"more than one entry of a kind for a milestone: {twice}"
    unknown = set(from_ledger) - set(escrows)
    assert not unknown, f"ledger entries for milestones without an escrow row: {unknown}"
    for mid, esc in escrows.items():
        led = from_ledger.get(mid, {})
        got = (esc.funded_minor, esc.released_minor, esc.refunded_minor)
        want = (led.get("fund", 0), -led.get("release", 0), -led.get("refund", 0))
        assert got == want, f"milestone {mid}: escrow row {got} but ledger {want}"
        held = esc.funded_minor - esc.released_minor - esc.refunded_minor
        assert held >= 0, f"milestone {mid}: escrow is negative ({held})"
        assert sum(led.values()) == held
    return books


def check_provider(provider: Provider, books: Books) -> None:
    """Once everything has drained: the provider moved exactly what the ledger booked."""
    moved = provider.movements()
    totals = moved["totals"]
    by_type: Counter[str] = Counter(d["type"] for d in moved["data"])
    sources: dict[str, set[str]] = defaultdict(set)
    for d in moved["data"]:
        sources[d["type"]].add(d["source"])
    assert totals["charge"] == books.fund_total, (totals, books.fund_total)
    assert -totals["refund"] == books.refund_total, (totals, books.refund_total)
    assert -totals["transfer"] == sum(books.solver_credits.values()), (
        totals,
        books.solver_credits,
    )
    assert moved["transfers_by_destination"] == {
        f"acct_solver_{uid}": amount for uid, amount in books.solver_credits.items() if amount
    }
    # Every movement has exactly one ledger entry (and the other way round).
    assert sources["transfer"] == books.provider_objects["release"], "transfers vs releases"
    assert sources["refund"] == books.provider_objects["refund"], "refunds vs refund entries"
    assert by_type["charge"] == len(books.provider_objects["fund"]), "charges vs fund entries"


def check_settled(st: Stack, runner: JobRunner) -> None:
    """Liveness: no failed job, every escrow handler ran for every event, nothing in flight,
    and every webhook the provider sent was accepted by the market."""
    assert not runner.failed, runner.failed
    statuses = st.webhook_statuses()
    assert set(statuses) <= {"delivered"}, statuses
    with Session(st.engine) as s:
        events = list(s.scalars(select(OutboxEvent)))
        done = {
            (r[0], r[1])
            for r in s.execute(select(OutboxDelivery.outbox_id, OutboxDelivery.handler))
        }
        stuck = [
            (e.milestone_id, e.status)
            for e in s.scalars(select(MilestoneEscrow))
            if e.status in ("funding", "releasing", "refunding")
        ]
    missing = [
        (e.id, e.event_type, sub.name)
        for e in events
        for sub in handlers_for(e.event_type)
        if sub.name.startswith(ESCROW_HANDLERS) and (e.id, sub.name) not in done
    ]
    assert not missing, f"handlers never completed: {missing[:10]}"
    assert not stuck, f"escrows left in flight: {stuck}"


def check_decisions(engine: Engine) -> None:
    """Money went where the parties (or the admin) decided, once everything settled."""
    with Session(engine) as s:
        escrows = {e.milestone_id: e for e in s.scalars(select(MilestoneEscrow))}
        resolved = {
            d.milestone_id: d
            for d in s.scalars(select(Dispute).where(Dispute.status == "resolved"))
        }
        for m in s.scalars(select(Milestone)):
            esc = escrows.get(m.id)
            funded, released, refunded = (
                (esc.funded_minor, esc.released_minor, esc.refunded_minor) if esc else (0, 0, 0)
            )
            if m.status == "accepted":
                want = (m.amount_minor, m.amount_minor, 0)
            elif m.status == "resolved":
                d = resolved[m.id]
                want = (m.amount_minor, d.to_solver_minor, d.to_poster_minor)
            elif m.status == "cancelled":
                want = (funded, 0, funded)
            else:
                continue
            assert (funded, released, refunded) == want, (
                f"milestone {m.id} is {m.status}: funded/released/refunded "
                f"{(funded, released, refunded)}, decided {want}"
            )
