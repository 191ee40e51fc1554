"""HODO behind nginx, as docs/deployment.md deploys it: ``deploy/nginx/proxy.py run`` in front
of two ``hodo serve`` nodes started with HODO_TRUSTED_PROXIES=1, all on loopback.

What the deployment promises, each shown through nginx: release-derived GETs are cached (a
MISS, then a HIT that no node sees) with their ``Vary`` respected; POSTs and requests carrying
credentials never come from the cache, nor go into it; each client is still its own client to
HODO's rate limit, and held to one allowance of queries across the nodes by nginx's own; what a
client claims in ``X-Forwarded-*`` is not believed; the
connections to the nodes are kept alive; and a node killed and restarted under load costs no
request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

from hodo.web.ops import EXPOSED_HEADERS
from tests.support.net import free_port
from tests.support.server import Reply, Server, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "deploy" / "nginx" / "proxy.py"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAS_NGINX = os.access(NGINX, os.X_OK)

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not HAS_NGINX, reason=f"nginx is not installed (no {NGINX}): "
                       "`apt-get install nginx`; .ci/run installs it"),
]

JSON = "application/sparql-results+json"
#: out of reach, as in the benchmark: every test here sends from one address
UNLIMITED = {"rate_limit": "1000000000", "rate_burst": "1000000000"}
SPARQL_2XX = 'hodo_http_requests_total{route="sparql",code="2xx"}'
TOKEN = "a-curator-token-of-some-length"
_fresh = count(1)


def fresh_query() -> str:
    """A query text no cache has seen, with the same cheap answer."""
    return f"ASK {{ ?s ?p ?o FILTER (?o != {next(_fresh)}) }}"


def sparql_get(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


@dataclass
class Cluster:
    """nginx (a ``Server`` for its client methods) in front of ``nodes``."""

    proxy: Server
    nodes: list[Server]
    prefix: Path

    def answered_by_nodes(self) -> float:
        """SPARQL requests the nodes answered 2xx, summed (a cached answer adds nothing)."""
        return sum(node.metric(SPARQL_2XX) for node in self.nodes)

    def access_log(self) -> list[str]:
        return (self.prefix / "logs" / "access.log").read_text(encoding="utf-8").splitlines()


def start_nginx(prefix: Path, nodes: list[Server], workers: str = "1",
                query_limit: tuple[str, str] = ("0", "1")) -> Server:
    """``deploy/nginx/proxy.py run`` on a free loopback port, once it answers through a node;
    ``query_limit``: its per-client query rate (a minute) and burst, by default none."""
    port = free_port()
    log = prefix.with_name(prefix.name + ".log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "run", "--prefix", str(prefix), "--listen",
             f"127.0.0.1:{port}", "--workers", workers, "--nginx", NGINX,
             "--query-rate", query_limit[0], "--query-burst", query_limit[1],
             *(arg for node in nodes for arg in ("--node", f"127.0.0.1:{node.port}"))],
            stdout=out, stderr=out)
    proxy = Server("127.0.0.1", port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if proxy.request("GET", "/health", timeout=2).status == 200:
                return proxy
        except OSError:
            time.sleep(0.1)
    stop_nginx(proxy)
    raise RuntimeError(log.read_text(errors="replace") or "nginx did not start")


def stop_nginx(proxy: Server) -> None:
    """SIGTERM: nginx's fast shutdown, its workers with it."""
    proxy.process.send_signal(signal.SIGTERM)
    try:
        proxy.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proxy.process.kill()
        proxy.process.wait(timeout=10)


@contextmanager
def cluster(release: Path, tmp: Path, query_limit: tuple[str, str] = ("0", "1"),
            **settings: str) -> Iterator[Cluster]:
    """Two nodes (one web worker each) trusting one proxy, nginx in front (with
    ``query_limit``, as ``start_nginx``)."""
    nodes: list[Server] = []
    try:
        for _ in range(2):
            nodes.append(start_server(release, workers=1, trusted_proxies="1", **settings))
        proxy = start_nginx(tmp / "nginx", nodes, query_limit=query_limit)
        try:
            yield Cluster(proxy, nodes, tmp / "nginx")
        finally:
            stop_nginx(proxy)
    finally:
        for node in nodes:
            stop_server(node)


