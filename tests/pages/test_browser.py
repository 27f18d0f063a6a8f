"""The web pages in a real headless Chromium, over the demo data (see conftest.py).

The tests of this module share one demo per backend; each uses its own browser context
(its own cookies), and only the contract test changes the demo (it awards the demo
solver's one bid, which "tasks for me" leaves out anyway); the bidding test and the
revision / dispute / rating test, last, add tasks of their own and bid on them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from market.demo.loader import DEMO_PASSWORD
from market.pages.i18n import money
from tests.helpers import bid_payload, task_payload
from tests.pages.conftest import POSTER, SOLVER, Site

TIMEOUT_MS = 10_000


@pytest.fixture
def context(browser: Any) -> Any:
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


def log_in(page: Any, site: Site, email: str, path: str = "/web/tasks") -> None:
    """Through the log-in form: a page that needs a log-in sends us there first."""
    page.goto(site.url + path)
    if "/web/login" not in page.url:
        page.goto(site.url + "/web/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form[action='/web/login'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(site.url + path) + r"(\?.*)?$"))


def with_session(context: Any, site: Site, email: str) -> None:
    """A session cookie holding a token from the API's log-in (the form is tested above
    and in the log-out test; this saves a browser round trip per log-in)."""
    host = site.url.split("://", 1)[1].split(":")[0]
    context.add_cookies(
        [{"name": "market_session", "value": site.token(email), "domain": host, "path": "/web"}]
    )


def test_solver_sees_tasks_for_me_with_reasons_in_chinese(
    site: Site, context: Any, tmp_path: Path
) -> None:
    page = context.new_page()
    page.goto(site.url + "/web/for-me")
    assert "/web/login?next=%2Fweb%2Ffor-me" in page.url  # a log-in first, then back here
    log_in(page, site, SOLVER, "/web/for-me")

    assert page.locator("h1").inner_text().startswith("为我推荐")
    cards = page.locator("article.match")
    shown = [int(cards.nth(i).get_attribute("data-task-id")) for i in range(cards.count())]
    # The same service as GET /match/tasks-for-me, in the same order.
    r = httpx.get(f"{site.url}/match/tasks-for-me", headers=site.api_login(SOLVER))
    assert r.status_code == 200, r.text
    assert shown == [m["task"]["id"] for m in r.json()["items"]] and shown
    first = r.json()["items"][0]
    card = cards.first
    assert "推荐理由" in card.inner_text()
    reasons = card.locator("ul.reasons").inner_text()
    assert "匹配技能" in reasons
    for skill in first["explanation"]["matched_skills"]:
        assert skill["wanted"] in reasons
    assert "技能覆盖" in reasons  # the score's signals, labelled in Chinese
    # Synonym matches say so (技能同义词), on whichever card has one.
    via_synonym = [
        m
        for m in r.json()["items"]
        if any(s["via_synonym"] for s in m["explanation"]["matched_skills"])
    ]
    for m in via_synonym:
        text = page.locator(f"article.match[data-task-id='{m['task']['id']}']").inner_text()
        assert "同义词" in text

    shot = tmp_path / "tasks-for-me.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0

    # The language switch: English first, Chinese after, remembered for the next page.
    page.click("header a[hreflang=en]")
    assert page.locator("h1").inner_text().startswith("Tasks for me")
    page.goto(site.url + "/web/tasks")
    assert page.locator("h1").inner_text().startswith("R&D tasks")


def test_task_list_searches_and_opens_a_task(site: Site, context: Any) -> None:
    page = context.new_page()  # anonymous: the list and the task pages are public
    page.goto(site.url + "/web/tasks")
    assert page.locator("article.task").count() >= 1
    page.fill("input[name=q]", "腐蚀")  # through the search index, with highlights
    page.click("form[role=search] button")
    page.wait_for_url(re.compile(r"/web/tasks\?q="))
    hits = page.locator("article.task")
    assert hits.count() >= 1
    assert hits.locator("mark").first.inner_text() == "腐蚀"
    title = hits.first.locator("h2 a").inner_text()
    hits.first.locator("h2 a").click()
    page.wait_for_url(re.compile(r"/web/tasks/\d+$"))
    assert page.locator("h1").inner_text() == title
    assert "预算" in page.locator("table").inner_text()


def test_poster_accepts_milestone_and_solver_sees_it_released(site: Site, browser: Any) -> None:
    # Set-up through the API: the demo poster awards the demo solver's bid; the first
    # milestone is funded by the background work before the answer arrives.
    solver_api, poster_api = site.api_login(SOLVER), site.api_login(POSTER)
    bids = httpx.get(f"{site.url}/bids", headers=solver_api).json()
    bid = next(
        b for b in (bids["items"] if isinstance(bids, dict) else bids) if b["status"] != "withdrawn"
    )
    r = httpx.post(
        f"{site.url}/bids/{bid['id']}/award", json={"accept_terms": True}, headers=poster_api
    )
    assert r.status_code == 201, r.text
    contract_id = r.json()["id"]
    first_milestone = r.json()["milestones"][0]
    contract_url = f"{site.url}/web/contracts/{contract_id}"

    solver_ctx = browser.new_context(locale="zh-CN")
    poster_ctx = browser.new_context(locale="zh-CN")
    try:
        solver_ctx.set_default_timeout(TIMEOUT_MS)
        poster_ctx.set_default_timeout(TIMEOUT_MS)
        with_session(solver_ctx, site, SOLVER)
        with_session(poster_ctx, site, POSTER)
        solver = solver_ctx.new_page()
        solver.goto(contract_url)
        row = solver.locator(f"tr.milestone[data-milestone-id='{first_milestone['id']}']")
        assert row.get_attribute("data-escrow") == "funded"
        assert solver.locator("#contract-status").get_attribute("data-status") == (
            "pending_acceptance"
        )
        # The solver accepts the contract, then submits a note for milestone 1.
        solver.check("#accept-contract input[name=accept_terms]")
        solver.click("#accept-contract button")
        solver.wait_for_url(contract_url)
        assert solver.locator("#contract-status").get_attribute("data-status") == "active"
        form = solver.locator(f"form.submit-form[data-milestone-id='{first_milestone['id']}']")
        form.locator("textarea[name=note]").fill("第一期焊接工艺评定报告已上传 / PQR report")
        form.locator("button").click()
        solver.wait_for_url(contract_url)
        assert row.get_attribute("data-status") == "submitted"
        assert "第一期焊接工艺评定报告" in solver.locator("article.submission").first.inner_text()
        assert solver.locator("form.accept-form").count() == 0  # not the solver's to accept

        # The poster sees the submission and accepts the milestone.
        poster = poster_ctx.new_page()
        poster.goto(contract_url)
        assert poster.locator("form.submit-form").count() == 0  # not the poster's to submit
        poster.click(f"form.accept-form[data-milestone-id='{first_milestone['id']}'] button")
        poster.wait_for_url(contract_url)
        prow = poster.locator(f"tr.milestone[data-milestone-id='{first_milestone['id']}']")
        assert prow.get_attribute("data-status") == "accepted"

        # After the background work: released on the solver's page, notified in the inbox.
        solver.reload()
        assert row.get_attribute("data-escrow") == "released"
        escrow = httpx.get(f"{site.url}/contracts/{contract_id}/escrow", headers=solver_api)
        released = next(e for e in escrow.json() if e["milestone_id"] == first_milestone["id"])[
            "released_minor"
        ]
        yuan, fen = divmod(released, 100)
        assert released > 0 and row.locator("td.released").inner_text() == f"¥{yuan:,}.{fen:02d}"
        # The second milestone is funded next, by the same background work.
        second = solver.locator("tr.milestone").nth(1)
        assert second.get_attribute("data-escrow") == "funded"

        solver.goto(site.url + "/web/notifications")
        released_note = solver.locator("article.notification[data-kind=milestone_released]")
        assert released_note.count() == 1
        text = released_note.inner_text()
        assert "款项已支付" in text and "已从托管支付给您" in text
        assert "unread" in (released_note.get_attribute("class") or "")
        released_note.locator("button").click()  # mark read (a CSRF-protected form)
        solver.wait_for_url(site.url + "/web/notifications")
        note = solver.locator("article.notification[data-kind=milestone_released]")
        assert "unread" not in (note.get_attribute("class") or "")
    finally:
        solver_ctx.close()
        poster_ctx.close()


def test_log_out_revokes_the_session(site: Site, context: Any) -> None:
    page = context.new_page()
    log_in(page, site, SOLVER, "/web/notifications")
    old = next(c for c in context.cookies() if c["name"] == "market_session")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/web/login$"))
    assert not [c for c in context.cookies() if c["name"] == "market_session"]
    page.goto(site.url + "/web/notifications")
    assert "/web/login?next=%2Fweb%2Fnotifications" in page.url
    # The old cookie is dead on the server too: the same token as the API's, revoked.
    context.add_cookies([{k: old[k] for k in ("name", "value", "domain", "path")}])
    page.goto(site.url + "/web/notifications")
    assert "/web/login" in page.url
    r = httpx.get(f"{site.url}/me", headers={"Authorization": f"Bearer {old['value']}"})
    assert r.status_code == 401


def test_post_without_csrf_token_is_refused(site: Site, context: Any) -> None:
    with_session(context, site, POSTER)
    page = context.new_page()
    page.goto(site.url + "/web/notifications")
    unread = page.locator("main p.meta").first.inner_text()
    assert not unread.startswith("0 ")  # the demo's bids notified the poster
    for form in ({}, {"_csrf_token": "forged"}):
        r = context.request.post(site.url + "/web/notifications/read-all", form=form)
        assert r.status == 403, r.text()
    page.reload()
    assert page.locator("main p.meta").first.inner_text() == unread  # nothing was marked
    # The page's own form carries the token and works.
    page.click("form[action='/web/notifications/read-all'] button")
    page.wait_for_url(site.url + "/web/notifications")
    assert page.locator("main p.meta").first.inner_text().startswith("0 ")


def test_solver_bids_through_the_form_and_poster_awards_through_the_page(
    site: Site, browser: Any
) -> None:
    # A task of the demo poster's of its own (after the contract test above, which awards
    # the demo solver's newest bid): public, open bidding, deadlines ahead.
    poster_api, solver_api = site.api_login(POSTER), site.api_login(SOLVER)
    r = httpx.post(
        f"{site.url}/tasks", json=task_payload(title_zh="浏览器投标任务"), headers=poster_api
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    r = httpx.post(f"{site.url}/tasks/{task_id}/publish", headers=poster_api)
    assert r.status_code == 200, r.text
    task_url = f"{site.url}/web/tasks/{task_id}"
    day = [(datetime.now(UTC).date() + timedelta(days=40 * i)).isoformat() for i in (1, 2)]

    def api_bids() -> list[dict[str, Any]]:
        r = httpx.get(f"{site.url}/tasks/{task_id}/bids", headers=solver_api)
        assert r.status_code == 200, r.text
        return list(r.json())

    solver_ctx = browser.new_context(locale="zh-CN")
    poster_ctx = browser.new_context(locale="zh-CN")
    try:
        solver_ctx.set_default_timeout(TIMEOUT_MS)
        poster_ctx.set_default_timeout(TIMEOUT_MS)
        with_session(solver_ctx, site, SOLVER)
        with_session(poster_ctx, site, POSTER)
        solver = solver_ctx.new_page()
        solver.goto(task_url)
        form = solver.locator("#bid-form")

        def fill(price: str, amounts: tuple[str, str]) -> None:
            form.locator("input[name=price]").fill(price)
            form.locator("input[name=duration_days]").fill("90")
            form.locator("textarea[name=proposal]").fill("团队有十年海工焊接经验")
            for i, amount in enumerate(amounts, start=1):
                form.locator(f"input[name=m{i}_title]").fill(f"阶段 {i}")
                form.locator(f"input[name=m{i}_amount]").fill(amount)
                form.locator(f"input[name=m{i}_due]").fill(day[i - 1])
            with solver.expect_navigation():
                form.locator("button[type=submit]").click()

        # Milestones not adding up to the price: the service's 422 next to the form, in
        # Chinese then English, the values kept, nothing written.
        fill("300000", ("100000", "100000"))
        error = solver.locator("#bid-error")
        assert error.get_attribute("data-rule") == "sum_equals_price"
        assert "里程碑金额之和必须等于报价" in error.inner_text()
        assert "add up to the price" in error.inner_text()
        assert form.locator("input[name=price]").input_value() == "300000"
        assert api_bids() == []
        # A fraction of a fen is refused, not rounded.
        fill("300000.005", ("150000", "150000.005"))
        assert solver.locator("#bid-error").get_attribute("data-rule") == "fen_precision"
        assert api_bids() == []

        # A good bid, in yuan with fen: listed as the solver's live bid.
        fill("300000.50", ("150000.25", "150000.25"))
        solver.wait_for_url(task_url)
        mine = solver.locator("#my-bid")
        assert mine.get_attribute("data-status") == "submitted"
        assert "¥300,000.50" in mine.inner_text()
        assert solver.locator("#bid-form").count() == 0 and solver.locator("#withdraw-bid").count()
        (bid,) = api_bids()
        assert bid["price_minor"] == 30_000_050
        assert [m["amount_minor"] for m in bid["milestones"]] == [15_000_025, 15_000_025]

        # The poster shortlists, then awards with the terms accepted.
        poster = poster_ctx.new_page()
        poster.goto(task_url)
        poster.click("#review-bids")
        bids_url = f"{task_url}/bids"
        poster.wait_for_url(bids_url)
        card = poster.locator(f"article.bid[data-bid-id='{bid['id']}']")
        assert "¥300,000.50" in card.inner_text()
        card.locator("form.shortlist-form button").click()
        poster.wait_for_url(bids_url)
        assert card.get_attribute("data-status") == "shortlisted"
        card.locator("form.award-form input[name=accept_terms]").check()
        card.locator("form.award-form button").click()
        poster.wait_for_url(bids_url)
        assert card.get_attribute("data-status") == "awarded"
        assert card.locator("form").count() == 0  # nothing more to do with it here
        card.locator("a.contract-link").click()
        poster.wait_for_url(re.compile(r"/web/contracts/\d+$"))

        # Milestone 1 funded by the background work before the award's answer arrived.
        first = poster.locator("tr.milestone").first
        assert first.get_attribute("data-escrow") == "funded"
        assert first.locator("td.funded").inner_text() == "¥150,000.25"
        # The solver sees the award on the task page.
        solver.reload()
        assert solver.locator("#my-bid").get_attribute("data-status") == "awarded"
    finally:
        solver_ctx.close()
        poster_ctx.close()


ADMIN = "admin@demo.example"


def _contract(site: Site, parts: int) -> dict[str, Any]:
    """A task of the demo poster's, the demo solver's bid awarded and accepted (API)."""
    poster_api, solver_api = site.api_login(POSTER), site.api_login(SOLVER)
    r = httpx.post(f"{site.url}/tasks", json=task_payload(), headers=poster_api)
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    assert httpx.post(f"{site.url}/tasks/{task_id}/publish", headers=poster_api).status_code == 200
    r = httpx.post(
        f"{site.url}/tasks/{task_id}/bids", json=bid_payload(parts=parts), headers=solver_api
    )
    assert r.status_code == 201, r.text
    r = httpx.post(
        f"{site.url}/bids/{r.json()['id']}/award", json={"accept_terms": True}, headers=poster_api
    )
    assert r.status_code == 201, r.text
    r = httpx.post(
        f"{site.url}/contracts/{r.json()['id']}/accept",
        json={"accept_terms": True},
        headers=solver_api,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_revision_dispute_split_and_ratings_through_the_pages(site: Site, browser: Any) -> None:
    """Submit, revision asked, resubmit, dispute, an admin's 60 % split shown as released
    and refunded; then a second, one-milestone contract completed and rated both ways."""
    contract = _contract(site, parts=2)
    contract_url = f"{site.url}/web/contracts/{contract['id']}"
    mid = contract["milestones"][0]["id"]
    contexts = {who: browser.new_context(locale="zh-CN") for who in (SOLVER, POSTER, ADMIN)}
    try:
        pages = {}
        for who, ctx in contexts.items():
            ctx.set_default_timeout(TIMEOUT_MS)
            with_session(ctx, site, who)
            pages[who] = ctx.new_page()
        solver, poster, admin = pages[SOLVER], pages[POSTER], pages[ADMIN]

        def submit(url: str, milestone_id: int, note: str) -> None:
            solver.goto(url)
            form = solver.locator(f"form.submit-form[data-milestone-id='{milestone_id}']")
            form.locator("textarea[name=note]").fill(note)
            form.locator("button").click()
            solver.wait_for_url(url)

        row = f"tr.milestone[data-milestone-id='{mid}']"
        submit(contract_url, mid, "第一版报告 / report v1")
        # The poster asks for a revision; the solver sees the comment with the history.
        poster.goto(contract_url)
        form = poster.locator(f"form.revision-form[data-milestone-id='{mid}']")
        form.locator("textarea[name=comment]").fill("请补充疲劳试验数据")
        form.locator("button").click()
        poster.wait_for_url(contract_url)
        assert poster.locator(row).get_attribute("data-status") == "revision_requested"
        submit(contract_url, mid, "第二版报告，含疲劳试验 / report v2")
        history = solver.locator("article.submission")
        assert history.count() == 2
        assert "请补充疲劳试验数据" in history.first.locator(".review-comment").inner_text()

        # The solver disputes; an admin splits 60 % to the solver on the disputes page.
        form = solver.locator(f"form.dispute-form[data-milestone-id='{mid}']")
        form.locator("textarea[name=reason]").fill("已按要求补充数据，发布方不予验收")
        form.locator("button").click()
        solver.wait_for_url(contract_url)
        assert solver.locator(row).get_attribute("data-status") == "disputed"
        admin.goto(site.url + "/web/admin/disputes")
        card = admin.locator(f"article.dispute[data-milestone-id='{mid}']")
        assert "已按要求补充数据" in card.inner_text()
        card.locator("input[name=outcome][value=split]").check()
        card.locator("input[name=solver_share_pct]").fill("60")
        card.locator("button").click()
        admin.wait_for_url(site.url + "/web/admin/disputes")
        assert card.count() == 0  # no longer open

        # Moved by the background work: 60 % released, 40 % refunded.
        amount = contract["milestones"][0]["amount_minor"]
        solver.reload()
        assert solver.locator(row).get_attribute("data-status") == "resolved"
        assert solver.locator(f"{row} td.released").inner_text() == money(amount * 60 // 100)
        assert solver.locator(f"{row} td.refunded").inner_text() == money(amount * 40 // 100)

        # A one-milestone contract, delivered and accepted: each side rates the other once.
        done = _contract(site, parts=1)
        done_url = f"{site.url}/web/contracts/{done['id']}"
        mid = done["milestones"][0]["id"]
        submit(done_url, mid, "最终报告 / final report")
        poster.goto(done_url)
        poster.click(f"form.accept-form[data-milestone-id='{mid}'] button")
        poster.wait_for_url(done_url)
        assert poster.locator("#contract-status").get_attribute("data-status") == "completed"
        for page, score, comment in ((poster, "5", "按时高质量交付"), (solver, "4", "验收及时")):
            page.goto(done_url)
            page.check(f"#rate-form input[name=score][value='{score}']")
            page.fill("#rate-form textarea[name=comment]", comment)
            page.click("#rate-form button")
            page.wait_for_url(done_url)
            assert page.locator("#rate-form").count() == 0  # once
        ratings = solver.locator("article.rating")
        assert ratings.count() == 2
        by_poster = solver.locator("article.rating[data-rater=poster]")
        assert by_poster.get_attribute("data-score") == "5"
        assert "按时高质量交付" in by_poster.inner_text()
        assert "验收及时" in solver.locator("article.rating[data-rater=solver]").inner_text()
    finally:
        for ctx in contexts.values():
            ctx.close()
