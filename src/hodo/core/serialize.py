"""Deterministic serialisation: the same graph gives the same bytes, on every run.

rdflib orders Turtle by subject and predicate but names blank nodes at random, and its JSON-LD
and N-Triples writers follow hash order; so blank nodes are canonicalised first and line-based
or JSON output is sorted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.compare import to_canonical_graph

from hodo.core.namespaces import PREFIXES


def canonical(graph: Graph) -> Graph:
    """A copy of ``graph`` with blank nodes named by content and HODO's prefixes bound."""
    if any(isinstance(node, BNode) for triple in graph for node in triple):
        result = Graph()
        for triple in to_canonical_graph(graph):
            result.add(triple)
    else:
        result = Graph()
        for triple in graph:
            result.add(triple)
    bind_prefixes(result)
    return result


def bind_prefixes(graph: Graph) -> None:
    """Bind HODO's prefix map, replacing rdflib's defaults so output is the same everywhere."""
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True, replace=True)


def to_bytes(graph: Graph, rdflib_format: str, header: str = "") -> bytes:
    """Serialise ``graph`` deterministically in one of rdflib's formats."""
    graph = canonical(graph)
    if rdflib_format == "nt":
        lines = graph.serialize(format="nt").splitlines()
        text = "\n".join(sorted(line for line in lines if line.strip())) + "\n"
    elif rdflib_format == "json-ld":
        data = json.loads(graph.serialize(format="json-ld", context=dict(PREFIXES)))
        text = json.dumps(_sorted_json(data), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    elif rdflib_format == "xml":
        # rdflib writes RDF/XML in hash order; Oxigraph writes in input order, so feed it sorted.
        ntriples = to_bytes(graph, "nt")
        quads = ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)
        text = (ox.serialize(quads, format=ox.RdfFormat.RDF_XML, prefixes=PREFIXES)
                or b"").decode()
    else:
        text = graph.serialize(format=rdflib_format)
    if header and rdflib_format in ("turtle", "nt"):
        text = "".join(f"# {line}\n" for line in header.splitlines()) + "\n" + text
    return text.encode("utf-8")


def to_nquads(graphs: Mapping[URIRef, Graph]) -> bytes:
    """N-Quads of named graphs, blank nodes canonicalised per graph, lines sorted.

    Written from N-Triples lines: rdflib's own N-Quads writer goes through deprecated API.
    """
    lines: list[str] = []
    for name, graph in graphs.items():
        for line in to_bytes(graph, "nt").decode("utf-8").splitlines():
            if line:
                lines.append(f"{line[:-2]} <{name}> .")
    return ("\n".join(sorted(lines)) + "\n").encode("utf-8")

def _sorted_json(value: Any) -> Any:
    """Sort every JSON-LD array by content, except ``@list`` arrays, whose order is data."""
    if isinstance(value, dict):
        return {k: (v if k == "@list" else _sorted_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value
