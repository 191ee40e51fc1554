"""Hostile requests against a real ``hodo serve`` process on loopback, as the internet sends them.

Two servers run for the module, each on its own copy of the release: a public one, and one in
curator mode (known token) that has been given hostile data through its Graph Store. Every case
is one row: the request, the statuses allowed, a time bound. After each one the server must
still answer ``/health``, the data it serves (every quad and graph name, read back through
``/sparql``) and the release files on disk must be unchanged, and the loopback listener that
every address in the attacks points at must have seen no connection.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from tests.support.hostile import BAD_IRIS, HOSTILE_TERM, MARKUP, Audit, hostile_quads
from tests.support.integrity import data_hash, file_hashes
from tests.support.net import Listener
from tests.support.queries import BOMB
from tests.support.server import CLOSED, Reply, Server, encode_request, read_reply, serving
from tests.terms import HEPATIC_OSTEODYSTROPHY, HODO

pytestmark = [pytest.mark.server, pytest.mark.slow]

DATA = Path(__file__).parent / "data" / "attacks"
TOKEN = "attack-suite-curator-token-0123456789"
DEADLINE = 2.0
MAX_ROWS = 8000  # above the release's ~7,000 quads, so the dump fits in pages
MAX_RESULT_BYTES = 4_000_000
VALIDATE_MAX_BYTES = 200_000
SETTINGS = {"query_timeout": str(DEADLINE), "max_rows": str(MAX_ROWS),
            "max_result_bytes": str(MAX_RESULT_BYTES), "query_memory_mb": "256",
            "rate_limit": "0", "validate_max_bytes": str(VALIDATE_MAX_BYTES),
            "validate_timeout": "20"}
ONTOLOGY_GRAPH = HODO + "graph/ontology"
QUICK = 2.0  # seconds for anything that is refused before real work
QUERY = DEADLINE + 1.5  # a query stopped at the deadline, with the worker replaced


# --------------------------------------------------------------------------------------------
# The servers and what must hold after every case


@dataclass
class Target:
    """One server under attack, its release copy, and what its data and files hashed to."""

    server: Server
    release: Path
    data: str = ""
    files: dict[str, str] | None = None


@dataclass
class World:
    public: Target
    curator: Target
    listener: Listener

    def fill(self, text: str) -> str:
        """Point every address of an attack at the listener; put in the curator token."""
        base = self.listener.base
        return (text.replace("LISTENER/", base).replace("LISTENER%2F", urllib.parse.quote(
            base, safe="")).replace("TOKEN", TOKEN))


def _copy_release(release_dir: Path, folder: Path) -> Path:
    return Path(shutil.copytree(release_dir, folder / "release"))


def _plant_hostile_data(server: Server) -> None:
    """Markup and ``javascript:`` IRIs, added the way a curator would: through the Graph Store."""
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in hostile_quads()]
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    reply = server.request("POST", f"/graph-store?graph={ONTOLOGY_GRAPH}", body,
                           {"Content-Type": "application/n-triples",
                            "Authorization": f"Bearer {TOKEN}"})
    assert reply.status == 204, reply.text


@pytest.fixture(scope="module")
def world(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    listener = Listener()
    public_dir = tmp_path_factory.mktemp("public")
    curator_dir = tmp_path_factory.mktemp("curator")
    with ExitStack() as stack:
        stack.callback(listener.close)
        public = Target(stack.enter_context(serving(
            _copy_release(release_dir, public_dir), public_dir / "server.log", **SETTINGS)),
            public_dir / "release")
        curator = Target(stack.enter_context(serving(
            _copy_release(release_dir, curator_dir), curator_dir / "server.log", workers=1,
            curator_token=TOKEN, **SETTINGS)), curator_dir / "release")
        _plant_hostile_data(curator.server)
        for target in (public, curator):
            target.data = data_hash(target.server)
            target.files = file_hashes(target.release)
        assert public.data != curator.data  # the hostile data is there
        yield World(public, curator, listener)


def _still_sound(world: World, target: Target) -> None:
    health = target.server.request("GET", "/health", timeout=10)
    assert health.status == 200 and health.seconds < 5, health
    assert world.listener.connections() == [], "the server connected to the listener"
    assert data_hash(target.server) == target.data, "the served data changed"
    assert file_hashes(target.release) == target.files, "a release file changed"


# --------------------------------------------------------------------------------------------
# Cases


Send = Callable[[World], Reply]


@dataclass(frozen=True)
class Case:
    """One attack: how to send it, the statuses allowed, a time bound, and what else to check."""

    id: str
    send: Send
    expect: frozenset[int]
    within: float = QUICK
    curator: bool = False
    check: Callable[[Reply, World], None] | None = None
    marks: tuple[pytest.MarkDecorator, ...] = ()

    def param(self) -> Any:
        return pytest.param(self, id=self.id, marks=self.marks)


def case(id: str, send: Send, expect: int | set[int], within: float = QUICK,
         **more: Any) -> Case:
    allowed = frozenset({expect} if isinstance(expect, int) else expect)
    return Case(id, send, allowed, within, **more)


def _server(world: World, curator: bool) -> Server:
    return (world.curator if curator else world.public).server


def req(method: str, target: str | bytes, body: bytes | str | None = None,
        headers: dict[str, str] | None = None, curator: bool = False) -> Send:
    """A request sent as written, after ``LISTENER/`` and ``TOKEN`` are filled in."""

    def send(world: World) -> Reply:
        path = world.fill(target) if isinstance(target, str) else target
        data = world.fill(body).encode("utf-8") if isinstance(body, str) else body
        filled = {k: world.fill(v) for k, v in (headers or {}).items()}
        return _server(world, curator).request(method, path, data, filled)

    return send


def sparql(text: str, accept: str = "application/sparql-results+json", how: str = "post",
           curator: bool = False) -> Send:
    """A query by POST (``post``), by form (``form``) or in the URL (``get``)."""
    if how == "get":
        return req("GET", "/sparql?" + urllib.parse.urlencode({"query": text}), None,
                   {"Accept": accept}, curator)
    if how == "form":
        return req("POST", "/sparql", urllib.parse.urlencode({"query": text}),
                   {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
                   curator)
    return req("POST", "/sparql", text, {"Accept": accept,
                                         "Content-Type": "application/sparql-query"}, curator)


def update(text: str, params: str = "", token: str = "TOKEN") -> Send:
    return req("POST", "/sparql/update" + params, text,
               {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}"},
               curator=True)


def says(*fragments: str) -> Callable[[Reply, World], None]:
    def check(reply: Reply, world: World) -> None:
        for fragment in fragments:
            assert fragment in reply.text, (fragment, reply.text[:300])
    return check


def never_says(*fragments: str) -> Callable[[Reply, World], None]:
    def check(reply: Reply, world: World) -> None:
        for fragment in fragments:
            assert fragment not in reply.text, fragment
    return check


def run(world: World, item: Case) -> Reply:
    target = world.curator if item.curator else world.public
    reply = item.send(world)
    assert reply.status in item.expect, (reply.status, reply.headers, reply.text[:400])
    assert reply.seconds <= item.within, f"answered in {reply.seconds:.2f} s"
    assert "Traceback" not in reply.text
    if item.check:
        item.check(reply, world)
    _still_sound(world, target)
    return reply


# --------------------------------------------------------------------------------------------
# Reaching out: every way of making the server open a connection or read a file

T = "LISTENER/sparql"
SERVICE = "SERVICE <LISTENER/sparql> { ?s ?p ?o }"
SERVICE_FORMS = {
    "iri": f"SELECT * WHERE {{ {SERVICE} }}",
    "prefixed": "PREFIX r: <LISTENER/> SELECT * WHERE { SERVICE r:sparql { ?s ?p ?o } }",
    "variable": f"SELECT * WHERE {{ BIND(<{T}> AS ?u) SERVICE ?u {{ ?s ?p ?o }} }}",
    "variable-values": f"SELECT * WHERE {{ VALUES ?u {{ <{T}> }} SERVICE ?u {{ ?s ?p ?o }} }}",
    "silent": f"SELECT * WHERE {{ SERVICE SILENT <{T}> {{ ?s ?p ?o }} }}",
    "lower": f"select * where {{ service <{T}> {{ ?s ?p ?o }} }}",
    "mixed": f"SeLeCt * WhErE {{ sErViCe SiLeNt <{T}> {{ ?s ?p ?o }} }}",
    "u-escape": f"SELECT * WHERE {{ \\u0053ERVICE <{T}> {{ ?s ?p ?o }} }}",
    "U-escape": f"SELECT * WHERE {{ \\U00000073\\u0065rvice <{T}> {{ ?s ?p ?o }} }}",
    "comment": f"SELECT * WHERE {{ SERVICE # why not\n <{T}> {{ ?s ?p ?o }} }}",
    "base-relative": "BASE <LISTENER/> SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }",
    "glued-prefixed": "PREFIX r: <LISTENER/> SELECT * WHERE { servicer:sparql { ?s ?p ?o } }",
    "glued-empty-prefix": "PREFIX : <LISTENER/> SELECT * WHERE { service:sparql { ?s ?p ?o } }",
    "glued-silent": f"SELECT * WHERE {{ SERVICESILENT<{T}> {{ ?s ?p ?o }} }}",
    "subquery": f"SELECT * WHERE {{ {{ SELECT * WHERE {{ {SERVICE} }} }} }}",
    "optional": f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ {SERVICE} }} }} LIMIT 1",
    "minus": f"SELECT * WHERE {{ ?a ?b ?c MINUS {{ {SERVICE} }} }} LIMIT 1",
    "exists": f"SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{ {SERVICE} }} }} LIMIT 1",
    "not-exists": f"ASK {{ FILTER NOT EXISTS {{ {SERVICE} }} }}",
    "union": f"SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ {SERVICE} }} }} LIMIT 1",
    "graph": f"SELECT * WHERE {{ GRAPH ?g {{ {SERVICE} }} }}",
    "construct": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {SERVICE} }}",
    "describe": f"DESCRIBE ?s WHERE {{ {SERVICE} }}",
    "ask": f"ASK {{ {SERVICE} }}",
    "nested-deep": ("SELECT * WHERE { OPTIONAL { { SELECT * WHERE { FILTER NOT EXISTS { "
                    f"{{ ?a ?b ?c }} UNION {{ MINUS {{ {SERVICE} }} }} }} }} }} }} }}"),
}
#: SERVICE where the keyword reading takes it for a string (a "<" after an operand read as an
#: IRI, "#" in it, a long string opened in what the engine reads as a comment), beside syntax
#: the checking parser cannot read: refused unread (fail closed).
HIDDEN_SERVICE_FORMS = {
    "lateral": ('SELECT * WHERE { LATERAL { ?a ?b ?c } FILTER(1<2#>"""\n) '
                f'{SERVICE}\n#"""\n }}'),
    "triple-term": ("SELECT * WHERE { <<( ?a ?b ?c )>> ?d ?e FILTER(?a<?c#>'''\n) "
                    f"{SERVICE}\n#'''\n }}"),
    "version": ('VERSION "1.2" SELECT * WHERE { ?a ?b ?c FILTER(1<2#>"""\n) '
                f'{SERVICE}\n#"""\n }}'),
}
GRAPH_ACCEPT = "application/n-triples"
FILE_PASSWD = "file:///etc/passwd"


