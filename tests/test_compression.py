"""gzip for clients that take it: the answer's bytes are the same once decompressed, its tag
names the compressed representation, and nothing changes for clients that do not ask."""

from __future__ import annotations

import gzip

import pytest
from flask.testing import FlaskClient

from hodo.web.compression import MIN_BYTES

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
#: Paths whose answers are text and longer than MIN_BYTES: a page, a script, a release file,
#: a query result and JSON.
LONG = ["/HODO_0000001", "/static/vendor/yasgui.min.js", "/hodo.ttl",
        "/sparql?query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20LIMIT%20200",
        "/api/ontologies/hodo/terms?size=50"]


def _vary(response: object) -> set[str]:
    header = response.headers.get("Vary", "")  # type: ignore[attr-defined]
    return {part.strip().lower() for part in header.split(",") if part.strip()}


@pytest.mark.parametrize("path", LONG)
def test_a_long_text_answer_is_gzipped_for_a_client_that_takes_it(client: FlaskClient,
                                                                   path: str) -> None:
    plain = client.get(path)
    packed = client.get(path, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers and len(plain.data) >= MIN_BYTES
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    assert gzip.decompress(packed.data) == plain.data
    assert "accept-encoding" in _vary(plain) and "accept-encoding" in _vary(packed)
    if "ETag" in plain.headers:
        assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'


def test_the_gzip_tag_revalidates(client: FlaskClient) -> None:
    first = client.get("/hodo.ttl", headers=GZIP)
    again = client.get("/hodo.ttl", headers={**GZIP, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]
    plain_tag = client.get("/hodo.ttl").headers["ETag"]
    assert plain_tag != first.headers["ETag"]
    assert client.get("/hodo.ttl", headers={"If-None-Match": plain_tag}).status_code == 304


@pytest.mark.parametrize("encoding", ["gzip;q=0", "identity", "br", "deflate, *;q=0"])
def test_no_gzip_for_a_client_that_refuses_it(client: FlaskClient, encoding: str) -> None:
    response = client.get("/hodo.ttl", headers={"Accept-Encoding": encoding})
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b"#") or response.data.startswith(b"@")


def test_short_answers_are_sent_as_they_are(client: FlaskClient) -> None:
    short = client.get("/sparql?query=ASK%20%7B%7D", headers=GZIP)
    assert short.status_code == 200 and len(short.data) < MIN_BYTES
    assert "Content-Encoding" not in short.headers
    assert "accept-encoding" in _vary(short)  # a longer answer at this URL would be gzipped


def test_head_describes_the_plain_representation(client: FlaskClient) -> None:
    head = client.head("/hodo.ttl", headers=GZIP)
    plain = client.get("/hodo.ttl")
    assert head.status_code == 200 and head.data == b""
    assert "Content-Encoding" not in head.headers
    assert head.headers["ETag"] == plain.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(plain.data))
