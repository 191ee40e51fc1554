"""The endpoint and pages through Flask's test client."""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS

from tests.terms import HEPATIC_OSTEODYSTROPHY

LABELS = (
    f"SELECT ?label WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label }"
)
ZH = "肝性骨病"


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _select_json(client: FlaskClient, query: str) -> list[dict]:
    response = client.get(
        "/sparql",
        query_string={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200
    return response.get_json()["results"]["bindings"]


def test_get_select_json_keeps_chinese(client: FlaskClient) -> None:
    rows = _select_json(client, LABELS)
    values = {(r["label"]["value"], r["label"].get("xml:lang")) for r in rows}
    assert (ZH, "zh") in values and ("hepatic osteodystrophy", "en") in values


def test_post_form_and_post_direct_agree(client: FlaskClient) -> None:
    form = client.post(
        "/sparql", data={"query": LABELS}, headers={"Accept": "application/sparql-results+json"}
    )
    direct = client.post(
        "/sparql",
        data=LABELS.encode(),
        content_type="application/sparql-query",
        headers={"Accept": "application/sparql-results+json"},
    )
    assert form.status_code == direct.status_code == 200
    assert json.loads(form.data) == json.loads(direct.data)


def test_xml_results(client: FlaskClient) -> None:
    response = client.get(
        "/sparql",
        query_string={"query": LABELS},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert response.mimetype == "application/sparql-results+xml"
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    literals = [e.text for e in ElementTree.fromstring(response.data).iterfind(".//r:literal", ns)]
    assert ZH in literals


@pytest.mark.parametrize(
    ("accept", "delimiter"), [("text/csv", ","), ("text/tab-separated-values", "\t")]
)
def test_csv_and_tsv_results(client: FlaskClient, accept: str, delimiter: str) -> None:
    response = client.get("/sparql", query_string={"query": LABELS}, headers={"Accept": accept})
    assert response.mimetype == accept
    cells = [
        c
        for row in csv.reader(io.StringIO(response.get_data(as_text=True)), delimiter=delimiter)
        for c in row
    ]
    assert any(ZH in c for c in cells)


def test_construct_as_turtle(client: FlaskClient) -> None:
    term = f"<{HEPATIC_OSTEODYSTROPHY}>"
    query = f"CONSTRUCT {{ {term} ?p ?o }} WHERE {{ {term} ?p ?o }}"
    response = client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": "text/turtle"}
    )
    assert response.mimetype == "text/turtle"
    graph = Graph().parse(data=response.data, format="turtle")
    assert (URIRef(HEPATIC_OSTEODYSTROPHY), RDFS.label, Literal(ZH, lang="zh")) in graph


def test_ask(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
    assert response.get_json() == {"head": {}, "boolean": True}


def test_format_parameter_overrides_accept(client: FlaskClient) -> None:
    response = client.get(
        "/sparql",
        query_string={"query": LABELS, "format": "csv"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.mimetype == "text/csv"


def test_syntax_error_is_400_with_its_place_in_words(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": "SELECT ?x WHERE {"})
    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith(
        "SPARQL syntax error at line 1, column 18, at the end of the query: the query ends "
        "before the `{` of line 1, column 17 is closed")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "PREFIX e: <http://127.0.0.1:9/> SELECT * WHERE { SERVICE # hidden\n e:x { ?s ?p ?o } }",
        "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    ],
)
def test_reaching_outside_is_refused(client: FlaskClient, query: str) -> None:
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert "not allowed" in response.get_data(as_text=True)


def test_update_is_refused(client: FlaskClient) -> None:
    response = client.post("/sparql", data={"query": "INSERT DATA { <a:b> <a:c> <a:d> }"})
    assert response.status_code == 400


def test_nothing_acceptable_is_406(client: FlaskClient) -> None:
    response = client.get(
        "/sparql", query_string={"query": LABELS}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 406


def test_wrong_media_type_is_415(client: FlaskClient) -> None:
    response = client.post("/sparql", data=LABELS, content_type="text/plain")
    assert response.status_code == 415


def test_repeated_query_is_400(client: FlaskClient) -> None:
    response = client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert response.status_code == 400


def test_wrong_method_is_405(client: FlaskClient) -> None:
    response = client.put("/sparql")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_non_utf8_body_is_400(client: FlaskClient) -> None:
    response = client.post("/sparql", data=b"ASK {\xff}", content_type="application/sparql-query")
    assert response.status_code == 400


def test_browser_without_query_gets_the_query_page(client: FlaskClient) -> None:
    response = client.get("/sparql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and b"<form" in response.data


@pytest.mark.parametrize(
    ("params", "headers", "lang", "title"),
    [
        ({}, {}, "en", "hepatic osteodystrophy"),
        ({"lang": "zh"}, {}, "zh", ZH),
        ({}, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}, "zh", ZH),
        ({"lang": "en"}, {"Accept-Language": "zh"}, "en", "hepatic osteodystrophy"),
    ],
)
def test_term_page_speaks_the_reader_language(
    client: FlaskClient, params: dict, headers: dict, lang: str, title: str
) -> None:
    response = client.get("/HODO_0000001", query_string=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == lang
    assert "Accept-Language" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert f">{title}</h1>" in html


def test_chinese_text_on_an_english_page_is_marked(client: FlaskClient) -> None:
    html = client.get("/HODO_0000001?lang=en").get_data(as_text=True)
    assert f'lang="zh-Hans">{ZH}</' in html


def test_finding_page_shows_its_sentence(client: FlaskClient) -> None:
    html = client.get("/finding-0301?lang=zh").get_data(as_text=True)
    assert "El-Husseini等［20］" in html


def test_unknown_term_is_404(client: FlaskClient) -> None:
    response = client.get("/HODO_9999999", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert b"HODO_9999999" in response.data


def test_landing_page_says_what_hodo_is(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "Hepatic Osteodystrophy Ontology" in html and "/sparql" in html
    assert "肝性骨病本体" in client.get("/?lang=zh").get_data(as_text=True)


def test_markup_in_a_path_is_escaped(client: FlaskClient) -> None:
    response = client.get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert b"<script>" not in response.data


def test_health(client: FlaskClient) -> None:
    assert client.get("/health").get_json()["status"] == "ok"
