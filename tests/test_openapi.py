"""/openapi.json describes every route of the app, and is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _openapi_path(rule: str) -> str:
    """``/x/<path:iri>/<any(a, b):relation>`` -> ``/x/{iri}/{relation}``."""
    return re.sub(r"<(?:[^<>:]*(?:\([^)]*\))?:)?([^<>:]+)>", r"{\1}", rule)


def test_openapi_path() -> None:
    assert _openapi_path("/t/<path:iri>/<any(a, b):relation>") == "/t/{iri}/{relation}"
    assert _openapi_path("/<name>") == "/{name}"


def test_document_is_valid(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_documented(app: Flask, client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, f"routes without an OpenAPI description: {missing}"


def test_curator_routes_need_the_bearer_token(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["curator"]["scheme"] == "bearer"
    for path in ("/sparql/update", "/graph-store"):
        for method, operation in document["paths"][path].items():
            if (path, method) == ("/graph-store", "get"):  # a read: public, or with the token
                assert operation["security"] == [{}, {"curator": []}]
            else:
                assert operation["security"] == [{"curator": []}]


def test_sparql_media_types(client: FlaskClient) -> None:
    sparql = client.get("/openapi.json").get_json()["paths"]["/sparql"]
    assert {p["name"] for p in sparql["get"]["parameters"]} >= {
        "query", "default-graph-uri", "named-graph-uri"}
    assert set(sparql["post"]["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded", "application/sparql-query"}
    assert "text/csv" in sparql["get"]["responses"]["200"]["content"]
