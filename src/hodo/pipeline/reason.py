"""OWL reasoning with HermiT (through owlready2), at build and validation time only.

HermiT checks consistency, finds unsatisfiable classes and infers the class hierarchy. When it
finds the data inconsistent, owlready2 raises an error with an empty message; HODO explains it
itself: first by looking for individuals whose types (asserted, or implied by the domain and range
of the properties they use) fall under two disjoint classes; failing that, by a bounded black-box
search that removes axioms while HermiT still finds the rest inconsistent (delta debugging), and
names the axioms left.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from hodo.core.errors import NotAvailable
from hodo.core.namespaces import shorten

log = logging.getLogger(__name__)


class ReasonerUnavailable(NotAvailable):
    """HermiT could not be run (no Java, or owlready2 failed for another reason)."""


class ReasonerOutOfMemory(ReasonerUnavailable):
    """HermiT's JVM ran out of its heap, or could not get the memory it needed to start."""


#: What the JVM prints when it runs out of memory, or cannot reserve it at start-up.
_OUT_OF_MEMORY = ("OutOfMemoryError", "insufficient memory", "Could not reserve",
                  "Could not allocate", "Cannot allocate memory")


def limit_reasoner(megabytes: int) -> None:
    """Make every HermiT run of this process fit in ``megabytes`` of address space.

    The JVM reserves far more address space than it uses: 2 GB of heap by owlready2's
    default, 1 GB for compressed classes, 240 MB of code cache, 64 MB per malloc arena. Under a
    cap on the address space (``RLIMIT_AS``, which the JVM inherits) it would not start, so it
    gets a quarter of the cap as heap (HermiT needs under 64 MB for the release) and small
    reservations, and writes no crash report file. Changes this process's environment: call it
    in a process of its own.
    """
    import owlready2.reasoning

    owlready2.reasoning.JAVA_MEMORY = max(megabytes // 4, 32)  # type: ignore[attr-defined]
    os.environ["MALLOC_ARENA_MAX"] = "2"
    os.environ["JAVA_TOOL_OPTIONS"] = (
        "-XX:CompressedClassSpaceSize=64m -XX:ReservedCodeCacheSize=48m "
        "-XX:MaxMetaspaceSize=128m -XX:+UseSerialGC -XX:ErrorFile=/dev/null")


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


def _without_imports(graph: Graph) -> Graph:
    """``graph`` without ``owl:imports``, which owlready2 would follow over the network."""
    clean = Graph()
    for triple in graph:
        if triple[1] != OWL.imports:
            clean.add(triple)
    return clean


def _hermit(graph: Graph, tmp: str) -> object:
    """Run HermiT; the owlready2 world with its conclusions.

    Raises:
        owlready2.OwlReadyInconsistentOntologyError: the graph is inconsistent.
        ReasonerUnavailable: Java or owlready2 failed for a reason other than the data.
    """
    import owlready2

    path = Path(tmp) / "hodo-reasoning.nt"
    graph.serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    try:
        ontology = world.get_ontology(path.as_uri()).load(format="ntriples")
        with ontology:
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    except owlready2.OwlReadyInconsistentOntologyError:
        raise
    except (OSError, owlready2.OwlReadyError) as error:
        if any(sign in str(error) for sign in _OUT_OF_MEMORY):
            raise ReasonerOutOfMemory(f"HermiT ran out of memory: {_gist(error)}") from error
        raise ReasonerUnavailable(f"HermiT could not run: {_gist(error)}") from error
    return world


def _gist(error: Exception) -> str:
    """The line of a Java error that says what went wrong: not owlready2's preamble, the
    JVM's notes about its options, or a stack trace.

    >>> _gist(RuntimeError("Java error message is:\\nPicked up JAVA_TOOL_OPTIONS: -Xss1m\\n"
    ...                    "Exception in thread main java.lang.Error: boom\\n\\tat a.b(C)"))
    'Exception in thread main java.lang.Error: boom'
    """
    for line in str(error).splitlines():
        text = line.strip()
        if text and not text.startswith(("Java error message is", "Picked up ", "at ", "#")):
            return text[:300]
    return type(error).__name__


def is_consistent(graph: Graph) -> bool:
    """Whether HermiT finds ``graph`` consistent (one reasoner run)."""
    import owlready2

    with tempfile.TemporaryDirectory() as tmp:
        try:
            _hermit(graph, tmp)
        except owlready2.OwlReadyInconsistentOntologyError:
            return False
    return True


def reason(graph: Graph, search_budget: int = 12) -> ReasonerReport:
    """Run HermiT over ``graph``.

    Args:
        graph: the data; ``owl:imports`` are ignored.
        search_budget: at most this many further HermiT runs to narrow down an inconsistency
            that no disjointness explains (0: no search).

    Raises:
        ReasonerUnavailable: Java or owlready2 failed for a reason other than the data.
    """
    import owlready2

    clean = _without_imports(graph)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            world = _hermit(clean, tmp)
        except owlready2.OwlReadyInconsistentOntologyError:
            explanations = explain_inconsistency(clean, search_budget)
            return ReasonerReport(consistent=False, explanations=explanations)
        unsatisfiable = tuple(sorted(
            str(c.iri) for c in world.inconsistent_classes()  # type: ignore[attr-defined]
            if c is not owlready2.Nothing
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
        listed = graph.value(axiom, OWL.members)
        members = [m for m in graph.items(listed) if isinstance(m, URIRef)] if listed else []
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


def _short(node: object) -> str:
    return shorten(str(node)) if isinstance(node, URIRef) else (
        f'"{node}"' if isinstance(node, Literal) else str(node))


def _typed_by(graph: Graph, node: URIRef) -> dict[URIRef, tuple[str, ...]]:
    """The classes ``node`` is an instance of, each with the axioms that make it so.

    Asserted types, the domain of each object or datatype property it is the subject of, and
    the range of each object property it is the object of. Annotation properties have no
    logical domain or range and are skipped.
    """
    logical = set(graph.subjects(RDF.type, OWL.ObjectProperty)) | set(
        graph.subjects(RDF.type, OWL.DatatypeProperty))
    found: dict[URIRef, tuple[str, ...]] = {}
    for cls in graph.objects(node, RDF.type):
        if isinstance(cls, URIRef):
            found.setdefault(cls, (f"{_short(node)} rdf:type {_short(cls)}",))
    for prop, value in graph.predicate_objects(node):
        for domain in graph.objects(prop, RDFS.domain) if prop in logical else ():
            if isinstance(domain, URIRef):
                found.setdefault(domain, (f"{_short(prop)} rdfs:domain {_short(domain)}",
                                          f"{_short(node)} {_short(prop)} {_short(value)}"))
    for subject, prop in graph.subject_predicates(node):
        for range_ in graph.objects(prop, RDFS.range) if prop in logical else ():
            if isinstance(range_, URIRef):
                found.setdefault(range_, (f"{_short(prop)} rdfs:range {_short(range_)}",
                                          f"{_short(subject)} {_short(prop)} {_short(node)}"))
    return found


def _ancestry(graph: Graph, cls: URIRef) -> dict[URIRef, tuple[str, ...]]:
    """Every superclass of ``cls`` (itself included) with the subclass axioms leading there."""
    found: dict[URIRef, tuple[str, ...]] = {cls: ()}
    frontier = [cls]
    while frontier:
        current = frontier.pop()
        for parent in graph.objects(current, RDFS.subClassOf):
            if isinstance(parent, URIRef) and parent not in found:
                found[parent] = (*found[current],
                                 f"{_short(current)} rdfs:subClassOf {_short(parent)}")
                frontier.append(parent)
    return found


def _disjoint_clash(graph: Graph, node: URIRef) -> Explanation | None:
    """Two classes of ``node`` (asserted or implied) that fall under disjoint classes."""
    reached: dict[URIRef, tuple[str, ...]] = {}
    for cls, why in sorted(_typed_by(graph, node).items()):
        for ancestor, path in _ancestry(graph, cls).items():
            reached.setdefault(ancestor, (*why, *path))
    for pair in sorted(_disjoint_pairs(graph), key=sorted):
        a, b = sorted(pair)
        if a in reached and b in reached:
            axioms = dict.fromkeys((f"{_short(a)} owl:disjointWith {_short(b)}",
                                    *reached[a], *reached[b]))
            return Explanation(
                str(node),
                f"{node} is an instance of both {a} and {b}, which are declared disjoint",
                tuple(axioms))
    return None


def explain_inconsistency(graph: Graph, search_budget: int = 12) -> tuple[Explanation, ...]:
    """Why HermiT found ``graph`` inconsistent, as the axioms involved.

    Individuals typed, directly or through property domains and ranges, with disjoint classes
    come first; when there are none, a search of at most ``search_budget`` HermiT runs narrows
    the axioms down.
    """
    nodes = {n for triple in graph for n in (triple[0], triple[2]) if isinstance(n, URIRef)}
    found = [e for e in (_disjoint_clash(graph, n) for n in sorted(nodes)) if e]
    if found:
        return tuple(found)
    if search_budget > 0:
        searched = search_justification(graph, search_budget)
        if searched:
            return (searched,)
    return (Explanation(
        "", "HermiT found the data inconsistent, but no individual is typed with two "
        "disjoint classes, and the search for the axioms involved ran out of reasoner runs; "
        "the clash lies in restrictions, property characteristics or equivalences",
    ),)


#: Predicates whose triples never change what HermiT concludes (annotations).
_ANNOTATION_NAMESPACES = ("http://www.w3.org/2004/02/skos/core#", "http://purl.org/dc/terms/",
                          "http://www.geneontology.org/formats/oboInOwl#",
                          "http://purl.obolibrary.org/obo/IAO_")
_ANNOTATIONS = {RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.versionInfo,
                OWL.deprecated}
_DECLARATIONS = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                 OWL.NamedIndividual, OWL.Ontology}


def _axioms(graph: Graph) -> tuple[Graph, list[frozenset[tuple[Node, Node, Node]]]]:
    """The declarations (always kept) and the logical axioms, each a triple with the blank-node
    structure (restrictions, lists) hanging from its object."""
    annotation_props = set(graph.subjects(RDF.type, OWL.AnnotationProperty))
    background = Graph()
    axioms: list[frozenset[tuple[Node, Node, Node]]] = []
    for s, p, o in sorted(graph):
        if isinstance(s, BNode):
            continue
        if p == RDF.type and o in _DECLARATIONS:
            background.add((s, p, o))
        elif not (p in _ANNOTATIONS or p in annotation_props
                  or str(p).startswith(_ANNOTATION_NAMESPACES)):
            axioms.append(frozenset({(s, p, o), *_closure(graph, o)}))
    return background, axioms


def _closure(graph: Graph, node: Node) -> set[tuple[Node, Node, Node]]:
    """Every triple reachable from ``node`` through blank nodes."""
    found: set[tuple[Node, Node, Node]] = set()
    frontier = [node]
    while frontier:
        current = frontier.pop()
        if not isinstance(current, BNode):
            continue
        for p, o in graph.predicate_objects(current):
            if (current, p, o) not in found:
                found.add((current, p, o))
                frontier.append(o)
    return found


def _render(graph: Graph, node: Node, depth: int = 0) -> str:
    """A node for a reader: blank nodes as their structure, ``[p o; …]`` or ``( a b … )``."""
    if not isinstance(node, BNode) or depth > 8:
        return _short(node)
    if graph.value(node, RDF.first) is not None:
        return "( " + " ".join(_render(graph, item, depth + 1) for item in graph.items(node)) + " )"
    parts = [f"{_short(p)} {_render(graph, o, depth + 1)}"
             for p, o in sorted(graph.predicate_objects(node)) if p != RDF.type]
    return "[ " + " ; ".join(parts) + " ]"


def search_justification(graph: Graph, budget: int = 12) -> Explanation | None:
    """A small set of axioms that HermiT still finds inconsistent, by delta debugging.

    Each step drops a chunk of the remaining axioms if what is left stays inconsistent; at most
    ``budget`` HermiT runs. The result is minimal when the search finished within the budget.
    """
    background, axioms = _axioms(graph)
    total = len(axioms)

    def inconsistent(kept: list[frozenset[tuple[Node, Node, Node]]]) -> bool:
        candidate = Graph()
        for triple in background:
            candidate.add(triple)
        for axiom in kept:
            for triple in axiom:
                candidate.add(triple)
        return not is_consistent(candidate)

    runs, chunks = 0, 2
    while len(axioms) > 1 and runs < budget:
        size = -(-len(axioms) // chunks)
        for start in range(0, len(axioms), size):
            if runs >= budget:
                break
            runs += 1
            rest = axioms[:start] + axioms[start + size:]
            if inconsistent(rest):
                axioms, chunks = rest, max(chunks - 1, 2)
                break
        else:
            if chunks >= len(axioms):
                break
            chunks = min(len(axioms), chunks * 2)
            continue
    minimal = runs < budget or len(axioms) <= 1
    kept = Graph()
    for axiom in axioms:
        for triple in axiom:
            kept.add(triple)
    rendered = tuple(sorted(f"{_short(s)} {_short(p)} {_render(kept, o)}"
                            for axiom in axioms for s, p, o in axiom if not isinstance(s, BNode)))
    subject = next((str(s) for axiom in axioms for s, _, _ in axiom if isinstance(s, URIRef)), "")
    how = "these axioms are" if minimal else "the clash lies within these axioms, which are"
    return Explanation(subject, f"HermiT finds {how} inconsistent together "
                       f"({len(axioms)} of {total}, {runs} reasoner runs)",
                       rendered)


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
