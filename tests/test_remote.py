"""A remote SPARQL server as the store: `hodo publish` to a real server, then `hodo serve
--backend` answering from it exactly as the embedded store does. The tests that take the
``backend`` fixture run against each engine HODO supports (the Oxigraph server, Virtuoso);
Virtuoso's own quirks are tested in tests/test_virtuoso.py."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Graph
from rdflib.compare import isomorphic

from hodo.cli import main
from hodo.engine.query import QueryError, execute
from hodo.engine.remote import (
    HEALTH_KNOWN_FOR,
    BackendError,
    RemoteStore,
    publish_release,
    release_graphs,
    substitute,
)
from hodo.engine.store import Release, ReleaseError
from tests.support.backends import ENGINES, Backend, backend_server
from tests.support.net import Listener, fake_server, free_port, reply
from tests.support.queries import SERVER_CRASHERS, SERVICE_SPELLINGS
from tests.support.server import HODO_CLI, oxigraph_server, serving
from tests.terms import HEPATIC_OSTEODYSTROPHY

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


# --------------------------------------------------------------------------------------------
# Servers


def version_answer(version: str) -> Callable[[BaseHTTPRequestHandler, bytes], None]:
    """A server that holds only a dataset version: enough for the start-up check."""
    bindings = [{"v": {"type": "literal", "value": version}}]
    body = json.dumps({"head": {"vars": ["v"]}, "results": {"bindings": bindings}}).encode()
    return lambda request, _: reply(request, 200, body, "application/sparql-results+json")


@pytest.fixture(scope="module")
def oxigraph_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with backend_server("oxigraph", tmp_path_factory.mktemp("oxigraph")) as server:
        yield server


@pytest.fixture(scope="module")
def oxigraph(oxigraph_backend: Backend) -> str:
    """The Oxigraph server's base URL."""
    return oxigraph_backend.query_url.removesuffix("/query")


@pytest.fixture(scope="module", params=ENGINES)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each engine in turn: the module's Oxigraph server, then the session's Virtuoso."""
    return request.getfixturevalue(f"{request.param}_backend")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def published(backend: Backend, release_dir: Path) -> dict[str, int]:
    return publish_release(release_dir, backend.store_url,
                           credentials=backend.credentials).graphs


@pytest.fixture(scope="module")
def remote_site(backend: Backend, published: dict[str, int], release_dir: Path
                ) -> Iterator[str]:
    with serving(release_dir, args=["--backend", backend.query_url]) as running:
        yield running.url


@pytest.fixture(scope="module")
def embedded_site(release_dir: Path) -> Iterator[str]:
    with serving(release_dir) as running:
        yield running.url


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """Status, media type and body, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get_content_type(), error.read()


def sparql(site: str, query: str, accept: str) -> tuple[int, str, bytes]:
    return get(f"{site}/sparql?" + urllib.parse.urlencode({"query": query}), {"Accept": accept})


# --------------------------------------------------------------------------------------------
# Publishing


@pytest.mark.server
def test_publish_sends_every_graph_and_is_idempotent(
        backend: Backend, published: dict[str, int], release_dir: Path) -> None:
    expected = {iri: len(triples) for iri, triples in
                release_graphs(release_dir / "hodo.nq").items()}
    assert {iri: n for iri, n in published.items() if n} == expected
    again = publish_release(release_dir, backend.store_url,
                            credentials=backend.credentials).graphs
    assert again == published
    store = RemoteStore(backend.query_url)
    try:
        rows = store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        held = {row["g"].value: int(row["n"].value) for row in rows}  # type: ignore[union-attr, index]
    finally:
        store.close()
    assert held == expected


