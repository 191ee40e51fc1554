"""The SPARQL 1.1 Protocol: queries by GET, POST form and POST direct, and a service description.

Parameters are read strictly: one ``query``, UTF-8 only (a body or URL that is not is a 400, never
silently repaired), the dataset from ``default-graph-uri`` / ``named-graph-uri``. A plain GET
answers browsers with the query page and other clients with a service description (``sd:``).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, g, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.http import HTTP_STATUS_CODES, parse_etags, parse_options_header
from werkzeug.wsgi import get_current_url

from hodo.core.errors import HodoError
from hodo.core.formats import (
    FORMATS,
    Format,
    Kind,
    formats_named,
    negotiate,
    offers_for,
    parse_accept,
    quality,
)
from hodo.core.i18n import choose_language
from hodo.core.release import GRAPH_NAMES, graph_iri
from hodo.engine.query import MAX_QUERY_BYTES, NotAcceptable, QueryError, QueryResult
from hodo.engine.workers import Unavailable
from hodo.web import ops, ui
from hodo.web.bodies import request_body, wsgi_body
from hodo.web.caching import freshness
from hodo.web.errors import error_response
from hodo.web.ops import run_query
from hodo.web.state import curator_enabled, get_release, state

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
#: A form-encoded body may triple a query's size (``%XX``); anything longer is refused unread.
MAX_BODY_BYTES = 3 * MAX_QUERY_BYTES + 4096


class ProtocolError(HodoError):
    """The request breaks the protocol: answered with ``status`` and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)
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
    body = None
    if request.method == "POST":
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise _too_long()
        if request.mimetype in (FORM, direct_type):
            body = request_body(MAX_BODY_BYTES)
            if body is None:
                raise _too_long()
    return parse_operation(request.query_string, request.headers.get("Content-Type", ""),
                           body, field, direct_type, other, post=request.method == "POST")


def parse_operation(query_string: bytes, content_type: str, body: bytes | None, field: str,
                    direct_type: str, other: str, *, post: bool) -> Operation:
    """``read_operation`` on the parts of a request: the raw query string, the
    ``Content-Type`` and the body of a POST (None when it was not read: a media type that
    carries no operation).

    Raises:
        ProtocolError: as ``read_operation``.
    """
    params = decode_params(query_string, "URL")
    if post:
        params = _with_body(params, field, direct_type, content_type, body or b"")
    if other in params:
        raise ProtocolError(400, f"a request carries a {field} or an {other}, not both; "
                                 + ("updates go by POST to /sparql/update" if other == "update"
                                    else "queries go to /sparql"))
    values = params.getlist(field)
    if len(values) > 1:
        raise ProtocolError(400, f"give exactly one {field} parameter, not {len(values)}")
    return Operation(values[0] if values else None, params, _format_name(params))


def _too_long() -> ProtocolError:
    return ProtocolError(413, f"the request body is longer than {MAX_BODY_BYTES} bytes")


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


def _with_body(params: MultiDict[str, str], field: str, direct_type: str, content_type: str,
               body: bytes) -> MultiDict[str, str]:
    """URL parameters plus what the POST body carries, by its media type."""
    mimetype, options = parse_options_header(content_type)
    mimetype = mimetype.lower()
    if mimetype not in (FORM, direct_type):
        raise ProtocolError(415, f"POST the {field} as {FORM} or {direct_type}, not "
                                 f"{mimetype or 'a body with no Content-Type'}")
    charset = options.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ProtocolError(400, f"the body must be UTF-8, not {charset}")
    if len(body) > MAX_BODY_BYTES:
        raise _too_long()
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

    values = params.getlist(name)
    for value in values:
        try:
            ox.NamedNode(value)
        except ValueError:
            raise ProtocolError(400, f"{name} must be an absolute IRI, not {value!r}") from None
        if ":" not in value:
            raise ProtocolError(400, f"{name} must be an absolute IRI, not {value!r}")
    return values


#: HODO's own named graphs.
_HODO_GRAPHS = tuple(str(graph_iri(name)) for name in GRAPH_NAMES)


