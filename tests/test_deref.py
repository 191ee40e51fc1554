"""Dereferencing through the app: every HODO IRI in every format, extensions, the ontology IRI,
its versionIRI, the release files, the configurable base and the 404 page."""

from __future__ import annotations

from html.parser import HTMLParser

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.core.namespaces import BASE
from hodo.engine.store import Release
from hodo.web import create_app
from tests.terms import HEPATIC_OSTEODYSTROPHY as HO_IRI

#: The local part of a term's IRI: its path on the site.
TERM = HO_IRI.removeprefix(BASE)
RDF_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
}
EXTENSIONS = {"ttl": "text/turtle", "jsonld": "application/ld+json",
              "rdf": "application/rdf+xml", "nt": "application/n-triples"}
#: Files the release writes and the media type each is sent as.
RELEASE_FILES = {"hodo.ttl": "text/turtle", "hodo.jsonld": "application/ld+json",
                 "hodo.nt": "application/n-triples", "hodo.nq": "application/n-quads"}


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def hodo_iris(release: Release) -> list[str]:
    """Every IRI under HODO's base that the release says something about."""
    found = {quad.subject.value for quad in release.store
             if isinstance(quad.subject, ox.NamedNode) and quad.subject.value.startswith(BASE)}
    return sorted(found)


def _parse(body: bytes, media_type: str) -> set[ox.Triple]:
    return {quad.triple for quad in ox.parse(body, format=RDF_TYPES[media_type],
                                              base_iri=BASE)}


def _local(iri: str) -> str:
    return iri.removeprefix(BASE)


@pytest.fixture(scope="module")
def every_iri(release: Release) -> list[str]:
    return hodo_iris(release)


def test_the_release_has_hodo_iris_of_every_kind(every_iri: list[str]) -> None:
    """Guards the next test: it must see terms, findings, references, sections, the article."""
    locals_ = [_local(iri) for iri in every_iri]
    assert {"article", "hodo.owl", "dataset"} <= set(locals_)
    for prefix in ("HODO_", "finding-", "article-reference-", "article-section-"):
        assert sum(local.startswith(prefix) for local in locals_) >= 5, prefix


@pytest.mark.slow
def test_every_hodo_iri_dereferences_in_every_format_and_language(
        client: FlaskClient, every_iri: list[str]) -> None:
    failures: list[str] = []
    for iri in every_iri:
        local = _local(iri)
        if local == "hodo.owl":
            continue  # the ontology IRI answers with the whole release: its own test
        for media_type in RDF_TYPES:
            response = client.get(f"/{local}", headers={"Accept": media_type})
            if response.status_code != 200 or response.mimetype != media_type:
                failures.append(f"{local} {media_type}: {response.status_code}")
                continue
            subjects = {t.subject for t in _parse(response.data, media_type)}
            if ox.NamedNode(iri) not in subjects:
                failures.append(f"{local} {media_type}: the resource is not described")
        for lang in ("en", "zh"):
            response = client.get(f"/{local}?lang={lang}", headers={"Accept": "text/html"})
            if response.status_code != 200 or response.headers["Content-Language"] != lang:
                failures.append(f"{local} html {lang}: {response.status_code}")
    assert not failures, failures[:20]


@pytest.mark.parametrize(("extension", "media_type"), EXTENSIONS.items())
def test_extension_chooses_the_format_whatever_accept_says(
        client: FlaskClient, extension: str, media_type: str) -> None:
    response = client.get(f"/{TERM}.{extension}",
                          headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Content-Location"] == f"/{TERM}.{extension}"
    assert "accept" not in {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}
    triples = _parse(response.data, media_type)
    assert ox.Triple(ox.NamedNode(BASE + TERM),
                     ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                     ox.Literal("肝性骨病", language="zh")) in triples


def test_html_extension_is_the_page(client: FlaskClient) -> None:
    response = client.get(f"/{TERM}.html?lang=zh",
                          headers={"Accept": "text/turtle"})
    assert response.mimetype == "text/html"
    assert "肝性骨病" in response.get_data(as_text=True)
    assert response.headers["Vary"] == "Accept-Language, Accept-Encoding"


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
    ("*/*", "text/html"),
    ("", "text/html"),
    ("application/xhtml+xml", "text/html"),
    ("text/turtle", "text/turtle"),
    ("application/x-turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/n-triples", "application/n-triples"),
    ("text/plain", "application/n-triples"),
    ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
    ("text/html;q=0.1, text/turtle", "text/turtle"),
    ("text/html;q=0, */*", "text/turtle"),
    ("application/*", "application/ld+json"),
    ("text/*", "text/html"),
    ("application/rdf+xml, text/turtle;q=0.9, */*;q=0.1", "application/rdf+xml"),
])
def test_accept_table(client: FlaskClient, accept: str, expected: str) -> None:
    response = client.get(f"/{TERM}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == expected
    assert response.headers["Vary"].startswith("Accept")
    extension = {"text/html": "html", **{v: k for k, v in EXTENSIONS.items()}}[expected]
    assert response.headers["Content-Location"] == f"/{TERM}.{extension}"


def test_link_header_names_every_other_representation(client: FlaskClient) -> None:
    link = client.get(f"/{TERM}", headers={"Accept": "text/turtle"}
                      ).headers["Link"]
    for extension, media_type in [("html", "text/html"), ("jsonld", "application/ld+json"),
                                  ("rdf", "application/rdf+xml"),
                                  ("nt", "application/n-triples")]:
        assert f'</{TERM}.{extension}>; rel="alternate"; type="{media_type}"' \
            in link
    assert 'type="text/turtle"' not in link


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "image/png",
                                    "text/turtle;q=0, text/html;q=0"])
