"""``/validate``: curators upload or paste RDF and get the same report as ``hodo validate``.

The data is merged with the release and checked against the SHACL shapes, the QC rules and
(unless ``reason=0``) HermiT. pySHACL and HermiT cannot be interrupted from inside, so each
validation runs in a forked child process in its own process group; when it overruns the time
limit the whole group (the reasoner's Java process too) is killed and the client gets 503.
Uploads are size-limited before they are read (413). The report comes in the format the client's
``Accept`` (or ``?format=``) asks for: an HTML page, JSON, the SHACL report in Turtle, or text.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request
from rdflib import Graph
from werkzeug.exceptions import RequestEntityTooLarge

from hodo.core.formats import BY_NAME
from hodo.core.i18n import add_messages, choose_language, translate
from hodo.core.lifetime import die_with_parent
from hodo.core.rdfinput import INPUT_FORMATS, InputError, format_for, parse_document
from hodo.core.settings import read as read_setting
from hodo.pipeline.reason import ReasonerUnavailable
from hodo.pipeline.validate import REPORT_FORMATS, Check, format_html_fragment, validate
from hodo.web.errors import error_response
from hodo.web.state import state as app_state

bp = Blueprint("validate", __name__)

#: Report formats by media type, in the order offered when the client accepts anything.
MEDIA_TYPES = {"text/html": "html", "application/json": "json", "text/turtle": "turtle",
               "text/plain": "text"}

#: Messages of this endpoint, in both languages (in the one table of ``hodo.core.i18n``).
add_messages({
    "validate_no_data": {
        "en": "send RDF data: paste it in the 'data' field, upload it as 'file', or "
              "POST it as the body with its media type",
        "zh": "请提交 RDF 数据：粘贴到 data 字段、以 file 上传，"
              "或以其媒体类型作为请求体提交",
    },
    "validate_too_large": {
        "en": "the data is larger than {limit} bytes",
        "zh": "数据超过 {limit} 字节的上限",
    },
    "validate_timeout": {
        "en": "validation did not finish within {seconds:g} seconds; send less data or "
              "run `hodo validate` locally",
        "zh": "校验未能在 {seconds:g} 秒内完成；请减少数据量或在本地运行 `hodo validate`",
    },
    "validate_crashed": {"en": "validation failed unexpectedly", "zh": "校验意外失败"},
    "validate_no_reasoner": {
        "en": "the OWL reasoner cannot run here ({why}); send reason=0 to validate "
              "without it",
        "zh": "此处无法运行 OWL 推理机（{why}）；请加 reason=0 在不推理的情况下校验",
    },
    "validate_not_acceptable": {
        "en": "the report is available as " + ", ".join(MEDIA_TYPES),
        "zh": "报告可用的格式为 " + ", ".join(MEDIA_TYPES),
    },
    "validate_no_base": {
        "en": "the release has no hodo.nt to validate against; run `hodo build`",
        "zh": "发布版本中没有可供校验的 hodo.nt；请运行 `hodo build`",
    },
    "validate_title": {"en": "Validate your data", "zh": "校验您的数据"},
    "validate_intro": {
        "en": "Paste or upload RDF (Turtle, N-Triples, RDF/XML, JSON-LD, N-Quads, TriG). "
              "It is merged with HODO and checked against the SHACL shapes, the QC rules "
              "and the OWL reasoner.",
        "zh": "粘贴或上传 RDF 数据（Turtle、N-Triples、RDF/XML、JSON-LD、N-Quads、TriG）。"
              "数据将与 HODO 合并，并依据 SHACL 约束、质量控制规则和 OWL 推理机进行校验。",
    },
    "validate_paste": {"en": "Paste data", "zh": "粘贴数据"},
    "validate_upload": {"en": "or upload a file", "zh": "或上传文件"},
    "validate_format": {"en": "Format", "zh": "格式"},
    "validate_by_extension": {"en": "(from the file name)", "zh": "（根据文件名判断）"},
    "validate_reason": {"en": "Run the OWL reasoner (slower)", "zh": "运行 OWL 推理机（较慢）"},
    "validate_submit": {"en": "Validate", "zh": "校验"},
    "validate_limits": {
        "en": "Up to {limit} bytes; {seconds:g} seconds at most.",
        "zh": "最多 {limit} 字节；最长 {seconds:g} 秒。",
    },
})


def say(key: str, lang: str, **values: Any) -> str:
    """A message of this endpoint in ``lang``."""
    return translate(f"validate_{key}", lang).format(**values)


@dataclass(frozen=True)
class Job:
    """One validation to run in a child process."""

    data: bytes
    format_name: str
    name: str
    report_format: str
    lang: str
    reason: bool


@dataclass(frozen=True)
class Outcome:
    """What the child answered: a report body, or an input error for the client."""

    body: str = ""
    conforms: bool = True
    input_error: str | None = None
    unavailable: str | None = None
    failure: str | None = None


def run_job(base: Graph, job: Job) -> Outcome:
    """Parse, merge with ``base`` and validate; render the report (runs in the child)."""
    try:
        parse_document(job.data, BY_NAME[job.format_name], job.name, base)
    except InputError as error:
        return Outcome(input_error=str(error))
    checks = [c for c in Check if job.reason or c is not Check.REASONER]
    try:
        report = validate(base, checks)
    except ReasonerUnavailable as error:
        return Outcome(unavailable=str(error))
    if job.report_format == "html":
        body = format_html_fragment(report, base, job.lang)
    else:
        body = REPORT_FORMATS[job.report_format].write(report, base, job.lang)
    return Outcome(body=body, conforms=report.conforms)


def _child(conn: Any, base: Graph, job: Job) -> None:
    """Entry of the child: its own process group, so the reasoner's JVM dies with it; and it
    dies with the web worker (the request thread that forked it waits for it)."""
    parent = multiprocessing.parent_process()
    die_with_parent(parent.pid if parent is not None and parent.pid else os.getppid())
    os.setpgrp()
    try:
        outcome = run_job(base, job)
    except Exception as error:  # reported to the parent, which answers with a short message
        outcome = Outcome(failure=f"{type(error).__name__}: {error}")
    conn.send(outcome)
    conn.close()


def run_isolated(base: Graph, job: Job, timeout: float) -> Outcome | None:
    """Run ``job`` in a forked child; None when it overran ``timeout`` and was killed.

    Forking shares the parsed release with the child without copying it.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, base, job), daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(timeout):
            try:
                return receiver.recv()  # type: ignore[no-any-return]
            except EOFError:
                return Outcome(failure="the validation process exited without a report")
        return None
    finally:
        _kill_group(process.pid)
        process.join(5)
        receiver.close()


