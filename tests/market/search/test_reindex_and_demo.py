"""The index is derived data: `market search reindex` rebuilds it from the database, and
the demo comes with a filled index."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from litestar.testing import TestClient

from market.app import create_app
from market.cli import main
from market.db.engine import make_engine
from market.db.migrate import upgrade
from market.demo.loader import DEMO_PASSWORD, load_demo
from market.settings import Settings
from search.embedded import EmbeddedSearchIndex
from tests.helpers import Api
from tests.market.search.helpers import get_ok, profile, publish, solver_ids, task_ids


def test_reindex_command_rebuilds_the_index_from_the_database(api: Api, settings: Settings) -> None:
    assert settings.search_index_file == settings.data_dir / "search.db"
    poster = api.poster()
    solver = api.solver("重建", profile(headline_zh="储能热管理", skills=["热管理"]))
    public = publish(api, poster, title_zh="储能柜液冷均温设计", required_skills=["热管理"])
    secret = publish(
        api,
        poster,
        title_zh="保密的电池包热失控研究",
        description_zh="仅签署保密协议后可见：钠离子电芯的热失控蔓延数据。",
        confidentiality="nda",
    )
    r = api.c.post(
        "/tasks", json={"title_zh": "热管理草稿", **_draft(public)}, headers=poster.headers
    )
    assert r.status_code == 201, r.text

    index = EmbeddedSearchIndex(str(settings.search_index_file))
    index.clear()
    index.close()
    assert get_ok(api, "/search/tasks")["total"] == 0
    assert get_ok(api, "/search/solvers")["total"] == 0

    env = {
        "MARKET_DATABASE_URL": settings.effective_database_url,
        "MARKET_DATA_DIR": str(settings.data_dir),
        "MARKET_SEARCH_BACKEND": "embedded",
    }
    result = CliRunner().invoke(main, ["search", "reindex"], env=env)
    assert result.exit_code == 0, result.output
    assert "2 tasks, 1 solvers" in result.output

    assert sorted(task_ids(get_ok(api, "/search/tasks"))) == sorted([public["id"], secret["id"]])
    assert task_ids(get_ok(api, "/search/tasks", q="热管理")) == [public["id"]]  # no draft
    assert solver_ids(get_ok(api, "/search/solvers", q="thermal management")) == [solver.id]
    # What is under NDA stays out of the index: the title is public, the description not.
    assert task_ids(get_ok(api, "/search/tasks", q="热失控研究")) == [secret["id"]]
    assert task_ids(get_ok(api, "/search/tasks", q="热失控蔓延")) == []


def _draft(task: dict[str, object]) -> dict[str, object]:
    keys = ("industry", "district", "trl_current", "trl_target", "budget_minor",
            "bid_deadline", "delivery_deadline", "ip_terms")  # fmt: skip
    return {k: task[k] for k in keys}


def test_the_demo_solver_sees_tasks_for_them_with_reasons(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'market.db'}"
    upgrade(url)
    settings = Settings(
        data_dir=tmp_path,
        database_url=url,
        argon2_profile="CHEAPEST",
        payments_url="http://127.0.0.1:9",
    )
    assert load_demo(settings, echo=lambda _line: None)
    engine = make_engine(url)
    try:
        with TestClient(create_app(settings, engine, background=False)) as c:
            api = Api(c)
            solver = api.login("solver@demo.example", DEMO_PASSWORD)
            matches = get_ok(api, "/match/tasks-for-me", solver)["items"]
            titles = [m["task"]["title_zh"] for m in matches]
            assert len(matches) >= 3, titles
            # The demo solver bid on the duplex welding task: it is not offered again.
            assert not any("超级双相不锈钢" in t for t in titles)
            assert all(m["task"]["status"] == "published" for m in matches)
            top = matches[0]["explanation"]
            assert top["matched_skills"] and top["signals"]["skill_overlap"] > 0
            assert get_ok(api, "/search/tasks", q="石墨烯")["total"] >= 2
    finally:
        engine.dispose()
