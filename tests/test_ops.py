"""Operations through Flask's test client: settings, health, metrics, CORS, headers, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.engine.store import Release
from hodo.web import create_app
from hodo.web.ops import read_settings, state

ASK = "ASK { ?s ?p ?o }"
SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$')


def _app(release: Release, **config: Any) -> Flask:
    return create_app({"TESTING": True, **config}, release=release)


@pytest.fixture()
def ops_client(release: Release) -> Iterator[FlaskClient]:
    app = _app(release)
    with app.test_client() as client:
        yield client
    if state(app).pool is not None:
        state(app).pool.close()  # type: ignore[union-attr]


@pytest.mark.parametrize(("key", "value"), [
    ("HODO_QUERY_TIMEOUT", "soon"), ("HODO_QUERY_TIMEOUT", 0), ("HODO_QUERY_TIMEOUT", "nan"),
    ("HODO_QUERY_WORKERS", -1), ("HODO_QUERY_WORKERS", "1.5"), ("HODO_MAX_ROWS", 0),
    ("HODO_RATE_BURST", 0), ("HODO_QUERY_MEMORY_MB", True),
])
def test_bad_settings_stop_the_start(release: Release, key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        _app(release, **{key: value})


def test_settings_come_from_the_environment(release: Release,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODO_QUERY_TIMEOUT", "2.5")
    monkeypatch.setenv("HODO_MAX_ROWS", "7")
    settings = state(_app(release)).settings
    assert settings.pool.deadline == 2.5
    assert settings.limits.max_rows == 7


def test_defaults_are_valid() -> None:
    settings = read_settings({})
    assert settings.pool.deadline > settings.pool.slow_after
    assert settings.limits.max_rows and settings.limits.max_bytes


def test_health(ops_client: FlaskClient) -> None:
    ops_client.post("/sparql", data={"query": ASK})
    body = ops_client.get("/health").get_json()
    assert body["status"] == "ok" and body["version"]
    assert body["query_workers"]["size"] >= 1


def test_metrics_are_prometheus_text_and_count(ops_client: FlaskClient) -> None:
    ops_client.get("/sparql", query_string={"query": "SELECT * WHERE { SERVICE <http://x> {} }"})
    ops_client.get("/sparql", query_string={"query": ASK})
    response = ops_client.get("/metrics")
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(SAMPLE.match(line) for line in samples), samples
    values = dict(line.rsplit(" ", 1) for line in samples)
    assert values['hodo_query_rejections_total{reason="service"}'] == "1"
    assert values['hodo_http_requests_total{route="sparql",code="2xx"}'] == "1"
    assert values['hodo_http_requests_total{route="sparql",code="4xx"}'] == "1"
    assert values["hodo_sparql_request_duration_seconds_count"] == "2"
    assert values['hodo_sparql_request_duration_seconds_bucket{le="+Inf"}'] == "2"
    for family in ("hodo_query_timeouts_total", "hodo_query_worker_restarts_total",
                   "hodo_queries_in_flight"):
        assert f"# TYPE {family} " in text


def test_security_headers_on_every_response(ops_client: FlaskClient) -> None:
    for path in ("/", "/sparql", "/health", "/no-such-thing"):
        headers = ops_client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "style-src 'self'" in csp and "unsafe" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"


def test_cors_for_reads(ops_client: FlaskClient) -> None:
    get = ops_client.get("/sparql", query_string={"query": ASK})
    post = ops_client.post("/sparql", data={"query": ASK})
    assert get.headers["Access-Control-Allow-Origin"] == "*"
    assert post.headers["Access-Control-Allow-Origin"] == "*"
    preflight = ops_client.options("/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code < 300
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Authorization" not in preflight.headers["Access-Control-Allow-Headers"]


def test_no_cors_for_writes_elsewhere(ops_client: FlaskClient) -> None:
    response = ops_client.post("/health")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_configured_origin_varies(release: Release) -> None:
    app = _app(release, HODO_CORS_ORIGIN="https://example.org")
    response = app.test_client().get("/health")
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.org"
    assert "Origin" in response.headers["Vary"]


def test_rate_limit_per_client(release: Release) -> None:
    app = _app(release, HODO_RATE_BURST=3, HODO_RATE_LIMIT=6)
    client = app.test_client()
    first = {"REMOTE_ADDR": "192.0.2.1"}
    statuses = [client.get("/sparql", query_string={"query": ASK}, environ_base=first)
                .status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/sparql", query_string={"query": ASK}, environ_base=first)
    assert int(limited.headers["Retry-After"]) == 10  # one query per 10 s at 6 a minute
    assert limited.mimetype == "text/plain"
    other = client.get("/sparql", query_string={"query": ASK},
                       environ_base={"REMOTE_ADDR": "192.0.2.2"})
    assert other.status_code == 200
    page = client.get("/sparql", query_string={"lang": "zh"}, environ_base=first)
    assert page.status_code == 200  # the query page is free


def test_timeout_is_503_with_retry_after(release: Release) -> None:
    app = _app(release, HODO_QUERY_TIMEOUT=0.5, HODO_SLOW_QUERY_AFTER=0.1)
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    try:
        response = app.test_client().get("/sparql", query_string={"query": slow})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert "Traceback" not in response.get_data(as_text=True)
    finally:
        state(app).pool.close()  # type: ignore[union-attr]


def test_in_process_mode_keeps_the_caps(release: Release) -> None:
    app = _app(release, HODO_QUERY_WORKERS=0, HODO_MAX_ROWS=3)
    response = app.test_client().get("/sparql",
                                     query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert response.status_code == 400
    assert "more than 3 rows" in response.get_data(as_text=True)
    assert state(app).pool is None


def test_every_setting_is_documented_in_the_serving_guide() -> None:
    from hodo.core.paths import ROOT
    from hodo.web.ops import DEFAULTS

    guide = (ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
    limits = guide.split("## Limits", 1)[1].split("\n## ", 1)[0]
    assert [key for key in DEFAULTS if f"`{key}`" not in limits] == []
