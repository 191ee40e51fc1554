"""Running SPARQL on the store and writing the results in the negotiated format.

Queries are checked on their parsed form, never on their text: in public mode a query that
would reach outside HODO (``SERVICE``) or name datasets (``FROM``, ``FROM NAMED``) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from pyparsing import ParseResults

from hodo.formats import Format, Kind, negotiate, offers_for

#: Queries longer than this are refused before any parser sees them.
MAX_QUERY_BYTES = 64 * 1024
#: Deepest bracket nesting accepted; pyoxigraph's parser crashes on a few thousand.
MAX_NESTING = 64


class QueryError(Exception):
    """The query cannot be run as sent (HTTP 400): bad syntax or a refused feature."""


class NotAcceptable(Exception):
    """No format the client accepts can carry this result (HTTP 406)."""

    def __init__(self, offers: list[Format]) -> None:
        super().__init__("acceptable formats: " + ", ".join(f.media_type for f in offers))
        self.offers = offers


@dataclass(frozen=True)
class QueryResult:
    """A serialised result and its format."""

    body: bytes
    format: Format


def precheck(query: str) -> None:
    """Size and nesting limits, checked on the raw text before any parser runs.

    >>> precheck("SELECT * WHERE { ?s ?p ?o }")
    >>> precheck("(" * 100)
    Traceback (most recent call last):
    ...
    hodo.query.QueryError: query nests deeper than 64 levels
    """
    if len(query.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES:
        raise QueryError(f"query longer than {MAX_QUERY_BYTES} bytes")
    depth = deepest = 0
    for char in query:
        if char in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")}]":
            depth -= 1
    if deepest > MAX_NESTING:
        raise QueryError(f"query nests deeper than {MAX_NESTING} levels")


def refuse_unsafe(query: str) -> None:
    """Refuse SERVICE and dataset clauses, decided on the query as rdflib's parser reads it.

    A query that rdflib cannot parse at all is left to pyoxigraph, whose syntax error is the
    one the client sees; a query rdflib parses is walked for the refused features.
    """
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parsed = parseQuery(query)
    except (ParseException, ValueError, TypeError):
        if _mentions_service(query):
            raise QueryError("SERVICE is not allowed on this endpoint") from None
        return
    if _contains(parsed, "ServiceGraphPattern"):
        raise QueryError("SERVICE is not allowed on this endpoint")
    if _contains(parsed, "DatasetClause"):
        raise QueryError("FROM and FROM NAMED are not allowed on this endpoint; "
                         "every HODO graph is already in the default graph")


def _mentions_service(query: str) -> bool:
    """Fail closed where the two parsers disagree: any SERVICE keyword is refused."""
    return "service" in query.lower()


def _contains(node: object, name: str) -> bool:
    if getattr(node, "name", None) == name:
        return True
    if isinstance(node, dict):
        return any(_contains(v, name) for v in node.values())
    if isinstance(node, list | tuple | ParseResults):
        return any(_contains(v, name) for v in node)
    return False


def _short(error: Exception) -> str:
    """The parser's message on one line, cut short: its list of expected tokens is long."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + " …"


def execute(store: ox.Store, query: str, accept: str | None = None,
            format_name: str | None = None) -> QueryResult:
    """Run a SPARQL query over the union of HODO's graphs and serialise the result.

    Raises:
        QueryError: refused or malformed query.
        NotAcceptable: no acceptable format for this kind of result.
    """
    precheck(query)
    refuse_unsafe(query)
    try:
        result = store.query(query, use_default_graph_as_union=True)
    except SyntaxError as error:
        raise QueryError(f"SPARQL syntax error: {_short(error)}") from None
    kind = Kind.GRAPH if isinstance(result, ox.QueryTriples) else Kind.RESULTS
    offers = offers_for(kind)
    chosen = _choose(offers, accept, format_name)
    try:
        body = result.serialize(format=chosen.oxigraph)  # type: ignore[arg-type]
    except (OSError, ValueError) as error:
        raise QueryError(f"query failed: {_short(error)}") from None
    return QueryResult(body or b"", chosen)


def _choose(offers: list[Format], accept: str | None, format_name: str | None) -> Format:
    if format_name:
        named = [f for f in offers if format_name in (f.name, f.extension, f.media_type)]
        if not named:
            raise NotAcceptable(offers)
        return named[0]
    chosen = negotiate(accept, offers)
    if chosen is None:
        raise NotAcceptable(offers)
    return chosen


# ---------------------------------------------------------------------------------------------
# Views of one resource, for pages. Values are bound with substitutions, never pasted into text;
# a substituted variable must be projected, hence ?s / ?o in every SELECT.

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"

_OUTGOING = """
SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?p ?o
"""
_INCOMING = """
SELECT ?s ?p ?o WHERE { ?s ?p ?o . FILTER isIRI(?s) } ORDER BY ?p ?s LIMIT 500
"""
_LABELS = """
SELECT ?s ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }
"""
_FINDINGS = """
PREFIX oban: <http://purl.org/oban/>
SELECT DISTINCT ?s ?f WHERE {
  { ?f oban:association_has_subject ?s } UNION { ?f oban:association_has_object ?s }
} ORDER BY ?f
"""


@dataclass(frozen=True)
class Value:
    """One object of a statement, ready to show: an IRI with its labels, or a literal."""

    iri: str | None
    text: str
    lang: str | None = None
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ResourceView:
    """What a page shows about one resource."""

    iri: str
    labels: dict[str, str]
    outgoing: tuple[tuple[Value, Value], ...]
    incoming: tuple[tuple[Value, Value], ...]
    findings: tuple[str, ...]


def labels_of(store: ox.Store, iri: str) -> dict[str, str]:
    """The resource's labels by language tag (lower-cased, as Oxigraph stores them)."""
    found: dict[str, str] = {}
    for row in store.query(_LABELS, use_default_graph_as_union=True,
                           substitutions={ox.Variable("s"): ox.NamedNode(iri)}):
        literal = row["l"]
        found.setdefault(getattr(literal, "language", None) or "", literal.value)
    return found


def _value(store: ox.Store, term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Value:
    if isinstance(term, ox.NamedNode):
        return Value(term.value, term.value, None, tuple(sorted(labels_of(store, term.value)
                                                               .items())))
    if isinstance(term, ox.Literal):
        return Value(None, term.value, term.language)
    return Value(None, "[]")


def resource_view(store: ox.Store, iri: str) -> ResourceView | None:
    """Everything the store says about ``iri``, or None when it says nothing.

    A string that is not a valid IRI names nothing in the store, so it is None too.
    """
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return None
    outgoing = tuple(
        (_value(store, row["p"]), _value(store, row["o"]))  # type: ignore[arg-type]
        for row in store.query(_OUTGOING, use_default_graph_as_union=True,
                               substitutions={ox.Variable("s"): node})
    )
    incoming = tuple(
        (_value(store, row["s"]), _value(store, row["p"]))  # type: ignore[arg-type]
        for row in store.query(_INCOMING, use_default_graph_as_union=True,
                               substitutions={ox.Variable("o"): node})
    )
    if not outgoing and not incoming:
        return None
    findings = tuple(
        row["f"].value  # type: ignore[union-attr]
        for row in store.query(_FINDINGS, use_default_graph_as_union=True,
                               substitutions={ox.Variable("s"): node})
    )
    return ResourceView(iri, labels_of(store, iri), outgoing, incoming, findings)
