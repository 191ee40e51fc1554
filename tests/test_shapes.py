"""SHACL: the release conforms; each invalid example fails for the shape its name gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from hodo import paths
from hodo.validate import Check, Severity, load_shapes, validate

SHAPES = load_shapes()
HS = "https://w3id.org/hodo/shapes/"
VALID = sorted((paths.SHAPES_DIR / "examples" / "valid").glob("*.ttl"))
INVALID = sorted((paths.SHAPES_DIR / "examples" / "invalid").glob("*.ttl"))


def test_shapes_graph_is_valid_shacl() -> None:
    import pyshacl

    conforms, _, text = pyshacl.validate(Graph(), shacl_graph=SHAPES, meta_shacl=True,
                                         advanced=True)
    assert conforms, text


def test_every_shape_has_messages_in_both_languages() -> None:
    from rdflib.namespace import SH

    for shape in set(SHAPES.subjects(SH.severity, None)):
        languages = {m.language for m in SHAPES.objects(shape, SH.message)}
        assert languages == {"en", "zh"}, shape


def test_every_property_shape_has_a_failing_example() -> None:
    from rdflib.namespace import RDF, SH

    shapes = {str(s)[len(HS):] for s in SHAPES.subjects(RDF.type, SH.PropertyShape)}
    covered = {p.name.split("--")[0] for p in INVALID}
    assert shapes <= covered, shapes - covered


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_example_conforms(path: Path) -> None:
    report = validate(Graph().parse(path), [Check.SHACL], SHAPES)
    assert report.conforms, report.to_json()


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_example_fails_for_its_shape(path: Path) -> None:
    report = validate(Graph().parse(path), [Check.SHACL], SHAPES)
    expected = HS + path.name.split("--")[0]
    fired = {p.source_shape for p in report.problems if p.severity is Severity.VIOLATION}
    assert not report.conforms
    assert expected in fired, fired


def test_release_conforms(release_dir: Path) -> None:
    data = Graph().parse(release_dir / "hodo.nt", format="nt")
    report = validate(data, [Check.SHACL], SHAPES)
    assert report.conforms, report.to_json()


def test_messages_come_in_both_languages() -> None:
    report = validate(Graph().parse(INVALID[0]), [Check.SHACL], SHAPES)
    problem = report.problems[0]
    assert problem.message("en") != problem.message("zh")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem.message("zh"))
