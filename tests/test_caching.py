"""Caching of release-derived answers: HTTP validators, the replay layer, the result cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.engine import query as hodo_query
from hodo.engine.query import QueryResult, normalise
from hodo.engine.store import Release
from hodo.web import caching, create_app, ops
from tests.terms import HEPATIC_OSTEODYSTROPHY


def _replays(app: Flask) -> bool:
    """Whether the replay layer is among the app's WSGI layers (below the header cap)."""
    layer: Any = app.wsgi_app
    while layer is not None:
        if isinstance(layer, caching.ResponseReplay):
            return True
        layer = getattr(layer, "inner", None)
    return False


JSON = "application/sparql-results+json"
LABEL = (f"SELECT ?l WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> "
         "<http://www.w3.org/2000/01/rdf-schema#label> ?l }")
#: Release-derived GETs of every kind: each must carry validators and revalidate to a 304.
DERIVED = [
    ("/sparql?query=" + quote(LABEL), JSON),
    ("/HODO_0000001", "text/html"),
    ("/HODO_0000001?lang=zh", "text/html"),
    ("/HODO_0000001", "text/turtle"),
    ("/api/search?q=osteoporosis", "application/json"),
    ("/search?q=PBC", "text/html"),
    ("/ontology", "text/html"),
    ("/downloads/hodo.ttl", "*/*"),
    ("/.well-known/void", "text/turtle"),
    ("/sparql", "text/turtle"),
]


def _app(release: Release, **config: Any) -> Flask:
    return create_app({"TESTING": True, "HODO_QUERY_WORKERS": 0, **config}, release=release)


@pytest.fixture()
def fresh(release: Release) -> Iterator[FlaskClient]:
    """A client of an app of its own: its caches start empty."""
    with _app(release).test_client() as client:
        yield client


