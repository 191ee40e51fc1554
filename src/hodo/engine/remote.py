"""A remote SPARQL 1.1 server as the store: ``hodo serve --backend`` and ``hodo publish``.

The app reads its data through a few methods of ``pyoxigraph.Store`` (``query``,
``quads_for_pattern``, ``named_graphs``); ``RemoteStore`` answers the same calls over the SPARQL
1.1 Protocol, so pages, search, the term API and ``/sparql`` work unchanged on either.

The union default graph never depends on how the server is set up: a query over the union
names HODO's graphs with ``default-graph-uri`` and ``named-graph-uri``. Results come back as
real pyoxigraph results (solutions parsed from SPARQL JSON or XML; triples re-read through a
small in-memory store), so every caller handles them as it handles the embedded store's.

A server that says it is Virtuoso (its ``Server`` header) is spoken to in its dialect, which
``hodo.engine.virtuoso`` describes: stricter checks before sending, one format per query form,
its blank node labels and errors read back into HODO's.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import parse_http_list, parse_keqv_list

import pyoxigraph as ox

from hodo.core import paths
from hodo.core.errors import NotAvailable
from hodo.core.release import DATASET_FILE, GRAPH_NAMES, ReleaseError, graph_iri, stated_version
from hodo.engine import virtuoso
from hodo.engine.lexer import lexemes
from hodo.engine.query import QueryError, ResultTooLarge
from hodo.engine.store import Release, check_release_file

#: HODO's named graphs: the union default graph, and the only graphs ``GRAPH ?g`` sees.
HODO_GRAPHS = tuple(str(graph_iri(name)) for name in GRAPH_NAMES)
#: A graph no server holds: the protocol's way to say "an empty default graph".
EMPTY_GRAPH = str(graph_iri("empty"))
#: Results as SPARQL JSON or XML; CONSTRUCT and DESCRIBE as N-Triples or Turtle.
ACCEPT = ("application/sparql-results+json, application/sparql-results+xml;q=0.9, "
          "application/n-triples;q=0.8, text/turtle;q=0.7")
RESULT_FORMATS = {"application/sparql-results+json": ox.QueryResultsFormat.JSON,
                  "application/json": ox.QueryResultsFormat.JSON,
                  "application/sparql-results+xml": ox.QueryResultsFormat.XML}
GRAPH_FORMATS = {"application/n-triples": ox.RdfFormat.N_TRIPLES,
                 "text/plain": ox.RdfFormat.N_TRIPLES,
                 "text/turtle": ox.RdfFormat.TURTLE}
#: Seconds ``/health`` waits for the server's answer to a trivial query.
HEALTH_TIMEOUT = 2.0
#: Seconds a backend's good health is taken as known: a flood of ``/health`` requests costs
#: the backend one trivial query a second per web worker, not one each.
HEALTH_KNOWN_FOR = 1.0
#: Seconds a Graph Store upload may take: a whole graph, not one query.
PUBLISH_TIMEOUT = 120.0
_VERSION_QUERY = ("SELECT ?v WHERE { <https://w3id.org/hodo/dataset> "
                  "<http://purl.org/dc/terms/hasVersion> ?v } LIMIT 1")
_QUADS = "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
_BLANK_QUADS = ("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o "
                "FILTER(isBlank(?s) || isBlank(?o)) } }")


class BackendError(NotAvailable):
    """The remote server failed (HTTP 502) or did not answer in time (HTTP 504)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message, status=status)
        self.status = status


# --------------------------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class _Reply:
    status: int
    media_type: str
    body: bytes
    headers: Mapping[str, str] = dataclass_field(default_factory=dict)  # names in lower case

    def first_line(self) -> str:
        """The server's message, one short line: enough to act on, never a whole page."""
        lines = [line.strip() for line in self.body.decode("utf-8", "replace").splitlines()]
        text = next((line for line in lines if line), "")
        return text if len(text) <= 200 else text[:200] + " …"


