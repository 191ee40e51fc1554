"""The SPARQL lane answers exactly as the Flask view does: same status, headers and body.

Each request goes to two apps over the same release: one whole (lane, replay layer, Flask), one
with Flask's own WSGI callable only. Both apps start with empty caches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from werkzeug.test import Client, TestResponse

from hodo.engine.store import Release
from hodo.web import create_app, ops
from hodo.web.compression import Compress
from hodo.web.headercap import HeaderCap
from hodo.web.sparql import SparqlLane
from tests.terms import HEPATIC_OSTEODYSTROPHY

LABEL = (f"SELECT ?l WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> "
         "<http://www.w3.org/2000/01/rdf-schema#label> ?l }")
DESCRIBE = f"DESCRIBE <{HEPATIC_OSTEODYSTROPHY}>"
JSON = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
GRAPH = "https://w3id.org/hodo/graph/ontology"


def get(query: str, accept: str | None = JSON, **more: str) -> dict[str, Any]:
    params = urlencode({"query": query, **more})
    return {"method": "GET", "path": f"/sparql?{params}", "headers": _accept(accept)}


def form(query: str, accept: str | None = JSON, body: str | None = None) -> dict[str, Any]:
    return {"method": "POST", "path": "/sparql", "headers": {**_accept(accept),
                                                             "Content-Type": FORM},
            "data": body if body is not None else urlencode({"query": query})}


def direct(query: str, accept: str | None = JSON, content_type: str = "application/sparql-query"
           ) -> dict[str, Any]:
    return {"method": "POST", "path": "/sparql", "data": query.encode("utf-8"),
            "headers": {**_accept(accept), "Content-Type": content_type}}


def _accept(accept: str | None) -> dict[str, str]:
    return {"Accept": accept} if accept else {}


REQUESTS = {
    "get json": get(LABEL),
    "get csv": get(LABEL, "text/csv"),
    "get no accept": get(LABEL, None),
    "get format param": get(LABEL, None, format="csv"),
    "get two format names": get(LABEL, None, format="json"),
    "get describe turtle": get(DESCRIBE, "text/turtle"),
    "get describe json-ld": get(DESCRIBE, "application/ld+json"),
    "get ask xml": get("ASK { ?s ?p ?o }", "application/sparql-results+xml"),
    "get default graph": get(LABEL, JSON, **{"default-graph-uri": GRAPH}),
    "get named graph": get("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1", JSON,
                           **{"named-graph-uri": GRAPH}),
    "get from hodo graph": get(f"SELECT * FROM <{GRAPH}> WHERE {{ ?s ?p ?o }} LIMIT 2"),
    "get volatile": get("SELECT (STRLEN(STR(NOW())) > 0 AS ?x) WHERE {}"),
    "post form": form(LABEL),
    "post form tsv": form(LABEL, "text/tab-separated-values"),
    "post direct": direct(LABEL),
    "post direct utf-8": direct(LABEL, JSON, "application/sparql-query; charset=UTF-8"),
    "post chinese label": direct('SELECT ?t WHERE { ?t ?p "肝性骨病"@zh }'),
    # refusals answered by the lane itself
    "syntax error": get("SELECT * WHERE { ?s ?p }"),
    "service": get("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"),
    "from elsewhere": get("SELECT * FROM <http://example.org/g> WHERE { ?s ?p ?o }"),
    "update": form("INSERT DATA { <http://a> <http://b> <http://c> }"),
    "not acceptable": get(LABEL, "text/turtle"),
    "too deep": get("SELECT * WHERE " + "{" * 80 + "?s ?p ?o" + "}" * 80),
    "too many rows": get("SELECT * WHERE { ?s ?p ?o }", "text/csv"),
    # handed to Flask
    "plain get": {"method": "GET", "path": "/sparql", "headers": {"Accept": "text/turtle"}},
    "query page": {"method": "GET", "path": "/sparql", "headers": {"Accept": "text/html"}},
    "two queries": {"method": "GET", "path": "/sparql?query=ASK%7B%7D&query=ASK%7B%7D"},
    "query and update": get(LABEL, JSON, update="CLEAR ALL"),
    "bad graph iri": get(LABEL, JSON, **{"default-graph-uri": "not an iri"}),
    "not utf-8 url": {"method": "GET", "path": "/sparql?query=%ff"},
    "wrong media type": direct(LABEL, JSON, "text/plain"),
    "latin-1 body": direct(LABEL, JSON, "application/sparql-query; charset=latin-1"),
    "post without query": form("", JSON, "x=1"),
    "head": {"method": "HEAD", "path": "/sparql?query=" + quote(LABEL)},
    "options": {"method": "OPTIONS", "path": "/sparql",
                "headers": {"Origin": "http://example.org",
                            "Access-Control-Request-Method": "POST"}},
}


def _app(release: Release, **config: Any) -> Flask:
    return create_app({"TESTING": True, "HODO_QUERY_WORKERS": 0, "HODO_MAX_ROWS": 50,
                       **config}, release=release)


def _flask_only(app: Flask) -> Callable[..., Iterable[bytes]]:
    """Flask's own app, with only the compression layer that every answer passes."""
    return Compress(lambda environ, start_response: Flask.wsgi_app(app, environ,
                                                                   start_response))


