"""The build stops on QC errors: a source that breaks an ERROR rule of the profile fails it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hodo.core import paths
from hodo.pipeline.build import InconsistentError, QualityError, build

pytestmark = pytest.mark.slow


def sources_with(tmp_path: Path, turtle: str) -> Path:
    """A copy of ontology/ with one more term module."""
    sources = tmp_path / "ontology"
    shutil.copytree(paths.ONTOLOGY_DIR, sources, ignore=shutil.ignore_patterns("source"))
    (sources / "terms").mkdir(exist_ok=True)
    (sources / "terms" / "curation.ttl").write_text(turtle, encoding="utf-8")
    return sources


def test_build_fails_on_a_qc_error(tmp_path: Path) -> None:
    sources = sources_with(tmp_path, (
        "@prefix hodo: <https://w3id.org/hodo/> .\n"
        "@prefix obo: <http://purl.obolibrary.org/obo/> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "hodo:HODO_0000197 a owl:Class ; rdfs:subClassOf hodo:HODO_0000100 ;\n"
        '    rdfs:label "mechanism left untranslated"@en ;\n'
        '    obo:IAO_0000115 "A mechanism nobody translated."@en , "无人翻译的机制。"@zh .\n'))
    with pytest.raises(QualityError) as caught:
        build(tmp_path / "dist", ontology_dir=sources)
    assert "https://w3id.org/hodo/HODO_0000197 qc:missing-label-zh" in str(caught.value)
    assert {p.source_shape for p in caught.value.problems} == {
        "https://w3id.org/hodo/qc/missing-label-zh"}
    assert not (tmp_path / "dist" / "hodo.nq").exists()


def test_build_fails_on_an_unsatisfiable_class(tmp_path: Path) -> None:
    sources = sources_with(tmp_path, (
        "@prefix hodo: <https://w3id.org/hodo/> .\n"
        "@prefix obo: <http://purl.obolibrary.org/obo/> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "hodo:HODO_0000100 owl:disjointWith hodo:HODO_0000101 .\n"
        "hodo:HODO_0000196 a owl:Class ;\n"
        "    rdfs:subClassOf hodo:HODO_0000100 , hodo:HODO_0000101 ;\n"
        '    rdfs:label "mechanism that is an intervention"@en , "既是机制又是干预"@zh ;\n'
        '    obo:IAO_0000115 "Cannot exist."@en , "不可能存在。"@zh .\n'))
    with pytest.raises(InconsistentError) as caught:
        build(tmp_path / "dist", ontology_dir=sources)
    assert caught.value.report.unsatisfiable == ("https://w3id.org/hodo/HODO_0000196",)
    assert "declared disjoint" in str(caught.value)
