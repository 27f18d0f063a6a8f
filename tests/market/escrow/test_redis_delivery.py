"""Money jobs through a real broker: duplicates and a worker killed mid-payment.

1. An outbox event relayed to Redis, and to RabbitMQ (every message sent twice), handled
   by a dramatiq.Worker in this process: one effect.
2. A real `market worker` process (MARKET_BROKER=redis) is killed with SIGKILL while its
   transfer to the solver is at the provider: the provider has moved the money, the worker
   never books it. A second worker starts; Dramatiq's Redis broker gives the dead worker's
   unacknowledged messages back to the queue once its heartbeat is older than
   MARKET_REDIS_HEARTBEAT_TIMEOUT_MS (1.5 s here, checked on every broker command here),
   the job runs again, replays the transfer under its idempotency key and books it: one
   transfer, one release entry.

No hook in the application: the kill comes from the payment provider's side, an ASGI
wrapper around the mock that, once a transfer's work is committed, SIGKILLs the worker
before letting the response out. The mock sends no webhooks here, so only the redelivered
message can book the transfer. Each test uses its own Redis namespace (keys removed after).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import dramatiq
import pytest
import redis
from sqlalchemy import Engine, func, select

from market.escrow.models import JournalEntry
from market.jobs import JobContext
from market.outbox.dispatch import relay_once
from market.outbox.models import OutboxDelivery, OutboxEvent
from market.settings import Settings
from tests.helpers import Api
from tests.market.escrow.reliability import check_books, check_provider, database_url_of
from tests.servers import Provider, serve
from workers.actors import QUEUE
from workers.broker import make_broker
from workers.runtime import wire

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MARKET = Path(sys.executable).with_name("market")


@pytest.fixture
def rabbitmq_settings(settings: Settings) -> Iterator[Settings]:
    """The test's settings on RabbitMQ, in a virtual host of its own (deleted after)."""
    vhost = f"market-test-{uuid.uuid4().hex[:12]}"

    def rabbitmqctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", *args], capture_output=True, check=True, timeout=60)

    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"no RabbitMQ to make a virtual host on: {exc}")
    yield dataclasses.replace(
        settings, broker="rabbitmq", rabbitmq_url=f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    )
    rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_settings(request: pytest.FixtureRequest) -> Settings:
    """Each broker the settings can name."""
    return request.getfixturevalue(f"{request.param}_settings")


