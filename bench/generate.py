"""Fill a PostgreSQL database with a realistic marketplace: organisations, posters, solvers
with profiles, tasks with their skills, bids with their milestone plans, contracts.

The database (its name must contain "bench") is dropped, recreated and migrated with
``market.db.migrate.upgrade`` first, so its schema always follows the current migrations.
Rows go in through COPY (psycopg ``cursor.copy()``) in PostgreSQL's text format. For
speed the secondary indexes of the big tables are dropped before the load and rebuilt from
the models afterwards, and foreign-key triggers are skipped for the loading sessions
(``session_replication_role = replica``): the rows are consistent by construction, and
rebuilding the unique partial index ``uq_bids_live_task_solver`` re-checks the one live bid
per solver per task. A verification query checks every bid's milestones sum to its price.

    python -m bench generate [--tasks 100000 --solvers 50000 --bids 1000000]
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import click
import psycopg
from argon2 import PasswordHasher, profiles
from psycopg import sql
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from bench import vocab
from bench.common import (
    DEFAULT_DATABASE_URL,
    console,
    libpq_url,
    progress,
    recreate_database,
    safe_url,
    write_results,
)
from market.catalogue import (
    DISTRICT_LABELS,
    INDUSTRY_LABELS,
    ZONES,
    District,
    Industry,
)
from market.db.migrate import upgrade
from market.db.models import Base
from market.tasks import text_search
from market.tasks.service import normalise_skill

BENCH_PASSWORD = "bench-pass-123"  # noqa: S105 - shared by the generated users, documented
DAY = 86_400.0
NULL = "\\N"
CHUNK = 20_000  # lines per COPY write

# Tables whose secondary (non-constraint) indexes are dropped during the load.
REINDEXED_TABLES = ("tasks", "task_skills", "bids", "bid_milestones", "contracts")

INDUSTRY_WEIGHTS: dict[Industry, float] = {
    Industry.EMERGING_SEED: 4,
    Industry.OFFSHORE_EQUIPMENT: 12,
    Industry.SMART_CONSTRUCTION: 6,
    Industry.MODERN_SERVICES: 4,
    Industry.PRODUCER_SERVICES: 5,
    Industry.ELECTRONIC_COMMUNICATIONS: 9,
    Industry.NEW_ENERGY: 12,
    Industry.ELECTRONIC_SOFTWARE: 8,
    Industry.PORT_INDUSTRIES: 6,
    Industry.BIOMEDICINE: 10,
    Industry.HIGH_END_EQUIPMENT: 12,
    Industry.NEW_MATERIALS: 10,
}
TASK_STATUS_WEIGHTS = {
    "published": 78,
    "draft": 3,
    "bidding_closed": 6,
    "awarded": 3,
    "in_progress": 4,
    "completed": 4,
    "cancelled": 2,
}
AWARDED_STATUSES = ("awarded", "in_progress", "completed")
CONTRACT_STATUS = {
    "awarded": "pending_acceptance",
    "in_progress": "active",
    "completed": "completed",
}
IP_TERMS = (
    ("assign", 25),
    ("exclusive_licence", 35),
    ("non_exclusive_licence", 25),
    ("solver_keeps", 15),
)
DECLINE_REASONS = (
    "报价超出预算。",
    "技术路线与我方需求不符。",
    "交付周期过长。",
    "团队缺少同类项目经验。",
    "已选定其他方案，感谢参与。",
    "The price is above our budget.",
    "The proposed approach does not fit our production line.",
    "We chose another proposal; thank you for bidding.",
)


def ts(epoch: float) -> str:
    """A UTC timestamp in a form PostgreSQL's COPY reads, e.g. 2025-11-28 02:30:00+00."""
    return time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(epoch))


