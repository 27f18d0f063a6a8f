"""Saved searches: a newly published task that matches one is recorded as a hit and the
owner is notified; the searches are private to their owner."""

from __future__ import annotations

from tests.helpers import Api
from tests.market.search.helpers import get_ok, publish


def test_a_published_task_matching_a_saved_search_is_a_hit_and_a_notification(api: Api) -> None:
    poster, solver, other = api.poster(), api.solver(), api.solver("other")
    r = api.c.post(
        "/me/saved-searches",
        json={"name": "通州湾石墨烯", "q": "graphene", "filters": {"district": ["tongzhou_bay"]}},
        headers=solver.headers,
    )
    assert r.status_code == 201, r.text
    saved = r.json()
    assert saved["filters"]["district"] == ["tongzhou_bay"] and saved["hit_count"] == 0

    match = publish(api, poster, title_zh="石墨烯导热膜中试", district="tongzhou_bay",
                    required_skills=["石墨烯"], industry="new_materials")  # fmt: skip
    publish(api, poster, title_zh="石墨烯涂料", district="haimen", industry="new_materials")
    publish(api, poster, title_zh="导管架焊接", district="tongzhou_bay", required_skills=["焊接"])

    listed = get_ok(api, "/me/saved-searches", solver)
    assert [(s["id"], s["hit_count"]) for s in listed] == [(saved["id"], 1)]
    hits = get_ok(api, f"/me/saved-searches/{saved['id']}/hits", solver)
    assert [h["task"]["id"] for h in hits["items"]] == [match["id"]] and hits["total"] == 1

    inbox = get_ok(api, "/notifications", solver)["items"]
    found = [n for n in inbox if n["kind"] == "saved_search_match"]
    assert [n["link"] for n in found] == [f"/tasks/{match['id']}"]
    assert "通州湾石墨烯" in found[0]["body_zh"] and "石墨烯导热膜中试" in found[0]["title_zh"]

    # Private to the owner.
    assert get_ok(api, "/me/saved-searches", other) == []
    assert (
        api.c.get(f"/me/saved-searches/{saved['id']}/hits", headers=other.headers).status_code
        == 404
    )
    assert (
        api.c.delete(f"/me/saved-searches/{saved['id']}", headers=other.headers).status_code == 404
    )
    assert (
        api.c.delete(f"/me/saved-searches/{saved['id']}", headers=solver.headers).status_code == 204
    )
    assert get_ok(api, "/me/saved-searches", solver) == []
    assert (
        api.c.get(f"/me/saved-searches/{saved['id']}/hits", headers=solver.headers).status_code
        == 404
    )


def test_saved_search_input_is_checked(api: Api) -> None:
    solver = api.solver()
    cases = [
        ({"name": "空"}, 422, "q"),
        ({"name": "x", "filters": {"min_budget": 5, "max_budget": 1}}, 422, "filters.max_budget"),
        ({"name": "x", "q": "a" * 201}, 400, "q"),
        (
            {"name": "x", "q": "ok", "filters": {"industry": ["atlantis"]}},
            400,
            "filters.industry[0]",
        ),
        ({"name": "x", "q": "ok", "sort": "budget"}, 400, "sort"),
        ({"name": "", "q": "ok"}, 400, "name"),
    ]
    for body, status, field in cases:
        r = api.c.post("/me/saved-searches", json=body, headers=solver.headers)
        assert r.status_code == status, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, (body, r.json())
    for i in range(20):
        r = api.c.post(
            "/me/saved-searches", json={"name": f"s{i}", "q": "焊接"}, headers=solver.headers
        )
        assert r.status_code == 201, r.text
    r = api.c.post(
        "/me/saved-searches", json={"name": "one too many", "q": "焊接"}, headers=solver.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "max_count"