def _service_cases() -> list[Case]:
    cases = []
    for name, text in SERVICE_FORMS.items():
        accept = GRAPH_ACCEPT if name in ("construct", "describe") else "*/*"
        cases.append(case(f"service-{name}", sparql(text, accept), 400,
                          check=says("SERVICE is not allowed")))
    for name, text in HIDDEN_SERVICE_FORMS.items():
        cases.append(case(f"service-hidden-{name}", sparql(text), 400,
                          check=says("cannot be checked")))
    cases += [case("service-by-get", sparql(SERVICE_FORMS["u-escape"], how="get"), 400),
              case("service-by-form", sparql(SERVICE_FORMS["comment"], how="form"), 400)]
    return cases


FROM_FORMS = {
    "from-http": "SELECT * FROM <LISTENER/g> WHERE { ?s ?p ?o }",
    "from-named-http": "SELECT * FROM NAMED <LISTENER/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "from-file": f"SELECT * FROM <{FILE_PASSWD}> WHERE {{ ?s ?p ?o }}",
    "from-named-file": f"SELECT * FROM NAMED <{FILE_PASSWD}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    "from-prefixed": "PREFIX e: <LISTENER/> SELECT * FROM e:g WHERE { ?s ?p ?o }",
    "from-escaped": "SELECT * \\u0046ROM <LISTENER/g> WHERE { ?s ?p ?o }",
    "from-beside-hodo": f"SELECT * FROM <{ONTOLOGY_GRAPH}> FROM <LISTENER/g> WHERE {{ ?s ?p ?o }}",
    "from-construct": "CONSTRUCT WHERE { ?s ?p ?o }".replace("WHERE", "FROM <LISTENER/g> WHERE"),
}


def _dataset_param(name: str, iri: str) -> Send:
    query = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }", name: iri})
    return req("GET", "/sparql?" + query, None, {"Accept": "application/sparql-results+json"})


