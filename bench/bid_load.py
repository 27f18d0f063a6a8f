"""Bid placement under concurrent clients, against the production server set-up.

The load generator is wrk (C + LuaJIT), not Python. Two servers run one after the other
against the same benchmark database, each with the same uvicorn settings and workers:

* ``market serve --workers N``: POST /tasks/{id}/bids, the real bid placement;
* ``uvicorn bench.bare_app:create_app --factory``: the same app plus POST /bench/bare,
  which decodes the same body and inserts one row (see bench/bare_app.py).

Bearer tokens are issued straight into ``api_tokens`` (SHA-256 only, as the app stores
them) for a sample of solvers; each request takes a fresh (solver, task) pair among
published public tasks with future deadlines that the solver has no live bid on, so every
request can be a 201. The figure is bids/s ÷ bare rows/s (target ≥ 0.5).

    python -m bench bids [--duration 20 --warmup 5 --connections 32 --threads 2]
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import msgspec
import psycopg
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from bench.bare_app import bare_rows, ensure_bare_table
from bench.common import (
    BENCH_DIR,
    DEFAULT_DATABASE_URL,
    RESULTS_DIR,
    console,
    free_port,
    group_cpu_seconds,
    libpq_url,
    market_serve_cmd,
    pids_cpu_seconds,
    progress,
    safe_url,
    served,
    uvicorn_factory_cmd,
    wait_for_quiet,
    write_results,
)
from market.accounts.service import hash_token
from market.bids.schemas import BidInput
from market.bids.service import BidService
from market.db.engine import make_engine, make_session_factory
from market.settings import Settings

LUA_SCRIPT = BENCH_DIR / "wrk" / "bid.lua"
LIVE = ("submitted", "shortlisted", "awarded")
TARGET_RATIO = 0.5


@dataclass
class LoadConfig:
    database_url: str = DEFAULT_DATABASE_URL
    duration: int = 20
    warmup: int = 5
    connections: int = 32
    threads: int = 2
    workers: int = 2
    token_solvers: int = 2000  # solvers given bearer tokens
    max_rate: int = 2000  # pairs prepared per second of load; beyond it pairs repeat
    quiet_wait: int = 30  # seconds to wait for other work to leave the CPUs before each run
    rounds: int = 1  # alternate bids and bare this many times; report the median round


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    raise SystemExit(
        "wrk is not installed: run `apt-get update && apt-get install -y wrk` "
        "(Debian package wrk), then run the benchmark again"
    )


def body_template(now: datetime) -> str:
    """The bid JSON with %d for the price and the two milestone amounts (Lua fills them)."""
    now = now.replace(microsecond=0)
    body = {
        "price_minor": 987654321,
        "duration_days": 120,
        "proposal": (
            "本团队在该领域深耕十年，完成同类项目十余项。拟分两阶段完成方案设计、样机验证与"
            "现场交付，每阶段提交可核查的测试数据。 We will deliver verifiable test data "
            "at every milestone."
        ),
        "milestones": [
            {
                "title": "阶段1：方案设计与关键技术验证",
                "deliverable": "技术方案与验证报告",
                "amount_minor": 987654322,
                "due": (now + timedelta(days=30)).isoformat(),
            },
            {
                "title": "阶段2：样机研制与测试交付",
                "deliverable": "样机、测试报告与培训",
                "amount_minor": 987654323,
                "due": (now + timedelta(days=90)).isoformat(),
            },
        ],
        "team_members": [
            {"name": "钱振宇", "role": "项目负责人"},
            {"name": "刘海波", "role": "高级工程师"},
        ],
    }
    text = json.dumps(body, ensure_ascii=False)
    assert "%" not in text
    for sentinel in ("987654321", "987654322", "987654323"):
        assert text.count(sentinel) == 1
        text = text.replace(sentinel, "%d")
    return text


class Fixtures:
    """Solvers with fresh bearer tokens and (solver, task) pairs with no live bid yet."""

    def __init__(self, cfg: LoadConfig, workdir: Path) -> None:
        self.cfg = cfg
        self.workdir = workdir
        self.token_ids: list[int] = []
        self.solver_ids: list[int] = []
        self.started = datetime.now(UTC)

    def prepare(self) -> dict[str, Any]:
        cfg = self.cfg
        rng = secrets.SystemRandom()
        now = datetime.now(UTC)
        with psycopg.connect(libpq_url(cfg.database_url)) as conn:
            tasks = [
                r[0]
                for r in conn.execute(
                    """SELECT id FROM tasks WHERE status = 'published'
                       AND confidentiality = 'public'
                       AND bid_deadline > now() + interval '1 day'
                       AND delivery_deadline > now() + interval '120 days'"""
                )
            ]
            solvers = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM users WHERE role = 'solver' AND is_active "
                    "ORDER BY random() LIMIT %s",
                    (cfg.token_solvers,),
                )
            ]
            if len(tasks) < 100 or len(solvers) < 10:
                raise SystemExit(
                    f"too little data ({len(tasks)} open public tasks, {len(solvers)} solvers): "
                    "run `python -m bench generate` first"
                )
            tokens = [secrets.token_urlsafe(32) for _ in solvers]
            expires = now + timedelta(days=1)
            self.token_ids = [
                r[0]
                for r in conn.execute(
                    """INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at)
                       SELECT u, h, %s, %s FROM unnest(%s::bigint[], %s::text[]) AS x(u, h)
                       RETURNING id""",
                    (now, expires, solvers, [hash_token(t) for t in tokens]),
                )
            ]
            conn.commit()
            self.solver_ids = solvers

            # Fresh pairs: warm-up and main run each get their own, none repeated.
            want_warm = cfg.max_rate * cfg.warmup
            want_main = cfg.max_rate * cfg.duration
            want = (want_warm + want_main) * cfg.rounds + PROBE_BIDS
            pairs: set[tuple[int, int]] = set()
            while len(pairs) < want:
                pairs.add((rng.randrange(len(solvers)), rng.choice(tasks)))
            candidates = list(pairs)
            rng.shuffle(candidates)
            taken = {
                (r[0], r[1])
                for r in conn.execute(
                    """SELECT b.solver_id, b.task_id FROM bids b
                       JOIN unnest(%s::bigint[], %s::bigint[]) AS p(solver_id, task_id)
                         ON b.solver_id = p.solver_id AND b.task_id = p.task_id
                       WHERE b.status = ANY(%s)""",
                    (
                        [solvers[s] for s, _ in candidates],
                        [t for _, t in candidates],
                        list(LIVE),
                    ),
                )
            }
        fresh = [(s, t) for s, t in candidates if (solvers[s], t) not in taken]
        self.probe_pairs = [(solvers[s], tokens[s], t) for s, t in fresh[:PROBE_BIDS]]
        fresh = fresh[PROBE_BIDS:]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.template = self.workdir / "bid_body.json"
        self.template.write_text(body_template(now), encoding="utf-8")
        # Per round: its own warm-up and main pairs (a round's leftovers are never reused).
        self.pairs_files: list[dict[str, Path]] = []
        per_round = len(fresh) // cfg.rounds
        for r in range(cfg.rounds):
            chunk = fresh[r * per_round : (r + 1) * per_round]
            files = {}
            for name, part in (("warmup", chunk[:want_warm]), ("main", chunk[want_warm:])):
                path = self.workdir / f"pairs_{r}_{name}.tsv"
                path.write_text("".join(f"{tokens[s]}\t{t}\n" for s, t in part), encoding="ascii")
                files[name] = path
            self.pairs_files.append(files)
        warm, main = want_warm, per_round - want_warm
        return {
            "open_public_tasks": len(tasks),
            "solvers_with_tokens": len(solvers),
            "pairs_warmup_per_round": warm,
            "pairs_main_per_round": main,
            "pairs_dropped_existing_live_bid": len(taken),
        }

    def cleanup(self) -> None:
        if not self.token_ids:
            return
        with psycopg.connect(libpq_url(self.cfg.database_url)) as conn:
            conn.execute("DELETE FROM api_tokens WHERE id = ANY(%s)", (self.token_ids,))
            conn.commit()
        for path in self.workdir.glob("*"):
            path.unlink()

    def bids_written(self) -> dict[str, int]:
        with psycopg.connect(libpq_url(self.cfg.database_url)) as conn:
            row = conn.execute(
                """SELECT count(*),
                          count(*) FILTER (WHERE NOT EXISTS (
                              SELECT 1 FROM bid_milestones m WHERE m.bid_id = b.id))
                   FROM bids b WHERE solver_id = ANY(%s) AND created_at >= %s""",
                (self.solver_ids, self.started),
            ).fetchone()
            events = conn.execute(
                "SELECT count(*) FROM outbox_events WHERE event_type = 'BidPlaced' "
                "AND created_at >= %s",
                (self.started,),
            ).fetchone()
        assert row is not None and events is not None
        return {"bids": row[0], "bids_without_milestones": row[1], "bid_placed_events": events[0]}


PROBE_BIDS = 60


def probe_in_process(cfg: LoadConfig, fixtures: Fixtures) -> dict[str, Any]:
    """One client, in process, no HTTP: the SQL statements each request sends and the time
    and Python CPU it takes. Shows where a bid's cost goes next to the bare insert."""
    engine = make_engine(cfg.database_url)
    ensure_bare_table(engine)
    sessions = make_session_factory(engine)
    settings = Settings(database_url=cfg.database_url, argon2_profile="CHEAPEST")
    bids = BidService(sessions, settings)
    template = fixtures.template.read_text(encoding="utf-8")
    body = (template % (1_000_000, 400_000, 600_000)).encode()
    counter = _StatementCounter(engine)

    def bid(i: int) -> None:
        _solver_id, token, task_id = fixtures.probe_pairs[i]
        data = msgspec.json.decode(body, type=BidInput)
        bids.place_with_token(token, task_id, data)  # what POST /tasks/{id}/bids calls

    def bare(_: int) -> None:
        data = msgspec.json.decode(body, type=BidInput)
        with sessions() as s:
            s.execute(
                insert(bare_rows).values(
                    price_minor=data.price_minor, milestones=len(data.milestones)
                )
            )
            s.commit()

    out: dict[str, Any] = {}
    with counter:
        bid(0)
    out["statements_bid_total"] = counter.n
    out["statement_kinds_bid"] = counter.kinds
    with counter:
        bare(0)
    out["statements_bare"] = counter.n
    n = len(fixtures.probe_pairs) - 1
    for name, fn in (("bid", bid), ("bare", bare)):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(1, n + 1):
            fn(i)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        out[f"{name}_ms_per_request"] = round(wall / n * 1000, 2)
        out[f"{name}_python_cpu_ms_per_request"] = round(cpu / n * 1000, 2)
    out["requests_each"] = n
    engine.dispose()
    return out


