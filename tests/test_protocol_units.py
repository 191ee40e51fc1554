"""The protocol's pure parts, without a server: update datasets, parameter decoding, sd:."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from hodo.core.formats import BY_NAME, formats_named, negotiate, offers_for
from hodo.core.formats import Kind as FormatKind
from hodo.engine.query import QueryError, refuse_unsafe, refuse_unsafe_update, with_using
from hodo.web.sparql import ProtocolError, decode_params, service_description

G = "http://example.org/g"
N = "http://example.org/n"


@pytest.mark.parametrize(("update", "expected"), [
    ("INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
     f"INSERT {{ ?s ?p 1 }} USING <{G}> USING NAMED <{N}> WHERE {{ ?s ?p ?o }}"),
    ("DELETE { ?s ?p ?o } INSERT { ?s ?p 1 }\nWHERE { ?s ?p ?o }",
     f"DELETE {{ ?s ?p ?o }} INSERT {{ ?s ?p 1 }}\nUSING <{G}> USING NAMED <{N}> "
     "WHERE { ?s ?p ?o }"),
    ("INSERT DATA { <http://a> <http://b> \"where\" } ; INSERT { ?s ?p 2 } WHERE "
     "{ { SELECT ?s ?p WHERE { ?s ?p ?o } } }",
     "INSERT DATA { <http://a> <http://b> \"where\" } ; INSERT { ?s ?p 2 } "
     f"USING <{G}> USING NAMED <{N}> WHERE {{ {{ SELECT ?s ?p WHERE {{ ?s ?p ?o }} }} }}"),
    ("INSERT { ?s ?p 1 } # WHERE in a comment\nWHERE { ?s ?p ?o }",
     f"INSERT {{ ?s ?p 1 }} # WHERE in a comment\nUSING <{G}> USING NAMED <{N}> "
     "WHERE { ?s ?p ?o }"),
    ("CLEAR ALL", "CLEAR ALL"),
], ids=["insert", "delete-insert", "where-in-string-and-subquery", "where-in-comment", "none"])
def test_with_using_puts_clauses_before_each_modify_where(update: str, expected: str) -> None:
    rewritten = with_using(update, [G], [N])
    assert rewritten == expected
    ox.Store().update(rewritten)  # still valid SPARQL Update


@pytest.mark.parametrize("update", [
    f"WITH <{G}> INSERT {{ ?s ?p 1 }} WHERE {{ ?s ?p ?o }}",
    f"INSERT {{ ?s ?p 1 }} USING <{G}> WHERE {{ ?s ?p ?o }}",
    "DELETE WHERE { ?s ?p ?o }",
])
def test_with_using_refuses_what_cannot_take_a_dataset(update: str) -> None:
    with pytest.raises(QueryError):
        with_using(update, [G], [])


def test_a_using_dataset_restricts_the_where() -> None:
    store = ox.Store()
    store.update(f'INSERT DATA {{ GRAPH <{G}> {{ <http://a> <http://p> 1 }} '
                 f'GRAPH <{N}> {{ <http://b> <http://p> 2 }} }}')
    store.update(with_using("INSERT { GRAPH <http://out> { ?s ?p ?o } } WHERE { ?s ?p ?o }",
                            [G], []))
    copied = {q.subject.value for q in store.quads_for_pattern(None, None, None,
                                                              ox.NamedNode("http://out"))}
    assert copied == {"http://a"}


@pytest.mark.parametrize(("update", "reason"), [
    ("LOAD <http://example.org/x>", "update"),
    ("load <file:///etc/passwd>", "update"),
    ("INSERT { ?s ?p ?o } WHERE { \\u0053ERVICE <http://x> { ?s ?p ?o } }", "service"),
    ("INSERT { ?s ?p ?o } WHERE { " + "{" * 100 + "}" * 100 + " }", "too_deep"),
], ids=["load", "load-file-lowercase", "service-escaped", "too-deep"])
def test_unsafe_updates(update: str, reason: str) -> None:
    with pytest.raises(QueryError) as caught:
        refuse_unsafe_update(update)
    assert caught.value.reason == reason


def test_a_protocol_dataset_makes_from_harmless() -> None:
    query = "SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }"
    with pytest.raises(QueryError):
        refuse_unsafe(query)
    refuse_unsafe(query, protocol_dataset=True)
    with pytest.raises(QueryError):  # SERVICE stays refused whatever the dataset
        refuse_unsafe("SELECT * WHERE { SERVICE <http://x> { ?s ?p ?o } }",
                      protocol_dataset=True)


@pytest.mark.parametrize(("raw", "expected"), [
    (b"query=ASK+%7B%7D", {"query": ["ASK {}"]}),
    (b"a=1&a=2&b=", {"a": ["1", "2"], "b": [""]}),
    ("label=肝".encode(), {"label": ["肝"]}),
])
def test_decode_params(raw: bytes, expected: dict[str, list[str]]) -> None:
    assert decode_params(raw, "URL").to_dict(flat=False) == expected


@pytest.mark.parametrize("raw", [b"query=%FF", b"query=\xff", b"q=%C3%28"])
def test_decode_params_refuses_what_is_not_utf8(raw: bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_params(raw, "URL")
    assert caught.value.status == 400


@pytest.mark.parametrize(("values", "expected"), [
    (["csv"], ["csv"]),
    (["tsv", "text/tab-separated-values"], ["tsv", "tsv"]),
    (["rdf+xml", "application/rdf+xml"], ["rdfxml", "rdfxml"]),
    (["n3"], ["turtle"]),
    (["nonsense"], []),
])
def test_formats_named(values: list[str], expected: list[str]) -> None:
    assert [f.name for f in formats_named(values)] == expected


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/turtle;q=0, */*", "ntriples"),
    ("*/*, application/ld+json", "jsonld"),
    ("application/*;q=0.5, text/turtle;q=0.4", "ntriples"),
    ("text/html, */*;q=0.1", "turtle"),
])
def test_most_specific_range_decides(accept: str, expected: str) -> None:
    assert negotiate(accept, offers_for(FormatKind.GRAPH)) == BY_NAME[expected]


def test_service_description_describes_the_endpoint() -> None:
    triples = service_description("http://h/sparql", [G], curator=False)
    store = ox.Store()
    store.extend([ox.Quad(t.subject, t.predicate, t.object) for t in triples])
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert store.query(f"ASK {{ ?s <{sd}endpoint> <http://h/sparql> ; "
                       f"<{sd}supportedLanguage> <{sd}SPARQL11Query> ; "
                       f"<{sd}defaultDataset>/<{sd}namedGraph>/<{sd}name> <{G}> }}")
    assert not store.query(f"ASK {{ ?s <{sd}supportedLanguage> <{sd}SPARQL11Update> }}")
    assert not store.query(f"ASK {{ ?s <{sd}feature> <{sd}BasicFederatedQuery> }}")
