"""GET /match/tasks-for-me and GET /tasks/{id}/matching-solvers: who sees what, what is
left out, and the explanation of each match."""

from __future__ import annotations

from typing import Any

from tests.helpers import Api
from tests.market.search.helpers import get_ok, profile, publish


def test_tasks_for_me_leaves_out_bid_and_closed_tasks_and_explains(api: Api) -> None:
    poster = api.poster()
    solver = api.solver(
        "材料所",
        profile(
            headline_en="Graphene films and welding metallurgy",
            skills=["new materials", "welding"],
            fields=["new_materials"],
            district="tongzhou_bay",
        ),
    )
    fits = publish(
        api,
        poster,
        title_zh="高导热石墨烯膜中试",
        required_skills=["新材料", "石墨烯"],
        industry="new_materials",
        district="tongzhou_bay",
    )
    bid_on = publish(api, poster, title_zh="导管架焊接工艺", required_skills=["焊接"])
    api.bid(solver, bid_on["id"])
    closed = publish(api, poster, title_zh="新材料检测平台", required_skills=["新材料"],
                     industry="new_materials")  # fmt: skip
    r = api.c.post(f"/tasks/{closed['id']}/close-bidding", headers=poster.headers)
    assert r.status_code == 200, r.text
    unrelated = publish(
        api, poster, title_zh="缓释微球制剂", required_skills=["药物制剂"], industry="biomedicine"
    )

    body = get_ok(api, "/match/tasks-for-me", solver)
    ids = [m["task"]["id"] for m in body["items"]]
    assert ids[0] == fits["id"]
    assert not {bid_on["id"], closed["id"], unrelated["id"]} & set(ids)

    why = body["items"][0]["explanation"]
    assert {
        "wanted": "新材料",
        "matched": "new materials",
        "via_synonym": True,
    } in why["matched_skills"]
    assert why["matched_terms"] == ["graphene"]  # the headline's term, in the zh title
    signals = why["signals"]
    assert signals["skill_overlap"] > 0
    assert signals["industry_match"] == 1.0 and signals["district_match"] == 1.0
    assert signals["industry"] == "new_materials"

    # Bidding on the matched task drops it too; the limit bounds the list.
    api.bid(solver, fits["id"])
    assert fits["id"] not in [
        m["task"]["id"] for m in get_ok(api, "/match/tasks-for-me", solver)["items"]
    ]
    r = api.c.get("/match/tasks-for-me", params={"limit": 0}, headers=solver.headers)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "limit"
    assert api.c.get("/match/tasks-for-me", headers=poster.headers).status_code == 403
    assert api.c.get("/match/tasks-for-me").status_code == 401


def _solver_ids(body: dict[str, Any]) -> list[int]:
    return [m["solver"]["id"] for m in body["items"]]


def test_matching_solvers_ranks_exact_skills_first_for_the_poster(api: Api) -> None:
    poster, rival = api.poster(), api.poster("rival")
    partial = api.solver(
        "partial", profile(skills=["welding"], fields=["offshore_equipment"], languages=["en"])
    )
    exact = api.solver(
        "exact",
        profile(
            headline_zh="海工焊接与有限元分析",
            skills=["焊接", "有限元分析"],
            fields=["offshore_equipment"],
            district="tongzhou",
        ),
    )
    outsider = api.solver("outsider", profile(skills=["抗体"], fields=["biomedicine"]))
    task = publish(
        api,
        poster,
        title_zh="海上平台耐腐蚀焊接工艺研发",
        required_skills=["焊接", "有限元分析"],
        industry="offshore_equipment",
        district="tongzhou",
    )
    url = f"/tasks/{task['id']}/matching-solvers"

    body = get_ok(api, url, poster)
    assert body["task_id"] == task["id"]
    ids = _solver_ids(body)
    assert ids[:2] == [exact.id, partial.id]
    assert outsider.id not in ids
    best, second = body["items"][0], body["items"][1]
    assert best["score"] > second["score"]
    assert [s["via_synonym"] for s in best["explanation"]["matched_skills"]] == [False, False]
    assert second["explanation"]["matched_skills"] == [
        {"wanted": "焊接", "matched": "welding", "via_synonym": True}
    ]
    assert best["solver"]["profile"]["skills"] == ["焊接", "有限元分析"]
    assert (best["rating_avg"], best["completed_count"]) == (None, 0)

    admin = api.admin()
    assert _solver_ids(get_ok(api, url, admin))[:2] == [exact.id, partial.id]
    for other in (rival, exact):
        assert api.c.get(url, headers=other.headers).status_code == 403
    assert api.c.get(url).status_code == 401
    r = api.c.get("/tasks/999999/matching-solvers", headers=poster.headers)
    assert r.status_code == 404

    # A draft can be matched before it is published, by its own organisation only.
    draft = _draft_fields(task) | {"title_zh": "海上平台焊接工艺（草稿）"}
    r = api.c.post("/tasks", json=draft, headers=poster.headers)
    assert r.status_code == 201, r.text
    draft_url = f"/tasks/{r.json()['id']}/matching-solvers"
    assert _solver_ids(get_ok(api, draft_url, poster))[0] == exact.id
    assert api.c.get(draft_url, headers=rival.headers).status_code == 404


def _draft_fields(task: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "title_zh", "title_en", "summary_zh", "summary_en", "required_skills", "industry",
        "district", "zone", "trl_current", "trl_target", "budget_minor", "bid_deadline",
        "delivery_deadline", "bidding_mode", "ip_terms", "confidentiality",
    )  # fmt: skip
    return {k: task[k] for k in keys}
