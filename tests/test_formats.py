"""Content negotiation over the one format table."""

from __future__ import annotations

import pytest

from hodo.core.formats import BY_NAME, Kind, negotiate, offers_for, parse_accept

RESULTS = offers_for(Kind.RESULTS)
GRAPH = offers_for(Kind.GRAPH)


@pytest.mark.parametrize(("accept", "expected"), [
    (None, "json"),
    ("", "json"),
    ("*/*", "json"),
    ("text/csv", "csv"),
    ("text/*", "csv"),
    ("application/sparql-results+xml;q=0.9, text/tab-separated-values", "tsv"),
    ("application/json", "json"),
    ("text/xml", "xml"),
    ("garbage, text/csv;q=abc, text/tab-separated-values;q=0.1", "tsv"),
])
def test_results_negotiation(accept: str | None, expected: str) -> None:
    assert negotiate(accept, RESULTS) == BY_NAME[expected]


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/turtle", "turtle"),
    ("application/ld+json", "jsonld"),
    ("application/rdf+xml;q=1, text/turtle;q=0.5", "rdfxml"),
    ("application/n-triples", "ntriples"),
    ("application/n-quads", "nquads"),
])
def test_graph_negotiation(accept: str, expected: str) -> None:
    assert negotiate(accept, GRAPH) == BY_NAME[expected]


def test_nothing_acceptable() -> None:
    assert negotiate("image/png", RESULTS) is None
    assert negotiate("text/turtle;q=0", GRAPH) is None


def test_parse_accept_orders_by_q_then_specificity() -> None:
    assert [m for m, _ in parse_accept("*/*;q=0.5, text/*;q=0.5, text/csv;q=0.5")] == [
        "text/csv", "text/*", "*/*"]
