"""GET /search/tasks and /search/solvers: the index follows the database through the
background work; texts in Chinese and English; filters, facets, sort, pages; 400s."""

from __future__ import annotations

from typing import Any

from market.discovery.tasks import index_task
from tests.helpers import Api, task_payload
from tests.market.search.helpers import get_ok, profile, publish, solver_ids, task_ids


def test_the_index_follows_publishing_editing_and_cancelling(api: Api) -> None:
    poster = api.poster()
    body = {
        "title_zh": "深海系泊缆疲劳在线监测",
        "title_en": "Online fatigue monitoring of deep-sea mooring lines",
        "summary_zh": "",
        "summary_en": "",
        "description_zh": "",
        "description_en": "",
        "required_skills": ["系泊系统", "fatigue analysis"],
    }
    r = api.c.post("/tasks", json=task_payload(**body), headers=poster.headers)
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    assert task_ids(get_ok(api, "/search/tasks", q="系泊")) == []  # a draft is not indexed

    r = api.c.post(f"/tasks/{task_id}/publish", headers=poster.headers)
    assert r.status_code == 200, r.text
    hits = get_ok(api, "/search/tasks", q="系泊")["items"]
    assert [h["task"]["id"] for h in hits] == [task_id]
    assert "<mark>系泊</mark>" in hits[0]["highlights"]["title_zh"]
    assert hits[0]["task"]["title_en"] == body["title_en"]  # the row, shaped by the API
    assert task_ids(get_ok(api, "/search/tasks", q="mooring")) == [task_id]
    assert task_ids(get_ok(api, "/search/tasks", q="疲劳分析")) == [task_id]  # skill synonym

    r = api.c.patch(
        f"/tasks/{task_id}",
        json={"title_en": "Online inspection of subsea umbilicals"},
        headers=poster.headers,
    )
    assert r.status_code == 200, r.text
    assert task_ids(get_ok(api, "/search/tasks", q="umbilicals")) == [task_id]
    assert task_ids(get_ok(api, "/search/tasks", q="mooring lines")) == []

    r = api.c.post(f"/tasks/{task_id}/cancel", json={"reason": "预算调整"}, headers=poster.headers)
    assert r.status_code == 200, r.text
    assert task_ids(get_ok(api, "/search/tasks", q="系泊")) == []
    all_public = ["published", "bidding_closed", "awarded", "in_progress", "completed"]
    assert task_ids(get_ok(api, "/search/tasks", q="系泊", status=all_public)) == []
    # A late redelivery of the publishing event changes nothing: handlers read the row.
    index_task(api.jobs, {"task_id": task_id, "_outbox_id": 0})
    assert task_ids(get_ok(api, "/search/tasks", q="系泊", status=all_public)) == []


def test_chinese_and_english_queries_meet_through_synonyms(api: Api) -> None:
    poster = api.poster()
    zh_only = publish(
        api,
        poster,
        title_zh="高导热石墨烯膜规模化制备",
        summary_zh="面向消费电子散热的石墨烯导热膜中试。",
        required_skills=["石墨烯", "材料表征"],
        industry="new_materials",
    )
    en_only = publish(
        api,
        poster,
        title_en="Carbon fibre hull panels for survey boats",
        summary_en="Lighter composite hulls for coastal survey vessels.",
        required_skills=["carbon fiber"],
        industry="new_materials",
    )
    publish(
        api, poster, title_zh="利培酮缓释微球", required_skills=["药物制剂"], industry="biomedicine"
    )

    assert task_ids(get_ok(api, "/search/tasks", q="石墨烯")) == [zh_only["id"]]
    assert task_ids(get_ok(api, "/search/tasks", q="graphene")) == [zh_only["id"]]
    assert task_ids(get_ok(api, "/search/tasks", q="composite hulls")) == [en_only["id"]]
    assert task_ids(get_ok(api, "/search/tasks", q="碳纤维")) == [en_only["id"]]
    both = get_ok(api, "/search/tasks", q="新材料")  # the industry's label, zh and en
    assert sorted(task_ids(both)) == sorted([zh_only["id"], en_only["id"]])
    highlighted = get_ok(api, "/search/tasks", q="graphene")["items"][0]["highlights"]
    assert "<mark>石墨烯</mark>" in highlighted["title_zh"]


