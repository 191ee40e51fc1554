"""What a release is: its named graphs, its files and the checksums beside them.

The build writes a release (``hodo.pipeline.build``); the engine loads and serves one
(``hodo.engine``); both read these names from here.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyoxigraph as ox
from rdflib import URIRef

from hodo.core.errors import NotAvailable
from hodo.core.namespaces import BASE, HODO

ONTOLOGY_IRI = URIRef(BASE + "hodo.owl")

GRAPH_NAMES = ("ontology", "imports", "mappings", "findings", "inferred", "metadata")

#: Release artifacts: file name -> rdflib format of the union graph.
ARTIFACTS = {
    "hodo.ttl": "turtle",
    "hodo.owl": "xml",
    "hodo.jsonld": "json-ld",
    "hodo.nt": "nt",
}
DATASET_FILE = "hodo.nq"
#: The classes and object properties in OBO format, for tools that read no RDF.
OBO_FILE = "hodo.obo"
#: The JSON-LD context of HODO's prefix map, for clients that compact or expand HODO's CURIEs.
CONTEXT_FILE = "context.jsonld"
CHECKSUMS_FILE = "SHA256SUMS"
#: The release in other tools' exchange formats (``hodo.pipeline.exports``): KGX TSV and JSON
#: Lines, the findings as nanopublications (TriG), the Chinese layer as a Babelon table.
EXPORT_FILES = ("hodo_nodes.tsv", "hodo_edges.tsv", "hodo_nodes.jsonl", "hodo_edges.jsonl",
                "hodo.nanopubs.trig", "hodo-zh.babelon.tsv")
#: The SHACL shapes travel with the release, each as ``shapes-<file>``, so a downloaded release
#: can be validated by the very shapes it was checked with.
SHAPES_PREFIX = "shapes-"
#: The one statement of a release's version in its ``hodo.nq``, read without parsing the rest.
VERSION_SUBJECT = "<https://w3id.org/hodo/dataset> <http://purl.org/dc/terms/hasVersion> "


class ReleaseError(NotAvailable):
    """The release is missing or unreadable; the message names the file."""


def read_checksums(dist: Path) -> dict[str, str]:
    """``SHA256SUMS`` of a release folder as file name -> hex digest; empty when it is missing.

    Raises:
        OSError, UnicodeDecodeError: it cannot be read.
        ValueError: a line is not ``<sha256>  <file>`` (the message names the line).
    """
    sums = dist / CHECKSUMS_FILE
    if not sums.exists():
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64 or not set(digest) <= set("0123456789abcdef"):
            raise ValueError(f"line {number} is not `<sha256>  <file>`")
        found[name.strip()] = digest
    return found


def version_iri(version: str) -> URIRef:
    """The IRI of one release of the ontology, its ``owl:versionIRI``: the release's files are
    served under it (``releases/<version>/<file>``)."""
    return HODO[f"releases/{version}/hodo.owl"]


def graph_iri(name: str) -> URIRef:
    """The IRI of a named graph of the release."""
    return HODO[f"graph/{name}"]


# ---------------------------------------------------------------------------------------------
# Earlier releases

#: What changed since the previous release, for people (Markdown) and programs (JSON); the
#: build writes both into every release.
CHANGELOG_FILE = "CHANGELOG.md"
#: The changelog for people in each language HODO speaks, English first.
CHANGELOG_FILES = {"en": CHANGELOG_FILE, "zh": "CHANGELOG.zh.md"}
CHANGELOG_JSON = "changelog.json"


@dataclass(frozen=True)
class EarlierRelease:
    """A release kept in the folder of earlier releases: ``<folder>/<version>/``.

    ``date`` and ``counts`` (changes of each kind since the release before it) come from its
    ``changelog.json``; a release without one has neither. ``files`` are those it may serve:
    what its ``SHA256SUMS`` lists, and that list.
    """

    version: str
    path: Path
    date: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    first: bool = False
    files: frozenset[str] = frozenset()


def earlier_releases(folder: Path | None) -> list[EarlierRelease]:
    """The releases in ``folder``, newest first (by date, then version); each is a subfolder
    named by its version that holds a ``SHA256SUMS``. None or a missing folder holds none.

    Nothing is checked but the changelog's form: a server uses :func:`verified_releases`.
    """
    if folder is None or not folder.is_dir():
        return []
    found = [_earlier(path) for path in folder.iterdir()
             if path.is_dir() and (path / CHECKSUMS_FILE).is_file()]
    return sorted(found, key=lambda r: (r.date, _version_key(r.version)), reverse=True)


def verified_releases(folder: Path | None) -> tuple[EarlierRelease, ...]:
    """The releases in ``folder`` as :func:`earlier_releases` lists them, each checked whole:
    a server serves an earlier release's files under its version IRI, so what it cannot
    verify it must not serve.

    Raises:
        ReleaseError: a release's ``hodo.nq`` states another version than its folder's name,
            or states none; its ``SHA256SUMS`` cannot be read; a file it lists is missing or
            has another digest. The message names the folder or the file.
    """
    return tuple(_verified(release) for release in earlier_releases(folder))


def _verified(release: EarlierRelease) -> EarlierRelease:
    stated = stated_version(release.path / DATASET_FILE)
    if stated != release.version:
        raise ReleaseError(f"{release.path}: the folder is named {release.version}, but the "
                           f"release in it is version {stated}; name it by its version")
    try:
        listed = read_checksums(release.path)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ReleaseError(f"{release.path / CHECKSUMS_FILE}: cannot be read: {error}") from None
    for name, digest in listed.items():
        path = release.path / name
        found = sha256_regular(path) if Path(name).name == name and path.exists() else None
        if found is None:  # missing, outside the folder, or no regular file (a link, a FIFO)
            raise ReleaseError(f"{path}: listed in {CHECKSUMS_FILE} but not in the release")
        if found != digest:
            raise ReleaseError(f"{path}: its SHA-256 is not the one {CHECKSUMS_FILE} lists")
    return EarlierRelease(release.version, release.path, release.date, release.counts,
                          release.first, frozenset([*listed, CHECKSUMS_FILE]))


_DIGESTS: dict[tuple[int, int, int, int, int], str] = {}


def sha256_regular(path: Path) -> str | None:
    """The file's SHA-256, or None when it is not a regular file. Opened without following a
    symbolic link and without blocking on a FIFO, and checked on the open descriptor, so
    nothing swapped in between the check and the read is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            return None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None
    identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    with os.fdopen(fd, "rb") as file:
        if identity not in _DIGESTS:
            if len(_DIGESTS) >= 256:
                _DIGESTS.clear()
            _DIGESTS[identity] = digest_of(file)
        return _DIGESTS[identity]