def test_publish_unreachable_server_exits_2(release_dir: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/store"
    result = CliRunner().invoke(main, ["publish", "--to", url, "--dist", str(release_dir)])
    assert result.exit_code == 2
    assert url in result.output and "cannot be reached" in result.output


def test_publish_refused_exits_2_with_status_and_sends_token(release_dir: Path) -> None:
    seen: list[str | None] = []

    def refuse(request: BaseHTTPRequestHandler, _: bytes) -> None:
        seen.append(request.headers.get("Authorization"))
        reply(request, 403, b"writes need a valid token\nmore detail\n")

    with fake_server(refuse) as url:
        result = CliRunner().invoke(main, ["publish", "--to", url + "/store", "--token",
                                           "s3cret", "--dist", str(release_dir)])
    assert result.exit_code == 2
    assert "403 writes need a valid token" in result.output
    assert "more detail" not in result.output
    assert seen == ["Bearer s3cret"]


def test_publish_without_release_is_a_release_error(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match=r"hodo\.nq"):
        publish_release(tmp_path, "http://127.0.0.1:9/store")


def test_health_probes_are_shared_and_a_failure_is_asked_again() -> None:
    """A flood of /health costs the backend one trivial query, while the backend is well; once
    a query has failed, the next probe asks again instead of repeating the good answer."""
    asked: list[bytes] = []
    failing = threading.Event()

    def backend(request: BaseHTTPRequestHandler, body: bytes) -> None:
        asked.append(body)
        if failing.is_set():
            reply(request, 500, b"down\n")
        else:
            reply(request, 200, b'{"head": {}, "boolean": true}',
                  "application/sparql-results+json")

    with fake_server(backend) as url:
        store = RemoteStore(url + "/sparql", timeout=5)
        probes = [threading.Thread(target=store.probe) for _ in range(20)]
        for probe in probes:
            probe.start()
        for probe in probes:
            probe.join()
        assert store.probe() is None
        assert len(asked) == 1 and b"ASK" in asked[0]
        failing.set()
        with pytest.raises(BackendError):
            store.query("ASK { ?s ?p ?o }")
        assert store.probe() == "it answered 500"
        assert len(asked) == 3


# --------------------------------------------------------------------------------------------
# The store itself


def test_substitution_binds_projected_and_filtered_variables() -> None:
    term = ox.NamedNode("http://example.org/a")
    text = substitute('SELECT ?t ?x WHERE { ?x ?p ?t FILTER(?t != "?t") } ORDER BY ?t',
                      {ox.Variable("t"): term})
    assert text == ('SELECT (<http://example.org/a> AS ?t) ?x WHERE { ?x ?p '
                    '<http://example.org/a> FILTER(<http://example.org/a> != "?t") } '
                    'ORDER BY (<http://example.org/a>)')


@pytest.mark.server
def test_server_refusal_is_a_query_error(oxigraph: str, published: dict[str, int]) -> None:
    store = RemoteStore(oxigraph + "/query")
    try:
        with pytest.raises(QueryError, match="refused the query: error at 1:"):
            store.query("SELECT * WHERE { ?s ?p ", use_default_graph_as_union=True)
    finally:
        store.close()


def test_refused_queries_never_reach_the_store() -> None:
    class Untouchable(RemoteStore):
        def query(self, *args: object, **kwargs: object) -> ox.QuerySolutions:
            raise AssertionError("the backend was asked")

    store = Untouchable("http://127.0.0.1:9/query")
    for text in ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }",
                 "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"):
        with pytest.raises(QueryError):
            execute(store, text)


def test_unreachable_server_is_a_502() -> None:
    store = RemoteStore(f"http://127.0.0.1:{free_port()}/query", timeout=2)
    with pytest.raises(BackendError, match="cannot be reached") as caught:
        store.query("ASK {}")
    assert caught.value.status == 502


@pytest.mark.server
def test_release_through_the_store_matches_the_file(
        backend: Backend, published: dict[str, int], release: Release) -> None:
    store = RemoteStore(backend.query_url)
    try:
        remote = set(store.quads_for_pattern(None, None, None, None))
        blank = next(q.subject for q in remote if isinstance(q.subject, ox.BlankNode))
        assert list(store.quads_for_pattern(blank, None, None))
        assert {g.value for g in store.named_graphs()} == {
            g.value for g in release.store.named_graphs()}
    finally:
        store.close()
    assert len(remote) == len(release.store)
    # every statement that holds no blank node is the release's own, term for term (but for
    # Virtuoso's derived integer datatypes, see _virtuoso_normal)
    embedded = release.store.quads_for_pattern(None, None, None, None)
    if backend.engine == "virtuoso":
        assert _named(remote, _as_integer) == _named(embedded, _as_integer)
    else:
        assert _named(remote) == _named(embedded)


