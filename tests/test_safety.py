"""Query safety without a server: refusals on the parsed query, result caps, the worker pool."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hodo.core.slots import ProcessSlots
from hodo.engine.query import (
    MAX_NESTING,
    MAX_QUERY_BYTES,
    Limits,
    QueryError,
    ResultTooLarge,
    execute,
    keywords,
    precheck,
    refuse_unsafe,
)
from hodo.engine.store import Release
from hodo.engine.workers import (
    _FRAME,
    PoolSettings,
    TaskRefused,
    Unavailable,
    WorkerPool,
    _cap_cpu,
    _receive,
    _send,
    run_boxed,
)
from tests.support.queries import BOMB, FAST, SERVICE_SPELLINGS, SLOW

UPDATES = {
    "load-file": "LOAD <file:///etc/passwd>",
    "load-into": "LOAD SILENT <http://127.0.0.1:9/x> INTO GRAPH <http://g>",
    "insert-data": "INSERT DATA { <http://a> <http://b> <http://c> }",
    "delete-where": "DELETE WHERE { ?s ?p ?o }",
    "clear": "CLEAR ALL",
    "drop": "DROP DEFAULT",
    "escaped": "\\u0049NSERT DATA { <http://a> <http://b> <http://c> }",
}

HODO_GRAPH = "https://w3id.org/hodo/graph/findings"


@pytest.mark.parametrize("query", SERVICE_SPELLINGS.values(), ids=SERVICE_SPELLINGS.keys())
def test_service_is_refused_in_every_spelling(query: str) -> None:
    with pytest.raises(QueryError) as caught:
        refuse_unsafe(query)
    if caught.value.reason == "unreadable":  # hidden where only the engine would read it
        assert "cannot be checked" in str(caught.value)
    else:
        assert caught.value.reason == "service"
        assert "SERVICE is not allowed" in str(caught.value)


@pytest.mark.parametrize("query", UPDATES.values(), ids=UPDATES.keys())
def test_updates_are_refused(query: str) -> None:
    with pytest.raises(QueryError) as caught:
        refuse_unsafe(query)
    assert caught.value.reason == "update"


@pytest.mark.parametrize("query", [
    "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    "SELECT * FROM NAMED <http://127.0.0.1:9/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "PREFIX e: <http://127.0.0.1:9/> SELECT * FROM e:g WHERE { ?s ?p ?o }",
    "SELECT * FROM <relative> WHERE { ?s ?p ?o }",
    "SELECT * FROM undeclared:g WHERE { ?s ?p ?o }",
    f"SELECT * FROM <{HODO_GRAPH}> FROM <http://elsewhere/g> WHERE {{ ?s ?p ?o }}",
    "SELECT * \\u0046ROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    "SELECT * FROMNAMED<http://127.0.0.1:9/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "PREFIX e: <http://127.0.0.1:9/> SELECT * frome:g WHERE { ?s ?p ?o }",
], ids=["file", "named", "prefixed", "relative", "undeclared-prefix", "one-outside",
        "escaped", "glued-named", "glued-prefixed"])
def test_datasets_outside_hodo_are_refused(query: str) -> None:
    with pytest.raises(QueryError) as caught:
        refuse_unsafe(query, allowed_graphs={HODO_GRAPH})
    assert caught.value.reason == "dataset"
    assert "not allowed" in str(caught.value)


@pytest.mark.parametrize("query", [
    f"SELECT * FROM <{HODO_GRAPH}> WHERE {{ ?s ?p ?o }}",
    f"PREFIX g: <{HODO_GRAPH[:-8]}> SELECT * FROM NAMED g:findings WHERE {{ ?s ?p ?o }}",
], ids=["iri", "prefixed"])
def test_datasets_of_hodo_may_be_named(query: str) -> None:
    refuse_unsafe(query, allowed_graphs={HODO_GRAPH})
    with pytest.raises(QueryError):
        refuse_unsafe(query)  # no graph is allowed unless the caller says so


@pytest.mark.parametrize("query", [
    'SELECT * WHERE { ?s ?p "service from load insert" }',
    "PREFIX ex: <http://x/> SELECT ?service WHERE { ?service ex:from ex:load }",
    "SELECT * WHERE { ?s <http://x/service> ?o } # SERVICE <http://x> in a comment",
    "SELECT * WHERE { ?s ?p ?o FILTER(langMatches(lang(?o), 'zh')) } LIMIT 1",
], ids=["string", "names", "iri-and-comment", "ordinary"])
def test_words_in_strings_names_and_comments_are_not_keywords(query: str) -> None:
    refuse_unsafe(query)


def test_keywords_skip_strings_iris_variables_and_prefixed_names() -> None:
    text = 'SELECT ?from WHERE { ?from ex:service "load" ; <http://x/drop> ?o @en }'
    assert keywords(text) == {"select", "where"}


@pytest.mark.parametrize("text", [
    '"left open\nSELECT * WHERE { SERVICE <http://a> {} }',
    "SELECT * WHERE { ?s ?p ?o.SERVICE <http://a> {} }",
    "SELECT * WHERE { ?s a true.SERVICE <http://a> {} }",
    "a." * 2000 + " SERVICE <http://a> {}",
], ids=["open-string", "after-dot", "after-keyword-dot", "long-run"])
def test_keyword_scan_sees_past_odd_tokens(text: str) -> None:
    assert "service" in keywords(text)


@pytest.mark.parametrize("opener", ["(", "{", "["])
def test_deep_nesting_is_refused_before_any_parser(opener: str) -> None:
    with pytest.raises(QueryError) as caught:
        precheck("SELECT * WHERE { FILTER" + opener * 5000)
    assert caught.value.reason == "too_deep"


def test_nesting_up_to_the_limit_is_checked_by_both_readings() -> None:
    depth = MAX_NESTING - 2
    query = "SELECT * WHERE { FILTER(" + "(" * depth + "1" + ")" * depth + ") }"
    precheck(query)
    refuse_unsafe(query)


def test_oversized_query_is_refused() -> None:
    with pytest.raises(QueryError) as caught:
        precheck("#" * (MAX_QUERY_BYTES + 1))
    assert caught.value.reason == "too_large"


# --------------------------------------------------------------------------------------------
# Result caps


ALL_TRIPLES = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"


@pytest.mark.parametrize("query", [ALL_TRIPLES, "CONSTRUCT WHERE { ?s ?p ?o }"],
                         ids=["select", "construct"])
def test_row_cap_refuses_the_whole_result(release: Release, query: str) -> None:
    with pytest.raises(ResultTooLarge) as caught:
        execute(release.store, query, limits=Limits(max_rows=10))
    assert caught.value.reason == "result_rows"
    assert "more than 10 rows" in str(caught.value)


def test_byte_cap_refuses_the_whole_result(release: Release) -> None:
    with pytest.raises(ResultTooLarge) as caught:
        execute(release.store, ALL_TRIPLES + " LIMIT 50", limits=Limits(max_bytes=2000))
    assert caught.value.reason == "result_bytes"


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv", "turtle", "jsonld"])
def test_results_under_the_cap_are_unchanged(release: Release, fmt: str) -> None:
    query = ALL_TRIPLES + " ORDER BY ?s ?p ?o LIMIT 40"
    if fmt in ("turtle", "jsonld"):
        query = ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(isIRI(?s)) } "
                 "ORDER BY ?s ?p ?o LIMIT 40")
    capped = execute(release.store, query, format_name=fmt, limits=Limits(max_rows=40))
    plain = execute(release.store, query, format_name=fmt)
    assert capped.body == plain.body
    assert capped.body


#: Three rows whose literals hold line breaks and tabs: the row count must not see them.
MULTILINE = ('SELECT ?x WHERE { VALUES ?x { "a\\nb" "c\\r\\nd\\te" """f\ng""" } }')


@pytest.mark.parametrize(("cap", "refused"), [(3, False), (2, True)])
def test_row_cap_counts_rows_not_lines(release: Release, cap: int, refused: bool) -> None:
    if refused:
        with pytest.raises(ResultTooLarge):
            execute(release.store, MULTILINE, format_name="json", limits=Limits(max_rows=cap))
        return
    capped = execute(release.store, MULTILINE, format_name="json", limits=Limits(max_rows=cap))
    assert capped.body == execute(release.store, MULTILINE, format_name="json").body


#: Two rows whose values hold what JSON and CSV rows begin with: the bound the written bytes
#: give passes the cap, and the exact count must then decide.
MARKERS = 'SELECT ?x WHERE { VALUES ?x { "a,{b,{c[{d" """e\\r\\nf\ng""" } }'
#: Two triples; a literal long enough that the bytes pass a cap of two.
TRIPLES = 'CONSTRUCT { <urn:s> <urn:p> ?x } WHERE { VALUES ?x { "a,{b;c.d" "e\\nf. ;" } }'


@pytest.mark.parametrize("fmt", ["json", "csv", "xml", "tsv", "turtle", "ntriples"])
def test_a_result_of_many_chunks_is_counted_exactly(release: Release, fmt: str) -> None:
    """The engine writes in 8 KiB chunks: a result at the cap over many of them is whole, one
    row more is refused."""
    rows = 3000
    template = ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT %d" if fmt in ("turtle", "ntriples")
                else ALL_TRIPLES + " LIMIT %d")
    capped = execute(release.store, template % rows, format_name=fmt, limits=Limits(rows))
    assert capped.body == execute(release.store, template % rows, format_name=fmt).body
    with pytest.raises(ResultTooLarge):
        execute(release.store, template % (rows + 1), format_name=fmt, limits=Limits(rows))


@pytest.mark.parametrize("fmt", ["json", "csv", "xml", "tsv", "turtle", "ntriples"])
@pytest.mark.parametrize(("cap", "refused"), [(2, False), (1, True)])
def test_row_cap_is_exact_whatever_the_values_hold(release: Release, fmt: str, cap: int,
                                                  refused: bool) -> None:
    query = TRIPLES if fmt in ("turtle", "ntriples") else MARKERS
    if refused:
        with pytest.raises(ResultTooLarge) as caught:
            execute(release.store, query, format_name=fmt, limits=Limits(max_rows=cap))
        assert caught.value.reason == "result_rows"
        return
    capped = execute(release.store, query, format_name=fmt, limits=Limits(max_rows=cap))
    assert capped.body == execute(release.store, query, format_name=fmt).body


# --------------------------------------------------------------------------------------------
# The worker pool, forked from this process

@pytest.fixture(params=[False, True], ids=["forked-here", "spawner"])
def pool(release: Release, request: pytest.FixtureRequest) -> Iterator[WorkerPool]:
    """A pool whose children are forked by this process, or by a spawner (several threads)."""
    workers = WorkerPool(release.store, PoolSettings(size=1, deadline=1.5, slow_after=0.2,
                                                     memory_bytes=256 * 2**20))
    workers.start(threaded=request.param)
    yield workers
    workers.close()


def _ask(pool: WorkerPool) -> bool:
    return bool(json.loads(pool.run(FAST, {"format_name": "json"}).body)["boolean"])


def test_pool_answers_like_execute(pool: WorkerPool, release: Release) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert pool.run(query, {"format_name": "csv"}).body == \
        execute(release.store, query, format_name="csv").body


def test_pool_reports_query_errors(pool: WorkerPool) -> None:
    with pytest.raises(QueryError) as caught:
        pool.run("SELECT ?x WHERE {", {})
    assert caught.value.reason == "syntax"
    with pytest.raises(ResultTooLarge):
        pool.run(ALL_TRIPLES, {"limits": {"max_rows": 5, "max_bytes": None}})
    assert _ask(pool)


def test_overrun_is_stopped_at_the_deadline_and_replaced(pool: WorkerPool) -> None:
    before = pool.pids()
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        pool.run(SLOW, {})
    elapsed = time.monotonic() - started
    assert caught.value.reason == "timeout"
    assert 1.5 <= elapsed < 2.5
    assert pool.pids() != before and len(pool.pids()) == 1
    assert not _pid_exists(before[0])
    assert _ask(pool)


def test_a_child_killed_mid_query_is_replaced(pool: WorkerPool) -> None:
    victim = pool.pids()[0]
    threading.Timer(0.3, os.kill, (victim, signal.SIGKILL)).start()
    with pytest.raises(Unavailable) as caught:
        pool.run(SLOW, {})
    assert caught.value.reason == "crash"
    assert "SIGKILL" in str(caught.value)
    assert _ask(pool)


def test_a_child_killed_while_idle_is_replaced(pool: WorkerPool) -> None:
    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    # died while idle: wait until the kernel has ended it (on a loaded machine that can take
    # longer than any fixed pause), as it has by the time a later request comes
    deadline = time.monotonic() + 10
    while not _has_ended(victim) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _has_ended(victim)
    assert _ask(pool)
    assert victim not in pool.pids()


def _cpu_cap(pid: int) -> int:
    """The soft limit on CPU seconds the kernel holds for ``pid``."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max cpu time"):
            return int(line.split()[3])
    raise AssertionError("no CPU limit line")


