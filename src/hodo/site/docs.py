"""Data of the ontology's documentation and of the downloads list, as plain values.

No Flask here: every function takes the store (or a folder) and returns data, so the same page
can later be answered from a remote SPARQL server instead of the embedded store.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import OWL, RDF, RDFS, Graph
from rdflib import BNode as RBNode
from rdflib.namespace import SH

from hodo.core import paths
from hodo.core.formats import release_media_type
from hodo.core.namespaces import BASE, shorten
from hodo.core.release import SHAPES_PREFIX, read_checksums
from hodo.pipeline.sources import parse_file

ONTOLOGY_IRI = BASE + "hodo.owl"
GRAPHS = ("ontology", "imports", "mappings", "findings", "inferred", "metadata")
PREFIXES = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX obo: <http://purl.obolibrary.org/obo/>
PREFIX hodo: <https://w3id.org/hodo/>
"""

Labels = dict[str, str]


def _query(store: ox.Store, text: str) -> list[Any]:
    return list(store.query(PREFIXES + text, use_default_graph_as_union=True))  # type: ignore[arg-type]


def _count(store: ox.Store, text: str) -> int:
    return int(_query(store, text)[0]["n"].value)


def _texts(store: ox.Store, subject: str, predicate: str) -> Labels:
    """A bilingual literal of one resource, by language (the last one of a language wins)."""
    rows = _query(store, f"SELECT ?v WHERE {{ <{subject}> {predicate} ?v FILTER isLiteral(?v) }}")
    found: Labels = {}
    for row in rows:
        lang = (row["v"].language or "").split("-")[0] or "en"
        found[lang] = row["v"].value
    return found


@dataclass(frozen=True)
class Header:
    """The ontology header: only what the data states."""

    iri: str
    title: Labels
    description: Labels
    version: str | None
    version_iri: str | None
    license: str | None
    source: str | None
    source_title: Labels
    creators: list[str]
    contributors: list[str]


def _one(store: ox.Store, subject: str, predicate: str) -> str | None:
    rows = _query(store, f"SELECT ?v WHERE {{ <{subject}> {predicate} ?v }} "
                         "ORDER BY STR(?v) LIMIT 1")
    return rows[0]["v"].value if rows else None


def _all(store: ox.Store, subject: str, predicate: str) -> list[str]:
    rows = _query(store, f"SELECT DISTINCT ?v WHERE {{ <{subject}> {predicate} ?v }}")
    return sorted(row["v"].value for row in rows)


def header(store: ox.Store, iri: str = ONTOLOGY_IRI) -> Header:
    """The ontology's own metadata, read from the release."""
    source = _one(store, iri, "dcterms:source")
    return Header(
        iri=iri,
        title=_texts(store, iri, "dcterms:title"),
        description=_texts(store, iri, "dcterms:description"),
        version=_one(store, iri, "owl:versionInfo"),
        version_iri=_one(store, iri, "owl:versionIRI"),
        license=_one(store, iri, "dcterms:license"),
        source=source,
        source_title=_texts(store, source, "dcterms:title") if source else {},
        creators=_all(store, iri, "dcterms:creator"),
        contributors=_all(store, iri, "dcterms:contributor"),
    )


def citation(head: Header) -> str:
    """A BibTeX-like entry built only from what the header states."""
    fields = [("title", head.title.get("en")), ("version", head.version),
              ("url", head.iri), ("note", head.version_iri and f"versionIRI {head.version_iri}"),
              ("author", " and ".join(head.creators) or None)]
    body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields if value)
    return "@misc{hodo" + (f"_{head.version}" if head.version else "") + ",\n" + body + "\n}"


def labels_of(store: ox.Store) -> dict[str, Labels]:
    """Every rdfs:label in the release, by IRI and language."""
    return _texts_by_language(store, "rdfs:label")


def definitions_of(store: ox.Store) -> dict[str, Labels]:
    """Every IAO definition in the release, by IRI and language."""
    return _texts_by_language(store, "obo:IAO_0000115")


def _texts_by_language(store: ox.Store, predicate: str) -> dict[str, Labels]:
    """The first value of ``predicate`` per IRI and language (untagged counts as English)."""
    found: dict[str, Labels] = defaultdict(dict)
    for row in _query(store, f"SELECT ?s ?t WHERE {{ ?s {predicate} ?t FILTER isIRI(?s) }}"):
        lang = (row["t"].language or "").split("-")[0] or "en"
        found[row["s"].value].setdefault(lang, row["t"].value)
    return dict(found)


