"""Shared pieces of the benchmarks: database URL, servers, progress, statistics, results."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/market_bench"
ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"

# Wide enough for the result tables when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 140)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq connection string for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def recreate_database(url: str) -> None:
    """Drop the database named in URL (if it exists) and create it empty.

    The benchmark database is disposable; recreating it keeps its schema in step with the
    migrations even when they were rewritten since the last run. Refused for a database
    whose name does not say "bench", so a wrong URL cannot wipe real data.
    """
    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in name:
        raise SystemExit(
            f"refusing to recreate database {name!r}: the benchmark database's name must "
            "contain 'bench'"
        )
    admin = libpq_url(parsed.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def progress(*, transient: bool = False) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of VALUES (any order)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/max/mean in milliseconds from latencies in seconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "max_ms": round(max(ms), 3) if ms else math.nan,
        "mean_ms": round(sum(ms) / len(ms), 3) if ms else math.nan,
    }


def summarise_groups_ms(groups: Sequence[Sequence[float]]) -> dict[str, float]:
    """Like summarise_ms over all GROUPS pooled, but every group weighs the same however
    many samples it has (a slow combination that ran fewer requests is not under-counted)."""
    weighted = sorted((s * 1000, 1 / len(g) / len(groups)) for g in groups if g for s in g)
    if not weighted:
        return {"n": 0}

    def pct(p: float) -> float:
        acc = 0.0
        for value, w in weighted:
            acc += w
            if acc >= p / 100 - 1e-12:
                return value
        return weighted[-1][0]

    return {
        "n": len(weighted),
        "p50_ms": round(pct(50), 3),
        "p95_ms": round(pct(95), 3),
        "max_ms": round(weighted[-1][0], 3),
        "mean_ms": round(sum(v * w for v, w in weighted), 3),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    path.write_text(body, encoding="utf-8")
    (RESULTS_DIR / f"{name}-latest.json").write_text(body, encoding="utf-8")
    return path


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(seconds: float = 2.0) -> float:
    """Fraction of all CPUs busy over the next SECONDS (0..1)."""
    b0, t0 = _cpu_times()
    time.sleep(seconds)
    b1, t1 = _cpu_times()
    return (b1 - b0) / max(1, t1 - t0)


def wait_for_quiet(max_wait: float, threshold: float = 0.25) -> float:
    """Wait up to MAX_WAIT seconds until other work leaves the CPUs mostly idle.

    The machine may be shared (other test runs): a benchmark started while the CPUs are
    busy measures the neighbours too. Returns the last busy fraction measured; warns when
    it stayed above THRESHOLD.
    """
    if not os.path.exists("/proc/stat"):
        return math.nan
    deadline = time.monotonic() + max_wait
    with console.status("checking that the CPUs are idle before measuring"):
        busy = cpu_busy()
        while busy > threshold and time.monotonic() < deadline:
            busy = cpu_busy()
    if busy > threshold:
        console.print(
            f"[yellow]warning: the CPUs were {busy:.0%} busy with other work when the "
            "benchmark started; figures will be lower and noisier than on a quiet machine"
        )
    return round(busy, 3)


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu_and_pgrp(pid: int) -> tuple[float, int] | None:
    """(user + system CPU seconds, process group) of PID from /proc, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK, int(fields[2])


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by the live processes of process group PGID."""
    total = 0.0
    for name in os.listdir("/proc"):
        if name.isdigit():
            got = _proc_cpu_and_pgrp(int(name))
            if got and got[1] == pgid:
                total += got[0]
    return total


def pids_cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds used so far by each of PIDS that is still alive."""
    out = {}
    for pid in pids:
        got = _proc_cpu_and_pgrp(pid)
        if got:
            out[pid] = got[0]
    return out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def venv_bin(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def market_serve_cmd(port: int, workers: int) -> list[str]:
    """`market serve --workers N`: the production server set-up."""
    exe = venv_bin("market")
    base = [exe] if exe else [sys.executable, "-m", "market.cli"]
    return [*base, "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]


def uvicorn_factory_cmd(factory: str, port: int, workers: int) -> list[str]:
    """The same uvicorn settings `market serve` uses, for another app factory."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    pgid: int  # the process group of the server (uvicorn supervisor and its workers)


@contextmanager
def served(
    cmd: list[str],
    port: int,
    database_url: str,
    label: str,
    timeout: float = 90.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run a server subprocess against DATABASE_URL until /health answers; stop it after.
    EXTRA_ENV is added to its environment (e.g. the payment mock's PAYMOCK_* settings)."""
    env = {
        **os.environ,
        "MARKET_DATABASE_URL": database_url,
        "MARKET_HOST": HOST,
        "MARKET_PORT": str(port),
        # The server's local files (e.g. the mounted payment mock's SQLite) stay in bench/.
        "MARKET_DATA_DIR": str(RESULTS_DIR / "var"),
        # The production set-up is the distributed one: the API processes only write the
        # outbox; the relay and the workers run elsewhere (`market scheduler`, `market
        # worker`), so they are not started here. The embedded default would run a relay
        # and a worker inside every API process and bill their CPU to the requests.
        "MARKET_BROKER": "redis",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        **(extra_env or {}),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / f"server-{label}.log"
    base = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + timeout
            with console.status(f"starting {label}: {' '.join(cmd[-8:])}"):
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"{label} exited with {proc.returncode}; see {log_path}")
                    try:
                        if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{label} did not answer /health in {timeout:.0f} s")
                    time.sleep(0.3)
            # With --workers N each worker builds the app on its own; give them all a moment
            # and make sure several connections are answered.
            for _ in range(20):
                httpx.get(f"{base}/health", timeout=5)
            yield Server(base, proc.pid)
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (its own process group: the uvicorn supervisor and workers)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass
