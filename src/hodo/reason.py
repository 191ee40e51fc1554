"""OWL reasoning with HermiT (through owlready2), at build and validation time only.

HermiT checks consistency, finds unsatisfiable classes and infers the class hierarchy. When it
finds the data inconsistent, owlready2 raises an error with an empty message; HODO looks for the
clash itself and names the axioms involved.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

log = logging.getLogger(__name__)


class ReasonerUnavailable(Exception):
    """HermiT could not be run (no Java, or owlready2 failed for another reason)."""


@dataclass(frozen=True)
class Explanation:
    """Why the data is inconsistent or a class unsatisfiable, as the axioms that clash."""

    subject: str
    message: str
    axioms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReasonerReport:
    """What HermiT concluded."""

    consistent: bool
    unsatisfiable: tuple[str, ...] = ()
    explanations: tuple[Explanation, ...] = ()
    inferred: Graph = field(default_factory=Graph, compare=False)

    @property
    def ok(self) -> bool:
        return self.consistent and not self.unsatisfiable


def reason(graph: Graph) -> ReasonerReport:
    """Run HermiT over ``graph``.

    ``owl:imports`` are stripped first: owlready2 would follow them over the network.

    Raises:
        ReasonerUnavailable: Java or owlready2 failed for a reason other than the data.
    """
    import owlready2

    clean = Graph()
    for triple in graph:
        if triple[1] != OWL.imports:
            clean.add(triple)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hodo-reasoning.nt"
        clean.serialize(path, format="nt", encoding="utf-8")
        world = owlready2.World()
        try:
            ontology = world.get_ontology(path.as_uri()).load(format="ntriples")
            with ontology:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            explanations = explain_inconsistency(clean)
            return ReasonerReport(consistent=False, explanations=explanations)
        except (OSError, owlready2.OwlReadyError) as error:
            raise ReasonerUnavailable(f"HermiT could not run: {error}") from error
        unsatisfiable = tuple(sorted(
            str(c.iri) for c in world.inconsistent_classes() if c is not owlready2.Nothing
        ))
        inferred = _inferred_subclasses(world, clean)
    explanations = tuple(explain_unsatisfiable(clean, iri) for iri in unsatisfiable)
    return ReasonerReport(True, unsatisfiable, explanations, inferred)


def _inferred_subclasses(world: object, asserted: Graph) -> Graph:
    """Named-class subsumptions HermiT found that the data does not assert."""
    inferred = Graph()
    for cls in world.classes():  # type: ignore[attr-defined]
        for parent in cls.is_a:
            iri = getattr(parent, "iri", None)
            if iri is None or iri == str(OWL.Thing):
                continue
            triple = (URIRef(cls.iri), RDFS.subClassOf, URIRef(iri))
            if triple not in asserted:
                inferred.add(triple)
    return inferred


def _superclasses(graph: Graph, cls: URIRef) -> set[URIRef]:
    found = {cls}
    frontier = [cls]
    while frontier:
        current = frontier.pop()
        for parent in graph.objects(current, RDFS.subClassOf):
            if isinstance(parent, URIRef) and parent not in found:
                found.add(parent)
                frontier.append(parent)
    return found


def _disjoint_pairs(graph: Graph) -> set[frozenset[URIRef]]:
    pairs = {
        frozenset((a, b))
        for a, b in graph.subject_objects(OWL.disjointWith)
        if isinstance(a, URIRef) and isinstance(b, URIRef)
    }
    for axiom in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = [m for m in graph.items(graph.value(axiom, OWL.members)) if isinstance(m, URIRef)]
        pairs.update(frozenset((a, b)) for i, a in enumerate(members) for b in members[i + 1:])
    return pairs


def _clash(graph: Graph, classes: set[URIRef]) -> tuple[URIRef, URIRef] | None:
    closure: dict[URIRef, URIRef] = {}
    for cls in classes:
        for sup in _superclasses(graph, cls):
            closure.setdefault(sup, cls)
    for pair in _disjoint_pairs(graph):
        a, b = sorted(pair)
        if a in closure and b in closure:
            return a, b
    return None


def explain_inconsistency(graph: Graph) -> tuple[Explanation, ...]:
    """Individuals whose types fall under two classes declared disjoint."""
    found = []
    for individual in sorted(set(graph.subjects(RDF.type, None))):
        types = {t for t in graph.objects(individual, RDF.type) if isinstance(t, URIRef)}
        clash = _clash(graph, types)
        if clash:
            a, b = clash
            found.append(Explanation(
                str(individual),
                f"{individual} is an instance of both {a} and {b}, which are declared disjoint",
                (f"{a} owl:disjointWith {b}",
                 *(f"{individual} rdf:type {t}" for t in sorted(types))),
            ))
    if not found:
        found.append(Explanation(
            "", "HermiT found the data inconsistent, but no individual is typed with two "
            "disjoint classes; the clash lies in other axioms (restrictions, property "
            "characteristics or equivalences)",
        ))
    return tuple(found)


def explain_unsatisfiable(graph: Graph, iri: str) -> Explanation:
    """Why a class can have no instances, where the cause is two disjoint superclasses."""
    cls = URIRef(iri)
    parents = {p for p in graph.objects(cls, RDFS.subClassOf) if isinstance(p, URIRef)}
    clash = _clash(graph, parents | {cls})
    if clash:
        a, b = clash
        return Explanation(iri, f"{iri} is a subclass of both {a} and {b}, which are declared "
                           "disjoint", (f"{a} owl:disjointWith {b}",))
    return Explanation(iri, f"{iri} is unsatisfiable: it can have no instances")