class _Connections:
    """Keep-alive connections to one server, one per process and thread.

    Keyed by process too: the app is built before the web server forks, and a forked worker
    must never write to its parent's socket.
    """

    def __init__(self, url: str, name: str = "the SPARQL server this site reads from") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url}: not an http(s) URL")
        self.url = url
        self.name = name  # how errors name the server, for whoever reads them
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._open: dict[tuple[int, int], http.client.HTTPConnection] = {}
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._open)

    def request(self, method: str, target: str, body: bytes, headers: Mapping[str, str],
                timeout: float, max_bytes: int | None = None) -> _Reply:
        """Send one request and read the whole answer within ``timeout`` seconds in all.

        Raises:
            BackendError: the server cannot be reached (502) or is too slow (504).
            ResultTooLarge: the answer is longer than ``max_bytes``.
        """
        deadline = time.monotonic() + timeout
        for attempt in (1, 2):
            conn, reused = self._connection(timeout)
            try:
                return self._exchange(conn, method, target, body, headers, deadline, max_bytes)
            except TimeoutError:
                self._drop(conn)
                raise BackendError(f"{self.name} did not answer within "
                                   f"{timeout:g} s; try a smaller query or try again later",
                                   504) from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(conn)
                if reused and attempt == 1:
                    continue  # the server closed an idle keep-alive connection: try a new one
                raise BackendError(f"{self.name} closed the connection") from None
            except (OSError, http.client.HTTPException) as error:
                self._drop(conn)
                reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
                raise BackendError(f"{self.name} cannot be reached "
                                   f"({reason}); try again later") from None
            except BaseException:
                self._drop(conn)
                raise
        raise AssertionError("unreachable")

    def _exchange(self, conn: http.client.HTTPConnection, method: str, target: str,
                  body: bytes, headers: Mapping[str, str], deadline: float,
                  max_bytes: int | None) -> _Reply:
        _set_timeout(conn, deadline)
        conn.request(method, target, body=body, headers=dict(headers))
        _set_timeout(conn, deadline)
        with conn.getresponse() as response:
            chunks, size = [], 0
            while chunk := response.read(65536):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    self._drop(conn)
                    raise ResultTooLarge(f"the result is larger than {max_bytes} bytes, the cap "
                                         "of this endpoint; ask for less (LIMIT, fewer "
                                         "variables)", "result_bytes")
                chunks.append(chunk)
                _set_timeout(conn, deadline)
            media_type = (response.getheader("Content-Type") or "").split(";")[0]
            reply = _Reply(response.status, media_type.strip().lower(), b"".join(chunks),
                           {name.lower(): value for name, value in response.getheaders()})
        if response.will_close:
            self._drop(conn)
        return reply

    def _connection(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        key = (os.getpid(), threading.get_ident())
        with self._lock:
            conn = self._open.get(key)
            if conn is not None:
                return conn, True
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self._open[key] = kind(self.host, self.port, timeout=timeout)
            return conn, False

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            for key, known in list(self._open.items()):
                if known is conn:
                    del self._open[key]
        conn.close()

    def close(self) -> None:
        """Close this process's connections."""
        with self._lock:
            _close_all(self._open)


def _close_all(connections: dict[tuple[int, int], http.client.HTTPConnection]) -> None:
    for (pid, _), conn in list(connections.items()):
        if pid == os.getpid():
            conn.close()
    connections.clear()


def _set_timeout(conn: http.client.HTTPConnection, deadline: float) -> None:
    """What is left of the deadline, for the next blocking step (connect, send, each read)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    conn.timeout = remaining
    if conn.sock is not None:
        conn.sock.settimeout(remaining)


# --------------------------------------------------------------------------------------------
# The store


Result = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


class RemoteStore:
    """The subset of ``pyoxigraph.Store`` the app uses, answered by a remote server.

    ``timeout`` bounds each request (connect, send and read); ``max_bytes`` caps the answer to
    a query, so a huge result is refused rather than held in memory.
    """

    def __init__(self, url: str, *, timeout: float = 10.0, max_bytes: int | None = None,
                 graphs: Iterable[str] = HODO_GRAPHS) -> None:
        self.url = url
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.graphs = tuple(graphs)
        self._http = _Connections(url)
        self._blank: dict[ox.BlankNode, list[ox.Quad]] | None = None
        self._probing = threading.Lock()
        self._healthy_until = 0.0
        self._virtuoso: bool | None = None  # known from the server's first answer

    @property
    def virtuoso(self) -> bool:
        """Whether the server is Virtuoso (``hodo.engine.virtuoso``), asked once if not known."""
        if self._virtuoso is None:
            self._post([("query", "ASK {}")], ACCEPT, self.timeout, 4096)
        return bool(self._virtuoso)

    def _post(self, form: list[tuple[str, str]], accept: str, timeout: float,
              max_bytes: int | None) -> _Reply:
        """One protocol request; the first answer tells which server this is."""
        reply = self._http.request(
            "POST", self._http.path, urlencode(form).encode("utf-8"),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
            timeout, max_bytes)
        if self._virtuoso is None:
            self._virtuoso = virtuoso.is_virtuoso(reply.headers.get("server", ""))
        return reply

    def close(self) -> None:
        self._http.close()

    def query(self, query: str, *, use_default_graph_as_union: bool = False,
              default_graph: Any = None, named_graphs: Iterable[Any] | None = None,
              base_iri: str | None = None,
              substitutions: Mapping[ox.Variable, Any] | None = None) -> Result:
        """Run ``query`` on the server over the dataset pyoxigraph would use for these options.

        Raises:
            QueryError: the server refused the query (its message, one line).
            SyntaxError: Virtuoso only: the query is not SPARQL 1.1 (checked before sending).
            BackendError: the server failed or was too slow.
            ValueError: a graph or base IRI is invalid.
        """
        if self.virtuoso:
            virtuoso.check(query, base_iri=base_iri,
                           protocol_dataset=not use_default_graph_as_union)
        return self._query(query, use_default_graph_as_union, default_graph, named_graphs,
                           base_iri, substitutions, self.max_bytes)

    def _query(self, query: str, union: bool, default_graph: Any,
               named_graphs: Iterable[Any] | None, base_iri: str | None,
               substitutions: Mapping[ox.Variable, Any] | None,
               max_bytes: int | None) -> Result:
        known = self._virtuoso is not None
        prefix, accept, kind = "", ACCEPT, None
        if self._virtuoso:
            kind = virtuoso.form(query)
            prefix, accept = virtuoso.pragmas(kind), virtuoso.accept(kind)
        if base_iri is not None:
            prefix += f"BASE {ox.NamedNode(base_iri)} "
        text = prefix + substitute(query, substitutions or {})
        form = [("query", text), *self._dataset(union, default_graph, named_graphs)]
        try:
            reply = self._post(form, accept, self.timeout, max_bytes)
        except BackendError:
            self._healthy_until = 0.0  # /health asks again rather than repeat a good answer
            raise
        if self._virtuoso and not known:
            # the first answer of all says Virtuoso: ask again, in its dialect
            return self._query(query, union, default_graph, named_graphs, base_iri,
                               substitutions, max_bytes)
        if self._virtuoso:
            return self._virtuoso_result(reply)
        if reply.status == 400:
            raise QueryError(f"the SPARQL server refused the query: "
                             f"{_unshift(reply.first_line(), len(prefix))}", "invalid")
        if reply.status != 200:
            self._healthy_until = 0.0
            raise BackendError(f"the SPARQL server failed: {reply.status} {reply.first_line()}")
        return _result(reply)

    def _virtuoso_result(self, reply: _Reply) -> Result:
        """Virtuoso's answer, or its error, in HODO's terms (``hodo.engine.virtuoso``)."""
        if reply.status != 200:
            meaning, message = virtuoso.failure(reply.status, reply.first_line())
            if meaning == "query":
                raise QueryError(f"the SPARQL server refused the query: {message}", "invalid")
            self._healthy_until = 0.0
            if meaning == "timeout":
                raise BackendError(f"the SPARQL server gave up on the query at its own time "
                                   f"limit ({message}); try a smaller query", 504)
            raise BackendError(f"the SPARQL server failed: {reply.status} {message}")
        cut = virtuoso.cut_short(reply.headers)
        if cut is not None:
            why, message = cut
            if why == "rows":
                raise ResultTooLarge(message, "result_rows")
            raise BackendError(message, 504)
        if reply.media_type in RESULT_FORMATS:
            reply = _Reply(reply.status, reply.media_type, virtuoso.solutions(reply.body))
        return _result(reply)

    def _dataset(self, union: bool, default_graph: Any,
                 named_graphs: Iterable[Any] | None) -> list[tuple[str, str]]:
        """The protocol's dataset parameters: HODO's graphs for the union, else the caller's."""
        if union:
            defaults, named = list(self.graphs), list(self.graphs)
        else:
            defaults = [_iri(g) for g in _as_list(default_graph)]  # type: ignore[misc]
            named = ([_iri(g) for g in named_graphs]  # type: ignore[misc]
                     if named_graphs is not None else list(self.graphs))
            # only HODO's graphs: another graph of the server is, as in the embedded store,
            # a graph the store lacks (Virtuoso holds graphs of its own)
            defaults = [g if g in self.graphs else EMPTY_GRAPH for g in defaults if g is not None]
            named = [g if g in self.graphs else EMPTY_GRAPH for g in named if g]
            if not defaults and not named:
                # no parameter at all would mean the server's own dataset, not an empty one
                defaults = [EMPTY_GRAPH]
            if self._virtuoso and not named:
                # Virtuoso opens GRAPH ?g to every graph it holds when no named graph is given
                named = [EMPTY_GRAPH]
        return ([("default-graph-uri", g) for g in dict.fromkeys(defaults) if g]
                + [("named-graph-uri", g) for g in dict.fromkeys(named) if g])

    def quads_for_pattern(self, subject: Any, predicate: Any, object: Any,
                          graph_name: Any = None) -> Iterator[ox.Quad]:
        """The quads of HODO's graphs that match; the release's default graph is empty.

        A blank node cannot be named in a query, so patterns with one are answered from the
        blank-node statements, read once (the server must label blank nodes stably, as Oxigraph
        does).
        """
        if isinstance(graph_name, ox.DefaultGraph):
            return iter(())
        if isinstance(subject, ox.BlankNode) or isinstance(object, ox.BlankNode):
            return iter(self._blank_quads(subject, predicate, object, graph_name))
        bound = {ox.Variable(name): term for name, term in
                 (("s", subject), ("p", predicate), ("o", object), ("g", graph_name))
                 if term is not None}
        quads = self._quads(_QUADS, bound)
        if not bound:
            self._remember_blank(quads)
        return iter(quads)

    def _quads(self, text: str, bound: Mapping[ox.Variable, Any]) -> list[ox.Quad]:
        solutions = self._query(text, False, None, None, None, bound, None)
        return [ox.Quad(s, p, o, g) for s, p, o, g in solutions]  # type: ignore[union-attr, misc]

    def _remember_blank(self, quads: list[ox.Quad]) -> None:
        index: dict[ox.BlankNode, list[ox.Quad]] = {}
        for quad in quads:
            for term in {quad.subject, quad.object}:
                if isinstance(term, ox.BlankNode):
                    index.setdefault(term, []).append(quad)
        self._blank = index

    def _blank_quads(self, subject: Any, predicate: Any, object: Any,
                     graph_name: Any) -> list[ox.Quad]:
        if self._blank is None:
            self._remember_blank(self._quads(_BLANK_QUADS, {}))
        key = subject if isinstance(subject, ox.BlankNode) else object
        assert self._blank is not None
        return [q for q in self._blank.get(key, ())
                if all(want is None or want == got for want, got in
                       ((subject, q.subject), (predicate, q.predicate), (object, q.object),
                        (graph_name, q.graph_name)))]

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        """HODO's graphs that the server holds."""
        values = " ".join(f"<{g}>" for g in self.graphs)
        text = (f"SELECT ?g WHERE {{ VALUES ?g {{ {values} }} "
                "FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }")
        solutions = self._query(text, False, None, None, None, None, None)
        return iter([row[0] for row in solutions])  # type: ignore[union-attr, misc]

    def contains_named_graph(self, graph_name: Any) -> bool:
        return any(g == graph_name for g in self.named_graphs())

    def probe(self, timeout: float = HEALTH_TIMEOUT) -> str | None:
        """None when the server answers a trivial query within ``timeout``; else why not (for
        ``/health``, which must say when every page would fail, and must not itself hang).

        One probe at a time: callers meanwhile wait for its outcome rather than each sending
        their own. A good answer stands for ``HEALTH_KNOWN_FOR`` seconds; a bad one is asked
        again next time, so a backend that is back is seen at once."""
        with self._probing:
            if time.monotonic() < self._healthy_until:
                return None
            trouble = self._ask_health(timeout)
            if trouble is None:
                self._healthy_until = time.monotonic() + HEALTH_KNOWN_FOR
            return trouble

    def _ask_health(self, timeout: float) -> str | None:
        try:
            reply = self._post([("query", "ASK {}")], ACCEPT, timeout, 4096)
        except (BackendError, ResultTooLarge) as error:
            return str(error)
        return None if reply.status == 200 else f"it answered {reply.status}"

    def version(self) -> str | None:
        """The release version the server holds, or None when it holds no HODO release."""
        solutions = self._query(_VERSION_QUERY, True, None, None, None, None, None)
        values = [row[0].value for row in solutions]  # type: ignore[union-attr, index]
        return values[0] if values else None


def _as_list(graphs: Any) -> list[Any]:
    if graphs is None:
        return []
    if isinstance(graphs, ox.NamedNode | ox.DefaultGraph | str):
        return [graphs]
    return list(graphs)


def _iri(graph: Any) -> str | None:
    """A graph's IRI; None for the default graph, which the protocol cannot name."""
    if isinstance(graph, ox.DefaultGraph):
        return None
    return ox.NamedNode(graph.value if isinstance(graph, ox.NamedNode) else str(graph)).value


def _unshift(message: str, shift: int) -> str:
    """Oxigraph's "error at 1:N" counted the BASE we put in front: give the user's column."""
    if not shift:
        return message
    return re.sub(r"\b1:(\d+)", lambda m: f"1:{max(1, int(m.group(1)) - shift)}", message,
                  count=1)


def _result(reply: _Reply) -> Result:
    """The server's answer as a pyoxigraph result, checked whole first.

    A server that gives up mid-answer may still have said 200 (Oxigraph's own timeout does):
    parsing everything once turns that into an error rather than a short result.
    """
    try:
        if reply.media_type in RESULT_FORMATS:
            results_format = RESULT_FORMATS[reply.media_type]
            parsed = ox.parse_query_results(reply.body, format=results_format)
            if isinstance(parsed, ox.QuerySolutions):
                for _ in parsed:
                    pass
            return ox.parse_query_results(reply.body, format=results_format)  # type: ignore[return-value]
        if reply.media_type in GRAPH_FORMATS:
            scratch = ox.Store()
            scratch.load(reply.body, format=GRAPH_FORMATS[reply.media_type])
            return scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")
    except (SyntaxError, ValueError) as error:
        raise BackendError(f"the SPARQL server sent a malformed answer ({error})") from None
    raise BackendError(f"the SPARQL server answered in an unexpected format "
                       f"({reply.media_type or 'none'})")


# --------------------------------------------------------------------------------------------
# Substitutions, which the protocol does not have


_ENDS_ORDER = frozenset({"limit", "offset", "having", "values", "select", "where"})


def substitute(query: str, substitutions: Mapping[ox.Variable, Any]) -> str:
    """``query`` with each substituted variable replaced by its term, as pyoxigraph binds it.

    The term is written in its N-Triples form, which pyoxigraph has already validated, so
    nothing can escape into the query. A projected variable stays in the results:
    ``SELECT ?s`` becomes ``SELECT (<iri> AS ?s)``; in ``GROUP BY`` / ``ORDER BY`` it is a
    bracketed expression.

    >>> substitute("SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?s",
    ...            {ox.Variable("s"): ox.NamedNode("http://a")})
    'SELECT (<http://a> AS ?s) ?o WHERE { <http://a> ?p ?o } ORDER BY (<http://a>)'
    """
    terms = {variable.value: str(term) for variable, term in substitutions.items()}
    if not terms:
        return query
    out: list[str] = []
    in_select = in_order = False
    depth = 0  # brackets since the clause began
    for match in lexemes(query):
        token, word, var = match.group(0), (match.group("word") or "").lower(), match["var"]
        if word:
            in_select = word == "select" or (in_select and word not in ("where", "from"))
            in_order = word == "by" or (in_order and word not in _ENDS_ORDER)
            depth = 0 if word in ("select", "by") else depth
        elif token in "({":
            depth += 1
            in_select = in_select and token == "("
            in_order = in_order and token == "("
        elif token in ")}":
            depth -= 1
            in_order = in_order and token == ")"
        if var is not None and var in terms:
            term = terms[var]
            if in_select and depth == 0:
                token = f"({term} AS ?{var})"
            elif in_order and depth == 0:
                token = f"({term})"
            else:
                token = term
        out.append(token)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Opening and publishing


def open_remote_release(url: str, dist: Path | None = None, *, timeout: float,
                        max_bytes: int | None) -> Release:
    """The release as served by the remote query endpoint ``url``, each request to it within
    ``timeout`` seconds and ``max_bytes`` bytes (the server's query deadline and result cap).

    The local release folder must hold the same version: the site serves its files as
    downloads.

    Raises:
        ReleaseError: the server does not answer, holds no HODO release, or another version.
    """
    path = (dist or paths.dist_dir()) / DATASET_FILE
    local = stated_version(path)
    check_release_file(path)  # its downloads come from here
    try:
        store = RemoteStore(url, timeout=timeout, max_bytes=max_bytes)
    except ValueError as error:
        raise ReleaseError(f"--backend {error}") from None
    try:
        remote = store.version()
    except (BackendError, QueryError) as error:
        store.close()
        raise ReleaseError(f"{url}: cannot use this SPARQL server: {error}") from None
    if remote is None:
        store.close()
        raise ReleaseError(f"{url}: the SPARQL server holds no HODO release; load it with "
                           "`hodo publish --to <its Graph Store endpoint>`")
    if remote != local:
        store.close()
        raise ReleaseError(f"{url}: the SPARQL server holds HODO release {remote}, but the "
                           f"local release {path} is {local}; publish this release to it, "
                           "or serve the release it holds")
    return Release(store, local, path)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PublishReport:
    """What ``publish_release`` sent."""

    url: str
    graphs: dict[str, int]

    def describe(self) -> str:
        """Lines for the terminal."""
        lines = [f"published to {self.url}:"]
        lines += [f"  {iri}  {count} triples" for iri, count in sorted(self.graphs.items())]
        return "\n".join(lines)


def release_graphs(path: Path) -> dict[str, list[ox.Triple]]:
    """The named graphs of the release file, each as its triples.

    Raises:
        ReleaseError: the file is missing or not valid N-Quads.
    """
    if not path.is_file():
        raise ReleaseError(f"{path}: release file not found; run `hodo build` first")
    graphs: dict[str, list[ox.Triple]] = {}
    try:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS):
            if isinstance(quad.graph_name, ox.NamedNode):
                graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
    except (SyntaxError, OSError) as error:
        raise ReleaseError(f"{path}: cannot read the release: {error}") from None
    return graphs


