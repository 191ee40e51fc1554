"""Downloads: every release file, the shapes and the mappings, with checksums that hold."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.core import paths
from hodo.core.release import CHECKSUMS_FILE, read_checksums
from hodo.engine.store import Release
from hodo.pipeline.mappings import MAPPINGS_FILE

SHAPES = sorted(p.name for p in paths.SHAPES_DIR.glob("*.ttl"))


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _release_files(release_dir: Path) -> list[str]:
    """The release's files, shapes last (the listing's order)."""
    names = sorted(p.name for p in release_dir.iterdir() if p.is_file())
    return [n for n in names if not n.startswith("shapes-")] + [
        n for n in names if n.startswith("shapes-")]


def _listing(client: FlaskClient) -> dict[str, dict[str, object]]:
    response = client.get("/downloads.json")
    assert response.status_code == 200
    return {f["name"]: f for f in response.get_json()["files"]}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_page_lists_every_file(client: FlaskClient, release_dir: Path, release: Release,
                               lang: str) -> None:
    response = client.get(f"/downloads?lang={lang}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    names = _release_files(release_dir)
    assert MAPPINGS_FILE in names and SHAPES
    assert {f"shapes-{s}" for s in SHAPES} <= set(names)
    for name in names:
        assert f'data-name="{name}"' in text
        assert f'href="/downloads/{name}"' in text
    assert release.version in text
    assert f"https://w3id.org/hodo/releases/{release.version}/hodo.owl" in text
    assert 'href="https://creativecommons.org/licenses/by/4.0/"' in text


def test_json_listing_shape(client: FlaskClient, release: Release, release_dir: Path) -> None:
    body = client.get("/downloads.json").get_json()
    assert body["version"] == release.version
    assert body["versionIRI"].endswith(f"/{release.version}/hodo.owl")
    assert set(body) == {"version", "versionIRI", "ontology", "license", "files",
                         "earlierReleases"}
    assert body["earlierReleases"] == []  # HODO_RELEASES unset: none held
    names = [f["name"] for f in body["files"]]
    assert names == _release_files(release_dir)
    for item in body["files"]:
        assert set(item) == {"name", "url", "kind", "mediaType", "size", "sha256",
                             "listedSha256", "verified", "description"}
        assert item["verified"] is True
        assert item["url"].endswith(f"/downloads/{item['name']}")


def test_bytes_hash_to_the_listed_checksum(client: FlaskClient, release_dir: Path) -> None:
    sums = read_checksums(release_dir)
    for name, item in _listing(client).items():
        response = client.get(f"/downloads/{name}")
        assert response.status_code == 200
        digest = hashlib.sha256(response.data).hexdigest()
        assert digest == item["sha256"] and len(response.data) == item["size"]
        assert response.headers["ETag"] == f'"{digest}"'
        assert f'filename="{name}"' in response.headers["Content-Disposition"]
        if name != CHECKSUMS_FILE:
            assert sums[name] == digest, "every file but the sums themselves is in SHA256SUMS"
    shape = _listing(client)[f"shapes-{SHAPES[0]}"]
    assert shape["kind"] == "shapes"
    on_disk = (paths.SHAPES_DIR / SHAPES[0]).read_bytes()
    assert shape["sha256"] == hashlib.sha256(on_disk).hexdigest()


@pytest.mark.parametrize(("name", "media_type"), [
    ("hodo.ttl", "text/turtle"), ("hodo.owl", "application/rdf+xml"),
    ("hodo.jsonld", "application/ld+json"), ("hodo.nt", "application/n-triples"),
    ("hodo.nq", "application/n-quads"), ("context.jsonld", "application/ld+json"),
    (MAPPINGS_FILE, "text/tab-separated-values"), (CHECKSUMS_FILE, "text/plain"),
    (f"shapes-{SHAPES[0]}", "text/turtle")])
def test_content_types(client: FlaskClient, name: str, media_type: str) -> None:
    response = client.get(f"/downloads/{name}")
    assert response.status_code == 200
    assert response.mimetype == media_type


def test_conditional_get(client: FlaskClient) -> None:
    first = client.get("/downloads/hodo.ttl")
    etag = first.headers["ETag"]
    again = client.get("/downloads/hodo.ttl", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/downloads/hodo.ttl", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    assert client.get("/downloads/hodo.ttl", headers={"If-None-Match": "*"}).status_code == 304


TRAVERSALS = [
    "../hodo.ttl", "..%2fhodo.ttl", "..%2Fhodo.ttl", "%2e%2e/hodo.ttl", "%2e%2e%2fhodo.ttl",
    "%252e%252e%252fhodo.ttl", "..\\hodo.ttl", "..%5chodo.ttl", "%5c..%5chodo.ttl",
    "/etc/passwd", "%2fetc%2fpasswd", "//etc/passwd", "C:%5cWindows%5cwin.ini",
    "hodo.ttl%00", "hodo.ttl%00.txt", "%00", "./hodo.ttl", ".%2fhodo.ttl", "hodo.ttl/",
    "hodo.ttl/..", "shapes/article.ttl", "shapes-..%2f..%2fpyproject.toml",
    "../../pyproject.toml", "..%2f..%2fpyproject.toml", "HODO.TTL", "hodo.ttl.tmp",
    "%2e%2e%2f%2e%2e%2fsrc%2fhodo%2fdocs.py", "..%c0%afhodo.ttl", "~/hodo.ttl", "",
    "shapes-examples", "README.md",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_is_404(client: FlaskClient, name: str) -> None:
    response = client.get(f"/downloads/{name}")
    assert response.status_code == 404, name


def test_only_listed_names_are_read(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name not in the list never reaches the file system."""
    opened: list[Path] = []
    original = Path.read_bytes

    def spy(self: Path) -> bytes:
        opened.append(self)
        return original(self)

    client.get("/downloads.json")
    monkeypatch.setattr(Path, "read_bytes", spy)
    for name in TRAVERSALS:
        client.get(f"/downloads/{name}")
    assert opened == []
