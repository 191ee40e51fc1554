"""Refusals and limits through a real server process (``hodo serve``, 2 web workers).

Every request here leaves from its own loopback address (127.0.0.x), so the per-client rate
limit sees each test as a different client, as it would see different people.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import Listener
from tests.support.queries import BOMB, FAST, SERVICE_SPELLINGS, SLOW
from tests.support.server import Reply, Server, alive, descendants, start_server, stop_server

pytestmark = pytest.mark.server

DEADLINE = 2.0
MAX_ROWS = 100
RATE_BURST = 8
_addresses = (f"127.0.0.{n}" for n in itertools.count(10))


@pytest.fixture(scope="module")
def server(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    running = start_server(release_dir, log, query_timeout=str(DEADLINE),
                           slow_query_after="0.5", max_rows=str(MAX_ROWS),
                           rate_limit="60", rate_burst=str(RATE_BURST),
                           query_memory_mb="256")
    running.sources = _addresses
    yield running
    stop_server(running)


@pytest.mark.parametrize("spelling", SERVICE_SPELLINGS, ids=SERVICE_SPELLINGS.keys())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_service_never_reaches_the_listener(server: Server, listener: Listener, spelling: str,
                                            method: str) -> None:
    query = SERVICE_SPELLINGS[spelling].replace("127.0.0.1:9", f"127.0.0.1:{listener.port}")
    # a SERVICE hidden where only the engine would read it is refused unread
    reason = "unreadable" if spelling.startswith("hidden-") else "service"
    before = server.metric(f'hodo_query_rejections_total{{reason="{reason}"}}')
    if method == "GET":
        reply = server.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}))
    else:
        reply = server.query(query)
    assert reply.status == 400
    assert ("cannot be checked" if reason == "unreadable" else "SERVICE is not allowed"
            ) in reply.text
    time.sleep(0.2)
    assert listener.connections() == []
    assert server.metric(f'hodo_query_rejections_total{{reason="{reason}"}}') == before + 1


def test_overrun_is_503_within_the_deadline_while_a_fast_query_is_answered(
        server: Server) -> None:
    before = server.metric("hodo_query_timeouts_total")
    slow: list[Reply] = []
    thread = threading.Thread(target=lambda: slow.append(server.query(SLOW)))
    thread.start()
    time.sleep(0.3)
    fast = server.query(FAST)
    thread.join(timeout=30)
    assert fast.status == 200 and '"boolean":true' in fast.text
    assert fast.seconds < DEADLINE
    (answer,) = slow
    assert answer.status == 503
    assert int(answer.headers["retry-after"]) >= 1
    assert "longer than 2 s" in answer.text
    assert answer.seconds < DEADLINE + 1
    assert server.metric("hodo_query_timeouts_total") == before + 1
    assert server.query(FAST).status == 200


def test_worker_killed_mid_query_is_replaced(server: Server) -> None:
    before = server.metric('hodo_query_worker_restarts_total{cause="crash"}')
    slow: list[Reply] = []
    thread = threading.Thread(target=lambda: slow.append(server.query(SLOW)))
    thread.start()
    time.sleep(0.5)
    # below the server: web workers, and below each its query worker (a leaf)
    query_workers = {pid for pid in descendants(server.process.pid) if not descendants(pid)}
    assert query_workers, "no query worker found"
    for pid in query_workers:
        os.kill(pid, signal.SIGKILL)
    thread.join(timeout=30)
    assert slow[0].status == 503
    assert "SIGKILL" in slow[0].text
    for _ in range(3):  # both web workers: every query worker was replaced
        assert server.query(FAST).status == 200
    assert server.metric('hodo_query_worker_restarts_total{cause="crash"}') > before


def test_memory_bomb_is_contained(server: Server) -> None:
    reply = server.query(BOMB)
    assert reply.status == 503
    assert "MiB" in reply.text and "retry-after" in reply.headers
    assert server.query(FAST).status == 200


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_refused(server: Server, depth: int) -> None:
    reply = server.query("SELECT * WHERE " + "{" * depth + " ?s ?p ?o " + "}" * depth)
    assert reply.status == 400
    assert "nests deeper" in reply.text
    assert server.query(FAST).status == 200


def test_result_cap_is_reported_not_truncated(server: Server) -> None:
    reply = server.query("SELECT * WHERE { ?s ?p ?o }", accept="text/csv")
    assert reply.status == 400
    assert f"more than {MAX_ROWS} rows" in reply.text
    paged = server.query(f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS}", accept="text/csv")
    assert paged.status == 200
    assert len(paged.text.strip().splitlines()) == MAX_ROWS + 1
    assert server.metric('hodo_query_rejections_total{reason="result_rows"}') >= 1


def test_per_client_limit_is_429_with_retry_after(server: Server) -> None:
    client = next(_addresses)
    before = server.metric('hodo_query_rejections_total{reason="rate_limited"}')
    statuses = [server.query(FAST, source=client).status for _ in range(RATE_BURST + 2)]
    assert statuses[:RATE_BURST] == [200] * RATE_BURST
    assert statuses[-1] == 429
    limited = server.query(FAST, source=client)
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    assert server.query(FAST).status == 200  # another client is not affected
    assert server.metric('hodo_query_rejections_total{reason="rate_limited"}') >= before + 2


def test_shutdown_leaves_no_process(release_dir: Path, tmp_path: Path) -> None:
    running = start_server(release_dir, tmp_path / "server.log")
    try:
        assert running.query(FAST).status == 200
        deadline = time.monotonic() + 20
        # two web workers, each with a spawner and the two query workers it forked
        while (len(below := descendants(running.process.pid)) < 8
               and time.monotonic() < deadline):
            time.sleep(0.1)  # the second web worker may still be starting
        assert len(below) == 8
    finally:
        stop_server(running)  # a failed check above must not leave a server behind
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in below)
