"""HODO's Chinese layer as a Babelon translation table (``hodo-zh.babelon.tsv``).

Babelon is the OBO community's table of translations of labels, synonyms and definitions. One
row per Chinese label, definition and synonym of every term that has one: HODO's own terms and
the reused terms that carry a HODO Chinese label. A label or definition is the translation of
the term's English one (``TRANSLATION``). A Chinese synonym translates no English synonym in
particular: it is an ``AUGMENTATION``, and its ``source_value`` is the term's English label,
which Babelon requires. Every row is ``OFFICIAL``: HODO's editors manage its Chinese profile.
A pipeline that merges Babelon tables (Mondo's, HP's) can take HODO's Chinese from this file
without reading HODO's RDF.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from hodo.core.namespaces import DEFINITION, OBOINOWL, shorten
from hodo.core.release import ONTOLOGY_IRI

BABELON_FILE = "hodo-zh.babelon.tsv"
COLUMNS = ("subject_id", "predicate_id", "source_language", "source_value",
           "translation_language", "translation_value", "translation_type", "translation_status",
           "source", "source_version")
#: What a term is: the kinds of entity whose Chinese text is translated terminology.
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
              OWL.NamedIndividual)
SYNONYMS = (OBOINOWL.hasExactSynonym, OBOINOWL.hasRelatedSynonym, OBOINOWL.hasBroadSynonym,
            OBOINOWL.hasNarrowSynonym)


def rows(graph: Graph, version: str) -> list[dict[str, str]]:
    """The translation rows of every term of ``graph`` with Chinese text, sorted."""
    terms = sorted({t for kind in TERM_TYPES for t in graph.subjects(RDF.type, kind)
                    if isinstance(t, URIRef)})
    found = [row for term in terms for row in _term_rows(graph, term)]
    release = graph.value(ONTOLOGY_IRI, OWL.versionIRI)
    for row in found:  # the English values as this release of HODO states them
        row.update(source=str(ONTOLOGY_IRI), source_version=str(release or version))
    return sorted(found, key=lambda r: (r["subject_id"], r["predicate_id"],
                                        r["translation_value"]))


def _term_rows(graph: Graph, term: URIRef) -> Iterator[dict[str, str]]:
    label = _one(graph, term, RDFS.label, "en")
    for prop in (RDFS.label, DEFINITION):
        english, chinese = _one(graph, term, prop, "en"), _one(graph, term, prop, "zh")
        if english and chinese:
            yield _row(term, prop, english, chinese, "TRANSLATION")
    if not label:
        return
    for prop in SYNONYMS:
        for synonym in sorted(_values(graph, term, prop, "zh")):
            yield _row(term, prop, label, synonym, "AUGMENTATION")


def _row(term: URIRef, prop: URIRef, english: str, chinese: str, kind: str) -> dict[str, str]:
    return {"subject_id": shorten(str(term)), "predicate_id": shorten(str(prop)),
            "source_language": "en", "source_value": english, "translation_language": "zh",
            "translation_value": chinese, "translation_type": kind,
            "translation_status": "OFFICIAL"}


def _values(graph: Graph, term: URIRef, prop: URIRef, lang: str) -> list[str]:
    return [str(v) for v in graph.objects(term, prop)
            if isinstance(v, Literal) and (v.language or "").split("-")[0] == lang]


def _one(graph: Graph, term: URIRef, prop: URIRef, lang: str) -> str:
    """The value in ``lang`` (the first sorted, were there several), or ''."""
    values = sorted(_values(graph, term, prop, lang))
    return values[0] if values else ""


def babelon_tsv(graph: Graph, version: str) -> bytes:
    """The Babelon TSV: a header row, then one row per translation; cells hold no tab or
    newline."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows(graph, version):
        writer.writerow([" ".join(row.get(c, "").split()) for c in COLUMNS])
    return out.getvalue().encode("utf-8")
