"""HODO's SSSOM mapping set: read it, and turn it into SKOS mapping triples for the release.

The mapping set (``ontology/mappings/hodo.sssom.tsv``) is curated by hand: a YAML metadata block
(each line starting with ``#``) and a table, as the SSSOM specification lays it out. Only what the
release needs is read here; full validation is the SSSOM libraries' job (see the tests).
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, XSD

from hodo.core import paths
from hodo.core.errors import UsageError
from hodo.core.namespaces import HODO, OBOINOWL, VOID
from hodo.pipeline import imports as imp
from hodo.pipeline.imports import Source
from hodo.pipeline.sources import hand_edited_graph

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


def target_labels(mapping_set: MappingSet, labelled: Graph) -> Graph:
    """The ``object_label`` of each mapping target that ``labelled`` gives no label, in English.

    An integrator following ``skos:exactMatch`` to a MeSH or DOID term HODO does not otherwise
    describe would meet a bare IRI; the label is the source's (the set records which release,
    and a test checks each against it). Targets HODO imports keep their import's label only.
    """
    graph = Graph()
    for row in mapping_set.rows:
        target = mapping_set.expand(row["object_id"])
        if row.get("object_label") and labelled.value(target, RDFS.label) is None:
            graph.add((target, RDFS.label, Literal(row["object_label"], lang="en")))
    return graph


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


# --- the recorded searches for the terms HODO mints ---------------------------------------------

SEARCHES_FILE = "minted-term-searches.tsv"
#: The ontologies searched for every term HODO mints, in the order the file lists them.
SEARCHED_PREFIXES = ("MONDO", "HP", "CHEBI", "GO", "MAXO", "UBERON", "CL", "PATO")
SEARCH_COLUMNS = ("subject_id", "subject_label", "names_tried", "ontologies_searched",
                  "exact_matches")
_SYNONYMS = (OBOINOWL.hasExactSynonym, OBOINOWL.hasRelatedSynonym, OBOINOWL.hasNarrowSynonym,
             OBOINOWL.hasBroadSynonym)


def normalise(name: str) -> str:
    """Lower case, every run of other characters than letters and digits one space.

    >>> normalise("Follicle-stimulating  hormone (FSH)")
    'follicle stimulating hormone fsh'
    """
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name.lower()).split())


def is_abbreviation(name: str) -> bool:
    """Whether ``name`` is an abbreviation or as short: every Latin letter upper case (``BMD``,
    ``TNF-α``, ``IL-1``) or fewer than four letters (the romanisation ``gan``); such a name
    matches unrelated terms that share it (``GAN``, a gene), so it is not searched.

    >>> is_abbreviation("TNF-α"), is_abbreviation("gan"), is_abbreviation("Osteopenia")
    (True, True, False)
    """
    letters = re.sub(r"[^A-Za-z]", "", name)
    return bool(letters) and (letters.isupper() or len(letters) < 4)


def minted_terms(graph: Graph) -> dict[str, tuple[str, tuple[str, ...]]]:
    """HODO classes that are not deprecated: CURIE -> (English label, English names to try)."""
    terms: dict[str, tuple[str, tuple[str, ...]]] = {}
    for term in set(graph.subjects(RDF.type, OWL.Class)):
        iri = str(term)
        if not iri.startswith(str(HODO) + "HODO_") or (term, OWL.deprecated, None) in graph:
            continue
        label = next((str(x) for x in graph.objects(term, RDFS.label)
                      if isinstance(x, Literal) and x.language == "en"), "")
        synonyms = sorted(str(x) for p in _SYNONYMS for x in graph.objects(term, p)
                          if isinstance(x, Literal) and x.language == "en"
                          and not is_abbreviation(str(x)))
        names = [label, *synonyms]
        terms["HODO:" + iri.rsplit("_", 1)[1]] = (label, tuple(dict.fromkeys(names)))
    return dict(sorted(terms.items()))


def name_index(sources: Mapping[str, Source]) -> dict[str, set[str]]:
    """Normalised label or synonym -> the current terms that carry it, over ``sources``."""
    index: dict[str, set[str]] = {}
    for source in sources.values():
        for curie in source.terms:
            term = source.terms[curie]
            if term.deprecated:
                continue
            for name in (term.label, *(synonym.text for synonym in term.synonyms)):
                if name and not is_abbreviation(name):
                    index.setdefault(normalise(name), set()).add(curie)
    return index


def search_minted_terms(graph: Graph, sources: Mapping[str, Source]) -> list[dict[str, str]]:
    """For every term HODO mints, the terms of ``sources`` whose label or synonym equals one of
    its English names once normalised (``exact_matches``: ``CURIE label``, ``|``-separated)."""
    index = name_index(sources)
    searched = ", ".join(f"{p} {sources[p].version}" for p in SEARCHED_PREFIXES if p in sources)
    rows = []
    for curie, (label, names) in minted_terms(graph).items():
        found = sorted({c for n in names for c in index.get(normalise(n), ())})
        rows.append({
            "subject_id": curie, "subject_label": label, "names_tried": " | ".join(names),
            "ontologies_searched": searched,
            "exact_matches": " | ".join(
                f"{c} {sources[c.split(':')[0]].terms[c].label}" for c in found) or "none"})
    return rows


def searches_tsv(rows: Iterable[Mapping[str, str]], header: str) -> str:
    """The searches as TSV, under a ``#`` comment header."""
    out = io.StringIO()
    out.write("".join(f"# {line}\n" for line in header.splitlines()))
    writer = csv.DictWriter(out, SEARCH_COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


SEARCHES_HEADER = """GENERATED by python -m hodo.pipeline.mappings -- DO NOT EDIT
For every term HODO mints (a HODO class that is not deprecated), the search for an existing term:
its English label and synonyms, normalised (lower case, punctuation as spaces), against every
current label and synonym of the ontologies named in ontologies_searched, read from the wheels
hodo imports reads and from the full MAxO release given on the command line. Abbreviations (all
letters upper case) and names of fewer than four letters are left out on both sides: they match
unrelated terms. A term with a match has its mapping, and why HODO still mints it, in
hodo.sssom.tsv (tests/test_reuse.py checks)."""


def read_searches(path: Path) -> list[dict[str, str]]:
    """The rows of a committed searches file."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``ontology/mappings/minted-term-searches.tsv``: ``python -m hodo.pipeline.mappings
    MAXO_OBO`` (the full MAxO release; the committed extract holds only the terms HODO uses)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m hodo.pipeline.mappings MAXO_OBO", file=sys.stderr)
        return 2
    wheels = imp.fetch_wheels(paths.cache_dir() / "wheels")
    sources = imp.load_sources(wheels, [p for p in SEARCHED_PREFIXES if p != "MAXO"])
    sources["MAXO"] = imp.read_file(args[0], "MAXO", paths.cache_dir())
    rows = search_minted_terms(hand_edited_graph(), sources)
    target = paths.ONTOLOGY_DIR / "mappings" / SEARCHES_FILE
    target.write_text(searches_tsv(rows, SEARCHES_HEADER), encoding="utf-8")
    print(f"{target.relative_to(paths.ROOT)}: {len(rows)} terms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
