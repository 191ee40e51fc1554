"""Every finding as a nanopublication, all of them in one TriG file (``hodo.nanopubs.trig``).

Each nanopublication has the four graphs of the nanopublication guidelines: a head graph that
types the nanopublication and names the other three; an assertion graph holding the finding's
claim (the OBAN association with its polarity, qualifiers, population and quantities); a
provenance graph saying where the assertion comes from (the sentence, the section, the cited
reference or the article itself, the ECO evidence type, the source sentence in Chinese and
English); and a publication-info graph about the nanopublication (its label, licence, the HODO
release it was made from). They are not signed and carry no trusty URI: they are published
inside a release whose ``SHA256SUMS`` fixes their bytes. No creation time is written, so the same
release gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS

from hodo import __version__
from hodo.core.namespaces import HODO, OBO, PREFIXES
from hodo.core.release import ONTOLOGY_IRI
from hodo.core.serialize import canonical

NP = Namespace("http://www.nanopub.org/nschema#")
NANOPUBS_FILE = "hodo.nanopubs.trig"
FINDING = HODO["HODO_0000110"]
HAS_QUANTITY = HODO["HODO_0000203"]
#: Statements about a finding that say where its claim comes from, not what it claims.
PROVENANCE = (PROV.wasDerivedFrom, DCTERMS.source, OBO["RO_0002558"], HODO["HODO_0000202"],
              HODO["HODO_0000201"], SKOS.editorialNote)
#: Prefixes the TriG file declares beside HODO's own.
EXTRA_PREFIXES = {"np": str(NP)}


@dataclass(frozen=True)
class Nanopub:
    """One nanopublication: its IRI and its four named graphs, head first."""

    iri: URIRef
    graphs: tuple[tuple[URIRef, Graph], ...]


def nanopub_iri(finding: URIRef) -> URIRef:
    """The nanopublication of a finding: ``<base>np/<finding's local name>``."""
    return HODO["np/" + str(finding).rsplit("/", 1)[-1]]


def nanopubs(graph: Graph) -> list[Nanopub]:
    """One nanopublication per finding of ``graph``, in the order of the findings' IRIs."""
    release = graph.value(ONTOLOGY_IRI, OWL.versionIRI)
    licence = graph.value(ONTOLOGY_IRI, DCTERMS.license)
    findings = sorted(f for f in graph.subjects(RDF.type, FINDING) if isinstance(f, URIRef))
    return [_nanopub(graph, f, release, licence) for f in findings]


def _nanopub(graph: Graph, finding: URIRef, release: object, licence: object) -> Nanopub:
    iri = nanopub_iri(finding)
    names = {part: URIRef(f"{iri}#{part}")
             for part in ("Head", "assertion", "provenance", "pubinfo")}
    head, assertion, provenance, pubinfo = Graph(), Graph(), Graph(), Graph()
    head.add((iri, RDF.type, NP.Nanopublication))
    head.add((iri, NP.hasAssertion, names["assertion"]))
    head.add((iri, NP.hasProvenance, names["provenance"]))
    head.add((iri, NP.hasPublicationInfo, names["pubinfo"]))
    for p, o in graph.predicate_objects(finding):
        if p in PROVENANCE:
            provenance.add((names["assertion"], p, o))
        else:
            assertion.add((finding, p, o))
    for quantity in graph.objects(finding, HAS_QUANTITY):
        for triple in graph.triples((quantity, None, None)):
            assertion.add(triple)
    provenance.add((names["assertion"], PROV.wasQuotedFrom, HODO["article"]))
    pubinfo.add((iri, RDFS.label, Literal(f"Nanopublication of {finding.rsplit('/', 1)[-1]}")))
    pubinfo.add((iri, PROV.wasDerivedFrom, URIRef(str(release or ONTOLOGY_IRI))))
    pubinfo.add((iri, DCTERMS.creator, Literal(f"hodo {__version__}")))
    if isinstance(licence, URIRef):
        pubinfo.add((iri, DCTERMS.license, licence))
    return Nanopub(iri, ((names["Head"], head), (names["assertion"], assertion),
                         (names["provenance"], provenance), (names["pubinfo"], pubinfo)))


def trig(items: list[Nanopub], header: str = "") -> bytes:
    """All nanopublications as one TriG document, each graph's Turtle written deterministically.
    """
    prefixes = [f"@prefix {p}: <{iri}> ." for p, iri in
                sorted({**PREFIXES, **EXTRA_PREFIXES}.items())]
    lines = [f"# {line}" for line in header.splitlines()] + prefixes
    for item in items:
        for name, graph in item.graphs:
            local, body = _body(graph, set(prefixes))
            lines += ["", *local, f"<{name}> {{", *body, "}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _body(graph: Graph, declared: set[str]) -> tuple[list[str], list[str]]:
    """The statements of ``graph`` as Turtle (blank nodes named by content, so the bytes are
    the same on every run), and any prefix line it needs beyond those the document declares
    (TriG lets a prefix be declared before each graph)."""
    ready = canonical(graph)
    for prefix, iri in EXTRA_PREFIXES.items():
        ready.bind(prefix, iri)
    text = ready.serialize(format="turtle")
    local = [line for line in text.splitlines()
             if line.startswith("@prefix") and line not in declared]
    body = ["    " + line for line in text.splitlines()
            if line.strip() and not line.startswith("@prefix")]
    return local, body