class _StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.n = 0
        self.kinds: list[str] = []

    def _count(self, _conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        self.n += 1
        self.kinds.append(" ".join(statement.split()[:4]))

    def _commit(self, *_: Any) -> None:
        self.n += 1
        self.kinds.append("COMMIT")

    def __enter__(self) -> _StatementCounter:
        self.n = 0
        self.kinds = []
        event.listen(self.engine, "before_cursor_execute", self._count)
        event.listen(self.engine, "commit", self._commit)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)
        event.remove(self.engine, "commit", self._commit)


class CpuMeter:
    """CPU used by the server (its process group: uvicorn and its workers) and by the
    PostgreSQL backends connected to the benchmark database, from
    now until per_request(). Unlike requests/s, CPU per request hardly depends on what else
    runs on the machine, so the CPU-cost ratio shows what the throughput ratio would be on a
    dedicated CPU-bound machine."""

    def __init__(self, pgid: int, database_url: str) -> None:
        self.pgid = pgid
        self.url = database_url
        self.server0 = group_cpu_seconds(pgid)
        self.pg0 = pids_cpu_seconds(self._backends())

    def _backends(self) -> list[int]:
        with psycopg.connect(libpq_url(self.url)) as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]

    def per_request(self, ok: int) -> dict[str, float]:
        server = group_cpu_seconds(self.pgid) - self.server0
        pg1 = pids_cpu_seconds(self._backends())
        postgres = sum(v - self.pg0.get(pid, 0.0) for pid, v in pg1.items())
        n = max(1, ok)
        return {
            "server_cpu_s": round(server, 2),
            "postgres_cpu_s": round(postgres, 2),
            "server_cpu_ms_per_2xx": round(server * 1000 / n, 2),
            "postgres_cpu_ms_per_2xx": round(postgres * 1000 / n, 2),
            "total_cpu_ms_per_2xx": round((server + postgres) * 1000 / n, 2),
        }