def test_filters_facets_sort_and_pages(api: Api) -> None:
    poster = api.poster()
    a = publish(api, poster, title_zh="石墨烯散热膜", required_skills=["石墨烯"],
                industry="new_materials", district="tongzhou_bay", zone=None,
                budget_minor=1_000_000, trl_current=2, trl_target=5)  # fmt: skip
    b = publish(api, poster, title_zh="海洋重防腐涂层", required_skills=["涂层"],
                industry="new_materials", district="haimen", zone=None,
                budget_minor=3_000_000, trl_current=4, trl_target=7)  # fmt: skip
    c = publish(api, poster, title_zh="缓释制剂处方开发", required_skills=["药物制剂"],
                industry="biomedicine", district="haimen", zone="haimen_biomedicine",
                budget_minor=2_000_000, trl_current=3, trl_target=6)  # fmt: skip
    d = publish(api, poster, title_zh="导管架焊接工艺", required_skills=["焊接"],
                industry="offshore_equipment", district="tongzhou",
                budget_minor=5_000_000, trl_current=5, trl_target=8)  # fmt: skip
    r = api.c.post(f"/tasks/{d['id']}/close-bidding", headers=poster.headers)
    assert r.status_code == 200, r.text

    def ids(**params: Any) -> list[int]:
        return task_ids(get_ok(api, "/search/tasks", **params))

    assert sorted(ids()) == sorted([a["id"], b["id"], c["id"]])  # published only by default
    assert ids(status="bidding_closed") == [d["id"]]
    assert len(ids(status=["published", "bidding_closed"])) == 4
    assert sorted(ids(industry="new_materials")) == sorted([a["id"], b["id"]])
    assert sorted(ids(district="haimen")) == sorted([b["id"], c["id"]])
    assert ids(industry="new_materials", district="haimen") == [b["id"]]
    assert ids(zone="haimen_biomedicine") == [c["id"]]
    assert sorted(ids(min_budget=1_500_000, max_budget=3_000_000)) == sorted([b["id"], c["id"]])
    assert sorted(ids(trl=6)) == sorted([b["id"], c["id"]])  # the TRL span covers 6
    assert ids(skills="涂层") == [b["id"]]
    assert sorted(ids(skills=["涂层", "石墨烯"])) == sorted([a["id"], b["id"]])

    faceted = get_ok(api, "/search/tasks", facets="industry,district")
    assert faceted["facets"]["industry"] == {"new_materials": 2, "biomedicine": 1}
    assert faceted["facets"]["district"] == {"haimen": 2, "tongzhou_bay": 1}

    assert ids(sort="-budget_minor") == [b["id"], c["id"], a["id"]]
    assert ids(sort="budget_minor") == [a["id"], c["id"], b["id"]]
    assert ids(sort="trl_target:desc") == [b["id"], c["id"], a["id"]]
    page1 = get_ok(api, "/search/tasks", sort="budget_minor", page_size=2)
    page2 = get_ok(api, "/search/tasks", sort="budget_minor", page_size=2, page=2)
    assert (task_ids(page1), task_ids(page2)) == ([a["id"], c["id"]], [b["id"]])
    assert page1["total"] == page2["total"] == 3
    assert (page2["page"], page2["page_size"]) == (2, 2)


