"""One declaration of every ``HODO_*`` setting (``hodo.core.settings``): the table in
``docs/settings.md`` is generated from it, and every setting the code reads is declared."""

from __future__ import annotations

import re

import pytest

from hodo.core.paths import ROOT
from hodo.core.settings import SettingError, Settings, declarations, with_table

DOC = ROOT / "docs" / "settings.md"


def test_the_settings_table_equals_a_fresh_generation() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == with_table(text), "run: python -m hodo.core.settings docs/settings.md"


def test_every_setting_the_code_names_is_declared() -> None:
    declared = {d.key for d in declarations()}
    named = set()
    for path in (ROOT / "src" / "hodo").rglob("*.py"):
        named |= set(re.findall(r"\bHODO_[A-Z][A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")))
    not_settings = {"HODO_GRAPHS"}  # a constant's name, not a setting
    assert named - not_settings - declared == set()


def test_the_defaults_are_valid_settings() -> None:
    assert Settings.from_mapping({d.key: d.default for d in declarations()}) == Settings()


@pytest.mark.parametrize(("key", "value"), [
    ("HODO_QUERY_TIMEOUT", "inf"), ("HODO_MAX_ROWS", "1.5"), ("HODO_RATE_BURST", True),
    ("HODO_TRUSTED_PROXIES", "6"),
])
def test_a_bad_value_is_refused_with_its_name(key: str, value: object) -> None:
    with pytest.raises(SettingError, match=key):
        Settings.from_mapping({key: value})


def test_text_from_the_environment_is_read_as_the_declared_type() -> None:
    settings = Settings.from_environment({"HODO_QUERY_TIMEOUT": "2.5", "HODO_MAX_ROWS": " 7 ",
                                          "HODO_STORE": ""})
    assert (settings.query_timeout, settings.max_rows, settings.store) == (2.5, 7, None)