def _dataset_cases() -> list[Case]:
    cases = [case(name, sparql(text, GRAPH_ACCEPT if "construct" in name else "*/*"), 400,
                  check=says("not allowed")) for name, text in FROM_FORMS.items()]
    # named as protocol parameters, graphs the store lacks are empty: nothing is fetched
    for name in ("default-graph-uri", "named-graph-uri"):
        for where in ("LISTENER/g", FILE_PASSWD):
            cases.append(case(f"{name}-{where.split(':')[0].lower()}", _dataset_param(name, where),
                              200, check=says('"boolean":false')))
    return cases


LOADS = {
    "load-http": "LOAD <LISTENER/data.ttl>",
    "load-file-into": f"LOAD SILENT <{FILE_PASSWD}> INTO GRAPH <http://example.org/g>",
    "load-escaped": "\\u004cOAD <LISTENER/data.ttl>",
    "insert-service": (f"INSERT {{ GRAPH <http://example.org/g> {{ ?s ?p ?o }} }} "
                       f"WHERE {{ {SERVICE} }}"),
}


def _load_cases() -> list[Case]:
    cases = []
    for name, text in LOADS.items():
        cases.append(case(f"{name}-as-query", sparql(text), 400))
        form = urllib.parse.urlencode({"update": text})
        cases.append(case(f"{name}-public-update", req(
            "POST", "/sparql", form, {"Content-Type": "application/x-www-form-urlencoded"}),
            400))
        cases.append(case(f"{name}-curator-update", update(text), 400, curator=True))
    return cases


def _document(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


UPLOADS = {
    "remote-context.jsonld": "application/ld+json",
    "imported-context.jsonld": "application/ld+json",
    "external-entity.rdf": "application/rdf+xml",
    "external-dtd.rdf": "application/rdf+xml",
    "parameter-entity.rdf": "application/rdf+xml",
    "billion-laughs.rdf": "application/rdf+xml",
}


def _multipart(name: str, content: str) -> tuple[str, dict[str, str]]:
    boundary = "attack-boundary-7d1f"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\n0\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            f"{content}\r\n--{boundary}--\r\n")
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}",
                  "Accept": "application/json"}


def _upload_cases() -> list[Case]:
    cases = []
    for name, media in UPLOADS.items():
        content = _document(name)
        cases.append(case(f"validate-body-{name}", req(
            "POST", "/validate?reason=0&format=json", content, {"Content-Type": media}), 400,
            within=10, check=never_says("root:")))
        body, headers = _multipart(name, content)
        cases.append(case(f"validate-file-{name}", req("POST", "/validate", body, headers),
                          400, within=10))
        cases.append(case(f"graph-store-{name}", req(
            "PUT", "/graph-store?graph=http://example.org/upload", content,
            {"Content-Type": media, "Authorization": "Bearer TOKEN"}, curator=True), 400))
    # owlready2 follows owl:imports over HTTP: the reasoner must run without them
    cases.append(case("validate-owl-imports-with-reasoner", req(
        "POST", "/validate?reason=1&format=json", _document("owl-imports.ttl"),
        {"Content-Type": "text/turtle"}), 200, within=30))
    return cases


REACHING_OUT = [*_service_cases(), *_dataset_cases(), *_load_cases(), *_upload_cases()]


# --------------------------------------------------------------------------------------------
# Exhausting: time, memory, bytes, connections


def doubling(times: int, seed: str = '"ab"') -> str:
    """BINDs that double a string ``times`` times: a few hundred bytes of query, 2^n bytes."""
    return f"BIND({seed} AS ?x0) " + " ".join(
        f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(times))


def _patterns(count: int, joined: bool) -> str:
    parts = [f"?s{i} ?p{i} ?s{i + 1} ." if joined else f"?s{i} ?p{i} ?o{i} ."
             for i in range(count)]
    return "SELECT * WHERE { " + " ".join(parts) + " } LIMIT 1"


def _nested(opening: str, inner: str, closing: str, depth: int) -> str:
    return opening * depth + inner + closing * depth


QUERY_BOMBS = {
    "cartesian-3": ("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", 400, QUERY),
    "cartesian-count": ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
                        503, QUERY),
    "cartesian-order": ("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1",
                        503, QUERY),
    "nested-brackets": ("SELECT * WHERE { FILTER(" + _nested("(", "1", ")", 5000) + ") }",
                        400, QUICK),
    "nested-braces": ("SELECT * WHERE " + _nested("{", "?s ?p ?o", "}", 5000), 400, QUICK),
    "nested-blank-nodes": ("SELECT * WHERE { ?s ?p " + _nested("[", "?p ?o", "]", 100) + " }",
                           400, QUICK),
    "nested-subqueries": ("SELECT * WHERE { " + _nested("{ SELECT * WHERE { ", "?s ?p ?o",
                                                        " } }", 70) + " }", 400, QUICK),
    "nested-optional": ("SELECT * WHERE { ?s ?p ?o " + _nested("OPTIONAL { ?s ?p ?o ", "", "}",
                                                               70) + " }", 400, QUICK),
    "nested-optional-allowed": ("SELECT * WHERE { ?s ?p ?o " + _nested(
        "OPTIONAL { ?s ?p ?o ", "", "}", 60) + " } LIMIT 1", 200, QUERY),
    "patterns-300": (_patterns(300, joined=False), 503, QUERY),
    "patterns-500-chain": (_patterns(500, joined=True), 503, QUERY),
    "over-64-kib": ("ASK { FILTER(" + " || ".join(["true"] * 20000) + ") }", 400, QUICK),
    "concat-doubling-30": (f"SELECT (STRLEN(?x30) AS ?n) WHERE {{ {doubling(30)} }}", 503,
                           QUERY),
    "replace-growth": ("SELECT (STRLEN(REPLACE(?x24, \"a\", \"aaaaaaaaaaaaaaaa\")) AS ?n) "
                       f"WHERE {{ {doubling(24)} }}", 503, QUERY),
    "strlen-of-huge": (f"SELECT (STRLEN(CONCAT(?x28, ?x28, ?x28)) AS ?n) WHERE {{ "
                       f"{doubling(28)} }}", 503, QUERY),
    "redos-built-string": ("SELECT (COUNT(*) AS ?n) WHERE { " + doubling(14, '"a"') +
                           ' BIND(CONCAT(?x14, "b") AS ?y) FILTER(REGEX(?y, "^(a+)+$")) }',
                           200, QUICK),
    "redos-over-data": ('SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o '
                        'FILTER(REGEX(STR(?o), "^(([a-z])+.)+[A-Z]([a-z])+$")) }', 200, QUICK),
    "result-bytes": ('SELECT ?s (CONCAT(STR(?s), "' + "x" * 2000 + '") AS ?x) '
                     "WHERE { ?s ?p ?o }", 400, QUICK),
    "construct-everything-capped": ("CONSTRUCT { ?s ?p ?o . ?o ?p ?s } WHERE { ?s ?p ?o }",
                                    400, QUICK),
}