def _send(client: Client, request: dict[str, Any]) -> TestResponse:
    return client.open(request["path"], method=request["method"],
                       headers=request.get("headers", {}), data=request.get("data"))


def _comparable(response: TestResponse) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in response.headers.items() if k != "Date"}
    return response.status_code, headers, response.get_data()


@pytest.mark.parametrize("name", list(REQUESTS))
@pytest.mark.parametrize("origin", ["*", "https://example.org"])
@pytest.mark.slow
def test_lane_and_flask_answer_alike(release: Release, name: str, origin: str) -> None:
    whole, plain = _app(release, HODO_CORS_ORIGIN=origin), _app(release, HODO_CORS_ORIGIN=origin)
    outer = whole.wsgi_app
    # outermost: then compression, the replay layer and the lane
    assert isinstance(outer, HeaderCap) and isinstance(outer.inner, Compress)
    assert isinstance(outer.inner.inner.inner, SparqlLane)
    request = REQUESTS[name]
    lane, flask = _send(Client(whole), request), _send(Client(_flask_only(plain)), request)
    assert _comparable(lane) == _comparable(flask)
    again = _send(Client(whole), request)  # now from the caches
    if request["method"] == "GET" and lane.status_code == 200:
        assert _comparable(again) == _comparable(flask)


def test_lane_answers_revalidation_with_304(release: Release) -> None:
    whole, plain = _app(release), _app(release)
    etag = _send(Client(whole), get(LABEL)).headers["ETag"]
    revalidate = get(LABEL)
    revalidate["headers"]["If-None-Match"] = etag
    fresh = _app(release)  # nothing cached: the lane itself must see the validator
    lane = _send(Client(fresh), revalidate)
    flask = _send(Client(_flask_only(plain)), revalidate)
    assert lane.status_code == flask.status_code == 304
    assert _comparable(lane) == _comparable(flask)


def test_lane_counts_queries_and_refusals(release: Release) -> None:
    app = _app(release)
    client = Client(app)
    _send(client, get(LABEL))
    _send(client, get("SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }"))
    metrics = ops.state(app).metrics
    assert metrics.get("requests", "sparql", "2xx") == 1
    assert metrics.get("requests", "sparql", "4xx") == 1
    assert metrics.get("rejections", "service") == 1
    assert metrics.get("bucket", "+Inf") == 2


def test_lane_leaves_rate_limited_clients_to_flask(release: Release) -> None:
    app = _app(release, HODO_RATE_LIMIT=1, HODO_RATE_BURST=1)
    client = Client(app)
    statuses = [_send(client, direct(f"{LABEL} LIMIT {n}")).status_code for n in range(1, 4)]
    assert statuses == [200, 429, 429]
    assert ops.state(app).metrics.get("rejections", "rate_limited") == 2
