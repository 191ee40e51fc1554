"""HODO's own relations sit under RO's, so that a query over an RO relation reaches the findings
made with them."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from hodo.pipeline.sources import hand_edited_graph, module_files, parse_file

HODO = "https://w3id.org/hodo/"
RO = "http://purl.obolibrary.org/obo/RO_"
HAS_PROPERTY = URIRef("http://purl.org/oban/association_has_object_property")

EVERYTHING = Graph()
EVERYTHING += hand_edited_graph()
for _path in module_files("imports"):
    parse_file(_path, EVERYTHING)
PLACED = sorted((p, parent) for p, parent in EVERYTHING.subject_objects(RDFS.subPropertyOf)
                if str(p).startswith(HODO) and str(parent).startswith(RO))
USED_PLACED = [(p, parent) for p, parent in PLACED if (None, HAS_PROPERTY, p) in EVERYTHING]

#: Findings whose relation is, or is below, an RO relation, read through the property hierarchy.
FINDINGS_BY_RO_RELATION = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oban: <http://purl.org/oban/>
SELECT DISTINCT ?finding WHERE {
  ?relation rdfs:subPropertyOf* ?ro .
  ?finding oban:association_has_object_property ?relation .
}
"""


def _top(relation: URIRef) -> URIRef:
    """The highest RO relation above ``relation`` in the imported hierarchy."""
    while parents := sorted(EVERYTHING.objects(relation, RDFS.subPropertyOf)):
        relation = parents[0]
    return relation


def test_hodo_relations_are_placed_under_ro() -> None:
    assert len(PLACED) >= 4 and len(USED_PLACED) >= 3


@pytest.mark.parametrize(("relation", "parent"), PLACED, ids=lambda t: t.rsplit("/", 1)[-1])
def test_the_ro_parent_is_an_imported_object_property(relation: URIRef, parent: URIRef) -> None:
    assert (relation, RDF.type, OWL.ObjectProperty) in EVERYTHING
    assert (parent, RDF.type, OWL.ObjectProperty) in EVERYTHING, f"{parent} is not imported"
    labels = [label for label in EVERYTHING.objects(parent, RDFS.label)
              if getattr(label, "language", None) == "en"]
    assert len(labels) == 1, f"{parent} has no English label in ontology/imports/"
    assert str(EVERYTHING.value(parent, RDFS.isDefinedBy)) == HODO + "imports/ro"


@pytest.mark.parametrize(("relation", "parent"), USED_PLACED, ids=lambda t: t.rsplit("/", 1)[-1])
def test_a_query_over_the_ro_relation_reaches_the_findings(relation: URIRef,
                                                           parent: URIRef) -> None:
    expected = set(EVERYTHING.subjects(HAS_PROPERTY, relation))
    for ro in {parent, _top(parent)}:
        rows = EVERYTHING.query(FINDINGS_BY_RO_RELATION, initBindings={"ro": ro})
        found = {row[0] for row in rows}  # type: ignore[index]
        assert expected <= found, f"{ro} does not reach {sorted(expected - found)}"
