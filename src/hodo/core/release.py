"""What a release is: its named graphs, its files and the checksums beside them.

The build writes a release (``hodo.pipeline.build``); the engine loads and serves one
(``hodo.engine``); both read these names from here.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import URIRef

from hodo.core.namespaces import BASE, HODO

ONTOLOGY_IRI = URIRef(BASE + "hodo.owl")

GRAPH_NAMES = ("ontology", "imports", "mappings", "findings", "inferred", "metadata")

#: Release artifacts: file name -> rdflib format of the union graph.
ARTIFACTS = {
    "hodo.ttl": "turtle",
    "hodo.owl": "xml",
    "hodo.jsonld": "json-ld",
    "hodo.nt": "nt",
}
DATASET_FILE = "hodo.nq"
#: The classes and object properties in OBO format, for tools that read no RDF.
OBO_FILE = "hodo.obo"
#: The JSON-LD context of HODO's prefix map, for clients that compact or expand HODO's CURIEs.
CONTEXT_FILE = "context.jsonld"
CHECKSUMS_FILE = "SHA256SUMS"
#: The release in other tools' exchange formats (``hodo.pipeline.exports``): KGX TSV and JSON
#: Lines, the findings as nanopublications (TriG), the Chinese layer as a Babelon table.
EXPORT_FILES = ("hodo_nodes.tsv", "hodo_edges.tsv", "hodo_nodes.jsonl", "hodo_edges.jsonl",
                "hodo.nanopubs.trig", "hodo-zh.babelon.tsv")
#: The SHACL shapes travel with the release, each as ``shapes-<file>``, so a downloaded release
#: can be validated by the very shapes it was checked with.
SHAPES_PREFIX = "shapes-"


def read_checksums(dist: Path) -> dict[str, str]:
    """``SHA256SUMS`` of a release folder as file name -> hex digest; empty when it is missing.

    Raises:
        OSError, UnicodeDecodeError: it cannot be read.
        ValueError: a line is not ``<sha256>  <file>`` (the message names the line).
    """
    sums = dist / CHECKSUMS_FILE
    if not sums.exists():
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64 or not set(digest) <= set("0123456789abcdef"):
            raise ValueError(f"line {number} is not `<sha256>  <file>`")
        found[name.strip()] = digest
    return found


def graph_iri(name: str) -> URIRef:
    """The IRI of a named graph of the release."""
    return HODO[f"graph/{name}"]