def run_wrk(
    cfg: LoadConfig, base: str, pairs: Path, template: Path, mode: str, seconds: int, label: str
) -> dict[str, Any]:
    cmd = [
        find_wrk(),
        f"-t{cfg.threads}",
        f"-c{cfg.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        base,
        "--",
        str(pairs),
        str(template),
        mode,
        str(cfg.threads),
    ]
    with progress() as prog:
        task = prog.add_task(label, total=seconds)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        while proc.poll() is None:
            prog.update(task, completed=min(seconds, time.monotonic() - t0))
            time.sleep(0.2)
        prog.update(task, completed=seconds)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err or out}")
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no WRK_JSON line:\n{out}\n{err}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return summarise_wrk(raw, out)


def summarise_wrk(raw: dict[str, Any], text: str) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    lat = raw["latency_us"]
    socket_errors = sum(v for k, v in raw["errors"].items() if k != "status")
    return {
        "seconds": round(seconds, 2),
        "requests": raw["requests"],
        "ok_2xx": ok,
        "non_2xx": raw["requests"] - ok - socket_errors,
        "socket_errors": raw["errors"],
        "statuses": statuses,
        "ok_per_s": round(ok / seconds, 1),
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "latency_ms": {
            k: round(lat[k] / 1000, 2)
            for k in ("p50", "p75", "p90", "p95", "p99", "p999", "max", "mean")
        },
        "pairs_wrapped": raw["wrapped"],
        "error_samples": raw["error_samples"],
        "wrk_output": text,
    }


