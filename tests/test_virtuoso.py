"""Virtuoso as the backend and the publish target: what it does its own way, and what HODO makes
of it. The answer-equality tests run against it as against the Oxigraph server
(tests/test_remote.py, the ``backend`` fixture); these are Virtuoso's quirks, on a real server
(Debian's virtuoso-opensource, started on loopback by tests/support/virtuoso.py)."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from rdflib import Graph
from rdflib.compare import isomorphic

from hodo.cli import main
from hodo.engine import virtuoso
from hodo.engine.query import QueryError, ResultTooLarge
from hodo.engine.remote import BackendError, Credentials, RemoteStore, publish_release
from hodo.engine.store import Release
from hodo.web import create_app
from tests.support.backends import Backend, backend_server
from tests.support.net import fake_server
from tests.support.server import serving
from tests.test_remote import _serve_exit, get

VIRTRDF = "http://www.openlinksw.com/schemas/virtrdf#"
ROUND_TRIP_GRAPH = "https://w3id.org/hodo/graph/ontology"


@pytest.fixture(scope="module")
def published(virtuoso_backend: Backend, release_dir: Path) -> Backend:
    publish_release(release_dir, virtuoso_backend.store_url,
                    credentials=virtuoso_backend.credentials)
    return virtuoso_backend


@pytest.fixture(scope="module")
def site(published: Backend, release_dir: Path) -> Iterator[str]:
    with serving(release_dir, args=["--backend", published.query_url]) as running:
        yield running.url


@pytest.fixture(scope="module")
def scratch(virtuoso_template: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Backend]:
    """A Virtuoso of its own, for publishing what is not the release."""
    with backend_server("virtuoso", tmp_path_factory.mktemp("scratch"),
                        virtuoso_template) as server:
        yield server


# --------------------------------------------------------------------------------------------
# Publishing: Digest login, and the data as it was


@pytest.mark.server
def test_publish_logs_in_with_digest(published: Backend, release_dir: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODO_PUBLISH_PASSWORD", "dba")
    result = CliRunner().invoke(main, ["publish", *published.publish_args(), "--dist",
                                       str(release_dir)])
    assert result.exit_code == 0, result.output
    assert "https://w3id.org/hodo/graph/findings" in result.output


@pytest.mark.parametrize(("args", "password", "words"), [
    ([], None, "asks for a user and password"),
    (["--user", "dba"], "wrong", "the user or password is wrong"),
    (["--user", "dba"], None, "$HODO_PUBLISH_PASSWORD"),
], ids=["no-login", "wrong-password", "no-password"])
@pytest.mark.server
def test_publish_refused_login_exits_2(scratch: Backend, release_dir: Path, args: list[str],
                                       password: str | None, words: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if password is not None:
        monkeypatch.setenv("HODO_PUBLISH_PASSWORD", password)
    result = CliRunner().invoke(main, ["publish", "--to", scratch.store_url, *args,
                                       "--dist", str(release_dir)])
    assert result.exit_code == 2
    assert words in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


_RDFS, _OWL = "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#"
_RDF, _XSD = "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2001/XMLSchema#"
_T1 = "<https://w3id.org/hodo/t1>"
HARD = "".join(line + " .\n" for line in [
    f'{_T1} <{_RDFS}label> "肝性骨病"@zh',
    f'{_T1} <{_RDFS}label> "肝性骨病"@zh-Hans',
    f'{_T1} <{_RDFS}label> "Hepatic osteodystrophy"@en-GB',
    f'{_T1} <{_RDFS}comment> "a \\"quoted\\" line\\nand a tab\\there"',
    f'{_T1} <{_RDFS}comment> "LONG"@zh',
    f'<https://w3id.org/hodo/肝> <{_OWL}deprecated> "true"^^<{_XSD}boolean>',
    f"{_T1} <{_RDFS}subClassOf> _:r",
    f"_:r <{_OWL}someValuesFrom> _:u",
    f"_:u <{_OWL}unionOf> _:l",
    f'_:l <{_RDF}first> "2016-09"^^<{_XSD}gYearMonth>',
    f"_:l <{_RDF}rest> <{_RDF}nil>",
])


@pytest.mark.server
def test_hard_terms_round_trip(scratch: Backend, tmp_path: Path) -> None:
    """Chinese text, language tags, escapes, a 300 KB literal, an IRI with Chinese in it,
    nested blank nodes: what Virtuoso gives back is the graph that was sent."""
    long_text = "肝脏疾病与骨质疏松症是临床常见病。" * 18_000
    text = HARD.replace('"LONG"', f'"{long_text}"')
    lines = [line[:-2] + f" <{ROUND_TRIP_GRAPH}> .\n" for line in text.splitlines()]
    (tmp_path / "hodo.nq").write_text("".join(lines), encoding="utf-8")
    assert len(long_text.encode()) > 300_000
    publish_release(tmp_path, scratch.store_url, credentials=scratch.credentials)
    store = RemoteStore(scratch.query_url)
    try:
        back = [q.triple for q in store.quads_for_pattern(None, None, None, None)]
    finally:
        store.close()
    sent = list(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))
    assert len(back) == len(sent)
    assert isomorphic(*(Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES),
                                      format="nt") for triples in (back, sent)))


# --------------------------------------------------------------------------------------------
# Serving: Virtuoso's extensions refused, its errors in HODO's words


def post(site: str, query: str, **dataset: str) -> tuple[int, str]:
    form = urllib.parse.urlencode({"query": query, **dataset}).encode()
    status, _, body = get_post(site + "/sparql", form)
    return status, body.decode()


def get_post(url: str, form: bytes) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get_content_type(), error.read()


REFUSED = {
    # Virtuoso runs any function IRI as one of its procedures: sys_stat answers, as measured
    "bif-function": ("SELECT (<bif:sys_stat>('st_dbms_ver') AS ?v) WHERE {}",
                     "is not allowed on this endpoint"),
    "bif-by-prefix": ("PREFIX b: <bi> SELECT (b:f:sys_stat('st_dbms_ver') AS ?v) WHERE {}",
                      "is not allowed on this endpoint"),
    "escaped-bif": ("SELECT (<\\u0062if:sys_stat>('st_dbms_ver') AS ?v) WHERE {}",
                    "is not allowed on this endpoint"),
    "sql-procedure": ("SELECT (<sql:DB.DBA.SPARQL_SELECT_KNOWN_GRAPHS>() AS ?v) WHERE {}",
                      "is not allowed on this endpoint"),
    # pragmas are not SPARQL: a syntax error, explained as the embedded store explains it
    "pragma": ('define input:grab-all "yes" SELECT * WHERE { ?s ?p ?o }',
               "SPARQL syntax error at line 1"),
    "syntax": ("SELECT * WHERE { ?s ?p ", "SPARQL syntax error at line 1"),
}


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.server
def test_virtuoso_extensions_and_bad_syntax_are_400_in_hodos_words(site: str, name: str
                                                                   ) -> None:
    query, words = REFUSED[name]
    status, body = post(site, query)
    assert status == 400, body
    assert words in body
    assert "Virtuoso" not in body and body.count("\n") <= 1


@pytest.mark.server
def test_a_runtime_error_virtuoso_calls_500_is_hodos_400(site: str) -> None:
    """SPARQL leaves 1/0 unbound; Virtuoso fails the query with a 500: HODO says 400 with
    Virtuoso's words, without its SQL state and the query it echoes."""
    status, body = post(site, "SELECT (1/0 AS ?x) WHERE {}")
    assert status == 400
    assert "Division by 0" in body and "22012" not in body and "SPARQL query" not in body


