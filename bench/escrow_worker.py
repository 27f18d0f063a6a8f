"""`market worker` plus one no-op actor, for `python -m bench escrow`.

    python -m bench.escrow_worker --threads 4      # settings from MARKET_* as `market worker`

It runs `workers.runtime.run_worker` itself (the same broker, middleware, actors and
dramatiq.Worker settings as `market worker`); the only addition is `bench_noop`, on the same
queue, which increments a Redis counter, and the outbox handler `bench.noop`
(bench/escrow_noop.py) that `run_handler` runs for `BenchNoop` events. The benchmark's two
baselines are those, handled by the very processes and threads that then handle the escrow
releases.
"""

from __future__ import annotations

from collections.abc import Callable

import click
import dramatiq
import redis
from dramatiq.broker import Broker

import bench.escrow_noop  # noqa: F401  (registers the pipeline baseline's handler)
from market.db.engine import make_engine
from market.settings import Settings
from workers.actors import QUEUE
from workers.runtime import run_worker

NOOP_ACTOR = "bench_noop"


def declare_noop(broker: Broker, redis_url: str) -> Callable[..., object]:
    """The no-op actor on BROKER: one INCR of the counter key it is given (how the benchmark
    sees that a message was handled). Declared the same way in the sending process."""
    client = redis.Redis.from_url(redis_url)

    def bench_noop(counter_key: str) -> None:
        client.incr(counter_key)

    return dramatiq.actor(  # type: ignore[no-any-return]
        bench_noop, actor_name=NOOP_ACTOR, queue_name=QUEUE, broker=broker, max_retries=0
    )


@click.command()
@click.option("--threads", default=4, show_default=True, type=int)
def main(threads: int) -> None:
    settings = Settings.from_env()
    run_worker(
        settings,
        make_engine(settings.effective_database_url),
        threads,
        extra_actors=lambda broker: declare_noop(broker, settings.redis_url),
    )


if __name__ == "__main__":
    main()
