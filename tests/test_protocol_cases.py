"""Protocol behaviour, one case per file in ``tests/data/protocol/``, against a real server process.

A case is one HTTP request (method, path, URL parameters or a raw query string, headers, and a
form, text or hex body) and what must come back: the status, the media type, text the body must
contain, response headers, an ASK answer, or a body that parses as RDF. They cover every result
format, content negotiation, the dataset parameters, and every refusal of the public endpoint.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import pyoxigraph as ox
import pytest
from rdflib import Graph

from tests.support.server import serving

CASES_DIR = Path(__file__).parent / "data" / "protocol"
CASES = sorted(CASES_DIR.glob("*.json"))
#: rdflib reads the graph formats (an independent parser); its quad parsers warn of their own
#: deprecations, so pyoxigraph reads TriG and N-Quads.
RDF_PARSERS = {"text/turtle": "turtle", "application/n-triples": "nt",
               "application/rdf+xml": "xml", "application/ld+json": "json-ld"}
QUAD_PARSERS = {"application/trig": ox.RdfFormat.TRIG,
                "application/n-quads": ox.RdfFormat.N_QUADS}


@pytest.fixture(scope="module")
def server(release_dir: Path) -> Iterator[str]:
    """A public-mode server with no rate limit: the cases run back to back."""
    with serving(release_dir, rate_limit="0") as running:
        yield running.url


def _request_parts(case: dict[str, Any]) -> tuple[str, dict[str, str], bytes | None]:
    """The target (path and query string), headers and body a case describes."""
    query = case.get("raw_query") or urlencode([tuple(p) for p in case.get("params", [])])
    target = case["path"] + (f"?{query}" if query else "")
    headers = dict(case.get("headers", {}))
    body: bytes | None = None
    if "form" in case:
        body = urlencode([tuple(p) for p in case["form"]]).encode("ascii")
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif "body" in case:
        body = case["body"].encode("utf-8")
    elif "body_hex" in case:
        body = bytes.fromhex(case["body_hex"])
    return target, headers, body


def send(base: str, case: dict[str, Any]) -> tuple[int, http.client.HTTPMessage, bytes]:
    """The case's request over raw HTTP (nothing added but Content-Length): status, headers,
    body."""
    target, headers, body = _request_parts(case)
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.putrequest(case["method"], target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        with connection.getresponse() as response:
            return response.status, response.headers, response.read()
    finally:
        connection.close()


def _boolean(media: str, body: bytes) -> bool:
    if media == "application/sparql-results+json":
        return bool(json.loads(body)["boolean"])
    node = ElementTree.fromstring(body).find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert node is not None
    return node.text == "true"


def _triples(media: str, body: bytes) -> int:
    """How many statements the body holds, read by a parser for its media type."""
    if media in QUAD_PARSERS:
        return len(list(ox.parse(body, format=QUAD_PARSERS[media])))
    return len(Graph().parse(data=body, format=RDF_PARSERS[media]))


def test_there_are_cases() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
@pytest.mark.server
def test_protocol_case(server: str, path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    status, headers, body = send(server, case)
    text = body.decode("utf-8")
    assert status == case["status"], text[:300]
    media = (headers["Content-Type"] or "").split(";")[0].strip()
    if "content_type" in case:
        assert media == case["content_type"]
    for expected in case.get("contains", []):
        assert expected in text
    for name, expected in case.get("response_headers", {}).items():
        assert expected in (headers[name] or "")
    if "boolean" in case:
        assert _boolean(media, body) is case["boolean"]
    if case.get("rdf"):
        assert _triples(media, body) > 0
    if status >= 400:
        assert "Traceback" not in text