BAD_PARAMETERS: list[tuple[str, dict[str, Any], str]] = [
    ("/search/tasks", {"facets": "title_zh"}, "facets"),
    ("/search/tasks", {"sort": "title_zh"}, "sort"),
    ("/search/tasks", {"sort": "budget_minor:sideways"}, "sort"),
    ("/search/tasks", {"page_size": 101}, "page_size"),
    ("/search/tasks", {"page": 0}, "page"),
    ("/search/tasks", {"page": 100_000, "page_size": 100}, "page"),
    ("/search/tasks", {"min_budget": 5, "max_budget": 1}, "max_budget"),
    ("/search/tasks", {"status": "draft"}, "status"),
    ("/search/tasks", {"status": "cancelled"}, "status"),
    ("/search/tasks", {"q": "x" * 201}, "q"),
    ("/search/tasks", {"q": "a\x01b"}, "q"),
    ("/search/tasks", {"industry": "atlantis"}, "industry"),
    ("/search/tasks", {"trl": 10}, "trl"),
    ("/search/tasks", {"skills": "s" * 61}, "skills"),
    ("/search/solvers", {"facets": "rating_avg"}, "facets"),
    ("/search/solvers", {"sort": "budget_minor"}, "sort"),
    ("/search/solvers", {"min_rating": 6}, "min_rating"),
    ("/search/solvers", {"languages": "fr"}, "languages"),
]


def test_bad_parameters_are_400_naming_the_field(api: Api) -> None:
    for path, params, field in BAD_PARAMETERS:
        r = api.c.get(path, params=params)
        assert r.status_code == 400, (path, params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == field, (path, params, r.json())


def test_solver_search_with_reputation_from_ratings_and_contracts(api: Api) -> None:
    poster = api.poster()
    graphene = api.solver(
        "孙浩",
        profile(
            headline_zh="石墨烯导热材料研究",
            skills=["石墨烯", "复合材料"],
            fields=["new_materials"],
            district="tongzhou_bay",
        ),
    )
    welder = api.solver(
        "Lars",
        profile(
            headline_en="Offshore welding qualification",
            skills=["welding"],
            fields=["offshore_equipment"],
            languages=["en"],
        ),
    )

    def ids(**params: Any) -> list[int]:
        return solver_ids(get_ok(api, "/search/solvers", **params))

    assert ids(q="graphene") == [graphene.id]
    hit = get_ok(api, "/search/solvers", q="graphene")["items"][0]
    assert "<mark>石墨烯</mark>" in hit["highlights"]["headline_zh"]
    assert hit["solver"]["profile"]["skills"] == ["石墨烯", "复合材料"]
    assert ids(q="焊接") == [welder.id]  # zh query, en skill
    assert ids(fields="offshore_equipment") == [welder.id]
    assert ids(languages="en") == [welder.id]
    assert ids(district="tongzhou_bay") == [graphene.id]
    facets = get_ok(api, "/search/solvers", facets="fields")["facets"]["fields"]
    assert facets == {"new_materials": 1, "offshore_equipment": 1}

    # The welder completes a contract and is rated 5: reputation reaches the index.
    task = api.published_task(poster)
    bid = api.bid(welder, task["id"], parts=1)
    r = api.c.post(f"/bids/{bid['id']}/award", json={"accept_terms": True}, headers=poster.headers)
    assert r.status_code == 201, r.text
    contract_id = r.json()["id"]
    r = api.c.post(
        f"/contracts/{contract_id}/accept", json={"accept_terms": True}, headers=welder.headers
    )
    assert r.status_code == 200, r.text
    milestone = r.json()["milestones"][0]["id"]
    assert api.submit(welder, contract_id, milestone).status_code == 201
    r = api.c.post(
        f"/contracts/{contract_id}/milestones/{milestone}/accept", headers=poster.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    r = api.c.post(f"/contracts/{contract_id}/ratings", json={"score": 5}, headers=poster.headers)
    assert r.status_code == 201, r.text

    best = get_ok(api, "/search/solvers", sort="-rating_avg")["items"]
    assert [h["solver"]["id"] for h in best][:2] == [welder.id, graphene.id]
    assert (best[0]["rating_avg"], best[0]["completed_count"]) == (5.0, 1)
    assert (best[1]["rating_avg"], best[1]["completed_count"]) == (None, 0)
    assert ids(min_rating=4) == [welder.id]
    assert ids(min_completed=1) == [welder.id]
