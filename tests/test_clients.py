"""The clients researchers use, each the real package, against a real ``hodo serve``.

Ontology tools open the ontology IRI without asking for HTML (owlready2, ROBOT, urllib, wget):
they must get the ontology, and only a browser the page. Every file of the release is at
``/<file>`` and at ``/releases/<version>/<file>``, whatever ``Accept`` says.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import owlready2
import pytest
from pyld import jsonld
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from hodo.core.release import CHECKSUMS_FILE, read_checksums
from hodo.engine.store import Release
from tests.support.server import serving
from tests.terms import ONTOLOGY

pytestmark = pytest.mark.server

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def server(release_dir: Path) -> Iterator[str]:
    with serving(release_dir) as running:
        yield running.url


def _get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    """Status, media type and body of a GET sent as urllib sends it (no Accept unless given)."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers.get_content_type(), response.read()


def _files(release_dir: Path) -> list[str]:
    return sorted([*read_checksums(release_dir), CHECKSUMS_FILE])


def test_owlready2_opens_the_ontology_iri(server: str) -> None:
    world = owlready2.World()
    onto = world.get_ontology(f"{server}/hodo.owl").load()
    names = {c.name for c in onto.classes()}
    assert "HODO_0000001" in names and len(names) > 50


@pytest.mark.parametrize("path", ["hodo.owl", "releases/{version}/hodo.owl"])
@pytest.mark.parametrize("accept", [None, "*/*", "application/xml, */*;q=0.1"])
def test_a_client_that_does_not_ask_for_html_gets_rdf_xml(server: str, release: Release,
                                                          path: str, accept: str | None) -> None:
    status, media_type, body = _get(f"{server}/{path.format(version=release.version)}", accept)
    assert status == 200 and media_type == "application/rdf+xml"
    graph = Graph().parse(data=body, format="xml")
    assert (URIRef(ONTOLOGY), RDF.type, OWL.Ontology) in graph


def test_a_browser_gets_the_documentation_page(server: str) -> None:
    status, media_type, body = _get(f"{server}/hodo.owl", BROWSER_ACCEPT)
    assert status == 200 and media_type == "text/html"
    assert b"<html" in body


def test_rdflib_parses_the_ontology_iri(server: str) -> None:
    graph = Graph().parse(f"{server}/hodo.owl")
    assert (URIRef(ONTOLOGY), RDF.type, OWL.Ontology) in graph


def test_wget_downloads_the_ontology(server: str, tmp_path: Path) -> None:
    wget = shutil.which("wget")
    if wget is None:
        pytest.fail("wget is not installed: apt-get install wget")
    out = tmp_path / "hodo.owl"
    subprocess.run([wget, "-q", "-O", str(out), f"{server}/hodo.owl"], check=True, timeout=60)
    assert (URIRef(ONTOLOGY), RDF.type, OWL.Ontology) in Graph().parse(out, format="xml")


def test_every_release_file_is_at_both_paths_whatever_accept_says(
        server: str, release: Release, release_dir: Path) -> None:
    listed = read_checksums(release_dir)
    assert {"context.jsonld", "hodo.sssom.tsv"} <= set(listed)
    assert any(name.startswith("shapes-") for name in listed)
    for name in _files(release_dir):
        if name == "hodo.owl":
            continue  # the ontology IRI: negotiated, tested above
        expected = (release_dir / name).read_bytes()
        for path in (name, f"releases/{release.version}/{name}"):
            for accept in (None, "text/tab-separated-values", BROWSER_ACCEPT):
                status, _, body = _get(f"{server}/{path}", accept)
                assert status == 200 and body == expected, (path, accept)
        if name in listed:
            assert hashlib.sha256(expected).hexdigest() == listed[name]


@pytest.mark.parametrize(("name", "media_type"), [
    ("hodo.sssom.tsv", "text/tab-separated-values"),
    ("context.jsonld", "application/ld+json"),
    (CHECKSUMS_FILE, "text/plain"),
    ("shapes-findings.ttl", "text/turtle"),
])
def test_release_files_carry_their_media_type(server: str, name: str, media_type: str) -> None:
    assert _get(f"{server}/{name}")[1] == media_type


