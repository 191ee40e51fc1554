"""Which store the server answers from: the release in memory, an on-disk store beside it, or a
remote SPARQL server; chosen by the settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hodo.core.settings import Settings
from hodo.engine.remote import open_remote_release
from hodo.engine.store import Release, check_release, load_release, open_disk_release


def open_release(config: Mapping[str, Any]) -> Release:
    """The release the server answers from, as the configuration says.

    ``HODO_BACKEND``: a remote SPARQL server (``hodo.engine.remote``); ``HODO_STORE``: an on-disk
    store made by ``hodo load``, with the release's graphs beside its own; else the release
    file, in memory.

    Raises:
        ReleaseError: the release, store or backend cannot be used; the message says which.
    """
    dist = Path(config["HODO_DIST"]) if config.get("HODO_DIST") else None
    release = _open(config, dist)
    # every file the release lists, which the server offers as downloads, whole and regular
    check_release(release.path.parent)
    return release


def _open(config: Mapping[str, Any], dist: Path | None) -> Release:
    if config.get("HODO_BACKEND"):
        settings = Settings.from_mapping(config)
        return open_remote_release(str(config["HODO_BACKEND"]), dist,
                                   timeout=settings.query_timeout,
                                   max_bytes=settings.max_result_bytes)
    if config.get("HODO_STORE"):
        return open_disk_release(Path(config["HODO_STORE"]), dist)
    return load_release(dist)