@pytest.mark.server
def test_from_beside_a_protocol_dataset_is_refused(site: str) -> None:
    """Virtuoso reads FROM over default-graph-uri (the protocol says the other way round):
    the two together could read its own graphs, so they are refused."""
    status, body = post(site, f"SELECT * FROM <{VIRTRDF}> WHERE {{ ?s ?p ?o }} LIMIT 1",
                        **{"default-graph-uri": ROUND_TRIP_GRAPH})
    assert status == 400 and "not both" in body


@pytest.mark.parametrize("dataset", [
    {"default-graph-uri": VIRTRDF},
    {"named-graph-uri": VIRTRDF},
    {"default-graph-uri": "https://w3id.org/hodo/graph/metadata"},
], ids=["default", "named", "hodo-default-only"])
@pytest.mark.server
def test_virtuosos_own_graphs_are_not_in_any_dataset(site: str, dataset: dict[str, str]
                                                     ) -> None:
    """Its system graph is a graph HODO's store lacks; and a request naming only a default
    graph has no named graphs (Virtuoso would open GRAPH ?g to all it holds)."""
    status, body = post(site, "SELECT DISTINCT ?g WHERE { { ?s ?p ?o } UNION "
                              "{ GRAPH ?g { ?s ?p ?o } } FILTER(?s = <" + VIRTRDF + ">"
                              " || BOUND(?g)) }", **dataset)
    assert status == 200, body
    assert json.loads(body)["results"]["bindings"] == []