def test_an_unknown_version_names_the_served_one(server: str, release: Release) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        _get(f"{server}/releases/0.0.0-none/hodo.sssom.tsv")
    with caught.value as error:
        assert error.code == 404
        assert f"release {release.version}" in error.read().decode()


REUSED = "http://purl.obolibrary.org/obo/MONDO_0005298"


def _term_url(server: str, iri: str) -> str:
    return f"{server}/term?{urllib.parse.urlencode({'iri': iri})}"


@pytest.mark.parametrize("which", ["hodo", "reused"])
def test_pyld_expands_a_term_from_its_url(server: str, which: str) -> None:
    url = f"{server}/HODO_0000001" if which == "hodo" else _term_url(server, REUSED)
    iri = "https://w3id.org/hodo/HODO_0000001" if which == "hodo" else REUSED
    expanded = jsonld.expand(url)
    assert any(node.get("@id") == iri for node in expanded)


@pytest.mark.parametrize("accept", ["application/json", "application/ld+json"])
def test_json_clients_get_json_ld(server: str, accept: str) -> None:
    status, media_type, body = _get(f"{server}/HODO_0000001", accept)
    assert status == 200 and media_type == "application/ld+json"
    assert isinstance(json.loads(body), dict | list)


def test_rdflib_parses_a_reused_terms_description(server: str) -> None:
    graph = Graph().parse(_term_url(server, REUSED))
    assert (URIRef(REUSED), RDFS.label, None) in graph


def test_a_browser_gets_a_reused_terms_page(server: str) -> None:
    status, media_type, body = _get(_term_url(server, REUSED), BROWSER_ACCEPT)
    assert status == 200 and media_type == "text/html" and b"MONDO_0005298" in body


def test_the_graph_store_is_readable_without_a_token(server: str) -> None:
    graph_iri = "https://w3id.org/hodo/graph/ontology"
    url = f"{server}/graph-store?{urllib.parse.urlencode({'graph': graph_iri})}"
    graph = Graph().parse(url, format="turtle")
    assert (URIRef(ONTOLOGY), RDF.type, OWL.Ontology) in graph
    head = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(head, timeout=30) as response:
        assert response.status == 200 and response.read() == b""
    write = urllib.request.Request(url, data=b"", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(write, timeout=30)
    caught.value.close()
    assert caught.value.code == 403  # writes stay the curator's


# --- nanopublications at their IRIs -----------------------------------------------------------


def test_nanopub_reads_a_findings_nanopublication_from_its_iri(server: str) -> None:
    """nanopub's own client fetches ``<IRI>.trig`` and checks the four graphs."""
    from nanopub import Nanopub

    publication = Nanopub(source_uri=f"{server}/np/finding-0101")
    assert publication.is_valid
    assert str(publication.assertion.identifier).endswith("/np/finding-0101#assertion")
    subjects = {str(s) for s in publication.assertion.subjects()}
    assert any(s.endswith("/finding-0101") for s in subjects)


@pytest.mark.parametrize(("accept", "media_type"), [
    (None, "application/trig"), ("application/n-quads", "application/n-quads"),
    ("application/ld+json", "application/ld+json")])
def test_a_nanopublication_iri_negotiates_its_dataset(server: str, accept: str | None,
                                                       media_type: str) -> None:
    status, got, body = _get(f"{server}/np/finding-0101", accept)
    assert status == 200 and got == media_type
    dataset = Dataset()
    dataset.parse(data=body, format={"application/trig": "trig",
                                     "application/n-quads": "nquads"}.get(got, "json-ld"))
    names = {str(name).rsplit("#", 1)[-1] for *_, name in dataset.quads()}
    assert names == {"Head", "assertion", "provenance", "pubinfo"}


def test_a_browser_following_a_nanopublication_iri_reaches_its_finding(server: str) -> None:
    status, media_type, body = _get(f"{server}/np/finding-0101", BROWSER_ACCEPT)
    assert status == 200 and media_type == "text/html" and b"finding-0101" in body


@pytest.mark.parametrize("path", ["/np/finding-9999", "/np/finding-0101.xyz"])
def test_an_unknown_nanopublication_is_404(server: str, path: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        _get(server + path)
    caught.value.close()
    assert caught.value.code == 404