def _named(quads: Iterable[ox.Quad],
           normal: Callable[[ox.Quad], ox.Quad] = lambda quad: quad) -> set[ox.Quad]:
    return {normal(q) for q in quads if not isinstance(q.subject, ox.BlankNode)
            and not isinstance(q.object, ox.BlankNode)}


def _as_integer(quad: ox.Quad) -> ox.Quad:
    term = quad.object
    if isinstance(term, ox.Literal) and _DERIVED_INTEGERS.search(
            term.datatype.value.encode()):
        term = ox.Literal(term.value, datatype=ox.NamedNode(XSD_INTEGER))
    return ox.Quad(quad.subject, quad.predicate, term, quad.graph_name)


# --------------------------------------------------------------------------------------------
# Serving from the backend

QUERIES = {
    "select": (f"SELECT ?p ?o WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> ?p ?o }} ORDER BY ?p ?o",
               ["application/sparql-results+json", "text/csv", "application/sparql-results+xml"]),
    "graphs": ("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g "
               "ORDER BY ?g", ["application/sparql-results+json", "text/tab-separated-values"]),
    "ask": (f"ASK {{ <{HEPATIC_OSTEODYSTROPHY}> <{RDFS_LABEL}> ?l }}",
            ["application/sparql-results+json", "application/sparql-results+xml"]),
    "construct": (f"CONSTRUCT WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> ?p ?o }}",
                  ["text/turtle", "application/n-triples"]),
    "describe": (f"DESCRIBE <{HEPATIC_OSTEODYSTROPHY}>", ["text/turtle"]),
    # Chinese in the query itself, as the form body carries it to the server
    "chinese": (f'SELECT ?s WHERE {{ ?s <{RDFS_LABEL}> "肝性骨病"@zh }}',
                ["application/sparql-results+json"]),
}


def _same_answer(media_type: str, remote: bytes, embedded: bytes, engine: str) -> bool:
    """Results byte for byte but for blank node labels; graphs up to isomorphism (their
    order and blank node labels are the engine's own). Virtuoso's known differences are
    undone first (``_virtuoso_normal``)."""
    graph = {"text/turtle": "turtle", "application/n-triples": "nt"}
    if engine == "virtuoso":
        remote, embedded = (_virtuoso_normal(media_type, body) for body in (remote, embedded))
    if media_type in graph:
        return isomorphic(*(Graph().parse(data=body, format=graph[media_type])
                            for body in (remote, embedded)))
    return _unlabelled(remote) == _unlabelled(embedded)


#: Integer datatypes Oxigraph keeps as xsd:integer and Virtuoso as written (docs/serving.md).
_DERIVED_INTEGERS = re.compile(rb"XMLSchema#(?:positiveInteger|nonNegativeInteger|"
                               rb"negativeInteger|nonPositiveInteger|long|int|short|byte|"
                               rb"unsignedLong|unsignedInt|unsignedShort|unsignedByte)\b")
_RESULT_FORMATS = {"application/sparql-results+json": ox.QueryResultsFormat.JSON,
                   "application/sparql-results+xml": ox.QueryResultsFormat.XML,
                   "text/tab-separated-values": ox.QueryResultsFormat.TSV}


def _virtuoso_normal(media_type: str, body: bytes) -> bytes:
    """An answer with Virtuoso's two known differences undone, on both sides: rows in a sorted
    order (it sorts blank nodes after IRIs, SPARQL 1.1 puts them before) and derived integer
    datatypes as xsd:integer (Oxigraph stores them so, Virtuoso keeps the file's)."""
    body = _DERIVED_INTEGERS.sub(b"XMLSchema#integer", body)
    if media_type in _RESULT_FORMATS:
        parsed = ox.parse_query_results(body, format=_RESULT_FORMATS[media_type])
        if isinstance(parsed, ox.QueryBoolean):
            return body
        body = parsed.serialize(format=ox.QueryResultsFormat.TSV) or b""
    if media_type in (*_RESULT_FORMATS, "text/csv"):
        head, *rows = _unlabelled(body).splitlines()
        return b"\n".join([head, *sorted(rows)])
    return body


