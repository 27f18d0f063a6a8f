"""Task listing with filters on the generated data (100k tasks at full size).

Each filter combination runs N times in process through ``TaskService.list`` (the code the
endpoint calls, with the app's engine and session factory) and N times over HTTP through
``GET /tasks`` on ``market serve``. Parameters vary from request to request within a
combination (different industries, skills, budgets...), from a fixed seed, identically for
both paths. Baselines in the same run: ``SELECT 1`` and a task by primary key through the
same session factory in process; ``GET /health`` (SELECT 1) and ``GET /tasks/{id}`` over
HTTP. Target: overall p95 ≤ 50 ms. Combinations whose p95 misses it get their SQL captured
and ``EXPLAIN (ANALYZE, BUFFERS)``-ed into the results file.

    python -m bench listing [--requests 30]
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import httpx
from sqlalchemy import event, func, select, text

from bench.common import (
    DEFAULT_DATABASE_URL,
    console,
    free_port,
    market_serve_cmd,
    progress,
    safe_url,
    served,
    summarise_groups_ms,
    summarise_ms,
    wait_for_quiet,
    write_results,
)
from market.catalogue import ZONES, District, Industry
from market.db.engine import make_engine, make_session_factory
from market.settings import Settings
from market.tasks.models import Task, TaskSkill
from market.tasks.service import TaskFilters, TaskService

TARGET_P95_MS = 50.0
MIN_SAMPLES = 10  # a combination stops after its time budget once it has this many
Q_ZH = ("焊接", "储能", "石墨烯", "机器视觉", "监测", "天线", "缓释", "码头", "检测", "优化")
Q_EN = ("welding", "battery", "graphene", "inspection", "monitoring", "antenna", "optimisation")

Params = dict[str, Any]


@dataclass
class Combo:
    name: str
    make: Callable[[random.Random], Params]


def combos(common_skills: list[str], rare_skills: list[str]) -> list[Combo]:
    ind = [str(i) for i in Industry]
    dist = [str(d) for d in District]
    zones = [str(z) for z in ZONES]

    def budget_window(r: random.Random) -> Params:
        low = r.choice((50_000, 100_000, 200_000, 500_000, 1_000_000)) * 100
        return {"min_budget": low, "max_budget": low * r.choice((2, 4, 10))}

    return [
        Combo("default: published, newest first", lambda r: {}),
        Combo("industry", lambda r: {"industry": r.choice(ind)}),
        Combo("district", lambda r: {"district": r.choice(dist)}),
        Combo(
            "industry + district",
            lambda r: {"industry": r.choice(ind), "district": r.choice(dist)},
        ),
        Combo("zone", lambda r: {"zone": r.choice(zones)}),
        Combo("skill (common)", lambda r: {"skill": r.choice(common_skills)}),
        Combo("skill (rare)", lambda r: {"skill": r.choice(rare_skills)}),
        Combo("budget range", budget_window),
        Combo("trl", lambda r: {"trl": r.randint(2, 8)}),
        Combo("sealed bidding", lambda r: {"bidding_mode": "sealed"}),
        Combo(
            "industry + budget, sort -budget",
            lambda r: {"industry": r.choice(ind), **budget_window(r), "sort": "-budget"},
        ),
        Combo("text q (zh)", lambda r: {"q": r.choice(Q_ZH)}),
        Combo("text q (en)", lambda r: {"q": r.choice(Q_EN)}),
        Combo(
            "text q + industry",
            lambda r: {"q": r.choice(Q_ZH + Q_EN), "industry": r.choice(ind)},
        ),
        Combo("sort bid_deadline", lambda r: {"sort": "bid_deadline"}),
        Combo("sort budget (cheapest)", lambda r: {"sort": "budget"}),
        Combo("deep page 50", lambda r: {"page": r.randint(40, 60)}),
        Combo(
            "deep page 200, industry, sort budget",
            lambda r: {"industry": r.choice(ind), "sort": "budget", "page": r.randint(150, 200)},
        ),
        Combo("page_size 100", lambda r: {"page_size": 100, "page": r.randint(1, 5)}),
        Combo(
            "industry + district + skill + trl + budget",
            lambda r: {
                "industry": r.choice(ind),
                "district": r.choice(dist),
                "skill": r.choice(common_skills),
                "trl": r.randint(3, 6),
                "min_budget": 10_000_000,
                "sort": "-budget",
            },
        ),
    ]


def to_filters(p: Params) -> tuple[TaskFilters, int, int]:
    keys = {k: v for k, v in p.items() if k not in ("page", "page_size")}
    return TaskFilters(**keys), int(p.get("page", 1)), int(p.get("page_size", 20))


class ListingBench:
    def __init__(
        self,
        url: str,
        requests: int,
        workers: int,
        seed: int,
        quiet_wait: int = 30,
        budget_s: float = 3.0,
    ) -> None:
        self.url = url
        self.budget_s = budget_s
        self.quiet_wait = quiet_wait
        self.n = requests
        self.workers = workers
        self.seed = seed
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self.tasks = TaskService(self.sessions, Settings(database_url=url))

    def data_sizes(self) -> dict[str, int]:
        with self.sessions() as s:
            return {
                "tasks": s.scalar(select(func.count()).select_from(Task)) or 0,
                "published": s.scalar(
                    select(func.count()).select_from(Task).where(Task.status == "published")
                )
                or 0,
                "task_skills": s.scalar(select(func.count()).select_from(TaskSkill)) or 0,
            }

    def skills(self) -> tuple[list[str], list[str]]:
        with self.sessions() as s:
            rows = s.execute(
                select(TaskSkill.skill, func.count())
                .group_by(TaskSkill.skill)
                .order_by(func.count().desc())
            ).all()
        names = [r[0] for r in rows]
        common = names[:10]
        rare = names[len(names) // 2 : len(names) // 2 + 10] or common
        return common, rare

    def params(self, combo: Combo, k: int) -> list[Params]:
        r = random.Random(f"{self.seed}:{combo.name}")
        return [combo.make(r) for _ in range(k)]

    # -- in process -------------------------------------------------------------------
    def time_inprocess(self, plist: list[Params]) -> list[float]:
        out: list[float] = []
        stop = time.perf_counter() + self.budget_s
        for p in plist:
            if len(out) >= MIN_SAMPLES and time.perf_counter() > stop:
                break
            f, page, size = to_filters(p)
            t = time.perf_counter()
            self.tasks.list(None, f, page, size)
            out.append(time.perf_counter() - t)
        return out

    def baseline_inprocess(self, n: int) -> dict[str, dict[str, float]]:
        r = random.Random(self.seed)
        with self.sessions() as s:
            max_id = s.scalar(select(func.max(Task.id))) or 1
        select1, by_pk = [], []
        for _ in range(n):
            t = time.perf_counter()
            with self.sessions() as s:
                s.execute(text("SELECT 1")).scalar()
            select1.append(time.perf_counter() - t)
            tid = r.randint(1, max_id)
            t = time.perf_counter()
            with self.sessions() as s:
                s.get(Task, tid)
            by_pk.append(time.perf_counter() - t)
        return {"SELECT 1": summarise_ms(select1), "task by primary key": summarise_ms(by_pk)}

    # -- over HTTP ----------------------------------------------------------------------
    def time_http(self, client: httpx.Client, plist: list[Params]) -> list[float]:
        out: list[float] = []
        stop = time.perf_counter() + self.budget_s
        for p in plist:
            if len(out) >= MIN_SAMPLES and time.perf_counter() > stop:
                break
            t = time.perf_counter()
            r = client.get("/tasks", params=p)
            out.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"GET /tasks {p} -> {r.status_code}: {r.text[:300]}")
        return out

    def baseline_http(self, client: httpx.Client, n: int) -> dict[str, dict[str, float]]:
        r = random.Random(self.seed)
        with self.sessions() as s:
            ids = list(s.scalars(select(Task.id).where(Task.status == "published").limit(5000)))
        health, by_id = [], []
        for _ in range(n):
            t = time.perf_counter()
            client.get("/health").raise_for_status()
            health.append(time.perf_counter() - t)
            t = time.perf_counter()
            client.get(f"/tasks/{r.choice(ids)}").raise_for_status()
            by_id.append(time.perf_counter() - t)
        return {
            "GET /health (SELECT 1)": summarise_ms(health),
            "GET /tasks/{id}": summarise_ms(by_id),
        }

    # -- EXPLAIN ------------------------------------------------------------------------
    def explain(self, p: Params) -> list[dict[str, Any]]:
        """The statements TaskService.list sends for P, each with EXPLAIN ANALYZE."""
        captured: list[tuple[str, Any]] = []

        def grab(_conn: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
            captured.append((statement, parameters))

        f, page, size = to_filters(p)
        event.listen(self.engine, "before_cursor_execute", grab)
        try:
            self.tasks.list(None, f, page, size)
        finally:
            event.remove(self.engine, "before_cursor_execute", grab)
        plans = []
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            for statement, parameters in captured:
                if not statement.lstrip().upper().startswith("SELECT"):
                    # A setting the listing makes (e.g. SET LOCAL): apply it, nothing to plan.
                    raw.execute(statement, parameters)
                    continue
                rows = raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
                plan = [r[0] for r in rows]
                plans.append({"sql": statement, "params": parameters, "plan": plan})
            raw.rollback()
        return plans

    # -- the run ------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        sizes = self.data_sizes()
        if sizes["tasks"] == 0:
            raise SystemExit("no tasks: run `python -m bench generate` first")
        common, rare = self.skills()
        all_combos = combos(common, rare)
        warm = 3
        plans = {c.name: self.params(c, warm + self.n) for c in all_combos}
        result: dict[str, Any] = {
            "database": safe_url(self.url),
            "data": sizes,
            "requests_per_combination": self.n,
            "seconds_budget_per_combination": self.budget_s,
            "target_p95_ms": TARGET_P95_MS,
            "loadavg_before": os.getloadavg(),
            "cpus": os.cpu_count(),
        }

        console.rule(f"listing in process: TaskService.list, {self.n} requests per combination")
        result["cpu_busy_before_in_process"] = wait_for_quiet(self.quiet_wait)
        inproc: dict[str, Any] = {}
        samples_in: list[list[float]] = []
        with progress() as prog:
            task = prog.add_task("in process", total=len(all_combos))
            for c in all_combos:
                plist = plans[c.name]
                self.time_inprocess(plist[:warm])
                lat = self.time_inprocess(plist[warm:])
                samples_in.append(lat)
                inproc[c.name] = summarise_ms(lat)
                prog.advance(task)
        base_in = self.baseline_inprocess(max(100, self.n * 3))
        result["in_process"] = {
            "combinations": inproc,
            "overall": summarise_groups_ms(samples_in),
            "baselines": base_in,
        }

        console.rule(f"listing over HTTP: GET /tasks on market serve --workers {self.workers}")
        result["cpu_busy_before_http"] = wait_for_quiet(self.quiet_wait)
        port = free_port()
        http: dict[str, Any] = {}
        samples_http: list[list[float]] = []
        with (
            served(market_serve_cmd(port, self.workers), port, self.url, "listing") as srv,
            httpx.Client(base_url=srv.base, timeout=30) as client,
        ):
            with progress() as prog:
                task = prog.add_task("HTTP", total=len(all_combos))
                for c in all_combos:
                    plist = plans[c.name]
                    self.time_http(client, plist[:warm])
                    lat = self.time_http(client, plist[warm:])
                    samples_http.append(lat)
                    http[c.name] = summarise_ms(lat)
                    prog.advance(task)
            base_http = self.baseline_http(client, max(100, self.n * 3))
        result["http"] = {
            "combinations": http,
            "overall": summarise_groups_ms(samples_http),
            "baselines": base_http,
        }
        result["loadavg_after"] = os.getloadavg()

        slow = [
            c
            for c in all_combos
            if max(inproc[c.name]["p95_ms"], http[c.name]["p95_ms"]) > TARGET_P95_MS
        ]
        if slow:
            with console.status(f"EXPLAIN ANALYZE of {len(slow)} slow combinations"):
                result["explain"] = {c.name: self.explain(plans[c.name][warm]) for c in slow}
        result["ratios"] = ratios(result)
        result["meets_target"] = {
            "in_process": result["in_process"]["overall"]["p95_ms"] <= TARGET_P95_MS,
            "http": result["http"]["overall"]["p95_ms"] <= TARGET_P95_MS,
        }
        self.engine.dispose()
        print_listing(result)
        path = write_results("listing", result)
        console.print(f"results written to {path}")
        return result


def ratios(result: dict[str, Any]) -> dict[str, float]:
    ip, ht = result["in_process"], result["http"]
    return {
        "in_process_p95_vs_select1_p95": round(
            ip["overall"]["p95_ms"] / ip["baselines"]["SELECT 1"]["p95_ms"], 1
        ),
        "in_process_p95_vs_pk_fetch_p95": round(
            ip["overall"]["p95_ms"] / ip["baselines"]["task by primary key"]["p95_ms"], 1
        ),
        "http_p95_vs_health_p95": round(
            ht["overall"]["p95_ms"] / ht["baselines"]["GET /health (SELECT 1)"]["p95_ms"], 1
        ),
        "http_p95_vs_task_by_id_p95": round(
            ht["overall"]["p95_ms"] / ht["baselines"]["GET /tasks/{id}"]["p95_ms"], 1
        ),
    }


def print_listing(result: dict[str, Any]) -> None:
    from rich.table import Table

    d = result["data"]
    table = Table(
        title=(
            f"task listing, {d['tasks']:,} tasks ({d['published']:,} published), "
            f"up to {result['requests_per_combination']} requests per combination "
            f"(n below; {result['seconds_budget_per_combination']} s budget each), ms"
        )
    )
    table.add_column("combination")
    for col in ("n", "in-proc p50", "p95", "max", "HTTP p50", "p95", "max"):
        table.add_column(col, justify="right")

    def mark(v: float) -> str:
        return f"[red]{v}[/]" if v > TARGET_P95_MS else str(v)

    ip, ht = result["in_process"], result["http"]
    for name, a in ip["combinations"].items():
        b = ht["combinations"][name]
        table.add_row(
            name,
            f"{a['n']}/{b['n']}",
            str(a["p50_ms"]),
            mark(a["p95_ms"]),
            str(a["max_ms"]),
            str(b["p50_ms"]),
            mark(b["p95_ms"]),
            str(b["max_ms"]),
        )
    table.add_row(
        "[bold]overall",
        f"{ip['overall']['n']}/{ht['overall']['n']}",
        f"[bold]{ip['overall']['p50_ms']}",
        f"[bold]{mark(ip['overall']['p95_ms'])}",
        f"[bold]{ip['overall']['max_ms']}",
        f"[bold]{ht['overall']['p50_ms']}",
        f"[bold]{mark(ht['overall']['p95_ms'])}",
        f"[bold]{ht['overall']['max_ms']}",
    )
    for (n1, a), (n2, b) in zip(ip["baselines"].items(), ht["baselines"].items(), strict=True):
        table.add_row(
            f"[dim]baseline: {n1} / {n2}",
            f"{a['n']}/{b['n']}",
            str(a["p50_ms"]),
            str(a["p95_ms"]),
            str(a["max_ms"]),
            str(b["p50_ms"]),
            str(b["p95_ms"]),
            str(b["max_ms"]),
        )
    console.print(table)
    met = result["meets_target"]
    console.print(
        f"overall p95: in process {ip['overall']['p95_ms']} ms "
        f"({'meets' if met['in_process'] else 'misses'}), HTTP {ht['overall']['p95_ms']} ms "
        f"({'meets' if met['http'] else 'misses'}) the target ≤ {TARGET_P95_MS:.0f} ms"
    )
    console.print(f"ratios: {result['ratios']}")
    for name, plans in result.get("explain", {}).items():
        console.print(f"[bold]EXPLAIN ANALYZE: {name}[/] ({plans and plans[0]['params']})")
        for p in plans:
            head = p["plan"][:3]
            tail = [x for x in p["plan"] if x.startswith("Execution Time")]
            console.print("   " + "\n   ".join([*head, "...", *tail]), highlight=False)


@click.command("listing")
@click.option("--database-url", default=DEFAULT_DATABASE_URL, show_default=True)
@click.option("--requests", "n", default=30, show_default=True, type=int, help="per combination")
@click.option("--workers", default=2, show_default=True, type=int, help="uvicorn workers")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--budget",
    default=3.0,
    show_default=True,
    type=float,
    help=f"seconds per combination and path; stops early once {MIN_SAMPLES} requests ran",
)
@click.option(
    "--quiet-wait",
    default=30,
    show_default=True,
    type=int,
    help="seconds to wait for idle CPUs before each phase",
)
def main(
    database_url: str, n: int, workers: int, seed: int, budget: float, quiet_wait: int
) -> None:
    """Task listing latency with filters, in process and over HTTP."""
    ListingBench(database_url, n, workers, seed, quiet_wait, budget).run()


if __name__ == "__main__":
    main()