def test_a_query_worker_may_use_little_more_cpu_than_the_deadline(pool: WorkerPool) -> None:
    """An orphan that outlived its parent is stopped by the kernel a little past the deadline
    (1.5 s here): the cap is the CPU time already used, plus the deadline, plus 2 s."""
    assert _ask(pool)
    (pid,) = pool.pids()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    assert _cpu_cap(pid) == int(used) + 2 + 2


def test_the_cpu_cap_follows_the_time_used_and_is_set_only_when_it_changes() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            first = _cap_cpu(3.0)
            same = _cap_cpu(3.0, first)
            set_first = resource.getrlimit(resource.RLIMIT_CPU)[0]
            start = int(sum(os.times()[:2]))
            while int(sum(os.times()[:2])) == start:  # burn up to a second of CPU time
                pass
            later = _cap_cpu(3.0, same)
            set_later = resource.getrlimit(resource.RLIMIT_CPU)[0]
            os.write(write, json.dumps([start, first, same, set_first, later,
                                        set_later]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        start, first, same, set_first, later, set_later = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert first == same == set_first == start + 3 + 2
    assert later == set_later == first + 1


def test_memory_bomb_is_contained(pool: WorkerPool) -> None:
    with pytest.raises(Unavailable) as caught:
        pool.run(BOMB, {})
    assert caught.value.reason == "crash"
    assert _ask(pool)


def test_slow_queries_beyond_the_slots_are_stopped(release: Release) -> None:
    slots = ProcessSlots(1)
    held = slots.claim()
    assert held is not None and slots.claim() is None
    workers = WorkerPool(release.store, PoolSettings(size=1, deadline=5, slow_after=0.2))
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable) as caught:
            workers.run(SLOW, {}, slots)
        assert caught.value.reason == "overloaded"
        assert time.monotonic() - started < 2.0  # stopped at slow_after, not the deadline
        assert workers.run(FAST, {}, slots).body  # a fast query needs no slot
    finally:
        workers.close()
        slots.release(held)
    assert slots.held() == 0


def test_a_slot_of_a_dead_process_is_taken_back() -> None:
    slots = ProcessSlots(1)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only claims and exits
        slots.claim()
        os._exit(0)
    os.waitpid(pid, 0)
    assert slots.held() == 1
    assert slots.claim() is not None


@pytest.mark.parametrize("threaded", [False, True])
def test_close_leaves_no_child(release: Release, threaded: bool) -> None:
    before = _children_of(os.getpid())  # other tests' pools may live on in this process
    workers = WorkerPool(release.store, PoolSettings(size=2))
    workers.start(threaded=threaded)
    children = workers.pids()
    assert len(children) == 2
    workers.close()
    assert not any(_pid_exists(pid) for pid in children)
    assert _children_of(os.getpid()) - before == set()  # nor the spawner


def _children_of(pid: int) -> set[int]:
    """Live (not zombie) children of ``pid``, from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                found.add(int(entry))
    return found


def test_a_threaded_pool_forks_its_children_from_a_spawner(release: Release) -> None:
    """Its children are the spawner's, not this process's; this process has the spawner alone
    for child; and one thread's slow query leaves the other child free for fast ones."""
    before = _children_of(os.getpid())  # other tests' pools may live on in this process
    workers = WorkerPool(release.store, PoolSettings(size=2, deadline=1.5, slow_after=1.0))
    workers.start(threaded=True)
    outcome: list[Unavailable] = []

    def slow() -> None:
        try:
            workers.run(SLOW, {})
        except Unavailable as error:
            outcome.append(error)

    try:
        (spawner,) = _children_of(os.getpid()) - before
        assert _children_of(spawner) == set(workers.pids())
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.2)
        asked = time.monotonic()
        assert _ask(workers)
        assert time.monotonic() - asked < 1.0  # not held up until the slow one's deadline
        thread.join()
        assert [error.reason for error in outcome] == ["timeout"]
        assert _children_of(spawner) == set(workers.pids()) and len(workers.pids()) == 2
    finally:
        workers.close()
    assert _children_of(os.getpid()) - before == set()


