"""The pages' language choice, labels, money format and yuan parsing (no database)."""

from __future__ import annotations

import pytest

from market.errors import InvalidInput
from market.pages.controllers import yuan_to_fen
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


@pytest.mark.parametrize(
    ("text", "fen"),
    [("300000", 30_000_000), ("0.1", 10), ("1,234.56", 123_456), (" 7.05 ", 705), ("0.29", 29)],
)
def test_yuan_become_fen_exactly(text: str, fen: int) -> None:
    assert yuan_to_fen(text, "price") == fen


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("1.005", "fen_precision"),
        ("0.001", "fen_precision"),
        ("", "yuan_amount"),
        ("-1", "yuan_amount"),
        ("1e3", "yuan_amount"),
        ("¥5", "yuan_amount"),
        ("1.", "yuan_amount"),
    ],
)
def test_yuan_beyond_the_fen_or_not_a_number_are_refused(text: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        yuan_to_fen(text, "price")
    assert refused.value.rule == rule and refused.value.status_code == 422


def test_a_refused_bid_is_explained_in_both_languages() -> None:
    assert str(Labels("en").rule("sum_equals_price")).startswith("The milestone amounts must add")
    assert str(Labels("zh").rule("sum_equals_price")).startswith("里程碑金额之和必须等于报价")
    assert str(Labels("zh").rule("no_such_rule")).startswith("投标未提交")  # the general label
    # The contract page's and the disputes page's refusals have their own general label.
    assert str(Labels("zh").rule("no_such_rule", "action_failed")).startswith("操作未完成")
    assert str(Labels("en").rule("split_range", "action_failed")).startswith("A split gives")