@pytest.fixture(scope="module")
def two(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(release_dir, tmp_path_factory.mktemp("proxy"), **UNLIMITED) as running:
        yield running


# ---- the recipe itself ------------------------------------------------------------------------

@pytest.mark.parametrize(("limit", "expected", "cors"), [
    ([], "limit_req zone=hodo_queries burst=60 nodelay;", "*"),
    (["--query-rate", "0"], "no per-client query limit here", None),
    (["--cors-origin", "https://example.org:8443"], "Vary Origin", "https://example.org:8443"),
    (["--cors-origin", ""], "add_header Content-Security-Policy", None)],
    ids=["query-limit", "none", "one-origin", "no-cors"])
def test_launcher_renders_a_configuration_nginx_accepts(
        tmp_path: Path, limit: list[str], expected: str, cors: str | None) -> None:
    rendered = subprocess.run(
        [sys.executable, str(LAUNCHER), "render", "--listen", "8080", "--node", "10.0.0.11:8000",
         "--node", "10.0.0.12:8000", *limit], capture_output=True, text=True, check=True).stdout
    assert "server 10.0.0.11:8000" in rendered and "server 10.0.0.12:8000" in rendered
    assert not re.search(r"@[A-Z_]+@", rendered), "a field left unfilled"
    assert expected in rendered
    origins = re.findall(r'Access-Control-Allow-Origin "([^"]*)"', rendered)
    assert origins == ([cors] if cors else [])
    assert ("Vary Origin" in rendered) == (cors not in (None, "*"))
    checked = subprocess.run(
        [sys.executable, str(LAUNCHER), "run", "--check", "--prefix", str(tmp_path), "--node",
         "127.0.0.1:9", "--nginx", NGINX, *limit], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


@pytest.mark.parametrize("args", [["--node", "no-port"], ["--listen", "a b", "--node", "h:1"],
                                  ["--cache-size", "lots", "--node", "h:1"], [],
                                  ["--query-rate", "-1", "--node", "h:1"],
                                  ["--query-burst", "0", "--node", "h:1"],
                                  ["--cors-origin", 'x" always; evil', "--node", "h:1"]],
                         ids=["node", "listen", "cache-size", "no-node", "rate", "burst",
                              "cors-origin"])
def test_launcher_refuses_bad_options_in_one_line(args: list[str]) -> None:
    done = subprocess.run([sys.executable, str(LAUNCHER), "render", *args],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("proxy.py: ") and done.stderr.count("\n") == 1


# ---- caching ----------------------------------------------------------------------------------

def test_a_repeated_sparql_get_is_a_miss_then_a_hit(two: Cluster) -> None:
    path = sparql_get(fresh_query())
    before = two.answered_by_nodes()
    first = two.proxy.request("GET", path, headers={"Accept": JSON})
    second = two.proxy.request("GET", path, headers={"Accept": JSON})
    assert (first.status, second.status) == (200, 200)
    assert first.headers["x-cache-status"] == "MISS"
    assert second.headers["x-cache-status"] == "HIT"
    assert second.body == first.body and second.headers["etag"] == first.headers["etag"]
    assert two.answered_by_nodes() == before + 1  # the hit never reached a node


def test_a_term_page_is_cached_per_language(two: Cluster) -> None:
    """``Vary: Accept-Language``: each language is its own cached answer."""
    replies = {}
    for turn in ("first", "again"):
        for lang in ("en", "zh"):
            replies[turn, lang] = two.proxy.request(
                "GET", "/HODO_0000001", headers={"Accept": "text/html", "Accept-Language": lang})
    for lang in ("en", "zh"):
        assert replies["first", lang].headers["x-cache-status"] == "MISS"
        assert replies["again", lang].headers["x-cache-status"] == "HIT"
        assert replies["again", lang].headers["content-language"] == lang
        assert replies["again", lang].body == replies["first", lang].body
    assert replies["again", "en"].body != replies["again", "zh"].body


def test_a_cached_answer_revalidates_by_its_etag(two: Cluster) -> None:
    path = sparql_get(fresh_query())
    etag = two.proxy.request("GET", path, headers={"Accept": JSON}).headers["etag"]
    reply = two.proxy.request("GET", path, headers={"Accept": JSON, "If-None-Match": etag})
    assert reply.status == 304 and reply.body == b""
    assert reply.headers["x-cache-status"] == "HIT"


def test_a_post_query_is_never_cached(two: Cluster) -> None:
    query = fresh_query()
    before = two.answered_by_nodes()
    replies = [two.proxy.query(query) for _ in range(2)]
    assert [r.status for r in replies] == [200, 200]
    assert all(r.headers.get("x-cache-status", "") != "HIT" for r in replies)
    assert two.answered_by_nodes() == before + 2


def test_a_request_with_a_token_neither_comes_from_nor_goes_into_the_cache(two: Cluster
                                                                          ) -> None:
    path = sparql_get(fresh_query())
    token = {"Accept": JSON, "Authorization": f"Bearer {TOKEN}"}
    before = two.answered_by_nodes()
    with_token = two.proxy.request("GET", path, headers=token)
    public = two.proxy.request("GET", path, headers={"Accept": JSON})
    cached = two.proxy.request("GET", path, headers={"Accept": JSON})
    with_token_again = two.proxy.request("GET", path, headers=token)
    assert with_token.headers["x-cache-status"] == "BYPASS"
    assert public.headers["x-cache-status"] == "MISS"  # the tokened answer was not kept
    assert cached.headers["x-cache-status"] == "HIT"
    assert with_token_again.headers["x-cache-status"] == "BYPASS"  # though one is kept now
    assert two.answered_by_nodes() == before + 3


def test_operational_answers_are_not_cached(two: Cluster) -> None:
    statuses = [two.proxy.request("GET", "/health").headers.get("x-cache-status")
                for _ in range(2)]
    assert statuses == ["MISS", "MISS"]


def test_in_curator_mode_nothing_is_cached(release_dir: Path, tmp_path: Path) -> None:
    """A curator's node answers ``no-cache``: a public question asked before and after the
    curator's update through nginx gets the new answer, never the one kept from before."""
    node = start_server(release_dir, workers=1, trusted_proxies="1", curator_token=TOKEN)
    try:
        proxy = start_nginx(tmp_path / "nginx", [node])
        try:
            ask = sparql_get('ASK { GRAPH ?g { <urn:x:s> <urn:x:p> "staged" } }')
            before = [proxy.request("GET", ask, headers={"Accept": JSON}) for _ in range(2)]
            update = proxy.request(
                "POST", "/sparql/update",
                b'INSERT DATA { GRAPH <https://w3id.org/hodo/graph/findings> '
                b'{ <urn:x:s> <urn:x:p> "staged" } }',
                {"Content-Type": "application/sparql-update",
                 "Authorization": f"Bearer {TOKEN}"})
            after = proxy.request("GET", ask, headers={"Accept": JSON})
        finally:
            stop_nginx(proxy)
    finally:
        stop_server(node)
    assert [json.loads(r.body)["boolean"] for r in before] == [False, False]
    assert [r.headers["x-cache-status"] for r in before] == ["MISS", "MISS"]
    assert update.status == 204, update.text
    assert json.loads(after.body)["boolean"] is True
    assert after.headers["x-cache-status"] == "MISS"


# ---- what HODO believes of the client ---------------------------------------------------------

SPOOFED = {"Accept": "text/turtle", "Host": "hodo.example", "X-Forwarded-Proto": "https",
           "X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil"}


def endpoint_named(reply: Reply) -> str:
    """The ``sd:endpoint`` of a service description (Turtle)."""
    line = next(x for x in reply.text.splitlines() if "sd:endpoint" in x)
    return line.split("<", 1)[1].split(">", 1)[0]


def test_the_client_cannot_choose_scheme_host_or_prefix(two: Cluster) -> None:
    """The host the client asked for, the scheme nginx received; a client's ``X-Forwarded-*``
    is replaced or dropped, so nothing it claims ends up in an answer cached for everyone.
    Sent straight to a node, which trusts one proxy, the same headers are believed."""
    raw = b"GET /sparql HTTP/1.1\r\n" + b"".join(
        f"{k}: {v}\r\n".encode() for k, v in SPOOFED.items()) + b"Connection: close\r\n\r\n"
    direct = two.nodes[0].send(raw)
    assert endpoint_named(direct) == "https://evil.example/evil/sparql"
    for _ in range(2):  # and the second time from the cache
        reply = two.proxy.send(raw)
        assert endpoint_named(reply) == "http://hodo.example/sparql"
    assert reply.headers["x-cache-status"] == "HIT"


def test_connections_to_the_nodes_are_kept_alive(two: Cluster) -> None:
    """Thirty requests one after the other, each a miss, open at most a connection or two
    per node, not thirty: every connection between nginx and a node is seen, open or in
    TIME_WAIT, before and after each request."""
    ports = {node.port for node in two.nodes}
    before = upstream_connections(ports)
    seen = set(before)
    for _ in range(30):
        assert two.proxy.request("GET", sparql_get(fresh_query()),
                                 headers={"Accept": JSON}).status == 200
        seen |= upstream_connections(ports)
    assert len(seen - before) <= 2 * len(ports), sorted(seen - before)


def upstream_connections(ports: set[int]) -> set[tuple[int, int]]:
    """(node port, nginx's port) of every loopback TCP connection to a node: /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if state == "0A":  # listening
            continue
        lport, rport = int(local.split(":")[1], 16), int(remote.split(":")[1], 16)
        if lport in ports:
            found.add((lport, rport))
        elif rport in ports:
            found.add((rport, lport))
    return found


def test_the_rate_limit_sees_each_client_not_nginx(release_dir: Path, tmp_path: Path) -> None:
    """Nodes allowing a burst of two queries per client each. Through nginx, client A
    (127.0.0.2) runs out and is refused (429); client B (127.0.0.3), on the same nginx, is
    not: each is its own client, not nginx's one address. A's own ``X-Forwarded-For`` does not
    make it a new client, nor does B's claim to be A charge A; straight to a node (which
    trusts one proxy) the same claim is believed."""
    with cluster(release_dir, tmp_path, rate_limit="1", rate_burst="2") as limited:
        proxy = limited.proxy
        first = [proxy.query(fresh_query(), source="127.0.0.2").status for _ in range(4)]
        assert first == [200] * 4  # two per node, round robin
        assert [proxy.query(fresh_query(), source="127.0.0.2").status
                for _ in range(2)] == [429, 429]
        spoofing = [send_query(proxy, "127.0.0.2", {"X-Forwarded-For": "203.0.113.9"})
                    for _ in range(2)]
        assert spoofing == [429, 429]
        as_a = [send_query(proxy, "127.0.0.3", {"X-Forwarded-For": "127.0.0.2"})
                for _ in range(2)]
        assert as_a == [200, 200]
        direct = [send_query(node, "127.0.0.4", {"X-Forwarded-For": "127.0.0.2"})
                  for node in limited.nodes]
        assert direct == [429, 429]
        assert sum(node.metric('hodo_query_rejections_total{reason="rate_limited"}')
                   for node in limited.nodes) == 6
        log = [line.split()[0] for line in limited.access_log() if "POST /sparql" in line]
        assert Counter(log) == {"127.0.0.2": 8, "127.0.0.3": 2}


def test_the_proxy_holds_each_client_to_one_allowance_across_the_nodes(
        release_dir: Path, tmp_path: Path) -> None:
    """Nodes with no limit of their own, nginx allowing each client one query a minute and a
    burst of two more (three at once).
    Its requests spread over two nodes, client A still gets three queries in all, not three per
    node: the fourth, by GET or POST, or with the parameter's name percent-encoded, is refused
    at the proxy (429, one line, Retry-After) and reaches no node. Its other requests (the
    query page, a term page) are not queries and pass;
    client B has an allowance of its own."""
    with cluster(release_dir, tmp_path, query_limit=("1", "2"), **UNLIMITED) as limited:
        proxy = limited.proxy
        a, b = "127.0.0.2", "127.0.0.3"
        assert [proxy.query(fresh_query(), source=a).status for _ in range(3)] == [200] * 3
        # the name percent-encoded: what nginx cannot read counts as a query
        encoded = "/sparql?%71uery=" + urllib.parse.quote(fresh_query())
        refused = [proxy.query(fresh_query(), source=a),
                   proxy.request("GET", sparql_get(fresh_query()), source=a),
                   proxy.request("GET", encoded, source=a)]
        for reply in refused:
            assert reply.status == 429
            assert reply.headers["content-type"].startswith("text/plain")
            assert reply.text.count("\n") == 1 and "too many queries" in reply.text
            assert int(reply.headers["retry-after"]) == 60
            # as a node's own 429: readable by a query page on another origin, and safe
            assert reply.headers["access-control-allow-origin"] == "*"
            assert reply.headers["access-control-expose-headers"] == EXPOSED_HEADERS
            assert reply.headers["x-content-type-options"] == "nosniff"
            assert "default-src 'none'" in reply.headers["content-security-policy"]
        assert limited.answered_by_nodes() == 3, "a refused query reached a node"
        refusals = [line for line in limited.access_log() if '" 429 ' in line]
        assert len(refusals) == 3 and all("node=-" in line for line in refusals), refusals
        for path in ("/sparql", "/sparql?lang=zh"):
            page = proxy.request("GET", path, headers={"Accept": "text/html"}, source=a)
            assert page.status == 200 and "text/html" in page.headers["content-type"]
        assert proxy.request("GET", "/", headers={"Accept": "text/html"},
                             source=a).status == 200
        assert proxy.query(fresh_query(), source=b).status == 200


def send_query(server: Server, source: str, headers: dict[str, str]) -> int:
    """POST a fresh query from ``source`` with extra headers; the status."""
    return server.request("POST", "/sparql", fresh_query().encode(), {
        "Content-Type": "application/sparql-query", "Accept": JSON, **headers},
        source=source).status


# ---- a node lost and back ---------------------------------------------------------------------

def test_no_request_fails_while_a_node_is_killed_and_restarted(two: Cluster,
                                                               release_dir: Path) -> None:
    """Clients keep sending GETs (each a miss, so each reaches a node) while node 0 is killed
    with SIGKILL and started again on its port; every one is answered 200, and the restarted
    node takes requests again."""
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            status = two.proxy.request("GET", sparql_get(fresh_query()),
                                       headers={"Accept": JSON}).status
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=client) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        victim = two.nodes[0]
        victim.process.send_signal(signal.SIGKILL)
        stop_server(victim)  # reaps it
        time.sleep(1.5)
        two.nodes[0] = restart_on(release_dir, victim.port)
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert sum(statuses.values()) > 20, statuses
    assert set(statuses) == {200}, statuses
    assert two.nodes[0].metric(SPARQL_2XX) > 0  # the new process answered some


def restart_on(release: Path, port: int) -> Server:
    """``hodo serve`` on ``port`` again, once the dead server's workers have let it go."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return start_server(release, workers=1, port=port, trusted_proxies="1", **UNLIMITED)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
# ---- the benchmark's part ---------------------------------------------------------------------

@pytest.mark.slow
def test_bench_proxy_quick(release_dir: Path, tmp_path: Path) -> None:
    """``python -m bench --proxy --quick``: every configuration measured, no error; through
    nginx the warm requests come from its cache and the distinct ones from the nodes."""
    subprocess.run([sys.executable, "-m", "bench", "--proxy", "--quick", "--out", str(tmp_path),
                    "--dist", str(release_dir)], cwd=ROOT, check=True, timeout=600,
                   stdout=subprocess.DEVNULL)
    results = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    rows = results["proxy"]["rows"]
    assert {(r["via"], r["nodes"]) for r in rows} == {("direct", 1), ("nginx", 1), ("nginx", 2)}
    for row in rows:
        assert row["errors"] == 0, row
        assert row["rps"] > 0 and row["p50_ms"] > 0
        if row["via"] == "nginx" and row["regime"] == "warm":
            assert row["hit_ratio"] > 0.9, row
        if row["via"] == "nginx" and row["regime"] == "distinct" and row["query"] != "term-page":
            assert row["hit_ratio"] < 0.1, row
