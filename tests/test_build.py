"""The release: deterministic, complete, and the same graph in every format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL

from hodo.core.paths import SHAPES_DIR
from hodo.core.release import (
    ARTIFACTS,
    CHANGELOG_FILES,
    CHANGELOG_JSON,
    CHECKSUMS_FILE,
    CONTEXT_FILE,
    DATASET_FILE,
    EXPORT_FILES,
    GRAPH_NAMES,
    OBO_FILE,
    SHAPES_PREFIX,
    graph_iri,
)
from hodo.pipeline.build import BuildReport
from hodo.pipeline.mappings import MAPPINGS_FILE
from tests.terms import ONTOLOGY

BUILD = ("from pathlib import Path; import sys; from hodo.pipeline.build import build; "
         "build(Path(sys.argv[1]))")


@pytest.mark.slow
def test_same_sources_give_byte_identical_files(tmp_path: Path, release_dir: Path) -> None:
    # A second build in another process, with another hash seed, must not differ by one byte.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", BUILD, str(tmp_path)], check=True, env=env)
    names = sorted(p.name for p in release_dir.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (tmp_path / name).read_bytes() == (release_dir / name).read_bytes(), name


@pytest.mark.parametrize("name", sorted(ARTIFACTS))
@pytest.mark.slow
def test_every_artifact_holds_the_same_graph(release_dir: Path, name: str) -> None:
    reference = Graph().parse(release_dir / "hodo.nt", format="nt")
    graph = Graph().parse(release_dir / name, format=ARTIFACTS[name])
    assert len(graph) == len(reference) > 300
    assert isomorphic(graph, reference)


def test_release_has_a_version_iri(release_dir: Path, release_build: BuildReport) -> None:
    graph = Graph().parse(release_dir / "hodo.ttl")
    version_iri = graph.value(URIRef(ONTOLOGY), OWL.versionIRI)
    assert version_iri == URIRef(f"https://w3id.org/hodo/releases/{release_build.version}/hodo.owl")


def test_named_graphs_partition_the_union(release_dir: Path) -> None:
    import pyoxigraph as ox

    quads = list(ox.parse(path=str(release_dir / DATASET_FILE), format=ox.RdfFormat.N_QUADS))
    names = {q.graph_name.value for q in quads}
    assert {str(graph_iri(n)) for n in GRAPH_NAMES if n != "inferred"} <= names
    union = Graph().parse(release_dir / "hodo.nt", format="nt")
    # the union drops triples that two graphs share, never a triple of any graph
    assert len({(q.subject, q.predicate, q.object) for q in quads}) == len(union)


def test_checksums_match_the_files(release_dir: Path) -> None:
    import hashlib

    lines = (release_dir / CHECKSUMS_FILE).read_text().splitlines()
    shapes = {f"{SHAPES_PREFIX}{p.name}" for p in SHAPES_DIR.glob("*.ttl")}
    assert shapes, "the release carries the shapes"
    assert {line.split("  ")[1] for line in lines} == {
        *ARTIFACTS, DATASET_FILE, OBO_FILE, CONTEXT_FILE, MAPPINGS_FILE, *EXPORT_FILES, *shapes,
        *CHANGELOG_FILES.values(), CHANGELOG_JSON}
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((release_dir / name).read_bytes()).hexdigest() == digest


def test_generated_turtle_says_do_not_edit(release_dir: Path) -> None:
    assert "DO NOT EDIT" in (release_dir / "hodo.ttl").read_text(encoding="utf-8").splitlines()[0]
