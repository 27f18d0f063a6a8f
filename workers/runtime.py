"""Processes: a worker, the scheduler (relay + periodic scans), or both inside the server."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import dramatiq
from dramatiq.broker import Broker
from sqlalchemy import Engine

from market.jobs import JobContext, build_job_context
from market.outbox.dispatch import relay_once, requeue_undelivered
from market.settings import Settings
from workers.actors import Actors
from workers.broker import RecordFailedJobs, make_broker

log = logging.getLogger(__name__)


def wire(
    settings: Settings, engine: Engine, broker: Broker | None = None
) -> tuple[Broker, JobContext, Actors]:
    broker = broker or make_broker(settings)
    ctx = build_job_context(settings, engine)
    broker.add_middleware(RecordFailedJobs(ctx.sessions))
    return broker, ctx, Actors(broker, ctx)


class Scheduler:
    """One loop: relay the outbox every `relay_every_s`; scan for due work every `scan_every_s`."""

    def __init__(
        self,
        ctx: JobContext,
        actors: Actors,
        relay_every_s: float = 0.5,
        scan_every_s: float = 30.0,
        reconcile_every_s: float = 3600.0,
    ) -> None:
        self.ctx = ctx
        self.actors = actors
        self.relay_every_s = relay_every_s
        self.scan_every_s = scan_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_scan = 0.0
        self.reconcile_every_s = reconcile_every_s
        self._last_reconcile = time.monotonic()  # not at start-up: the provider may be starting too

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        while relay_once(self.ctx.sessions, self.actors.send_handler):
            pass
        if now - self._last_scan >= self.scan_every_s:
            self._last_scan = now
            self.scan()
        if now - self._last_reconcile >= self.reconcile_every_s:
            self._last_reconcile = now
            self.actors.reconcile.send()

    def scan(self) -> None:
        """Due work, sent as messages: the actors check again and are idempotent."""
        for task_id in self.ctx.tasks.due_for_closing():
            self.actors.close_bidding.send(task_id)
        window = timedelta(days=self.ctx.settings.review_window_days)
        for milestone_id in self.ctx.contracts.due_for_auto_accept(window):
            self.actors.auto_accept.send(milestone_id)
        # Deadline reminders go through the outbox, each queued once (keyed).
        self.ctx.notifications.schedule_reminders()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the loop
                log.exception("scheduler tick failed")
            self._stop.wait(self.relay_every_s)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.run_forever, name="market-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


class EmbeddedRuntime:
    """The single-machine default: an in-memory broker, a worker and the scheduler, all in
    the server process. What survives a restart is the outbox: at start-up, events that
    were sent but not handled are sent again."""

    def __init__(self, settings: Settings, engine: Engine, worker_threads: int = 2) -> None:
        self.broker, self.ctx, self.actors = wire(settings, engine)
        self.worker = dramatiq.Worker(
            self.broker, worker_threads=worker_threads, worker_timeout=200
        )
        self.scheduler = Scheduler(self.ctx, self.actors)

    def start(self) -> None:
        requeue_undelivered(self.ctx.sessions)
        self.worker.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        self.worker.stop(timeout=10_000)
        self.ctx.close()


def _start_heartbeat(path: str) -> None:
    """Touch `path` every 10 s while the process lives: the container's health check."""
    if not path:
        return

    def beat() -> None:
        while True:
            with open(path, "a"):
                os.utime(path, None)
            time.sleep(10)

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def run_worker(
    settings: Settings,
    engine: Engine,
    threads: int = 4,
    extra_actors: Callable[[Broker], object] | None = None,
) -> None:
    broker, ctx, _actors = wire(settings, engine)
    if extra_actors is not None:
        # More actors on the same broker and worker (bench/escrow_worker.py: its no-op
        # baseline runs under exactly the worker settings of the real actors).
        extra_actors(broker)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    _start_heartbeat(os.environ.get("MARKET_HEARTBEAT_FILE", ""))
    log.warning("worker running with %d threads on %s", threads, settings.broker)
    try:
        _wait_for_signal()
    finally:
        worker.stop()
        ctx.close()


def run_scheduler(settings: Settings, engine: Engine) -> None:
    _broker, ctx, actors = wire(settings, engine)
    scheduler = Scheduler(ctx, actors)
    scheduler.start()
    _start_heartbeat(os.environ.get("MARKET_HEARTBEAT_FILE", ""))
    log.warning("scheduler running on %s", settings.broker)
    try:
        _wait_for_signal()
    finally:
        scheduler.stop()
        ctx.close()
