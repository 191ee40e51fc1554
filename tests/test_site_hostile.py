"""Hostile data in labels and IRIs, across every kind of page: escaped, and never a link.

The release is copied and given statements a careless publisher would turn into script
(``tests/support/hostile.py``).
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.engine.store import Release
from hodo.web import create_app
from tests.support.hostile import (
    BAD_IRIS,
    HOSTILE_TERM,
    MARKUP,
    RDFS,
    SKOS,
    Audit,
    hostile_quads,
)
from tests.terms import HEPATIC_OSTEODYSTROPHY, HODO


@pytest.fixture(scope="module")
def hostile_app(release: Release) -> Flask:
    store = ox.Store()
    store.extend(release.store)
    store.extend(hostile_quads())
    return create_app({"TESTING": True}, release=Release(store, release.version, release.path))


@pytest.fixture()
def hostile(hostile_app: Flask) -> FlaskClient:
    return hostile_app.test_client()


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
    audit = Audit()
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
