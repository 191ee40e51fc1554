"""Competency questions: each ``ontology/sparql/cq/<name>.rq`` asks, in English and Chinese, what a
researcher would ask of the article, and is answered through the graph's structure; beside it,
``<name>.tsv`` is the answer a person wrote from the article.

The answer file's ``#`` lines name the ledger sentences the answer was read from
(``# article-sentence-3.2-07: ...``); then a header of the projected variables (or ``true`` /
``false`` for an ASK), then one row per solution: IRIs as CURIEs, literals as their lexical form.
Answers are in the article's terms (entities, values, reference numbers, sentences), never HODO's
finding IDs, so that they cannot be a saved copy of the query's output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from hodo.core import paths
from hodo.core.namespaces import shorten
from hodo.engine.store import Release
from hodo.pipeline.sentences import article_sentences

CQ_DIR = paths.ONTOLOGY_DIR / "sparql" / "cq"
QUESTIONS = sorted(CQ_DIR.glob("*.rq"))
SENTENCE_IDS = {s.local_name for s in article_sentences()}
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)
#: Text matching would answer from labels, not structure.
_TEXT_FUNCTIONS = re.compile(
    r"\b(REGEX|CONTAINS|STRSTARTS|STRENDS|STRBEFORE|STRAFTER|REPLACE)\s*\(", re.IGNORECASE)
_LANGUAGE_TESTS = re.compile(
    r"langMatches\s*\(\s*lang\s*\(\s*\?\w+\s*\)\s*,\s*\"[a-z-]+\"\s*\)"
    r"|lang\s*\(\s*\?\w+\s*\)\s*=\s*\"[a-z-]+\"", re.IGNORECASE)


def _body(query: str) -> str:
    """The query without comments and IRIs, so that only its own strings and keywords remain."""
    lines = [re.sub(r"(^|\s)#.*$", "", line) for line in query.splitlines()]
    return re.sub(r"<[^<>\s]*>", "<>", "\n".join(lines))


def _answer(path: Path) -> tuple[list[str], list[str]]:
    """The justification comments and the answer lines of a question's hand-written answer."""
    lines = path.with_suffix(".tsv").read_text(encoding="utf-8").splitlines()
    comments = [line[1:].strip() for line in lines if line.startswith("#")]
    return comments, [line for line in lines if line and not line.startswith("#")]


def _cell(term: object) -> str:
    if isinstance(term, ox.NamedNode):
        return shorten(term.value)
    if isinstance(term, ox.Literal):
        return term.value
    return "" if term is None else str(term)


def _run(release: Release, query: str) -> list[str]:
    result = release.store.query(query, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return ["true" if bool(result) else "false"]
    variables = [v.value for v in result.variables]
    rows = ["\t".join(_cell(solution[v]) for v in variables) for solution in result]
    return ["\t".join(f"?{v}" for v in variables), *rows]


def test_there_are_enough_questions() -> None:
    assert len(QUESTIONS) >= 60


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
def test_question_is_answered_through_structure(path: Path) -> None:
    body = _LANGUAGE_TESTS.sub("", _body(path.read_text(encoding="utf-8")))
    assert not _TEXT_FUNCTIONS.search(body), "matches text instead of following the graph"
    assert not re.search(r"[\"']", body), "compares a string: ask by IRI, number or structure"


@pytest.mark.parametrize("path", QUESTIONS, ids=lambda p: p.stem)
def test_answer_says_where_in_the_article_it_comes_from(path: Path) -> None:
    comments, lines = _answer(path)
    cited = {m for c in comments for m in re.findall(r"article-sentence-[\w.-]+?-\d\d\b", c)}
    assert cited, "no '# article-sentence-…' line names where the answer was read"
    assert cited <= SENTENCE_IDS, f"no such sentence: {sorted(cited - SENTENCE_IDS)}"
    assert lines, "no answer"
    assert not any("finding-" in line for line in lines[1:]), \
        "an answer is written in the article's terms, not HODO's finding IDs"
    if lines not in (["true"], ["false"]):
        assert lines[0].startswith("?") and len(lines) >= 2, "a header and at least one row"


@pytest.mark.parametrize("path", QUESTIONS, ids=lambda p: p.stem)
def test_answer_matches(release: Release, path: Path) -> None:
    query = path.read_text(encoding="utf-8")
    got = _run(release, query)
    want = _answer(path)[1]
    assert got[:1] == want[:1], "the projected variables differ"
    if _ORDER_BY.search(query):
        assert got[1:] == want[1:]
    else:
        assert sorted(got[1:]) == sorted(want[1:])