@pytest.fixture
def redis_settings(settings: Settings) -> Iterator[Settings]:
    """The test's settings on Redis, under a namespace of its own."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    ns = f"market-test-{uuid.uuid4().hex[:12]}"
    yield dataclasses.replace(
        settings,
        broker="redis",
        redis_url=REDIS_URL,
        redis_namespace=ns,
        redis_heartbeat_timeout_ms=1_500,
        redis_maintenance_chance=1_000_000,
    )
    for key in client.scan_iter(f"{ns}*"):
        client.delete(key)
    client.close()


def _accepted_milestone(api: Api, jobs: JobContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """A contract whose first milestone the poster accepts; the MilestoneAccepted event is
    left in the outbox (the API's drain hook is bypassed by calling the service)."""
    poster, solver = api.poster(), api.solver()
    contract = api.contract(poster, solver)
    m1 = contract["milestones"][0]
    assert api.submit(solver, contract["id"], m1["id"]).status_code == 201
    user = api.c.app.state["services"].accounts.authenticate(poster.token)
    jobs.contracts.accept_milestone(user, contract["id"], m1["id"])
    return contract, m1


def _relay(ctx: JobContext, send: Callable[[int, str], None]) -> int:
    sent = 0

    def escrow_only(outbox_id: int, handler: str) -> None:
        nonlocal sent
        if handler.startswith("escrow."):
            send(outbox_id, handler)
            sent += 1

    while relay_once(ctx.sessions, escrow_only):
        pass
    return sent


def _wait(what: str, done: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _count(engine: Engine, stmt: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)


def _handled(engine: Engine, event_type: str) -> int:
    return _count(
        engine,
        select(func.count())
        .select_from(OutboxDelivery)
        .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.outbox_id)
        .where(OutboxEvent.event_type == event_type, OutboxDelivery.handler.startswith("escrow.")),
    )


def _releases(engine: Engine) -> int:
    return _count(engine, select(func.count()).where(JournalEntry.kind == "release"))


def _transfers(provider: Provider) -> list[dict[str, Any]]:
    return [d for d in provider.movements()["data"] if d["type"] == "transfer"]


def test_a_message_sent_twice_through_the_broker_has_one_effect(
    api: Api, jobs: JobContext, engine: Engine, provider: Provider, broker_settings: Settings
) -> None:
    _accepted_milestone(api, jobs)
    broker = make_broker(broker_settings)
    broker, ctx, actors = wire(broker_settings, engine, broker)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    try:
        sent = _relay(ctx, lambda oid, h: [actors.send_handler(oid, h) for _ in range(2)])
        assert sent == 2  # release_accepted and fund_next_milestone, each sent twice
        worker.start()
        _wait("both handlers", lambda: _handled(engine, "MilestoneAccepted") == 2)
        broker.join(QUEUE, timeout=30_000)
    finally:
        worker.stop(timeout=10_000)
        ctx.close()
        broker.close()

    assert _releases(engine) == 1
    assert len(_transfers(provider)) == 1
    with engine.connect() as conn:
        kinds = sorted(conn.scalars(select(JournalEntry.kind)))
    assert kinds == ["fund", "fund", "release"]  # m1 funded, m2 funded once, m1 released once
    check_provider(provider, check_books(engine))


class KillAfterTransfer:
    """ASGI wrapper of the provider: after a transfer's work is done, SIGKILL `victim` (the
    worker that asked for it), wait until it is dead, then let the response go nowhere."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.victim: subprocess.Popen[bytes] | None = None
        self.killed = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        victim = self.victim
        if (
            victim is None
            or scope["type"] != "http"
            or (scope["method"], scope["path"]) != ("POST", "/v1/transfers")
        ):
            await self.app(scope, receive, send)
            return

        async def kill_then_send(message: Any) -> None:
            if message["type"] == "http.response.start" and not self.killed.is_set():
                victim.send_signal(signal.SIGKILL)
                await anyio.to_thread.run_sync(victim.wait)
                self.victim = None
                self.killed.set()
            await send(message)

        await self.app(scope, receive, kill_then_send)


@pytest.fixture
def killer_provider(tmp_path: Path) -> Iterator[tuple[Provider, KillAfterTransfer]]:
    """A fresh mock (no webhooks), served behind the KillAfterTransfer wrapper."""
    from paymock.app import create_app
    from paymock.settings import PaymockSettings

    app = create_app(
        PaymockSettings(
            database_url=f"sqlite:///{tmp_path / 'paymock.db'}",
            webhook_worker=False,
            secret_key=Provider.SECRET,
        )
    )
    wrapper = KillAfterTransfer(app)
    with serve(wrapper) as url:
        p = Provider(url, app)
        try:
            yield p, wrapper
        finally:
            p.http.close()


@pytest.fixture
def provider(killer_provider: tuple[Provider, KillAfterTransfer]) -> Provider:
    return killer_provider[0]


def _unacked(settings: Settings) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return sum(
            int(client.scard(key))
            for key in client.scan_iter(f"{settings.redis_namespace}:__acks__.*.{QUEUE}")
        )
    finally:
        client.close()


def _start_worker(settings: Settings, engine: Engine, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MARKET_BROKER": "redis",
        "MARKET_REDIS_URL": settings.redis_url,
        "MARKET_REDIS_NAMESPACE": settings.redis_namespace,
        "MARKET_REDIS_HEARTBEAT_TIMEOUT_MS": str(settings.redis_heartbeat_timeout_ms),
        "MARKET_REDIS_MAINTENANCE_CHANCE": str(settings.redis_maintenance_chance),
        "MARKET_DATABASE_URL": database_url_of(engine),
        "MARKET_PAYMENTS_URL": settings.payments_url,
        "MARKET_PAYMENTS_SECRET_KEY": settings.payments_secret_key,
        "MARKET_PAYMENTS_KEY_NAMESPACE": settings.payments_key_namespace,
        "MARKET_DATA_DIR": str(settings.data_dir),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(MARKET), "worker", "--threads", "1"], env=env, stdout=out, stderr=out
        )


@pytest.mark.slow
def test_a_worker_killed_between_transfer_and_commit_is_replaced_and_books_once(
    api: Api,
    jobs: JobContext,
    engine: Engine,
    killer_provider: tuple[Provider, KillAfterTransfer],
    redis_settings: Settings,
    tmp_path: Path,
) -> None:
    provider, wrapper = killer_provider
    _accepted_milestone(api, jobs)
    log = tmp_path / "workers.log"
    broker = make_broker(redis_settings)
    broker, ctx, actors = wire(redis_settings, engine, broker)
    first = second = None
    try:
        first = _start_worker(redis_settings, engine, log)
        wrapper.victim = first
        assert _relay(ctx, actors.send_handler) == 2
        _wait("the worker killed at the transfer", wrapper.killed.is_set)
        assert first.returncode == -signal.SIGKILL
        # The provider moved the money; the ledger knows nothing of it; the message is
        # still unacknowledged, in the dead worker's ack set.
        assert len(_transfers(provider)) == 1
        assert _releases(engine) == 0
        assert _unacked(redis_settings) >= 1

        second = _start_worker(redis_settings, engine, log)
        _wait("the release booked by the redelivered job", lambda: _releases(engine) == 1)
        _wait("both handlers", lambda: _handled(engine, "MilestoneAccepted") == 2)
        time.sleep(1.0)  # anything else still to come would show now
    except AssertionError:
        print(log.read_text(errors="replace")[-5000:])
        raise
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        ctx.close()
        broker.close()

    transfers = _transfers(provider)
    assert len(transfers) == 1
    assert _releases(engine) == 1
    with engine.connect() as conn:
        booked = conn.scalar(
            select(JournalEntry.provider_object).where(JournalEntry.kind == "release")
        )
    assert booked == transfers[0]["source"]
    check_provider(provider, check_books(engine))
