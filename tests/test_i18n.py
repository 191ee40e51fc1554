"""Language choice: tables of inputs and the language HODO must pick."""

from __future__ import annotations

import pytest

from hodo.core.i18n import choose_language, normalize_tag, parse_accept_language, pick_label


@pytest.mark.parametrize(("tag", "expected"), [
    ("zh", "zh"), ("zh-CN", "zh"), ("zh-Hans", "zh"), ("zh-SG", "zh"), ("zh-Hans-CN", "zh"),
    ("ZH_cn", "zh"), ("en", "en"), ("en-US", "en"), ("fr", None), ("", None), ("*", None),
])
def test_normalize_tag(tag: str, expected: str | None) -> None:
    assert normalize_tag(tag) == expected


@pytest.mark.parametrize(("header", "expected"), [
    (None, []),
    ("", []),
    ("zh-CN,zh;q=0.9,en;q=0.8", ["zh", "en"]),
    ("en;q=0.2, zh-Hans;q=0.7", ["zh", "en"]),
    ("fr, de;q=0.9", []),
    ("zh;q=0, en", ["en"]),
    ("zh;q=abc, en;q=0.5", ["en"]),
    (";;;,,", []),
])
def test_parse_accept_language(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(("param", "header", "expected"), [
    ("zh", "en", "zh"), ("en", "zh", "en"), (None, "zh-SG", "zh"), ("xx", "zh", "zh"),
    (None, None, "en"), (None, "fr", "en"),
])
def test_choose_language(param: str | None, header: str | None, expected: str) -> None:
    assert choose_language(param, header) == expected


def test_pick_label_falls_back_to_the_other_language() -> None:
    assert pick_label({"zh": "骨折"}, "en") == ("骨折", "zh")
    assert pick_label({}, "en") is None
