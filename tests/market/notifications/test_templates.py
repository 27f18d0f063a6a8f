"""Every kind reads as real sentences in both languages (no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from market.notifications.service import channel_enabled
from market.notifications.templates import TEMPLATES, Kind, money, render, when_en, when_zh

VALUES = {
    "task_zh": "海上平台耐腐蚀焊接工艺研发",
    "task_en": "Corrosion-resistant welding",
    "solver": "张教授",
    "amount": money(12_345_678),
    "paid": money(950_000),
    "fee": money(50_000),
    "to_solver": money(600_000),
    "to_poster": money(400_000),
    "days": 120,
    "reason": "报价过高",
    "comment": "请补充数据",
    "seq": 2,
    "milestone": "阶段 2",
    "version": 3,
    "review_days": 14,
    "opener_zh": "发布方",
    "opener_en": "The poster",
    "outcome_zh": "按比例分配",
    "outcome_en": "split between the parties",
    "bids": 4,
    "deadline_zh": "2027年03月01日 09:00（北京时间）",
    "deadline_en": "01 Mar 2027, 09:00 China Standard Time",
    "due_zh": "2027年03月01日 09:00（北京时间）",
    "due_en": "01 Mar 2027, 09:00 China Standard Time",
    "search": "海工焊接",
    "search_en": "“offshore welding”",
}
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_renders_in_both_languages(kind: Kind) -> None:
    assert kind in TEMPLATES
    text = render(kind, VALUES)
    for part in (text.title_zh, text.title_en, text.body_zh, text.body_en):
        assert "{" not in part and "}" not in part
    assert VALUES["task_zh"] in text.title_zh + text.body_zh
    assert VALUES["task_en"] in text.title_en + text.body_en
    # English texts carry no Chinese of their own (only values, such as a reason, may).
    english = text.title_en + text.body_en
    for value in ("张教授", "报价过高", "请补充数据", "阶段 2"):
        english = english.replace(value, "")
    assert not HAN.search(english), english
    assert HAN.search(text.title_zh) and HAN.search(text.body_zh)


def test_money_and_times() -> None:
    assert money(12_345_678) == "¥123,456.78"
    assert money(5) == "¥0.05"
    assert money(-100) == "-¥1.00"
    at = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    assert when_zh(at) == "2027年03月01日 09:00（北京时间）"
    assert when_en(at) == "01 Mar 2027, 09:00 China Standard Time"


def test_a_kinds_own_preference_wins_over_its_channels_star() -> None:
    prefs = {("email", "*"): False, ("email", "bid_declined"): True, ("inbox", "bid_placed"): False}
    assert channel_enabled(prefs, "email", "bid_declined") is True
    assert channel_enabled(prefs, "email", "bid_placed") is False
    assert channel_enabled(prefs, "inbox", "bid_placed") is False
    assert channel_enabled(prefs, "inbox", "bid_declined") is True
    assert channel_enabled({}, "webhook", "bid_placed") is True
