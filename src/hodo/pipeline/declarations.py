"""OWL 2 DL declarations for every class, property and datatype the release uses.

OWL 2 DL wants each entity declared with one kind; tools that check the profile (the OWL API,
horned-owl) count every undeclared use. The build declares what the data uses and the sources do
not: with the kind the term's own ontology gives it where HODO knows it (:data:`SOURCE_KINDS`),
otherwise as an annotation property (what OBO ontologies do with Dublin Core, SKOS, oboInOwl and
other metadata vocabularies: no logical weight, legal whatever the value). Every class named by
``rdf:type`` or by a class axiom is declared a class. HODO's and the OBO ontologies' own terms
are never declared here: their edit file or import module must, so that a misspelt ID stays an
error. An IRI declared as two kinds of property is refused, and so is a use its kind forbids (a
literal as the value of an object property) or a reserved IRI used as a property.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from hodo.core.namespaces import BASE, OBAN, OBO
from hodo.pipeline.sources import InputError

#: Kinds of property, and the kinds that no IRI may hold two of (OWL 2 DL's typing constraints).
PROPERTY_KINDS = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
CLASS_KINDS = (OWL.Class, RDFS.Datatype)

#: The kind a term's own ontology declares, for terms the sources use without declaring. OBAN:
#: ``ontology/oban_core.ttl`` of EBISPOT/OBAN (commit 6e9a0f3), which declares these object
#: properties (and RO "has evidence", which ``imports/vocabulary_import.ttl`` declares).
SOURCE_KINDS: dict[URIRef, URIRef] = {
    OBAN["association_has_subject"]: OWL.ObjectProperty,
    OBAN["association_has_object"]: OWL.ObjectProperty,
    OBAN["association_has_object_property"]: OWL.ObjectProperty,
}

#: Namespaces whose terms the sources must declare themselves (HODO's edit file, the imports): an
#: undeclared use there is a typo or a missing import, which a declaration would hide.
SELF_DECLARED = (BASE, str(OBO))

#: Vocabularies OWL itself defines: never declared (OWL 2 DL reserves them).
RESERVED = (str(RDF), str(RDFS), str(OWL), str(XSD))
#: The only reserved IRIs OWL 2 DL allows as annotation properties.
BUILT_IN_ANNOTATIONS = frozenset({
    RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.deprecated, OWL.versionInfo,
    OWL.priorVersion, OWL.backwardCompatibleWith, OWL.incompatibleWith,
})
#: Predicates of OWL's own RDF mapping: structure, not properties of the data.
_STRUCTURE = frozenset({RDF.type, RDF.first, RDF.rest, RDFS.subClassOf, RDFS.subPropertyOf,
                        RDFS.domain, RDFS.range})

#: Positions where an IRI must be a class: (predicate, object position?).
_CLASS_OBJECTS = (RDFS.subClassOf, OWL.someValuesFrom, OWL.allValuesFrom, OWL.equivalentClass,
                  OWL.disjointWith, RDFS.domain)


class DeclarationError(InputError):
    """The sources use an IRI in a way OWL 2 DL forbids (two kinds of property, a reserved IRI
    as a property, a value its property's kind cannot take); the message names it."""


def declared_kinds(graph: Graph) -> dict[URIRef, set[URIRef]]:
    """The kinds each IRI is declared as in ``graph``."""
    kinds: dict[URIRef, set[URIRef]] = defaultdict(set)
    for kind in (*PROPERTY_KINDS, *CLASS_KINDS):
        for subject in graph.subjects(RDF.type, kind):
            if isinstance(subject, URIRef):
                kinds[subject].add(kind)
    return kinds


def declarations(graph: Graph) -> Graph:
    """Declarations for every class, property and datatype ``graph`` uses without declaring.

    Raises:
        DeclarationError: an IRI is declared as two kinds of property, a reserved IRI is used as
            a property, or a use does not fit the property's kind.
    """
    kinds = declared_kinds(graph)
    _refuse_puns(kinds)
    added = Graph()
    for predicate in sorted(_properties_used(graph)):
        if not kinds.get(predicate):
            _refuse_own(predicate, "property")
            added.add((predicate, RDF.type, SOURCE_KINDS.get(predicate, OWL.AnnotationProperty)))
    for cls in sorted(_classes_used(graph, kinds)):
        if not kinds.get(cls):
            _refuse_own(cls, "class")
            added.add((cls, RDF.type, OWL.Class))
    for datatype in sorted(_datatypes_used(graph)):
        if not kinds.get(datatype):
            added.add((datatype, RDF.type, RDFS.Datatype))
    _refuse_misfits(graph, declared_kinds(graph + added))
    return added


def _refuse_own(iri: URIRef, kind: str) -> None:
    if str(iri).startswith(SELF_DECLARED):
        raise DeclarationError(f"<{iri}> is used as a {kind} but nothing declares it: declare it "
                               "in ontology/hodo-edit.ttl or in its import module")


def _reserved(iri: Node) -> bool:
    return str(iri).startswith(RESERVED)


def _properties_used(graph: Graph) -> set[URIRef]:
    """Every predicate of ``graph`` that is not OWL's own vocabulary.

    Raises:
        DeclarationError: a reserved IRI that OWL 2 DL does not allow is used as a property.
    """
    found: set[URIRef] = set()
    for predicate in set(graph.predicates()):
        if not isinstance(predicate, URIRef):
            continue
        if not _reserved(predicate):
            found.add(predicate)
        elif predicate not in BUILT_IN_ANNOTATIONS and predicate not in _STRUCTURE \
                and not str(predicate).startswith(str(OWL)):
            subject = next(graph.subjects(predicate, None))
            raise DeclarationError(f"<{predicate}> is reserved vocabulary, which OWL 2 DL does "
                                   f"not allow as a property (used on <{subject}>)")
    return found


def _classes_used(graph: Graph, kinds: dict[URIRef, set[URIRef]]) -> set[URIRef]:
    """IRIs in a class position: typed with, subclassed, restricted to, a domain, the range of
    an object property."""
    found = {o for o in graph.objects(None, RDF.type)}
    for predicate in _CLASS_OBJECTS:
        found.update(graph.objects(None, predicate))
    found.update(s for s in graph.subjects(RDFS.subClassOf, None))
    for prop, value in graph.subject_objects(RDFS.range):
        if isinstance(prop, URIRef) and OWL.ObjectProperty in kinds.get(prop, set()):
            found.add(value)
    return {c for c in found if isinstance(c, URIRef) and not _reserved(c)
            and RDFS.Datatype not in kinds.get(c, set())}


def _datatypes_used(graph: Graph) -> set[URIRef]:
    """Datatypes of literals that OWL does not build in."""
    return {o.datatype for o in graph.objects() if isinstance(o, Literal)
            and o.datatype is not None and not _reserved(o.datatype)}


def _refuse_puns(kinds: dict[URIRef, set[URIRef]]) -> None:
    for iri, held in sorted(kinds.items()):
        both = held & set(PROPERTY_KINDS)
        if len(both) > 1 or (OWL.Class in held and RDFS.Datatype in held):
            names = ", ".join(sorted(str(k).rsplit("#", 1)[-1] for k in held))
            raise DeclarationError(f"<{iri}> is declared as {names}: OWL 2 DL allows one kind")


def _refuse_misfits(graph: Graph, kinds: dict[URIRef, set[URIRef]]) -> None:
    """An object property takes individuals, a data property literals."""
    for prop, held in sorted(kinds.items()):
        if OWL.ObjectProperty in held:
            _refuse(graph, prop, (o for o in graph.objects(None, prop) if isinstance(o, Literal)),
                    "an object property", "a literal")
        elif OWL.DatatypeProperty in held:
            _refuse(graph, prop, (o for o in graph.objects(None, prop)
                                  if isinstance(o, (URIRef, BNode))), "a data property",
                    "an individual")


def _refuse(graph: Graph, prop: URIRef, misfits: Iterable[Node], kind: str, what: str) -> None:
    for value in misfits:
        subject = next(graph.subjects(prop, value))
        raise DeclarationError(f"<{prop}> is {kind} but <{subject}> gives it {what}: {value!r}")
