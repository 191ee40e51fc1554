"""The SPARQL 1.1 Protocol: queries by GET, POST form and POST direct, and a service description.

Parameters are read strictly: one ``query``, UTF-8 only (a body or URL that is not is a 400, never
silently repaired), the dataset from ``default-graph-uri`` / ``named-graph-uri``. A plain GET
answers browsers with the query page and other clients with a service description (``sd:``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import Blueprint, Response, g, request, url_for
from werkzeug.datastructures import MultiDict

from hodo.build import GRAPH_NAMES, graph_iri
from hodo.formats import (
    FORMATS,
    Format,
    Kind,
    formats_named,
    negotiate,
    offers_for,
    parse_accept,
    quality,
)
from hodo.query import MAX_QUERY_BYTES, NotAcceptable, QueryError
from hodo.web import get_release
from hodo.web.errors import error_response
from hodo.web.ops import run_query

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
#: A form-encoded body may triple a query's size (``%XX``); anything longer is refused unread.
MAX_BODY_BYTES = 3 * MAX_QUERY_BYTES + 4096


class ProtocolError(Exception):
    """The request breaks the protocol: answered with ``status`` and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Operation:
    """A query or update as the request carries it, with every parameter."""

    text: str | None
    params: MultiDict[str, str]
    format_name: str | None = None


def decode_params(raw: bytes, where: str) -> MultiDict[str, str]:
    """``application/x-www-form-urlencoded`` data, decoded strictly as UTF-8.

    Raises:
        ProtocolError: 400 when the bytes or the percent-escapes are not UTF-8.

    >>> decode_params(b"query=ASK%20%7B%7D&x=%E8%82%9D", "URL").to_dict(flat=False)
    {'query': ['ASK {}'], 'x': ['肝']}
    """
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ProtocolError(400, f"the {where} is not valid UTF-8") from None
    return MultiDict(pairs)


def read_operation(field: str, direct_type: str, other: str) -> Operation:
    """The ``field`` (``query`` or ``update``) of the current request and all its parameters.

    Raises:
        ProtocolError: wrong media type (415), repeated or misplaced parameter, mixed query and
            update, a body too long or not UTF-8 (400, 413).
    """
    params = decode_params(request.query_string, "URL")
    if request.method == "POST":
        params = _with_body(params, field, direct_type)
    if other in params:
        raise ProtocolError(400, f"a request carries a {field} or an {other}, not both; "
                                 + ("updates go by POST to /sparql/update" if other == "update"
                                    else "queries go to /sparql"))
    values = params.getlist(field)
    if len(values) > 1:
        raise ProtocolError(400, f"give exactly one {field} parameter, not {len(values)}")
    return Operation(values[0] if values else None, params, _format_name(params))


def _format_name(params: MultiDict[str, str]) -> str | None:
    """The one format the ``format`` parameters name, or None when there are none.

    Some clients send one format under several names: that is fine; two formats are not.

    Raises:
        ProtocolError: 400 when they name different formats, 406 when they name none known.
    """
    values = params.getlist("format")
    names = sorted({f.name for f in formats_named(values)})
    if len(names) > 1:
        raise ProtocolError(400, "the format parameters name different formats: "
                                 + ", ".join(names))
    if values and not names:
        raise ProtocolError(406, f"unknown format {values[0]!r}; known: "
                                 + ", ".join(f.name for f in FORMATS))
    return names[0] if names else None


