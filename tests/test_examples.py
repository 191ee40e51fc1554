"""Every example query shown to users parses, runs, and returns rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from hodo.core.paths import EXAMPLES_DIR
from hodo.engine.query import execute
from hodo.engine.store import Release

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.rq"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_returns_rows(release: Release, path: Path) -> None:
    import json

    result = execute(release.store, path.read_text(encoding="utf-8"),
                     "application/sparql-results+json")
    assert json.loads(result.body)["results"]["bindings"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_described_in_both_languages(path: Path) -> None:
    comments = [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    assert any(c.isascii() for c in comments)
    assert any(not c.isascii() for c in comments)
