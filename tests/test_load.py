"""On-disk stores: `hodo load` (every input format, OBO conversion, graphs, progress, the
manifest, replacing, failures that leave nothing behind) and `hodo serve --store`."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from hodo.cli import _LoadMeter, main
from hodo.core import obo
from hodo.engine import store as store_module
from hodo.engine import workers
from hodo.engine.store import (
    EXTERNAL_GRAPHS,
    MANIFEST,
    LoadError,
    LoadSummary,
    ReleaseError,
    load_files,
    open_disk_release,
)
from hodo.web import create_app
from tests.support.server import HODO_CLI, serving

DATA = Path(__file__).parent / "data" / "load"
GOOD = ["plain.nt", "quads.nq", "turtle.ttl", "dataset.trig", "protege.owl", "document.jsonld",
        "mini.obo"]
HODO_TERM = "https://w3id.org/hodo/HODO_0000001"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def _graph(stem: str) -> str:
    return EXTERNAL_GRAPHS + stem


def _labels(store: ox.Store, graph: str) -> set[str]:
    query = f"SELECT ?l WHERE {{ GRAPH <{graph}> {{ ?s <{LABEL}> ?l }} }}"
    return {s["l"].value for s in store.query(query)}  # type: ignore[union-attr, index]


def _leftovers(folder: Path) -> list[str]:
    """Temporary folders of loads, which must never outlive them."""
    return [p.name for p in folder.iterdir() if ".loading-" in p.name or ".old-" in p.name]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The fixture files, plus a gzip-compressed one."""
    folder = tmp_path_factory.mktemp("inputs")
    files = [shutil.copy(DATA / name, folder / name) for name in GOOD]
    packed = folder / "packed.nt.gz"
    packed.write_bytes(gzip.compress(b'<http://example.org/gz/a> <%s> "from gzip" .\n'
                                     % LABEL.encode()))
    return [Path(f) for f in files] + [packed]


@pytest.fixture(scope="module")
def loaded(inputs: list[Path], release_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, LoadSummary, list[int]]:
    """A store of every fixture file, with the progress reported while loading it."""
    store_dir = tmp_path_factory.mktemp("stores") / "external"
    progress: list[int] = []
    summary = load_files(inputs, store_dir, dist=release_dir, on_progress=progress.append)
    return store_dir, summary, progress


def test_statements_are_counted_as_line_based_files_are_read(
        release_dir: Path, tmp_path: Path) -> None:
    big = _big_file(tmp_path / "big.nt", 30_000)  # 2.5 MB: several 1 MiB reads
    statements: list[int] = []
    summary = load_files([big], tmp_path / "s", dist=release_dir,
                         on_statements=statements.append)
    assert sum(statements) == summary.triples == 30_000
    assert len(statements) > 1  # reported as the file is read, not once at the end


def test_the_load_meter_shows_triples_per_second_where_they_are_counted() -> None:
    updates: list[tuple[int, str]] = []

    class Bar:
        def update(self, count: int, item: str) -> None:
            updates.append((count, item))

    meter = _LoadMeter(Bar())
    meter.read(2**20)
    assert updates[-1][0] == 2**20 and updates[-1][1].endswith("MiB/s")
    meter.counted(12_345)
    meter.read(10)
    assert re.fullmatch(r"12,345 triples, [\d,]+ triples/s", updates[-1][1])


@pytest.fixture(scope="module")
def disk_release(loaded: tuple[Path, LoadSummary, list[int]], release_dir: Path
                 ) -> ox.Store:
    return open_disk_release(loaded[0], release_dir).sparql_store


# --------------------------------------------------------------------------------------------
# Loading


@pytest.mark.parametrize(("stem", "label"), [
    ("plain", "from N-Triples"), ("quads", "in the file's own graph"), ("turtle", "从 Turtle"),
    ("dataset", "TriG default graph"), ("protege", "from RDF/XML with entities"),
    ("document", "from JSON-LD"), ("mini", "liver disease"), ("packed", "from gzip")])
def test_every_format_loads_into_a_graph_named_after_its_file(disk_release: ox.Store,
                                                              stem: str, label: str) -> None:
    assert label in _labels(disk_release, _graph(stem))


def test_quad_formats_keep_their_named_graphs(disk_release: ox.Store) -> None:
    assert _labels(disk_release, "http://example.org/graph/nq") == {"in a named graph"}
    assert _labels(disk_release, "http://example.org/graph/trig") == {"TriG named graph"}


