"""The pages' language choice, labels and money format (no database)."""

from __future__ import annotations

import pytest

from market.pages.i18n import Labels, money, pick_language
from market.pages.session import safe_next


@pytest.mark.parametrize(
    ("query", "cookie", "user", "lang"),
    [
        (None, None, None, "zh"),
        (None, None, "en", "en"),
        (None, "zh", "en", "zh"),
        ("en", "zh", "zh", "en"),
        ("fr", None, None, "zh"),
    ],
)
def test_language_is_query_then_cookie_then_user_then_chinese(
    query: str | None, cookie: str | None, user: str | None, lang: str
) -> None:
    assert pick_language(query, cookie, user) == lang


def test_labels_put_the_page_language_first_and_escape() -> None:
    assert str(Labels("zh")("for_me")) == '为我推荐 <span class="alt">Tasks for me</span>'
    assert str(Labels("en")("for_me")) == 'Tasks for me <span class="alt">为我推荐</span>'
    assert "&amp;" in str(Labels("en")("site"))  # R&D, escaped once
    assert Labels("en").text("焊接", "") == "焊接"  # an empty English text falls back
    assert Labels("zh").industry("new_materials") == "新材料"
    assert Labels("en").district("tongzhou_bay") == "Tongzhou Bay"


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "¥0.00"), (5, "¥0.05"), (123_456_789, "¥1,234,567.89"), (-100, "-¥1.00")]
)
def test_money_is_yuan_from_integer_fen(fen: int, text: str) -> None:
    assert money(fen) == text


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/web/for-me", "/web/for-me"),
        ("/web/tasks?q=焊接", "/web/tasks?q=焊接"),
        ("/tasks", None),
        ("//evil.example/web/", None),
        ("https://evil.example/web/", None),
        ("/web/\\evil", None),
        ("/web/x\r\nSet-Cookie: a=b", None),
        (None, None),
    ],
)
def test_next_is_one_of_our_pages(target: str | None, safe: str | None) -> None:
    assert safe_next(target) == safe