def js(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass
class Sizes:
    tasks: int = 100_000
    solvers: int = 50_000
    bids: int = 1_000_000
    enterprises: int = 300
    labs: int = 400
    seed: int = 2015


@dataclass
class Org:
    id: int
    kind: str
    district: str
    industry: Industry
    users: list[int] = field(default_factory=list)


@dataclass
class TaskRow:
    """What the bid generator needs to know about a task."""

    id: int
    status: str
    org_id: int
    created_by: int
    budget: int
    published: float
    bid_deadline: float
    delivery: float
    ip_terms: str
    confidentiality: str
    industry: Industry


class Generator:
    def __init__(self, url: str, sizes: Sizes) -> None:
        self.url = url
        self.sizes = sizes
        self.rng = random.Random(sizes.seed)
        self.now = time.time()
        self.counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.password_hash = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY).hash(
            BENCH_PASSWORD
        )
        self.industries = list(INDUSTRY_WEIGHTS)
        self.industry_cw = _cum([INDUSTRY_WEIGHTS[i] for i in self.industries])
        self.districts = list(District)
        self.zones_by_district: dict[str, list[tuple[str, Industry]]] = {}
        for zone, (_zh, _en, district, industry) in ZONES.items():
            self.zones_by_district.setdefault(str(district), []).append((str(zone), industry))
        self.districts_of_industry: dict[Industry, list[str]] = {}
        for _zone, (_zh, _en, district, industry) in ZONES.items():
            self.districts_of_industry.setdefault(industry, []).append(str(district))
        self.enterprises: list[Org] = []
        self.district_orgs: list[Org] = []
        self.labs: list[Org] = []
        self.solver_ids: list[int] = []
        self.tasks: list[TaskRow] = []

    # -- helpers ------------------------------------------------------------------------
    def connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(libpq_url(self.url))
        conn.execute("SET synchronous_commit = off")
        try:
            # Skip FK triggers while loading rows that are consistent by construction.
            conn.execute("SET session_replication_role = replica")
        except psycopg.Error:
            conn.rollback()
            console.print("[yellow]not a superuser: foreign keys are checked row by row")
        conn.commit()
        return conn

    def industry(self) -> Industry:
        return self.rng.choices(self.industries, cum_weights=self.industry_cw)[0]

    def person(self) -> tuple[str, str]:
        """(display name, language)."""
        if self.rng.random() < 0.1:
            return self.rng.choice(vocab.EN_NAMES), "en"
        return self.rng.choice(vocab.SURNAMES) + self.rng.choice(vocab.GIVEN), "zh"

    def pick_label(self, pair: tuple[str, str], zh_share: float = 0.55) -> str:
        return pair[0] if self.rng.random() < zh_share else pair[1]

    # -- the run --------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        with console.status(f"recreating {safe_url(self.url)} and migrating"):
            recreate_database(self.url)
            upgrade(self.url)
        self._timed("prepare", self.prepare)
        with progress() as prog:
            self.prog = prog
            self._timed("organisations_users", self.load_orgs_and_users)
            self._timed("tasks", self.load_tasks)
            self._timed("bids", self.load_bids)
            self._timed("indexes", self.rebuild_indexes)
            self._timed("vacuum_analyze", self.finish)
        verification = self._timed("verify", self.verify)
        total = time.perf_counter() - t0
        rows = sum(self.counts.values())
        with psycopg.connect(libpq_url(self.url)) as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            db_size = size.fetchone()[0]  # type: ignore[index]
        return {
            "database": safe_url(self.url),
            "sizes": self.sizes.__dict__,
            "rows": self.counts,
            "total_rows": rows,
            "seconds": round(total, 1),
            "rows_per_second": round(rows / total),
            "timings_s": {k: round(v, 1) for k, v in self.timings.items()},
            "database_size": db_size,
            "verification": verification,
            "password": BENCH_PASSWORD,
        }

    def _timed(self, name: str, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        out = fn()
        self.timings[name] = time.perf_counter() - t
        return out

    def prepare(self) -> None:
        """Drop the big tables' secondary indexes for the load (rebuilt afterwards)."""
        with self.connect() as conn:
            for name in REINDEXED_TABLES:
                for idx in Base.metadata.tables[name].indexes:
                    conn.execute(
                        sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(str(idx.name)))
                    )
            # The migration's PostgreSQL-only n-gram index on the tasks' text, too.
            conn.execute(text_search.DROP_INDEX)  # type: ignore[arg-type]
            conn.commit()

    def _copy(
        self,
        conn: psycopg.Connection[Any],
        table: str,
        columns: Iterable[str],
        lines: Iterable[str],
        label: str,
        total: int,
    ) -> int:
        task = self.prog.add_task(label, total=total)
        n = 0
        buf: list[str] = []
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        with (
            conn.cursor() as cur,
            cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), cols)) as cp,
        ):
            for line in lines:
                buf.append(line)
                if len(buf) >= CHUNK:
                    cp.write("".join(buf))
                    n += len(buf)
                    self.prog.update(task, completed=n)
                    buf.clear()
            if buf:
                cp.write("".join(buf))
                n += len(buf)
        conn.commit()
        self.prog.update(task, completed=n, total=n)
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    # -- organisations and users ----------------------------------------------------------
    def load_orgs_and_users(self) -> None:
        rng = self.rng
        now = self.now
        org_lines: list[str] = []
        user_lines: list[str] = []
        next_org = 1
        next_user = 1

        def org(kind: str, zh: str, en: str, district: str | None) -> int:
            nonlocal next_org
            created = ts(now - rng.uniform(400, 1500) * DAY)
            org_lines.append(
                f"{next_org}\t{kind}\t{zh}\t{en}\t{district or NULL}\t{created}\t{created}\n"
            )
            next_org += 1
            return next_org - 1

        def user(email: str, role: str, org_id: int | None) -> int:
            nonlocal next_user
            name, lang = self.person()
            created = ts(now - rng.uniform(0, 900) * DAY)
            user_lines.append(
                f"{next_user}\t{email}\t{self.password_hash}\t{name}\t{role}\t"
                f"{org_id if org_id else NULL}\t{lang}\tt\t{created}\t{created}\n"
            )
            next_user += 1
            return next_user - 1

        platform = org("platform", "南通众包平台运营中心", "Nantong Crowdsourcing Platform", None)
        user("admin@bench.example", "admin", platform)

        for d in self.districts:
            zh, en = DISTRICT_LABELS[d]
            zones = self.zones_by_district.get(str(d))
            industry = zones[0][1] if zones else self.industry()
            o = Org(
                org("district", f"{zh}科学技术局", f"{en} Science and Technology Bureau", d),
                "district",
                str(d),
                industry,
            )
            for _ in range(rng.choice((1, 2))):
                o.users.append(user(f"official{next_user}@bench.example", "official", o.id))
            self.district_orgs.append(o)

        seen: set[str] = set()
        for n in range(self.sizes.enterprises):
            industry = self.industry()
            ind_zh, ind_en = INDUSTRY_LABELS[industry]
            home = self.districts_of_industry.get(industry)
            district = (
                rng.choice(home) if home and rng.random() < 0.6 else str(rng.choice(self.districts))
            )
            d_zh = DISTRICT_LABELS[District(district)][0].removesuffix("区")
            b_zh, b_en = rng.choice(vocab.BRANDS)
            zh = f"{d_zh}{b_zh}{ind_zh}科技有限公司"
            if zh in seen:
                zh = f"{d_zh}{b_zh}{ind_zh}科技有限公司（{n}）"
            seen.add(zh)
            en = f"{b_en} {ind_en} Technology Co., Ltd."
            o = Org(org("enterprise", zh, en, district), "enterprise", district, industry)
            for _ in range(rng.choice((1, 1, 2, 3))):
                o.users.append(user(f"poster{next_user}@bench.example", "poster", o.id))
            self.enterprises.append(o)

        for n in range(self.sizes.labs):
            industry = self.industry()
            p_zh, p_en = rng.choice(vocab.LAB_PREFIXES)
            ind_zh, ind_en = INDUSTRY_LABELS[industry]
            o = Org(
                org("lab", f"{p_zh}{ind_zh}实验室{n + 1}", f"{p_en} {ind_en} Lab {n + 1}", None),
                "lab",
                "",
                industry,
            )
            self.labs.append(o)

        # Solvers: a quarter in university labs, some in small firms, most independent.
        profile_lines: list[str] = []
        for _ in range(self.sizes.solvers):
            r = rng.random()
            home: Org | None = None
            if r < 0.25:
                home = rng.choice(self.labs)
            elif r < 0.35:
                home = rng.choice(self.enterprises)
            uid = user(f"solver{next_user}@bench.example", "solver", home.id if home else None)
            self.solver_ids.append(uid)
            profile_lines.append(self._profile_line(uid, home))

        with self.connect() as conn:
            self._copy(
                conn,
                "organisations",
                ("id", "kind", "name_zh", "name_en", "district", "created_at", "updated_at"),
                org_lines,
                "organisations",
                len(org_lines),
            )
            self._copy(
                conn,
                "users",
                (
                    "id",
                    "email",
                    "password_hash",
                    "display_name",
                    "role",
                    "org_id",
                    "language",
                    "is_active",
                    "created_at",
                    "updated_at",
                ),
                user_lines,
                "users",
                len(user_lines),
            )
            self._copy(
                conn,
                "solver_profiles",
                (
                    "user_id",
                    "headline_zh",
                    "headline_en",
                    "skills",
                    "fields",
                    "bio_zh",
                    "bio_en",
                    "languages",
                    "district",
                    "created_at",
                    "updated_at",
                ),
                profile_lines,
                "solver profiles",
                len(profile_lines),
            )

    def _profile_line(self, uid: int, home: Org | None) -> str:
        rng = self.rng
        fields = list(dict.fromkeys(self.industry() for _ in range(rng.choice((1, 2, 2, 3)))))
        pool = [p for f in fields for p in vocab.SKILLS[f]] + vocab.GENERIC_SKILLS[:4]
        skills = [
            self.pick_label(p, 0.6) for p in rng.sample(pool, min(len(pool), rng.randint(3, 7)))
        ]
        main_zh, main_en = INDUSTRY_LABELS[fields[0]]
        s1 = rng.choice(vocab.SKILLS[fields[0]])
        s2 = rng.choice(vocab.GENERIC_SKILLS)
        if home is not None and home.kind == "lab":
            role_zh, role_en = rng.choice(
                (
                    ("副教授", "Associate professor"),
                    ("研究员", "Research fellow"),
                    ("博士后", "Postdoc"),
                )
            )
        else:
            role_zh, role_en = rng.choice(
                (
                    ("高级工程师", "Senior engineer"),
                    ("技术顾问", "Technical consultant"),
                    ("独立研发工程师", "Independent R&D engineer"),
                )
            )
        years = rng.randint(3, 25)
        headline_zh = f"{main_zh}领域{role_zh}，专注{s1[0]}与{s2[0]}"
        headline_en = f"{role_en} in {main_en.lower()}: {s1[1]} and {s2[1]}"
        bio_zh = f"从事{main_zh}相关研发{years}年，主持或参与项目{rng.randint(2, 40)}项，擅长{s1[0]}、{s2[0]}。"
        bio_en = f"{years} years of R&D in {main_en.lower()}; led or joined {rng.randint(2, 40)} projects; strong in {s1[1]} and {s2[1]}."
        r = rng.random()
        languages = ["zh"] if r < 0.8 else (["zh", "en"] if r < 0.95 else ["en"])
        district = str(rng.choice(self.districts)) if rng.random() < 0.8 else NULL
        created = ts(self.now - rng.uniform(0, 900) * DAY)
        return (
            f"{uid}\t{headline_zh}\t{headline_en}\t{js(skills)}\t{js([str(f) for f in fields])}\t"
            f"{bio_zh}\t{bio_en}\t{js(languages)}\t{district}\t{created}\t{created}\n"
        )

    # -- tasks ----------------------------------------------------------------------------
    def load_tasks(self) -> None:
        rng = self.rng
        n_tasks = self.sizes.tasks
        activity = _cum([rng.paretovariate(1.2) for _ in self.enterprises])
        statuses = list(TASK_STATUS_WEIGHTS)
        status_cw = _cum(list(TASK_STATUS_WEIGHTS.values()))
        ip_terms = [t for t, _ in IP_TERMS]
        ip_cw = _cum([w for _, w in IP_TERMS])
        skill_lines: list[str] = []

        def lines() -> Iterable[str]:
            for tid in range(1, n_tasks + 1):
                line, skills = self._task(tid, activity, statuses, status_cw, ip_terms, ip_cw)
                skill_lines.extend(f"{tid}\t{s}\n" for s in skills)
                yield line

        with self.connect() as conn:
            self._copy(
                conn,
                "tasks",
                (
                    "id",
                    "org_id",
                    "created_by_id",
                    "status",
                    "title_zh",
                    "title_en",
                    "summary_zh",
                    "summary_en",
                    "description_zh",
                    "description_en",
                    "required_skills",
                    "industry",
                    "district",
                    "zone",
                    "trl_current",
                    "trl_target",
                    "budget_minor",
                    "currency",
                    "bid_deadline",
                    "delivery_deadline",
                    "bidding_mode",
                    "ip_terms",
                    "confidentiality",
                    "published_at",
                    "created_at",
                    "updated_at",
                ),
                lines(),
                "tasks",
                n_tasks,
            )
            self._copy(
                conn,
                "task_skills",
                ("task_id", "skill"),
                skill_lines,
                "task skills",
                len(skill_lines),
            )

    def _task(
        self,
        tid: int,
        activity: list[float],
        statuses: list[str],
        status_cw: list[float],
        ip_terms: list[str],
        ip_cw: list[float],
    ) -> tuple[str, set[str]]:
        rng = self.rng
        now = self.now
        key_task = rng.random() < 0.15
        if key_task:
            o = rng.choice(self.district_orgs)
            district = o.district
            zones = self.zones_by_district.get(district)
            industry = zones[0][1] if zones and rng.random() < 0.7 else self.industry()
        else:
            o = rng.choices(self.enterprises, cum_weights=activity)[0]
            industry = o.industry if rng.random() < 0.75 else self.industry()
            district = o.district if rng.random() < 0.8 else str(rng.choice(self.districts))
        created_by = rng.choice(o.users)
        zone = NULL
        zones = self.zones_by_district.get(district)
        if zones and rng.random() < 0.5:
            matching = [z for z, ind in zones if ind == industry]
            zone = matching[0] if matching else rng.choice(zones)[0]

        status = rng.choices(statuses, cum_weights=status_cw)[0]
        if status == "draft":
            created = now - rng.uniform(0, 30) * DAY
            published = None
            bid_deadline = now + rng.uniform(10, 90) * DAY
        elif status == "published":
            published = now - rng.uniform(0, 120) * DAY
            created = published - rng.uniform(0, 7) * DAY
            bid_deadline = now + rng.uniform(1, 90) * DAY
        elif status == "bidding_closed":
            published = now - rng.uniform(30, 200) * DAY
            created = published - rng.uniform(0, 7) * DAY
            bid_deadline = min(published + rng.uniform(14, 60) * DAY, now - 3600)
        else:
            published = now - rng.uniform(60, 720) * DAY
            created = published - rng.uniform(0, 7) * DAY
            bid_deadline = published + rng.uniform(14, 60) * DAY
        delivery = bid_deadline + rng.uniform(90, 720) * DAY
        updated = max(created, published or created)

        trl_c = rng.choices((1, 2, 3, 4, 5, 6, 7, 8), weights=(2, 8, 14, 16, 14, 10, 6, 3))[0]
        trl_t = min(9, trl_c + rng.choices((1, 2, 3, 4), weights=(3, 4, 2, 1))[0])
        yuan = min(50_000_000, max(20_000, rng.lognormvariate(math.log(400_000), 0.9)))
        budget = round(yuan / 1000) * 1000 * 100
        mode = "open" if rng.random() < 0.7 else "sealed"
        ip = rng.choices(ip_terms, cum_weights=ip_cw)[0]
        conf = "public" if rng.random() < 0.85 else "nda"

        texts = vocab.task_texts(
            rng,
            industry,
            INDUSTRY_LABELS[industry],
            DISTRICT_LABELS[District(district)],
            (trl_c, trl_t),
            key_task,
        )
        title_zh, title_en = texts.title_zh[:200], _clip(texts.title_en, 200)
        summary_zh, summary_en = texts.summary_zh, texts.summary_en
        labels = list(dict.fromkeys(self.pick_label(p) for p in texts.skills))
        skills = {normalise_skill(s) for s in labels}
        description_zh, description_en = texts.descriptions(
            budget, int((delivery - bid_deadline) / DAY)
        )
        self.tasks.append(
            TaskRow(
                tid,
                status,
                o.id,
                created_by,
                budget,
                published or created,
                bid_deadline,
                delivery,
                ip,
                conf,
                industry,
            )
        )
        line = (
            f"{tid}\t{o.id}\t{created_by}\t{status}\t{title_zh}\t{title_en}\t{summary_zh}\t"
            f"{summary_en}\t{description_zh}\t{description_en}\t{js(labels)}\t{industry}\t"
            f"{district}\t{zone}\t{trl_c}\t{trl_t}\t{budget}\tCNY\t{ts(bid_deadline)}\t"
            f"{ts(delivery)}\t{mode}\t{ip}\t{conf}\t{ts(published) if published else NULL}\t"
            f"{ts(created)}\t{ts(updated)}\n"
        )
        return line, skills

    # -- bids -----------------------------------------------------------------------------
    def bid_counts(self) -> list[int]:
        """Bids per task: skewed (a few tasks draw hundreds), drafts none, awarded at least one."""
        rng = self.rng
        n_solvers = len(self.solver_ids)
        cap = min(n_solvers, 3000)
        weights = [
            0.0
            if t.status == "draft"
            else rng.lognormvariate(0, 1.0) * (1.0 if t.status == "published" else 1.3)
            for t in self.tasks
        ]
        total_w = sum(weights) or 1.0
        target = min(self.sizes.bids, cap * sum(1 for w in weights if w > 0))
        counts = [min(cap, int(target * w / total_w)) for w in weights]
        for i, t in enumerate(self.tasks):
            if t.status in AWARDED_STATUSES and counts[i] == 0:
                counts[i] = 1
        eligible = [i for i, w in enumerate(weights) if w > 0]
        diff = target - sum(counts)
        while diff != 0 and eligible:
            i = rng.choice(eligible)
            if diff > 0 and counts[i] < cap:
                counts[i] += 1
                diff -= 1
            elif diff < 0 and counts[i] > (1 if self.tasks[i].status in AWARDED_STATUSES else 0):
                counts[i] -= 1
                diff += 1
        return counts

    def load_bids(self) -> None:
        counts = self.bid_counts()
        total = sum(counts)
        contract_lines: list[str] = []
        contract_ms_lines: list[str] = []
        ms_task = self.prog.add_task("bid milestones", total=int(total * 2.15))
        ms_conn = self.connect()
        bid_conn = self.connect()
        ms_cols = ("id", "bid_id", "seq", "title", "deliverable", "amount_minor", "due")
        ms_copy_cm = ms_conn.cursor().copy(
            sql.SQL("COPY bid_milestones ({}) FROM STDIN").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in ms_cols)
            )
        )
        ms_copy = ms_copy_cm.__enter__()
        ms_buf: list[str] = []
        ms_count = 0

        def flush_ms() -> None:
            nonlocal ms_count
            ms_copy.write("".join(ms_buf))
            ms_count += len(ms_buf)
            self.prog.update(ms_task, completed=ms_count)
            ms_buf.clear()

        def bid_lines() -> Iterable[str]:
            bid_id = 0
            ms_id = 0
            for task, k in zip(self.tasks, counts, strict=True):
                if k == 0:
                    continue
                for line, plan, awarded, solver in self._bids_for(task, k):
                    bid_id += 1
                    yield f"{bid_id}\t{line}"
                    for seq, (title, deliverable, amount, due) in enumerate(plan, start=1):
                        ms_id += 1
                        ms_buf.append(
                            f"{ms_id}\t{bid_id}\t{seq}\t{title}\t{deliverable}\t{amount}\t{due}\n"
                        )
                    if len(ms_buf) >= CHUNK:
                        flush_ms()
                    if awarded is not None:
                        self._contract(
                            task, bid_id, solver, plan, awarded, contract_lines, contract_ms_lines
                        )

        try:
            self._copy(
                bid_conn,
                "bids",
                (
                    "id",
                    "task_id",
                    "solver_id",
                    "status",
                    "price_minor",
                    "duration_days",
                    "proposal",
                    "team_members",
                    "decline_reason",
                    "created_at",
                    "updated_at",
                ),
                bid_lines(),
                "bids",
                total,
            )
            if ms_buf:
                flush_ms()
            ms_copy_cm.__exit__(None, None, None)
            ms_conn.commit()
            self.prog.update(ms_task, completed=ms_count, total=ms_count)
            self.counts["bid_milestones"] = ms_count
        finally:
            ms_conn.close()
            bid_conn.close()
        with self.connect() as conn:
            self._copy(
                conn,
                "contracts",
                (
                    "id",
                    "task_id",
                    "bid_id",
                    "poster_org_id",
                    "solver_id",
                    "status",
                    "price_minor",
                    "ip_terms",
                    "confidentiality",
                    "poster_accepted_by_id",
                    "poster_accepted_at",
                    "solver_accepted_at",
                    "completed_at",
                    "created_at",
                    "updated_at",
                ),
                contract_lines,
                "contracts",
                len(contract_lines),
            )
            self._copy(
                conn,
                "milestones",
                (
                    "id",
                    "contract_id",
                    "seq",
                    "title",
                    "deliverable",
                    "amount_minor",
                    "due",
                    "status",
                    "created_at",
                    "updated_at",
                ),
                contract_ms_lines,
                "contract milestones",
                len(contract_ms_lines),
            )

    def _bids_for(
        self, task: TaskRow, k: int
    ) -> Iterable[tuple[str, list[tuple[str, str, int, str]], float | None, int]]:
        """K bids on TASK from distinct solvers (a few withdraw and bid again)."""
        rng = self.rng
        now = self.now
        solvers = rng.sample(self.solver_ids, k)
        start = task.published
        end = min(task.bid_deadline, now)
        slot = 0
        while slot < k:
            solver = solvers[slot]
            if task.status in AWARDED_STATUSES and slot == 0:
                status = "awarded"
            else:
                r = rng.random()
                if task.status == "published":
                    status = (
                        "submitted"
                        if r < 0.86
                        else "shortlisted"
                        if r < 0.94
                        else "withdrawn"
                        if r < 0.98
                        else "declined"
                    )
                elif task.status == "bidding_closed":
                    status = (
                        "submitted"
                        if r < 0.7
                        else "shortlisted"
                        if r < 0.9
                        else "withdrawn"
                        if r < 0.95
                        else "declined"
                    )
                else:  # awarded, in progress, completed or cancelled: the others lost
                    status = "declined" if r < 0.8 else "withdrawn"
            created = rng.uniform(start, end)
            if (
                task.status == "published"
                and status == "submitted"
                and slot + 1 < k
                and rng.random() < 0.01
            ):
                # Withdrawn, then bid again: two rows, one of them live.
                withdrawn_at = rng.uniform(created, end)
                line, plan = self._bid(task, solver, "withdrawn", created, withdrawn_at)
                yield line, plan, None, solver
                slot += 1
                created = rng.uniform(withdrawn_at, end)
            updated = created if status == "submitted" else rng.uniform(created, end)
            line, plan = self._bid(task, solver, status, created, updated)
            yield line, plan, (updated if status == "awarded" else None), solver
            slot += 1

    def _bid(
        self, task: TaskRow, solver: int, status: str, created: float, updated: float
    ) -> tuple[str, list[tuple[str, str, int, str]]]:
        rng = self.rng
        n = rng.choices((1, 2, 3), weights=(20, 45, 35))[0]
        price = max(n * 10_000, round(task.budget * rng.uniform(0.55, 1.15) / 10_000) * 10_000)
        avail_days = (task.delivery - created) / DAY
        duration = max(1, int(avail_days * rng.uniform(0.4, 0.95)))
        amounts: list[int] = []
        if n == 1:
            amounts = [price]
        else:
            cuts = sorted(rng.uniform(0.2, 0.8) for _ in range(n - 1))
            if n == 3 and cuts[1] - cuts[0] < 0.15:
                cuts = [0.3, 0.65]
            prev = 0
            for c in cuts:
                a = round(price * c / 100) * 100 - prev
                amounts.append(a)
                prev += a
            amounts.append(price - prev)
        titles = vocab.MILESTONE_TITLES[n - 1]
        zh = rng.random() < 0.8
        plan = []
        for i, amount in enumerate(amounts):
            t_zh, t_en = titles[i]
            due = created + duration * DAY * (i + 1) / n
            plan.append(
                (
                    f"阶段{i + 1}：{t_zh}" if zh else f"Phase {i + 1}: {t_en}",
                    rng.choice(_MS_DELIVERABLES),
                    amount,
                    ts(due),
                )
            )
        reason = rng.choice(DECLINE_REASONS) if status == "declined" else NULL
        line = (
            f"{task.id}\t{solver}\t{status}\t{price}\t{duration}\t"
            f"{rng.choice(_PROPOSALS[task.industry])}\t{rng.choice(_TEAMS)}\t{reason}\t"
            f"{ts(created)}\t{ts(updated)}\n"
        )
        return line, plan

    def _contract(
        self,
        task: TaskRow,
        bid_id: int,
        solver: int,
        plan: list[tuple[str, str, int, str]],
        awarded_at: float,
        contract_lines: list[str],
        ms_lines: list[str],
    ) -> None:
        cid = len(contract_lines) + 1
        status = CONTRACT_STATUS[task.status]
        solver_accepted = NULL if status == "pending_acceptance" else ts(awarded_at + 2 * DAY)
        completed = ts(min(task.delivery, self.now - DAY)) if status == "completed" else NULL
        price = sum(a for _, _, a, _ in plan)
        at = ts(awarded_at)
        contract_lines.append(
            f"{cid}\t{task.id}\t{bid_id}\t{task.org_id}\t{solver}\t{status}\t{price}\t"
            f"{task.ip_terms}\t{task.confidentiality}\t{task.created_by}\t{at}\t"
            f"{solver_accepted}\t{completed}\t{at}\t{at}\n"
        )
        ms_status = "accepted" if status == "completed" else "open"
        for seq, (title, deliverable, amount, due) in enumerate(plan, start=1):
            ms_lines.append(
                f"{len(ms_lines) + 1}\t{cid}\t{seq}\t{title}\t{deliverable}\t{amount}\t{due}\t"
                f"{ms_status}\t{at}\t{at}\n"
            )

    # -- after the load ---------------------------------------------------------------------
    def rebuild_indexes(self) -> None:
        indexes = [idx for name in REINDEXED_TABLES for idx in Base.metadata.tables[name].indexes]
        task = self.prog.add_task("rebuild indexes", total=len(indexes) + 1)
        dialect = postgresql.dialect()
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            for idx in indexes:
                conn.execute(str(CreateIndex(idx, if_not_exists=True).compile(dialect=dialect)))  # type: ignore[arg-type]
                self.prog.advance(task)
            conn.execute(text_search.CREATE_INDEX)  # type: ignore[arg-type]
            self.prog.advance(task)

    def finish(self) -> None:
        tables = [t for t in Base.metadata.sorted_tables if "id" in t.c]
        task = self.prog.add_task("sequences, vacuum analyze", total=len(tables) + 1)
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            for t in tables:
                row = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (t.name,))
                seq = row.fetchone()
                if seq and seq[0]:  # tables whose id is not generated have no sequence
                    conn.execute(
                        sql.SQL(
                            "SELECT setval({seq}, COALESCE((SELECT max(id) FROM {t}), 1), "
                            "(SELECT max(id) FROM {t}) IS NOT NULL)"
                        ).format(seq=sql.Literal(seq[0]), t=sql.Identifier(t.name))
                    )
                self.prog.advance(task)
            conn.execute("VACUUM (ANALYZE)")
            self.prog.advance(task)

    def verify(self) -> dict[str, int]:
        with (
            console.status("verifying (milestone sums, orphans, live-bid uniqueness)"),
            psycopg.connect(libpq_url(self.url)) as conn,
        ):
            q = {
                "bids_whose_milestones_do_not_sum_to_price": """
                        SELECT count(*) FROM bids b
                        JOIN (SELECT bid_id, sum(amount_minor) AS s, count(*) AS n
                              FROM bid_milestones GROUP BY bid_id) m ON m.bid_id = b.id
                        WHERE m.s <> b.price_minor OR m.n NOT BETWEEN 1 AND 3""",
                "bids_without_milestones": """
                        SELECT count(*) FROM bids b
                        WHERE NOT EXISTS (SELECT 1 FROM bid_milestones m WHERE m.bid_id = b.id)""",
                "bids_with_unknown_task_or_solver": """
                        SELECT count(*) FROM bids b
                        LEFT JOIN tasks t ON t.id = b.task_id
                        LEFT JOIN users u ON u.id = b.solver_id AND u.role = 'solver'
                        WHERE t.id IS NULL OR u.id IS NULL""",
                "duplicate_live_bids": """
                        SELECT count(*) FROM (SELECT task_id, solver_id FROM bids
                        WHERE status IN ('submitted', 'shortlisted', 'awarded')
                        GROUP BY 1, 2 HAVING count(*) > 1) d""",
                "tasks_whose_skills_are_missing": """
                        SELECT count(*) FROM tasks t WHERE jsonb_array_length(t.required_skills) > 0
                        AND NOT EXISTS (SELECT 1 FROM task_skills s WHERE s.task_id = t.id)""",
            }
            out = {k: int(conn.execute(v).fetchone()[0]) for k, v in q.items()}  # type: ignore[index]
        bad = {k: v for k, v in out.items() if v}
        if bad:
            raise SystemExit(f"generated data failed verification: {bad}")
        return out