def run_bids(cfg: LoadConfig) -> dict[str, Any]:
    find_wrk()
    workdir = RESULTS_DIR / "tmp"
    fixtures = Fixtures(cfg, workdir)
    load_before = os.getloadavg()
    console.rule("bid placement: fixtures")
    with console.status("issuing tokens and choosing fresh (solver, task) pairs"):
        fixture_info = fixtures.prepare()
    console.print(fixture_info)
    result: dict[str, Any] = {
        "database": safe_url(cfg.database_url),
        "config": cfg.__dict__ | {"database_url": safe_url(cfg.database_url)},
        "fixtures": fixture_info,
        "loadavg_before": load_before,
        "cpus": os.cpu_count(),
    }
    try:
        with console.status("in-process probe: statements and single-client cost"):
            result["in_process_probe"] = probe_in_process(cfg, fixtures)
        console.print(result["in_process_probe"])
        runs = {
            "bids": (market_serve_cmd, "bid", "market serve (POST /tasks/{id}/bids)"),
            "bare": (
                lambda port, workers: uvicorn_factory_cmd(
                    "bench.bare_app:create_app", port, workers
                ),
                "bare",
                "bench.bare_app (POST /bench/bare)",
            ),
        }
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
        for r in range(cfg.rounds):
            for name, (make_cmd, mode, title) in runs.items():
                console.rule(f"{name}: {title}, round {r + 1} of {cfg.rounds}")
                busy = wait_for_quiet(cfg.quiet_wait)
                port = free_port()
                files = fixtures.pairs_files[r]
                with served(make_cmd(port, cfg.workers), port, cfg.database_url, name) as srv:
                    warm = run_wrk(
                        cfg,
                        srv.base,
                        files["warmup"],
                        fixtures.template,
                        mode,
                        cfg.warmup,
                        f"{name} warm-up",
                    )
                    meter = CpuMeter(srv.pgid, cfg.database_url)
                    run = run_wrk(
                        cfg,
                        srv.base,
                        files["main"],
                        fixtures.template,
                        mode,
                        cfg.duration,
                        f"{name} {cfg.connections} connections",
                    )
                    run["cpu"] = meter.per_request(run["ok_2xx"])
                run["cpu_busy_before"] = busy
                run["warmup_ok_2xx"] = warm["ok_2xx"]
                print_run(name, run)
                rounds[name].append(run)
        for name, runs_of in rounds.items():
            # The median round by throughput (the lower middle one for an even count).
            ordered = sorted(runs_of, key=lambda x: x["ok_per_s"])
            result[name] = ordered[(len(ordered) - 1) // 2] | {
                "rounds_ok_per_s": [x["ok_per_s"] for x in runs_of]
            }
            result[f"{name}_rounds"] = runs_of
        check = fixtures.bids_written()
        # The 201s wrk saw in the warm-up and the main run plus the in-process probe's bids;
        # requests still in flight when wrk stops (up to one per connection per run) are
        # committed by the server but not counted by wrk.
        seen = PROBE_BIDS + sum(x["warmup_ok_2xx"] + x["ok_2xx"] for x in rounds["bids"])
        check["bids_counted_by_wrk_and_probe"] = seen
        check["consistent"] = seen <= check["bids"] <= seen + 2 * cfg.connections * cfg.rounds
        check["bid_placed_events_match_bids"] = check["bid_placed_events"] == check["bids"]
        result["db_check"] = check
    finally:
        fixtures.cleanup()
    result["loadavg_after"] = os.getloadavg()
    bids_s = result["bids"]["ok_per_s"]
    bare_s = result["bare"]["ok_per_s"]
    result["ratio_bids_to_bare"] = round(bids_s / bare_s, 3) if bare_s else None
    bid_cpu = result["bids"]["cpu"]["total_cpu_ms_per_2xx"]
    bare_cpu = result["bare"]["cpu"]["total_cpu_ms_per_2xx"]
    result["cpu_cost_ratio_bare_to_bid"] = round(bare_cpu / bid_cpu, 3) if bid_cpu else None
    result["target_ratio"] = TARGET_RATIO
    result["meets_target"] = bool(bare_s and bids_s / bare_s >= TARGET_RATIO)
    print_summary(result)
    path = write_results("bids", result)
    console.print(f"results written to {path}")
    return result


