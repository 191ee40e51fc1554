"""The release loaded into pyoxigraph, the engine every query runs on.

The release's named graphs are loaded as they are; queries see their union as the default
graph. Loading happens once, at start-up, and fails fast with a message naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from hodo import paths
from hodo.build import DATASET_FILE


class ReleaseError(Exception):
    """The release is missing or unreadable; the message names the file."""


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
