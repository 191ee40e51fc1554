"""``/validate`` over HTTP: the form, good and bad data in several formats, every report format,
both languages, and the limits (unparseable 400, oversize 413, unsupported 415; time limit, no
free slot and memory cap 503)."""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SH

from hodo.engine.store import Release
from hodo.web.validate import Outcome, _report
from tests.support import DATA

GOOD = (DATA / "curator" / "good.ttl").read_bytes()
BAD = (DATA / "curator" / "bad.ttl").read_bytes()
HUNGRY = (DATA / "hungry.ttl").read_bytes()


@pytest.fixture(scope="module")
def web_app(release: Release) -> Flask:
    """One app for the module, so the release is parsed for validation once."""
    from hodo.web import create_app

    return create_app({"TESTING": True, "HODO_VALIDATE_MAX_BYTES": 20_000,
                       "HODO_VALIDATE_TIMEOUT": 60}, release=release)


@pytest.fixture()
def web(web_app: Flask) -> Iterator[FlaskClient]:
    with web_app.test_client() as client:
        yield client


def convert(data: bytes, fmt: ox.RdfFormat) -> bytes:
    return ox.serialize(ox.parse(data, format=ox.RdfFormat.TURTLE), format=fmt)


@pytest.mark.parametrize(("lang", "words"), [("en", "Validate your data"), ("zh", "校验您的数据")])
def test_form_page_in_each_language(web: FlaskClient, lang: str, words: str) -> None:
    response = web.get(f"/validate?lang={lang}")
    assert response.status_code == 200 and response.headers["Content-Language"] == lang
    page = response.get_data(as_text=True)
    assert words in page and 'name="data"' in page and 'type="file"' in page
    assert 'enctype="multipart/form-data"' in page


@pytest.mark.slow
def test_good_pasted_turtle_conforms_as_json(web: FlaskClient) -> None:
    response = web.post("/validate?reason=0", data={"data": GOOD.decode()},
                        headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"conforms": True, "problems": []}
    assert response.headers["X-HODO-Conforms"] == "true"