def prefix_of(iri: str) -> str:
    """The prefix a term is reused from (HODO for minted terms)."""
    curie = shorten(iri)
    return curie.split(":")[0].upper() if curie != iri else iri


def reused_terms(store: ox.Store) -> list[tuple[str, int]]:
    """External terms the release declares or labels, counted by prefix, most first."""
    rows = _query(store, """SELECT DISTINCT ?t WHERE {
        { ?t a owl:Class } UNION { ?t a owl:ObjectProperty } UNION { ?t a owl:DatatypeProperty }
        UNION { ?t a owl:AnnotationProperty } FILTER isIRI(?t) }""")
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        iri = row["t"].value
        if not iri.startswith(BASE):
            counts[prefix_of(iri)] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def classes(store: ox.Store) -> list[str]:
    """Every named class in the release."""
    rows = _query(store, "SELECT DISTINCT ?c WHERE { ?c a owl:Class FILTER isIRI(?c) }")
    return sorted(row["c"].value for row in rows)


def direct_parents(store: ox.Store, named: set[str]) -> dict[str, set[str]]:
    """Parents asserted or inferred, reduced to the direct ones so the tree nests once."""
    ancestors: dict[str, set[str]] = defaultdict(set)
    rows = _query(store, "SELECT DISTINCT ?c ?p WHERE { ?c rdfs:subClassOf ?p "
                         "FILTER (isIRI(?c) && isIRI(?p) && ?c != ?p) }")
    for row in rows:
        child, parent = row["c"].value, row["p"].value
        if child in named and parent in named:
            ancestors[child].add(parent)
    closure = {c: _closure(c, ancestors) for c in named}
    return {c: {p for p in ancestors[c]
                if not any(p in closure[q] and c not in closure[p] for q in ancestors[c] if q != p)}
            for c in named}


def _closure(start: str, ancestors: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(ancestors.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(ancestors.get(node, ()))
    return seen


@dataclass
class TreeNode:
    """One class in the tree, with its subclasses."""

    iri: str
    children: list[TreeNode] = field(default_factory=list)


def class_tree(store: ox.Store) -> list[TreeNode]:
    """Every class nested under each of its direct parents; roots have none among the classes."""
    named = set(classes(store)) - {"http://www.w3.org/2002/07/owl#Thing"}
    parents = direct_parents(store, named)
    children: dict[str, list[str]] = defaultdict(list)
    for child, ps in parents.items():
        for parent in ps:
            children[parent].append(child)
    roots = sorted((c for c in named if not parents[c]),
                   key=lambda c: (not c.startswith(BASE), c))
    return [_subtree(root, children, frozenset()) for root in roots]


def _subtree(iri: str, children: dict[str, list[str]], path: frozenset[str]) -> TreeNode:
    below = [c for c in sorted(children.get(iri, ())) if c not in path]
    return TreeNode(iri, [_subtree(c, children, path | {iri}) for c in below])


@dataclass(frozen=True)
class Property:
    """A property with its kind, domain and range."""

    iri: str
    kind: str
    domains: list[str]
    ranges: list[str]


def properties(store: ox.Store) -> list[Property]:
    """Object, data and annotation properties of the release."""
    found: list[Property] = []
    for kind in ("ObjectProperty", "DatatypeProperty", "AnnotationProperty"):
        rows = _query(store, f"SELECT DISTINCT ?p WHERE {{ ?p a owl:{kind} FILTER isIRI(?p) }}")
        for iri in sorted(row["p"].value for row in rows):
            found.append(Property(iri, kind, _iris(store, iri, "rdfs:domain"),
                                  _iris(store, iri, "rdfs:range")))
    return found


def _iris(store: ox.Store, subject: str, predicate: str) -> list[str]:
    rows = _query(store, f"SELECT DISTINCT ?v WHERE {{ <{subject}> {predicate} ?v "
                         "FILTER isIRI(?v) }")
    return sorted(row["v"].value for row in rows)


COUNT_QUERIES = {
    "classes": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a owl:Class FILTER isIRI(?x) }",
    "object_properties": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a owl:ObjectProperty }",
    "data_properties": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a owl:DatatypeProperty }",
    "annotation_properties":
        "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a owl:AnnotationProperty }",
    "findings": "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a hodo:HODO_0000110 }",
    "references":
        "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a dcterms:BibliographicResource }",
    "mappings": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/hodo/graph/mappings> "
                "{ ?s ?p ?o FILTER (?p IN (skos:exactMatch, skos:closeMatch, skos:broadMatch, "
                "skos:narrowMatch, skos:relatedMatch)) } }",
}


