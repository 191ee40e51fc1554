"""Curator mode: SPARQL Update at ``/sparql/update``, the Graph Store Protocol at ``/graph-store``.

Both stage changes in the server's in-memory store, never in the release files; they exist only
when ``HODO_CURATOR_TOKEN`` is set, and every request must carry that token as
``Authorization: Bearer <token>``. A token in the URL is refused, whatever its value and
however its parameter's name is cased, because URLs end up in logs and browser histories. An
``Authorization`` header longer than any token could make is refused before it is compared.
LOAD and SERVICE are refused even for curators.

Query workers are forked from the store and see it as it was at the fork, so after every change
they are replaced; staged changes live in one process, so curator mode runs one web worker.
Neither an update nor an uploaded document is run or parsed in that process: each goes to a
boxed child (``hodo.engine.workers.run_boxed``: deadline, memory cap, no socket, no new file),
and only what it changed, as N-Quads, comes back to be applied.
"""

from __future__ import annotations

import functools
import hmac
import io
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request
from rdflib import BNode, Literal, URIRef

from hodo.core.formats import BY_NAME, Format, Kind, negotiate, offers_for
from hodo.core.rdfinput import InputError, format_for, parse_document
from hodo.core.settings import SettingError
from hodo.engine.query import QueryError, refuse_unsafe_update, with_using
from hodo.engine.workers import TaskRefused, run_boxed
from hodo.web import ops
from hodo.web.bodies import request_body
from hodo.web.errors import error_response
from hodo.web.sparql import (
    UPDATE_TYPE,
    ProtocolError,
    decode_params,
    graph_list,
    read_operation,
)
from hodo.web.state import get_release, state

bp = Blueprint("curator", __name__)

#: Shortest token accepted at start-up: a guessable token would open the store to writes.
MIN_TOKEN_LENGTH = 16
#: Longest token accepted at start-up; an ``Authorization`` header longer than it needs is
#: refused (400) before it is compared.
MAX_TOKEN_LENGTH = 1024
#: ``Bearer `` and the longest token.
MAX_AUTHORIZATION_LENGTH = len("Bearer ") + MAX_TOKEN_LENGTH
#: URL parameters that would carry a credential (RFC 6750 names ``access_token``), in lower
#: case: a parameter is matched whatever its case (``ACCESS_TOKEN``, ``Api_Key``).
TOKEN_PARAMS = ("access_token", "token", "bearer", "api_key")
REALM = 'Bearer realm="hodo-curator"'



def check_token_setting(token: object) -> None:
    """Start-up check of ``HODO_CURATOR_TOKEN``: empty (curator mode off), or long enough and
    not longer than an ``Authorization`` header may be.

    Raises:
        SettingError: the token is set but shorter than :data:`MIN_TOKEN_LENGTH` or longer
            than :data:`MAX_TOKEN_LENGTH`.
    """
    if token and not MIN_TOKEN_LENGTH <= len(str(token)) <= MAX_TOKEN_LENGTH:
        raise SettingError(f"HODO_CURATOR_TOKEN must be {MIN_TOKEN_LENGTH} to "
                           f"{MAX_TOKEN_LENGTH} characters long, or unset to turn curator "
                           "mode off")


def token_in_url(names: Iterable[str]) -> bool:
    """Whether any of these URL parameter names would carry a credential, in any case."""
    return any(name.casefold() in TOKEN_PARAMS for name in names)


def _authorise() -> None:
    """Let the request through only with the configured bearer token.

    Raises:
        ProtocolError: 400 for a token in the URL or an ``Authorization`` header longer than
            any token, 403 when curator mode is off or the token is wrong, 401 (with
            ``WWW-Authenticate``) when there is none.
    """
    if token_in_url(request.args):
        raise ProtocolError(400, "never put a token in the URL; send it in the header "
                                 "Authorization: Bearer <token>")
    header = request.headers.get("Authorization", "")
    if len(header) > MAX_AUTHORIZATION_LENGTH:
        raise ProtocolError(400, f"the Authorization header is {len(header)} characters long; "
                                 f"a curator token has at most {MAX_TOKEN_LENGTH}")
    expected = state().settings.curator_token
    if not expected:
        raise ProtocolError(403, "curator mode is off on this server (HODO_CURATOR_TOKEN is "
                                 "not set): it is read-only")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ProtocolError(401, "this needs a curator token: Authorization: Bearer <token>")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ProtocolError(403, "wrong curator token")


def _error(error: ProtocolError) -> Response:
    response = error_response(error.status, str(error))
    if error.status == 401:
        response.headers["WWW-Authenticate"] = REALM
    return response


def _refresh_query_workers() -> None:
    """Replace this process's query workers (they hold the store as it was when forked) and
    let go of the results cached from the old store."""
    ops.store_changed(current_app._get_current_object())  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# SPARQL Update