#: Results are sent whole or refused, never cut; a large one must come whole every time.
#: As large as the row cap allows (8,000): the release itself holds more triples than that.
LARGE_RESULTS = ["SELECT * WHERE { ?s ?p ?o } LIMIT 7900",
                 "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 7900"]
LARGE_RESULT_TRIES = 30


def _large_results_every_time(world: World) -> Reply:
    """Whole-dataset SELECT and CONSTRUCT, many times: the first answer that is not whole."""
    reply = None
    for attempt in range(LARGE_RESULT_TRIES):
        text = f"# {attempt} {time.monotonic_ns()}\n" + LARGE_RESULTS[attempt % 2]
        reply = world.public.server.query(text, accept="application/n-triples"
                                          if "CONSTRUCT" in text else "text/csv")
        if reply.status != 200:
            return reply
    assert reply is not None
    return reply


BIG = b"x" * 10_000_000


def _chunked(target: str, media: str, size: int) -> Send:
    """A body with no length: chunked transfer encoding, far over the cap."""

    def send(world: World) -> Reply:
        server = world.public.server
        head = encode_request("POST", target, f"{server.host}:{server.port}",
                              headers={"Content-Type": media, "Transfer-Encoding": "chunked"})
        chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
        raw = head + chunk * (size // 65536) + b"0\r\n\r\n"
        return server.send(raw, "POST")

    return send


def _upload_cases_over_caps() -> list[Case]:
    over = "@prefix : <http://example.org/> .\n" + ":a :b \"" + "x" * 2 * VALIDATE_MAX_BYTES \
        + "\" .\n"
    body, headers = _multipart("big.ttl", over)
    return [
        case("sparql-body-300k", req("POST", "/sparql", b"a" * 300_000,
                                     {"Content-Type": "application/sparql-query"}), 413),
        case("sparql-body-10m", req("POST", "/sparql", BIG,
                                    {"Content-Type": "application/sparql-query"}), 413),
        case("sparql-form-10m", req("POST", "/sparql", b"query=" + BIG,
                                    {"Content-Type": "application/x-www-form-urlencoded"}), 413),
        case("sparql-chunked-5m", _chunked("/sparql", "application/sparql-query", 5_000_000),
             413),
        case("validate-body-10m", req("POST", "/validate", BIG, {"Content-Type": "text/turtle"}),
             413),
        case("validate-file-over-cap", req("POST", "/validate", body, headers), 413),
        case("validate-chunked-5m", _chunked("/validate", "text/turtle", 5_000_000), 413),
        case("validate-chunked-just-over", _chunked("/validate", "text/turtle",
                                                    VALIDATE_MAX_BYTES + 65536), 413),
    ]


def _slow_sender(server: Server, head: bytes, stop: threading.Event, step: float) -> None:
    """Send ``head`` one byte at a time, ``step`` seconds apart, until told to stop."""
    try:
        with server.connect(timeout=10) as sock:
            for byte in head:
                if stop.wait(step):
                    return
                sock.sendall(bytes([byte]))
            stop.wait(10)
    except OSError:
        return  # the server may drop a client this slow: that is fine


def _while_dribbling(raw: bytes, clients: int, ask: Callable[[Server], Reply]) -> Send:
    """``clients`` slow senders of ``raw`` (more than the web workers), and meanwhile one
    ordinary request from someone else: it must be answered as if they were not there."""

    def send(world: World) -> Reply:
        server = world.public.server
        stop = threading.Event()
        threads = [threading.Thread(target=_slow_sender, args=(server, raw, stop, 0.05))
                   for _ in range(clients)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)  # every slow client is connected and part-way through
            return ask(server)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)

    return send


def _slow_requests() -> tuple[bytes, bytes]:
    host = "127.0.0.1"
    headers = encode_request("GET", "/health", host, headers={"X-Padding": "p" * 200})
    body = b"ASK { ?s ?p ?o }" + b" " * 2000
    head = encode_request("POST", "/sparql", host, body, {
        "Content-Type": "application/sparql-query"})
    return headers, head


def _held_connections(count: int, ask: Callable[[Server], Reply], partial: bool) -> Send:
    """``count`` connections opened and held (idle, or with half a request line sent)."""

    def send(world: World) -> Reply:
        server = world.public.server
        with ExitStack() as stack:
            for _ in range(count):
                sock = stack.enter_context(server.connect(timeout=5))
                if partial:
                    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            return ask(server)

    return send


def _health(server: Server) -> Reply:
    return server.request("GET", "/health", timeout=10)


def _ask(server: Server) -> Reply:
    return server.query("ASK { ?s ?p ?o }", timeout=10)


def _connection_cases() -> list[Case]:
    slow_headers, slow_body = _slow_requests()
    return [
        case("slow-headers-health", _while_dribbling(slow_headers, 4, _health), 200, 1.0),
        case("slow-headers-query", _while_dribbling(slow_headers, 4, _ask), 200, 1.0),
        case("slow-body-health", _while_dribbling(slow_body, 4, _health), 200, 1.0),
        case("slow-body-query", _while_dribbling(slow_body, 4, _ask), 200, 1.0),
        case("200-idle-connections", _held_connections(200, _health, partial=False), 200, 2.0),
        case("200-half-requests", _held_connections(200, _ask, partial=True), 200, 2.0),
    ]


def one_line(reply: Reply, world: World | None = None) -> None:
    """The documented shape of a refusal: one line of plain text."""
    assert reply.headers.get("content-type", "").startswith("text/plain"), reply.headers
    assert len(reply.text.strip().splitlines()) == 1, reply.text[:400]


def _over_the_header_cap(reply: Reply, world: World) -> None:
    one_line(reply)
    assert f"limit of {HEADER_CAP}" in reply.text, reply.text


