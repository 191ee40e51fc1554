"""Competency questions: each ``ontology/sparql/cq/<name>.rq`` runs on the built release and must
print exactly the rows of ``<name>.tsv`` (the answer as ``hodo query --format tsv`` prints it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hodo import paths
from hodo.query import execute
from hodo.store import Release

CQ_DIR = paths.ONTOLOGY_DIR / "sparql" / "cq"
QUESTIONS = sorted(CQ_DIR.glob("*.rq"))
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)


def _expected(path: Path) -> str:
    return path.with_suffix(".tsv").read_text(encoding="utf-8")


def test_there_are_enough_questions() -> None:
    assert len(QUESTIONS) >= 40


def test_every_answer_belongs_to_a_question() -> None:
    answers = {p.stem for p in CQ_DIR.glob("*.tsv")}
    assert answers == {p.stem for p in QUESTIONS}


@pytest.mark.parametrize("path", QUESTIONS, ids=lambda p: p.stem)
def test_question_is_asked_in_both_languages(path: Path) -> None:
    comments = [line[1:].strip() for line in path.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")]
    assert any(re.search(r"[A-Za-z]{2}.*\?", c) for c in comments), "no English question"
    assert any(re.search(r"[\u4e00-\u9fff].*？", c) for c in comments), "no Chinese question"


@pytest.mark.parametrize("path", QUESTIONS, ids=lambda p: p.stem)
def test_expected_answer_has_rows(path: Path) -> None:
    # A header alone would let a question whose data vanished pass unnoticed; an ASK question
    # answers with one boolean.
    lines = _expected(path).splitlines()
    if lines in (["true"], ["false"]):
        return
    assert lines and lines[0].startswith("?")
    assert len(lines) >= 2


@pytest.mark.parametrize("path", QUESTIONS, ids=lambda p: p.stem)
def test_answer_matches(release: Release, path: Path) -> None:
    query = path.read_text(encoding="utf-8")
    got = execute(release.store, query, format_name="tsv").body.decode("utf-8").splitlines()
    want = _expected(path).splitlines()
    assert got[:1] == want[:1], "the projected variables differ"
    if _ORDER_BY.search(query):
        assert got[1:] == want[1:]
    else:
        assert sorted(got[1:]) == sorted(want[1:])
