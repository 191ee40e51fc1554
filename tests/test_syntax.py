"""A SPARQL syntax error is said in words, with its place and the text there, in the reader's
language: by the engine, the command line, the /sparql view and the fast lane below Flask.

The cases are in ``tests/data/syntax/errors.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import yaml
from click.testing import CliRunner
from flask.testing import FlaskClient

from hodo.cli import main
from hodo.engine.query import QueryError, execute
from hodo.engine.syntax import explain
from tests.support import DATA

CASES: list[dict[str, Any]] = yaml.safe_load(
    (DATA / "syntax" / "errors.yaml").read_text(encoding="utf-8"))


def _case_id(case: dict[str, Any]) -> str:
    return case["query"].splitlines()[-1][:30]


def _parser_message(query: str) -> str:
    with pytest.raises(SyntaxError) as caught:
        ox.Store().query(query)
    return str(caught.value)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_a_syntax_error_names_its_place_the_text_there_and_the_cause(case: dict[str, Any]
                                                                     ) -> None:
    problem = explain(case["query"], _parser_message(case["query"]))
    assert [problem.line, problem.column] == case["place"]
    assert problem.near == case["near"]
    english, chinese = problem.describe("en"), problem.describe("zh")
    line, column = case["place"]
    assert english.startswith(f"SPARQL syntax error at line {line}, column {column}")
    assert chinese.startswith(f"SPARQL 语法错误：第 {line} 行第 {column} 列")
    assert case["en"] in english and case["zh"] in chinese
    assert "\n" not in english + chinese
    assert "..=" not in english and "[_]" not in english  # none of the grammar's raw classes


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_engine_raises_the_explanation_in_both_languages(case: dict[str, Any]) -> None:
    with pytest.raises(QueryError) as caught:
        execute(ox.Store(), case["query"])
    error = caught.value
    assert error.reason == "syntax"
    assert case["en"] in str(error) and case["zh"] in error.in_language("zh")


def test_the_cli_reads_a_query_from_a_file_and_from_standard_input(
        runner: CliRunner, release_dir: Path, tmp_path: Path) -> None:
    query = tmp_path / "label.rq"
    query.write_text("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                     "SELECT ?l WHERE { <https://w3id.org/hodo/HODO_0000001> rdfs:label ?l }\n",
                     encoding="utf-8")
    from_file = runner.invoke(main, ["query", "--dist", str(release_dir), "--format", "csv",
                                     str(query)])
    assert from_file.exit_code == 0, from_file.output
    assert "肝性骨病" in from_file.output
    from_stdin = runner.invoke(main, ["query", "--dist", str(release_dir), "--format", "csv",
                                      "-"], input=query.read_text(encoding="utf-8"))
    assert from_stdin.exit_code == 0 and from_stdin.output == from_file.output


@pytest.mark.parametrize(("argument", "says"), [
    ("missing.rq", "missing.rq: no such file"),
    ("queries/missing.sparql", "queries/missing.sparql: no such file"),
    (".", ".: is a folder"),
])
def test_the_cli_says_when_the_query_file_cannot_be_read(
        runner: CliRunner, release_dir: Path, argument: str, says: str) -> None:
    result = runner.invoke(main, ["query", "--dist", str(release_dir), argument])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {says}" or result.output.startswith(
        f"error: {says}")
    assert "syntax" not in result.output and "Traceback" not in result.output


def test_the_cli_explains_a_syntax_error_on_one_line(runner: CliRunner,
                                                      release_dir: Path) -> None:
    result = runner.invoke(main, ["query", "--dist", str(release_dir),
                                  "SELECT * WHERE { ?s skos:prefLabel ?o }"])
    assert result.exit_code == 2
    assert result.output == (
        "error: SPARQL syntax error at line 1, column 21, near `skos:prefLabel ?o }`: the "
        "prefix `skos:` is not declared; add `PREFIX skos: "
        "<http://www.w3.org/2004/02/skos/core#>` before the query\n")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("headers", "lang", "expected"), [
    ({}, None, "the prefix `rdfs:` is not declared"),
    ({"Accept-Language": "zh-CN,zh;q=0.9"}, None, "前缀 `rdfs:` 未声明"),
    ({"Accept-Language": "zh-CN"}, "en", "the prefix `rdfs:` is not declared"),
    ({}, "zh", "前缀 `rdfs:` 未声明"),
])
def test_sparql_answers_a_syntax_error_in_the_readers_language(
        client: FlaskClient, method: str, headers: dict[str, str], lang: str | None,
        expected: str) -> None:
    params = {"query": "SELECT * WHERE { ?s rdfs:label ?o }"}
    if lang:
        params["lang"] = lang
    if method == "GET":
        response = client.get("/sparql", query_string=params, headers=headers)
    else:
        response = client.post("/sparql", data=params, headers=headers)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert expected in text and text.count("\n") == 1
    assert "Accept-Language" in response.headers.get("Vary", "")