def test_nothing_acceptable_is_406_listing_what_is_offered(client: FlaskClient,
                                                           accept: str) -> None:
    response = client.get(f"/{TERM}", headers={"Accept": accept})
    assert response.status_code == 406
    assert "text/turtle" in response.get_data(as_text=True)


def test_description_has_both_directions_blank_nodes_and_labels(client: FlaskClient) -> None:
    triples = _parse(client.get(f"/{TERM}.nt").data,
                     "application/n-triples")
    term = ox.NamedNode(BASE + TERM)
    assert any(t.object == term and t.subject.value.startswith(BASE + "finding-")
               for t in triples), "findings that point at the term"
    restriction = [t.object for t in triples
                   if t.subject == term and isinstance(t.object, ox.BlankNode)]
    assert restriction, "the someValuesFrom restriction's blank node"
    assert any(t.subject == restriction[0] for t in triples), "and its statements"
    labelled = {t.subject for t in triples
                if t.predicate.value == "http://www.w3.org/2000/01/rdf-schema#label"}
    parents = {t.object for t in triples if t.subject == term and isinstance(t.object,
                                                                            ox.NamedNode)
               and t.predicate.value.endswith("subClassOf")}
    assert parents and parents <= labelled


def test_description_is_the_same_bytes_every_time(client: FlaskClient) -> None:
    first = client.get("/finding-0011.ttl").data
    assert first == client.get("/finding-0011.ttl").data


@pytest.mark.parametrize("path", ["/hodo.owl", "/releases/{version}/hodo.owl"])
@pytest.mark.parametrize(("accept", "file"), [
    ("text/turtle", "hodo.ttl"), ("application/rdf+xml", "hodo.owl"),
    ("application/ld+json", "hodo.jsonld"), ("application/n-triples", "hodo.nt")])
def test_ontology_iri_and_version_iri_give_the_release(
        client: FlaskClient, release: Release, path: str, accept: str, file: str) -> None:
    path = path.format(version=release.version)
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == accept
    assert response.data == (release.path.parent / file).read_bytes()
    folder = path.rsplit("/", 1)[0]
    assert response.headers["Content-Location"] == f"{folder}/{file}"
    assert response.headers["Vary"] == "Accept, Accept-Encoding"


