"""The OLS-shaped term API: shapes and types, languages, errors, and an OLS client against a
real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.server import serving

HO = "https://w3id.org/hodo/HODO_0000001"
PBC = "http://purl.obolibrary.org/obo/MONDO_0005388"
TERM_KEYS = {
    "iri": str, "lang": str, "description": list, "synonyms": list, "annotation": dict,
    "label": str, "ontology_name": str, "ontology_prefix": str, "ontology_iri": str,
    "is_obsolete": bool, "is_defining_ontology": bool, "has_children": bool, "is_root": bool,
    "short_form": str, "_links": dict,
}
OPTIONAL_KEYS = ("term_replaced_by", "obo_id", "in_subset", "obo_xref",
                 "obo_definition_citation")


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _encoded(iri: str) -> str:
    return quote(quote(iri, safe=""), safe="")


def _check_term(doc: dict[str, Any]) -> None:
    for key, kind in TERM_KEYS.items():
        assert isinstance(doc[key], kind), key
    for key in OPTIONAL_KEYS:
        assert key in doc
    assert doc["ontology_name"] == "hodo" and doc["ontology_prefix"] == "HODO"
    assert doc["_links"]["self"]["href"].startswith("http")


def _check_page(data: dict[str, Any]) -> list[dict[str, Any]]:
    assert set(data["page"]) == {"size", "totalElements", "totalPages", "number"}
    assert all(isinstance(v, int) for v in data["page"].values())
    assert data["_links"]["self"]["href"].startswith("http")
    for doc in data["_embedded"]["terms"]:
        _check_term(doc)
    return data["_embedded"]["terms"]  # type: ignore[no-any-return]


def test_term_list_pages(client: FlaskClient) -> None:
    first = client.get("/api/ontologies/hodo/terms?size=50").get_json()
    docs = _check_page(first)
    assert len(docs) == 50 and first["page"]["totalElements"] > 400
    second = client.get(first["_links"]["next"]["href"]).get_json()
    assert second["page"]["number"] == 1
    assert not {d["iri"] for d in docs} & {d["iri"] for d in second["_embedded"]["terms"]}
    last = client.get(first["_links"]["last"]["href"]).get_json()
    assert "next" not in last["_links"]


def test_one_term(client: FlaskClient) -> None:
    response = client.get(f"/api/ontologies/hodo/terms/{_encoded(HO)}")
    assert response.content_type == "application/json; charset=utf-8"
    doc = response.get_json()
    _check_term(doc)
    assert doc["iri"] == HO and doc["label"] == "hepatic osteodystrophy"
    assert doc["obo_id"] == "HODO:0000001" and doc["short_form"] == "HODO_0000001"
    assert "HO" in doc["synonyms"] and doc["is_defining_ontology"]
    assert not doc["is_root"] and doc["_links"]["parents"]


def test_chinese(client: FlaskClient) -> None:
    response = client.get(f"/api/ontologies/hodo/terms/{_encoded(PBC)}?lang=zh")
    assert "原发性胆汁性胆管炎".encode() in response.data  # not \\u-escaped
    doc = response.get_json()
    assert doc["label"] == "原发性胆汁性胆管炎" and doc["lang"] == "zh"
    assert not doc["is_defining_ontology"]
    docs = client.get("/api/search?q=胆汁&lang=zh&rows=50").get_json()["response"]["docs"]
    assert PBC in [d["iri"] for d in docs]


def test_parents_and_children(client: FlaskClient) -> None:
    parents = _check_page(client.get(
        f"/api/ontologies/hodo/terms/{_encoded(HO)}/parents").get_json())
    assert "http://purl.obolibrary.org/obo/MONDO_0005298" in [p["iri"] for p in parents]
    for parent in parents:
        children = _check_page(client.get(parent["_links"]["children"]["href"]).get_json())
        assert HO in [c["iri"] for c in children]
        assert parent["has_children"]
    ancestors = _check_page(client.get(
        f"/api/ontologies/hodo/terms/{_encoded(HO)}/ancestors?size=500").get_json())
    assert {p["iri"] for p in parents} < {a["iri"] for a in ancestors}


def test_search_shape(client: FlaskClient) -> None:
    data = client.get("/api/search?q=PBC&rows=2&start=0").get_json()
    response = data["response"]
    assert isinstance(response["numFound"], int) and response["start"] == 0
    assert len(response["docs"]) == 2
    doc = response["docs"][0]
    assert doc["iri"] == PBC and doc["obo_id"] == "MONDO:0005388"
    assert {"iri", "label", "short_form", "obo_id", "ontology_name", "ontology_prefix",
            "type", "description"} <= set(doc)
    later = client.get("/api/search?q=PBC&rows=2&start=2").get_json()["response"]
    assert later["start"] == 2 and later["docs"][0]["iri"] != doc["iri"]
    exact = client.get("/api/search?q=PBC&exact=true").get_json()["response"]
    assert [d["iri"] for d in exact["docs"]] == [PBC]


@pytest.mark.parametrize("query", ["iri=" + quote(HO), "short_form=HODO_0000001",
                                   "obo_id=HODO:0000001"])
def test_terms_across(client: FlaskClient, query: str) -> None:
    docs = _check_page(client.get(f"/api/terms?{query}").get_json())
    assert [d["iri"] for d in docs] == [HO]


@pytest.mark.parametrize("url", [
    "/api/ontologies/hodo/terms/" + _encoded("https://w3id.org/hodo/HODO_9999999"),
    "/api/ontologies/hodo/terms/" + _encoded("https://w3id.org/hodo/HODO_9999999") + "/parents",
    # line breaks in the path: the view still answers, in its own shape, not the router
    "/api/ontologies/hodo/terms/a%0Ab%0D2",
    "/api/ontologies/hodo/terms/a%0Ab/children",
])
def test_unknown_term(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


@pytest.mark.parametrize(("lang", "title"), [("en", "HODO: Hepatic Osteodystrophy Ontology"),
                                             ("zh", "HODO：肝性骨病本体")])
def test_the_ontology_is_described_as_ols_describes_one(client: FlaskClient, lang: str,
                                                       title: str) -> None:
    described = client.get(f"/api/ontologies/hodo?lang={lang}").get_json()
    assert described["config"]["title"] == title
    assert described["config"]["versionIri"].endswith(f"/{described['version']}/hodo.owl")
    assert described["numberOfTerms"] > 100 and described["languages"] == ["en", "zh"]
    listed = client.get("/api/ontologies").get_json()["_embedded"]["ontologies"]
    assert [o["ontologyId"] for o in listed] == ["hodo"]


def test_an_unknown_ontology_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/api/ontologies/mondo")
    assert response.status_code == 404 and response.get_json()["status"] == 404
    assert "'hodo'" in response.get_json()["message"]


@pytest.mark.server
def test_ols_client_against_a_server(release_dir: Path) -> None:
    from ols_client import Client

    with serving(release_dir) as server:
        ols = Client(server.url)
        docs = ols.search("PBC")
        assert docs[0]["iri"] == PBC
        term = ols.get_term("hodo", HO)
        assert [t["iri"] for t in term["_embedded"]["terms"]] == [HO]
        ancestors = {t["iri"] for t in ols.iter_ancestors("hodo", HO)}
        assert "http://purl.obolibrary.org/obo/MONDO_0005298" in ancestors
        # ols-client 0.2 reads only the first page (it looks for _links.href, not
        # _links.next.href); a full page shows the list and its size parameter work
        terms = list(ols.iter_terms("hodo", size=100))
        assert len(terms) == len({t["iri"] for t in terms}) == 100
        # iter_labels reads one page of 500 classes in IRI order: the reused terms
        # (http://...) fill it before HODO's own (https://w3id.org/hodo/...) begin
        labels = set(ols.iter_labels("hodo"))
        assert len(labels) <= 500 and "osteoporosis" in labels
        described = ols.get_ontology("hodo")
        assert described["ontologyId"] == "hodo" and described["config"]["title"].startswith(
            "HODO")
        assert described["config"]["fileLocation"] == server.url + "/hodo.owl"
        assert [o["ontologyId"] for o in ols.get_ontologies()] == ["hodo"]
        assert "hepatic osteodystrophy" in (ols.get_description("hodo") or "")
