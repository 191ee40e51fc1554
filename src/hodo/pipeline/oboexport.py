"""The release's terms in OBO format (``hodo.obo``), written by pronto, for the OBO tools that read
no OWL (OBO-Edit heirs, obonet, pronto, the Ontology Access Kit's OBO adapters).

OBO gives a term one name and one definition, without language: they are the English ones; the
Chinese label is an exact synonym of the synonym type ``zh``, and synonyms keep their scope.
Classes and object properties go in, each under its CURIE; findings and other individuals do not
(OBO has no place for reified claims), nor do vocabulary terms HODO only declares.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from hodo.core.namespaces import BASE, DEFINITION, OBO, OBOINOWL, PREFIXES, REPLACED_BY, shorten
from hodo.core.release import ONTOLOGY_IRI

if TYPE_CHECKING:
    import pronto

#: HODO's own terms, as OBO IDs ``HODO:nnnnnnn``.
OWN_IDSPACE = ("HODO", BASE + "HODO_")
#: Synonym scopes of oboInOwl, as OBO writes them.
SCOPES = {OBOINOWL.hasExactSynonym: "EXACT", OBOINOWL.hasRelatedSynonym: "RELATED",
          OBOINOWL.hasBroadSynonym: "BROAD", OBOINOWL.hasNarrowSynonym: "NARROW"}
#: The synonym type of the Chinese label.
CHINESE = ("zh", "Chinese label (中文标签)")


def obo_id(iri: URIRef) -> str | None:
    """The OBO ID of a term IRI, or None when HODO has no prefix for it.

    >>> obo_id(URIRef("https://w3id.org/hodo/HODO_0000001"))
    'HODO:0000001'
    >>> obo_id(URIRef("http://purl.obolibrary.org/obo/RO_0002558"))
    'RO:0002558'
    """
    text = str(iri)
    if text.startswith(OWN_IDSPACE[1]):
        return f"{OWN_IDSPACE[0]}:{text[len(OWN_IDSPACE[1]):]}"
    curie = shorten(text)
    return None if curie == text or curie.startswith("hodo:") else curie


def to_obo(graph: Graph, version: str) -> bytes:
    """``graph``'s classes and object properties as an OBO 1.4 document."""
    import pronto  # heavy (networkx); only the build writes OBO

    ontology = pronto.Ontology()
    ontology.metadata.ontology = "hodo"
    ontology.metadata.data_version = version
    ontology.metadata.idspaces[OWN_IDSPACE[0]] = (OWN_IDSPACE[1], "HODO's own terms")
    ontology.metadata.synonymtypedefs.add(pronto.SynonymType(*CHINESE))
    ontology.metadata.annotations = _header(graph)
    relations = {iri: ontology.create_relationship(curie)
                 for iri, curie in _entities(graph, OWL.ObjectProperty)}
    terms = {iri: ontology.create_term(curie) for iri, curie in _entities(graph, OWL.Class)}
    entities: list[tuple[URIRef, pronto.Term | pronto.Relationship]] = [
        *relations.items(), *terms.items()]
    for iri, entity in entities:
        _describe(entity, graph, iri, terms)
    for iri, term in terms.items():
        _axioms(term, graph, iri, terms, relations)
    for prefix in sorted({entity.id.split(":")[0] for _, entity in entities}):
        if prefix in PREFIXES and PREFIXES[prefix] != f"{OBO}{prefix}_":
            ontology.metadata.idspaces[prefix] = (PREFIXES[prefix], None)
    buffer = io.BytesIO()
    ontology.dump(buffer, format="obo")
    return canonical(buffer.getvalue().decode()).encode()


def canonical(text: str) -> str:
    """``text`` with each run of clauses of one tag sorted, as OBO's canonical form orders them:
    pronto keeps synonyms in a set, so its order changes from one process to the next.

    >>> canonical('[Term]\\nid: X:1\\nsynonym: "b" EXACT []\\nsynonym: "a" EXACT []\\n')
    '[Term]\\nid: X:1\\nsynonym: "a" EXACT []\\nsynonym: "b" EXACT []\\n'
    """
    lines = text.split("\n")
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if run and line.partition(":")[0] != run[0].partition(":")[0]:
            out.extend(sorted(run) if ": " in run[0] else run)
            run = []
        run.append(line)
    return "\n".join(out + run[:-1])


