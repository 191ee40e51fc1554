"""``hodo validate``: curator files in every format, good and bad and unreadable, every report
format, both languages, and the exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SH

from hodo.cli import main
from hodo.core.rdfinput import parse_path
from hodo.pipeline.sources import load_sources, union
from hodo.pipeline.validate import REPORT_FORMATS, Check, ValidationReport, validate
from tests.support import DATA

GOOD = DATA / "curator" / "good.ttl"
BAD = DATA / "curator" / "bad.ttl"
FORMATS = {"nt": ox.RdfFormat.N_TRIPLES, "owl": ox.RdfFormat.RDF_XML,
           "rdf": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD,
           "nq": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG}


def convert(source: Path, ext: str, folder: Path) -> Path:
    """``source`` (Turtle) written in another format, as a curator might send it."""
    quads = ox.parse(source.read_bytes(), format=ox.RdfFormat.TURTLE)
    target = folder / f"{source.stem}.{ext}"
    target.write_bytes(ox.serialize(quads, format=FORMATS[ext]))
    return target


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(main, ["validate", "--no-reason", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def bad() -> tuple[ValidationReport, Graph]:
    """The bad curator file merged with HODO, validated once for the report-format tests."""
    data = union(load_sources().values())
    parse_path(BAD, data)
    return validate(data, [Check.SHACL, Check.QC]), data


@pytest.mark.parametrize("ext", list(FORMATS))
def test_each_format_reads_as_the_turtle_does(tmp_path: Path, ext: str) -> None:
    converted = parse_path(convert(GOOD, ext, tmp_path))
    assert isomorphic(converted, parse_path(GOOD)) and len(converted) == 6


@pytest.mark.slow
def test_good_file_exits_0(runner: CliRunner, tmp_path: Path) -> None:
    code, output = run(runner, str(convert(GOOD, "jsonld", tmp_path)))
    assert code == 0, output
    assert output.startswith("OK")


@pytest.mark.slow
def test_bad_file_exits_1_with_a_json_report(runner: CliRunner, tmp_path: Path) -> None:
    code, output = run(runner, "--format", "json", "--lang", "zh",
                       str(convert(BAD, "owl", tmp_path)))
    assert code == 1
    report = json.loads(output)
    assert report["conforms"] is False
    fired = {p["source_shape"] for p in report["problems"]}
    assert "https://w3id.org/hodo/shapes/PValueShape" in fired
    # the missing Chinese label, found by a shape and a QC rule alike, is reported once
    assert "https://w3id.org/hodo/shapes/LabelZhShape" in fired
    assert "https://w3id.org/hodo/qc/missing-label-zh" not in fired
    term = [p for p in report["problems"] if p["focus"].endswith("HODO_0000198")]
    assert term and all(p["message_en"] and p["message_zh"] for p in term)
    assert term[0]["label"] == "example mechanism without a Chinese label"


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["The term has no Chinese (@zh) label.", "A p-value (OBI:0000175) lies between 0 and 1.",
            "VIOLATION", "DefinitionZhShape", "violation(s)"]),
    ("zh", ["该术语缺少中文（@zh）标签。", "P值（OBI:0000175）必须介于 0 与 1 之间。", "违规",
            "个违规"]),
])
def test_text_report_in_each_language(bad: tuple[ValidationReport, Graph], lang: str,
                                      expected: list[str]) -> None:
    text = REPORT_FORMATS["text"].write(*bad, lang)
    for fragment in expected:
        assert fragment in text
    other = "zh" if lang == "en" else "en"
    assert REPORT_FORMATS["text"].write(*bad, other) != text
    # grouped by resource: each resource heads its own problems, once
    assert text.count("https://w3id.org/hodo/HODO_0000198  (") == 1
    assert "example mechanism without a Chinese label" in text


def test_turtle_report_is_a_shacl_validation_report(bad: tuple[ValidationReport, Graph]) -> None:
    graph = Graph().parse(data=REPORT_FORMATS["turtle"].write(*bad, "en"), format="turtle")
    (report,) = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(report, SH.conforms) == Literal(False)
    results = list(graph.objects(report, SH.result))
    assert len(results) == len(bad[0].problems)
    for result in results:
        assert graph.value(result, SH.focusNode) is not None
        assert graph.value(result, SH.sourceConstraintComponent) is not None
        assert {m.language for m in graph.objects(result, SH.resultMessage)} == {"en", "zh"}


@pytest.mark.slow
def test_html_report_written_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, _ = run(runner, "--format", "html", "--lang", "zh", "-o", str(out), str(BAD))
    html = out.read_text(encoding="utf-8")
    assert code == 1
    assert html.startswith("<!doctype html>") and 'lang="zh-Hans"' in html
    assert "该术语缺少中文（@zh）标签。" in html and "<table>" in html


def test_clean_html_report() -> None:
    html = REPORT_FORMATS["html"].write(ValidationReport(()), Graph(), "en")
    assert "The data conforms." in html and "<table>" not in html


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("broken.ttl", "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n  ex:d .\n",
     "line 3, column 8"),
    ("broken.nt", '<http://a> <http://b> "x .\n', "line 1, column 23"),
    ("broken.jsonld", '{"@id": "http://x/a",\n "http://x/p": [1,}', "line 2, column 19"),
    ("broken.owl", '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
     '22-rdf-syntax-ns#">\n<rdf:Description></rdf:Descriptio></rdf:RDF>', "line 3, column 20"),
])
def test_parse_error_names_file_line_and_column(runner: CliRunner, tmp_path: Path, name: str,
                                                content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, output = run(runner, str(path))
    assert code == 2
    assert f"{path}: {expected}" in output


@pytest.mark.slow
def test_rdfxml_entities_are_refused(runner: CliRunner, tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.owl"
    laughs.write_text('<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY a "aaaaaaaaaa">\n'
                      '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
                      '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n')
    code, output = run(runner, str(laughs))
    assert code == 2
    assert "entity declarations are not accepted" in output and "line 2" in output


def test_remote_jsonld_context_is_not_fetched(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "remote.jsonld"
    path.write_text('{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "http://x/a"}')
    code, output = run(runner, str(path))
    assert code == 2
    assert "remote JSON-LD contexts are not fetched" in output


def test_unknown_extension_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n")
    code, output = run(runner, str(path))
    assert code == 2 and "unknown RDF file extension .csv" in output


def test_oversize_file_exits_2(runner: CliRunner) -> None:
    code, output = run(runner, "--max-bytes", "100", str(GOOD))
    assert code == 2
    assert f"{GOOD}: {GOOD.stat().st_size} bytes, more than the limit of 100" in output


@pytest.mark.slow
def test_release_sources_include_the_mappings() -> None:
    from rdflib.namespace import SKOS

    from hodo.pipeline.validate import release_sources

    assert any(release_sources().triples((None, SKOS.exactMatch, None)))


@pytest.mark.slow
def test_warnings_alone_exit_0(runner: CliRunner) -> None:
    code, output = run(runner, str(DATA / "qc" / "duplicate-definition.ttl"))
    assert code == 0, output
    assert "WARNING qc:duplicate-definition" in output and "0 violation(s), 2 warning(s)" in output