def _header_block(total: int, field: int = 8000) -> dict[str, str]:
    """Header fields of ``field`` bytes each (under gunicorn's cap on one field), ``total``
    bytes in all."""
    return {f"X-Pad-{i}": "p" * field for i in range(total // field)}


#: The largest header block a request may carry (``hodo.web.headercap``).
HEADER_CAP = 64 * 2**10
HEADER_BLOCK_OVER = _header_block(240_000)
HEADER_BLOCK_UNDER = _header_block(56_000)


def _oversized_cases() -> list[Case]:
    return [
        case("url-100k", req("GET", "/search?q=" + "a" * 100_000), {414, 431, 400}),
        case("url-100k-sparql", req("GET", "/sparql?query=" + "%20" * 40_000 + "ASK{}"),
             {414, 431, 400}),
        case("header-100k", req("GET", "/health", headers={"X-Big": "a" * 100_000}), 431),
        case("header-100k-query", req("GET", "/sparql?query=ASK%7B%7D",
                                      headers={"Cookie": "c=" + "a" * 100_000}), 431),
        case("1000-headers", req("GET", "/health",
                                 headers={f"X-H{i}": "a" for i in range(1000)}), {400, 431}),
        # many fields, each small enough for any server, over the cap together
        case("header-block-240k", req("GET", "/health", headers=HEADER_BLOCK_OVER), 431,
             check=_over_the_header_cap),
        case("header-block-240k-query", req("GET", "/sparql?query=ASK%7B%7D",
                                            headers=HEADER_BLOCK_OVER), 431, check=one_line),
        case("header-block-240k-post", req("POST", "/sparql", "ASK {}", headers={
            "Content-Type": "application/sparql-query", **HEADER_BLOCK_OVER}), 431,
             check=one_line),
        case("header-block-under-the-cap", req("GET", "/health", headers=HEADER_BLOCK_UNDER),
             200),
    ]


EXHAUSTING = [
    *(case(name, sparql(text, "text/csv" if "CONSTRUCT" not in text else GRAPH_ACCEPT),
           status, within) for name, (text, status, within) in QUERY_BOMBS.items()),
    case("large-results-whole-every-time", _large_results_every_time, 200, QUICK),
    *_upload_cases_over_caps(), *_connection_cases(), *_oversized_cases(),
]


# --------------------------------------------------------------------------------------------
# Confusing: methods, media types, parameters, encodings, headers, paths


def _allow_excludes(method: str) -> Callable[[Reply, World], None]:
    def check(reply: Reply, world: World) -> None:
        allowed = {m.strip() for m in reply.headers["allow"].split(",")}
        assert allowed and method not in allowed, allowed
    return check


def _method_cases() -> list[Case]:
    pairs = [("PUT", "/sparql"), ("DELETE", "/sparql"), ("PATCH", "/sparql"),
             ("PUT", "/HODO_0000001"), ("DELETE", "/HODO_0000001"), ("PATCH", "/search"),
             ("PUT", "/downloads/hodo.ttl"), ("DELETE", "/"), ("POST", "/HODO_0000001"),
             ("PUT", "/validate"), ("DELETE", "/api/search"), ("TRACE", "/health"),
             ("FROB", "/sparql")]
    return [case(f"{m.lower()}-{p.strip('/').replace('/', '-') or 'root'}",
                 req(m, p, b"" if m in ("PUT", "PATCH", "POST") else None), 405,
                 check=_allow_excludes(m)) for m, p in pairs]


def _media_type_cases() -> list[Case]:
    return [
        case("sparql-text-plain", req("POST", "/sparql", "ASK {}",
                                      {"Content-Type": "text/plain"}), 415),
        case("sparql-no-type", req("POST", "/sparql", "ASK {}"), 415),
        case("sparql-json", req("POST", "/sparql", '{"query": "ASK {}"}',
                                {"Content-Type": "application/json"}), 415),
        case("sparql-latin1", req("POST", "/sparql", "ASK {}", {
            "Content-Type": "application/sparql-query; charset=latin1"}), 400),
        case("validate-flash", req("POST", "/validate", "x", {
            "Content-Type": "application/x-shockwave-flash"}), 415),
        case("graph-store-html", req("PUT", "/graph-store?graph=http://example.org/h",
                                     "<p>x</p>", {"Content-Type": "text/html",
                                                  "Authorization": "Bearer TOKEN"},
                                     curator=True), 415),
    ]


def _parameter_cases() -> list[Case]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        case("query-twice", req("GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D"), 400),
        case("query-in-url-and-body", req("POST", "/sparql?query=ASK%7B%7D",
                                          "query=ASK%7B%7D", form), 400),
        case("query-and-update", req("POST", "/sparql",
                                     "query=ASK%7B%7D&update=CLEAR%20ALL", form), 400),
        case("two-formats", req("GET", "/sparql?query=ASK%7B%7D&format=csv&format=xml"), 400),
    ]


def _encoding_cases() -> list[Case]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        case("url-percent-ff", req("GET", "/sparql?query=ASK%7B%FF%7D"), 400),
        case("url-raw-ff", req("GET", b"/sparql?query=ASK{\xff}"), 400),
        case("url-overlong", req("GET", "/sparql?query=ASK%7B%C0%AF%7D"), 400),
        case("url-surrogate", req("GET", "/sparql?query=ASK%7B%ED%A0%80%7D"), 400),
        case("graph-param-ff", req("GET", "/sparql?query=ASK%7B%7D&default-graph-uri=%FF"), 400),
        case("body-ff", req("POST", "/sparql", b"ASK {\xff}",
                            {"Content-Type": "application/sparql-query"}), 400),
        case("form-overlong", req("POST", "/sparql", "query=ASK%7B%C0%AF%7D", form), 400),
        case("form-raw-ff", req("POST", "/sparql", b"query=ASK{\xfe\xff}", form), 400),
        case("search-percent-ff", req("GET", "/search?q=%FF"), {200, 400}),
        case("api-search-percent-ff", req("GET", "/api/search?q=%FF"), {200, 400}),
        case("raw-ff-in-path", req("GET", b"/HODO_\xff"), {400, 404}),
    ]


ACCEPTS = {
    "garbage": ";;;,,,/,=,q=,;q",
    "q-nan": "text/turtle;q=NaN, application/sparql-results+json;q=nan, */*;q=NaN",
    "q-huge": "text/html;q=1e999, */*;q=-1, text/csv;q=99999999999999999999",
    "huge": "text/" + "x" * 8000,
    # thousands of elements, under the 64 KiB cap on the header block (``header-block-*``)
    "thousands": ", ".join(f"type{i}/sub{i};q=0.{i % 10}" for i in range(2500)),
    "params": "text/csv;" + ";".join(f"p{i}=v" for i in range(2000)),
}
LANGUAGES = {
    "garbage": ";;;,,,-,=,q=,;q",
    "q-nan": "zh;q=NaN, en;q=inf, *;q=-1",
    "huge": "zh-" + "x" * 8000,
    "thousands": ", ".join(f"x{i};q=0.{i % 10}" for i in range(3000)),
    "odd-tags": "zh-\u202ehans, \u200ben, " + "\ud7ff",
}


def _header_cases() -> list[Case]:
    cases = []
    for name, value in ACCEPTS.items():
        for label, path in (("query", "/sparql?query=ASK%7B%7D"), ("term", "/HODO_0000001"),
                            ("describe", "/sparql"), ("validate", "/validate")):
            cases.append(case(f"accept-{name}-{label}", req("GET", path, headers={
                "Accept": value}), {200, 406}))
    for name, value in LANGUAGES.items():
        for label, path in (("term", "/HODO_0000001"), ("search", "/search?q=bone"),
                            ("api", "/api/search?q=bone")):
            cases.append(case(f"accept-language-{name}-{label}", req("GET", path, headers={
                "Accept-Language": value}), 200))
    return cases


