"""A charge whose answer was lost when the contract is cancelled is still settled.

The award's job asks the provider for the first milestone's money; the provider fails
(before doing anything, or after charging with the answer lost) until the job gives up
for now (ProviderUnavailable: Dramatiq will retry). The escrow is "funding". The poster
then cancels the contract, so its refund job waits for the charge to land. The provider
recovers and no webhook comes (the endpoint is not configured, or is down): the retried
funding job alone must find out what happened, book any charge, and let the refund return
it. Nothing may stay "funding", no job may fail, and the provider must agree with the
ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from market.escrow.models import MilestoneEscrow
from market.jobs import JobContext
from tests.market.escrow.reliability import (
    JobRunner,
    Stack,
    World,
    check_books,
    check_provider,
    stack,
)


@pytest.fixture
def st_(engine: Engine, tmp_path: Path) -> Iterator[Stack]:
    with stack(engine, tmp_path) as s:
        yield s


def test_a_charge_in_flight_at_cancellation_is_booked_and_returned(
    st_: Stack, engine: Engine
) -> None:
    """Two contracts: the provider fails before charging the first, after charging the
    second (the answer lost)."""
    jobs: JobContext = st_.job_context(max_attempts=2)
    try:
        world = World(jobs)
        runner = JobRunner(jobs)
        first: list[int] = []
        for lost in ("before", "after"):
            poster = world.poster()
            awarded = world.award(poster, world.solver(), [30_000, 70_000])
            m1 = awarded.milestone_ids[0]
            first.append(m1)
            st_.set_faults(error_rate=1.0, error_after_share=1.0 if lost == "after" else 0.0)
            runner.relay()
            # This contract's escrow.fund_first_milestone (the newest message) fails with
            # ProviderUnavailable and is queued again.
            runner.run(len(runner.pending) - 1)
            funding = [m for m in runner.pending if m.handler == "escrow.fund_first_milestone"]
            assert len(funding) == len(first)
            with jobs.sessions() as s:
                assert s.get(MilestoneEscrow, m1).status == "funding"
            world.contracts.cancel(poster, awarded.contract_id, "需求变更")
            st_.set_faults(error_rate=0.0)

        runner.drain()  # retries included; the provider's webhooks are not delivered

        assert not runner.failed, runner.failed
        with jobs.sessions() as s:
            escrows = {e.milestone_id: e for e in s.scalars(select(MilestoneEscrow))}
        for m1 in first:
            esc = escrows[m1]
            assert esc.status in ("unfunded", "refunded"), esc.status
            assert esc.funded_minor == esc.refunded_minor
        check_provider(st_.provider, check_books(engine))
    finally:
        jobs.close()
