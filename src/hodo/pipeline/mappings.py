"""HODO's SSSOM mapping set: read it, and turn it into SKOS mapping triples for the release.

The mapping set (``ontology/mappings/hodo.sssom.tsv``) is curated by hand: a YAML metadata block
(each line starting with ``#``) and a table, as the SSSOM specification lays it out. Only what the
release needs is read here; full validation is the SSSOM libraries' job (see the tests).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from hodo.core.errors import UsageError
from hodo.core.namespaces import HODO, VOID

MAPPINGS_FILE = "hodo.sssom.tsv"
#: The SKOS mapping predicates SSSOM allows for class-to-class mappings HODO publishes.
SKOS_PREDICATES = ("skos:exactMatch", "skos:closeMatch", "skos:broadMatch", "skos:narrowMatch",
                   "skos:relatedMatch")


class MappingError(UsageError):
    """The mapping set cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class MappingSet:
    """The metadata block and the rows of one SSSOM/TSV file."""

    metadata: dict[str, object]
    rows: tuple[dict[str, str], ...]

    @property
    def curie_map(self) -> dict[str, str]:
        """The prefixes the file declares."""
        return dict(self.metadata.get("curie_map") or {})  # type: ignore[call-overload]

    def expand(self, curie: str) -> URIRef:
        """The IRI of a CURIE under the file's own ``curie_map``.

        Raises:
            MappingError: the prefix is not declared.
        """
        prefix, _, local = curie.partition(":")
        if prefix not in self.curie_map:
            raise MappingError(f"{curie}: prefix {prefix} is not in the curie_map")
        return URIRef(self.curie_map[prefix] + local)


def read_mapping_set(path: Path) -> MappingSet:
    """Parse an SSSOM/TSV file with its embedded metadata block.

    Raises:
        MappingError: the file is missing, or its metadata or table is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MappingError(f"{path}: cannot read: {error.strerror or error}") from error
    lines = text.splitlines(keepends=True)
    block = [line[1:] for line in lines if line.startswith("#")]
    table = [line for line in lines if not line.startswith("#")]
    try:
        metadata = yaml.safe_load("".join(block)) or {}
    except yaml.YAMLError as error:
        raise MappingError(f"{path}: metadata block is not YAML: {error}") from error
    if not isinstance(metadata, dict):
        raise MappingError(f"{path}: metadata block is not a YAML mapping")
    rows = tuple(csv.DictReader(io.StringIO("".join(table)), delimiter="\t"))
    for number, row in enumerate(rows, start=len(block) + 2):
        if row.get("predicate_id") not in SKOS_PREDICATES:
            raise MappingError(f"{path}: line {number}: predicate {row.get('predicate_id')!r}"
                               f" is not one of {', '.join(SKOS_PREDICATES)}")
    return MappingSet(metadata, rows)


def mapping_graph(mapping_set: MappingSet) -> Graph:
    """SKOS mapping triples (subject predicate object) and a VoID description of the set."""
    graph = Graph()
    for row in mapping_set.rows:
        graph.add((mapping_set.expand(row["subject_id"]), mapping_set.expand(row["predicate_id"]),
                   mapping_set.expand(row["object_id"])))
    dataset = HODO["mappings"]
    graph.add((dataset, RDF.type, VOID.Linkset))
    graph.add((dataset, DCTERMS.title, Literal(str(mapping_set.metadata.get(
        "mapping_set_title", "")), lang="en")))
    graph.add((dataset, VOID.dataDump, HODO[MAPPINGS_FILE]))
    graph.add((dataset, VOID.triples, Literal(len(mapping_set.rows), datatype=XSD.integer)))
    if "license" in mapping_set.metadata:
        graph.add((dataset, DCTERMS.license, URIRef(str(mapping_set.metadata["license"]))))
    return graph