def print_run(name: str, r: dict[str, Any]) -> None:
    lat = r["latency_ms"]
    console.print(
        f"[bold]{name}[/]: {r['ok_2xx']:,} × 2xx in {r['seconds']} s = [bold]{r['ok_per_s']:,}/s[/]; "
        f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
        f"non-2xx {r['non_2xx']}, socket errors {r['socket_errors']}, statuses {r['statuses']}; "
        f"CPUs busy with other work before: {r['cpu_busy_before']:.0%}"
    )
    if r["pairs_wrapped"]:
        console.print(
            f"[yellow]{name}: the prepared pairs ran out {r['pairs_wrapped']} time(s); "
            "raise --max-rate"
        )
    for sample in r["error_samples"]:
        console.print(f"[red]{name} error sample:[/] {sample}")


def print_summary(result: dict[str, Any]) -> None:
    from rich.table import Table

    cfg = result["config"]
    table = Table(
        title=(
            f"POST under {cfg['connections']} connections, wrk -t{cfg['threads']}, "
            f"{cfg['duration']} s after {cfg['warmup']} s warm-up, uvicorn --workers {cfg['workers']}"
        )
    )
    for col in (
        "endpoint",
        "2xx/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "non-2xx",
        "SQL/request",
        "server CPU ms/req",
        "PG CPU ms/req",
    ):
        table.add_column(col, justify="right" if col != "endpoint" else "left")
    probe = result.get("in_process_probe", {})
    for name, label, n_sql in (
        ("bids", "POST /tasks/{id}/bids", probe.get("statements_bid_total")),
        ("bare", "POST /bench/bare", probe.get("statements_bare")),
    ):
        r = result[name]
        table.add_row(
            label,
            f"{r['ok_per_s']:,}",
            str(r["latency_ms"]["p50"]),
            str(r["latency_ms"]["p95"]),
            str(r["latency_ms"]["p99"]),
            str(r["non_2xx"]),
            str(n_sql),
            str(r["cpu"]["server_cpu_ms_per_2xx"]),
            str(r["cpu"]["postgres_cpu_ms_per_2xx"]),
        )
    console.print(table)
    if cfg["rounds"] > 1:
        console.print(
            f"2xx/s per round: bids {result['bids']['rounds_ok_per_s']}, "
            f"bare {result['bare']['rounds_ok_per_s']} (the median round is shown)"
        )
    verdict = "[green]meets" if result["meets_target"] else "[red]misses"
    console.print(
        f"ratio bids/s ÷ bare/s = [bold]{result['ratio_bids_to_bare']}[/] "
        f"(target ≥ {result['target_ratio']}): {verdict}[/]"
    )
    console.print(
        "CPU per request (server + PostgreSQL): "
        f"bid {result['bids']['cpu']['total_cpu_ms_per_2xx']} ms, "
        f"bare {result['bare']['cpu']['total_cpu_ms_per_2xx']} ms; their ratio "
        f"[bold]{result['cpu_cost_ratio_bare_to_bid']}[/] is the throughput ratio a "
        "dedicated, CPU-bound machine would show"
    )
    console.print(f"database check: {result['db_check']}")
    if probe:
        console.print(
            f"one client in process: bid {probe['bid_ms_per_request']} ms "
            f"({probe['bid_python_cpu_ms_per_request']} ms Python CPU), bare "
            f"{probe['bare_ms_per_request']} ms ({probe['bare_python_cpu_ms_per_request']} ms)"
        )
    console.print(
        f"load average before {tuple(round(x, 2) for x in result['loadavg_before'])}, "
        f"after {tuple(round(x, 2) for x in result['loadavg_after'])} on {result['cpus']} CPUs"
    )