def counts(store: ox.Store) -> dict[str, int]:
    """What the release holds, each number the answer of one SPARQL query."""
    return {name: _count(store, text) for name, text in COUNT_QUERIES.items()}


def graph_sizes(store: ox.Store) -> dict[str, int]:
    """Triples per named graph."""
    return {name: _count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BASE}graph/{name}>"
                                " { ?s ?p ?o } }") for name in GRAPHS}


@dataclass(frozen=True)
class Shape:
    """One SHACL shape as a reader needs it."""

    name: str
    file: str
    kind: str
    label: Labels
    targets: list[str]
    path: str | None
    severity: str
    message: Labels


def shapes(shapes_dir: Path = paths.SHAPES_DIR, pattern: str = "*.ttl") -> list[Shape]:
    """Every node and property shape in the shapes files; property shapes are shared between
    files, so all files are read into one graph and each shape is listed once.

    A release folder holds the shapes as ``shapes-<file>``: pass ``pattern="shapes-*.ttl"``.
    """
    graph = Graph()
    home: dict[Any, str] = {}
    for file in sorted(shapes_dir.glob(pattern)):
        part = parse_file(file, Graph())
        for node in set(part.subjects(RDF.type, None)) | set(part.subjects(SH.path, None)):
            home.setdefault(node, file.name.removeprefix(SHAPES_PREFIX))
        graph += part
    nodes = set(graph.subjects(RDF.type, SH.NodeShape)) | set(
        graph.subjects(RDF.type, SH.PropertyShape)) | set(graph.objects(None, SH.property))
    found = [_shape(graph, node, home.get(node, "")) for node in nodes]
    return sorted(found, key=lambda s: (s.file, s.kind != "NodeShape", s.name))


def _shape(graph: Graph, node: Any, file: str) -> Shape:
    path = graph.value(node, SH.path)
    owners = sorted(graph.subjects(SH.property, node), key=str)
    name = _name(node) if not isinstance(node, RBNode) else (
        f"{' / '.join(_name(o) for o in owners) or file} → {_name(path) if path else '…'}")
    kind = "PropertyShape" if path is not None else "NodeShape"
    severity = graph.value(node, SH.severity)
    targets = sorted({t for owner in (owners or [node]) for t in _targets(graph, owner)})
    return Shape(name, file, kind, _literals(graph, node, RDFS.label), targets,
                 _name(path) if path is not None else None,
                 str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                 _literals(graph, node, SH.message))


def _targets(graph: Graph, node: Any) -> list[str]:
    found = [f"{kind}: {_name(value)}" for kind in ("targetClass", "targetNode",
             "targetSubjectsOf", "targetObjectsOf") for value in graph.objects(node, SH[kind])]
    found += ["SPARQL" for _ in graph.objects(node, SH.target)]
    if (node, RDF.type, SH.NodeShape) in graph and not found and (
            node, RDF.type, OWL.Class) in graph:
        found.append(f"implicit class: {_name(node)}")
    return sorted(found)


def _literals(graph: Graph, node: Any, predicate: Any) -> Labels:
    found: Labels = {}
    for message in graph.objects(node, predicate):
        lang = (getattr(message, "language", None) or "en").split("-")[0]
        found.setdefault(lang, str(message))
    return found


def _name(node: Any) -> str:
    if isinstance(node, RBNode):
        return "(path expression)"
    return shorten(str(node))


@dataclass(frozen=True)
class Download:
    """One file a reader can download."""

    name: str
    path: Path
    media_type: str
    size: int
    sha256: str
    listed_sha256: str | None
    kind: str
    #: What the file is, by language (``en``, ``zh``); empty for a file the table does not know.
    description: dict[str, str] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """Whether the bytes hash to what SHA256SUMS states (shapes have no listed sum)."""
        return self.listed_sha256 is None or self.listed_sha256 == self.sha256