def _with_body(params: MultiDict[str, str], field: str, direct_type: str
               ) -> MultiDict[str, str]:
    """URL parameters plus what the POST body carries, by its media type."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ProtocolError(413, f"the request body is longer than {MAX_BODY_BYTES} bytes")
    mimetype = request.mimetype
    if mimetype not in (FORM, direct_type):
        raise ProtocolError(415, f"POST the {field} as {FORM} or {direct_type}, not "
                                 f"{mimetype or 'a body with no Content-Type'}")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ProtocolError(400, f"the body must be UTF-8, not {charset}")
    body = request.get_data(cache=True)
    if len(body) > MAX_BODY_BYTES:
        raise ProtocolError(413, f"the request body is longer than {MAX_BODY_BYTES} bytes")
    if mimetype == FORM:
        form = decode_params(body, "form body")
        if field in params and field in form:
            raise ProtocolError(400, f"give the {field} once, in the URL or in the body")
        params = MultiDict([*params.items(multi=True), *form.items(multi=True)])
        return params
    if field in params:
        raise ProtocolError(400, f"a direct POST carries the {field} in its body, not in the URL")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, f"the {field} body is not valid UTF-8") from None
    return MultiDict([*params.items(multi=True), (field, text)])


def graph_list(params: MultiDict[str, str], name: str) -> list[str] | None:
    """The IRIs of a repeatable dataset parameter; None when it is absent.

    Raises:
        ProtocolError: 400 for a value that is not an absolute IRI.
    """
    if name not in params:
        return None
    import pyoxigraph as ox

    values = params.getlist(name)
    for value in values:
        try:
            ox.NamedNode(value)
        except ValueError:
            raise ProtocolError(400, f"{name} must be an absolute IRI, not {value!r}") from None
        if ":" not in value:
            raise ProtocolError(400, f"{name} must be an absolute IRI, not {value!r}")
    return values


def hodo_graphs() -> list[str]:
    """The IRIs of HODO's own named graphs: the only ones a query's FROM may name."""
    return [str(graph_iri(name)) for name in GRAPH_NAMES]


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    try:
        operation = read_operation("query", QUERY_TYPE, "update")
        if operation.text is None:
            if request.method == "POST":
                raise ProtocolError(400, "no query: send one in the query parameter")
            return _plain_get()
        default = graph_list(operation.params, "default-graph-uri")
        named = graph_list(operation.params, "named-graph-uri")
    except ProtocolError as error:
        return error_response(error.status, str(error))
    return _answer(operation, default, named)


def _answer(operation: Operation, default: list[str] | None, named: list[str] | None
            ) -> Response:
    dataset = {}
    if default is not None or named is not None:
        dataset = {"default_graph": default or [], "named_graphs": named or []}
    try:
        result = run_query(get_release().store, operation.text or "",
                           request.headers.get("Accept"), operation.format_name,
                           allowed_graphs=hodo_graphs(), base_iri=request.base_url, **dataset)
    except QueryError as error:
        return error_response(400, str(error))
    except NotAcceptable as error:
        return error_response(406, str(error))
    response = Response(result.body, 200,
                        content_type=f"{result.format.media_type}; charset=utf-8")
    if result.etag:
        response.set_etag(result.etag)
    else:  # a query whose answer changes from run to run (RAND, NOW ...)
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response


# --------------------------------------------------------------------------------------------
# A plain GET: the query page for browsers, a service description for everything else.


def _plain_get() -> Response:
    offers = offers_for(Kind.GRAPH)
    ranges = parse_accept(request.headers.get("Accept"))
    html = quality(ranges, "text/html")
    chosen = negotiate(request.headers.get("Accept"), offers)
    best = quality(ranges, chosen.media_type, chosen.name) if chosen else (0.0, -1)
    if html[0] > 0 and html >= best:
        response = _query_page()
    elif chosen is None:
        raise ProtocolError(406, "acceptable here: text/html, "
                                 + ", ".join(f.media_type for f in offers))
    else:
        response = _service_description(chosen)
    response.vary.add("Accept")
    return response


def _query_page() -> Response:
    from hodo.web import ui

    return ui.query_page(g.lang)


SD = "http://www.w3.org/ns/sparql-service-description#"
W3C_FORMATS = "http://www.w3.org/ns/formats/"
#: The W3C format IRIs (https://www.w3.org/ns/formats/) of the formats the endpoint writes.
RESULT_FORMAT_IRIS = {
    "json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV", "turtle": "Turtle", "ntriples": "N-Triples",
    "rdfxml": "RDF_XML", "jsonld": "JSON-LD", "nquads": "N-Quads", "trig": "TriG",
}


def service_description(endpoint: str, graphs: list[str], curator: bool) -> list[tuple]:
    """The ``sd:`` description of this endpoint as pyoxigraph triples.

    The default graph is the union of every named graph (``sd:UnionDefaultGraph``); SERVICE
    is refused, so ``sd:BasicFederatedQuery`` is not claimed. Update is listed only when
    curator mode is on, at its own endpoint.
    """
    import pyoxigraph as ox

    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(SD + name)

    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    service = ox.NamedNode(endpoint + "#service")
    dataset = ox.NamedNode(endpoint + "#dataset")
    triples = [
        (service, rdf_type, sd("Service")),
        (service, sd("endpoint"), ox.NamedNode(endpoint)),
        (service, sd("supportedLanguage"), sd("SPARQL11Query")),
        (service, sd("feature"), sd("UnionDefaultGraph")),
        (service, sd("defaultDataset"), dataset),
        (dataset, rdf_type, sd("Dataset")),
    ]
    if curator:
        triples.append((service, sd("supportedLanguage"), sd("SPARQL11Update")))
    triples += [(service, sd("resultFormat"), ox.NamedNode(W3C_FORMATS + iri))
                for iri in RESULT_FORMAT_IRIS.values()]
    default = ox.BlankNode()
    triples += [(dataset, sd("defaultGraph"), default), (default, rdf_type, sd("Graph"))]
    for iri in graphs:
        node = ox.BlankNode()
        triples += [(dataset, sd("namedGraph"), node), (node, rdf_type, sd("NamedGraph")),
                    (node, sd("name"), ox.NamedNode(iri))]
    return [ox.Triple(*t) for t in triples]


def _service_description(chosen: Format) -> Response:
    import pyoxigraph as ox

    from hodo.web.curator import curator_enabled

    store = get_release().store
    graphs = sorted(str(n.value) for n in store.named_graphs() if isinstance(n, ox.NamedNode))
    endpoint = url_for("sparql.endpoint", _external=True)
    triples = service_description(endpoint, graphs, curator_enabled())
    body = ox.serialize(triples, format=chosen.oxigraph,  # type: ignore[arg-type]
                        prefixes={"sd": SD}) or b""
    return Response(body, 200, content_type=f"{chosen.media_type}; charset=utf-8")