TRAVERSALS = [
    "/downloads/..%2f..%2fetc%2fpasswd", "/downloads/%2e%2e/%2e%2e/etc/passwd",
    "/downloads/..%252f..%252fetc%252fpasswd", "/..%2f..%2fetc%2fpasswd", "/..%2f",
    "/releases/../../etc/passwd", "/releases/0.1.0/..%2f..%2f..%2fpyproject.toml",
    "/downloads/..\\..\\etc\\passwd", "/downloads/..%5c..%5cSHA256SUMS",
    "/downloads/hodo.ttl%00.html", "/downloads/%00", "/static/..%2f..%2f__init__.py",
    "/static/vendor/..%2f..%2f..%2fpackage.json", "/static/vendor/%2e%2e%2f%2e%2e%2fcli.py",
    "//etc/passwd", "/downloads//etc/passwd", "/downloads/%2Fetc%2Fpasswd",
    "/hodo.ttl/..%2f..%2fetc%2fpasswd", "/releases/%2e%2e/%2e%2e/etc/passwd",
]


def _never_a_file(reply: Reply, world: World) -> None:
    for leak in ("root:", "[project]", "import ", '"dependencies"'):
        assert leak not in reply.text, leak


def _path_cases() -> list[Case]:
    cases = [case(f"traversal-{i}", req("GET", path), {400, 404}, check=_never_a_file)
             for i, path in enumerate(TRAVERSALS)]
    cases.append(case("traversal-raw-nul", req("GET", b"/downloads/hodo.ttl\x00.html"),
                      {400, 404}))
    return cases


ODD_PATHS = {
    "rtl-override": "/HODO_0000001%E2%80%AE", "zero-width": "/HODO_%E2%80%8B0000001",
    "overlong-dots": "/%C0%AE%C0%AE/%C0%AE%C0%AE/etc/passwd", "surrogate": "/%ED%A0%80",
    "bom": "/%EF%BB%BFHODO_0000001", "fullwidth": "/%EF%BC%A8ODO_0000001",
    "combining": "/HODO_0000001%CC%81",
}
ODD_IRIS = ["javascript:alert(1)", "data:text/html,%3Cscript%3E", FILE_PASSWD,
            "LISTENER/term", "urn:x:y", "mailto:a@b", "http://%ED%A0%80/", "\u202ehttp://x/",
            "http://x/\u200b", "gopher://127.0.0.1:9/", ""]


def _odd_cases() -> list[Case]:
    cases = [case(f"path-{name}", req("GET", path), {400, 404})
             for name, path in ODD_PATHS.items()]
    for i, iri in enumerate(ODD_IRIS):
        quoted = urllib.parse.quote(iri, safe="")
        cases.append(case(f"term-iri-{i}", req("GET", f"/term?iri={quoted}"), {400, 404}))
        cases.append(case(f"graph-iri-{i}", req("GET", f"/graph?iri={quoted}"), {400, 404}))
    return cases


CONFUSING = [*_method_cases(), *_media_type_cases(), *_parameter_cases(), *_encoding_cases(),
             *_header_cases(), *_path_cases(), *_odd_cases()]


# --------------------------------------------------------------------------------------------
# Injecting: markup into pages, text into queries


def _html_is_safe(reply: Reply, world: World) -> None:
    """No script but the site's own files, no handlers, and links only to http(s) or paths."""
    audit = Audit()
    audit.feed(reply.text)
    assert all(script.get("src") for script in audit.scripts), "inline script on the page"
    assert audit.handlers == []
    for link in audit.links:
        head = link.split("/", 1)[0]
        scheme = link.split(":", 1)[0].lower() if ":" in head else ""
        assert scheme in ("", "http", "https"), link
    assert "<script>alert" not in reply.text
    assert "onmouseover=\"alert" not in reply.text


def _shows_escaped(reply: Reply, world: World) -> None:
    _html_is_safe(reply, world)
    assert "&lt;script&gt;alert(" in reply.text, "the hostile label is not on the page"


LINK_KEYS = ("href", "url", "link", "page", "src")


def _links_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, str) and any(k in key.lower() for k in LINK_KEYS):
                yield inner
            yield from _links_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _links_in(inner)


def _json_is_safe(reply: Reply, world: World) -> None:
    """JSON, never HTML; any link it offers is http(s) or a path on this site."""
    assert reply.headers["content-type"].startswith("application/json")
    for link in _links_in(json.loads(reply.body)):
        assert not link.lower().startswith(("javascript:", "data:", "vbscript:")), link


def _plain_text(reply: Reply, world: World) -> None:
    assert reply.headers["content-type"].startswith("text/plain"), reply.headers


HOSTILE_LOCAL = HOSTILE_TERM.removeprefix(HODO)
HTML = {"Accept": "text/html"}


def _stored_markup_cases() -> list[Case]:
    pages = {
        "term": f"/{HOSTILE_LOCAL}", "term-zh": f"/{HOSTILE_LOCAL}?lang=zh",
        "known-term": f"/{HEPATIC_OSTEODYSTROPHY.removeprefix(HODO)}",
        "search": "/search?q=alert", "graph-page": f"/graph?iri={HOSTILE_TERM}",
        "map": "/map", "ontology": "/ontology",
    }
    cases = [case(f"stored-{name}", req("GET", path, headers=HTML, curator=True), 200,
                  curator=True, check=_shows_escaped if name.startswith("term") else
                  _html_is_safe) for name, path in pages.items()]
    # the search index and the OLS-shaped API are built at start-up: staged data is not in them
    api = {"graph-json": f"/api/graph/neighbourhood?iri={HOSTILE_TERM}",
           "mechanisms-json": "/api/graph/mechanisms"}
    cases += [case(f"stored-{name}", req("GET", path, curator=True), 200, curator=True,
                   check=_json_is_safe) for name, path in api.items()]
    for i, bad in enumerate(BAD_IRIS[:2]):
        cases.append(case(f"stored-bad-iri-page-{i}", req(
            "GET", f"/term?iri={urllib.parse.quote(bad, safe='')}", headers=HTML, curator=True),
            404, curator=True, check=_html_is_safe))
    return cases


SCRIPT = urllib.parse.quote(MARKUP)