def served_graphs(app: Flask) -> list[str]:
    """The graphs a query's FROM may name: HODO's own, and those loaded beside them
    (``hodo load``), as the endpoint held them at start-up."""
    held = state(app)
    if held.served_graphs is None:
        store = held.release.sparql_store
        loaded = {str(g.value) for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
        held.served_graphs = sorted(loaded | set(_HODO_GRAPHS))
    return list(held.served_graphs)


def answer_query(app: Flask, operation: Operation, default: list[str] | None,
                 named: list[str] | None, accept: str | None, base_iri: str) -> QueryResult:
    """A ``/sparql`` query answered: the one implementation behind the view and the lane.

    Runs ``operation`` on the endpoint's store with the dataset the request names, through
    ``run_query`` (checks, result cache, query workers, limits).

    Raises:
        HodoError: the answer is an error, with its HTTP status: ``QueryError`` (400),
            ``NotAcceptable`` (406), ``Unavailable`` (503), ``BackendError`` (502, 504).
    """
    dataset = {}
    if default is not None or named is not None:
        dataset = {"default_graph": default or [], "named_graphs": named or []}
    return run_query(state(app).release.sparql_store, operation.text or "", accept,
                     operation.format_name, app=app, allowed_graphs=served_graphs(app),
                     base_iri=base_iri, **dataset)


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
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        result = answer_query(app, operation, default, named, request.headers.get("Accept"),
                              request.base_url)
    except (QueryError, NotAcceptable) as error:  # the others have the app's error handlers
        response = error_response(error.http_status, error_text(
            error, operation.params.get("lang"), request.headers.get("Accept-Language")))
        if isinstance(error, QueryError) and error.messages:
            response.vary.add("Accept-Language")
        return response
    status, headers, body = answer_headers(app, result, request.method != "POST",
                                           request.headers.get("If-None-Match"), "Accept")
    response = Response(body, status, headers=headers)
    if status == 304:  # as the lane sends it: no entity headers
        del response.headers["Content-Type"]
    return response


def answer_headers(app: Flask, result: QueryResult, cacheable: bool, if_none_match: str | None,
                   vary: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a query's answer: the one rule for the view and the lane.

    An answer that can change from run to run (RAND, NOW ...) has no ETag and is not stored;
    a GET gets the release's freshness, and a 304 when the client holds the same answer.
    """
    headers = [("Content-Type", f"{result.format.media_type}; charset=utf-8")]
    if result.etag:
        headers.append(("ETag", f'"{result.etag}"'))
    headers.append(("Vary", vary))
    if not result.etag:
        headers.append(("Cache-Control", "no-store"))
    elif cacheable:
        headers.append(("Cache-Control", freshness("/sparql", app)))
        if if_none_match and parse_etags(if_none_match).contains(result.etag):
            return 304, headers[1:], b""
    headers.append(("Content-Length", str(len(result.body))))
    return 200, headers, result.body


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
    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(SD + name)

    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    service = ox.NamedNode(endpoint + "#service")
    dataset = ox.NamedNode(endpoint + "#dataset")
    triples: list[tuple[Any, ...]] = [
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
    # blank nodes named by position, so that the same service gives the same bytes (and ETag)
    default = ox.BlankNode("default")
    triples += [(dataset, sd("defaultGraph"), default), (default, rdf_type, sd("Graph"))]
    for index, iri in enumerate(graphs):
        node = ox.BlankNode(f"graph{index}")
        triples += [(dataset, sd("namedGraph"), node), (node, rdf_type, sd("NamedGraph")),
                    (node, sd("name"), ox.NamedNode(iri))]
    return [ox.Triple(*t) for t in triples]  # type: ignore[misc]


def _service_description(chosen: Format) -> Response:
    store = get_release().sparql_store
    graphs = sorted(str(n.value) for n in store.named_graphs() if isinstance(n, ox.NamedNode))
    endpoint = url_for("sparql.endpoint", _external=True)
    triples = service_description(endpoint, graphs, curator_enabled())
    body = ox.serialize(triples, format=chosen.oxigraph,  # type: ignore[arg-type]
                        prefixes={"sd": SD}) or b""
    return Response(body, 200, content_type=f"{chosen.media_type}; charset=utf-8")



# --------------------------------------------------------------------------------------------
# The lane: queries answered below Flask


class SparqlLane:
    """WSGI layer that answers ``/sparql`` queries (GET, POST form, POST direct) itself.

    A query is the endpoint's hot path, and Flask's request context, routing, hooks and
    response objects cost several times what the lane does. The lane reads the request with
    the same functions as the view, runs it through the same ``run_query`` (checks, result
    cache, query workers, limits), counts it in the same metrics and rate limit, and sends the
    same headers. Whatever it does not handle goes to Flask unchanged: the query page, the
    service description, HEAD and OPTIONS, every protocol error (the body is put back), and a
    client over its rate limit. Tests send the same requests through both and compare.
    """

    def __init__(self, app: Flask, inner: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.inner = inner
        settings = ops.state(app).settings
        self.read_headers = [*ops.cors_headers(settings.cors_origin),
                             *ops.security_headers(settings.csp)]
        # a CORS origin other than * makes every answer depend on the Origin header too
        self.error_vary = [("Vary", "Origin")] if settings.cors_origin not in ("", "*") else []
        self.vary = "Accept, Origin" if self.error_vary else "Accept"
        served_graphs(app)  # read now, before the server forks

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/sparql" or environ.get("REQUEST_METHOD") not in (
                "GET", "POST"):
            return self.inner(environ, start_response)
        read = self._read(environ)
        if read is None:
            return self.inner(environ, start_response)
        counters = ops.state(self.app)
        if counters.limiter.take(environ.get("REMOTE_ADDR") or "unknown") is not None:
            return self.inner(environ, start_response)  # Flask answers the 429 and counts it
        started = time.monotonic()
        status, headers, body = self._answer(environ, *read)
        counters.metrics.add("requests", "sparql", f"{status[0]}xx")
        counters.metrics.observe(time.monotonic() - started)
        start_response(status, headers)
        return [body]

    def _read(self, environ: dict[str, Any]
              ) -> tuple[Operation, list[str] | None, list[str] | None] | None:
        """The operation and dataset, or None when Flask should answer."""
        post = environ["REQUEST_METHOD"] == "POST"
        body = None
        if post:
            body = wsgi_body(environ, MAX_BODY_BYTES)
            if body is None:
                return None  # Flask answers without reading: 413, or an empty body
            environ["wsgi.input"] = io.BytesIO(body)  # Flask can still read it
            if len(body) > MAX_BODY_BYTES:
                return None  # Flask reads the cap and a byte more, and answers 413
        try:
            operation = parse_operation(
                environ.get("QUERY_STRING", "").encode("latin-1"),
                environ.get("CONTENT_TYPE", ""), body, "query", QUERY_TYPE, "update", post=post)
            if operation.text is None:
                return None
            return (operation, graph_list(operation.params, "default-graph-uri"),
                    graph_list(operation.params, "named-graph-uri"))
        except ProtocolError:
            return None

    def _answer(self, environ: dict[str, Any], operation: Operation,
                default: list[str] | None, named: list[str] | None
                ) -> tuple[str, list[tuple[str, str]], bytes]:
        try:
            result = answer_query(self.app, operation, default, named,
                                  environ.get("HTTP_ACCEPT"), _base_url(environ))
        except HodoError as error:
            extra = ([("Retry-After", str(max(1, error.retry_after)))]
                     if isinstance(error, Unavailable) else [])
            text = error_text(error, operation.params.get("lang"),
                              environ.get("HTTP_ACCEPT_LANGUAGE"))
            localized = isinstance(error, QueryError) and bool(error.messages)
            return self._error(error.http_status, text, extra, localized)
        return self._success(environ, result)

    def _success(self, environ: dict[str, Any], result: QueryResult
                 ) -> tuple[str, list[tuple[str, str]], bytes]:
        status, headers, body = answer_headers(
            self.app, result, environ["REQUEST_METHOD"] == "GET",
            environ.get("HTTP_IF_NONE_MATCH"), self.vary)
        return f"{status} {HTTP_STATUS_CODES[status].upper()}", [*headers, *self.read_headers], body

    def _error(self, status: int, message: str, extra: list[tuple[str, str]] | None = None,
               localized: bool = False) -> tuple[str, list[tuple[str, str]], bytes]:
        """An error's answer; ``localized`` when its text follows the reader's language."""
        body = (message + "\n").encode("utf-8")
        vary = (["Accept-Language"] if localized else []) + [v for _, v in self.error_vary]
        headers = [("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Length", str(len(body))), *(extra or []),
                   *([("Vary", ", ".join(vary))] if vary else []), *self.read_headers]
        return f"{status} {HTTP_STATUS_CODES.get(status, '').upper()}", headers, body


def error_text(error: HodoError, lang: str | None, accept_language: str | None) -> str:
    """An error's message in the reader's language (``lang``, then ``Accept-Language``) where
    it was written in more than English: a syntax error is explained in both."""
    if isinstance(error, QueryError) and error.messages:
        return error.in_language(choose_language(lang, accept_language))
    return str(error)


def _base_url(environ: dict[str, Any]) -> str:
    """``request.base_url`` for an ASCII host and path (the usual case), without its cost."""
    parts = (environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", ""),
             environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""))
    if all(part.isascii() and "%" not in part for part in parts) and parts[1]:
        return f"{parts[0]}://{parts[1]}{quote(parts[2] + parts[3])}"
    return get_current_url(environ, strip_querystring=True)