def no_content() -> Response:
    """204, with no body and so no Content-Type."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


@bp.route("/sparql/update", methods=["GET", "POST"])
def update() -> Response:
    """Run one SPARQL Update request against the staged store (POST only, as the protocol says).

    GET is routed here only to answer it with 405: the term pages would otherwise take the path.
    """
    if request.method != "POST":
        response = error_response(405, "SPARQL Update goes by POST only")
        response.headers["Allow"] = "POST"
        return response
    try:
        _authorise()
        operation = read_operation("update", UPDATE_TYPE, "query")
        if operation.text is None:
            raise ProtocolError(400, "no update: send one in the update parameter")
        text = operation.text
        refuse_unsafe_update(text)
        graphs = graph_list(operation.params, "using-graph-uri")
        named = graph_list(operation.params, "using-named-graph-uri")
        if graphs is not None or named is not None:
            text = with_using(text, graphs or [], named or [])
        _apply(text, request.base_url)
    except ProtocolError as error:
        return _error(error)
    except QueryError as error:
        return error_response(400, str(error))
    return no_content()


def _apply(text: str, base_iri: str) -> None:
    """Run the update (all of it or nothing) in a boxed child, then apply what it changed here
    and refresh the query workers. The update never runs in this process: a crash, a hang or a
    hidden attempt to reach out ends in the child, and the staged changes stay as they were.

    Raises:
        ProtocolError: 400 with the engine's message for a syntax or evaluation error.
        Unavailable: the update overran the deadline or the memory cap (503).
    """
    store = get_release().store
    with state().write_lock:
        try:
            header, body = run_boxed(lambda: _updated(store, text, base_iri),
                                     ops.state().settings.pool, "the update")
        except TaskRefused as error:
            raise ProtocolError(400, f"SPARQL Update failed: {error}") from None
        _apply_delta(store, header, body)
        _refresh_query_workers()


def _updated(store: ox.Store, text: str, base_iri: str) -> tuple[dict[str, Any], bytes]:
    """(In the boxed child.) Run the update on this copy of the store and say what changed:
    the quads removed, then those added, as N-Quads, and the named graphs made or dropped."""
    before, graphs = set(store), set(store.named_graphs())
    try:
        store.update(text, base_iri=base_iri)
    except (SyntaxError, ValueError, OSError, RuntimeError) as error:
        raise TaskRefused(" ".join(str(error).split())[:300]) from None
    after, graphs_after = set(store), set(store.named_graphs())
    removed = ox.serialize(before - after, format=ox.RdfFormat.N_QUADS) or b""
    added = ox.serialize(after - before, format=ox.RdfFormat.N_QUADS) or b""
    return {"removed_bytes": len(removed),
            "graphs_made": sorted(g.value for g in graphs_after - graphs
                                  if isinstance(g, ox.NamedNode)),
            "graphs_dropped": sorted(g.value for g in graphs - graphs_after
                                     if isinstance(g, ox.NamedNode))}, removed + added


def _apply_delta(store: ox.Store, header: dict[str, Any], body: bytes) -> None:
    """Make in ``store`` the change the boxed child made in its copy."""
    cut = int(header["removed_bytes"])
    for iri in header["graphs_dropped"]:
        store.remove_graph(ox.NamedNode(iri))
    for quad in ox.parse(body[:cut], format=ox.RdfFormat.N_QUADS):
        store.remove(quad)
    store.extend(ox.parse(body[cut:], format=ox.RdfFormat.N_QUADS))
    for iri in header["graphs_made"]:
        store.add_graph(ox.NamedNode(iri))


# --------------------------------------------------------------------------------------------
# Graph Store Protocol


GRAPH_STORE_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]


@bp.route("/graph-store", methods=GRAPH_STORE_METHODS)
def graph_store() -> Response:
    """GET, HEAD, PUT, POST and DELETE on ``?graph=<iri>`` or ``?default``.

    Reads are public, as every other read is, up to the size a query result may have
    (``HODO_MAX_RESULT_BYTES``); a curator's read has no cap. Writes need the token.
    """
    try:
        if request.method in ("GET", "HEAD"):
            # a token sent in curator mode is checked (a wrong one is refused, not ignored)
            curator = bool(request.headers.get("Authorization")
                           and state().settings.curator_token)
            if curator:
                _authorise()
            elif token_in_url(request.args):
                raise ProtocolError(400, "never put a token in the URL; send it in the header "
                                         "Authorization: Bearer <token>")
            return _get(_target(), None if curator else state().settings.max_result_bytes)
        _authorise()
        target = _target()
        if request.method == "DELETE":
            return _delete(target)
        return _write(target, replace=request.method == "PUT")
    except ProtocolError as error:
        return _error(error)


def _target() -> ox.NamedNode | ox.DefaultGraph:
    """The graph the request names: exactly one of ``graph=<iri>`` and ``default``.

    Raises:
        ProtocolError: 400 when neither or both are given, or the IRI is not absolute.
    """
    params = decode_params(request.query_string, "URL")
    iris = graph_list(params, "graph") or []
    default = "default" in params
    if default == bool(iris) or len(iris) > 1:
        raise ProtocolError(400, "name exactly one graph: ?graph=<IRI> or ?default")
    return ox.DefaultGraph() if default else ox.NamedNode(iris[0])


def _exists(store: ox.Store, target: ox.NamedNode | ox.DefaultGraph) -> bool:
    return isinstance(target, ox.DefaultGraph) or store.contains_named_graph(target)


def _get(target: ox.NamedNode | ox.DefaultGraph, cap: int | None) -> Response:
    """The graph in the negotiated format; refused once it grows past ``cap`` bytes."""
    store = get_release().store
    if not _exists(store, target):
        raise ProtocolError(404, f"no graph named <{target.value}>")  # type: ignore[union-attr]
    offers = offers_for(Kind.GRAPH)
    chosen = negotiate(request.headers.get("Accept"), offers)
    if chosen is None:
        raise ProtocolError(406, "acceptable here: " + ", ".join(f.media_type for f in offers))
    out = _Capped(cap)
    try:
        ox.serialize((q.triple for q in store.quads_for_pattern(None, None, None, target)),
                     out, format=chosen.oxigraph)  # type: ignore[arg-type]
    except _Capped.Full:
        raise ProtocolError(400, f"the graph is larger than {cap} bytes, the most this server "
                                 "sends without a curator token; download the release files, "
                                 "or ask /sparql for part of it") from None
    body = bytes(out.written)
    response = Response(body, 200, content_type=f"{chosen.media_type}; charset=utf-8")
    response.vary.add("Accept")
    return response


class _Capped(io.RawIOBase):
    """Bytes written until they pass ``cap`` (None: no cap), then ``Full``: a serialisation
    stops there instead of building all of a huge graph in memory."""

    class Full(Exception):
        pass

    def __init__(self, cap: int | None) -> None:
        super().__init__()
        self.cap = cap
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.written += data
        if self.cap is not None and len(self.written) > self.cap:
            raise _Capped.Full
        return len(data)


def _delete(target: ox.NamedNode | ox.DefaultGraph) -> Response:
    store = get_release().store
    with state().write_lock:
        if not _exists(store, target):
            raise ProtocolError(404, f"no graph named <{target.value}>")  # type: ignore[union-attr]
        if isinstance(target, ox.DefaultGraph):
            store.clear_graph(target)
        else:
            store.remove_graph(target)
        _refresh_query_workers()
    return no_content()


def _write(target: ox.NamedNode | ox.DefaultGraph, *, replace: bool) -> Response:
    """PUT replaces the graph with the body, POST adds the body to it; 201 when it is new."""
    limit = state().settings.graph_store_max_bytes
    if (request.content_length or 0) > limit:
        raise _too_large(limit)
    try:
        fmt = format_for("upload", request.headers.get("Content-Type") or "")
    except InputError as error:
        raise ProtocolError(415, str(error)) from None
    if fmt.kind is not Kind.GRAPH:
        raise ProtocolError(415, "send one graph: Turtle, N-Triples, RDF/XML or JSON-LD")
    data = request_body(limit)
    if data is None:
        raise _too_large(limit)
    triples = _parse(data, fmt)
    store = get_release().store
    with state().write_lock:
        created = not _exists(store, target)
        if replace and not created:
            store.clear_graph(target)
        store.extend([ox.Quad(t.subject, t.predicate, t.object, target) for t in triples])
        if created and isinstance(target, ox.NamedNode):
            store.add_graph(target)
        _refresh_query_workers()
    return Response(status=201) if created else no_content()


def _too_large(limit: int) -> ProtocolError:
    return ProtocolError(413, f"the document is larger than {limit} bytes "
                              "(HODO_GRAPH_STORE_MAX_BYTES)")


def _parse(data: bytes, fmt: Format) -> list[ox.Triple]:
    """The triples of an uploaded document, parsed safely (no entities, no remote context) in
    a boxed child: a document built to make a parser slow or greedy stops at the deadline or
    the memory cap, there, and comes back as N-Triples, which read in linear time.

    Raises:
        ProtocolError: 400 naming the line and column of a syntax error.
        Unavailable: the parse overran the deadline or the memory cap (503).
    """
    _warm_parser()
    try:
        _, body = run_boxed(lambda: _parsed(data, fmt), ops.state().settings.pool,
                            "reading the document")
    except TaskRefused as error:
        raise ProtocolError(400, str(error)) from None
    return list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))


def _parsed(data: bytes, fmt: Format) -> tuple[dict[str, Any], bytes]:
    """(In the boxed child.) The document's triples as N-Triples."""
    try:
        graph = parse_document(data, fmt, "upload")
    except InputError as error:
        raise TaskRefused(str(error)) from None
    triples = [ox.Triple(*(_term(n) for n in triple)) for triple in graph]  # type: ignore[arg-type]
    return {}, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""


@functools.cache
def _warm_parser() -> None:
    """Load, in this process, every module a parse needs: the boxed child may open no file, so
    it cannot import one."""
    for data in (b"<urn:a> <urn:b> <urn:c> .", b"<urn:a"):
        with suppress(InputError):
            parse_document(data, BY_NAME["ntriples"], "warm-up")


def _term(node: object) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    assert isinstance(node, Literal)
    if node.language:
        return ox.Literal(str(node), language=node.language)
    if node.datatype:
        return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
    return ox.Literal(str(node))