def _reflected_cases() -> list[Case]:
    return [
        case("search-script", req("GET", f"/search?q={SCRIPT}", headers=HTML), 200,
             check=_html_is_safe),
        case("search-attribute", req("GET", "/search?q=%22%20onmouseover%3D%22alert(1)",
                                     headers=HTML), 200, check=_html_is_safe),
        case("not-found-script", req("GET", f"/HODO_{SCRIPT}", headers=HTML), 404,
             check=_html_is_safe),
        case("term-script", req("GET", f"/term?iri={SCRIPT}", headers=HTML), 404,
             check=_html_is_safe),
        case("graph-script", req("GET", f"/graph?iri={SCRIPT}", headers=HTML), {400, 404},
             check=_html_is_safe),
        case("lang-script", req("GET", f"/HODO_0000001?lang={SCRIPT}", headers=HTML), 200,
             check=_html_is_safe),
        case("sparql-error-script", sparql(f"SELECT * WHERE {{ {MARKUP} }}", "text/html"), 400,
             check=_plain_text),
        case("sparql-error-script-get", sparql(f"ASK {{ {MARKUP} }}", "text/html", how="get"),
             400, check=_plain_text),
        case("validate-error-script", req("POST", "/validate?reason=0", f"<a> {MARKUP} .",
                                          {"Content-Type": "text/turtle",
                                           "Accept": "text/html"}), 400,
             within=10, check=_html_is_safe),
    ]


INJECTIONS = {
    "close-and-drop": "http://x.org/a> } ; DROP ALL ; #",
    "quote-union": 'http://x.org/a" } UNION { ?s ?p ?o } #',
    "newline-insert": "http://x.org/a>\n} INSERT DATA { <http://a> <http://b> <http://c> } #",
    "hodo-term-union": f"{HEPATIC_OSTEODYSTROPHY}> ?p ?o }} UNION {{ ?s ?p ?o",
    "hash-and-quote": "http://x.org/'#\"",
}


def _injection_targets(payload: str) -> dict[str, tuple[str, set[int]]]:
    """Every parameter whose value reaches a query or a lookup, with the statuses allowed."""
    once = urllib.parse.quote(payload, safe="")
    twice = urllib.parse.quote(once, safe="")
    return {
        "term": (f"/term?iri={once}", {302, 404}),  # a HODO IRI redirects to its page
        "graph": (f"/graph?iri={once}", {400, 404}),
        "neighbourhood": (f"/api/graph/neighbourhood?iri={once}", {400, 404}),
        "ols-term": (f"/api/ontologies/hodo/terms/{twice}", {404}),
        "ols-parents": (f"/api/ontologies/hodo/terms/{twice}/parents", {404}),
        "api-terms-iri": (f"/api/terms?iri={once}", {200, 404}),
        "api-terms-short": (f"/api/terms?short_form={once}", {200, 404}),
        "api-terms-obo": (f"/api/terms?obo_id={once}", {200, 404}),
        "search": (f"/search?q={once}&type={once}&prefix={once}", {200, 400}),
        "api-search": (f"/api/search?q={once}&type={once}", {200, 400}),
        "suggest": (f"/api/suggest?q={once}", {200}),
        "default-graph": (f"/sparql?query=ASK%7B%3Fs%3Fp%3Fo%7D&default-graph-uri={once}",
                          {400}),
        "named-graph": (f"/sparql?query=ASK%7B%3Fs%3Fp%3Fo%7D&named-graph-uri={once}", {400}),
    }


def _no_extra_rows(reply: Reply, world: World) -> None:
    """A redirect stays on this site; a lookup that came back 200 found nothing."""
    if reply.status == 302:
        assert reply.headers["location"].startswith("/"), reply.headers
    if reply.status == 200 and reply.headers.get("content-type", "").startswith(
            "application/json"):
        document = json.loads(reply.body)
        found = document.get("page", {}).get("totalElements", document.get("response", {})
                                             .get("numFound", 0))
        assert found in (0, None) or "hodo-term-union" in reply.text, document


def _injection_cases() -> list[Case]:
    cases = []
    for name, payload in INJECTIONS.items():
        for where, (path, allowed) in _injection_targets(payload).items():
            cases.append(case(f"inject-{name}-{where}", req("GET", path), allowed,
                              check=_no_extra_rows))
        once = urllib.parse.quote(payload, safe="")
        nothing = ("DELETE { <http://example.org/none> <http://example.org/none> 1 } "
                   "WHERE { }")
        cases.append(case(f"inject-{name}-using-graph", update(
            nothing, f"?using-graph-uri={once}"), 400, curator=True))
        cases.append(case(f"inject-{name}-graph-store", req(
            "GET", f"/graph-store?graph={once}", headers={"Authorization": "Bearer TOKEN"},
            curator=True), {400, 404}, curator=True))
    return cases


INJECTING = [*_stored_markup_cases(), *_reflected_cases(), *_injection_cases()]


# --------------------------------------------------------------------------------------------
# Curator mode: the token, and nothing but the token


def _challenge(reply: Reply, world: World) -> None:
    assert reply.headers.get("www-authenticate", "").startswith("Bearer"), reply.headers


