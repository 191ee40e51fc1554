"""Request bodies are read no further than their cap, chunked or not.

A chunked body carries no length, so a server that checks only ``Content-Length`` reads it
whole before it can refuse it. Through a real ``hodo serve``: a 64 MiB chunked body, streamed a
chunk at a time, to every route that takes a body (queries, by the lane and by form;
validation; in curator mode the Graph Store and updates) is answered 413, and no web worker's
resident memory peaks more than a few MiB above where it was. Below the server, the readers
themselves read at most the cap and a chunk.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from flask import Flask

from hodo.web.bodies import CHUNK, read_capped, request_body, wsgi_body
from tests.support.server import Reply, Server, encode_request, read_reply, serving

TOKEN = "bodies-suite-curator-token-0123456789"
BODY = 64 * 2**20
#: What a web worker's peak resident memory may grow by while it refuses one such body.
MAX_GROWTH = 24 * 2**20
GRAPH_STORE_MAX_BYTES = 1_000_000


# --------------------------------------------------------------------------------------------
# The readers


class Source:
    """An endless body that counts the bytes read from it (``read`` only, as WSGI asks)."""

    def __init__(self) -> None:
        self.given = 0

    def read(self, size: int = -1) -> bytes:
        assert size > 0, "an unbounded read"
        self.given += size
        return b"a" * size


def test_read_capped_stops_at_its_bound() -> None:
    source = Source()
    assert len(read_capped(source, 200_001)) == 200_001 and source.given == 200_001


def test_a_terminated_body_without_length_is_read_to_the_cap_and_a_byte() -> None:
    source = Source()
    body = wsgi_body({"wsgi.input": source, "wsgi.input_terminated": True}, 1000)
    assert body is not None and len(body) == 1001 and source.given == 1001


@pytest.mark.parametrize(("environ", "expected"), [
    ({"CONTENT_LENGTH": "5"}, b"aaaaa"),
    ({"CONTENT_LENGTH": "1001"}, None),
    ({"CONTENT_LENGTH": "x"}, None),
    ({}, None),  # no length, and the server does not end the body
])
def test_wsgi_body_by_its_length(environ: dict[str, str], expected: bytes | None) -> None:
    source = Source()
    assert wsgi_body({"wsgi.input": source, **environ}, 1000) == expected
    assert source.given == len(expected or b"")


def test_request_body_reads_a_chunked_body_no_further_than_the_cap(app: Flask) -> None:
    source = Source()
    with app.test_request_context("/sparql", method="POST", environ_overrides={
            "wsgi.input": source, "wsgi.input_terminated": True}):
        assert request_body(100_000) is None
    assert source.given <= 100_001 + CHUNK


def test_request_body_keeps_a_body_within_the_cap_for_the_form(app: Flask) -> None:
    from flask import request

    with app.test_request_context("/validate", method="POST", data=b"data=abc",
                                  content_type="application/x-www-form-urlencoded"):
        assert request_body(8) == b"data=abc"
        assert request.form["data"] == "abc"


# --------------------------------------------------------------------------------------------
# Through a real server


def web_workers(server: Server) -> list[int]:
    """The web workers: the processes ``hodo serve`` forked itself."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == server.process.pid:
                    found.append(int(entry.name))
    assert found, "no web worker"
    return found


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def _reset_peak(pid: int) -> bool:
    """Set the peak resident size back to the current one (``clear_refs`` 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def growth_while(server: Server, send: threading.Thread) -> int:
    """The most any web worker's resident memory peaked above its start while ``send`` ran:
    the peak (VmHWM, reset first) where the kernel lets it be reset, else the resident size
    after."""
    workers = web_workers(server)
    peaks = all(_reset_peak(pid) for pid in workers)
    before = {pid: _status(pid, "VmRSS") for pid in workers}
    send.start()
    send.join(120)
    assert not send.is_alive(), "the request did not finish"
    field = "VmHWM" if peaks else "VmRSS"
    return max(_status(pid, field) - before[pid] for pid in workers)


def chunked(server: Server, method: str, target: str, media: str, prefix: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[threading.Thread, list[Reply]]:
    """A thread that sends a ``BODY``-byte chunked body, 64 KiB a chunk (never built whole),
    while it reads the answer; the answer lands in the list."""
    host = f"{server.host}:{server.port}"
    head = encode_request(method, target, host, headers={
        "Content-Type": media, "Transfer-Encoding": "chunked", **(headers or {})})
    replies: list[Reply] = []

    def pump(sock: socket.socket) -> None:
        filler = b"a" * 65536
        with suppress(OSError):  # the server may answer and close before the end
            first = prefix + filler[len(prefix):]
            sock.sendall(b"%x\r\n" % len(first) + first + b"\r\n")
            for _ in range(BODY // 65536 - 1):
                sock.sendall(b"10000\r\n" + filler + b"\r\n")
            sock.sendall(b"0\r\n\r\n")

    def run() -> None:
        started = time.monotonic()
        with server.connect(timeout=60) as sock:
            sock.sendall(head)
            sender = threading.Thread(target=pump, args=(sock,), daemon=True)
            sender.start()
            replies.append(read_reply(sock, method, started))
            with suppress(OSError):  # stop the sender, if the server has not closed already
                sock.shutdown(socket.SHUT_RDWR)
            sender.join(60)

    return threading.Thread(target=run), replies


@pytest.fixture(scope="module")
def public(release_dir: Path) -> Iterator[Server]:
    with serving(release_dir, rate_limit="0", result_cache_mb="0") as server:
        yield server


@pytest.fixture(scope="module")
def curator(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import shutil

    copy = Path(shutil.copytree(release_dir, tmp_path_factory.mktemp("bodies") / "release"))
    with serving(copy, workers=1, rate_limit="0", curator_token=TOKEN,
                 graph_store_max_bytes=str(GRAPH_STORE_MAX_BYTES)) as server:
        yield server


PUBLIC_ROUTES = {
    "query-direct": ("/sparql", "application/sparql-query", b"ASK { ?s ?p ?o } #"),
    "query-form": ("/sparql", "application/x-www-form-urlencoded", b"query=ASK%7B%7D%23"),
    "validate-body": ("/validate", "text/turtle", b"# "),
    "validate-form": ("/validate", "application/x-www-form-urlencoded", b"data=%23"),
}
CURATOR_ROUTES = {
    "update": ("POST", "/sparql/update", "application/sparql-update", b"# "),
    "graph-store-put": ("PUT", "/graph-store?default", "application/n-triples", b"# "),
    "graph-store-post": ("POST", "/graph-store?default", "text/turtle", b"# "),
}


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("route", PUBLIC_ROUTES)
def test_a_chunked_body_far_over_the_cap_is_413_and_costs_no_memory(public: Server,
                                                                    route: str) -> None:
    target, media, prefix = PUBLIC_ROUTES[route]
    send, replies = chunked(public, "POST", target, media, prefix, {"Accept": "text/plain"})
    growth = growth_while(public, send)
    assert replies and replies[0].status == 413, replies
    text = replies[0].text.strip()
    assert "\n" not in text and ("larger" in text or "longer" in text), text
    assert growth < MAX_GROWTH, f"a web worker grew by {growth // 2**20} MiB"
    assert public.request("GET", "/health").status == 200


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("route", CURATOR_ROUTES)
def test_a_chunked_curator_body_far_over_the_cap_is_413_and_costs_no_memory(
        curator: Server, route: str) -> None:
    method, target, media, prefix = CURATOR_ROUTES[route]
    send, replies = chunked(curator, method, target, media, prefix,
                            {"Authorization": f"Bearer {TOKEN}"})
    growth = growth_while(curator, send)
    assert replies and replies[0].status == 413, replies
    assert growth < MAX_GROWTH, f"the web worker grew by {growth // 2**20} MiB"
    assert curator.request("GET", "/health").status == 200


@pytest.mark.server
@pytest.mark.slow
def test_a_graph_store_upload_within_its_cap_is_stored(curator: Server) -> None:
    body = b"<http://example.org/a> <http://example.org/b> \"c\" .\n"
    reply = curator.request("PUT", "/graph-store?graph=http://example.org/bodies", body, {
        "Content-Type": "application/n-triples", "Authorization": f"Bearer {TOKEN}"})
    assert reply.status == 201, reply.text
    over = curator.request("PUT", "/graph-store?graph=http://example.org/bodies",
                           b"#" * (GRAPH_STORE_MAX_BYTES + 1), {
                               "Content-Type": "application/n-triples",
                               "Authorization": f"Bearer {TOKEN}"})
    assert over.status == 413 and "HODO_GRAPH_STORE_MAX_BYTES" in over.text