def test_ontology_iri_for_a_browser_is_the_documentation(client: FlaskClient) -> None:
    response = client.get("/hodo.owl?lang=zh", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "肝性骨病本体" in response.get_data(as_text=True)
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Content-Location"] == "/ontology"
    assert response.headers["Content-Language"] == "zh"


def test_version_iri_of_another_release_is_404_naming_the_one_served(
        client: FlaskClient, release: Release) -> None:
    response = client.get("/releases/0.0.0-missing/hodo.owl", headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert f"releases/{release.version}/hodo.owl" in response.get_data(as_text=True)
    assert client.get("/releases/0.0.0-missing/hodo.ttl").status_code == 404
    assert client.get(f"/releases/{release.version}/other.ttl").status_code == 404


@pytest.mark.parametrize(("file", "media_type"), RELEASE_FILES.items())
def test_release_files_by_name_and_by_version(client: FlaskClient, release: Release, file: str,
                                              media_type: str) -> None:
    expected = (release.path.parent / file).read_bytes()
    for path in (f"/{file}", f"/releases/{release.version}/{file}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == media_type
        assert response.data == expected
        etag = response.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304


# ---------------------------------------------------------------------------------------------
# Unknown IRIs


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
        if tag == "html":
            self.lang = values.get("lang") or ""


def test_unknown_iri_is_a_helpful_404_page(client: FlaskClient) -> None:
    response = client.get("/HODO_9999999?lang=zh", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["Content-Language"] == "zh"
    text = response.get_data(as_text=True)
    assert "https://w3id.org/hodo/HODO_9999999" in text
    assert "未找到" in text
    links = _Links()
    links.feed(text)
    assert links.lang == "zh-Hans"
    assert any(href.startswith("/article") for href in links.hrefs)
    assert any(href.startswith("/sparql") for href in links.hrefs)


@pytest.mark.parametrize("accept", ["text/turtle", "application/ld+json"])
def test_unknown_iri_for_rdf_clients_is_a_plain_404(client: FlaskClient, accept: str) -> None:
    response = client.get("/finding-9999", headers={"Accept": accept})
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert client.get("/finding-9999.ttl").status_code == 404


@pytest.mark.parametrize("path", ["/HODO_0000001/..%2f..%2fetc/passwd", "/%00", "/a b",
                                  "/<script>", "/releases/../hodo.nq.ttl", "/HODO_0000001.exe"])
def test_odd_paths_are_404_not_errors(client: FlaskClient, path: str) -> None:
    assert client.get(path, headers={"Accept": "text/turtle"}).status_code == 404


# ---------------------------------------------------------------------------------------------
# The base, under a proxy and a path prefix


@pytest.fixture()
def proxied(release: Release) -> Flask:
    return create_app({"TESTING": True, "HODO_TRUSTED_PROXIES": 1}, release=release)


def test_mounted_below_a_prefix_links_stay_below_it(proxied: Flask) -> None:
    client = proxied.test_client()
    headers = {"X-Forwarded-Prefix": "/hodo", "X-Forwarded-Host": "example.org",
               "X-Forwarded-Proto": "https"}
    response = client.get(f"/{TERM}", headers={**headers,
                                                                   "Accept": "text/turtle"})
    assert response.headers["Content-Location"] == f"/hodo/{TERM}.ttl"
    # the data keeps its own IRIs: the base is where they point, not where the site runs
    assert f"<{BASE}{TERM}>" in response.get_data(as_text=True) or \
        f"hodo:{TERM}" in response.get_data(as_text=True)
    page = client.get(f"/{TERM}", headers=headers)
    links = _Links()
    links.feed(page.get_data(as_text=True))
    local = [href for href in links.hrefs if href.startswith("/")]
    assert local and all(href.startswith("/hodo/") for href in local), local


def test_without_trusted_proxies_forwarded_headers_are_ignored(client: FlaskClient) -> None:
    response = client.get(f"/{TERM}",
                          headers={"X-Forwarded-Prefix": "/evil", "Accept": "text/turtle"})
    assert response.headers["Content-Location"] == f"/{TERM}.ttl"


@pytest.mark.parametrize("value", ["-1", "six", "9"])
def test_bad_trusted_proxies_setting_stops_start_up(release: Release, value: str) -> None:
    with pytest.raises(ValueError, match="HODO_TRUSTED_PROXIES"):
        create_app({"HODO_TRUSTED_PROXIES": value}, release=release)


def test_another_base_serves_the_iris_under_it(release: Release) -> None:
    """A release whose IRIs live under another base dereferences once HODO_BASE names it."""
    other = "http://localhost:8000/"
    store = ox.Store()
    store.extend(ox.Quad(_rebase(q.subject, other), q.predicate, _rebase(q.object, other),
                         q.graph_name) for q in release.store)
    app = create_app({"TESTING": True, "HODO_BASE": other},
                     release=Release(store, release.version, release.path))
    response = app.test_client().get(f"/{TERM}.nt")
    assert response.status_code == 200
    assert f"<{other}{TERM}>" in response.get_data(as_text=True)


def _rebase(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple, base: str
            ) -> ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple:
    if isinstance(term, ox.NamedNode) and term.value.startswith(BASE):
        return ox.NamedNode(base + term.value.removeprefix(BASE))
    return term


def test_other_sites_scripts_may_read_a_description_and_its_headers(client: FlaskClient) -> None:
    response = client.get(f"/{TERM}", headers={"Accept": "text/turtle",
                                                 "Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Content-Location", "Link", "ETag", "Content-Language"} <= exposed


def test_head_answers_like_get_without_a_body(client: FlaskClient) -> None:
    get = client.get(f"/{TERM}", headers={"Accept": "text/turtle"})
    head = client.head(f"/{TERM}", headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Location"] == get.headers["Content-Location"]
    assert int(head.headers["Content-Length"]) == len(get.data)
