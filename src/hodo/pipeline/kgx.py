"""HODO's findings as a Biolink Model knowledge graph in KGX's exchange formats.

Every finding becomes one association edge (subject, Biolink predicate, object) carrying its
qualifiers, publications, negation, ECO evidence, knowledge level, agent type, knowledge source
and the sentence it rests on (Chinese verbatim, English rendering); every subject and object
becomes a node with its CURIE, English name, Chinese and English synonyms, Biolink category and
cross-references. Written as KGX TSV (``hodo_nodes.tsv``, ``hodo_edges.tsv``) and KGX JSON Lines
(``hodo_nodes.jsonl``, ``hodo_edges.jsonl``) with the csv and json modules only: the KGX package
is needed to check the files, never to write them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from hodo.core import paths
from hodo.core.namespaces import BIOLINK, HODO, OBAN, OBO, OBOINOWL, shorten

#: The ``infores`` identifier HODO gives itself as the primary knowledge source of its edges.
INFORES = "infores:hodo"
NODES_TSV, EDGES_TSV = "hodo_nodes.tsv", "hodo_edges.tsv"
NODES_JSONL, EDGES_JSONL = "hodo_nodes.jsonl", "hodo_edges.jsonl"
FILES = (NODES_TSV, EDGES_TSV, NODES_JSONL, EDGES_JSONL)
#: Where the relation -> Biolink predicate table extracted from the Biolink Model is kept.
PREDICATES_FILE = paths.ONTOLOGY_DIR / "source" / "biolink-predicates.tsv"
FALLBACK_PREDICATE = "biolink:related_to"

FINDING = HODO["HODO_0000110"]
SOURCE_SENTENCE = HODO["HODO_0000201"]
POPULATION_CONDITION = HODO["HODO_0000213"]
EVIDENCE = OBO["RO_0002558"]

#: Biolink categories by the root of the branch a node sits in, nearest ancestor first; a node
#: of no listed branch falls back on its prefix (:data:`CATEGORY_BY_PREFIX`), then NamedThing.
CATEGORY_BY_ROOT = {
    OBO["MONDO_0000001"]: "biolink:Disease",
    OBO["MONDO_0021178"]: "biolink:Disease",
    OBO["HP_0000001"]: "biolink:PhenotypicFeature",
    OBO["GO_0008150"]: "biolink:BiologicalProcess",
    OBO["GO_0003674"]: "biolink:MolecularActivity",
    OBO["GO_0005575"]: "biolink:CellularComponent",
    OBO["CHEBI_24431"]: "biolink:ChemicalEntity",
    OBO["CHEBI_50906"]: "biolink:ChemicalRole",
    HODO["HODO_0000100"]: "biolink:BiologicalProcess",  # mechanism
    HODO["HODO_0000102"]: "biolink:ClinicalMeasurement",  # clinical measurement
    HODO["HODO_0000101"]: "biolink:ClinicalIntervention",  # therapeutic intervention
    HODO["HODO_0000104"]: "biolink:PhenotypicFeature",  # abnormal laboratory finding
    HODO["HODO_0000008"]: "biolink:DiseaseOrPhenotypicFeature",  # iron overload
}
CATEGORY_BY_PREFIX = {
    "HGNC": "biolink:Gene",
    "MONDO": "biolink:Disease",
    "HP": "biolink:PhenotypicFeature",
    "CHEBI": "biolink:ChemicalEntity",
    "UBERON": "biolink:AnatomicalEntity",
    "CL": "biolink:Cell",
    "NCBITaxon": "biolink:OrganismTaxon",
}
NAMED_THING = "biolink:NamedThing"
DISEASES = ("biolink:Disease", "biolink:DiseaseOrPhenotypicFeature")

#: Finding properties that are Biolink qualifiers already, and HODO's own that map onto one.
QUALIFIERS = {
    BIOLINK[name]: name for name in (
        "species_context_qualifier", "sex_qualifier", "subject_aspect_qualifier",
        "subject_direction_qualifier", "object_aspect_qualifier", "object_direction_qualifier")
} | {POPULATION_CONDITION: "disease_context_qualifier"}

NODE_COLUMNS = ("id", "category", "name", "description", "synonym", "xref", "provided_by")
EDGE_COLUMNS = ("id", "subject", "predicate", "object", "category", "original_predicate", "name",
                "negated", *sorted(QUALIFIERS.values()), "publications", "has_evidence",
                "knowledge_level", "agent_type", "primary_knowledge_source", "supporting_text")
MULTIVALUED = {"category", "synonym", "xref", "provided_by", "publications", "has_evidence",
               "supporting_text"}


@dataclass(frozen=True)
class Kgx:
    """The nodes and edges of the KGX graph, each a dict of KGX properties, sorted by id."""

    nodes: tuple[dict[str, Any], ...]
    edges: tuple[dict[str, Any], ...]


def read_predicates(path: Path = PREDICATES_FILE) -> dict[str, str]:
    """The relation CURIE -> Biolink predicate table (``#`` lines are its provenance)."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    return {row[0]: row[1] for row in rows[1:]}


def kgx_graph(graph: Graph, predicates: dict[str, str] | None = None) -> Kgx:
    """Every finding of ``graph`` as an edge, every node they join as a node."""
    table = read_predicates() if predicates is None else predicates
    findings = sorted(s for s in graph.subjects(RDF.type, FINDING) if isinstance(s, URIRef))
    edges = [_edge(graph, f, table) for f in findings]
    ends = {URIRef(e) for f in findings for e in (
        graph.value(f, OBAN.association_has_subject), graph.value(f, OBAN.association_has_object))
        if isinstance(e, URIRef)}
    nodes = sorted((_node(graph, n) for n in ends), key=lambda n: str(n["id"]))
    return Kgx(tuple(nodes), tuple(edges))


def _edge(graph: Graph, finding: URIRef, predicates: dict[str, str]) -> dict[str, Any]:
    relation = shorten(str(graph.value(finding, OBAN.association_has_object_property)))
    references = sorted(shorten(str(r)) for r in graph.objects(finding, DCTERMS.source))
    edge: dict[str, Any] = {
        "id": shorten(str(finding)),
        "subject": shorten(str(graph.value(finding, OBAN.association_has_subject))),
        "predicate": predicates.get(relation, FALLBACK_PREDICATE),
        "object": shorten(str(graph.value(finding, OBAN.association_has_object))),
        "category": ["biolink:Association"],
        "original_predicate": relation,
        "name": _text(graph, finding, RDFS.label, "en"),
        "negated": graph.value(finding, BIOLINK.negated) == Literal(True),
        "publications": references or [shorten(str(HODO["article"]))],
        "has_evidence": sorted(shorten(str(e)) for e in graph.objects(finding, EVIDENCE)),
        "knowledge_level": "knowledge_assertion",
        "agent_type": "manual_agent",
        "primary_knowledge_source": INFORES,
        "supporting_text": [t for t in (_text(graph, finding, SOURCE_SENTENCE, lang)
                                        for lang in ("zh", "en")) if t],
    }
    for prop, slot in QUALIFIERS.items():
        value = _qualifier(graph, finding, prop)
        if value:
            edge[slot] = value
    return edge


def _qualifier(graph: Graph, finding: URIRef, prop: URIRef) -> str:
    """A qualifier's one value (Biolink's qualifiers are single-valued): of several population
    conditions the ones that are diseases, then the first in sorted order."""
    values = sorted(graph.objects(finding, prop), key=str)
    if prop == POPULATION_CONDITION:
        values = [v for v in values if isinstance(v, URIRef)
                  and category(graph, v) in DISEASES] or values
    if not values:
        return ""
    return str(values[0]) if isinstance(values[0], Literal) else shorten(str(values[0]))


def _node(graph: Graph, node: URIRef) -> dict[str, Any]:
    synonyms = [str(s) for prop in (OBOINOWL.hasExactSynonym, OBOINOWL.hasRelatedSynonym,
                                    OBOINOWL.hasBroadSynonym, OBOINOWL.hasNarrowSynonym)
                for s in graph.objects(node, prop)]
    xrefs = [str(x) for x in graph.objects(node, OBOINOWL.hasDbXref)] + [
        shorten(str(m)) for prop in (SKOS.exactMatch, SKOS.closeMatch)
        for m in graph.objects(node, prop)]
    return {
        "id": shorten(str(node)),
        "category": [category(graph, node)],
        "name": _text(graph, node, RDFS.label, "en") or _text(graph, node, RDFS.label, "zh"),
        "description": _text(graph, node, OBO["IAO_0000115"], "en"),
        "synonym": sorted({*synonyms, _text(graph, node, RDFS.label, "zh")} - {""}),
        "xref": sorted(set(xrefs)),
        "provided_by": [INFORES],
    }


def category(graph: Graph, node: URIRef) -> str:
    """The Biolink category of a node: by the nearest listed branch root, else by prefix."""
    seen: set[URIRef] = set()
    level = [node]
    while level:
        for candidate in sorted(level):
            if candidate in CATEGORY_BY_ROOT:
                return CATEGORY_BY_ROOT[candidate]
        seen.update(level)
        level = sorted({p for n in level for p in graph.objects(n, RDFS.subClassOf)
                        if isinstance(p, URIRef) and p not in seen and p != OWL.Thing})
    prefix = shorten(str(node)).partition(":")[0]
    return CATEGORY_BY_PREFIX.get(prefix, NAMED_THING)


def _text(graph: Graph, node: URIRef, prop: URIRef, lang: str) -> str:
    """The first (sorted) value of ``prop`` in language ``lang``, or ''."""
    values = sorted(str(v) for v in graph.objects(node, prop)
                    if isinstance(v, Literal) and (v.language or "").split("-")[0] == lang)
    return values[0] if values else ""


def tsv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    """KGX TSV: one header row, lists joined by ``|``, booleans as ``True``/``False``."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(_flat(str(v)) for v in value)
    return _flat(str(value))


def _flat(text: str) -> str:
    """TSV cells hold no tab or newline; ``|`` separates list items, so it is escaped away."""
    return " ".join(text.replace("|", "/").split())


def jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    """KGX JSON Lines: one JSON object per line, empty values left out."""
    lines = (json.dumps({k: v for k, v in row.items() if v not in ("", [], None)},
                        ensure_ascii=False, sort_keys=True) for row in rows)
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def kgx_files(graph: Graph) -> Iterator[tuple[str, bytes]]:
    """Each KGX file of ``graph`` as (file name, bytes)."""
    data = kgx_graph(graph)
    yield NODES_TSV, tsv(data.nodes, NODE_COLUMNS)
    yield EDGES_TSV, tsv(data.edges, EDGE_COLUMNS)
    yield NODES_JSONL, jsonl(data.nodes)
    yield EDGES_JSONL, jsonl(data.edges)