def digest_of(file: IO[bytes]) -> str:
    """SHA-256 of what is left to read in ``file``, a megabyte at a time (releases are large)."""
    digest = hashlib.sha256()
    while chunk := file.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def stated_version(path: Path) -> str:
    """The version a release's ``hodo.nq`` states, read from its one version statement, not
    the whole file.

    Raises:
        ReleaseError: the file is missing, unreadable, or states no version.
    """
    try:
        with path.open(encoding="utf-8") as lines:
            line = next((line for line in lines if line.startswith(VERSION_SUBJECT)), None)
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
        raise ReleaseError(f"{path}: release file not found or unreadable ({reason}); "
                           "run `hodo build` first") from None
    if line is None:
        raise ReleaseError(f"{path}: not a HODO release (no dataset version)")
    try:
        quad = next(iter(ox.parse(line, format=ox.RdfFormat.N_QUADS)))
    except (SyntaxError, StopIteration):
        raise ReleaseError(f"{path}: unreadable dataset version: {line.strip()}") from None
    return str(quad.object.value)


def _earlier(path: Path) -> EarlierRelease:
    """One earlier release, described by its changelog when it has a readable one."""
    try:
        data = json.loads((path / CHANGELOG_JSON).read_text(encoding="utf-8"))
        new = data["new"]
        counts = {str(k): int(v) for k, v in data["counts"].items()}
        return EarlierRelease(path.name, path, str(new["date"]), counts, bool(data.get("first")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return EarlierRelease(path.name, path)


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """``0.10.0`` after ``0.9.1``: numeric parts compare as numbers.

    >>> sorted(["0.10.0", "0.9.1", "0.9"], key=_version_key)
    ['0.9', '0.9.1', '0.10.0']
    """
    return tuple((int(part), "") if part.isdigit() else (-1, part)
                 for part in version.split("."))
