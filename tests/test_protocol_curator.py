"""Curator mode: the bearer token, SPARQL Update and the Graph Store Protocol, staged in memory.

Each test gets its own copy of the release store, so staged changes never leak between tests or
into the release files. Query workers are on (one), so a change is seen only if the workers are
replaced after it, as they must be.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef

from hodo.engine.store import Release
from hodo.web import create_app

TOKEN = "curator-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "http://example.org/staged"
TURTLE = '<http://example.org/s> <http://example.org/p> "肝"@zh .\n'
ASK_STAGED = 'ASK { GRAPH <http://example.org/staged> { ?s ?p "肝"@zh } }'


def _copy(release: Release) -> Release:
    store = ox.Store()
    store.extend(release.store)
    return Release(store, release.version, release.path)


@pytest.fixture()
def curator_app(release: Release) -> Iterator[Flask]:
    from hodo.web import ops

    app = create_app({"TESTING": True, "HODO_CURATOR_TOKEN": TOKEN, "HODO_RATE_LIMIT": 0,
                      "HODO_QUERY_WORKERS": 1}, release=_copy(release))
    yield app
    ops.shutdown(app)


@pytest.fixture()
def curator(curator_app: Flask) -> FlaskClient:
    return curator_app.test_client()


def _ask(client: FlaskClient, query: str) -> bool:
    response = client.get("/sparql", query_string={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.data
    return bool(response.get_json()["boolean"])


def _update(client: FlaskClient, text: str, headers: dict[str, str] | None = None,
            query_string: dict[str, object] | None = None) -> tuple[int, str]:
    response = client.post("/sparql/update", data=text.encode(), query_string=query_string,
                           headers={"Content-Type": "application/sparql-update",
                                    **(AUTH if headers is None else headers)})
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(("headers", "status", "challenge"), [
    ({}, 401, True),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, True),
    ({"Authorization": "Bearer "}, 401, True),
    ({"Authorization": "Bearer wrong-token-wrong-token-wrong"}, 403, False),
    ({"Authorization": f"Bearer {TOKEN}x"}, 403, False),
], ids=["none", "basic", "empty-bearer", "wrong", "longer"])
def test_without_the_right_token(curator: FlaskClient, headers: dict[str, str], status: int,
                                 challenge: bool) -> None:
    code, _ = _update(curator, "CLEAR ALL", headers)
    assert code == status
    response = curator.get("/graph-store", query_string={"default": ""}, headers=headers)
    # a read is public, but a token that is sent is checked
    assert response.status_code == (200 if not headers else status)
    assert ("WWW-Authenticate" in response.headers) is (challenge and bool(headers))
    assert _ask(curator, "ASK { ?s ?p ?o }")  # nothing was cleared


@pytest.mark.parametrize("param", ["access_token", "token"])
def test_a_token_in_the_url_is_refused_even_when_right(curator: FlaskClient, param: str) -> None:
    code, text = _update(curator, "CLEAR ALL", query_string={param: TOKEN})
    assert code == 400 and "never put a token in the URL" in text
    assert _ask(curator, "ASK { ?s ?p ?o }")


def test_update_is_seen_by_the_next_query(curator: FlaskClient) -> None:
    assert not _ask(curator, ASK_STAGED)
    code, _ = _update(curator, f"INSERT DATA {{ GRAPH <{GRAPH}> {{ {TURTLE} }} }}")
    assert code == 204
    assert _ask(curator, ASK_STAGED)


def test_update_by_form(curator: FlaskClient) -> None:
    response = curator.post("/sparql/update", headers=AUTH,
                            data={"update": f"INSERT DATA {{ GRAPH <{GRAPH}> {{ {TURTLE} }} }}"})
    assert response.status_code == 204 and "Content-Type" not in response.headers
    assert _ask(curator, ASK_STAGED)


@pytest.mark.parametrize(("update", "message"), [
    ("LOAD <http://127.0.0.1:9/data.ttl>", "LOAD is not allowed"),
    ("LOAD <file:///etc/passwd> INTO GRAPH <http://example.org/g>", "LOAD is not allowed"),
    ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
     "SERVICE is not allowed"),
    ("PREFIX e: <http://127.0.0.1:9/>\n"
     "INSERT { ?s ?p ?o } WHERE { SERVICE # x\n e:y { ?s ?p ?o } }",
     "SERVICE is not allowed"),
    ("CLEAR XYZ", "SPARQL Update failed"),
], ids=["load-http", "load-file", "service", "service-hidden", "syntax"])
def test_refused_updates_change_nothing(curator: FlaskClient, update: str, message: str) -> None:
    before = _ask(curator, "ASK { ?s ?p ?o }")
    code, text = _update(curator, update)
    assert code == 400 and message in text
    assert _ask(curator, "ASK { ?s ?p ?o }") == before


def test_a_failing_update_is_all_or_nothing(curator: FlaskClient) -> None:
    code, text = _update(curator, f"INSERT DATA {{ GRAPH <{GRAPH}> {{ {TURTLE} }} }} ; "
                               "DROP GRAPH <http://example.org/missing>")
    assert code == 400 and "does not exist" in text
    assert not _ask(curator, ASK_STAGED)


def test_using_graph_uri_sets_the_where_dataset(curator: FlaskClient) -> None:
    code, _ = _update(curator, f"INSERT DATA {{ GRAPH <{GRAPH}> {{ {TURTLE} }} }}")
    assert code == 204
    copy = ("INSERT { GRAPH <http://example.org/copy> { ?s ?p ?o } } WHERE { ?s ?p ?o }")
    code, _ = _update(curator, copy, query_string={"using-graph-uri": GRAPH})
    assert code == 204
    assert _ask(curator, 'ASK { GRAPH <http://example.org/copy> { ?s ?p "肝"@zh } }')


@pytest.mark.parametrize("update", [
    "WITH <http://example.org/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "DELETE { ?s ?p ?o } USING <http://example.org/g> WHERE { ?s ?p ?o }",
    "DELETE WHERE { ?s ?p ?o }",
], ids=["with", "using", "delete-where"])
def test_using_graph_uri_conflicts(curator: FlaskClient, update: str) -> None:
    code, text = _update(curator, update, query_string={"using-graph-uri": GRAPH})
    assert code == 400 and ("not both" in text or "DELETE WHERE" in text)
    assert _ask(curator, "ASK { ?s ?p ?o }")


def test_base_iri_of_an_update_is_the_endpoint(curator: FlaskClient) -> None:
    code, _ = _update(curator, f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <s> <p> <o> }} }}")
    assert code == 204
    assert _ask(curator, f"ASK {{ GRAPH <{GRAPH}> {{ <http://localhost/sparql/s> ?p ?o }} }}")


# --------------------------------------------------------------------------------------------
# Graph Store Protocol


def _store(client: FlaskClient, method: str, body: str = TURTLE,
           media: str = "text/turtle", graph: str = GRAPH) -> int:
    response = client.open("/graph-store", method=method, query_string={"graph": graph},
                           data=body.encode(), headers={**AUTH, "Content-Type": media})
    return response.status_code


def test_graph_store_put_get_post_delete(curator: FlaskClient) -> None:
    assert curator.get("/graph-store", query_string={"graph": GRAPH},
                       headers=AUTH).status_code == 404
    assert _store(curator, "PUT") == 201
    assert _ask(curator, ASK_STAGED)
    other = '<http://example.org/t> <http://example.org/p> "骨"@zh .\n'
    assert _store(curator, "POST", other, "application/n-triples") == 204
    response = curator.get("/graph-store", query_string={"graph": GRAPH},
                           headers={**AUTH, "Accept": "text/turtle"})
    graph = Graph().parse(data=response.data, format="turtle")
    assert len(graph) == 2
    assert (URIRef("http://example.org/s"), URIRef("http://example.org/p"),
            Literal("肝", lang="zh")) in graph
    assert _store(curator, "PUT", other) == 204  # replaces: one triple left
    head = curator.head("/graph-store", query_string={"graph": GRAPH}, headers=AUTH)
    assert head.status_code == 200 and head.data == b""
    response = curator.get("/graph-store", query_string={"graph": GRAPH},
                           headers={**AUTH, "Accept": "application/n-triples"})
    assert response.data.decode().count("\n") == 1
    assert curator.delete("/graph-store", query_string={"graph": GRAPH},
                          headers=AUTH).status_code == 204
    assert not _ask(curator, 'ASK { GRAPH <http://example.org/staged> { ?s ?p ?o } }')
    assert curator.delete("/graph-store", query_string={"graph": GRAPH},
                          headers=AUTH).status_code == 404


@pytest.mark.parametrize(("query_string", "body", "media", "status"), [
    ({}, TURTLE, "text/turtle", 400),
    ({"graph": GRAPH, "default": ""}, TURTLE, "text/turtle", 400),
    ({"graph": "not an iri"}, TURTLE, "text/turtle", 400),
    ({"graph": GRAPH}, TURTLE, "text/html; charset=utf-8", 415),
    ({"graph": GRAPH}, TURTLE, "application/sparql-results+json", 415),
    ({"graph": GRAPH}, "<http://a> <http://b> .", "text/turtle", 400),
    ({"graph": GRAPH}, '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
     "application/rdf+xml", 400),
], ids=["no-graph", "graph-and-default", "bad-iri", "html", "results-type",
        "bad-turtle", "xml-entities"])
def test_graph_store_refusals(curator: FlaskClient, query_string: dict[str, str], body: str,
                              media: str, status: int) -> None:
    response = curator.put("/graph-store", query_string=query_string, data=body.encode(),
                           headers={**AUTH, "Content-Type": media})
    assert response.status_code == status
    assert "Traceback" not in response.get_data(as_text=True)
    assert not _ask(curator, 'ASK { GRAPH <http://example.org/staged> { ?s ?p ?o } }')


def test_graph_store_default_graph(curator: FlaskClient) -> None:
    response = curator.put("/graph-store?default", data=TURTLE.encode(),
                           headers={**AUTH, "Content-Type": "text/turtle"})
    assert response.status_code in (201, 204)
    response = curator.get("/graph-store?default", headers={**AUTH, "Accept": "text/turtle"})
    assert "肝" in response.get_data(as_text=True)


def test_curator_mode_off_is_read_only(client: FlaskClient) -> None:
    response = client.post("/sparql/update", data=b"CLEAR ALL", headers={
        "Content-Type": "application/sparql-update", **AUTH})
    assert response.status_code == 403
    assert client.get("/graph-store?default", headers=AUTH).status_code == 200  # reads are public


def test_service_description_lists_update_only_in_curator_mode(
        client: FlaskClient, curator: FlaskClient) -> None:
    public = client.get("/sparql", headers={"Accept": "text/turtle"}).get_data(as_text=True)
    staged = curator.get("/sparql", headers={"Accept": "text/turtle"}).get_data(as_text=True)
    assert "SPARQL11Update" not in public and "SPARQL11Update" in staged


@pytest.mark.parametrize("token", ["short", "0123456789abcde"])
def test_a_short_token_stops_the_app(release: Release, token: str) -> None:
    with pytest.raises(ValueError, match="HODO_CURATOR_TOKEN"):
        create_app({"HODO_CURATOR_TOKEN": token}, release=release)


def test_release_files_are_untouched(curator: FlaskClient, release: Release) -> None:
    before = (release.path).read_bytes()
    assert _update(curator, "DROP ALL")[0] == 204
    assert not _ask(curator, "ASK { GRAPH ?g { ?s ?p ?o } }")
    assert Path(release.path).read_bytes() == before
    assert len(release.store) > 0


def test_a_public_read_of_a_graph_is_capped_where_a_curators_is_not(release: Release) -> None:
    """Without a token, a graph larger than a query result may be is refused, whole; with the
    token it is sent."""
    app = create_app({"TESTING": True, "HODO_CURATOR_TOKEN": TOKEN,
                      "HODO_MAX_RESULT_BYTES": 4096}, release=release)
    client = app.test_client()
    graph = {"graph": "https://w3id.org/hodo/graph/findings"}
    public = client.get("/graph-store", query_string=graph, headers={"Accept": "text/turtle"})
    assert public.status_code == 400
    assert "larger than 4096 bytes" in public.get_data(as_text=True)
    whole = client.get("/graph-store", query_string=graph,
                       headers={"Accept": "text/turtle", **AUTH})
    assert whole.status_code == 200 and len(whole.data) > 4096
    small = client.get("/graph-store", query_string={"default": ""})
    assert small.status_code == 200