def _kill_group(pid: int | None) -> None:
    """Kill the child's process group (the child and anything it started)."""
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)





def _lang() -> str:
    return getattr(g, "lang", None) or choose_language(
        request.args.get("lang"), request.headers.get("Accept-Language"))


def _report_format() -> str | None:
    """The report format: ``?format=`` if given, else the best of ``Accept`` (HTML first)."""
    asked = request.args.get("format")
    if asked:
        return asked if asked in MEDIA_TYPES.values() else None
    if not request.headers.get("Accept"):
        return "html"
    best = request.accept_mimetypes.best_match(list(MEDIA_TYPES))
    return MEDIA_TYPES[best] if best else None


def _base_graph() -> Graph | None:
    """The release as an rdflib graph, parsed once per app and shared with every child."""
    held = app_state()
    if held.validate_base is None:
        path = held.release.path.parent / "hodo.nt"
        if not path.is_file():
            return None
        held.validate_base = Graph().parse(path, format="nt")
    return held.validate_base


def _submission(limit: int, lang: str) -> tuple[bytes, str, str] | Response:
    """The posted data, its format name and a name for messages; or an error response."""
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        return error_response(413, say("too_large", lang, limit=limit))
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        upload = request.files.get("file")
        chosen = request.form.get("format") or ""
        if upload and upload.filename:
            data, name = upload.read(limit + 1), upload.filename
        else:
            data, name = (request.form.get("data") or "").encode("utf-8"), "pasted data"
        if chosen and chosen not in INPUT_FORMATS:
            return error_response(400, f"format must be one of {', '.join(INPUT_FORMATS)}")
        try:
            fmt = chosen or (format_for(name).name if upload and upload.filename else "turtle")
        except InputError as error:
            return error_response(400, str(error))
    else:
        data, name = _read_capped(limit), "request body"
        try:
            fmt = format_for(name, request.mimetype or "text/turtle").name
        except InputError as error:
            return error_response(415, str(error))
    if len(data) > limit:
        return error_response(413, say("too_large", lang, limit=limit))
    if not data.strip():
        return error_response(400, say("no_data", lang))
    return data, fmt, name


