"""A remote SPARQL 1.1 server as the store: ``hodo serve --backend`` and ``hodo publish``.

The app reads its data through a few methods of ``pyoxigraph.Store`` (``query``,
``quads_for_pattern``, ``named_graphs``); ``RemoteStore`` answers the same calls over the SPARQL
1.1 Protocol, so pages, search, the term API and ``/sparql`` work unchanged on either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class BackendError(Exception):
    """The remote server failed (HTTP 502) or did not answer in time (HTTP 504)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


class RemoteStore:
    """The subset of ``pyoxigraph.Store`` the app uses, answered by a remote server."""


@dataclass(frozen=True)
class PublishReport:
    """What ``publish_release`` sent."""

    url: str
    graphs: dict[str, int]

    def describe(self) -> str:
        """Lines for the terminal."""
        lines = [f"published to {self.url}:"]
        lines += [f"  {iri}  {count} triples" for iri, count in sorted(self.graphs.items())]
        return "\n".join(lines)


def open_remote_release(url: str, dist: Path | None = None):  # type: ignore[no-untyped-def]
    """The release as served by the remote query endpoint ``url``.

    Raises:
        ReleaseError: the server does not answer, or holds no HODO release.
    """
    raise NotImplementedError


def publish_release(dist: Path | None, url: str, *, token: str | None = None) -> PublishReport:
    """PUT every named graph of the release to the Graph Store endpoint ``url``.

    Raises:
        ReleaseError: the release cannot be read.
        BackendError: the server refused or failed.
    """
    raise NotImplementedError
