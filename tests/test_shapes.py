"""SHACL: the shapes are valid SHACL, the release conforms, and each invalid example fails for
the shape its name gives, and for that shape alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from hodo.core import paths
from hodo.pipeline.validate import Check, Severity, load_shapes, validate

SHAPES = load_shapes()
HS = "https://w3id.org/hodo/shapes/"
VALID = sorted((paths.SHAPES_DIR / "examples" / "valid").glob("*.ttl"))
INVALID = sorted((paths.SHAPES_DIR / "examples" / "invalid").glob("*.ttl"))
#: Every shape that reports: it states a severity.
REPORTING = sorted(str(s) for s in set(SHAPES.subjects(SH.severity, None)))
_SEVERITY = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING,
             SH.Info: Severity.INFO}


def test_shapes_graph_is_valid_shacl() -> None:
    import pyshacl

    conforms, _, text = pyshacl.validate(Graph(), shacl_graph=SHAPES, meta_shacl=True,
                                         advanced=True)
    assert conforms, text


def test_one_file_per_concern() -> None:
    names = {p.stem for p in paths.SHAPES_DIR.glob("*.ttl")}
    assert {"terms", "definitions", "findings", "quantities", "article", "cross-resource"} <= names


@pytest.mark.parametrize("shape", REPORTING, ids=lambda s: s[len(HS):])
def test_shape_has_messages_in_both_languages(shape: str) -> None:
    messages = list(SHAPES.objects(URIRef(shape), SH.message))
    assert sorted(m.language for m in messages) == ["en", "zh"]  # type: ignore[attr-defined]
    zh = next(m for m in messages if m.language == "zh")  # type: ignore[attr-defined]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


@pytest.mark.parametrize("shape", REPORTING, ids=lambda s: s[len(HS):])
def test_shape_states_its_severity_once(shape: str) -> None:
    assert len(list(SHAPES.objects(URIRef(shape), SH.severity))) == 1


@pytest.mark.parametrize("shape", REPORTING, ids=lambda s: s[len(HS):])
def test_every_shape_has_a_failing_example(shape: str) -> None:
    assert any(p.name.startswith(shape[len(HS):] + "--") for p in INVALID), shape


def test_every_reporting_shape_is_named() -> None:
    anonymous = [s for s in SHAPES.subjects(SH.severity, None) if not str(s).startswith(HS)]
    assert not anonymous
    assert set(SHAPES.subjects(RDF.type, SH.PropertyShape)) <= {URIRef(s) for s in REPORTING}


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_example_conforms(path: Path) -> None:
    report = validate(Graph().parse(path), [Check.SHACL], SHAPES)
    assert not report.problems, report.to_json()


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_example_fails_for_its_shape_alone(path: Path) -> None:
    expected = HS + path.name.split("--")[0]
    report = validate(Graph().parse(path), [Check.SHACL], SHAPES)
    fired = {p.source_shape for p in report.problems}
    assert fired == {expected}, fired
    severity = _SEVERITY[SHAPES.value(URIRef(expected), SH.severity)]  # type: ignore[index]
    assert {p.severity for p in report.problems} == {severity}
    assert report.conforms is (severity is not Severity.VIOLATION)


def test_release_conforms(release_dir: Path) -> None:
    data = Graph().parse(release_dir / "hodo.nt", format="nt")
    report = validate(data, [Check.SHACL], SHAPES)
    assert not report.problems, report.to_json()


def test_messages_come_in_both_languages() -> None:
    report = validate(Graph().parse(INVALID[0]), [Check.SHACL], SHAPES)
    problem = report.problems[0]
    assert problem.message("en") != problem.message("zh")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem.message("zh"))