@pytest.mark.server
def test_health_probes_virtuoso(site: str) -> None:
    status, _, body = get(site + "/health")
    assert status == 200 and json.loads(body)["backend"]["status"] == "ok"


# --------------------------------------------------------------------------------------------
# The site: the same pages as from the embedded store


@pytest.fixture(scope="module")
def virtuoso_client(published: Backend, release_dir: Path) -> FlaskClient:
    app = create_app({"HODO_BACKEND": published.query_url, "HODO_DIST": str(release_dir),
                      "TESTING": True})
    return app.test_client()


@pytest.fixture(scope="module")
def embedded_client(release: Release) -> FlaskClient:
    return create_app({"TESTING": True}, release=release).test_client()


@pytest.mark.parametrize("path", [
    "/HODO_0000001", "/HODO_0000001.ttl", "/finding-0001", "/HODO_0000110", "/HODO_0000206",
    "/ontology", "/search?q=%E8%82%9D%E6%80%A7%E9%AA%A8%E7%97%85", "/api/term/HODO_0000001",
    "/article",
])
@pytest.mark.server
def test_pages_from_virtuoso_equal_the_embedded_ones(virtuoso_client: FlaskClient,
                                                     embedded_client: FlaskClient,
                                                     path: str) -> None:
    remote = virtuoso_client.get(path, headers={"Accept": "text/html"})
    embedded = embedded_client.get(path, headers={"Accept": "text/html"})
    assert remote.status_code == embedded.status_code
    assert _unlabelled(remote.get_data(as_text=True)) == _unlabelled(
        embedded.get_data(as_text=True))


def _unlabelled(page: str) -> str:
    """A page with its blank node labels, which are each engine's own, made one."""
    return re.sub(r"_:[\w-]+", "_:b", page)


# --------------------------------------------------------------------------------------------
# Without a server: the dialect's rules


def virtuoso_reply(status: int, body: bytes, media_type: str,
                   headers: dict[str, str] | None = None
                   ) -> Callable[[BaseHTTPRequestHandler, bytes], None]:
    """A fake server's handler that answers as Virtuoso does, with its ``Server`` header."""
    def handle(request: BaseHTTPRequestHandler, _: bytes) -> None:
        request.server_version, request.sys_version = "Virtuoso/07.20.3229 (Linux)", ""
        request.send_response(status)
        for name, value in {"Content-Type": media_type, "Content-Length": str(len(body)),
                            **(headers or {})}.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)
    return handle


ROWS = (b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
        b'<variable name="s"/></head><results><result><binding name="s"><bnode>nodeID://b10016'
        b'</bnode></binding></result></results></sparql>')


@pytest.mark.parametrize(("headers", "error", "words"), [
    ({"X-SPARQL-MaxRows": "10000"}, ResultTooLarge, "ResultSetMaxRows"),
    ({"X-SQL-State": "S1TAT"}, BackendError, "partial answer"),
])
def test_an_answer_virtuoso_cut_short_is_refused_whole(headers: dict[str, str],
                                                       error: type[Exception], words: str
                                                       ) -> None:
    with fake_server(virtuoso_reply(200, ROWS, virtuoso.RESULTS_TYPE, headers)) as url:
        store = RemoteStore(url + "/sparql", timeout=5)
        with pytest.raises(error, match=words):
            store.query("SELECT ?s WHERE { ?s ?p ?o }")


