"""The OBO release file: written by the build beside the others, listed with its checksum, and
read by pronto and by the Ontology Access Kit (its Python API and ``runoak``) with the labels,
ancestors and search results of a HODO term."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pronto
import pytest
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from hodo.core.release import OBO_FILE, ONTOLOGY_IRI, read_checksums
from hodo.pipeline.oboexport import obo_id
from tests.terms import FINDING

TERM = "HODO:0000001"  # hepatic osteodystrophy
NAME = "hepatic osteodystrophy"
PARENT, ROOT = "MONDO:0005298", "MONDO:0000001"  # osteoporosis, disease
#: pronto guesses the encoding with chardet and warns that a guess is a guess; OAK gives it none.
UNSURE_ENCODING = pytest.mark.filterwarnings("ignore:unsound encoding:UnicodeWarning")


@pytest.fixture(scope="module")
def get_adapter() -> Callable[[str], Any]:
    """OAK's adapter factory; its dependencies (pandas, LinkML) warn as they are imported."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from oaklib import get_adapter

    return get_adapter  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def obo(release_dir: Path) -> Path:
    return release_dir / OBO_FILE


@pytest.fixture(scope="module")
def ontology(obo: Path) -> pronto.Ontology:
    return pronto.Ontology(str(obo), encoding="utf-8")


def test_obo_file_is_checksummed_and_downloadable(obo: Path, release_dir: Path,
                                                  client: FlaskClient) -> None:
    assert OBO_FILE in read_checksums(release_dir)
    files = {f["name"]: f for f in client.get("/downloads.json").get_json()["files"]}
    assert files[OBO_FILE]["verified"] is True
    assert client.get(f"/downloads/{OBO_FILE}").data == obo.read_bytes()


def test_pronto_reads_the_term_in_both_languages(ontology: pronto.Ontology) -> None:
    term = ontology[TERM]
    assert term.name == NAME
    assert term.definition and term.definition.startswith("A secondary osteoporosis")
    chinese = {s.description for s in term.synonyms if s.type and s.type.id == "zh"}
    assert chinese == {"肝性骨病"}
    assert {t.id for t in term.superclasses(distance=1, with_self=False)} == {PARENT}
    basis = ontology.get_relationship("RO:0004019")
    assert {t.id for t in term.relationships[basis]} == {"HODO:0000006"}
    assert ontology.metadata.idspaces["HODO"][0] == "https://w3id.org/hodo/HODO_"


def test_header_says_what_the_ontology_header_says(ontology: pronto.Ontology,
                                                   release_dir: Path) -> None:
    graph = Graph().parse(release_dir / "hodo.nt", format="nt")
    values = {(a.property, getattr(a, "resource", None) or a.literal)  # type: ignore[attr-defined]
              for a in ontology.metadata.annotations}
    licence = graph.value(ONTOLOGY_IRI, DCTERMS.license)
    version = graph.value(ONTOLOGY_IRI, OWL.versionIRI)
    assert licence and version
    assert (str(DCTERMS.license), str(licence)) in values
    assert (str(OWL.versionIRI), str(version)) in values
    titles = {str(t) for t in graph.objects(ONTOLOGY_IRI, DCTERMS.title)}
    assert {v for p, v in values if p == str(DCTERMS.title)} == titles
    assert len(titles) == 2
    assert ontology.metadata.data_version == str(graph.value(ONTOLOGY_IRI, OWL.versionInfo))


def test_every_labelled_class_is_a_term_and_no_finding_is(ontology: pronto.Ontology,
                                                          release_dir: Path) -> None:
    graph = Graph().parse(release_dir / "hodo.nt", format="nt")
    classes = {obo_id(c) for c in graph.subjects(RDF.type, OWL.Class)
               if isinstance(c, URIRef) and any(
                   getattr(v, "language", None) == "en" for v in graph.objects(c, RDFS.label))}
    assert {t.id for t in ontology.terms()} == classes - {None}
    findings = {obo_id(f) for f in graph.subjects(RDF.type, URIRef(FINDING))} - {None}
    assert not findings & {t.id for t in ontology.terms()}


@UNSURE_ENCODING
@pytest.mark.parametrize("scheme", ["simpleobo", "pronto"])
def test_oak_gives_label_ancestors_and_search(scheme: str, obo: Path,
                                             get_adapter: Callable[[str], Any]) -> None:
    adapter = get_adapter(f"{scheme}:{obo}")
    assert adapter.label(TERM) == NAME
    assert {PARENT, ROOT} <= set(adapter.ancestors(TERM, predicates=["rdfs:subClassOf"]))
    assert TERM in set(adapter.basic_search(NAME))


def test_runoak_reads_the_release(obo: Path) -> None:
    runoak = Path(sys.executable).with_name("runoak")
    found = subprocess.run([str(runoak), "-i", f"simpleobo:{obo}", "ancestors", "-p", "i", TERM],
                           capture_output=True, text=True, timeout=120, check=True)
    rows = dict(line.split("\t", 1) for line in found.stdout.splitlines() if "\t" in line)
    assert rows[PARENT] == "osteoporosis" and rows[ROOT] == "disease"
    assert rows[TERM] == NAME