@dataclass(frozen=True)
class Credentials:
    """A user and password, answered to the server's challenge (HTTP Digest, as Virtuoso's
    ``/sparql-graph-crud-auth`` asks, or Basic); never sent unasked."""

    user: str
    password: str = dataclass_field(repr=False)

    def answer(self, challenge: str, method: str, target: str) -> str | None:
        """The ``Authorization`` header for a ``WWW-Authenticate`` challenge; None for a scheme
        HODO does not speak."""
        scheme, _, rest = challenge.strip().partition(" ")
        if scheme.lower() == "basic":
            pair = f"{self.user}:{self.password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        if scheme.lower() != "digest":
            return None
        params = parse_keqv_list(parse_http_list(rest))
        if params.get("algorithm", "MD5").upper() != "MD5" or "nonce" not in params:
            return None
        realm, nonce = params.get("realm", ""), params["nonce"]
        ha1 = _md5(f"{self.user}:{realm}:{self.password}")
        ha2 = _md5(f"{method}:{target}")
        fields = {"username": self.user, "realm": realm, "nonce": nonce, "uri": target}
        if "auth" in [q.strip() for q in params.get("qop", "").split(",")]:
            cnonce = os.urandom(8).hex()
            fields |= {"qop": "auth", "nc": "00000001", "cnonce": cnonce,
                       "response": _md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")}
        else:
            fields["response"] = _md5(f"{ha1}:{nonce}:{ha2}")
        if "opaque" in params:
            fields["opaque"] = params["opaque"]
        bare = ("qop", "nc")  # tokens; every other field is a quoted string
        return "Digest " + ", ".join(f"{k}={v}" if k in bare else f'{k}="{v}"'
                                     for k, v in fields.items())


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def publish_release(dist: Path | None, url: str, *, token: str | None = None,
                    credentials: Credentials | None = None) -> PublishReport:
    """PUT every named graph of the release to the Graph Store endpoint ``url``.

    Each PUT replaces the graph, so publishing twice leaves the same data. ``credentials``
    answer a server that asks for them (Virtuoso's ``/sparql-graph-crud-auth``).

    Raises:
        ReleaseError: the release cannot be read.
        BackendError: the server refused or failed.
    """
    graphs = release_graphs((dist or paths.dist_dir()) / DATASET_FILE)
    try:
        connections = _Connections(url, "the server")
    except ValueError as error:
        raise BackendError(f"--to {error}") from None
    headers = {"Content-Type": "application/n-triples"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    counts: dict[str, int] = {}
    try:
        for iri in sorted({*HODO_GRAPHS, *graphs}):
            triples = graphs.get(iri, [])
            body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
            _send(connections, "PUT" if triples else "DELETE", iri, body, headers,
                  credentials)
            counts[iri] = len(triples)
    finally:
        connections.close()
    return PublishReport(url, counts)


def _send(connections: _Connections, method: str, iri: str, body: bytes,
          headers: Mapping[str, str], credentials: Credentials | None = None) -> None:
    """PUT a graph, or DELETE one the release leaves empty (absent already is fine); asked for
    credentials, answer with them once."""
    separator = "&" if "?" in connections.path else "?"
    target = f"{connections.path}{separator}graph={quote(iri, safe='')}"
    try:
        headers = {**headers, **_login(connections, method, target, credentials)}
        reply = connections.request(method, target, body, headers, PUBLISH_TIMEOUT)
    except BackendError as error:
        raise BackendError(f"{connections.url}: {error}", error.status) from None
    if reply.status not in (200, 201, 204) and not (method == "DELETE" and reply.status == 404):
        raise BackendError(f"{connections.url}: the server refused graph <{iri}>: "
                           f"{reply.status} {_refusal(reply, credentials)}".rstrip())


def _login(connections: _Connections, method: str, target: str,
           credentials: Credentials | None) -> dict[str, str]:
    """The ``Authorization`` header for ``method`` on ``target`` (none when the server asks
    for none), the credentials tried first on a HEAD.

    Asked and tried with a HEAD, never with the graph itself: Virtuoso answers a PUT's 401
    and closes the connection before it has read the body, which then breaks off.

    Raises:
        BackendError: the server wants credentials it was not given, or refuses them.
    """
    reply = connections.request("HEAD", target, b"", {}, PUBLISH_TIMEOUT)
    challenge = reply.headers.get("www-authenticate")
    if reply.status != 401 or not challenge:
        return {}
    if credentials is None:
        raise BackendError(f"the server refused: 401 {_refusal(reply, None)}")
    trial = credentials.answer(challenge, "HEAD", target)
    if trial is None:
        raise BackendError(f"the server asks for a login HODO does not speak: {challenge}")
    reply = connections.request("HEAD", target, b"", {"Authorization": trial}, PUBLISH_TIMEOUT)
    if reply.status == 401:
        raise BackendError(f"the server refused the login: 401 {_refusal(reply, credentials)}")
    reply = connections.request("HEAD", target, b"", {}, PUBLISH_TIMEOUT)  # a fresh nonce
    answer = credentials.answer(reply.headers.get("www-authenticate", ""), method, target)
    return {"Authorization": answer} if answer else {}


def _refusal(reply: _Reply, credentials: Credentials | None) -> str:
    """The server's one line (Virtuoso's without its SQL state), and what to do when it wants
    credentials it did not get."""
    line = virtuoso.failure(reply.status, reply.first_line())[1]
    if reply.status != 401:
        return line
    hint = ("the user or password is wrong" if credentials is not None else
            "it asks for a user and password: give --user (and $HODO_PUBLISH_PASSWORD)")
    return f"{line} ({hint})" if line else f"({hint})"
