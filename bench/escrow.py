"""Escrow releases per second, end to end, against two no-op baselines in the same run.

    python -m bench escrow [--contracts 500 --processes 2 --threads 4 --noop-messages 3000
                            --pipeline-noops 1000]

Everything is real and runs as it does in the distributed set-up (`compose.yaml`):

* PostgreSQL: its own database (`market_bench_escrow`: dropped, recreated and migrated);
* the payment mock as its own process (`python -m paymock`, SQLite as in compose, no faults,
  no added latency, webhooks stored but not sent: only the jobs book the money);
* Redis as the Dramatiq broker, under a namespace of this run's own;
* P worker processes of T threads (`python -m bench.escrow_worker`: `market worker`'s own
  `run_worker`, plus the no-op actor of the bare baseline on the same queue, and the
  `bench.noop` outbox handler of the pipeline baseline: bench/escrow_noop.py).

Set-up (not timed): N contracts of two milestones are written directly (organisations,
users, tasks, bids, contracts: what an award leaves behind); then, through the services,
milestone 1 is funded (charge at the mock, fund entry in the ledger), the solver accepts
the contract and submits; the set-up's own events are marked published. The first
`--warmup` contracts are released (and some no-ops of both kinds run) on the fresh
workers, unmeasured.

Measured:

1. bare baseline: M messages to the no-op actor (one Redis INCR), queued while the workers
   are paused (SIGSTOP); time from their SIGCONT until they have handled all M;
2. pipeline baseline: K BenchNoop outbox events written in one transaction, relayed by the
   same relay loop, delivered by Redis to the same workers, run by the real `run_handler`
   (event read, no-op handler, delivery row); time from the relay's start until K delivery
   rows exist. Only then (not timed) does the poster accept milestone 1 of the N measured
   contracts, so that this relay does not send their MilestoneAccepted events;
3. releases: the outbox relay (`relay_once`, as the scheduler runs it) sends the
   MilestoneAccepted events' messages through Redis; `run_handler` →
   `EscrowService.release` (lock and mark, transfer at the mock, book) in the workers;
   time from the relay's start until the N release entries are in the ledger;
4. both baselines again (pipeline, then bare); each baseline's rate is the mean of its runs.

Ratios = releases/s ÷ bare no-op messages/s and releases/s ÷ pipeline no-op events/s, each
against the target ≥ 0.3. `--handlers release` (default) relays
only `escrow.release_accepted`, the release path; `--handlers all` relays every handler of
every event as production does (funding of milestone 2, notifications), so the workers do
more per release. Afterwards: the ledger balances, each milestone was released exactly once,
every release and BenchNoop event was delivered once, no failed jobs, and the mock
reconciles with the ledger.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import redis
from sqlalchemy import Engine, Select, func, insert, select, update
from sqlalchemy.orm import Session

from bench.common import (
    HOST,
    RESULTS_DIR,
    ROOT,
    console,
    free_port,
    libpq_url,
    pids_cpu_seconds,
    progress,
    recreate_database,
    safe_url,
    served,
    wait_for_quiet,
    write_results,
)
from bench.escrow_noop import NOOP_EVENT, NOOP_HANDLER
from bench.escrow_worker import declare_noop
from market.accounts.domain import CurrentUser, Language, OrgKind, Role
from market.accounts.models import Organisation, User
from market.bids.domain import BidStatus
from market.bids.models import Bid, BidMilestone
from market.contracts.domain import ContractStatus, MilestoneStatus
from market.contracts.models import Contract, Milestone
from market.db.base import utcnow
from market.db.engine import make_engine
from market.db.migrate import upgrade
from market.escrow.domain import EscrowStatus
from market.escrow.models import JournalEntry, MilestoneEscrow
from market.escrow.reconcile import run_and_record
from market.escrow.service import ledger_totals
from market.jobs import JobContext
from market.outbox.dispatch import relay_once
from market.outbox.models import FailedJob, OutboxDelivery, OutboxEvent
from market.settings import Settings
from market.tasks.domain import BiddingMode, Confidentiality, IpTerms, TaskStatus
from market.tasks.models import Task
from workers.actors import QUEUE, Actors
from workers.broker import make_broker
from workers.runtime import wire

DEFAULT_ESCROW_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/market_bench_escrow"
TARGET_RATIO = 0.3
RELEASE_HANDLER = "escrow.release_accepted"
RELAY_EVERY_S = 0.5  # the scheduler's own pace (workers.runtime.Scheduler)


@dataclass(frozen=True)
class EscrowConfig:
    database_url: str = DEFAULT_ESCROW_DATABASE_URL
    contracts: int = 500
    warmup: int = 20  # releases (and 10× as many no-ops) before measuring, not counted
    noop_messages: int = 3000
    pipeline_noops: int = 1000  # BenchNoop outbox events per pipeline baseline run
    processes: int = 2
    threads: int = 4
    handlers: str = "release"  # "release" or "all"
    redis_url: str = "redis://127.0.0.1:6379/0"
    paymock_database_url: str = ""  # empty: SQLite in bench/results/var, as in compose
    setup_threads: int = 4
    quiet_wait: float = 30.0
    timeout: float = 600.0


# -- set-up -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fixture:
    contract_id: int
    milestone_id: int  # milestone 1, funded and then accepted
    amount: int
    poster: CurrentUser
    solver: CurrentUser


def write_contracts(engine: Engine, n: int) -> list[Fixture]:
    """N awarded contracts (two milestones each) written directly, as an award leaves them:
    task awarded, bid awarded, contract awaiting funding, milestones open. The money is
    not touched here; it moves through the escrow service afterwards."""
    now = utcnow()
    with Session(engine) as s, s.begin():
        orgs = [
            Organisation(kind=OrgKind.ENTERPRISE, name_zh=f"基准企业{i}", name_en=f"Bench Co {i}")
            for i in range(max(1, min(20, n // 25)))
        ]
        lab = Organisation(kind=OrgKind.LAB, name_zh="基准实验室", name_en="Bench Lab")
        s.add_all([*orgs, lab])
        s.flush()
        # Never used to log in: the services are called with CurrentUser directly.
        unusable = "!bench-no-login"
        posters = [
            User(
                email=f"poster{i}@bench-escrow.example",
                password_hash=unusable,
                display_name=f"poster {i}",
                role=Role.POSTER,
                org_id=o.id,
            )
            for i, o in enumerate(orgs)
        ]
        solvers = [
            User(
                email=f"solver{i}@bench-escrow.example",
                password_hash=unusable,
                display_name=f"solver {i}",
                role=Role.SOLVER,
                org_id=lab.id,
            )
            for i in range(max(1, min(100, n // 5)))
        ]
        s.add_all([*posters, *solvers])
        s.flush()
        rows: list[tuple[Contract, User, User, int]] = []
        for i in range(n):
            poster, solver = posters[i % len(posters)], solvers[i % len(solvers)]
            a1, a2 = 100_000 + 37 * i, 50_000 + 11 * i
            task = Task(
                org_id=poster.org_id,
                created_by_id=poster.id,
                status=TaskStatus.AWARDED,
                title_zh=f"基准任务{i}",
                title_en=f"Bench task {i}",
                industry="new_materials",
                district="chongchuan",
                trl_current=3,
                trl_target=5,
                budget_minor=2 * (a1 + a2),
                bid_deadline=now - timedelta(days=1),
                delivery_deadline=now + timedelta(days=180),
                bidding_mode=BiddingMode.OPEN,
                ip_terms=IpTerms.ASSIGN,
                confidentiality=Confidentiality.PUBLIC,
                published_at=now - timedelta(days=30),
            )
            s.add(task)
            s.flush()
            bid = Bid(
                task_id=task.id,
                solver_id=solver.id,
                status=BidStatus.AWARDED,
                price_minor=a1 + a2,
                duration_days=120,
                proposal="bench",
            )
            bid.milestones = [
                BidMilestone(seq=k + 1, title=f"M{k + 1}", amount_minor=a, due=now + d)
                for k, (a, d) in enumerate(((a1, timedelta(days=60)), (a2, timedelta(days=120))))
            ]
            s.add(bid)
            s.flush()
            contract = Contract(
                task_id=task.id,
                bid_id=bid.id,
                poster_org_id=poster.org_id,
                solver_id=solver.id,
                status=ContractStatus.AWAITING_FUNDING,
                price_minor=a1 + a2,
                ip_terms=IpTerms.ASSIGN,
                confidentiality=Confidentiality.PUBLIC,
                poster_accepted_by_id=poster.id,
                poster_accepted_at=now,
            )
            s.add(contract)
            s.flush()
            for bm in bid.milestones:
                s.add(
                    Milestone(
                        contract_id=contract.id,
                        seq=bm.seq,
                        title=bm.title,
                        amount_minor=bm.amount_minor,
                        due=bm.due,
                        status=MilestoneStatus.OPEN,
                    )
                )
            rows.append((contract, poster, solver, a1))
        s.flush()
        first = dict(
            s.execute(select(Milestone.contract_id, Milestone.id).where(Milestone.seq == 1))
            .tuples()
            .all()
        )
        return [Fixture(c.id, first[c.id], a1, _current(p), _current(v)) for c, p, v, a1 in rows]


def _current(u: User) -> CurrentUser:
    return CurrentUser(
        id=u.id,
        email=u.email,
        role=Role(u.role),
        org_id=u.org_id,
        language=Language.ZH,
        display_name=u.display_name,
    )


def _in_threads(
    label: str, items: list[Fixture], fn: Callable[[Fixture], Any], threads: int
) -> float:
    """Run FN over ITEMS on THREADS threads with a progress bar; seconds taken."""
    t0 = time.perf_counter()
    with progress() as bar, ThreadPoolExecutor(threads) as pool:
        task = bar.add_task(label, total=len(items))
        for _ in pool.map(fn, items):
            bar.advance(task)
    return round(time.perf_counter() - t0, 2)


def prepare(
    ctx: JobContext, engine: Engine, n: int, threads: int
) -> tuple[list[Fixture], dict[str, float]]:
    """N contracts with milestone 1 funded and delivered, nothing in the outbox unpublished
    (the poster's acceptance comes later: `accept_milestones`)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with console.status(f"writing {n} awarded contracts"):
        fixtures = write_contracts(engine, n)
    timings["write_contracts_s"] = round(time.perf_counter() - t0, 2)

    def fund_and_deliver(f: Fixture) -> None:
        # The real path: charge at the provider, fund entry booked (ledger consistent).
        outcome = ctx.escrow.fund(f.milestone_id)
        if outcome != "funded":
            raise RuntimeError(f"milestone {f.milestone_id}: fund returned {outcome!r}")
        ctx.contracts.accept(f.solver, f.contract_id, True)
        ctx.contracts.submit(f.solver, f.contract_id, f.milestone_id, "bench delivery", [])

    timings["fund_accept_submit_s"] = _in_threads(
        "fund milestone 1 (paymock), accept, submit", fixtures, fund_and_deliver, threads
    )
    # The set-up's own events (funded, accepted, submitted) are not part of the measure.
    with ctx.sessions.begin() as s:
        s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .values(published_at=utcnow())
        )
    return fixtures, timings