def test_release_graphs_are_in_the_store_and_the_union_sees_both(disk_release: ox.Store) -> None:
    query = f"""SELECT ?hodo ?external WHERE {{
        <{HODO_TERM}> <{LABEL}> ?hodo .
        <http://example.org/nt/a> <{LABEL}> ?external }}"""
    rows = list(disk_release.query(query, use_default_graph_as_union=True))  # type: ignore[arg-type]
    assert rows and rows[0]["external"].value == "from N-Triples"  # type: ignore[index]
    assert disk_release.contains_named_graph(ox.NamedNode("https://w3id.org/hodo/graph/ontology"))


def test_progress_adds_up_to_the_input_and_the_summary_counts(
        loaded: tuple[Path, LoadSummary, list[int]], inputs: list[Path]) -> None:
    store_dir, summary, progress = loaded
    size = sum(p.stat().st_size for p in inputs)
    assert sum(progress) == size == summary.input_bytes
    assert all(step > 0 for step in progress)
    assert summary.files == len(inputs)
    assert summary.triples == 35  # the fixture files' triples, not the release's
    assert summary.disk_bytes == sum(p.stat().st_size for p in store_dir.iterdir())
    assert summary.store_dir == store_dir and "35 triples" in summary.describe()


def test_manifest_records_files_graphs_and_release(
        loaded: tuple[Path, LoadSummary, list[int]], inputs: list[Path], release_dir: Path
        ) -> None:
    manifest = json.loads((loaded[0] / MANIFEST).read_text(encoding="utf-8"))
    recorded = {Path(f["path"]).name: f for f in manifest["files"]}
    for path in inputs:
        assert recorded[path.name]["size"] == path.stat().st_size
        assert recorded[path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert recorded["quads.nq"]["graphs"] == ["http://example.org/graph/nq", _graph("quads")]
    assert manifest["graphs"][_graph("mini")] == 23
    release = (release_dir / "hodo.nq").read_bytes()
    assert manifest["release"]["sha256"] == hashlib.sha256(release).hexdigest()
    assert manifest["release"]["version"] and manifest["completed"]
    assert manifest["pyoxigraph"] == ox.__version__


def test_no_temporary_folder_is_left(loaded: tuple[Path, LoadSummary, list[int]]) -> None:
    assert _leftovers(loaded[0].parent) == []


def test_a_store_is_compacted_once_loaded_whole(release_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A bulk load leaves files a query must each search; the load compacts the store once
    everything is in it (the scale table of `make bench` measures what that saves)."""
    sizes: list[int] = []

    def compact(store: ox.Store) -> None:
        sizes.append(len(store))
        real(store)

    real = store_module._compact
    monkeypatch.setattr(store_module, "_compact", compact)
    load_files([DATA / "plain.nt"], tmp_path / "store", dist=release_dir)
    assert sizes == [len(ox.Store.read_only(str(tmp_path / "store")))]


# --------------------------------------------------------------------------------------------
# OBO


def _obo_triples() -> set[tuple[str, str, str]]:
    with (DATA / "mini.obo").open(encoding="utf-8") as lines:
        data = b"".join(obo.convert(lines))
    return {(t.subject.value, t.predicate.value, t.object.value)  # type: ignore[union-attr]
            for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)}


def test_obo_terms_become_owl_classes_the_obo_in_owl_way() -> None:
    triples = _obo_triples()
    term, oio = obo.OBO + "MINI_0000001", obo.OIO
    assert (term, obo.RDF_TYPE, obo.OWL + "Class") in triples
    assert (term, LABEL, "liver disease") in triples
    assert (term, obo.OBO + "IAO_0000115", 'A disease of the "liver".') in triples
    assert (term, oio + "hasExactSynonym", "hepatic disease") in triples
    assert (term, oio + "hasBroadSynonym", "liver disorder") in triples
    assert (term, oio + "hasRelatedSynonym", "hepatopathy") in triples
    assert (term, oio + "hasDbXref", "DOID:409") in triples
    child = obo.OBO + "MINI_0000002"
    assert (child, LABEL, "cholangitis") in triples  # the trailing comment is not the name
    assert (child, obo.RDFS + "subClassOf", term) in triples
    assert (child, obo.RDFS + "subClassOf", obo.OBO + "MINI_0000099") in triples
    old = obo.OBO + "MINI_0000003"
    assert (old, obo.OWL + "deprecated", "true") in triples
    assert (old, obo.OBO + "IAO_0100001", child) in triples


def test_obo_is_lenient_on_odd_stanzas() -> None:
    triples = _obo_triples()
    subjects = {s for s, _, _ in triples}
    assert subjects == {obo.OBO + "MINI_0000001", obo.OBO + "MINI_0000002",
                        obo.OBO + "MINI_0000003", obo.OBO + "mini#part_of"}
    assert not any("kept out" in o or "without an id" in o for _, _, o in triples)
    assert (obo.OBO + "mini#part_of", obo.RDF_TYPE, obo.OWL + "ObjectProperty") in triples


def test_obo_ids_become_purls() -> None:
    assert obo.iri("MONDO:0005154") == "http://purl.obolibrary.org/obo/MONDO_0005154"
    assert obo.iri("http://example.org/x y") == "http://example.org/x%20y"
    assert obo.iri("part_of", "ro") == "http://purl.obolibrary.org/obo/ro#part_of"


# --------------------------------------------------------------------------------------------
# Refusals and failures


def _cli_load(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["load", *map(str, args)])
    return result.exit_code, result.output


def test_an_existing_store_is_replaced_only_with_replace(release_dir: Path, tmp_path: Path
                                                         ) -> None:
    store_dir = tmp_path / "store"
    assert _cli_load("--dist", release_dir, "--store", store_dir, DATA / "plain.nt")[0] == 0
    code, output = _cli_load("--dist", release_dir, "--store", store_dir, DATA / "turtle.ttl")
    assert code == 2 and "--replace" in output and "Traceback" not in output
    assert _labels(open_disk_release(store_dir, release_dir).sparql_store, _graph("plain"))
    code, _ = _cli_load("--dist", release_dir, "--store", store_dir, "--replace",
                        DATA / "turtle.ttl")
    assert code == 0
    store = open_disk_release(store_dir, release_dir).sparql_store
    assert _labels(store, _graph("turtle")) == {"从 Turtle"}
    assert not _labels(store, _graph("plain"))
    assert _leftovers(tmp_path) == []


def test_replace_refuses_a_folder_that_is_not_a_store(release_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(LoadError, match="not a store made by `hodo load`"):
        load_files([DATA / "plain.nt"], tmp_path / "mine", dist=release_dir, replace=True)
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(("name", "expected"), [
    ("bad.ttl", "bad.ttl: line 4, column"),
    ("bomb.owl", "value must be plain text"),
    ("remote.jsonld", "remote JSON-LD contexts are not fetched"),
    ("broken.nt.gz", "broken.nt.gz: cannot read: Not a gzipped file"),
])
def test_a_bad_file_fails_with_exit_2_and_leaves_nothing(release_dir: Path, tmp_path: Path,
                                                         name: str, expected: str) -> None:
    store_dir = tmp_path / "store"
    code, output = _cli_load("--dist", release_dir, "--store", store_dir, DATA / "plain.nt",
                             DATA / name)
    message = output.strip().splitlines()[-1]
    assert code == 2 and message.startswith("error: ") and expected in message
    assert name in message and "Traceback" not in output
    assert not store_dir.exists() and _leftovers(tmp_path) == []


def test_unknown_extensions_and_clashing_names_are_refused(release_dir: Path, tmp_path: Path
                                                           ) -> None:
    with pytest.raises(LoadError, match="unknown extension"):
        load_files([DATA / "plain.nt", tmp_path / "x.csv"], tmp_path / "s", dist=release_dir)
    (tmp_path / "plain.ttl").write_bytes((DATA / "turtle.ttl").read_bytes())
    with pytest.raises(LoadError, match="same name"):
        load_files([DATA / "plain.nt", tmp_path / "plain.ttl"], tmp_path / "s",
                   dist=release_dir)
    assert not (tmp_path / "s").exists()


def test_a_file_may_not_write_into_hodos_own_graphs(release_dir: Path, tmp_path: Path) -> None:
    rogue = tmp_path / "rogue.nq"
    rogue.write_text(f'<http://x/a> <{LABEL}> "x" <https://w3id.org/hodo/graph/ontology> .\n',
                     encoding="utf-8")
    with pytest.raises(LoadError, match="HODO's own graph"):
        load_files([rogue], tmp_path / "s", dist=release_dir)
    assert not (tmp_path / "s").exists() and _leftovers(tmp_path) == []


def test_an_interrupted_load_leaves_nothing(release_dir: Path, tmp_path: Path) -> None:
    def interrupt(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(LoadError, match="interrupted"):
        load_files([DATA / "plain.nt"], tmp_path / "s", dist=release_dir, on_progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def _big_file(path: Path, triples: int) -> Path:
    with path.open("w", encoding="ascii") as out:
        for i in range(triples):
            out.write(f'<http://example.org/big/{i}> <{LABEL}> "term number {i} of many" .\n')
    return path


@contextmanager
def _small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """An 8 MiB tmpfs when this process may mount one (root); else None."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
            capture_output=True).returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _limit_file_size() -> None:
    """In the child: no file may grow past 2 MiB (EFBIG, since SIGXFSZ is ignored)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 2**20, 2 * 2**20))


def test_a_full_disk_leaves_nothing_and_keeps_the_old_store(release_dir: Path, tmp_path: Path
                                                            ) -> None:
    big = _big_file(tmp_path / "big.nt", 150_000)
    with _small_disk(tmp_path) as disk:
        folder = disk or tmp_path / "limited"
        folder.mkdir(exist_ok=True)
        store_dir = folder / "store"
        load_files([DATA / "plain.nt"], store_dir, dist=release_dir)
        before = (store_dir / MANIFEST).read_bytes()
        result = subprocess.run(
            [str(HODO_CLI), "load", "--dist", str(release_dir), "--store", str(store_dir),
             "--replace", str(big)], capture_output=True, text=True,
            preexec_fn=None if disk else _limit_file_size)
        assert result.returncode == 2, result.stderr
        message = result.stderr.strip().splitlines()[-1]
        assert "nothing was kept" in message and "Traceback" not in result.stderr
        assert ("disk is full" if disk else "grew beyond") in message
        assert (store_dir / MANIFEST).read_bytes() == before
        old = ox.Store.read_only(str(store_dir))  # not served: closed before the unmount
        assert _labels(old, _graph("plain"))
        del old
        assert _leftovers(folder) == []


# --------------------------------------------------------------------------------------------
# Opening a store


def test_a_folder_without_a_complete_manifest_is_refused(release_dir: Path, tmp_path: Path
                                                         ) -> None:
    with pytest.raises(ReleaseError, match="no store here"):
        open_disk_release(tmp_path / "missing", release_dir)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / MANIFEST).write_text('{"format": 1}', encoding="utf-8")
    with pytest.raises(ReleaseError, match="not a complete store"):
        open_disk_release(tmp_path / "half", release_dir)


def test_a_store_of_another_release_is_refused(loaded: tuple[Path, LoadSummary, list[int]],
                                               release_dir: Path, tmp_path: Path) -> None:
    changed = tmp_path / "dist"
    shutil.copytree(release_dir, changed)
    with (changed / "hodo.nq").open("a", encoding="utf-8") as release:
        release.write("# changed\n")
    with pytest.raises(ReleaseError, match="run `hodo load --replace` again"):
        open_disk_release(loaded[0], changed)


# --------------------------------------------------------------------------------------------
# Serving


def test_query_workers_of_a_disk_store_see_its_data(disk_release: ox.Store) -> None:
    pool = workers.WorkerPool(disk_release, workers.PoolSettings(size=2))
    try:
        query = f"SELECT ?l WHERE {{ <http://example.org/gz/a> <{LABEL}> ?l }}"
        for _ in range(3):
            result = pool.run(query, {"format_name": "csv"})
            assert result.body.decode().splitlines() == ["l", "from gzip"]
    finally:
        pool.close()


@pytest.mark.parametrize("store_file_at_3", [False, True])
def test_a_query_child_of_a_disk_store_can_open_no_socket(disk_release: ox.Store,
                                                          loaded: tuple[Path, LoadSummary,
                                                                        list[int]],
                                                          store_file_at_3: bool) -> None:
    """The child keeps the store's open files, may open no socket nor any file to write, and
    still answers from every file of the store (RocksDB opens some only when a query needs
    them: more than 16 here)."""
    assert len(list(loaded[0].glob("*.sst"))) > 16
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        parent.close()
        report = _boxed_child(disk_release, child.detach(), store_file_at_3, loaded[0])
        os._exit(0 if report == "ok" else 1)
    child.close()
    with parent:
        answer = parent.recv(4096).decode()
    _, status = os.waitpid(pid, 0)
    assert answer == "ok" and os.WEXITSTATUS(status) == 0


def _boxed_child(store: ox.Store, fd: int, store_file_at_3: bool, store_dir: Path) -> str:
    """Box this process in as a query worker is, then try to get out; what went wrong."""
    if store_file_at_3:  # a store's file at the number the pipe would take
        os.dup2(_a_store_descriptor(), workers.CHILD_FD)
    pipe = workers._box_in(fd, workers.PoolSettings(), os.path.realpath(store_dir))
    problems = []
    for name, attempt in [
            ("socket", lambda: socket.socket()),
            ("unix socket", lambda: socket.socket(socket.AF_UNIX)),
            ("socket pair", socket.socketpair),
            ("file to write", lambda: open(store_dir / "planted", "wb")),  # noqa: SIM115
            ("program", lambda: os.execv("/bin/true", ["true"]))]:
        try:
            attempt()
            problems.append(f"{name} opened")
        except OSError:
            pass
    rows = list(store.query(f"""SELECT ?s ?l WHERE {{ GRAPH ?g {{ ?s <{LABEL}> ?l }} }}"""))
    labels = {s["l"].value for s in rows}  # type: ignore[union-attr, index]
    if not {"from N-Triples", "from gzip", "liver disease"} <= labels:
        problems.append(f"query saw {sorted(labels)}")
    report = "; ".join(problems) or "ok"
    os.write(pipe, report.encode())
    return report


def _a_store_descriptor() -> int:
    for name in os.listdir("/proc/self/fd"):
        target = os.path.realpath(f"/proc/self/fd/{name}")
        if target.endswith(".sst"):
            return int(name)
    raise AssertionError("the store holds no open file")


def _get(url: str, accept: str = "*/*") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
@pytest.mark.server
def test_serve_store_answers_from_both(loaded: tuple[Path, LoadSummary, list[int]],
                                       release_dir: Path, server: str) -> None:
    query = f"""SELECT ?hodo ?obo WHERE {{ <{HODO_TERM}> <{LABEL}> ?hodo .
        <{obo.OBO}MINI_0000001> <{LABEL}> ?obo FILTER langMatches(lang(?hodo), "en") }}"""
    service = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
    with serving(release_dir, args=["--store", str(loaded[0]), "--server", server]) as running:
        url = running.url
        status, body = _get(f"{url}/sparql?query={urllib.parse.quote(query)}", "text/csv")
        assert status == 200 and body.splitlines()[1].endswith(",liver disease")
        status, body = _get(f"{url}/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert _get(f"{url}/HODO_0000001", "text/html")[0] == 200
        status, body = _get(f"{url}/sparql?query={urllib.parse.quote(service)}")
        assert status == 400 and "SERVICE" in body
        external = f"SELECT ?l FROM <{_graph('mini')}> WHERE {{ ?s <{LABEL}> ?l }}"
        status, body = _get(f"{url}/sparql?query={urllib.parse.quote(external)}", "text/csv")
        assert status == 200 and "liver disease" in body  # FROM may name a loaded graph


def test_the_site_reads_only_hodos_graphs(loaded: tuple[Path, LoadSummary, list[int]],
                                          release_dir: Path) -> None:
    """Pages, search and start-up tables stay the size of the release, whatever is loaded."""
    release = open_disk_release(loaded[0], release_dir)
    site = release.store
    assert not list(site.quads_for_pattern(None, None, ox.Literal("liver disease"), None))
    assert list(release.sparql_store.quads_for_pattern(None, None,
                                                       ox.Literal("liver disease"), None))
    graphs = {str(g.value) for g in site.named_graphs()}
    assert graphs and all(g.startswith("https://w3id.org/hodo/graph/") for g in graphs)
    assert not any("/external/" in g for g in graphs)
    union = f"SELECT ?l WHERE {{ ?s <{LABEL}> ?l }}"
    # the loaded file's plain literal (HODO's own "liver disease" labels carry a language)
    assert ox.Literal("liver disease") not in {s["l"] for s in site.query(
        union, use_default_graph_as_union=True)}
    app = create_app({"TESTING": True, "HODO_QUERY_WORKERS": 0}, release=release)
    with app.test_client() as client:
        hits = client.get("/api/search?q=liver%20disease").get_json()
        assert all("MINI_" not in doc["iri"] for doc in hits["response"]["docs"])


def test_serve_refuses_a_missing_store(release_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--dist", str(release_dir), "--store",
                                       str(tmp_path / "none")])
    assert result.exit_code == 2 and "hodo load" in result.output
