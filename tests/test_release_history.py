"""Releases with a history: two releases built from copies of the sources, the second after one
small edit; its changelog lists exactly that edit, and a server holding both serves each at its
version IRI and lists the earlier one on /downloads."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from hodo.cli import main
from hodo.core import paths
from hodo.core.release import (
    CHANGELOG_FILE,
    CHANGELOG_FILES,
    CHANGELOG_JSON,
    CHECKSUMS_FILE,
    ONTOLOGY_IRI,
    EarlierRelease,
    ReleaseError,
    earlier_releases,
    read_checksums,
    version_iri,
)
from hodo.pipeline.build import build, previous_release
from hodo.pipeline.sources import InputError
from hodo.web import create_app
from hodo.web.docs import changelog_file
from tests.support.net import free_port

FIRST, SECOND = "0.1.0", "0.9.0"
#: The one edit between the two releases: a new English label of one term.
TERM = "https://w3id.org/hodo/HODO_0000100"
OLD_LABEL, NEW_LABEL = '"mechanism"@en', '"biological mechanism"@en'


@dataclass(frozen=True)
class History:
    releases: Path  # the folder of earlier releases, holding the first
    dist: Path  # the second, current release


def sources(tmp: Path, version: str, date: str, edit: bool) -> Path:
    """A copy of ontology/ with the header's version and date set (and the one edit)."""
    copy = tmp / f"ontology-{version}"
    shutil.copytree(paths.ONTOLOGY_DIR, copy)
    edited = copy / "hodo-edit.ttl"
    text = edited.read_text(encoding="utf-8")
    text = text.replace('owl:versionInfo "0.1.0"', f'owl:versionInfo "{version}"')
    text = text.replace('dcterms:date "2026-12-05"', f'dcterms:date "{date}"')
    if edit:
        assert text.count(f"rdfs:label {OLD_LABEL}") == 1
        text = text.replace(f"rdfs:label {OLD_LABEL}", f"rdfs:label {NEW_LABEL}")
    edited.write_text(text, encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    tmp = tmp_path_factory.mktemp("history")
    releases = tmp / "releases"
    build(releases / FIRST, sources(tmp, FIRST, "2026-12-05", edit=False))
    previous = previous_release(releases, SECOND)
    assert previous == releases / FIRST
    build(tmp / "dist", sources(tmp, SECOND, "2026-12-06", edit=True), previous=previous)
    return History(releases, tmp / "dist")


pytestmark = pytest.mark.slow


def test_first_release_says_it_is_the_first(history: History) -> None:
    first = history.releases / FIRST
    assert "This is the first release of HODO" in (first / CHANGELOG_FILE).read_text("utf-8")
    assert "这是 HODO 的首个发布版本" in (first / CHANGELOG_FILES["zh"]).read_text("utf-8")
    data = json.loads((first / CHANGELOG_JSON).read_text(encoding="utf-8"))
    assert data["first"] is True and data["changes"] == []
    assert {CHANGELOG_FILE, CHANGELOG_JSON} <= set(read_checksums(first))


def test_changelog_lists_exactly_the_edit(history: History) -> None:
    data = json.loads((history.dist / CHANGELOG_JSON).read_text(encoding="utf-8"))
    assert data["first"] is False
    assert (data["old"], data["new"]) == ({"version": FIRST, "date": "2026-12-05"},
                                          {"version": SECOND, "date": "2026-12-06"})
    assert [(c["kind"], c["iri"], c["detail"], c["old"], c["new"]) for c in data["changes"]] == [
        ("term_relabelled", TERM, "en", ["mechanism"], ["biological mechanism"])]
    text = (history.dist / CHANGELOG_FILE).read_text(encoding="utf-8")
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert items == ["- ~ hodo:HODO_0000100 biological mechanism: \\[en\\] mechanism → "
                     "biological mechanism"]
    # the newest release first, then the history the previous changelog carried
    assert text.index(f"## HODO {SECOND} (2026-12-06)") < text.index(f"## HODO {FIRST}")


def test_the_chinese_changelog_lists_the_edit_in_chinese(history: History) -> None:
    text = (history.dist / CHANGELOG_FILES["zh"]).read_text(encoding="utf-8")
    assert text.startswith("# 更新日志\n")
    assert "### 从 0.1.0 (2026-12-05) 到 0.9.0 (2026-12-06) 的变更" in text
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == 1 and items[0].startswith("- ~ hodo:HODO_0000100 ")
    assert items[0].endswith(": \\[en\\] mechanism → biological mechanism")
    assert text.index(f"## HODO {SECOND} (2026-12-06)") < text.index(f"## HODO {FIRST}")
    assert "这是 HODO 的首个发布版本" in text  # the first release's section, in Chinese too


def test_second_release_names_its_prior_version(history: History) -> None:
    graph = Graph().parse(history.dist / "hodo.nt", format="nt")
    assert graph.value(ONTOLOGY_IRI, OWL.versionIRI) == version_iri(SECOND)
    assert graph.value(ONTOLOGY_IRI, OWL.priorVersion) == version_iri(FIRST)
    assert version_iri(SECOND) == URIRef(f"https://w3id.org/hodo/releases/{SECOND}/hodo.owl")


def test_a_previous_release_of_the_same_version_is_refused(history: History,
                                                           tmp_path: Path) -> None:
    with pytest.raises(InputError, match="raise owl:versionInfo"):
        build(tmp_path / "out", sources(tmp_path, FIRST, "2026-12-07", edit=False),
              previous=history.releases / FIRST)


@pytest.fixture(scope="module")
def app(history: History) -> Flask:
    return create_app({"TESTING": True, "HODO_DIST": history.dist,
                       "HODO_RELEASES": history.releases})


@pytest.fixture()
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as test_client:
        yield test_client


@pytest.mark.parametrize("version", [FIRST, SECOND])
@pytest.mark.parametrize("name", ["hodo.ttl", CHANGELOG_FILE, CHECKSUMS_FILE])
def test_each_release_is_served_at_its_version(client: FlaskClient, history: History,
                                               version: str, name: str) -> None:
    folder = history.releases / FIRST if version == FIRST else history.dist
    response = client.get(f"/releases/{version}/{name}")
    assert response.status_code == 200
    assert response.data == (folder / name).read_bytes()


@pytest.mark.parametrize("version", [FIRST, SECOND])
def test_version_iri_negotiates_its_own_release(client: FlaskClient, history: History,
                                                version: str) -> None:
    folder = history.releases / FIRST if version == FIRST else history.dist
    response = client.get(f"/releases/{version}/hodo.owl", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.data == (folder / "hodo.ttl").read_bytes()
    rdfxml = client.get(f"/releases/{version}/hodo.owl", headers={"Accept": "*/*"})
    assert rdfxml.data == (folder / "hodo.owl").read_bytes()


def test_a_browser_at_an_earlier_version_iri_goes_to_its_row(client: FlaskClient) -> None:
    response = client.get(f"/releases/{FIRST}/hodo.owl?lang=zh", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/downloads?lang=zh#release-{FIRST}")


@pytest.mark.parametrize("path", [f"/releases/{FIRST}/nothing.ttl", "/releases/0.0.1/hodo.ttl",
                                  f"/releases/{FIRST}/..", f"/releases/{FIRST}/hodo.ttl/x"])
def test_what_no_release_holds_is_not_found(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Earlier releases", "Terms relabelled"]), ("zh", ["早期版本", "首个版本"])])
def test_downloads_lists_the_earlier_release(client: FlaskClient, lang: str,
                                             words: list[str]) -> None:
    text = client.get(f"/downloads?lang={lang}").get_data(as_text=True)
    assert f'id="release-{FIRST}"' in text and f'id="release-{SECOND}"' not in text
    assert '<time datetime="2026-12-05">2026-12-05</time>' in text
    assert f'href="/releases/{FIRST}/{CHANGELOG_FILES[lang]}"' in text
    assert f"https://w3id.org/hodo/releases/{FIRST}/hodo.owl" in text
    assert words[0] in text
    # the current release's own changelog is one of its files
    assert f'href="/downloads/{CHANGELOG_FILE}"' in text


def test_downloads_json_lists_the_earlier_release(client: FlaskClient) -> None:
    body = client.get("/downloads.json").get_json()
    assert body["version"] == SECOND
    (earlier,) = body["earlierReleases"]
    assert earlier["version"] == FIRST and earlier["date"] == "2026-12-05"
    assert earlier["first"] is True
    assert earlier["versionIRI"] == f"https://w3id.org/hodo/releases/{FIRST}/hodo.owl"
    assert earlier["changelog"].endswith(f"/releases/{FIRST}/{CHANGELOG_FILE}")
    assert {lang: url.rsplit("/", 1)[1] for lang, url in earlier["changelogs"].items()} == \
        CHANGELOG_FILES


@pytest.mark.parametrize(("files", "lang", "shown"), [
    ({"CHANGELOG.md", "CHANGELOG.zh.md"}, "zh", "CHANGELOG.zh.md"),
    ({"CHANGELOG.md", "CHANGELOG.zh.md"}, "en", "CHANGELOG.md"),
    ({"CHANGELOG.md"}, "zh", "CHANGELOG.md"),  # built before HODO wrote it in Chinese
    (set(), "zh", None)])
def test_the_downloads_page_links_the_changelog_in_its_language(
        files: set[str], lang: str, shown: str | None) -> None:
    release = EarlierRelease("0.1.0", Path("releases/0.1.0"), files=frozenset(files))
    assert changelog_file(release, lang) == shown


def test_earlier_releases_newest_first(history: History) -> None:
    shutil.copytree(history.dist, history.releases / SECOND, dirs_exist_ok=True)
    try:
        found = earlier_releases(history.releases)
        assert [(r.version, r.date) for r in found] == [(SECOND, "2026-12-06"),
                                                        (FIRST, "2026-12-05")]
        assert found[0].counts["term_relabelled"] == 1 and not found[0].first
        assert previous_release(history.releases, SECOND) == history.releases / FIRST
    finally:
        shutil.rmtree(history.releases / SECOND)


# ---- an earlier release is served only when it is what it says it is ---------------------------

def _misnamed(first: Path) -> str:
    first.rename(first.with_name("0.2.0"))
    return "is named 0.2.0, but the release in it is version 0.1.0"


def _changed(first: Path) -> str:
    with (first / "hodo.ttl").open("ab") as stream:
        stream.write(b"\n")
    return "hodo.ttl: its SHA-256 is not the one SHA256SUMS lists"


def _missing(first: Path) -> str:
    (first / "hodo.obo").unlink()
    return "hodo.obo: listed in SHA256SUMS but not in the release"


def _linked(first: Path) -> str:
    """The listed bytes, but through a link: what a link names may change after the check."""
    real = first.parent.parent / "hodo.obo"
    (first / "hodo.obo").rename(real)
    (first / "hodo.obo").symlink_to(real)
    return "hodo.obo: listed in SHA256SUMS but not in the release"


def _outside(first: Path) -> str:
    secret = first.parent.parent / "secret.txt"
    secret.write_text("not a release file", encoding="utf-8")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    with (first / CHECKSUMS_FILE).open("a", encoding="utf-8") as sums:
        sums.write(f"{digest}  ../../secret.txt\n")
    return "secret.txt: listed in SHA256SUMS but not in the release"


def _unversioned(first: Path) -> str:
    (first / "hodo.nq").unlink()
    return "hodo.nq: release file not found"


def _unreadable_sums(first: Path) -> str:
    (first / CHECKSUMS_FILE).write_text("not a checksum\n", encoding="utf-8")
    return "SHA256SUMS: cannot be read: line 1"


@pytest.mark.parametrize("spoil", [_misnamed, _changed, _missing, _linked, _outside, _unversioned,
                                   _unreadable_sums], ids=lambda spoil: spoil.__name__[1:])
def test_an_earlier_release_that_cannot_be_verified_stops_the_server(
        history: History, tmp_path: Path, spoil: Callable[[Path], str]) -> None:
    releases = tmp_path / "releases"
    shutil.copytree(history.releases / FIRST, releases / FIRST)
    message = spoil(releases / FIRST)
    with pytest.raises(ReleaseError, match=re.escape(message)):
        create_app({"TESTING": True, "HODO_DIST": history.dist, "HODO_RELEASES": releases})
    # and from the command line: one line, exit code 2, before anything listens
    result = CliRunner().invoke(main, ["serve", "--dist", str(history.dist), "--port",
                                       str(free_port())], env={"HODO_RELEASES": str(releases)})
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_an_earlier_release_serves_what_was_verified_at_start_up(
        client: FlaskClient, history: History) -> None:
    """A file added to an earlier release's folder, and to its list, after the server started
    was never verified: it is not served."""
    first = history.releases / FIRST
    sums = (first / CHECKSUMS_FILE).read_bytes()
    added = first / "added.ttl"
    try:
        added.write_bytes(b"# added later\n")
        digest = hashlib.sha256(added.read_bytes()).hexdigest()
        (first / CHECKSUMS_FILE).write_bytes(sums + f"{digest}  added.ttl\n".encode())
        assert client.get(f"/releases/{FIRST}/added.ttl").status_code == 404
        assert client.get(f"/releases/{FIRST}/hodo.ttl").status_code == 200
    finally:
        (first / CHECKSUMS_FILE).write_bytes(sums)
        added.unlink(missing_ok=True)
