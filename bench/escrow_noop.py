"""The benchmark's no-op outbox handler: `bench.noop` for `BenchNoop` events.

Registered only by importing this module (bench/escrow.py and bench/escrow_worker.py do);
nothing in market/ knows it. Its events take the releases' whole pipeline — outbox row,
`relay_once`, Redis, the same worker threads, `run_handler` (the event read and the
delivery row) — and then do nothing: what that pipeline costs without the money.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from market.outbox.registry import subscribe

if TYPE_CHECKING:
    from market.jobs import JobContext

NOOP_EVENT = "BenchNoop"
NOOP_HANDLER = "bench.noop"


@subscribe(NOOP_EVENT, name=NOOP_HANDLER)
def bench_noop(ctx: JobContext, event: dict[str, Any]) -> None:
    """Nothing: `run_handler` around it reads the event and records the delivery."""