def _clip(text: str, limit: int) -> str:
    """TEXT cut to LIMIT characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _cum(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _pools(seed: int) -> tuple[dict[Industry, list[str]], list[str], list[str]]:
    """Pre-built texts for bids (proposals, teams, deliverables): rows pick from them."""
    rng = random.Random(seed + 1)
    proposals: dict[Industry, list[str]] = {}
    for ind in Industry:
        ind_zh, ind_en = INDUSTRY_LABELS[ind]
        pool = []
        for _ in range(60):
            s1, s2 = rng.sample(vocab.SKILLS[ind], 2)
            g = rng.choice(vocab.GENERIC_SKILLS)
            years = rng.randint(3, 20)
            n = rng.randint(2, 30)
            pool.append(
                f"本团队在{ind_zh}领域深耕{years}年，完成同类项目{n}项。拟以{s1[0]}为核心，结合{s2[0]}与{g[0]}，"
                f"分阶段完成方案设计、样机验证与现场交付，每阶段提交可核查的测试数据。"
                f" Our team has {years} years in {ind_en.lower()} and {n} similar projects; we will combine "
                f"{s1[1]}, {s2[1]} and {g[1]} and deliver verifiable test data at every milestone."
            )
        proposals[ind] = pool
    teams = []
    for _ in range(400):
        members = []
        for _ in range(rng.randint(1, 4)):
            name = (
                rng.choice(vocab.EN_NAMES)
                if rng.random() < 0.1
                else rng.choice(vocab.SURNAMES) + rng.choice(vocab.GIVEN)
            )
            role = rng.choice(
                ("项目负责人", "高级工程师", "博士后", "研究生", "测试工程师", "Lead engineer")
            )
            members.append({"name": name, "role": role})
        teams.append(js(members))
    deliverables = [f"{d[0]}（{d[1]}）" for d in vocab.DELIVERABLES] + [
        d[0] for d in vocab.DELIVERABLES
    ]
    return proposals, teams, deliverables


_PROPOSALS, _TEAMS, _MS_DELIVERABLES = _pools(2015)


def run_generate(url: str, sizes: Sizes) -> dict[str, Any]:
    gen = Generator(url, sizes)
    result = gen.run()
    print_figures(result)
    path = write_results("generate", result)
    console.print(f"results written to {path}")
    return result


def print_figures(result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"generated data in {result['database']}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in result["rows"].items():
        table.add_row(name, f"{n:,}")
    table.add_row("[bold]total", f"[bold]{result['total_rows']:,}")
    console.print(table)
    console.print(
        f"generated {result['total_rows']:,} rows in {result['seconds']} s "
        f"({result['rows_per_second']:,} rows/s); database size {result['database_size']}; "
        f"phases (s): {result['timings_s']}"
    )
    console.print(f"verification: {result['verification']}")
    console.print(f"every generated user logs in with the password {result['password']!r}")


def size_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(
        [
            click.option("--tasks", default=Sizes.tasks, show_default=True, type=int),
            click.option("--solvers", default=Sizes.solvers, show_default=True, type=int),
            click.option("--bids", default=Sizes.bids, show_default=True, type=int),
            click.option("--enterprises", default=Sizes.enterprises, show_default=True, type=int),
            click.option("--seed", default=Sizes.seed, show_default=True, type=int),
        ]
    ):
        fn = opt(fn)
    return fn


@click.command("generate")
@click.option("--database-url", default=DEFAULT_DATABASE_URL, show_default=True)
@size_options
def main(
    database_url: str, tasks: int, solvers: int, bids: int, enterprises: int, seed: int
) -> None:
    """Fill the benchmark database (dropped, recreated and migrated first)."""
    run_generate(
        database_url,
        Sizes(tasks=tasks, solvers=solvers, bids=bids, enterprises=enterprises, seed=seed),
    )


if __name__ == "__main__":
    main()