def accept_milestones(ctx: JobContext, fixtures: list[Fixture], threads: int) -> float:
    """The poster accepts milestone 1 of each: a MilestoneAccepted event each in the outbox
    (nothing relays them until the measured phase starts)."""
    return _in_threads(
        f"poster accepts milestone 1 of {len(fixtures)} contracts",
        fixtures,
        lambda f: ctx.contracts.accept_milestone(f.poster, f.contract_id, f.milestone_id),
        threads,
    )


# -- processes ----------------------------------------------------------------------------
def worker_env(settings: Settings, heartbeat: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MARKET_DATABASE_URL": settings.database_url,
        "MARKET_BROKER": "redis",
        "MARKET_REDIS_URL": settings.redis_url,
        "MARKET_REDIS_NAMESPACE": settings.redis_namespace,
        "MARKET_PAYMENTS_URL": settings.payments_url,
        "MARKET_PAYMENTS_SECRET_KEY": settings.payments_secret_key,
        "MARKET_PAYMENTS_KEY_NAMESPACE": settings.payments_key_namespace,
        "MARKET_DATA_DIR": str(settings.data_dir),
        "MARKET_HEARTBEAT_FILE": str(heartbeat),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }


@contextmanager
def workers(settings: Settings, processes: int, threads: int) -> Iterator[list[int]]:
    """P worker processes of T threads on the run's Redis namespace; yields their pids once
    each has started its Dramatiq worker (its heartbeat file appears right after)."""
    procs: list[subprocess.Popen[bytes]] = []
    with ExitStack() as stack:
        try:
            for i in range(processes):
                beat = settings.data_dir / f"escrow-worker-{i}.heartbeat"
                beat.unlink(missing_ok=True)
                log = stack.enter_context(
                    (RESULTS_DIR / f"server-escrow-worker-{i}.log").open("wb")
                )
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bench.escrow_worker", "--threads", str(threads)],
                        cwd=ROOT,
                        env=worker_env(settings, beat),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            deadline = time.monotonic() + 90
            with console.status(f"starting {processes} worker processes × {threads} threads"):
                for i, proc in enumerate(procs):
                    beat = settings.data_dir / f"escrow-worker-{i}.heartbeat"
                    while not beat.exists():
                        if proc.poll() is not None or time.monotonic() > deadline:
                            raise RuntimeError(
                                f"worker {i} did not start; see {RESULTS_DIR}/server-escrow-worker-{i}.log"
                            )
                        time.sleep(0.1)
            yield [p.pid for p in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()  # run_worker stops its dramatiq.Worker on SIGTERM
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def _redis_server_pids() -> list[int]:
    """The local redis-server's pid(s), for its CPU share (read-only look at /proc)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm", encoding="ascii") as f:
                    if f.read().strip() == "redis-server":
                        pids.append(int(name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds used by each part of the stack between start() and stop(): the workers,
    the mock, the PostgreSQL backends of the benchmark database, redis-server, and this
    process (the sender: relay or enqueue loop, plus its polling)."""

    def __init__(self, parts: dict[str, list[int]], database_url: str) -> None:
        self.parts = parts
        self.url = database_url

    def _pg_backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(libpq_url(self.url)) as conn:
            return [
                int(r[0])
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]

    def _sample(self) -> dict[str, dict[int, float]]:
        parts = {name: pids_cpu_seconds(pids) for name, pids in self.parts.items()}
        parts["postgres"] = pids_cpu_seconds(self._pg_backends())
        usage = resource.getrusage(resource.RUSAGE_SELF)
        parts["sender"] = {os.getpid(): usage.ru_utime + usage.ru_stime}
        return parts

    def start(self) -> None:
        self.t0 = self._sample()

    def stop(self, units: int) -> dict[str, float]:
        t1 = self._sample()
        out: dict[str, float] = {}
        for name, now in t1.items():
            before = self.t0.get(name, {})
            out[f"{name}_cpu_s"] = round(sum(v - before.get(pid, 0.0) for pid, v in now.items()), 3)
        total = sum(out.values())
        out["total_cpu_s"] = round(total, 3)
        out["total_cpu_ms_per_unit"] = round(total * 1000 / max(1, units), 3)
        return out


# -- the measured phases ------------------------------------------------------------------
@contextmanager
def paused(pids: list[int]) -> Iterator[None]:
    """Workers stopped (SIGSTOP) inside the block, continued (SIGCONT) after, whatever happens.
    A few seconds are far below the broker's heartbeat timeout: nothing is requeued."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def run_noop(
    broker_actor: Any,
    client: redis.Redis,
    ns: str,
    label: str,
    m: int,
    worker_pids: list[int],
    meter: CpuMeter,
    timeout: float,
) -> dict[str, Any]:
    """M messages to the no-op actor, queued while the workers are paused; time from their
    resumption until they handled all M. One Python sender enqueues only ≈ 1,000 messages/s
    here, which the workers outrun: timed from the first send, the baseline would measure
    the sender. (The releases need no such care: the workers handle them far slower than
    the relay sends them.)"""
    key = f"{ns}:bench-noop:{label}:{uuid.uuid4().hex[:8]}"
    client.delete(key)
    meter.start()  # the enqueueing counts in the CPU cost, as the relay's does for releases
    with progress() as bar:
        sent = bar.add_task(f"{label}: queue no-op messages (workers paused)", total=m)
        t_send = time.perf_counter()
        with paused(worker_pids):
            for i in range(m):
                broker_actor.send(key)
                if i % 100 == 99:
                    bar.update(sent, completed=i + 1)
            bar.update(sent, completed=m)
            send_s = time.perf_counter() - t_send
            t0 = time.perf_counter()
        done = bar.add_task(f"{label}: handled by the workers", total=m)
        deadline = time.monotonic() + timeout
        while (n := int(client.get(key) or 0)) < m:
            bar.update(done, completed=n)
            if time.monotonic() > deadline:
                raise RuntimeError(f"no-op baseline: {n}/{m} handled after {timeout:.0f} s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
        bar.update(done, completed=m)
    cpu = meter.stop(m)
    client.delete(key)
    return {
        "messages": m,
        "seconds": round(elapsed, 3),
        "queue_seconds": round(send_s, 3),
        "per_s": round(m / elapsed, 1),
        "cpu": cpu,
    }


Send = Callable[[int, str], None]


def relay_sender(actors: Actors, handlers: str, sent: dict[str, int]) -> Send:
    """The relay's send: every handler (`all`, as production) or only the release path (and
    the pipeline baseline's no-op handler, which only the benchmark's events have)."""

    def send(outbox_id: int, handler: str) -> None:
        if handlers == "all" or handler in (RELEASE_HANDLER, NOOP_HANDLER):
            actors.send_handler(outbox_id, handler)
            sent[handler] = sent.get(handler, 0) + 1

    return send


RELEASES_BOOKED = (
    select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == "release")
)
NOOPS_DELIVERED = (
    select(func.count()).select_from(OutboxDelivery).where(OutboxDelivery.handler == NOOP_HANDLER)
)


def run_releases(
    ctx: JobContext,
    send: Send,
    sent: dict[str, int],
    engine: Engine,
    n: int,
    meter: CpuMeter,
    timeout: float,
    label: str = "releases booked in the ledger",
) -> dict[str, Any]:
    """Relay the MilestoneAccepted events and time until N more release entries are booked."""
    r = run_relayed(
        ctx, send, sent, engine, n, meter, timeout, label, RELEASES_BOOKED, RELEASE_HANDLER
    )
    return {"releases": n, **r}


def write_noop_events(engine: Engine, n: int) -> None:
    """N BenchNoop events in the outbox, in one transaction (one INSERT, many rows), as a
    use case writes its events: nothing relays them until the measured phase starts."""
    now = utcnow()
    row = {
        "event_type": NOOP_EVENT,
        "aggregate": "bench",
        "payload": {"bench": True},
        "created_at": now,
        "attempts": 0,
    }
    with engine.begin() as conn:
        conn.execute(insert(OutboxEvent.__table__), [{**row, "aggregate_id": i} for i in range(n)])


def run_pipeline_noop(
    ctx: JobContext,
    send: Send,
    sent: dict[str, int],
    engine: Engine,
    n: int,
    meter: CpuMeter,
    timeout: float,
    label: str,
) -> dict[str, Any]:
    """The second baseline: N BenchNoop events through the releases' own pipeline (relay,
    Redis, the same workers, `run_handler` with its event read and delivery row) to a
    handler that does nothing; timed like the releases, until N more delivery rows exist."""
    write_noop_events(engine, n)  # not timed, as the poster's acceptances are not
    r = run_relayed(
        ctx,
        send,
        sent,
        engine,
        n,
        meter,
        timeout,
        f"{label}: delivered",
        NOOPS_DELIVERED,
        NOOP_HANDLER,
    )
    return {"events": n, **r}


def run_relayed(
    ctx: JobContext,
    send: Send,
    sent: dict[str, int],
    engine: Engine,
    n: int,
    meter: CpuMeter,
    timeout: float,
    label: str,
    count: Select[Any],
    handler: str,
) -> dict[str, Any]:
    """Relay what waits in the outbox (as the scheduler does: everything pending, then
    again every RELAY_EVERY_S) and time until COUNT has grown by N."""
    stop = threading.Event()
    relay_error: list[BaseException] = []

    def relay_loop() -> None:
        try:
            while not stop.is_set():
                while relay_once(ctx.sessions, send):
                    pass
                stop.wait(RELAY_EVERY_S)
        except BaseException as exc:  # reported by the polling loop
            relay_error.append(exc)

    with engine.connect() as conn:
        before = int(conn.scalar(count) or 0)
    sent0 = sent.get(handler, 0)
    meter.start()
    t0 = time.perf_counter()
    relay = threading.Thread(target=relay_loop, name="bench-relay", daemon=True)
    relay.start()
    relayed_s = None
    try:
        with progress() as bar, engine.connect() as conn:
            task = bar.add_task(label, total=n)
            deadline = time.monotonic() + timeout
            while True:
                booked = int(conn.scalar(count) or 0) - before
                conn.rollback()  # a fresh snapshot on the next poll
                bar.update(task, completed=booked)
                if relayed_s is None and sent.get(handler, 0) - sent0 >= n:
                    relayed_s = time.perf_counter() - t0
                if booked >= n:
                    break
                if relay_error:
                    raise RuntimeError(f"relay failed: {relay_error[0]!r}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{label}: {booked}/{n} after {timeout:.0f} s")
                time.sleep(0.05)
        elapsed = time.perf_counter() - t0
    finally:
        stop.set()
        relay.join(timeout=10)
    cpu = meter.stop(n)
    return {
        "seconds": round(elapsed, 3),
        "all_messages_sent_after_s": round(relayed_s, 3) if relayed_s else None,
        "per_s": round(n / elapsed, 1),
        "messages_sent": dict(sorted(sent.items())),
        "cpu": cpu,
    }


def wait_idle(ctx: JobContext, send: Send, client: redis.Redis, ns: str, timeout: float) -> bool:
    """Let the workers finish what else was sent (with --handlers all: milestone 2's
    funding, notifications, and the events those write) so the next phase starts from an
    empty queue. True when it did."""
    deadline = time.monotonic() + timeout
    with console.status("waiting for the outbox and the queue to drain"):
        while time.monotonic() < deadline:
            relayed = 0
            while n := relay_once(ctx.sessions, send):
                relayed += n
            pending = int(client.llen(f"{ns}:{QUEUE}") or 0) + int(
                client.llen(f"{ns}:{QUEUE}.DQ") or 0
            )
            unacked = sum(int(client.scard(k) or 0) for k in client.scan_iter(f"{ns}:__acks__.*"))
            if relayed == 0 and pending == 0 and unacked == 0:
                return True
            time.sleep(0.3)
    return False


# -- checks -------------------------------------------------------------------------------
def check(
    ctx: JobContext, engine: Engine, fixtures: list[Fixture], namespace: str, noop_events: int
) -> dict[str, Any]:
    """The ledger balances; each accepted milestone was released exactly once, for what it
    held; one delivery per release message and per BenchNoop event; no failed job; the mock
    agrees with the ledger."""
    ids = [f.milestone_id for f in fixtures]
    amounts = {f.milestone_id: f.amount for f in fixtures}
    with Session(engine) as s:
        totals = ledger_totals(s)
        per_milestone = dict(
            s.execute(
                select(JournalEntry.milestone_id, func.count())
                .where(JournalEntry.kind == "release")
                .group_by(JournalEntry.milestone_id)
            )
            .tuples()
            .all()
        )
        escrows = {
            e.milestone_id: e
            for e in s.scalars(select(MilestoneEscrow).where(MilestoneEscrow.milestone_id.in_(ids)))
        }
        deliveries = int(
            s.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(OutboxDelivery.handler == RELEASE_HANDLER)
            )
            or 0
        )
        noop_deliveries = int(s.scalar(NOOPS_DELIVERED) or 0)
        failed = int(s.scalar(select(func.count()).select_from(FailedJob)) or 0)
    wrong_escrow = [
        mid
        for mid in ids
        if (e := escrows.get(mid)) is None
        or e.status != EscrowStatus.RELEASED
        or e.funded_minor != amounts[mid]
        or e.released_minor != amounts[mid]
    ]
    report = run_and_record(ctx.sessions, ctx.gateway, namespace)
    out = {
        "ledger_total_minor": totals["total"],
        "unbalanced_entries": len(totals["unbalanced_entries"]),
        "milestones_released_once": sum(1 for mid in ids if per_milestone.get(mid) == 1),
        "milestones_released_twice_or_more": sum(1 for v in per_milestone.values() if v > 1),
        "milestones_not_released": sum(1 for mid in ids if mid not in per_milestone),
        "escrows_not_released_in_full": len(wrong_escrow),
        "release_deliveries": deliveries,
        "pipeline_noop_deliveries": noop_deliveries,
        "failed_jobs": failed,
        "reconciliation_ok": report.ok,
        "reconciliation_differences": len(report.differences),
        "provider_movements": report.provider_movements,
        "ledger_entries": report.ledger_entries,
    }
    n = len(fixtures)
    out["ok"] = bool(
        out["ledger_total_minor"] == 0
        and out["unbalanced_entries"] == 0
        and out["milestones_released_once"] == n
        and out["milestones_released_twice_or_more"] == 0
        and out["escrows_not_released_in_full"] == 0
        and out["release_deliveries"] == n
        and out["pipeline_noop_deliveries"] == noop_events
        and out["failed_jobs"] == 0
        and report.ok
    )
    return out


# -- the run ------------------------------------------------------------------------------
def paymock_env(cfg: EscrowConfig, port: int) -> dict[str, str]:
    url = cfg.paymock_database_url
    if not url:
        db = RESULTS_DIR / "var" / "paymock-escrow.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):  # a fresh provider for a fresh ledger
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    return {
        "PAYMOCK_HOST": HOST,
        "PAYMOCK_PORT": str(port),
        "PAYMOCK_DATABASE_URL": url,
        # Webhooks are stored, not sent (no market API runs here): only the jobs book.
        "PAYMOCK_WEBHOOK_WORKER": "false",
        "PAYMOCK_LOG_LEVEL": "warning",
    }


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}


def run_escrow(cfg: EscrowConfig) -> dict[str, Any]:
    if cfg.handlers not in ("release", "all"):
        raise click.BadParameter("--handlers is release or all")
    t_start = time.perf_counter()
    console.rule(f"escrow releases end to end: {safe_url(cfg.database_url)}")
    with console.status("recreating and migrating the benchmark database"):
        recreate_database(cfg.database_url)
        upgrade(cfg.database_url)
    run_id = uuid.uuid4().hex[:10]
    ns = f"market-bench-escrow-{run_id}"
    port = free_port()
    data_dir = RESULTS_DIR / "var"
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = replace(
        Settings(),
        data_dir=data_dir,
        database_url=cfg.database_url,
        payments_url=f"http://{HOST}:{port}",
        # Fresh keys per run: the provider's idempotency keys never replay an old run's.
        payments_key_namespace=f"bench-{run_id}",
        broker="redis",
        redis_url=cfg.redis_url,
        redis_namespace=ns,
    )
    client = redis.Redis.from_url(cfg.redis_url)
    client.ping()
    engine = make_engine(cfg.database_url)
    result: dict[str, Any] = {
        "config": {**asdict(cfg), "database_url": safe_url(cfg.database_url)},
        "redis_namespace": ns,
        "target_ratio": TARGET_RATIO,
    }
    paymock_cmd = [sys.executable, "-m", "paymock"]
    try:
        with served(
            paymock_cmd, port, cfg.database_url, "escrow-paymock", extra_env=paymock_env(cfg, port)
        ) as mock:
            broker, ctx, actors = wire(settings, engine, make_broker(settings))
            noop = declare_noop(broker, cfg.redis_url)
            try:
                total = cfg.warmup + cfg.contracts
                fixtures, timings = prepare(ctx, engine, total, cfg.setup_threads)
                warm, measured = fixtures[: cfg.warmup], fixtures[cfg.warmup :]
                noop_events = 0  # BenchNoop events written, for the delivery check
                with workers(settings, cfg.processes, cfg.threads) as pids:
                    meter = CpuMeter(
                        {"workers": pids, "paymock": [mock.pgid], "redis": _redis_server_pids()},
                        cfg.database_url,
                    )
                    if warm:
                        # Fresh worker processes compile their SQL and open their
                        # connections on the first jobs: not what the steady state costs.
                        console.rule(f"warm-up: {len(warm)} releases, {len(warm) * 10} no-ops")
                        timings["accept_warmup_s"] = accept_milestones(ctx, warm, cfg.setup_threads)
                        warm_sent: dict[str, int] = {}
                        warm_send = relay_sender(actors, cfg.handlers, warm_sent)
                        result["warmup"] = run_releases(
                            ctx,
                            warm_send,
                            warm_sent,
                            engine,
                            len(warm),
                            meter,
                            cfg.timeout,
                            "warm-up releases",
                        )
                        wait_idle(ctx, warm_send, client, ns, cfg.timeout)
                        run_noop(
                            noop, client, ns, "warm-up", len(warm) * 10, pids, meter, cfg.timeout
                        )
                        noop_events += len(warm) * 5
                        run_pipeline_noop(
                            ctx,
                            warm_send,
                            warm_sent,
                            engine,
                            len(warm) * 5,
                            meter,
                            cfg.timeout,
                            "warm-up pipeline no-ops",
                        )
                        wait_idle(ctx, warm_send, client, ns, cfg.timeout)
                    result["cpu_busy_before"] = wait_for_quiet(cfg.quiet_wait)
                    result["machine_before"] = machine()
                    console.rule("baseline: no-op actor")
                    noop1 = run_noop(
                        noop, client, ns, "no-op 1", cfg.noop_messages, pids, meter, cfg.timeout
                    )
                    print_phase("no-op 1", noop1["messages"], "messages", noop1)
                    sent: dict[str, int] = {}
                    send = relay_sender(actors, cfg.handlers, sent)

                    def pipeline(label: str) -> dict[str, Any]:
                        console.rule(f"baseline: no-op outbox handler ({label})")
                        r = run_pipeline_noop(
                            ctx, send, sent, engine, cfg.pipeline_noops, meter, cfg.timeout, label
                        )
                        print_phase(label, r["events"], "events", r)
                        r["drained"] = wait_idle(ctx, send, client, ns, cfg.timeout)
                        return r

                    pipe1 = pipeline("pipeline no-op 1")
                    noop_events += cfg.pipeline_noops
                    # Only now: the relay of a pipeline baseline would send them too.
                    timings["accept_measured_s"] = accept_milestones(
                        ctx, measured, cfg.setup_threads
                    )
                    result["setup"] = timings
                    console.rule(f"escrow releases (--handlers {cfg.handlers})")
                    sent_before = dict(sent)
                    rel = run_releases(ctx, send, sent, engine, cfg.contracts, meter, cfg.timeout)
                    print_phase("releases", rel["releases"], "releases", rel)
                    rel["drained"] = wait_idle(ctx, send, client, ns, cfg.timeout)
                    rel["messages_sent"] = {
                        h: n - sent_before.get(h, 0)
                        for h, n in sorted(sent.items())
                        if n > sent_before.get(h, 0)
                    }
                    pipe2 = pipeline("pipeline no-op 2")
                    noop_events += cfg.pipeline_noops
                    console.rule("baseline again: no-op actor")
                    noop2 = run_noop(
                        noop, client, ns, "no-op 2", cfg.noop_messages, pids, meter, cfg.timeout
                    )
                    print_phase("no-op 2", noop2["messages"], "messages", noop2)
                    result["machine_after"] = machine()
                result["noop"] = [noop1, noop2]
                result["pipeline_noop"] = [pipe1, pipe2]
                result["releases"] = rel
                result["releases_per_s"] = rel["per_s"]
                release_cpu = rel["cpu"]["total_cpu_ms_per_unit"]
                result["cpu_ms_per_release"] = release_cpu
                # Baseline 1, the bare no-op actor (the issue's own): "noop_*" keys as before.
                noop_per_s = (noop1["per_s"] + noop2["per_s"]) / 2
                result["noop_per_s"] = round(noop_per_s, 1)
                result["ratio_releases_to_noop"] = round(rel["per_s"] / noop_per_s, 4)
                noop_cpu = (
                    noop1["cpu"]["total_cpu_ms_per_unit"] + noop2["cpu"]["total_cpu_ms_per_unit"]
                ) / 2
                result["cpu_ms_per_noop"] = round(noop_cpu, 3)
                result["cpu_cost_ratio"] = round(noop_cpu / release_cpu, 4)
                result["met"] = result["ratio_releases_to_noop"] >= TARGET_RATIO
                # Baseline 2, the no-op outbox handler through the releases' own pipeline.
                pipe_per_s = (pipe1["per_s"] + pipe2["per_s"]) / 2
                result["pipeline_noop_per_s"] = round(pipe_per_s, 1)
                result["ratio_releases_to_pipeline_noop"] = round(rel["per_s"] / pipe_per_s, 4)
                pipe_cpu = (
                    pipe1["cpu"]["total_cpu_ms_per_unit"] + pipe2["cpu"]["total_cpu_ms_per_unit"]
                ) / 2
                result["cpu_ms_per_pipeline_noop"] = round(pipe_cpu, 3)
                result["cpu_cost_ratio_pipeline"] = round(pipe_cpu / release_cpu, 4)
                result["met_pipeline"] = result["ratio_releases_to_pipeline_noop"] >= TARGET_RATIO
                with console.status("checking the ledger and reconciling with the mock"):
                    result["checks"] = check(
                        ctx, engine, fixtures, settings.payments_key_namespace, noop_events
                    )
            finally:
                ctx.close()
                broker.close()
    finally:
        for key in client.scan_iter(f"{ns}*"):
            client.delete(key)
        client.close()
        engine.dispose()
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    return result


# -- output -------------------------------------------------------------------------------
def print_phase(label: str, n: int, unit: str, r: dict[str, Any]) -> None:
    cpu = r["cpu"]
    parts = ", ".join(
        f"{k.removesuffix('_cpu_s')} {v:.2f}"
        for k, v in cpu.items()
        if k.endswith("_cpu_s") and k != "total_cpu_s"
    )
    console.print(
        f"[bold]{label}[/]: {n} {unit} in {r['seconds']:.2f} s = [bold]{r['per_s']:.1f}/s[/]; "
        f"CPU {cpu['total_cpu_ms_per_unit']:.2f} ms per {unit.rstrip('s')} ({parts} s)"
    )


def print_figures(r: dict[str, Any]) -> None:
    cfg = r["config"]
    console.rule("escrow releases: figures")
    console.print(
        f"workers: {cfg['processes']} processes × {cfg['threads']} threads (all phases), "
        f"handlers relayed: {cfg['handlers']}, N = {cfg['contracts']} releases, "
        f"M = {cfg['noop_messages']} bare no-op messages and "
        f"{cfg['pipeline_noops']} pipeline no-op events per baseline run"
    )
    console.print(
        f"releases/s: [bold]{r['releases_per_s']}[/] (CPU {r['cpu_ms_per_release']} ms each)"
    )
    for label, per_s, runs, ratio, met, cpu, cpu_ratio in (
        (
            "bare no-op actor (Redis → actor, nothing else)",
            r["noop_per_s"],
            r["noop"],
            r["ratio_releases_to_noop"],
            r["met"],
            r["cpu_ms_per_noop"],
            r["cpu_cost_ratio"],
        ),
        (
            "pipeline no-op handler (outbox → relay → Redis → run_handler)",
            r["pipeline_noop_per_s"],
            r["pipeline_noop"],
            r["ratio_releases_to_pipeline_noop"],
            r["met_pipeline"],
            r["cpu_ms_per_pipeline_noop"],
            r["cpu_cost_ratio_pipeline"],
        ),
    ):
        verdict = "[green]met[/]" if met else "[red]missed[/]"
        console.print(
            f"{label}: [bold]{per_s}/s[/] (runs: {', '.join(str(n['per_s']) for n in runs)}); "
            f"CPU {cpu} ms each"
        )
        console.print(
            f"  ratio releases/s ÷ {label.split(' (')[0]}/s = [bold]{ratio}[/] "
            f"(target ≥ {r['target_ratio']}: {verdict}); CPU-cost ratio {cpu_ratio}"
        )
    checks = r["checks"]
    status = "[green]all passed[/]" if checks["ok"] else "[red]FAILED[/]"
    console.print(
        f"checks {status}: " + ", ".join(f"{k}={v}" for k, v in checks.items() if k != "ok")
    )


def escrow_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    d = EscrowConfig()
    options = [
        click.option(
            "--escrow-database-url",
            "database_url",
            default=d.database_url,
            show_default=True,
            help="dropped, recreated and migrated (its name must contain 'bench')",
        ),
        click.option(
            "--contracts",
            default=d.contracts,
            show_default=True,
            type=int,
            help="N: milestones accepted at once, i.e. releases measured",
        ),
        click.option(
            "--warmup",
            default=d.warmup,
            show_default=True,
            type=int,
            help="releases before the measured ones (fresh workers warm up), not counted",
        ),
        click.option(
            "--noop-messages",
            default=d.noop_messages,
            show_default=True,
            type=int,
            help="M: messages per bare no-op actor baseline run",
        ),
        click.option(
            "--pipeline-noops",
            default=d.pipeline_noops,
            show_default=True,
            type=int,
            help="BenchNoop outbox events per pipeline no-op baseline run",
        ),
        click.option(
            "--processes",
            default=d.processes,
            show_default=True,
            type=int,
            help="worker processes (both phases)",
        ),
        click.option(
            "--threads",
            "worker_threads",
            default=d.threads,
            show_default=True,
            type=int,
            help="threads per worker process (both phases)",
        ),
        click.option(
            "--handlers",
            type=click.Choice(["release", "all"]),
            default=d.handlers,
            show_default=True,
            help="relay only the release path, or every handler",
        ),
        click.option("--redis-url", default=d.redis_url, show_default=True),
        click.option(
            "--paymock-database-url",
            default=d.paymock_database_url,
            help="the mock's database (default: a fresh SQLite file, as in compose)",
        ),
        click.option("--setup-threads", default=d.setup_threads, show_default=True, type=int),
        click.option(
            "--timeout",
            default=d.timeout,
            show_default=True,
            type=float,
            help="seconds each measured phase may take",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def config_from(kwargs: dict[str, Any], quiet_wait: float) -> EscrowConfig:
    threads = kwargs.pop("worker_threads")
    return EscrowConfig(threads=threads, quiet_wait=quiet_wait, **kwargs)


@click.command()
@escrow_options
@click.option(
    "--quiet-wait",
    default=30.0,
    show_default=True,
    type=float,
    help="seconds to wait for idle CPUs before measuring",
)
def main(quiet_wait: float, **kwargs: Any) -> None:
    """Escrow releases/s end to end (outbox → Redis → worker → paymock → ledger) against a
    no-op Dramatiq actor and a no-op outbox handler on the same broker and workers (target
    ratio ≥ 0.3 for each)."""
    result = run_escrow(config_from(kwargs, quiet_wait))
    print_figures(result)
    path = write_results("escrow", result)
    console.print(f"results written to {path}")
    if not result["checks"]["ok"]:
        raise SystemExit(1)