def _header(graph: Graph) -> set[pronto.PropertyValue]:
    """The ontology header's Dublin Core statements and version IRI, as OBO property values
    (OBO's literals have no language: both languages' titles are there)."""
    import pronto

    found: set[pronto.PropertyValue] = set()
    for predicate, value in graph.predicate_objects(ONTOLOGY_IRI):
        if not (str(predicate).startswith(str(DCTERMS)) or predicate == OWL.versionIRI):
            continue
        if isinstance(value, URIRef):
            found.add(pronto.ResourcePropertyValue(str(predicate), str(value)))
        elif isinstance(value, Literal):
            datatype = shorten(str(value.datatype)) if value.datatype else "xsd:string"
            found.add(pronto.LiteralPropertyValue(str(predicate), str(value), datatype))
    return found


def _entities(graph: Graph, kind: URIRef) -> Iterator[tuple[URIRef, str]]:
    """IRIs of ``kind`` that have an English label and an OBO ID, in order."""
    for iri in sorted(s for s in graph.subjects(RDF.type, kind) if isinstance(s, URIRef)):
        curie = obo_id(iri)
        if curie and _text(graph, iri, RDFS.label, "en"):
            yield iri, curie


def _text(graph: Graph, iri: URIRef, predicate: URIRef, lang: str) -> str | None:
    """The first (sorted) value of ``predicate`` in ``lang``."""
    found = sorted(str(v) for v in graph.objects(iri, predicate)
                   if isinstance(v, Literal) and (v.language or "").split("-")[0] == lang)
    return found[0] if found else None


def _describe(entity: pronto.Term | pronto.Relationship, graph: Graph, iri: URIRef,
              terms: dict[URIRef, pronto.Term]) -> None:
    """Name, definition, synonyms, cross-references and status."""
    import pronto

    entity.name = _text(graph, iri, RDFS.label, "en")
    definition = _text(graph, iri, DEFINITION, "en")
    if definition:
        entity.definition = pronto.Definition(definition)
    chinese = _text(graph, iri, RDFS.label, "zh")
    if chinese:
        entity.add_synonym(chinese, scope="EXACT", type=pronto.SynonymType(*CHINESE))
    for predicate, scope in SCOPES.items():
        for value in sorted({str(v) for v in graph.objects(iri, predicate)} - {chinese}):
            entity.add_synonym(value, scope=scope)
    entity.xrefs = frozenset(pronto.Xref(str(x)) for x in graph.objects(iri, OBOINOWL.hasDbXref)
                             if ":" in str(x) and " " not in str(x))
    if (iri, OWL.deprecated, Literal(True)) in graph:
        entity.obsolete = True
        if isinstance(entity, pronto.Term):
            entity.replaced_by = frozenset(terms[r] for r in graph.objects(iri, REPLACED_BY)
                                           if isinstance(r, URIRef) and r in terms)


def _axioms(term: pronto.Term, graph: Graph, iri: URIRef, terms: dict[URIRef, pronto.Term],
            relations: dict[URIRef, pronto.Relationship]) -> None:
    """``is_a`` for named superclasses, ``relationship`` for existential restrictions on an
    object property that is in the document."""
    found: dict[pronto.Relationship, set[pronto.Term]] = {}
    for parent in graph.objects(iri, RDFS.subClassOf):
        if isinstance(parent, URIRef) and parent in terms:
            term.superclasses(distance=1).add(terms[parent])
        elif isinstance(parent, BNode):
            prop = graph.value(parent, OWL.onProperty)
            filler = graph.value(parent, OWL.someValuesFrom)
            if prop in relations and filler in terms:
                found.setdefault(relations[prop], set()).add(terms[filler])  # type: ignore[index]
    if found:
        term.relationships = {r: frozenset(ts) for r, ts in found.items()}