def _has_ended(pid: int) -> bool:
    """The process is gone or a zombie waiting to be reaped (Linux ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_threaded_pool_outlives_its_spawner(release: Release) -> None:
    """A spawner killed from outside is replaced when the pool next needs a child: queries go
    on being answered, by children of the new spawner."""
    before = _children_of(os.getpid())
    workers = WorkerPool(release.store, PoolSettings(size=1, deadline=1.5))
    workers.start(threaded=True)
    try:
        (first,) = _children_of(os.getpid()) - before
        os.kill(first, signal.SIGKILL)
        (child,) = workers.pids()
        os.kill(child, signal.SIGKILL)  # so the next query needs a new child
        time.sleep(0.1)
        assert _ask(workers)
        (second,) = _children_of(os.getpid()) - before  # the first is reaped, not a zombie
        assert second != first
        assert _children_of(second) == set(workers.pids())
    finally:
        workers.close()


def test_a_stopped_spawner_holds_no_query_and_is_replaced_within_its_timeout(
        release: Release) -> None:
    """A spawner that does not answer (SIGSTOP) costs no query anything while its workers
    live: a query never asks it (an idle worker's pipe tells whether it runs). Once it is
    needed, to reap a worker that died and fork another, it is given its timeout, then killed
    with its workers and replaced, and the query is answered by the new spawner's worker."""
    before = _children_of(os.getpid())
    timeout = 2.0
    workers = WorkerPool(release.store, PoolSettings(size=2, spawner_timeout=timeout))
    workers.start(threaded=True)
    try:
        (stopped,) = _children_of(os.getpid()) - before
        old_workers = set(workers.pids())
        os.kill(stopped, signal.SIGSTOP)
        started = time.monotonic()
        assert _ask(workers)
        assert time.monotonic() - started < timeout  # the spawner was not waited for
        for pid in old_workers:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(not _has_ended(pid) for pid in old_workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        assert _ask(workers)
        assert time.monotonic() - started < timeout + 3  # its timeout, then a new one
        assert not _pid_exists(stopped)  # killed and reaped
        (replacement,) = _children_of(os.getpid()) - before
        assert replacement != stopped
        assert _ask(workers)  # the pool fills up again, from the new spawner
        assert _children_of(replacement) == set(workers.pids()) and len(workers.pids()) == 2
        assert not set(workers.pids()) & old_workers
    finally:
        workers.close()
    assert _children_of(os.getpid()) - before == set()


@pytest.mark.parametrize("threaded", [False, True])
def test_recycled_children_see_a_changed_store(threaded: bool) -> None:
    import pyoxigraph as ox

    store = ox.Store()
    workers = WorkerPool(store, PoolSettings(size=1))
    workers.start(threaded=threaded)
    try:
        query = {"format_name": "json"}
        assert b"false" in workers.run(FAST, query).body
        store.add(ox.Quad(ox.NamedNode("http://a"), ox.NamedNode("http://b"),
                          ox.Literal("c")))
        assert b"false" in workers.run(FAST, query).body  # forked before the change
        old = workers.pids()
        workers.recycle()
        assert workers.pids() != old
        assert b"true" in workers.run(FAST, query).body
    finally:
        workers.close()


# --------------------------------------------------------------------------------------------
# One task in a box (a curator's update, an upload's parse)

BOX = PoolSettings(size=1, deadline=2.0, memory_bytes=128 * 2**20)


def test_a_boxed_task_answers_and_changes_only_its_own_copy() -> None:
    staged = {"n": 1}

    def task() -> tuple[dict[str, object], bytes]:
        staged["n"] = 2
        return {"seen": staged["n"]}, b"body"

    assert run_boxed(task, BOX) == ({"seen": 2}, b"body")
    assert staged == {"n": 1}


def test_a_boxed_task_that_refuses_its_input_says_why() -> None:
    def task() -> tuple[dict[str, object], bytes]:
        raise TaskRefused("line 3: bad")

    with pytest.raises(TaskRefused, match="line 3: bad"):
        run_boxed(task, BOX)


def test_a_boxed_task_past_its_deadline_is_killed() -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable) as stopped:
        run_boxed(lambda: (time.sleep(30), ({}, b""))[1], BOX)  # type: ignore[func-returns-value]
    assert stopped.value.reason == "timeout" and time.monotonic() - started < 5


def test_a_boxed_task_that_dies_is_a_crash_not_an_answer() -> None:
    with pytest.raises(Unavailable) as failed:
        run_boxed(lambda: os._exit(3), BOX)
    assert failed.value.reason == "crash"


def test_a_boxed_task_cannot_open_a_socket_or_a_file(tmp_path: Path) -> None:
    import socket

    def task() -> tuple[dict[str, object], bytes]:
        outcomes = []
        for attempt in (lambda: socket.create_connection(("127.0.0.1", 9), timeout=1),
                        lambda: open(tmp_path / "written", "w")):  # noqa: SIM115
            try:
                attempt()
                outcomes.append("opened")
            except OSError as error:
                outcomes.append(type(error).__name__)
        return {"outcomes": outcomes}, b""

    header, _ = run_boxed(task, BOX)
    assert "opened" not in header["outcomes"], header
    assert not (tmp_path / "written").exists()


def test_a_boxed_task_ends_on_its_own_clock_whatever_its_parent_does() -> None:
    """Its parent may die before the deadline: the child's own alarm is set, in whole seconds
    a little past the deadline."""
    header, _ = run_boxed(lambda: ({"alarm": signal.alarm(0)}, b""), BOX)
    assert 0 < int(header["alarm"]) <= BOX.deadline + 2  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------
# The framing between a web worker and its query workers


def _pipe() -> tuple[int, int]:
    ours, theirs = socket.socketpair()
    return ours.detach(), theirs.detach()


def test_a_message_is_read_whole_in_one_piece_or_many() -> None:
    """A small message comes in one read; one larger than the socket's buffer arrives in
    pieces while the other side is still writing it, and is read whole all the same."""
    ours, theirs = _pipe()
    try:
        _send(theirs, {"format": "json"}, b"small")
        assert _receive(ours, 5.0) == ({"format": "json"}, b"small")
        big = os.urandom(3 * 2**20)
        writer = threading.Thread(target=_send, args=(theirs, {"n": 1}, big))
        writer.start()
        assert _receive(ours, 5.0) == ({"n": 1}, big)
        writer.join()
    finally:
        os.close(ours)
        os.close(theirs)


@pytest.mark.parametrize("damage", ["surplus", "cut", "silent"])
def test_a_broken_message_is_no_message(damage: str) -> None:
    """Bytes past the length announced (the other side broke the protocol), a message cut off
    by the other side's end, and one that does not come within the time given: each is None,
    which the pool takes for its worker's crash, never a message read in part."""
    ours, theirs = _pipe()
    closed = False
    try:
        frame = _FRAME.pack(2, 3) + b"{}" + b"abc"
        if damage == "surplus":
            os.write(theirs, frame + b"more")
        elif damage == "cut":
            os.write(theirs, frame[:-1])
            os.close(theirs)
            closed = True
        started = time.monotonic()
        assert _receive(ours, 0.3) is None
        assert time.monotonic() - started < 2
    finally:
        os.close(ours)
        if not closed:
            os.close(theirs)