#: What each release file is, in English and Chinese (the shapes are described by their group).
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "hodo.ttl": {"en": "The whole release in Turtle", "zh": "完整发布版本（Turtle 格式）"},
    "hodo.owl": {"en": "The whole release in RDF/XML, for OWL tools",
                 "zh": "完整发布版本（RDF/XML 格式，供 OWL 工具使用）"},
    "hodo.jsonld": {"en": "The whole release in JSON-LD", "zh": "完整发布版本（JSON-LD 格式）"},
    "hodo.nt": {"en": "The whole release in N-Triples", "zh": "完整发布版本（N-Triples 格式）"},
    "hodo.nq": {"en": "The release's named graphs in N-Quads",
                "zh": "发布版本的命名图（N-Quads 格式）"},
    "hodo.sssom.tsv": {"en": "The mappings to other ontologies, as an SSSOM table",
                       "zh": "与其他本体的映射（SSSOM 表）"},
    "context.jsonld": {"en": "HODO's prefixes as a JSON-LD context",
                       "zh": "HODO 前缀的 JSON-LD 上下文"},
    "SHA256SUMS": {"en": "The SHA-256 checksum of every release file",
                   "zh": "每个发布文件的 SHA-256 校验和"},
    "hodo_nodes.tsv": {"en": "KGX TSV nodes: every subject and object of a finding, with its "
                             "Biolink category, names and cross-references",
                       "zh": "KGX TSV 节点：研究发现的每个主体和客体，"
                             "附 Biolink 类别、名称和交叉引用"},
    "hodo_edges.tsv": {"en": "KGX TSV edges: every finding as a Biolink association with its "
                             "qualifiers, publications, negation and evidence",
                       "zh": "KGX TSV 边：每个研究发现作为 Biolink 关联，"
                             "附限定词、文献、否定和证据"},
    "hodo_nodes.jsonl": {"en": "The KGX nodes as JSON Lines", "zh": "KGX 节点（JSON Lines 格式）"},
    "hodo_edges.jsonl": {"en": "The KGX edges as JSON Lines", "zh": "KGX 边（JSON Lines 格式）"},
    "hodo.nanopubs.trig": {"en": "Every finding as a nanopublication (assertion, provenance and "
                                 "publication info graphs), in TriG",
                           "zh": "每个研究发现作为一个纳米出版物"
                                 "（断言、来源和出版信息图），TriG 格式"},
    "CHANGELOG.md": {"en": "What changed since the previous release, and in the releases "
                           "before it (Markdown)",
                     "zh": "自上一版本以来以及更早各版本的变更（Markdown 格式）"},
    "CHANGELOG.zh.md": {"en": "The same changelog in Chinese (Markdown)",
                        "zh": "同一更新日志的中文版（Markdown 格式）"},
    "changelog.json": {"en": "What changed since the previous release, for programs (JSON)",
                       "zh": "自上一版本以来的变更，供程序读取（JSON 格式）"},
    "hodo-zh.babelon.tsv": {"en": "The Chinese labels, definitions and synonyms as a Babelon "
                                  "translation table (en to zh)",
                            "zh": "中文标签、定义和同义词的 Babelon 翻译表（英译中）"},
}


def media_type(name: str) -> str:
    """The media type of a release file, from the formats table."""
    return release_media_type(name)


def downloads(dist: Path) -> list[Download]:
    """The release files, then the SHACL shapes the release carries, each hashed from its bytes.
    """
    listed = read_checksums(dist)
    files = [p for p in sorted(dist.iterdir()) if p.is_file() and not p.name.endswith(".tmp")
             and not p.name.startswith(".")]
    shapes = [p for p in files if p.name.startswith(SHAPES_PREFIX)]
    return [_download(p.name, p, listed.get(p.name), "shapes" if p in shapes else "release")
            for p in [*(p for p in files if p not in shapes), *shapes]]


def _download(name: str, path: Path, listed: str | None, kind: str) -> Download:
    data = path.read_bytes()
    return Download(name, path, media_type(path.name), len(data),
                    hashlib.sha256(data).hexdigest(), listed, kind, DESCRIPTIONS.get(name, {}))
