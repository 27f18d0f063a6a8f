"""``python -m bench``: generate the data, load-test bid placement, time task listings.

python -m bench generate   # fill market_bench (100k tasks, 50k solvers, 1M bids)
python -m bench bids       # bid placement vs a bare insert under 32 connections (wrk)
python -m bench listing    # task listing filters, in process and over HTTP
python -m bench search     # embedded search engine: indexing, search and match speed
python -m bench escrow     # escrow releases/s end to end vs a no-op actor and a no-op outbox handler
python -m bench relevance  # matching/search nDCG@10 and recall@10 vs plain BM25 (judged set)
python -m bench all        # generate, bids, listing and escrow in a row, then one summary
"""

from __future__ import annotations

import time
from typing import Any

import click

from bench import bid_load, escrow, generate, listing, relevance, search_speed
from bench.common import DEFAULT_DATABASE_URL, console, write_results


@click.group()
def main() -> None:
    """Benchmarks of the R&D task marketplace (see bench/README.md)."""


main.add_command(generate.main, "generate")
main.add_command(bid_load.main, "bids")
main.add_command(listing.main, "listing")
main.add_command(search_speed.main, "search")
main.add_command(relevance.main, "relevance")
main.add_command(escrow.main, "escrow")


@main.command("all")
@click.option("--database-url", default=DEFAULT_DATABASE_URL, show_default=True)
@click.option("--skip-generate", is_flag=True, help="reuse the data already in the database")
@generate.size_options
@bid_load.load_options
@click.option(
    "--requests",
    "listing_requests",
    default=30,
    show_default=True,
    type=int,
    help="listing requests per filter combination",
)
@click.option(
    "--budget",
    "listing_budget",
    default=3.0,
    show_default=True,
    type=float,
    help="listing seconds per combination and path",
)
def run_all(
    database_url: str,
    skip_generate: bool,
    tasks: int,
    solvers: int,
    bids: int,
    enterprises: int,
    seed: int,
    listing_requests: int,
    listing_budget: float,
    **load: Any,
) -> None:
    """Generate, then the bid, listing and escrow benchmarks, then a summary of the figures."""
    t0 = time.perf_counter()
    summary: dict[str, Any] = {}
    if not skip_generate:
        gen = generate.run_generate(
            database_url,
            generate.Sizes(
                tasks=tasks, solvers=solvers, bids=bids, enterprises=enterprises, seed=seed
            ),
        )
        summary["generate"] = {
            "rows": gen["rows"],
            "seconds": gen["seconds"],
            "rows_per_second": gen["rows_per_second"],
        }
    cfg = bid_load.LoadConfig(database_url=database_url, **load)
    b = bid_load.run_bids(cfg)
    summary["bids"] = {
        "bids_per_s": b["bids"]["ok_per_s"],
        "bids_p50_ms": b["bids"]["latency_ms"]["p50"],
        "bids_p95_ms": b["bids"]["latency_ms"]["p95"],
        "bids_non_2xx": b["bids"]["non_2xx"],
        "bare_per_s": b["bare"]["ok_per_s"],
        "bare_p50_ms": b["bare"]["latency_ms"]["p50"],
        "bare_p95_ms": b["bare"]["latency_ms"]["p95"],
        "ratio": b["ratio_bids_to_bare"],
        "target_ratio": b["target_ratio"],
    }
    lst = listing.ListingBench(
        database_url,
        listing_requests,
        cfg.workers,
        seed=7,
        quiet_wait=cfg.quiet_wait,
        budget_s=listing_budget,
    ).run()
    summary["listing"] = {
        "data": lst["data"],
        "in_process_p95_ms": lst["in_process"]["overall"]["p95_ms"],
        "http_p95_ms": lst["http"]["overall"]["p95_ms"],
        "target_p95_ms": lst["target_p95_ms"],
        "ratios": lst["ratios"],
    }
    # Its own database and processes, ≈ 2 min at the defaults.
    esc = escrow.run_escrow(escrow.EscrowConfig(quiet_wait=cfg.quiet_wait))
    escrow.print_figures(esc)
    write_results("escrow", esc)
    summary["escrow"] = {
        "releases_per_s": esc["releases_per_s"],
        "noop_per_s": esc["noop_per_s"],
        "ratio": esc["ratio_releases_to_noop"],
        "pipeline_noop_per_s": esc["pipeline_noop_per_s"],
        "ratio_to_pipeline_noop": esc["ratio_releases_to_pipeline_noop"],
        "target_ratio": esc["target_ratio"],
        "checks_ok": esc["checks"]["ok"],
    }
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    console.rule("summary")
    console.print(summary)
    path = write_results("all", summary)
    console.print(f"summary written to {path}")


if __name__ == "__main__":
    main()
