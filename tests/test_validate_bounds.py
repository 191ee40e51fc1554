"""``/validate`` is bounded like queries, through a real ``hodo serve``: validations beyond the
slots are refused at once with 503 and ``Retry-After`` while ``/health`` and queries keep
answering; validations count against the client's rate limit; one that needs more memory than
its cap is stopped with a 503 that says so, and the next one works (with the reasoner, at the
default cap)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import DATA
from tests.support.server import Reply, Server, alive, descendants, serving

pytestmark = [pytest.mark.server, pytest.mark.slow]

GOOD = (DATA / "curator" / "good.ttl").read_bytes()
HUNGRY = (DATA / "hungry.ttl").read_bytes()
TURTLE = {"Content-Type": "text/turtle", "Accept": "application/json"}
#: Loose bounds on a busy 2-core machine: "at once" and "still answering".
PROMPT = 2.0
CLIENTS = 4


def validate(server: Server, data: bytes = GOOD, query: str = "") -> Reply:
    return server.request("POST", "/validate" + query, data, TURTLE, timeout=180)


@pytest.fixture(scope="module")
def server(release_dir: Path) -> Iterator[Server]:
    """Default slots and memory cap; time enough for a validation on a loaded machine."""
    with serving(release_dir, rate_limit="0", validate_timeout="120") as running:
        yield running


def test_validations_beyond_the_slot_are_503_at_once_and_the_server_keeps_answering(
        server: Server) -> None:
    replies: list[Reply] = []
    lock = threading.Lock()

    def one() -> None:
        reply = validate(server)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=one) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    latencies = []
    while any(thread.is_alive() for thread in threads):
        health = server.request("GET", "/health", timeout=30)
        query = server.query(f"# {time.monotonic_ns()}\nASK {{ ?s ?p ?o }}", timeout=30)
        assert health.status == 200 and query.status == 200, (health, query)
        latencies += [health.seconds, query.seconds]
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [200] + [503] * (CLIENTS - 1), [(r.status, r.text) for r in replies]
    for reply in replies:
        if reply.status == 503:
            assert reply.headers.get("retry-after") == "5" and reply.seconds < PROMPT, reply
            assert "another validation is running" in reply.text
        else:
            assert json.loads(reply.body)["conforms"] is True
    assert latencies and max(latencies) < PROMPT, sorted(latencies)[-5:]


def test_a_validation_over_its_memory_is_503_and_the_next_one_works(server: Server) -> None:
    hungry = validate(server, HUNGRY)
    assert hungry.status == 503, hungry.text
    assert "more than its 1024 MB of memory" in hungry.text, hungry.text
    assert server.request("GET", "/health").status == 200
    after = validate(server)  # with the reasoner, at the default cap
    assert after.status == 200 and json.loads(after.body)["conforms"] is True, after.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
            _is_java(pid) for pid in descendants(server.process.pid)):
        time.sleep(0.2)
    assert not [pid for pid in descendants(server.process.pid) if _is_java(pid)]


def _is_java(pid: int) -> bool:
    try:
        return alive(pid) and Path(f"/proc/{pid}/comm").read_text().strip() == "java"
    except OSError:
        return False


def test_validations_count_against_the_rate_limit(release_dir: Path) -> None:
    with serving(release_dir, rate_limit="1", rate_burst="2") as limited:
        unusable = b"ex:a ex:b ex:c ."  # refused by the parser, after the limiter counted it
        first, second = validate(limited, unusable), validate(limited, unusable)
        assert (first.status, second.status) == (400, 400), (first.text, second.text)
        third = validate(limited, unusable)
        assert third.status == 429 and int(third.headers["retry-after"]) >= 1, third.text
        assert limited.query("ASK { ?s ?p ?o }").status == 429  # the same bucket
        assert limited.request("GET", "/validate").status == 200  # the form stays free
