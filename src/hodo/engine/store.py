"""The release loaded into pyoxigraph, the engine every query runs on.

The release's named graphs are loaded as they are; queries see their union as the default
graph. Loading happens once, at start-up, and fails fast with a message naming the file.

Large external ontologies go to an on-disk (RocksDB) store instead, made by ``hodo load``
beside a copy of the release's graphs and opened read-only to serve, so that millions of
triples are read from disk rather than held in memory.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pyoxigraph as ox

from hodo.core import paths
from hodo.core.errors import HodoError
from hodo.core.obo import convert
from hodo.core.rdfinput import _OX_POSITION, InputError, _base, check_xml_prolog
from hodo.core.release import (
    CHECKSUMS_FILE,
    DATASET_FILE,
    GRAPH_NAMES,
    ReleaseError,
    digest_of,
    graph_iri,
    read_checksums,
    sha256_regular,
)
from hodo.engine.workers import keep_store_files


class LoadError(HodoError):
    """A file could not be loaded into an on-disk store; nothing half-written is left."""


@dataclass(frozen=True)
class Release:
    """A loaded release: its store, version and where it came from.

    ``store`` is what the site reads (pages, search, the term API): the release's own graphs.
    ``endpoint``, when set, is what ``/sparql`` queries: those graphs and everything loaded
    beside them (``hodo load``); without it ``/sparql`` queries ``store`` too.
    """

    store: Any
    version: str
    path: Path
    endpoint: Any = None

    @property
    def sparql_store(self) -> Any:
        """The store public SPARQL queries run on."""
        return self.store if self.endpoint is None else self.endpoint


class OwnGraphs:
    """A store seen through HODO's own named graphs only.

    Beside millions of external triples the site still reads only the release: its start-up
    tables and search index stay the size of the release, and its pages the speed. Answers the
    calls the site makes of a ``pyoxigraph.Store``; a union default graph becomes the union of
    HODO's graphs, and ``GRAPH ?g`` ranges over them.
    """

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.graphs = [ox.NamedNode(str(graph_iri(name))) for name in GRAPH_NAMES]

    def query(self, query: str, *, use_default_graph_as_union: bool = False,
              default_graph: Any = None, named_graphs: Any = None, **options: Any) -> Any:
        if use_default_graph_as_union:
            default_graph = list(self.graphs)
        if named_graphs is None:
            named_graphs = list(self.graphs)
        return self.store.query(query, default_graph=default_graph, named_graphs=named_graphs,
                                **options)

    def quads_for_pattern(self, subject: Any, predicate: Any, object: Any,
                          graph_name: Any = None) -> Iterator[ox.Quad]:
        graphs = self.graphs if graph_name is None else [graph_name]
        for graph in graphs:
            yield from self.store.quads_for_pattern(subject, predicate, object, graph)

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        return (g for g in self.graphs if self.store.contains_named_graph(g))

    def contains_named_graph(self, graph: Any) -> bool:
        return graph in self.graphs and bool(self.store.contains_named_graph(graph))


_VERSION_QUERY = """
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?v WHERE { <https://w3id.org/hodo/dataset> dcterms:hasVersion ?v } LIMIT 1
"""


def load_release(dist: Path | None = None) -> Release:
    """Load ``hodo.nq`` from ``dist`` (default: the configured release folder).

    Raises:
        ReleaseError: the file is missing, unreadable or not valid N-Quads.
    """
    path = (dist or paths.dist_dir()) / DATASET_FILE
    if not path.is_file():
        raise ReleaseError(f"{path}: release file not found; run `hodo build` first")
    check_release_file(path)
    store = ox.Store()
    try:
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    except (SyntaxError, OSError, ValueError) as error:
        raise ReleaseError(f"{path}: cannot load the release: {one_line(error)}") from None
    solutions = store.query(_VERSION_QUERY, use_default_graph_as_union=True)
    versions = [s["v"].value for s in solutions]  # type: ignore[union-attr]
    if not versions:
        raise ReleaseError(f"{path}: not a HODO release (no dataset version)")
    return Release(store, versions[0], path)


def check_release_file(path: Path) -> None:
    """Refuse a release file that differs from the digest ``SHA256SUMS`` beside it states.

    A release file cut short at a line boundary still parses, and would be served as if it
    were whole; its digest tells. A release folder without ``SHA256SUMS``, or one that does not
    list the file, is not checked (a release assembled by hand).

    Raises:
        ReleaseError: ``SHA256SUMS`` cannot be read, or the file does not match it.
    """
    listed = _checksums(path.parent).get(path.name)
    if listed is None:
        return
    try:
        actual = sha256_regular(path)
    except OSError as error:
        raise ReleaseError(f"{path}: cannot read the release: {one_line(error)}") from None
    if actual != listed:
        raise _mismatch(path)


def check_release(dist: Path) -> None:
    """Refuse a release folder any file of which differs from what ``SHA256SUMS`` lists.

    Every listed file is checked, not only ``hodo.nq``: the server offers them all as
    downloads, and a truncated ``hodo.ttl`` would be served as the release. A listed name
    must be a regular file in the folder itself: a symbolic link (which could point anywhere),
    a folder or a FIFO (which would block the reader) is refused before it is opened. A folder
    without ``SHA256SUMS`` is not checked (a release assembled by hand).

    Raises:
        ReleaseError: ``SHA256SUMS`` cannot be read, or a listed file is missing, is not a
            regular file or does not match it; the message names the file.
    """
    sums = dist / CHECKSUMS_FILE
    for name, digest in sorted(_checksums(dist).items()):
        if name in ("", ".", "..") or "/" in name or "\\" in name:
            raise ReleaseError(f"{sums}: lists {name!r}, which is not a file of the release "
                               "folder; run `hodo build` again")
        path = dist / name
        try:
            actual = sha256_regular(path)
        except FileNotFoundError:
            raise ReleaseError(f"{path}: listed in {CHECKSUMS_FILE} but missing; build the "
                               "release again or restore the file") from None
        except OSError as error:
            raise ReleaseError(f"{path}: cannot read the release: {one_line(error)}") from None
        if actual is None:
            raise ReleaseError(f"{path}: listed in {CHECKSUMS_FILE} but not a regular file "
                               f"({_kind(path)}); build the release again or restore the "
                               "file")
        if actual != digest:
            raise _mismatch(path)


def _checksums(dist: Path) -> dict[str, str]:
    """``SHA256SUMS`` of ``dist`` (empty when there is none).

    Raises:
        ReleaseError: it cannot be read, or a line is not ``<sha256>  <file>``.
    """
    sums = dist / CHECKSUMS_FILE
    try:
        return read_checksums(dist)
    except (OSError, UnicodeDecodeError) as error:
        raise ReleaseError(f"{sums}: cannot read the release's checksums: "
                           f"{one_line(error)}; run `hodo build` again") from None
    except ValueError as error:
        raise ReleaseError(f"{sums}: {error}; the checksum list is damaged: run `hodo build` "
                           "again") from None


def _mismatch(path: Path) -> ReleaseError:
    return ReleaseError(f"{path}: does not match its SHA-256 in {CHECKSUMS_FILE} (cut short "
                        "or changed since `hodo build`); build the release again or restore "
                        "the file")


#: Digests this process has computed, by file identity (device, inode, size, change times):
#: start-up checks ``hodo.nq`` before loading it and then every file ``SHA256SUMS``
#: lists, and a file unchanged since is not read a second time.
def _kind(path: Path) -> str:
    """What stands at ``path`` instead of a regular file, in a word or two."""
    mode = os.lstat(path).st_mode
    for test, word in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "a device"


def one_line(error: BaseException) -> str:
    """An exception's message on one line (RocksDB's and parsers' may span several)."""
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__


@dataclass(frozen=True)
class LoadSummary:
    """What ``load_files`` did."""

    store_dir: Path
    files: int
    triples: int
    input_bytes: int
    disk_bytes: int
    seconds: float

    def describe(self) -> str:
        """One line for the terminal."""
        rate = self.triples / self.seconds if self.seconds else 0.0
        return (f"{self.store_dir}: {self.files} file(s), {self.triples:,} triples in "
                f"{self.seconds:.1f} s ({rate:,.0f} triples/s), "
                f"{self.disk_bytes / 2**20:,.1f} MiB on disk")


# --------------------------------------------------------------------------------------------
# On-disk stores: `hodo load` and `hodo serve --store`

#: Each loaded file's triples go to this base plus the file's name without its extensions.
EXTERNAL_GRAPHS = "https://w3id.org/hodo/graph/external/"
#: HODO's own graphs live here; a loaded file may not write into them.
HODO_GRAPHS = "https://w3id.org/hodo/graph/"
#: Written last, so a store folder without it is incomplete.
MANIFEST = "hodo-store.json"
MANIFEST_FORMAT = 1
#: Input formats by extension (after an optional ``.gz``); ``None`` is OBO, converted to RDF.
INPUT_FORMATS: dict[str, ox.RdfFormat | None] = {
    "nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "ttl": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG, "rdf": ox.RdfFormat.RDF_XML, "owl": ox.RdfFormat.RDF_XML,
    "xml": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD, "obo": None,
}
#: Formats with one statement per line, whose statements are counted as they are read; OBO
#: (``None``) is converted to N-Triples.
_LINE_FORMATS = (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS, None)
_GRAPH_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
#: Failures of a load that are the input's or the machine's fault, not a bug.
_EXPECTED = (OSError, SyntaxError, ValueError, EOFError, KeyboardInterrupt, LoadError,
             ReleaseError)


@dataclass(frozen=True)
class _Input:
    """One file to load: where, its format, whether gzip-compressed, and its graph."""

    path: Path
    fmt: ox.RdfFormat | None
    compressed: bool
    stem: str

    @property
    def graph(self) -> ox.NamedNode:
        return ox.NamedNode(EXTERNAL_GRAPHS + quote(self.stem, safe="-._~"))


def load_files(files: Sequence[Path], store_dir: Path, *, dist: Path | None = None,
               replace: bool = False, on_progress: Callable[[int], None] | None = None,
               on_statements: Callable[[int], None] | None = None) -> LoadSummary:
    """Load ``files`` into a new on-disk store at ``store_dir``, beside the release's graphs.

    The store is built in a temporary sibling folder, its manifest written last, and only
    then moved into place (swapped with the old one under ``replace``), so a reader never sees
    a half-written store. ``on_progress`` is called with the number of input bytes read since
    its last call; ``on_statements`` with the number of statements the parser was given since
    its last call, for the formats where that is known as they are read (one statement per line:
    N-Triples, N-Quads and the N-Triples an OBO file is converted to).

    Raises:
        LoadError: a file cannot be read or parsed, the store exists (without ``replace``),
            the disk is full or the load was interrupted; nothing half-written is left.
        ReleaseError: the release to load beside the files is missing.
    """
    started = time.monotonic()
    inputs = _inputs(files)
    release_file = (dist or paths.dist_dir()) / DATASET_FILE
    if not release_file.is_file():
        raise ReleaseError(f"{release_file}: release file not found; run `hodo build` first")
    check_release_file(release_file)
    _check_target(store_dir, replace)
    store_dir.parent.mkdir(parents=True, exist_ok=True)
    building = store_dir.parent / f".{store_dir.name}.loading-{secrets.token_hex(6)}"
    building.mkdir()
    try:
        manifest = _build(inputs, release_file, building, on_progress or _ignore,
                          on_statements or _ignore)
        _install(building, store_dir)
    except BaseException as error:
        _discard(building, error)
        if isinstance(error, LoadError | ReleaseError):
            raise
        if isinstance(error, _EXPECTED):
            raise LoadError(_failure(error)) from None
        raise
    return LoadSummary(store_dir, len(inputs), manifest["triples"],
                       sum(f["size"] for f in manifest["files"]), _disk_bytes(store_dir),
                       time.monotonic() - started)


def _inputs(files: Sequence[Path]) -> list[_Input]:
    """What to load, by extension; two files may not share a graph.

    Raises:
        LoadError: an unknown extension, or two files with the same name.
    """
    inputs: dict[str, _Input] = {}
    for path in files:
        suffixes = [s.lower().lstrip(".") for s in path.suffixes]
        compressed = bool(suffixes) and suffixes[-1] == "gz"
        ext = suffixes[-2 if compressed else -1] if len(suffixes) > compressed else ""
        if ext not in INPUT_FORMATS:
            raise LoadError(f"{path}: unknown extension; load "
                            + ", ".join(f".{e}" for e in INPUT_FORMATS) + " (or .gz of them)")
        stem = path.name[: -len(ext) - 1 - (3 if compressed else 0)]
        if stem in inputs:
            raise LoadError(f"{path}: same name as {inputs[stem].path}; each file gets a graph "
                            f"named after it ({EXTERNAL_GRAPHS}{stem}): rename one")
        inputs[stem] = _Input(path, INPUT_FORMATS[ext], compressed, stem)
    return list(inputs.values())


def _check_target(store_dir: Path, replace: bool) -> None:
    """Refuse to overwrite anything but a store made by ``hodo load``, and that only on
    ``replace``."""
    if not store_dir.exists():
        return
    if not replace:
        raise LoadError(f"{store_dir} exists; give --replace to replace it")
    if not store_dir.is_dir() or not ((store_dir / MANIFEST).is_file()
                                      or not any(store_dir.iterdir())):
        raise LoadError(f"{store_dir} is not a store made by `hodo load`; not replacing it")


def _ignore(_: int) -> None:
    """A progress report nobody asked for."""


def _build(inputs: list[_Input], release_file: Path, folder: Path,
           on_progress: Callable[[int], None], on_statements: Callable[[int], None]
           ) -> dict[str, Any]:
    """Load everything into a store at ``folder``, close it and write its manifest."""
    store = ox.Store(str(folder))
    try:
        records = [_load_input(store, item, on_progress, on_statements) for item in inputs]
        store.bulk_load(path=str(release_file), format=ox.RdfFormat.N_QUADS)
        version = _version(store, release_file)
        counts = {str(s["g"].value): int(s["n"].value)  # type: ignore[union-attr]
                  for s in store.query(_GRAPH_COUNTS)}  # type: ignore[union-attr]
        store.flush()
        _compact(store)
    finally:
        del store  # closes the database before the folder is moved or removed
    manifest = {
        "format": MANIFEST_FORMAT,
        "files": records,
        "graphs": counts,
        "triples": sum(n for g, n in counts.items() if not _is_hodo_graph(g)),
        "release": {"version": version, "file": str(release_file),
                    "sha256": _sha256(release_file)},
        "pyoxigraph": ox.__version__,
        "completed": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_durably(folder / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
    return manifest


def _compact(store: ox.Store) -> None:
    """Compact the store once it is loaded: a bulk load leaves its data in many overlapping
    files, each of which every lookup then searches. Over 10^7 triples a join ran seven
    times faster compacted (370 against 54 ms), for 19 s more of loading."""
    store.optimize()


def _load_input(store: ox.Store, item: _Input, on_progress: Callable[[int], None],
                on_statements: Callable[[int], None]) -> dict[str, Any]:
    """Bulk-load one file into its graph; what the manifest records of it."""
    if item.fmt == ox.RdfFormat.RDF_XML:
        with _opened(item) as prolog:
            try:
                check_xml_prolog(prolog, str(item.path))  # type: ignore[arg-type]
            except InputError as error:
                raise LoadError(str(error)) from None
    before = set(store.named_graphs())
    with item.path.open("rb", buffering=0) as raw:
        reader = _Reader(raw, on_progress)
        stream = _decompressed(io.BufferedReader(reader, 1 << 20), item)
        if item.fmt is None:
            stream = _obo_ntriples(stream)
        if item.fmt in _LINE_FORMATS:
            stream = io.BufferedReader(_LineCounter(stream, on_statements), 1 << 20)
        try:
            store.bulk_load(input=stream, format=item.fmt or ox.RdfFormat.N_TRIPLES,
                            to_graph=item.graph, base_iri=_base(str(item.path)))
        except SyntaxError as error:
            raise LoadError(f"{item.path}: {_syntax(error, item)}") from None
        except (ValueError, EOFError) as error:
            raise LoadError(f"{item.path}: not valid {_format_name(item)}: {error}") from None
        except OSError as error:
            if _is_write_error(error):
                raise
            raise LoadError(f"{item.path}: cannot read: {error}") from None
        reader.drain()
    added = sorted(g.value for g in set(store.named_graphs()) - before
                   if isinstance(g, ox.NamedNode))
    if invaded := [g for g in added if _is_hodo_graph(g)]:
        raise LoadError(f"{item.path}: writes to HODO's own graph {invaded[0]}; only the "
                        "release may")
    return {"path": str(item.path), "size": reader.size, "sha256": reader.digest.hexdigest(),
            "graphs": added}


class _Reader(io.RawIOBase):
    """A file read through by a parser: counts and hashes the bytes, reports progress."""

    def __init__(self, raw: io.RawIOBase, on_progress: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._on_progress = on_progress
        self.size = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer) or 0
        if count:
            self.size += count
            self.digest.update(memoryview(buffer)[:count])
            self._on_progress(count)
        return count

    def drain(self) -> None:
        """Read what the parser left (trailing bytes), so the size and digest are the file's."""
        chunk = bytearray(1 << 20)
        while self.readinto(chunk):
            pass


class _LineCounter(io.RawIOBase):
    """A line-based stream (one statement per line) that reports the lines read so far.

    Counting newlines in each chunk is C speed; handing the parser's triples back to Python to
    count them would double the load time.
    """

    def __init__(self, stream: IO[bytes], on_statements: Callable[[int], None]) -> None:
        super().__init__()
        self._stream = stream
        self._on_statements = on_statements

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        if data:
            buffer[:len(data)] = data
            self._on_statements(data.count(b"\n"))
        return len(data)


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte strings (the converted OBO triples)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, None)  # type: ignore[arg-type,assignment]
            if self._pending is None:
                self._pending = b""
                return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _decompressed(stream: IO[bytes], item: _Input) -> IO[bytes]:
    if item.compressed:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


@contextmanager
def _opened(item: _Input) -> Iterator[IO[bytes]]:
    """The file's (decompressed) bytes, read without counting them as progress."""
    with item.path.open("rb") as raw:
        yield _decompressed(raw, item)


def _obo_ntriples(stream: IO[bytes]) -> IO[bytes]:
    """N-Triples converted from an OBO file as it is read (never the whole file in memory)."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
    return io.BufferedReader(_Chunks(convert(text)), 1 << 20)


def _format_name(item: _Input) -> str:
    return "OBO" if item.fmt is None else item.fmt.name


def _syntax(error: SyntaxError, item: _Input) -> str:
    """``line L, column C: what`` from the parser's message, when it gives a position."""
    message = _OX_POSITION.sub("", " ".join(str(error.msg or error).split()))
    if "LoadDocumentCallback" in message:
        message = "remote JSON-LD contexts are not fetched: put the @context in the document"
    where = f"line {error.lineno}, column {error.offset or 1}: " if error.lineno else ""
    converted = " (of the N-Triples converted from it)" if item.fmt is None else ""
    return f"{where}{message}{converted}"


def _failure(error: BaseException) -> str:
    """One line for a failed load that was not the parser's doing."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted; nothing was kept"
    text = " ".join(str(error).split()) or type(error).__name__
    if getattr(error, "errno", None) == errno.ENOSPC or "No space left" in text:
        return f"the disk is full; nothing was kept ({text})"
    if getattr(error, "errno", None) == errno.EFBIG or "File too large" in text:
        return f"a file grew beyond what this system allows; nothing was kept ({text})"
    return f"cannot write the store; nothing was kept ({text})"


def _is_write_error(error: OSError) -> bool:
    """Whether the store failed to write (full disk ...), rather than the input to read.

    RocksDB's errors reach Python as plain OSErrors whose message starts with "IO error".
    """
    return error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or str(error).startswith(
        "IO error")


def _version(store: ox.Store, release_file: Path) -> str:
    solutions = store.query(_VERSION_QUERY, use_default_graph_as_union=True)
    versions = [s["v"].value for s in solutions]  # type: ignore[union-attr]
    if not versions:
        raise ReleaseError(f"{release_file}: not a HODO release (no dataset version)")
    return str(versions[0])


def _is_hodo_graph(iri: str) -> bool:
    return iri.startswith(HODO_GRAPHS) and not iri.startswith(EXTERNAL_GRAPHS)


def _install(building: Path, store_dir: Path) -> None:
    """Move the finished store into place; an old one is swapped out whole, then removed."""
    if not store_dir.exists():
        os.rename(building, store_dir)
    elif _exchange(building, store_dir):
        shutil.rmtree(building, ignore_errors=True)  # now the old store
    else:
        old = building.with_name(building.name.replace(".loading-", ".old-"))
        os.rename(store_dir, old)
        try:
            os.rename(building, store_dir)
        except BaseException:
            os.rename(old, store_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    _fsync_folder(store_dir.parent)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2``); False where that is unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                 rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    code = ctypes.get_errno()
    raise OSError(code, os.strerror(code), str(second))


def _discard(building: Path, error: BaseException) -> None:
    """Remove the temporary folder of a failed load, once the store in it is closed."""
    if isinstance(error, _EXPECTED):
        # the traceback's frames hold the open store; free them so that it closes first
        error.__traceback__ = None
        gc.collect()
    shutil.rmtree(building, ignore_errors=True)


def _write_durably(path: Path, data: bytes) -> None:
    with path.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return digest_of(file)


def _disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def read_manifest(store_dir: Path) -> dict[str, Any]:
    """The manifest of a complete store.

    Raises:
        ReleaseError: no store there, or an incomplete one (no readable manifest).
    """
    if not store_dir.is_dir():
        raise ReleaseError(f"{store_dir}: no store here; make one with `hodo load`")
    try:
        manifest = json.loads((store_dir / MANIFEST).read_text(encoding="utf-8"))
        if not (isinstance(manifest["release"]["sha256"], str) and manifest["completed"]
                and isinstance(manifest["files"], list)):
            raise ValueError("incomplete manifest")
    except (OSError, ValueError, KeyError, TypeError):
        raise ReleaseError(f"{store_dir}: not a complete store made by `hodo load` (no "
                           f"readable {MANIFEST}); run `hodo load` again") from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ReleaseError(f"{store_dir}: made by another version of `hodo load`; run it again")
    return manifest  # type: ignore[no-any-return]


def open_disk_release(store_dir: Path, dist: Path | None = None) -> Release:
    """The on-disk store at ``store_dir``, with the release's graphs beside its own.

    Opened read-only: the store is never written while served, and query workers share its
    open files. A store is refused when the release has changed since it was loaded, since
    HODO's graphs in it would be stale.

    Raises:
        ReleaseError: the store is missing, incomplete or unreadable, the release is missing,
            or the release differs from the one the store was loaded with.
    """
    manifest = read_manifest(store_dir)
    release_file = (dist or paths.dist_dir()) / DATASET_FILE
    if not release_file.is_file():
        raise ReleaseError(f"{release_file}: release file not found; run `hodo build` first")
    loaded = manifest["release"]
    if loaded["sha256"] != _sha256(release_file):
        raise ReleaseError(f"{store_dir}: loaded beside HODO {loaded.get('version')}, but "
                           f"{release_file} has changed since; run `hodo load --replace` "
                           "again")
    check_release_file(release_file)
    try:
        # RocksDB reports a damaged store (a file cut short, a garbled MANIFEST) as a
        # RuntimeError ("Corruption: ..."), a missing file as an OSError
        store = ox.Store.read_only(str(store_dir))
        version = _version(store, release_file)
    except (OSError, RuntimeError) as error:
        raise ReleaseError(f"{store_dir}: cannot open the store, it is damaged or "
                           f"incomplete: {one_line(error)}; run `hodo load --replace` "
                           "again") from None

    keep_store_files(store, store_dir)
    return Release(OwnGraphs(store), version, release_file, endpoint=store)
