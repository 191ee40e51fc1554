"""The tables pages read instead of the store, and the hrefs built without the router.

Both must give what the slower way gave: the hrefs what ``url_for`` would build (at the root
and below a proxy's prefix), the findings what a query per page would find, and a change to
the store (curator mode) must reach them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from flask import Flask, url_for

from hodo.engine.store import Release
from hodo.site import views
from hodo.site.pagetables import build
from hodo.web import create_app, ops, tables
from tests.terms import HEPATIC_OSTEODYSTROPHY, HODO, OSTEOPOROSIS

TOKEN = "curator-token-for-tests-0123456789"


def _named(release: Release) -> list[str]:
    return sorted({q.subject.value for q in release.store
                   if isinstance(q.subject, ox.NamedNode)})


@pytest.mark.parametrize("prefix", ["", "/mounted/here"])
def test_hrefs_are_what_the_router_builds(release: Release, prefix: str) -> None:
    app = create_app({"TESTING": True}, release=release)
    described = build(release.store).described
    with app.test_request_context("/", base_url="http://localhost" + prefix):
        assert tables.site_root() == prefix
        for iri in _named(release):
            for lang in ("en", "zh"):
                if iri.startswith(HODO):
                    expected = url_for("deref.resource", local=iri[len(HODO):], lang=lang)
                elif iri in described and views.web_iri(iri):
                    expected = url_for("deref.term", iri=iri, lang=lang)
                else:
                    continue
                assert tables.local_link(iri, lang) == expected


def test_raw_links_are_what_the_router_builds(release: Release) -> None:
    app = create_app({"TESTING": True}, release=release)
    with app.test_request_context("/"):
        for local in ("HODO_0000001", "finding-0101", "article-section-3.1", "a b/ü?#"):
            for ext in ("ttl", "nt"):
                assert tables.site_root() + tables.resource_path(f"{local}.{ext}") == url_for(
                    "deref.resource", local=f"{local}.{ext}")


@pytest.mark.parametrize("selector", ["about", "cites", "in_section", "one"])
def test_the_finding_table_picks_what_a_query_picks(release: Release, selector: str) -> None:
    table = views.finding_table(release.store)
    for iri in _named(release):
        assert table.select(selector, iri) == views.findings(release.store, selector, iri), iri


@pytest.fixture()
def curator_app(release: Release) -> Iterator[Flask]:
    store = ox.Store()
    store.extend(release.store)
    app = create_app({"TESTING": True, "HODO_CURATOR_TOKEN": TOKEN, "HODO_RATE_LIMIT": 0},
                     release=Release(store, release.version, release.path))
    yield app
    ops.shutdown(app)


def test_a_curators_change_reaches_the_pages(curator_app: Flask) -> None:
    client = curator_app.test_client()
    before = client.get("/HODO_0000001").get_data(as_text=True)
    assert "finding-9001" not in before
    update = f"""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        INSERT DATA {{ GRAPH <{HODO}graph/findings> {{
          <{HODO}finding-9001> a <{HODO}HODO_0000110> ;
            rdfs:label "A staged finding"@en ;
            <http://purl.org/oban/association_has_subject> <{HEPATIC_OSTEODYSTROPHY}> ;
            <http://purl.org/oban/association_has_object> <http://example.org/staged-term> .
          <http://example.org/staged-term> rdfs:label "a staged term"@en .
        }} }}"""
    response = client.post("/sparql/update", data=update.encode(),
                           headers={"Content-Type": "application/sparql-update",
                                    "Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 204
    after = client.get("/HODO_0000001").get_data(as_text=True)
    assert "A staged finding" in after
    assert "/term?iri=http://example.org/staged-term&amp;lang=en" in after
    osteoporosis = client.get(f"/term?iri={OSTEOPOROSIS}").get_data(as_text=True)
    assert "A staged finding" not in osteoporosis


@pytest.mark.parametrize("prefix", ["", "/mounted/here"])
def test_picture_hrefs_are_what_the_router_builds(release: Release, prefix: str) -> None:
    from hodo.web.graphs import term_href

    app = create_app({"TESTING": True}, release=release)
    with app.test_request_context("/", base_url="http://localhost" + prefix):
        for iri in _named(release)[::5]:
            for lang in ("en", "zh"):
                expected = (url_for("deref.resource", local=iri[len(HODO):], lang=lang)
                            if iri.startswith(HODO) else
                            url_for("graphs.neighbourhood_page", iri=iri, lang=lang))
                assert term_href(iri, lang) == expected
