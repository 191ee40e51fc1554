"""Evidence classes: ECO terms come from ECO's own release, and each finding's evidence follows
the rules docs/modelling.md states (an author statement, plus the kind of study where the
finding's species or sentence makes it certain)."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDFS

from hodo.pipeline import imports as imp
from hodo.pipeline.sources import hand_edited_graph, module_files, parse_file

OBO = Namespace("http://purl.obolibrary.org/obo/")
HODO = Namespace("https://w3id.org/hodo/")
BIOLINK = Namespace("https://w3id.org/biolink/vocab/")
HAS_EVIDENCE = OBO.RO_0002558
CITED, UNCITED = OBO.ECO_0000304, OBO.ECO_0000303
ANIMAL_MODEL = OBO.ECO_0007120
CLINICAL_STUDY = OBO.ECO_0006017
RAT, HUMAN = OBO.NCBITaxon_10114, OBO.NCBITaxon_9606
#: An English rendering that reports what studies, or named authors, observed.
REPORTS_A_STUDY = re.compile(r"\b(?:stud(?:y|ies)|et al\.|have been observed)", re.I)

CONTENT = hand_edited_graph()
FINDINGS = sorted(CONTENT.subjects(HAS_EVIDENCE, None, unique=True))
EXTRACT = imp.read_eco_terms()
IMPORTED = Graph()
for _path in module_files("imports"):
    parse_file(_path, IMPORTED)


def _english(finding: URIRef) -> str:
    return next(str(s) for s in CONTENT.objects(finding, HODO.HODO_0000201)
                if isinstance(s, Literal) and s.language == "en")


def test_the_eco_extract_names_its_release() -> None:
    assert EXTRACT.version == "releases/2024-07-19"
    assert EXTRACT.origin.startswith(
        "evidenceontology/evidenceontology eco.obo, release 2024-07-19")
    assert re.search(r"\(commit [0-9a-f]{40}\)$", EXTRACT.origin)


def test_the_eco_extract_holds_the_terms_used_and_their_ancestors_only() -> None:
    used = imp.used_external_terms(CONTENT)["ECO"]
    assert set(EXTRACT.terms) == used | imp.ancestor_closure(EXTRACT, used)
    roots = [c for c, t in EXTRACT.terms.items() if not t.parents]
    assert roots == ["ECO:0000000"]


@pytest.mark.parametrize("curie", sorted(imp.used_external_terms(CONTENT)["ECO"]))
def test_evidence_class_is_imported_with_the_release_label(curie: str) -> None:
    label = IMPORTED.value(imp.iri_of(curie), RDFS.label)
    assert label is not None and str(label) == EXTRACT.terms[curie].label
    assert IMPORTED.value(imp.iri_of(curie), RDFS.isDefinedBy) == imp.HODO["imports/eco"]


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.rsplit("/", 1)[-1])
def test_evidence_follows_the_rules(finding: URIRef) -> None:
    """One author statement (cited or not); animal-model evidence exactly for the rat findings;
    a referenced clinical study exactly for cited human findings with a study population whose
    sentence reports a study."""
    evidence = set(CONTENT.objects(finding, HAS_EVIDENCE))
    assert len(evidence & {CITED, UNCITED}) == 1, evidence
    rat = (finding, BIOLINK.species_context_qualifier, RAT) in CONTENT
    assert (ANIMAL_MODEL in evidence) == rat
    clinical = ((finding, BIOLINK.species_context_qualifier, HUMAN) in CONTENT
                and CITED in evidence
                and (finding, HODO.HODO_0000205, None) in CONTENT
                and bool(REPORTS_A_STUDY.search(_english(finding))))
    assert (CLINICAL_STUDY in evidence) == clinical
    assert evidence <= {CITED, UNCITED, ANIMAL_MODEL, CLINICAL_STUDY}


def test_the_specific_classes_are_in_use() -> None:
    used = {e for f in FINDINGS for e in CONTENT.objects(f, HAS_EVIDENCE)}
    assert {ANIMAL_MODEL, CLINICAL_STUDY} <= used