def _unlabelled(body: bytes) -> bytes:
    body = re.sub(rb"_:[\w-]+", b"_:b", body)
    body = re.sub(rb'"bnode","value":"[^"]*"', b'"bnode","value":"b"', body)
    return re.sub(rb"<bnode>[^<]*</bnode>", b"<bnode>b</bnode>", body)


@pytest.mark.parametrize(("name", "accept"), [(n, a) for n, (_, accepts) in QUERIES.items()
                                              for a in accepts])
@pytest.mark.server
def test_sparql_answers_equal_the_embedded_store(remote_site: str, embedded_site: str,
                                                 backend: Backend, name: str, accept: str
                                                 ) -> None:
    query = QUERIES[name][0]
    status, media_type, remote = sparql(remote_site, query, accept)
    assert (status, media_type) == (200, accept)
    assert remote.strip()
    embedded = sparql(embedded_site, query, accept)[2]
    assert _same_answer(media_type, remote, embedded, backend.engine)


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }",
])
@pytest.mark.server
def test_refused_features_are_400(remote_site: str, query: str) -> None:
    status, _, body = sparql(remote_site, query, "application/sparql-results+json")
    assert status == 400
    assert b"not allowed" in body


@pytest.mark.server
def test_syntax_error_is_400_with_one_line(remote_site: str) -> None:
    status, _, body = sparql(remote_site, "SELECT * WHERE { ?s ?p ", "text/csv")
    assert status == 400
    assert body.decode().count("\n") == 1 and b"Traceback" not in body


@pytest.mark.parametrize(("path", "expected"), [
    ("/HODO_0000001", "肝性骨病"),
    ("/HODO_0000001.ttl", "肝性骨病"),
    ("/search?q=%E8%82%9D%E6%80%A7%E9%AA%A8%E7%97%85", "HODO_0000001"),
    ("/api/search?q=hepatic+osteodystrophy", "HODO_0000001"),
    ("/ontology", "HODO"),
    ("/downloads/hodo.ttl", "HODO_0000001"),
])
@pytest.mark.server
def test_site_reads_from_the_backend(remote_site: str, path: str, expected: str) -> None:
    status, _, body = get(remote_site + path, {"Accept": "text/html"})
    assert status == 200
    assert expected in body.decode()


@pytest.mark.server
def test_health_reports_the_release(remote_site: str, release: Release) -> None:
    status, _, body = get(remote_site + "/health")
    assert status == 200
    assert json.loads(body)["version"] == release.version


def _serve_exit(release_dir: Path, backend: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HODO_CLI), "serve", "--port", str(free_port()), "--dist",
                           str(release_dir), "--backend", backend],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.server
def test_other_version_refused_at_start(release_dir: Path, release: Release) -> None:
    with fake_server(version_answer("9.9.9")) as url:
        done = _serve_exit(release_dir, url + "/query")
    assert done.returncode == 2
    assert url in done.stderr and "9.9.9" in done.stderr and release.version in done.stderr