def load_options(fn: Any) -> Any:
    defaults = LoadConfig()
    for opt in reversed(
        [
            click.option("--duration", default=defaults.duration, show_default=True, type=int),
            click.option("--warmup", default=defaults.warmup, show_default=True, type=int),
            click.option(
                "--connections", default=defaults.connections, show_default=True, type=int
            ),
            click.option("--threads", default=defaults.threads, show_default=True, type=int),
            click.option(
                "--workers",
                default=defaults.workers,
                show_default=True,
                type=int,
                help="uvicorn workers",
            ),
            click.option(
                "--token-solvers",
                default=defaults.token_solvers,
                show_default=True,
                type=int,
                help="solvers given bearer tokens",
            ),
            click.option(
                "--quiet-wait",
                default=defaults.quiet_wait,
                show_default=True,
                type=int,
                help="seconds to wait for idle CPUs before each run",
            ),
            click.option(
                "--rounds",
                default=defaults.rounds,
                show_default=True,
                type=int,
                help="alternate bids/bare runs this many times; the median round counts",
            ),
            click.option(
                "--max-rate",
                default=defaults.max_rate,
                show_default=True,
                type=int,
                help="fresh pairs prepared per second of load",
            ),
        ]
    ):
        fn = opt(fn)
    return fn


@click.command("bids")
@click.option("--database-url", default=DEFAULT_DATABASE_URL, show_default=True)
@load_options
def main(database_url: str, **kwargs: Any) -> None:
    """Bid placement vs a bare one-row insert under concurrent load (wrk)."""
    run_bids(LoadConfig(database_url=database_url, **kwargs))


if __name__ == "__main__":
    main()