def _auth(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": token}


CURATOR_WRITES = {
    "update": ("POST", "/sparql/update", "DROP ALL", "application/sparql-update"),
    "graph-put": ("PUT", f"/graph-store?graph={ONTOLOGY_GRAPH}", "<http://a> <http://b> "
                  "<http://c> .", "application/n-triples"),
    "graph-delete": ("DELETE", f"/graph-store?graph={ONTOLOGY_GRAPH}", None, None),
    "graph-get": ("GET", "/graph-store?default", None, None),  # a read: public, see below
}


def _curator_request(write: str, token: str | None, suffix: str = "",
                     curator: bool = True) -> Send:
    method, path, body, media = CURATOR_WRITES[write]
    headers = _auth(token) | ({"Content-Type": media} if media else {})
    joiner = "&" if "?" in path else "?"
    if suffix:  # as written: the placeholder TOKEN would be filled in ACCESS_TOKEN too
        return req(method, (path + joiner + suffix).encode("utf-8"), body, headers, curator)
    return req(method, path, body, headers, curator)


WRONG_TOKENS = {
    "wrong": "Bearer not-the-curator-token-at-all", "prefix": f"Bearer {TOKEN[:-1]}",
    "longer": f"Bearer {TOKEN}x", "upper": f"Bearer {TOKEN.upper()}",
}
NO_TOKENS = {"none": None, "empty": "Bearer ", "basic": f"Basic {TOKEN}", "bare": TOKEN}
URL_TOKENS = [f"access_token={TOKEN}", "token=anything", "bearer=x", "api_key=x",
              f"ACCESS_TOKEN={TOKEN}", "Access_Token=x", "TOKEN=x", "Bearer=x", "API_KEY=x"]
#: Authorization headers longer than any token: refused before they are compared, never a 500
#: (over 16 MiB Granian itself answers 431).
LONG_TOKENS: dict[str, tuple[str, int | set[int]]] = {
    "2k": ("a" * 2_000, 400), "60k": ("a" * 60_000, 400),
    "over-16mib": ("a" * (16 * 2**20 + 1), {400, 431})}


def _curator_cases() -> list[Case]:
    cases = []
    for write in CURATOR_WRITES:
        read = write == "graph-get"  # public without a token; a token sent is still checked
        for name, token in NO_TOKENS.items():
            if read and token is None:
                cases.append(case(f"{write}-token-{name}", _curator_request(write, token), 200,
                                  curator=True))
                continue
            cases.append(case(f"{write}-token-{name}", _curator_request(write, token), 401,
                              curator=True, check=_challenge))
        for name, token in WRONG_TOKENS.items():
            cases.append(case(f"{write}-token-{name}", _curator_request(write, token), 403,
                              curator=True))
        for suffix in URL_TOKENS:
            cases.append(case(f"{write}-url-{suffix.split('=')[0]}", _curator_request(
                write, f"Bearer {TOKEN}", suffix), 400, curator=True))
        cases.append(case(f"{write}-public-server", _curator_request(
            write, f"Bearer {TOKEN}", curator=False), 200 if read else 403))
        for name, (token, status) in LONG_TOKENS.items():
            cases.append(case(f"{write}-token-{name}", _curator_request(
                write, f"Bearer {token}"), status, curator=True,
                check=_long_token_refused))
    return cases


def _long_token_refused(reply: Reply, world: World) -> None:
    """One line that says what is wrong (Granian's own 431 has no body)."""
    if reply.status == 400:
        one_line(reply, world)
        assert "Authorization header" in reply.text and "at most 1024" in reply.text, reply.text


CURATOR = _curator_cases()


def _graph_put(name: str, content: str, media: str) -> Send:
    return req("PUT", f"/graph-store?graph=http://example.org/{name}", content,
               {"Content-Type": media, "Authorization": "Bearer TOKEN"}, curator=True)


#: Work a curator's request sets off: it runs in a boxed child under the query deadline and
#: memory cap, never in the web worker; the staged data is unchanged after each refusal.
CURATOR_WORK = [
    case("update-cartesian", update("INSERT { GRAPH <http://example.org/slow> { ?a <urn:p> ?i } } "
                                    "WHERE { GRAPH ?x { ?a ?b ?c } GRAPH ?y { ?d ?e ?f } "
                                    "GRAPH ?z { ?g ?h ?i } }"),
         503, QUERY, curator=True, check=says("nothing was changed")),
    case("update-string-doubling", update(
        "INSERT { GRAPH <http://example.org/big> { <urn:a> <urn:b> ?n } } "
        + BOMB.removeprefix("SELECT ?n ")), {503}, QUERY, curator=True),
    case("update-or-chain-12000", update(
        "INSERT { GRAPH <http://example.org/g> { <urn:a> <urn:b> 1 } } WHERE { FILTER("
        + "||".join(["true"] * 12000) + ") }"), 400, curator=True),
    case("graph-store-deep-turtle-list", _graph_put(
        "deep", "<urn:a> <urn:b> " + "(" * 200_000 + ")" * 200_000, "text/turtle"),
         {400, 503}, QUERY, curator=True),
    case("graph-store-deep-rdfxml", _graph_put(
        "deep-xml", '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:e="http://example.org/">' + '<rdf:Description><e:p>' * 20_000
        + "x" + "</e:p></rdf:Description>" * 20_000, "application/rdf+xml"),
         {400, 503}, QUERY, curator=True),
]


# --------------------------------------------------------------------------------------------
# The tests: one per group, one row per case


@pytest.mark.parametrize("item", [c.param() for c in REACHING_OUT])
def test_reaching_out(world: World, item: Case) -> None:
    run(world, item)


@pytest.mark.parametrize("item", [c.param() for c in EXHAUSTING])
def test_exhausting(world: World, item: Case) -> None:
    run(world, item)


@pytest.mark.parametrize("item", [c.param() for c in CONFUSING])
def test_confusing(world: World, item: Case) -> None:
    reply = run(world, item)
    assert reply.status != CLOSED


@pytest.mark.parametrize("item", [c.param() for c in INJECTING])
def test_injecting(world: World, item: Case) -> None:
    run(world, item)


@pytest.mark.parametrize("item", [c.param() for c in CURATOR])
def test_curator(world: World, item: Case) -> None:
    run(world, item)


@pytest.mark.parametrize("item", [c.param() for c in CURATOR_WORK])
def test_curator_work(world: World, item: Case) -> None:
    run(world, item)


def test_the_header_block_is_capped_under_gunicorn(release_dir: Path, tmp_path: Path) -> None:
    """gunicorn caps each field (8190 bytes) and their number (100), not their sum: the cap on
    the whole block holds under it too, with the same one-line 431."""
    with serving(release_dir, tmp_path / "server.log", workers=1,
                 args=["--server", "gunicorn"]) as server:
        for path in ("/health", "/sparql?query=ASK%7B%7D", "/"):
            reply = server.request("GET", path, headers=HEADER_BLOCK_OVER)
            assert reply.status == 431, (path, reply.status, reply.text[:300])
            assert f"limit of {HEADER_CAP}" in reply.text
            one_line(reply)
        assert server.request("GET", "/health", headers=HEADER_BLOCK_UNDER).status == 200
        assert server.request("GET", "/health").status == 200


def test_case_names_are_unique() -> None:
    names = [c.id for c in (*REACHING_OUT, *EXHAUSTING, *CONFUSING, *INJECTING, *CURATOR,
                                   *CURATOR_WORK)]
    assert len(names) == len(set(names))


def test_the_listener_would_see_a_connection(world: World) -> None:
    """The detector works: a connection made to it is recorded (then forgotten)."""
    with socket.create_connection(("127.0.0.1", world.listener.port), timeout=5):
        pass
    assert len(world.listener.connections()) == 1
    world.listener.seen.clear()


def test_the_data_hash_sees_a_change(world: World) -> None:
    """The dump is sensitive: a staged change alters it, and undoing the change restores it."""
    server = world.curator.server
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
    triple = "<http://example.org/probe> <http://example.org/p> \"probe\""
    assert server.request("POST", "/sparql/update", f"INSERT DATA {{ GRAPH <{ONTOLOGY_GRAPH}> "
                          f"{{ {triple} }} }}".encode(), auth).status == 204
    assert data_hash(server) != world.curator.data
    assert server.request("POST", "/sparql/update", f"DELETE DATA {{ GRAPH <{ONTOLOGY_GRAPH}> "
                          f"{{ {triple} }} }}".encode(), auth).status == 204
    assert data_hash(server) == world.curator.data


def test_reply_reader_reports_a_closed_connection() -> None:
    """A server that hangs up without answering is ``CLOSED``, not an exception."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        with socket.create_connection(listening.getsockname(), timeout=5) as client:
            accepted, _ = listening.accept()
            accepted.close()
            assert read_reply(client, "GET", time.monotonic()).status == CLOSED
