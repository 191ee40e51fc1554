"""The release loaded into pyoxigraph, the engine every query runs on.

The release's named graphs are loaded as they are; queries see their union as the default
graph. Loading happens once, at start-up, and fails fast with a message naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from hodo import paths
from hodo.build import DATASET_FILE


class ReleaseError(Exception):
    """The release is missing or unreadable; the message names the file."""


class LoadError(Exception):
    """A file could not be loaded into an on-disk store; nothing half-written is left."""


@dataclass(frozen=True)
class Release:
    """A loaded release: its store, version and where it came from."""

    store: ox.Store
    version: str
    path: Path


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
    store = ox.Store()
    try:
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    except (SyntaxError, OSError, ValueError) as error:
        raise ReleaseError(f"{path}: cannot load the release: {error}") from error
    solutions = store.query(_VERSION_QUERY, use_default_graph_as_union=True)
    versions = [s["v"].value for s in solutions]  # type: ignore[union-attr]
    if not versions:
        raise ReleaseError(f"{path}: not a HODO release (no dataset version)")
    return Release(store, versions[0], path)


def open_release(config: Mapping[str, Any]) -> Release:
    """The release the server answers from, as the configuration says.

    ``HODO_BACKEND``: a remote SPARQL server (``hodo.remote``); ``HODO_STORE``: an on-disk
    store made by ``hodo load``, with the release's graphs beside its own; else the release
    file, in memory.

    Raises:
        ReleaseError: the release, store or backend cannot be used; the message says which.
    """
    dist = Path(config["HODO_DIST"]) if config.get("HODO_DIST") else None
    if config.get("HODO_BACKEND"):
        from hodo.remote import open_remote_release

        return open_remote_release(str(config["HODO_BACKEND"]), dist)
    if config.get("HODO_STORE"):
        return open_disk_release(Path(config["HODO_STORE"]), dist)
    return load_release(dist)


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


def load_files(files: Sequence[Path], store_dir: Path, *, dist: Path | None = None,
               replace: bool = False, on_progress: Callable[[int], None] | None = None
               ) -> LoadSummary:
    """Load ``files`` into a new on-disk store at ``store_dir``.

    ``on_progress`` is called with the number of input bytes read since its last call.

    Raises:
        LoadError: a file cannot be read or parsed, the store exists (without ``replace``),
            or the disk is full; no store is left at ``store_dir`` in a half-written state.
    """
    raise NotImplementedError


def open_disk_release(store_dir: Path, dist: Path | None = None) -> Release:
    """The on-disk store at ``store_dir``, with the release's graphs beside its own.

    Raises:
        ReleaseError: the store is missing, incomplete or unreadable, or the release is.
    """
    raise NotImplementedError