class CountingRuns:
    """Counts the queries that reach the engine (``hodo.web.ops._execute``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = ops._execute

        def counted(*args: Any) -> QueryResult:
            self.count += 1
            return real(*args)

        monkeypatch.setattr(ops, "_execute", counted)


@pytest.mark.parametrize(("path", "accept"), DERIVED)
def test_release_derived_answers_revalidate_to_304(fresh: FlaskClient, path: str,
                                                   accept: str) -> None:
    first = fresh.get(path, headers={"Accept": accept})
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = fresh.get(path, headers={"Accept": accept, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = fresh.get(path, headers={"Accept": accept, "If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_operational_answers_are_never_stored(fresh: FlaskClient, path: str) -> None:
    response = fresh.get(path)
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers


def test_versioned_release_files_are_immutable(fresh: FlaskClient, release: Release) -> None:
    response = fresh.get(f"/releases/{release.version}/hodo.ttl")
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]


def test_replayed_answer_equals_the_first(fresh: FlaskClient,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    first = fresh.get("/HODO_0000001?lang=zh")
    from hodo.web import pages

    def broken(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the page was rendered again")

    monkeypatch.setattr(pages, "render_resource", broken)
    second = fresh.get("/HODO_0000001?lang=zh")
    assert second.status_code == 200
    assert second.data == first.data
    # the server adds its own Date; everything else is replayed as it was
    assert {**second.headers, "Date": ""} == {**first.headers, "Date": ""}
    assert fresh.get("/HODO_0000001?lang=en").status_code == 500  # not replayed: rendered


def test_replay_keys_on_the_headers_answers_vary_by(fresh: FlaskClient) -> None:
    english = fresh.get("/HODO_0000001", headers={"Accept-Language": "en"})
    chinese = fresh.get("/HODO_0000001", headers={"Accept-Language": "zh-CN"})
    turtle = fresh.get("/HODO_0000001", headers={"Accept": "text/turtle"})
    assert english.headers["Content-Language"] == "en"
    assert chinese.headers["Content-Language"] == "zh"
    assert turtle.mimetype == "text/turtle"
    assert fresh.get("/HODO_0000001", headers={"Accept-Language": "en"}).data == english.data


def test_replayed_queries_still_count_against_the_rate_limit(release: Release) -> None:
    app = _app(release, HODO_RATE_LIMIT=1, HODO_RATE_BURST=2)
    path = "/sparql?query=" + quote(LABEL)
    with app.test_client() as client:
        statuses = [client.get(path, headers={"Accept": JSON}).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200]
    assert statuses[2:] == [429, 429]


def test_replayed_queries_are_counted_in_metrics(fresh: FlaskClient) -> None:
    path = "/sparql?query=" + quote(LABEL)
    for _ in range(3):
        assert fresh.get(path, headers={"Accept": JSON}).status_code == 200
    text = fresh.get("/metrics").data.decode()
    assert 'hodo_http_requests_total{route="sparql",code="2xx"} 3' in text
    assert "hodo_sparql_request_duration_seconds_count 3" in text


def test_result_cache_answers_the_same_query_written_another_way(
        fresh: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = CountingRuns(monkeypatch)
    spaced = LABEL.replace(" ", "\n   ") + "  # the English and Chinese labels"
    answers = [fresh.get("/sparql?query=" + quote(LABEL), headers={"Accept": JSON}),
               fresh.get("/sparql?query=" + quote(spaced), headers={"Accept": JSON}),
               fresh.post("/sparql", data={"query": spaced}, headers={"Accept": JSON})]
    assert runs.count == 1
    assert {a.data for a in answers} == {answers[0].data}
    assert {a.headers["ETag"] for a in answers} == {answers[0].headers["ETag"]}


def test_result_cache_keys_on_format_and_dataset(fresh: FlaskClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    runs = CountingRuns(monkeypatch)
    path = "/sparql?query=" + quote(LABEL)
    fresh.get(path, headers={"Accept": JSON})
    csv = fresh.get(path, headers={"Accept": "text/csv"})
    empty = fresh.get(path + "&default-graph-uri=" + quote("http://example.org/none"),
                      headers={"Accept": "text/csv"})
    assert runs.count == 3
    assert csv.data.count(b"\n") > 1 and empty.data.count(b"\n") == 1


@pytest.mark.parametrize("function", ["RAND()", "NOW()", "UUID()", "STRUUID()", "BNODE()"])
def test_volatile_queries_are_run_every_time(fresh: FlaskClient, monkeypatch: pytest.MonkeyPatch,
                                             function: str) -> None:
    runs = CountingRuns(monkeypatch)
    path = "/sparql?query=" + quote(f"SELECT ?x WHERE {{ BIND({function} AS ?x) }}")
    for _ in range(2):
        response = fresh.get(path, headers={"Accept": JSON})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert "ETag" not in response.headers
    assert runs.count == 2


def test_errors_are_not_cached(fresh: FlaskClient) -> None:
    path = "/sparql?query=" + quote("SELECT * WHERE { ?s ?p }")
    for _ in range(2):
        response = fresh.get(path)
        assert response.status_code == 400
        assert "ETag" not in response.headers
        assert "public" not in response.headers.get("Cache-Control", "")


def test_curator_mode_revalidates_and_never_replays(release: Release,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(release, HODO_CURATOR_TOKEN="a-curator-token-long-enough")
    assert not _replays(app)
    with app.test_client() as client:
        response = client.get("/HODO_0000001")
        assert response.headers["Cache-Control"] == "no-cache"
        assert client.get("/HODO_0000001", headers={
            "If-None-Match": response.headers["ETag"]}).status_code == 304


def test_cache_setting_zero_turns_caching_off(release: Release,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(release, HODO_RESULT_CACHE_MB=0)
    assert not _replays(app)
    runs = CountingRuns(monkeypatch)
    with app.test_client() as client:
        for _ in range(2):
            client.get("/sparql?query=" + quote(LABEL), headers={"Accept": JSON})
    assert runs.count == 2


@pytest.mark.parametrize("value", [-1, "lots", 1.5])
def test_bad_cache_settings_stop_the_start(release: Release, value: object) -> None:
    with pytest.raises(ValueError, match="HODO_RESULT_CACHE_MB"):
        _app(release, HODO_RESULT_CACHE_MB=value)


def test_cache_settings_come_from_the_environment(release: Release,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODO_CACHE_MAX_AGE", "17")
    monkeypatch.setenv("HODO_RESULT_CACHE_MB", "0")
    app = _app(release)
    assert not _replays(app)
    with app.test_client() as client:
        assert client.get("/").headers["Cache-Control"] == "public, max-age=17"


def test_lru_is_bounded_by_bytes() -> None:
    cache = caching._LRU(800)
    for n in range(10):
        cache.put(n, n, 100)
    assert len(cache) == 8
    assert cache.get(0) is None and cache.get(9) == 9
    cache.get(2)  # now the most recently used: the next eviction takes 3
    cache.put("new", "new", 100)
    assert cache.get(2) == 2 and cache.get(3) is None
    cache.put("huge", "huge", 101)  # more than an eighth of the whole: not kept
    assert cache.get("huge") is None


@pytest.mark.slow
def test_small_answers_count_their_keys_against_the_budget(release: Release) -> None:
    app = _app(release, HODO_RESULT_CACHE_MB=1)
    responses = caching.state(app).responses
    with app.test_client() as client:
        for n in range(3000):  # tiny bodies, long keys: a budget of bodies alone would not fill
            assert client.get(f"/api/suggest?q={'x' * 60}{n}").status_code == 200
    assert 0 < len(responses) < 3000
    assert responses._bytes <= responses.max_bytes


@pytest.mark.parametrize(("one", "other", "same"), [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT  *\n\tWHERE  { ?s ?p ?o }  ", True),
    ("ASK { ?s ?p ?o } # one", "ASK { ?s ?p ?o }\n# two", True),
    ("ASK { ?s ?p 1.5 }", "ASK { ?s ?p 1 .5 }", False),
    ("ASK { ?s ?p 'a  b' }", "ASK { ?s ?p 'a b' }", False),
    ("ASK { ?s ?p <http://a#b> }", "ASK { ?s ?p <http://a> }", False),
    ('ASK { ?s ?p """x\n  y""" }', 'ASK { ?s ?p """x y""" }', False),
])
def test_normal_forms_are_equal_only_for_the_same_query(one: str, other: str,
                                                        same: bool) -> None:
    assert (normalise(one) == normalise(other)) is same


def test_a_query_without_service_or_from_letters_is_not_parsed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(query: str) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(hodo_query, "_parse", parse)
    hodo_query.refuse_unsafe(LABEL)


@pytest.mark.parametrize("query", [
    'SELECT * WHERE { ?s ?p "a serVICE of the liver" }',
    "SELECT * WHERE { ?s ?p 'from the article' }",
    "SELECT * WHERE { ?s <http://example.org/FROM> ?o }",
    "SELECT * WHERE { ?s ?p ?o } # service",
    "SELECT * WHERE { ?s ?p '\\u0073ervice' }",
])
def test_letters_of_service_or_from_anywhere_send_the_query_to_the_parser(
        monkeypatch: pytest.MonkeyPatch, query: str) -> None:
    seen: list[str] = []
    real = hodo_query._parse

    def parse(text: str) -> Any:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(hodo_query, "_parse", parse)
    hodo_query.refuse_unsafe(query)
    # each reading (as written, unescaped) that holds the letters
    assert seen and set(seen) <= {query, query.replace("\\u0073", "s")}
