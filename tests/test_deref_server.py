"""Content negotiation and language selection through a real ``hodo serve`` process.

The tables are what readers and RDF clients send; each row is one HTTP request over loopback.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from hodo.engine.store import Release
from tests.support.server import serving
from tests.terms import HEPATIC_OSTEODYSTROPHY, ONTOLOGY

pytestmark = pytest.mark.server

TERM = HEPATIC_OSTEODYSTROPHY.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def server(release_dir: Path) -> Iterator[str]:
    with serving(release_dir) as running:
        yield running.url


def fetch(url: str, headers: dict[str, str] | None = None
          ) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body, for any status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, \
                response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


CONNEG = [
    # (path, Accept, status, media type, Content-Location)
    (f"/{TERM}", "text/html,application/xhtml+xml,*/*;q=0.8", 200, "text/html",
     f"/{TERM}.html"),
    (f"/{TERM}", "text/turtle", 200, "text/turtle", f"/{TERM}.ttl"),
    (f"/{TERM}", "application/ld+json", 200, "application/ld+json", f"/{TERM}.jsonld"),
    (f"/{TERM}", "application/rdf+xml", 200, "application/rdf+xml", f"/{TERM}.rdf"),
    (f"/{TERM}", "application/n-triples", 200, "application/n-triples", f"/{TERM}.nt"),
    (f"/{TERM}", "text/turtle;q=0.2, application/rdf+xml;q=0.9", 200, "application/rdf+xml",
     f"/{TERM}.rdf"),
    (f"/{TERM}", "image/png", 406, "text/plain", None),
    (f"/{TERM}.ttl", "text/html", 200, "text/turtle", f"/{TERM}.ttl"),
    (f"/{TERM}.jsonld", None, 200, "application/ld+json", f"/{TERM}.jsonld"),
    (f"/{TERM}.rdf", None, 200, "application/rdf+xml", f"/{TERM}.rdf"),
    (f"/{TERM}.nt", None, 200, "application/n-triples", f"/{TERM}.nt"),
    (f"/{TERM}.html", "text/turtle", 200, "text/html", f"/{TERM}.html"),
    ("/finding-0011", "text/turtle", 200, "text/turtle", "/finding-0011.ttl"),
    ("/article-reference-1", "application/ld+json", 200, "application/ld+json",
     "/article-reference-1.jsonld"),
    ("/article", "text/turtle", 200, "text/turtle", "/article.ttl"),
    ("/hodo.owl", "text/turtle", 200, "text/turtle", "/hodo.ttl"),
    ("/hodo.owl", "application/rdf+xml", 200, "application/rdf+xml", "/hodo.owl"),
    ("/hodo.owl", "application/ld+json", 200, "application/ld+json", "/hodo.jsonld"),
    ("/hodo.owl", "application/n-triples", 200, "application/n-triples", "/hodo.nt"),
    ("/HODO_9999999", "text/html", 404, "text/html", None),
    ("/HODO_9999999", "text/turtle", 404, "text/plain", None),
]


@pytest.mark.parametrize(("path", "accept", "status", "media_type", "location"), CONNEG)
def test_content_negotiation(server: str, path: str, accept: str | None, status: int,
                             media_type: str, location: str | None) -> None:
    code, headers, _ = fetch(server + path, {"Accept": accept} if accept else {})
    assert code == status
    assert headers["content-type"].split(";")[0] == media_type
    assert headers.get("content-location") == location
    if status == 200 and "." not in path.rsplit("/", 1)[-1]:
        assert "Accept" in headers["vary"]


def test_version_iri_resolves_to_this_release(server: str, release: Release) -> None:
    code, headers, body = fetch(f"{server}/releases/{release.version}/hodo.owl",
                                {"Accept": "text/turtle"})
    assert code == 200
    assert headers["content-location"] == f"/releases/{release.version}/hodo.ttl"
    assert body == (release.path.parent / "hodo.ttl").read_bytes()


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "xml", "nt"])
def test_rdflib_reads_a_term_by_its_iri(server: str, fmt: str) -> None:
    """rdflib as an RDF client: its own Accept header, and the format named explicitly."""
    graph = Graph()
    graph.parse(f"{server}/{TERM}", format=fmt) if fmt != "turtle" else graph.parse(
        f"{server}/{TERM}")
    term = URIRef(HEPATIC_OSTEODYSTROPHY)
    assert Literal("肝性骨病", lang="zh") in set(graph.objects(term, RDFS.label))
    assert (term, RDF.type, OWL.Class) in graph


def test_rdflib_reads_the_ontology_iri(server: str) -> None:
    graph = Graph()
    graph.parse(f"{server}/hodo.owl", format="xml")
    assert (URIRef(ONTOLOGY), RDF.type, OWL.Ontology) in graph
    assert len(graph) > 1000


# ---------------------------------------------------------------------------------------------
# Language


class _Lang(HTMLParser):
    """The ``lang`` of the page, and that of the language switch with where it leads."""

    def __init__(self) -> None:
        super().__init__()
        self.html = ""
        self.switch: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html = values.get("lang") or ""
        if tag == "a" and "lang-switch" in (values.get("class") or ""):
            self.switch = (values.get("lang") or "", values.get("href") or "")


LANGUAGE = [
    # (?lang=, Accept-Language, chosen)
    (None, None, "en"),
    ("zh", None, "zh"),
    ("en", "zh-CN,zh;q=0.9", "en"),
    ("zh-CN", "en", "zh"),
    ("ZH-hans", None, "zh"),
    ("fr", "zh", "zh"),
    ("", "zh", "zh"),
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    (None, "zh-Hans", "zh"),
    (None, "zh-SG", "zh"),
    (None, "zh_CN", "zh"),
    (None, "en-US,en;q=0.9,zh;q=0.8", "en"),
    (None, "fr-FR, zh;q=0.5, en;q=0.4", "zh"),
    (None, "fr, de", "en"),
    (None, "en;q=0, zh;q=0.1", "zh"),
    (None, "zh;q=0, en", "en"),
    (None, "*", "en"),
    (None, "zh;q=abc, en;q=0.2", "en"),
    (None, ";;;,,=", "en"),
]


@pytest.mark.parametrize(("param", "header", "chosen"), LANGUAGE)
def test_language_selection(server: str, param: str | None, header: str | None,
                            chosen: str) -> None:
    query = "" if param is None else f"?lang={urllib.request.quote(param)}"
    headers = {"Accept": "text/html", **({"Accept-Language": header} if header else {})}
    code, response_headers, body = fetch(f"{server}/{TERM}{query}", headers)
    assert code == 200
    assert response_headers["content-language"] == chosen
    assert "Accept-Language" in response_headers["vary"]
    page = _Lang()
    page.feed(body.decode("utf-8"))
    assert page.html == {"en": "en", "zh": "zh-Hans"}[chosen]
    assert {"en": "hepatic osteodystrophy", "zh": "肝性骨病"}[chosen] in body.decode("utf-8")


PAGES = ["/", f"/{TERM}", "/finding-0011", "/article", "/article-reference-1",
         "/article-section-3.1", "/sparql", "/validate", "/HODO_9999999", "/search",
         "/search?q=胆汁", "/map", f"/graph?iri={HEPATIC_OSTEODYSTROPHY}", "/ontology",
         "/downloads", "/term?iri=http://purl.obolibrary.org/obo/MONDO_0005298"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_has_the_right_lang_and_a_switch_to_the_same_page(
        server: str, path: str, lang: str) -> None:
    joiner = "&" if "?" in path else "?"
    url = urllib.parse.quote(f"{path}{joiner}lang={lang}", safe="/?=&:")
    _, headers, body = fetch(server + url, {"Accept": "text/html"})
    assert headers["content-language"] == lang
    page = _Lang()
    page.feed(body.decode("utf-8"))
    assert page.html == {"en": "en", "zh": "zh-Hans"}[lang]
    assert page.switch is not None
    other = "zh" if lang == "en" else "en"
    switch_lang, href = page.switch
    assert switch_lang == {"en": "en", "zh": "zh-Hans"}[other]
    target = urllib.parse.urlsplit(href)
    asked = urllib.parse.urlsplit(path)
    assert target.path == asked.path
    assert urllib.parse.parse_qs(target.query) == {**urllib.parse.parse_qs(asked.query),
                                                   "lang": [other]}
