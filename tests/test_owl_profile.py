"""The release is OWL 2 DL, as two OWL libraries check it: the OWL API's ``OWL2DLProfile``
(from the HermiT jar owlready2 ships) and horned-owl's profile check (py-horned-owl). Each must
also find the faults of deliberately broken ontologies, so a check that cannot fail is caught.
HermiT finds the release, RO and BFO terms included, consistent within a minute."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import owlready2
import pyhornedowl
import pytest
from pyhornedowl import profile
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, SKOS

from hodo.pipeline.declarations import DeclarationError, declarations
from hodo.pipeline.reason import reason
from tests.support import DATA

FIXTURES = DATA / "owl"
HERMIT_JAR = Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"
OWLAPI_PROGRAM = Path(__file__).parent / "support" / "owl" / "DLProfile.java"

Violations = list[tuple[str, str]]


def owl_api(path: Path) -> Violations:
    """The OWL API's OWL 2 DL violations of an RDF/XML file: (kind, description)."""
    done = subprocess.run(["java", "-cp", str(HERMIT_JAR), str(OWLAPI_PROGRAM), str(path)],
                          capture_output=True, text=True, timeout=120, check=True)
    return [(kind, text) for kind, _, text in
            (line.partition("\t") for line in done.stdout.splitlines() if line)]


def horned_owl(path: Path) -> Violations:
    """horned-owl's OWL 2 DL violations of an RDF/XML file: (kind, IRI and message)."""
    report = profile.check_profile(pyhornedowl.open_ontology_from_file(str(path)), "DL")
    return [(type(v).__name__, f"{getattr(v, 'iri', '')} {v.message}") for v in report.violations]


CHECKERS: dict[str, Callable[[Path], Violations]] = {"owl-api": owl_api, "horned-owl": horned_owl}


@pytest.mark.parametrize("check", CHECKERS.values(), ids=CHECKERS.keys())
def test_release_is_owl2_dl(check: Callable[[Path], Violations], release_dir: Path) -> None:
    assert check(release_dir / "hodo.owl") == []


#: fixture -> (the IRI a violation must name, the kinds of violation that name it, per checker)
BROKEN = {
    "undeclared-property": ("http://www.w3.org/2004/02/skos/core#editorialNote",
                            {"owl-api": "UseOfUndeclaredAnnotationProperty",
                             "horned-owl": "UseOfUndeclaredDataProperty"}),
    "punned-property": ("http://purl.obolibrary.org/obo/RO_0002558",
                        {"owl-api": "IllegalPunning", "horned-owl": "UseOfIllegalPunning"}),
    "reserved-property": ("rdf:value",
                          {"owl-api": "UseOfReservedVocabularyForAnnotationPropertyIRI",
                           "horned-owl": "UseOfUndeclaredDataProperty"}),
}


@pytest.mark.parametrize("checker", CHECKERS, ids=str)
@pytest.mark.parametrize("fixture", BROKEN, ids=str)
def test_broken_ontology_is_reported(fixture: str, checker: str, tmp_path: Path) -> None:
    path = tmp_path / f"{fixture}.owl"
    Graph().parse(FIXTURES / f"{fixture}.ttl").serialize(path, format="xml")
    iri, kind = BROKEN[fixture][0], BROKEN[fixture][1][checker]
    found = CHECKERS[checker](path)
    short = iri.replace("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdf:")
    long = iri.replace("rdf:", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")
    assert any(k == kind and (short in text or long in text) for k, text in found), found


def test_release_with_its_ro_and_bfo_terms_is_consistent_within_a_minute(
        release_dir: Path) -> None:
    graph = Graph().parse(release_dir / "hodo.owl", format="xml")
    relations = {s for s in graph.subjects(RDF.type, OWL.ObjectProperty)
                 if str(s).startswith(("http://purl.obolibrary.org/obo/RO_",
                                       "http://purl.obolibrary.org/obo/BFO_"))}
    assert URIRef("http://purl.obolibrary.org/obo/RO_0002558") in relations
    assert len(relations) >= 10
    started = time.monotonic()
    report = reason(graph)
    assert report.consistent and report.unsatisfiable == ()
    assert time.monotonic() - started < 60


PREFIXES = """
@prefix hodo: <https://w3id.org/hodo/> .
@prefix obo: <http://purl.obolibrary.org/obo/> .
@prefix oban: <http://purl.org/oban/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix doco: <http://purl.org/spar/doco/> .
"""


def test_build_declares_what_the_data_uses_with_the_source_kind() -> None:
    data = Graph().parse(data=PREFIXES + """
        hodo:HODO_0000110 a owl:Class .
        hodo:finding-1 a hodo:HODO_0000110 ; skos:editorialNote "note"@en ;
            oban:association_has_subject hodo:HODO_0000110 .
        hodo:sentence-1 a doco:Sentence .""", format="turtle")
    added = declarations(data)
    assert set(added) == {
        (SKOS.editorialNote, RDF.type, OWL.AnnotationProperty),
        (URIRef("http://purl.org/oban/association_has_subject"), RDF.type, OWL.ObjectProperty),
        (URIRef("http://purl.org/spar/doco/Sentence"), RDF.type, OWL.Class),
    }


@pytest.mark.parametrize(("data", "message"), [
    ("obo:RO_0002558 a owl:AnnotationProperty , owl:ObjectProperty .", "RO_0002558> is declared"),
    ('hodo:s a doco:Sentence ; rdf:value "text" .', "reserved vocabulary"),
    ('oban:association_has_subject a owl:ObjectProperty .\n'
     'hodo:f oban:association_has_subject "x" .', "gives it a literal"),
    ("hodo:f obo:RO_9999999 hodo:g .", "RO_9999999> is used as a property but nothing declares"),
    ("hodo:f a hodo:HODO_9999999 .", "HODO_9999999> is used as a class but nothing declares"),
], ids=["punned-property", "reserved-property", "literal-for-object-property",
        "undeclared-obo-property", "undeclared-hodo-class"])
def test_build_refuses_what_owl2_dl_forbids(data: str, message: str) -> None:
    with pytest.raises(DeclarationError, match=message):
        declarations(Graph().parse(data=PREFIXES + data, format="turtle"))
