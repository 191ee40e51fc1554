"""The production server, started as users start it, queried by real SPARQL clients."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, VOID, Namespace
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from hodo.pipeline.build import BuildReport
from tests.support.server import serving
from tests.terms import HEPATIC_OSTEODYSTROPHY, HODO

pytestmark = pytest.mark.server

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

LABELS = (f"SELECT ?label WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> "
          "<http://www.w3.org/2000/01/rdf-schema#label> ?label }")
ZH = "肝性骨病"


@pytest.fixture(scope="module")
def server(release_dir: Path) -> Iterator[str]:
    with serving(release_dir) as running:
        yield running.url


def _client(server: str, fmt: str, query: str = LABELS) -> SPARQLWrapper:
    client = SPARQLWrapper(server + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


def test_sparqlwrapper_json(server: str) -> None:
    result = _client(server, JSON).queryAndConvert()
    labels = {(b["label"]["value"], b["label"].get("xml:lang"))
              for b in result["results"]["bindings"]}  # type: ignore[index]
    assert (ZH, "zh") in labels


def test_sparqlwrapper_xml(server: str) -> None:
    document = _client(server, XML).queryAndConvert()
    texts = [n.firstChild.data for n in document.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert ZH in texts


@pytest.mark.parametrize(("fmt", "delimiter"), [(CSV, ","), (TSV, "\t")])
def test_sparqlwrapper_csv_tsv(server: str, fmt: str, delimiter: str) -> None:
    body = _client(server, fmt).queryAndConvert()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8")), delimiter=delimiter))  # type: ignore[union-attr]
    assert any(ZH in cell for row in rows for cell in row)


def test_sparqlwrapper_construct_turtle(server: str) -> None:
    query = (f"CONSTRUCT {{ <{HEPATIC_OSTEODYSTROPHY}> ?p ?o }} "
             f"WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> ?p ?o }}")
    body = _client(server, TURTLE, query).queryAndConvert()
    graph = Graph().parse(data=body, format="turtle")  # type: ignore[arg-type]
    assert (URIRef(HEPATIC_OSTEODYSTROPHY), RDFS.label, Literal(ZH, lang="zh")) in graph


def test_rdflib_sparqlstore(server: str) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(server + "/sparql", returnFormat="json")
    graph = Graph(store=store)
    labels = {row[0] for row in graph.query(LABELS)}  # type: ignore[index]
    assert Literal(ZH, lang="zh") in labels


def test_bad_query_over_http_is_400(server: str) -> None:
    request = urllib.request.Request(server + "/sparql", data=b"SELECT ?x WHERE {",
                                     headers={"Content-Type": "application/sparql-query"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    assert caught.value.read().decode().startswith("SPARQL syntax error")


def test_term_page_in_chinese(server: str) -> None:
    with urllib.request.urlopen(server + "/HODO_0000001?lang=zh", timeout=10) as response:
        assert response.headers["Content-Language"] == "zh"
        assert ZH in response.read().decode("utf-8")


def test_served_by_granian(server: str) -> None:
    with urllib.request.urlopen(server + "/health", timeout=10) as response:
        assert response.headers["Server"] == "granian"
        assert json.loads(response.read())["status"] == "ok"


def test_gunicorn_serves_too(release_dir: Path) -> None:
    with serving(release_dir, workers=1, args=["--server", "gunicorn"]) as running:
        url = running.url
        request = urllib.request.Request(
            url + "/sparql?" + urllib.parse.urlencode({"query": LABELS}),
            headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Server"].startswith("gunicorn")
            labels = {b["label"]["value"] for b in json.load(response)["results"]["bindings"]}
            assert ZH in labels


def test_sparqlwrapper_post_form(server: str) -> None:
    client = _client(server, JSON)
    client.setMethod(POST)
    result = client.queryAndConvert()
    assert ZH in {b["label"]["value"] for b in result["results"]["bindings"]}  # type: ignore[index]


@pytest.mark.parametrize(("query", "expected"), [
    (f'ASK {{ <{HEPATIC_OSTEODYSTROPHY}> ?p "{ZH}"@zh }}', True),
    (f'ASK {{ <{HEPATIC_OSTEODYSTROPHY}> ?p "{ZH}"@en }}', False),
])
def test_sparqlwrapper_ask(server: str, query: str, expected: bool) -> None:
    assert _client(server, JSON, query).queryAndConvert()["boolean"] is expected  # type: ignore[index]


@pytest.mark.parametrize("fmt", [RDFXML, JSONLD, N3])
def test_sparqlwrapper_construct_formats(server: str, fmt: str) -> None:
    query = (f"CONSTRUCT {{ <{HEPATIC_OSTEODYSTROPHY}> ?p ?o }} "
             f"WHERE {{ <{HEPATIC_OSTEODYSTROPHY}> ?p ?o }}")
    result = _client(server, fmt, query).queryAndConvert()
    # SPARQLWrapper gives a graph for RDF/XML and JSON-LD, the Turtle text for N3
    graph = Graph().parse(data=result, format="turtle") if isinstance(result, bytes) else result
    assert (URIRef(HEPATIC_OSTEODYSTROPHY), RDFS.label, Literal(ZH, lang="zh")) in graph  # type: ignore[operator]


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore_methods(server: str, method: str) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(server + "/sparql", method=method, returnFormat="xml"))
    assert Literal(ZH, lang="zh") in {row[0] for row in graph.query(LABELS)}  # type: ignore[index]


def test_rdflib_reads_the_service_description(server: str) -> None:
    graph = Graph().parse(server + "/sparql")
    assert (URIRef(server + "/sparql#service"), SD.endpoint, URIRef(server + "/sparql")) in graph
    assert (URIRef(server + "/sparql#service"), SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (None, SD.name, URIRef(HODO + "graph/findings")) in graph


def test_rdflib_reads_void(server: str, release_build: BuildReport) -> None:
    graph = Graph().parse(server + "/.well-known/void")
    for name in ("ontology", "imports", "findings"):
        triples = graph.value(URIRef(HODO + f"graph/{name}"), VOID.triples)
        assert triples is not None and int(triples) == release_build.triples[name]
    assert (URIRef(HODO + "dataset"), VOID.sparqlEndpoint, URIRef(server + "/sparql")) in graph


CURATOR_TOKEN = "server-test-curator-token-0123456789"


@pytest.fixture(scope="module")
def curator_server(release_dir: Path) -> Iterator[str]:
    with serving(release_dir, curator_token=CURATOR_TOKEN) as running:
        yield running.url


def test_rdflib_update_store_in_curator_mode(curator_server: str) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

    store = SPARQLUpdateStore(curator_server + "/sparql", curator_server + "/sparql/update",
                              headers={"Authorization": f"Bearer {CURATOR_TOKEN}"})
    staged = Graph(store=store, identifier=URIRef("http://example.org/staged"))
    staged.add((URIRef("http://example.org/s"), RDFS.label, Literal("骨", lang="zh")))
    query = 'ASK { GRAPH <http://example.org/staged> { ?s ?p "骨"@zh } }'
    assert _client(curator_server, JSON, query).queryAndConvert()["boolean"] is True  # type: ignore[index]


def test_rdflib_update_store_without_token_is_401(curator_server: str) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

    store = SPARQLUpdateStore(curator_server + "/sparql", curator_server + "/sparql/update")
    staged = Graph(store=store, identifier=URIRef("http://example.org/refused"))
    with pytest.raises(urllib.error.HTTPError) as caught:
        staged.add((URIRef("http://example.org/s"), RDFS.label, Literal("x")))
    caught.value.close()
    assert caught.value.code == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")