@pytest.mark.server
def test_serve_refuses_a_virtuoso_that_cuts_the_release_short(release_dir: Path,
                                                              release: Release) -> None:
    """Debian's ResultSetMaxRows (10,000) is less than the release's statements: the search
    index's read of them all comes back cut, and ``hodo serve`` says so rather than serve
    part of the release."""
    version = (b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
               b'<head><variable name="v"/></head><results><result><binding name="v"><literal>'
               + release.version.encode() + b"</literal></binding></result></results></sparql>")

    def handle(request: BaseHTTPRequestHandler, body: bytes) -> None:
        if b"hasVersion" in urllib.parse.unquote_to_bytes(body):
            virtuoso_reply(200, version, virtuoso.RESULTS_TYPE)(request, body)
        else:
            virtuoso_reply(200, ROWS, virtuoso.RESULTS_TYPE,
                           {"X-SPARQL-MaxRows": "10000"})(request, body)

    with fake_server(handle) as url:
        done = _serve_exit(release_dir, url + "/sparql")
    assert done.returncode == 2
    assert "ResultSetMaxRows" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_virtuoso_blank_node_labels_are_read() -> None:
    with fake_server(virtuoso_reply(200, ROWS, virtuoso.RESULTS_TYPE)) as url:
        store = RemoteStore(url + "/sparql", timeout=5)
        assert store.virtuoso
        rows = list(store.query("SELECT ?s WHERE { ?s ?p ?o }"))  # type: ignore[arg-type]
    assert rows[0][0] == ox.BlankNode("b10016")


@pytest.mark.parametrize(("status", "line", "meaning"), [
    (400, "Virtuoso 37000 Error SP030: SPARQL compiler, line 2: syntax error at '}'", "query"),
    (500, "Virtuoso 22012 Error SR084: Division by 0.", "query"),
    (500, "Virtuoso 2201B Error SR098: regexp error at '(' column 1 (missing ))", "query"),
    (500, "Virtuoso 42000 Error The estimated execution time 76164 (sec) exceeds the limit of "
          "400 (sec).", "query"),
    (500, "Virtuoso S1T00 Error SR171: Transaction timed out", "timeout"),
    (500, "Virtuoso 08C01 Error CL065: Lost connection to server", "server"),
    (503, "Service unavailable", "server"),
])
def test_virtuoso_errors_mean_what_hodo_says(status: int, line: str, meaning: str) -> None:
    got, message = virtuoso.failure(status, line)
    assert got == meaning
    assert "Virtuoso" not in message and message  # its words, without its SQL state


def test_a_heavy_query_is_checked_without_being_run() -> None:
    """The check parses only: ORDER BY over a billion VALUES rows would exhaust memory if
    evaluated (measured with pyoxigraph on an empty store)."""
    values = " ".join(str(i) for i in range(1000))
    query = (f"SELECT * {{ VALUES ?a {{{values}}} VALUES ?b {{{values}}} "
             f"VALUES ?c {{{values}}} }} ORDER BY ?a")
    virtuoso.check(query, base_iri=None, protocol_dataset=False)
    with pytest.raises(SyntaxError):
        virtuoso.check(query + " }", base_iri=None, protocol_dataset=False)
    with pytest.raises(QueryError, match="not allowed"):
        virtuoso.check("PREFIX b: <bif:> SELECT (b:x(1) AS ?x) {}", base_iri=None,
                       protocol_dataset=False)


def test_credentials_answer_a_digest_challenge() -> None:
    """RFC 2617's worked example (section 3.5), with qop=auth."""
    challenge = ('Digest realm="testrealm@host.com", qop="auth,auth-int", '
                 'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
                 'opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    answer = Credentials("Mufasa", "Circle Of Life").answer(challenge, "GET", "/dir/index.html")
    assert answer is not None and answer.startswith("Digest ")
    fields = dict(part.strip().split("=", 1) for part in answer[len("Digest "):].split(", "))
    assert fields["qop"] == "auth" and fields["opaque"] == '"5ccc069c403ebaf9f0171e9517f40e41"'
    # the response depends on the client nonce: recompute it as the server would
    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life")
    ha2 = md5("GET:/dir/index.html")
    cnonce = fields["cnonce"].strip('"')
    expected = md5(f"{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:{cnonce}:auth:{ha2}")
    assert fields["response"] == f'"{expected}"'
    assert Credentials("u", "p").answer("Negotiate abc", "GET", "/") is None