def _read_capped(limit: int) -> bytes:
    """The body, or ``limit + 1`` bytes when it is longer. A body without Content-Length
    (chunked) arrives through a stream that stops quietly at the limit and raises only when
    read past it: read one byte more, so that a long body is refused, not validated cut short.
    """
    try:
        data = request.stream.read(limit + 1)
        if len(data) == limit and request.stream.read(1):
            return data + b"\0"
    except RequestEntityTooLarge:
        return b"\0" * (limit + 1)
    return data


@bp.route("/validate", methods=["GET", "POST"])
def validate_page() -> Response:
    lang = _lang()
    # read at each request: the limits may be changed on a running app's config
    limit = read_setting(current_app.config, "HODO_VALIDATE_MAX_BYTES")
    timeout = read_setting(current_app.config, "HODO_VALIDATE_TIMEOUT")
    if request.method == "GET":
        return _page(lang, limit, timeout)
    report_format = _report_format()
    if report_format is None:
        return error_response(406, say("not_acceptable", lang))
    submission = _submission(limit, lang)
    if isinstance(submission, Response):
        return submission
    base = _base_graph()
    if base is None:
        return error_response(503, say("no_base", lang))
    data, fmt, name = submission
    reason = request.values.get("reason", "1").lower() not in ("0", "false", "no", "off", "")
    outcome = run_isolated(base, Job(data, fmt, name, report_format, lang, reason), timeout)
    if outcome is None:
        return error_response(503, say("timeout", lang, seconds=timeout))
    if outcome.input_error:
        return error_response(400, outcome.input_error)
    if outcome.unavailable:
        return error_response(503, say("no_reasoner", lang, why=outcome.unavailable))
    if outcome.failure:
        current_app.logger.error("validation failed: %s", outcome.failure)
        return error_response(500, say("crashed", lang))
    if report_format == "html":
        pasted = data.decode("utf-8", "replace") if name == "pasted data" else ""
        return _page(lang, limit, timeout, outcome, pasted)
    media = next(m for m, f in MEDIA_TYPES.items() if f == report_format)
    return _response(outcome.body, media, lang, outcome.conforms)


def _page(lang: str, limit: int, timeout: float, outcome: Outcome | None = None,
          pasted: str = "") -> Response:
    """The form (with what was pasted, to edit and resubmit) and the report, if there is one."""
    body = render_template("validate.html", lang=lang, formats=INPUT_FORMATS,
                           s=lambda key, **v: say(key, lang, **v), limit=limit, timeout=timeout,
                           report=outcome.body if outcome else None, pasted=pasted)
    conforms = outcome.conforms if outcome else None
    return _response(body, "text/html", lang, conforms)


def _response(body: str, media: str, lang: str, conforms: bool | None) -> Response:
    response = Response(body, 200, content_type=f"{media}; charset=utf-8")
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept, Accept-Language"
    if conforms is not None:
        response.headers["X-HODO-Conforms"] = "true" if conforms else "false"
    return response
