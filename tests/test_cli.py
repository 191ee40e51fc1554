"""Every command: --help says what it does; bad input gets a clear error and exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hodo.cli import main
from tests.support import DATA
from tests.support.net import free_port

COMMANDS = ["build", "validate", "query", "serve", "export", "imports"]


def test_main_help_lists_every_command(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(runner: CliRunner, command: str) -> None:
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3


@pytest.mark.slow
def test_build_writes_the_release(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hodo.nq").is_file() and "findings" in result.output


@pytest.mark.slow
def test_validate_clean_release_exits_0(runner: CliRunner) -> None:
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


@pytest.mark.slow
def test_validate_violation_exits_1_in_chinese(runner: CliRunner) -> None:
    bad = "../shapes/examples/invalid/LabelZhShape--term-without-zh-label.ttl"
    result = runner.invoke(main, ["validate", "--no-reason", "--lang", "zh",
                                  str(Path(__file__).parent / bad)])
    assert result.exit_code == 1
    assert "该术语缺少中文（@zh）标签" in result.output
    assert "https://w3id.org/hodo/HODO_9999999" in result.output


@pytest.mark.slow
def test_validate_json_report(runner: CliRunner) -> None:
    result = runner.invoke(main, ["validate", "--format", "json", str(DATA / "inconsistent.ttl")])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["conforms"] is False
    assert any(p["check"] == "reasoner" for p in report["problems"])


def test_validate_unreadable_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.ttl"
    result = runner.invoke(main, ["validate", str(missing)])
    assert result.exit_code == 2
    assert str(missing) in result.output


def test_validate_parse_error_names_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n  ex:d .\n")
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: line 3" in result.output


def test_query_prints_results(runner: CliRunner, release_dir: Path) -> None:
    result = runner.invoke(main, ["query", "--dist", str(release_dir), "--format", "csv",
                                  "SELECT ?l WHERE { <https://w3id.org/hodo/HODO_0000001> "
                                  "<http://www.w3.org/2000/01/rdf-schema#label> ?l }"])
    assert result.exit_code == 0, result.output
    assert "肝性骨病" in result.output


def test_query_syntax_error_exits_2(runner: CliRunner, release_dir: Path) -> None:
    result = runner.invoke(main, ["query", "--dist", str(release_dir), "SELECT ?x WHERE {"])
    assert result.exit_code == 2
    assert "SPARQL syntax error" in result.output


def test_query_without_release_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["query", "--dist", str(tmp_path), "ASK {}"])
    assert result.exit_code == 2
    assert "hodo.nq" in result.output and "hodo build" in result.output


def test_serve_without_release_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    # a free port: the port is claimed first, and one in use is refused before the release
    result = runner.invoke(main, ["serve", "--dist", str(tmp_path), "--port", str(free_port())])
    assert result.exit_code == 2
    assert "release file not found" in result.output


def test_serve_rejects_a_bad_port(runner: CliRunner) -> None:
    result = runner.invoke(main, ["serve", "--port", "70000"])
    assert result.exit_code == 2
