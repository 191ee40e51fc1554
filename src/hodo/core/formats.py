"""One table of formats: media type, file extension, rdflib and pyoxigraph names.

Content negotiation, the CLI and the release writer all read this table, so a format is added
in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import pyoxigraph as ox


class Kind(Enum):
    """What a format can carry."""

    RESULTS = "results"  # SELECT / ASK solutions
    GRAPH = "graph"  # triples (CONSTRUCT, DESCRIBE, documents)
    DATASET = "dataset"  # quads


@dataclass(frozen=True)
class Format:
    """A serialisation HODO reads or writes."""

    name: str
    media_type: str
    extension: str
    kind: Kind
    rdflib: str | None = None
    oxigraph: ox.RdfFormat | ox.QueryResultsFormat | None = None


FORMATS: tuple[Format, ...] = (
    Format("json", "application/sparql-results+json", "srj", Kind.RESULTS,
           oxigraph=ox.QueryResultsFormat.JSON),
    Format("xml", "application/sparql-results+xml", "srx", Kind.RESULTS,
           oxigraph=ox.QueryResultsFormat.XML),
    Format("csv", "text/csv", "csv", Kind.RESULTS, oxigraph=ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", "tsv", Kind.RESULTS,
           oxigraph=ox.QueryResultsFormat.TSV),
    Format("turtle", "text/turtle", "ttl", Kind.GRAPH, "turtle", ox.RdfFormat.TURTLE),
    Format("ntriples", "application/n-triples", "nt", Kind.GRAPH, "nt", ox.RdfFormat.N_TRIPLES),
    Format("rdfxml", "application/rdf+xml", "owl", Kind.GRAPH, "xml", ox.RdfFormat.RDF_XML),
    Format("jsonld", "application/ld+json", "jsonld", Kind.GRAPH, "json-ld",
           ox.RdfFormat.JSON_LD),
    Format("nquads", "application/n-quads", "nq", Kind.DATASET, "nquads", ox.RdfFormat.N_QUADS),
    Format("trig", "application/trig", "trig", Kind.DATASET, "trig", ox.RdfFormat.TRIG),
)

BY_NAME = {f.name: f for f in FORMATS}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
#: Other media types clients send for the same formats.
ALIASES = {
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/x-turtle": "turtle",
    "text/plain": "ntriples",
    "application/json+ld": "jsonld",
}

#: Dataset formats also carry triples, so a CONSTRUCT may be asked for as N-Quads or TriG.
GRAPH_KINDS = (Kind.GRAPH, Kind.DATASET)


#: Release files that are neither RDF nor query results, by extension: the SSSOM, KGX and
#: Babelon tables (TSV) and KGX's JSON Lines.
FILE_MEDIA_TYPES = {
    "tsv": "text/tab-separated-values; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "json": "application/json",
}


def release_media_type(name: str) -> str:
    """The media type of a release file by its name: an RDF format's, else a table's, else
    plain text.

    >>> release_media_type("hodo.nanopubs.trig"), release_media_type("hodo_edges.jsonl")
    ('application/trig', 'application/x-ndjson')
    """
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    fmt = by_extension(ext)
    if fmt is not None and fmt.kind is not Kind.RESULTS:
        return fmt.media_type
    return FILE_MEDIA_TYPES.get(ext, "text/plain; charset=utf-8")


def by_extension(ext: str) -> Format | None:
    """The format for a file extension (``ttl``, ``jsonld`` ...), or None."""
    ext = ext.lower().lstrip(".")
    return next((f for f in FORMATS if f.extension == ext), None)


#: Other names SPARQL clients put in a ``format=`` parameter (SPARQLWrapper sends several).
#: Turtle is valid N3, so a client asking for N3 can read it.
PARAMETER_NAMES = {
    "rdf+xml": "rdfxml", "rdf": "rdfxml", "json-ld": "jsonld", "application/x-json+ld": "jsonld",
    "n3": "turtle", "text/n3": "turtle", "text/rdf+n3": "turtle", "application/n3": "turtle",
    "n-triples": "ntriples", "n-quads": "nquads",
}


def by_any_name(value: str) -> Format | None:
    """The format a ``format=`` parameter names: by name, extension, media type or alias.

    >>> by_any_name("text/tab-separated-values").name
    'tsv'
    >>> by_any_name("rdf+xml").name
    'rdfxml'
    """
    value = value.strip().lower()
    alias = ALIASES.get(value) or PARAMETER_NAMES.get(value, "")
    return BY_NAME.get(value) or BY_MEDIA_TYPE.get(value) or BY_NAME.get(alias) or by_extension(
        value)


def formats_named(values: list[str]) -> list[Format]:
    """The formats some ``format=`` values name; a value may list several, comma-separated.

    Names not known are left out: clients add their own spellings beside standard ones.

    >>> [f.name for f in formats_named(["json-ld", "application/ld+json,application/x-json+ld"])]
    ['jsonld', 'jsonld', 'jsonld']
    """
    found = [by_any_name(part) for value in values for part in value.split(",") if part.strip()]
    return [f for f in found if f is not None]


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """Media ranges of an ``Accept`` header with their q-values, best first.

    Malformed parts are skipped rather than rejected: a client's odd header must not turn into
    a server error.

    >>> parse_accept("text/csv;q=0.5, application/sparql-results+json")
    [('application/sparql-results+json', 1.0), ('text/csv', 0.5)]
    """
    ranges: list[tuple[str, float, int]] = []
    for position, part in enumerate((header or "").split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if "/" not in media:
            continue
        q = min(max(q_value(fields[1:]), 0.0), 1.0)
        ranges.append((media, q, position))
    ranges.sort(key=lambda r: (-r[1], _specificity(r[0]), r[2]))
    return [(m, q) for m, q, _ in ranges]


def q_value(params: Iterable[str]) -> float:
    """The ``q`` of a header element's parameters: 1 when absent, 0 when unreadable.

    Shared by ``Accept`` here and ``Accept-Language`` (``hodo.core.i18n``).

    >>> q_value(["level=1", "q=0.5"]), q_value([]), q_value(["q=x"])
    (0.5, 1.0, 0.0)
    """
    q = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return q


def _specificity(media: str) -> int:
    """More specific ranges win ties: ``text/csv`` before ``text/*`` before ``*/*``."""
    return media.count("*")


def negotiate(header: str | None, offers: list[Format]) -> Format | None:
    """The best of ``offers`` for an ``Accept`` header; the first offer when none is given.

    Each offer gets the q-value of the most specific range that matches it (so
    ``text/turtle;q=0, */*`` refuses Turtle); the highest q wins, then the offer named most
    specifically, then the server's order. Returns None when the client accepts none of them
    (the caller answers 406).

    >>> negotiate("text/csv, */*", [BY_NAME["json"], BY_NAME["csv"]]).name
    'csv'
    >>> negotiate("text/csv;q=0, */*", [BY_NAME["csv"]]) is None
    True
    """
    if not header or not header.strip():
        return offers[0]
    ranges = parse_accept(header)
    best: tuple[float, int, int, Format] | None = None
    for index, offer in enumerate(offers):
        q, specificity = quality(ranges, offer.media_type, offer.name)
        if q > 0 and (best is None or (q, specificity, -index) > best[:3]):
            best = (q, specificity, -index, offer)
    return best[3] if best else None


def quality(ranges: list[tuple[str, float]], media_type: str, name: str | None = None
            ) -> tuple[float, int]:
    """The q-value ``ranges`` give ``media_type``, and how specific the deciding range was.

    The most specific matching range decides (RFC 9110, 12.5.1): 2 for the type itself or an
    alias of it, 1 for ``type/*``, 0 for ``*/*``. No matching range gives q 0.

    >>> quality(parse_accept("text/html, */*;q=0.8"), "text/turtle")
    (0.8, 0)
    """
    found: tuple[float, int] | None = None
    for media, q in ranges:
        specificity = _specificity_of_match(media, media_type, name)
        if specificity is not None and (found is None or specificity > found[1]):
            found = (q, specificity)
    return found or (0.0, -1)


def _specificity_of_match(media: str, media_type: str, name: str | None) -> int | None:
    if media == "*/*":
        return 0
    kind, _, sub = media.partition("/")
    if sub == "*":
        return 1 if media_type.startswith(kind + "/") else None
    alias = ALIASES.get(media)
    if media == media_type or (name is not None and alias == name):
        return 2
    return None


def offers_for(kind: Kind) -> list[Format]:
    """Formats a query result of ``kind`` can be written in, preferred first."""
    kinds = GRAPH_KINDS if kind is Kind.GRAPH else (kind,)
    return [f for f in FORMATS if f.kind in kinds]
