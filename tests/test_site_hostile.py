"""Hostile data in labels and IRIs, across every kind of page: escaped, and never a link.

The release is copied and given statements a careless publisher would turn into script:
markup in labels, synonyms and definitions, and ``javascript:`` / ``data:`` IRIs as values,
as related terms and as mapping targets.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.engine.store import Release
from hodo.web import create_app
from tests.terms import HEPATIC_OSTEODYSTROPHY, HODO

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ATTRIBUTE = '" onmouseover="alert(1)'
BAD_IRIS = ["javascript:alert(1)", "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
            "JaVaScRiPt:alert(2)", "vbscript:msgbox(1)"]
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OBO_IN_OWL = "http://www.geneontology.org/formats/oboInOwl#"
HOSTILE_TERM = HODO + "HODO_9990001"
GRAPH = ox.NamedNode(HODO + "graph/ontology")


def _hostile_quads() -> list[ox.Quad]:
    term = ox.NamedNode(HOSTILE_TERM)
    known = ox.NamedNode(HEPATIC_OSTEODYSTROPHY)
    quads = [
        ox.Quad(term, ox.NamedNode(RDFS + "label"), ox.Literal(MARKUP, language="en"), GRAPH),
        ox.Quad(term, ox.NamedNode(RDFS + "label"), ox.Literal(ATTRIBUTE, language="zh"),
                GRAPH),
        ox.Quad(term, ox.NamedNode(RDFS + "subClassOf"), known, GRAPH),
        ox.Quad(term, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                ox.NamedNode("http://www.w3.org/2002/07/owl#Class"), GRAPH),
        ox.Quad(term, ox.NamedNode(OBO_IN_OWL + "hasExactSynonym"),
                ox.Literal(MARKUP, language="en"), GRAPH),
        ox.Quad(term, ox.NamedNode("http://purl.obolibrary.org/obo/IAO_0000115"),
                ox.Literal(MARKUP, language="zh"), GRAPH),
        ox.Quad(known, ox.NamedNode(RDFS + "comment"), ox.Literal(MARKUP, language="en"),
                GRAPH),
    ]
    for bad in BAD_IRIS:
        node = ox.NamedNode(bad)
        quads += [
            ox.Quad(term, ox.NamedNode(SKOS + "exactMatch"), node, GRAPH),
            ox.Quad(known, ox.NamedNode(RDFS + "seeAlso"), node, GRAPH),
            ox.Quad(node, ox.NamedNode(RDFS + "label"), ox.Literal(MARKUP, language="en"),
                    GRAPH),
            ox.Quad(node, ox.NamedNode(RDFS + "subClassOf"), term, GRAPH),
        ]
    return quads


@pytest.fixture(scope="module")
def hostile_app(release: Release) -> Flask:
    store = ox.Store()
    store.extend(release.store)
    store.extend(_hostile_quads())
    return create_app({"TESTING": True}, release=Release(store, release.version, release.path))


@pytest.fixture()
def hostile(hostile_app: Flask) -> FlaskClient:
    return hostile_app.test_client()


class _Audit(HTMLParser):
    """Every element and attribute of a page, to look for script that got through."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[tuple[str, str]] = []
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values)
        if tag == "img":
            self.images.append(values.get("src") or "")
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]
        for name in ("href", "src", "action", "formaction", "data-href"):
            if values.get(name):
                self.links.append(values[name] or "")


#: Pages that show the hostile term or the term it points at.
PAGES = [
    f"/{HOSTILE_TERM.removeprefix(HODO)}",
    f"/{HOSTILE_TERM.removeprefix(HODO)}?lang=zh",
    f"/{HEPATIC_OSTEODYSTROPHY.removeprefix(HODO)}",
    f"/{HEPATIC_OSTEODYSTROPHY.removeprefix(HODO)}?lang=zh",
    "/HODO_9999999%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/search?q=script",
    "/search?q=alert&lang=zh",
    "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/ontology",
    "/ontology?lang=zh",
    f"/graph?iri={HOSTILE_TERM}",
    "/map",
    "/term?iri=javascript:alert(1)",
    f"/term?iri={HEPATIC_OSTEODYSTROPHY}",
    "/%22%20onmouseover=%22alert(1)",
]


@pytest.mark.parametrize("path", PAGES)
def test_hostile_data_is_escaped_and_never_linked(hostile: FlaskClient, path: str) -> None:
    response = hostile.get(path, headers={"Accept": "text/html"})
    assert response.status_code in (200, 302, 404)
    text = response.get_data(as_text=True)
    audit = _Audit()
    audit.feed(text)
    assert all(script.get("src") for script in audit.scripts), "inline script on the page"
    assert audit.handlers == []
    assert "x" not in audit.images
    for link in audit.links:
        scheme = link.split(":", 1)[0].lower() if ":" in link.split("/", 1)[0] else ""
        assert scheme in ("", "http", "https"), link
    assert "<script>alert" not in text


@pytest.mark.parametrize("path", [PAGES[0], PAGES[2]])
def test_hostile_text_is_shown_as_text(hostile: FlaskClient, path: str) -> None:
    """Escaped, not dropped: the reader sees exactly what the data says."""
    text = hostile.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "&lt;script&gt;alert(" in text


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "rdf", "nt"])
def test_hostile_data_round_trips_in_rdf(hostile: FlaskClient, fmt: str) -> None:
    """RDF answers carry the data as it is, in valid syntax, markup included."""
    formats = {"ttl": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD,
               "rdf": ox.RdfFormat.RDF_XML, "nt": ox.RdfFormat.N_TRIPLES}
    response = hostile.get(f"/{HOSTILE_TERM.removeprefix(HODO)}.{fmt}")
    triples = {q.triple for q in ox.parse(response.data, format=formats[fmt])}
    assert ox.Triple(ox.NamedNode(HOSTILE_TERM), ox.NamedNode(RDFS + "label"),
                     ox.Literal(MARKUP, language="en")) in triples
    assert ox.Triple(ox.NamedNode(HOSTILE_TERM), ox.NamedNode(SKOS + "exactMatch"),
                     ox.NamedNode(BAD_IRIS[0])) in triples
