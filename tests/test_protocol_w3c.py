"""The W3C SPARQL 1.1 Protocol test suite, every test, against a real ``hodo serve`` process.

The manifest and its data files sit beside the repository, in ``../shared/w3c-protocol/``. The
server runs in curator mode with a token; before each test the store is emptied (``DROP ALL``
through the update endpoint) and the test's graphs are uploaded through the Graph Store
Protocol. Requests go out byte for byte as the manifest writes them, over raw HTTP. The
manifest's paths all start with ``/sparql/``; HODO answers queries at ``/sparql`` and updates at
``/sparql/update``, so the first request of a test named for updates goes to the update
endpoint and every other request to the query endpoint.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from rdflib import Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import RDFS
from rdflib.term import Node

from tests.support.server import serving

#: Beside the repository; from a git worktree, beside the folder that holds the worktrees.
SUITE = next((folder / "shared" / "w3c-protocol" for folder in Path(__file__).resolve().parents[2:]
              if (folder / "shared" / "w3c-protocol").is_dir()),
             Path(__file__).resolve().parents[2] / "shared" / "w3c-protocol")
MANIFEST = SUITE / "manifest.ttl"
TOKEN = "w3c-protocol-suite-curator-token"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

RESULTS_TYPES = {"application/sparql-results+json", "application/sparql-results+xml",
                 "text/csv", "text/tab-separated-values"}
RDF_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt",
             "application/rdf+xml": "xml", "application/ld+json": "json-ld",
             "application/trig": "trig", "application/n-quads": "nquads"}


@dataclass(frozen=True)
class Request:
    """One HTTP request of a test and what its answer must be."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    statuses: frozenset[int]
    format: str | None
    boolean: bool | None


@dataclass(frozen=True)
class Case:
    """One manifest entry: graphs to load (IRI, file) and the requests, in order."""

    name: str
    graphs: tuple[tuple[str, Path], ...]
    requests: tuple[Request, ...]


def _status_class(node: Node) -> int:
    return int(str(node).removeprefix(str(HTS.StatusCode))[0])


def _request(graph: Graph, node: Node) -> Request:
    response = graph.value(node, HT.resp)
    headers: list[tuple[str, str]] = []
    header_list = graph.value(node, HT.headers)
    if header_list is not None:
        headers = [(str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
                   for h in Collection(graph, header_list)]
    body = None
    content = graph.value(node, HT.body)
    if content is not None:
        encoding = str(graph.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(content, CNT.chars)).encode(encoding)
    expected_format = graph.value(response, MF.expectedFormat)
    expected_boolean = graph.value(response, MF.expectedBoolean)
    return Request(
        method=str(graph.value(node, HT.methodName)),
        path=str(graph.value(node, HT.absolutePath)),
        headers=tuple(headers),
        body=body,
        statuses=frozenset(_status_class(s) for s in graph.objects(response,
                                                                   MF.expectedStatus)),
        format=str(expected_format) if expected_format is not None else None,
        boolean=expected_boolean.toPython() if expected_boolean is not None else None,
    )


def load_cases() -> list[Case]:
    """Every entry of the manifest, in its order."""
    graph = Graph().parse(MANIFEST, format="turtle")
    manifest = next(graph.subjects(MF.entries, None))
    cases = []
    for test in Collection(graph, graph.value(manifest, MF.entries)):
        action = graph.value(test, MF.action)
        requests = tuple(_request(graph, r)
                         for r in Collection(graph, graph.value(action, HT.requests)))
        graphs = tuple(sorted((str(graph.value(d, RDFS.label)),
                               SUITE / Path(urlsplit(str(graph.value(d, UT.graph))).path).name)
                              for d in graph.objects(test, UT.graphData)))
        name = str(test).rpartition("#")[2]
        cases.append(Case(name, graphs, requests))
    return cases


MISSING = (f"the W3C SPARQL 1.1 Protocol test suite is missing: expected {MANIFEST} "
           "(manifest.ttl and data1.nt ... data3.nt beside the repository, in "
           "../shared/w3c-protocol/)")
CASES = load_cases() if MANIFEST.is_file() else []


def test_the_suite_is_there_and_whole() -> None:
    assert MANIFEST.is_file(), MISSING
    assert len(CASES) == 34
    assert sum(len(c.requests) for c in CASES) == 39


@pytest.fixture(scope="module")
def server(release_dir: Path) -> Iterator[str]:
    """A curator-mode server with no rate limit: the suite sends requests back to back."""
    with serving(release_dir, curator_token=TOKEN, rate_limit="0") as running:
        yield running.url


def _send(base: str, method: str, path: str, headers: list[tuple[str, str]],
          body: bytes | None) -> tuple[int, str, bytes]:
    """One request exactly as given (http.client adds no Content-Type of its own)."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.putrequest(method, path)
        for name, value in [*headers, ("Authorization", f"Bearer {TOKEN}"),
                            ("Content-Length", str(len(body or b"")))]:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def _prepare(base: str, case: Case) -> None:
    """Empty the store, then upload the test's graphs under their names."""
    status, _, text = _send(base, "POST", "/sparql/update",
                            [("Content-Type", "application/sparql-update")], b"DROP ALL")
    assert status == 204, text
    for iri, path in case.graphs:
        status, _, text = _send(base, "PUT", f"/graph-store?graph={iri}",
                                [("Content-Type", "application/n-triples")],
                                path.read_bytes())
        assert status in (201, 204), text


def _endpoint_path(case: Case, index: int, path: str) -> str:
    update = "update" in case.name and index == 0
    rest = path.removeprefix("/sparql/")
    return ("/sparql/update" if update else "/sparql") + rest


def _check_format(request: Request, content_type: str, body: bytes) -> None:
    media = content_type.split(";")[0].strip()
    if request.format == "RDF":
        assert media in RDF_TYPES, content_type
        Graph().parse(data=body, format=RDF_TYPES[media])
        return
    assert media in RESULTS_TYPES, content_type
    if request.format == "boolean":
        assert media in ("application/sparql-results+json", "application/sparql-results+xml")
        answer = _boolean(media, body)
        if request.boolean is not None:
            assert answer is request.boolean


def _boolean(media: str, body: bytes) -> bool:
    if media == "application/sparql-results+json":
        value = json.loads(body)["boolean"]
        assert isinstance(value, bool)
        return value
    node = ElementTree.fromstring(body).find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert node is not None and node.text in ("true", "false")
    return node.text == "true"


@pytest.mark.parametrize("case", CASES or [None], ids=[c.name for c in CASES] or ["missing"])
@pytest.mark.server
def test_w3c_protocol(server: str, case: Case | None) -> None:
    assert case is not None, MISSING
    _prepare(server, case)
    for index, request in enumerate(case.requests):
        status, content_type, body = _send(server, request.method,
                                           _endpoint_path(case, index, request.path),
                                           list(request.headers), request.body)
        assert status // 100 in request.statuses, (status, body[:300])
        if request.format is not None:
            _check_format(request, content_type, body)