@pytest.mark.server
def test_unreachable_backend_refused_at_start(release_dir: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/query"
    done = _serve_exit(release_dir, url)
    assert done.returncode == 2
    assert url in done.stderr and "cannot be reached" in done.stderr


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.server
def test_backend_down_while_serving_is_502(release_dir: Path, tmp_path: Path, engine: str,
                                           request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue("virtuoso_template") if engine == "virtuoso" else None
    with backend_server(engine, tmp_path / "db", template) as down:
        publish_release(release_dir, down.store_url, credentials=down.credentials)
        with serving(release_dir, args=["--backend", down.query_url]) as running:
            site = running.url
            down.process.terminate()
            down.process.wait(timeout=30)
            status, _, body = sparql(site, "ASK {}", "application/sparql-results+json")
            assert status == 502 and b"cannot be reached" in body
            # a web worker that saw the backend well within the last second may say so once
            deadline = time.monotonic() + HEALTH_KNOWN_FOR + 5
            while True:
                status, _, body = get(site + "/health")
                health = json.loads(body)
                if status == 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert status == 503 and health["status"] == "down", health
            assert health["backend"]["status"] == "down" and "cannot be reached" in (
                health["backend"]["error"])
            status, media_type, body = get(site + "/HODO_0000001", {"Accept": "text/html"})
            assert (status, media_type) == (502, "text/html")
            assert "SPARQL server" in body.decode() and "Traceback" not in body.decode()


@pytest.mark.server
@pytest.mark.parametrize("backend", ["oxigraph"], indirect=True)
def test_slow_backend_is_504(release_dir: Path, oxigraph: str, backend: Backend,
                             published: dict[str, int]) -> None:
    """A proxy in front of the real server that stalls on one marked query."""
    release_event = threading.Event()

    def forward(request: BaseHTTPRequestHandler, body: bytes) -> None:
        if b"stall-here" in body:
            release_event.wait(30)
            return
        upstream = urllib.request.Request(oxigraph + request.path, data=body, headers={
            k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")})
        with urllib.request.urlopen(upstream, timeout=30) as response:
            reply(request, response.status, response.read(),
                  response.headers.get("Content-Type", ""))

    with fake_server(forward) as proxy:
        try:
            with serving(release_dir, query_timeout="0.5",
                         args=["--backend", proxy + "/query"]) as running:
                site = running.url
                status, _, body = sparql(site, "ASK { ?s ?p 'stall-here' }", "text/plain, */*")
        finally:
            release_event.set()
    assert status == 504
    assert b"did not answer within 0.5 s" in body


# --------------------------------------------------------------------------------------------
# Backend mode under attack: the checks are the only defence, since the backend has no sandbox


def post_query(endpoint: str, query: str) -> tuple[int, bytes]:
    """POST a query to ``endpoint`` (HODO's ``/sparql``, or the Oxigraph server's ``/query``):
    status and body, whatever the status."""
    request = urllib.request.Request(endpoint, data=query.encode("utf-8"), headers={
        "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


@pytest.mark.parametrize("spelling", SERVICE_SPELLINGS, ids=SERVICE_SPELLINGS.keys())
@pytest.mark.server
def test_backend_mode_sends_no_service_call_to_the_backend(
        remote_site: str, listener: Listener, spelling: str) -> None:
    """Whatever the spelling, the query is refused before the backend, which would follow it."""
    query = SERVICE_SPELLINGS[spelling].replace("127.0.0.1:9", f"127.0.0.1:{listener.port}")
    status, body = post_query(remote_site + "/sparql", query)
    assert status == 400, body
    assert listener.connections() == [], "the backend was made to connect out"


@pytest.mark.parametrize("shape", SERVER_CRASHERS, ids=SERVER_CRASHERS.keys())
@pytest.mark.server
def test_queries_that_kill_the_backend_never_reach_it(remote_site: str, backend: Backend,
                                                       shape: str) -> None:
    """Each of these, sent straight to the oxigraph server, kills it (measured); through HODO
    it is refused, and the backend and /health stay up."""
    status, body = post_query(remote_site + "/sparql", SERVER_CRASHERS[shape])
    assert status == 400 and b"operators" in body, body
    assert get(f"{backend.query_url}?query=ASK%7B%7D")[0] == 200, "the backend died"
    status, _, health = get(remote_site + "/health")
    assert status == 200 and json.loads(health)["backend"]["status"] == "ok"


@pytest.mark.server
def test_the_measured_crash_is_real(tmp_path: Path) -> None:
    """The premise of the operator cap: sent straight to an oxigraph server, the shortest of
    the measured shapes kills it (if a new oxigraph survives it, the cap can be revisited)."""
    with oxigraph_server(tmp_path / "db") as (url, process):
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            post_query(url + "/query", SERVER_CRASHERS["not-12442"])
        assert process.wait(timeout=10) != 0