@pytest.mark.slow
def test_bad_upload_as_html_in_chinese(web: FlaskClient) -> None:
    upload = (io.BytesIO(convert(BAD, ox.RdfFormat.RDF_XML)), "curation.owl")
    response = web.post("/validate?reason=0", data={"file": upload},
                        headers={"Accept": "text/html", "Accept-Language": "zh-CN"},
                        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["X-HODO-Conforms"] == "false"
    assert "该术语缺少中文（@zh）标签。" in page
    assert "P值（OBI:0000175）必须介于 0 与 1 之间。" in page
    assert "https://w3id.org/hodo/HODO_0000198" in page and 'name="data"' in page


@pytest.mark.slow
def test_bad_jsonld_body_as_shacl_turtle(web: FlaskClient) -> None:
    response = web.post("/validate?reason=0", data=convert(BAD, ox.RdfFormat.JSON_LD),
                        headers={"Content-Type": "application/ld+json",
                                 "Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.mimetype == "text/turtle"
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    (report,) = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(report, SH.conforms) == Literal(False)
    shapes = {str(s) for s in graph.objects(None, SH.sourceShape)}
    assert "https://w3id.org/hodo/shapes/PValueShape" in shapes
    assert "https://w3id.org/hodo/shapes/LabelZhShape" in shapes
    assert "https://w3id.org/hodo/qc/missing-label-zh" not in shapes  # reported once


@pytest.mark.slow
def test_bad_ntriples_as_text_in_english(web: FlaskClient) -> None:
    response = web.post("/validate?reason=0&format=text",
                        data=convert(BAD, ox.RdfFormat.N_TRIPLES),
                        headers={"Content-Type": "application/n-triples"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "The term has no Chinese (@zh) label." in text and "VIOLATION" in text


@pytest.mark.slow
def test_reasoner_runs_by_default(web: FlaskClient) -> None:
    response = web.post("/validate", data=(DATA / "inconsistent.ttl").read_bytes(),
                        headers={"Content-Type": "text/turtle", "Accept": "application/json"})
    report = json.loads(response.get_data(as_text=True))
    assert response.status_code == 200 and report["conforms"] is False
    assert any(p["check"] == "reasoner" and "不一致" in p["message_zh"]
               for p in report["problems"])


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n  ex:d .\n", "text/turtle",
     "request body: line 3, column 8"),
    (b'{"@context": "http://127.0.0.1:9/c.jsonld", "@id": "http://x/a"}', "application/ld+json",
     "remote JSON-LD contexts are not fetched"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa">]>\n<r/>', "application/rdf+xml",
     "entity declarations are not accepted"),
])
def test_unusable_data_is_400(web: FlaskClient, body: bytes, content_type: str,
                              expected: str) -> None:
    response = web.post("/validate?reason=0", data=body,
                        headers={"Content-Type": content_type, "Accept": "text/plain"})
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)


def test_empty_submission_is_400_in_chinese(web: FlaskClient) -> None:
    response = web.post("/validate?lang=zh", data={"data": "  "},
                        headers={"Accept": "text/plain"})
    assert response.status_code == 400
    assert "请提交 RDF 数据" in response.get_data(as_text=True)


@pytest.mark.parametrize("how", ["body", "form", "upload"])
def test_oversize_data_is_413(web: FlaskClient, how: str) -> None:
    big = b"# " + b"x" * 30_000 + b"\n"
    if how == "body":
        response = web.post("/validate", data=big, headers={"Content-Type": "text/turtle",
                                                           "Accept": "text/plain"})
    elif how == "form":
        response = web.post("/validate", data={"data": big.decode()},
                            headers={"Accept": "text/plain"})
    else:
        response = web.post("/validate", data={"file": (io.BytesIO(big), "big.ttl")},
                            headers={"Accept": "text/plain"},
                            content_type="multipart/form-data")
    assert response.status_code == 413
    assert "20000" in response.get_data(as_text=True) or "Too Large" in response.get_data(
        as_text=True)


def test_unsupported_media_type_is_415(web: FlaskClient) -> None:
    response = web.post("/validate", data=b"a,b\n", headers={"Content-Type": "text/csv",
                                                            "Accept": "text/plain"})
    assert response.status_code == 415 and "text/csv" in response.get_data(as_text=True)


def test_unacceptable_report_format_is_406(web: FlaskClient) -> None:
    response = web.post("/validate", data=GOOD, headers={"Content-Type": "text/turtle",
                                                        "Accept": "image/png"})
    assert response.status_code == 406


def test_time_limit_kills_the_validation_with_503(release: Release) -> None:
    from hodo.web import create_app

    app = create_app({"TESTING": True, "HODO_VALIDATE_TIMEOUT": 0.05}, release=release)
    response = app.test_client().post("/validate?lang=zh", data=GOOD, headers={
        "Content-Type": "text/turtle", "Accept": "text/plain"})
    assert response.status_code == 503
    assert "校验未能在 0.05 秒内完成" in response.get_data(as_text=True)


def test_limits_are_those_the_app_was_made_with(web_app: Flask, web: FlaskClient) -> None:
    """Read once, from the checked settings: a later change of the config changes nothing."""
    web_app.config["HODO_VALIDATE_MAX_BYTES"] = 10
    try:
        response = web.post("/validate?reason=0", data=b"ex:a ex:b " + b"x" * 100,
                            headers={"Content-Type": "text/turtle", "Accept": "text/plain"})
    finally:
        web_app.config["HODO_VALIDATE_MAX_BYTES"] = 20_000
    assert response.status_code == 400, response.get_data(as_text=True)  # parsed, not 413
    assert "20000" in web.get("/validate").get_data(as_text=True).replace(",", "")


def test_no_free_slot_is_503_with_retry_after_at_once(web_app: Flask,
                                                     web: FlaskClient) -> None:
    from hodo.web.validate import state

    slots = state(web_app).slots
    held = [slots.claim() for _ in range(slots.count)]
    try:
        response = web.post("/validate?reason=0&lang=zh", data=GOOD,
                            headers={"Content-Type": "text/turtle", "Accept": "text/plain"})
    finally:
        for index in held:
            assert index is not None
            slots.release(index)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "另一项校验正在进行" in response.get_data(as_text=True)


@pytest.mark.slow
def test_a_validation_over_its_memory_is_503_that_says_so(release: Release) -> None:
    """A few lines of OWL (a class with a hundred million r-successors) that fill any heap
    HermiT has: stopped at the cap, and said so."""
    from hodo.web import create_app

    app = create_app({"TESTING": True, "HODO_VALIDATE_TIMEOUT": 120,
                      "HODO_VALIDATE_MEMORY_MB": 512}, release=release)
    response = app.test_client().post("/validate", data=HUNGRY, headers={
        "Content-Type": "text/turtle", "Accept": "text/plain"})
    assert response.status_code == 503
    assert "more than its 512 MB of memory" in response.get_data(as_text=True)


@pytest.mark.parametrize(("fmt", "media"), [(ox.RdfFormat.N_QUADS, "application/n-quads"),
                                            (ox.RdfFormat.TRIG, "application/trig")],
                         ids=["nquads", "trig"])
@pytest.mark.slow
def test_good_data_in_dataset_formats(web: FlaskClient, fmt: ox.RdfFormat, media: str) -> None:
    response = web.post("/validate?reason=0&format=json", data=convert(GOOD, fmt),
                        headers={"Content-Type": media})
    assert response.status_code == 200 and response.get_json()["conforms"] is True


@pytest.mark.slow
def test_pasted_data_comes_back_in_the_form_escaped(web: FlaskClient) -> None:
    pasted = BAD.decode() + "\n# </textarea><script>alert(1)</script>\n"
    response = web.post("/validate?reason=0", data={"data": pasted},
                        headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "&lt;/textarea&gt;&lt;script&gt;" in page and "<script>alert(1)" not in page
    assert "hodo:HODO_0000198 a owl:Class" in page


@pytest.mark.slow
def test_reasoner_unavailable_is_503(web: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from hodo.pipeline import reason

    def no_java(*_: object, **__: object) -> None:
        raise reason.ReasonerUnavailable("HermiT could not run: java not found")

    monkeypatch.setattr(reason, "_hermit", no_java)
    response = web.post("/validate?lang=zh", data=GOOD,
                        headers={"Content-Type": "text/turtle", "Accept": "text/plain"})
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "java not found" in text and "reason=0" in text and "推理机" in text


def test_the_child_report_is_read_as_json_and_never_unpickled() -> None:
    """A child that sends anything but its JSON report (a pickle, say) has failed."""
    assert _report(b'{"body": "ok", "conforms": false}') == Outcome(body="ok", conforms=False)
    crafted = pickle.dumps(Outcome(body="x"))
    assert _report(crafted).failure == "the validation process sent an unreadable report"
    assert _report(b'{"no_such_field": 1}').failure is not None
