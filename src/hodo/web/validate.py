"""``/validate``: curators upload or paste RDF and get the same report as ``hodo validate``.

The data is merged with the release and checked against the SHACL shapes, the QC rules and
(unless ``reason=0``) HermiT. pySHACL and HermiT cannot be interrupted from inside, so each
validation runs in a forked child process in its own process group; when it overruns the time
limit the whole group (the reasoner's Java process too) is killed and the client gets 503.

The service is public, so it is bounded like queries: uploads are read no further than their
cap (413); only ``HODO_VALIDATE_SLOTS`` validations run at once across all web workers (a slot
table made before the server forks), and one more is answered 503 with ``Retry-After`` at once,
without holding a request thread; a validation counts against its client's rate limit
(``hodo.web.ops``); its child, and the reasoner the child starts, run at the lowest CPU priority
and under a memory cap (503 beyond), so queries and ``/health`` keep the machine. The limits are
read once, when the app is made. The report comes in the format the client's ``Accept`` (or
``?format=``) asks for: an HTML page, JSON, the SHACL report in Turtle, or text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import os
import resource
import signal
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from rdflib import Graph

from hodo.core.formats import BY_NAME
from hodo.core.i18n import add_messages, choose_language, translate
from hodo.core.lifetime import die_with_parent
from hodo.core.rdfinput import INPUT_FORMATS, InputError, format_for, parse_document
from hodo.core.slots import ProcessSlots
from hodo.engine.workers import cap_address_space
from hodo.pipeline import diff
from hodo.pipeline.reason import ReasonerOutOfMemory, ReasonerUnavailable, limit_reasoner
from hodo.pipeline.validate import REPORT_FORMATS, Check, format_html_fragment, validate
from hodo.web.bodies import request_body
from hodo.web.errors import error_response
from hodo.web.state import state as app_state

bp = Blueprint("validate", __name__)

#: Report formats by media type, in the order offered when the client accepts anything.
MEDIA_TYPES = {"text/html": "html", "application/json": "json", "text/turtle": "turtle",
               "text/plain": "text"}
#: Niceness of a validation's process and its reasoner: the CPU goes to everything else first.
NICENESS = 19
#: Seconds a client is told to wait (``Retry-After``) when every validation slot is taken.
RETRY_AFTER = 5
#: How a child that ran out of memory dies when it cannot raise MemoryError: Rust code (the
#: parser) aborts when an allocation fails, the kernel's OOM killer sends SIGKILL.
OUT_OF_MEMORY_DEATHS = (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV, -signal.SIGBUS)

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
    "validate_busy": {
        "en": "another validation is running; retry in {seconds} seconds (see Retry-After)",
        "zh": "另一项校验正在进行；请在 {seconds} 秒后重试（见 Retry-After）",
    },
    "validate_out_of_memory": {
        "en": "validation needed more than its {mb} MB of memory and was stopped; send less "
              "data, send reason=0, or run `hodo validate` locally",
        "zh": "校验所需内存超过 {mb} MB 的上限，已被终止；请减少数据量、加 reason=0，"
              "或在本地运行 `hodo validate`",
    },
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
    "validate_diff_title": {"en": "What your data would change in HODO",
                            "zh": "您的数据将对 HODO 作出的变更"},
    "validate_diff_intro": {
        "en": "Your data merged with this release of HODO, compared with the release alone: "
              "terms and findings it adds or changes.",
        "zh": "将您的数据与本版 HODO 合并后，与原版本比较：所新增或变更的术语与研究发现。"},
    "validate_limits": {
        "en": "Up to {limit} bytes; {seconds:g} seconds at most.",
        "zh": "最多 {limit} 字节；最长 {seconds:g} 秒。",
    },
})


def say(key: str, lang: str, **values: Any) -> str:
    """A message of this endpoint in ``lang``."""
    return translate(f"validate_{key}", lang).format(**values)


@dataclass(frozen=True)
class Limits:
    """The service's limits, read once from the app's checked settings."""

    max_bytes: int
    timeout: float
    memory_bytes: int


@dataclass(frozen=True)
class ValidationState:
    """The limits, and the slot table every web worker of one server shares."""

    limits: Limits
    slots: ProcessSlots


def init_app(app: Flask) -> None:
    """Read the limits and make the slot table; call before the server forks."""
    settings = app_state(app).settings
    limits = Limits(settings.validate_max_bytes, settings.validate_timeout,
                    settings.validate_memory_mb * 2**20)
    app_state(app).validation = ValidationState(limits, ProcessSlots(settings.validate_slots))
    app.register_blueprint(bp)


def state(app: Flask | None = None) -> ValidationState:
    """The validation state of ``app``, or of the running app."""
    held = app_state(app).validation
    assert held is not None, "validate.init_app has not run"
    return held


@dataclass(frozen=True)
class Job:
    """One validation to run in a child process, and the memory it may add there (0: no cap)."""

    data: bytes
    format_name: str
    name: str
    report_format: str
    lang: str
    reason: bool
    memory_bytes: int = 0


@dataclass(frozen=True)
class Outcome:
    """What the child answered: a report body, or an input error for the client."""

    body: str = ""
    conforms: bool = True
    input_error: str | None = None
    unavailable: str | None = None
    out_of_memory: bool = False
    failure: str | None = None
    changes: dict[str, Any] | None = None


def run_job(base: Graph, job: Job) -> Outcome:
    """Parse, merge with ``base`` and validate; render the report, and for a page what the
    data changes in the release (runs in the child)."""
    before = diff.snapshot(base) if job.report_format == "html" else None
    try:
        parse_document(job.data, BY_NAME[job.format_name], job.name, base)
    except InputError as error:
        return Outcome(input_error=str(error))
    checks = [c for c in Check if job.reason or c is not Check.REASONER]
    try:
        report = validate(base, checks)
    except ReasonerOutOfMemory:
        return Outcome(out_of_memory=True)
    except ReasonerUnavailable as error:
        return Outcome(unavailable=str(error))
    if before is not None:
        body = format_html_fragment(report, base, job.lang)
        changes = diff.to_json_data(diff.compare(before, diff.snapshot(base)))
        return Outcome(body=body, conforms=report.conforms, changes=changes)
    body = REPORT_FORMATS[job.report_format].write(report, base, job.lang)
    return Outcome(body=body, conforms=report.conforms)


def _child(conn: Any, base: Graph, job: Job) -> None:
    """Entry of the child: its own process group, so the reasoner's JVM dies with it; and it
    dies with the web worker (the request thread that forked it waits for it)."""
    parent = multiprocessing.parent_process()
    die_with_parent(parent.pid if parent is not None and parent.pid else os.getppid())
    os.setpgrp()
    _confine(job.memory_bytes)
    try:
        outcome = run_job(base, job)
    except MemoryError:
        outcome = Outcome(out_of_memory=True)
    except Exception as error:  # reported to the parent, which answers with a short message
        outcome = Outcome(failure=f"{type(error).__name__}: {error}")
    conn.send_bytes(json.dumps(dataclasses.asdict(outcome)).encode("utf-8"))
    conn.close()


def _confine(memory_bytes: int) -> None:
    """The lowest CPU priority, no core dump, and at most ``memory_bytes`` more address space
    (none of it when 0), for the child and the reasoner it starts, which inherits all three."""
    os.nice(NICENESS)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes:
        limit_reasoner(memory_bytes // 2**20)
        cap_address_space(memory_bytes)


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
        if not receiver.poll(timeout):
            return None
        with contextlib.suppress(EOFError):  # no report: the child died, see below
            return _report(receiver.recv_bytes())
    finally:
        _kill_group(process.pid)
        process.join(5)
        receiver.close()
    return _without_report(process.exitcode, job)


def _report(data: bytes) -> Outcome:
    """The child's report, read as JSON, never unpickled: the child has just read untrusted
    input, and a report that is not what it should be is a failure, not an object."""
    try:
        return Outcome(**json.loads(data))
    except (ValueError, TypeError):
        return Outcome(failure="the validation process sent an unreadable report")


def _without_report(exitcode: int | None, job: Job) -> Outcome:
    """What a child that ended without a report came to: under a memory cap, a death by
    abort or kill is the cap reached; anything else is a crash."""
    if job.memory_bytes and exitcode in OUT_OF_MEMORY_DEATHS:
        return Outcome(out_of_memory=True)
    return Outcome(failure=f"the validation process exited without a report ({exitcode})")


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
    """The release as an rdflib graph, parsed once per app and shared with every child
    (parsed by the first validation of each web worker, which holds a slot meanwhile)."""
    held = app_state()
    if held.validate_base is None:
        path = held.release.path.parent / "hodo.nt"
        if not path.is_file():
            return None
        held.validate_base = Graph().parse(path, format="nt")
    return held.validate_base


def _submission(limit: int, lang: str) -> tuple[bytes, str, str] | Response:
    """The posted data, its format name and a name for messages; or an error response.

    The body is read first, and no further than the cap (chunked or not); a form is then
    parsed from those bytes.
    """
    body = request_body(limit)
    if body is None:
        return error_response(413, say("too_large", lang, limit=limit))
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        request.max_form_memory_size = limit  # a pasted field may be as long as a file
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
        data, name = body, "request body"
        try:
            fmt = format_for(name, request.mimetype or "text/turtle").name
        except InputError as error:
            return error_response(415, str(error))
    if len(data) > limit:
        return error_response(413, say("too_large", lang, limit=limit))
    if not data.strip():
        return error_response(400, say("no_data", lang))
    return data, fmt, name


@bp.route("/validate", methods=["GET", "POST"])
def validate_page() -> Response:
    lang = _lang()
    held = state()
    if request.method == "GET":
        return _page(lang, held.limits)
    report_format = _report_format()
    if report_format is None:
        return error_response(406, say("not_acceptable", lang))
    submission = _submission(held.limits.max_bytes, lang)
    if isinstance(submission, Response):
        return submission
    slot = held.slots.claim()
    if slot is None:  # answered at once: a request thread is never held waiting for a slot
        response = error_response(503, say("busy", lang, seconds=RETRY_AFTER))
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    try:
        return _validate(*submission, report_format, lang, held.limits)
    finally:
        held.slots.release(slot)


def _validate(data: bytes, fmt: str, name: str, report_format: str, lang: str,
              limits: Limits) -> Response:
    """Run one validation (holding a slot) and answer with its report or its error."""
    base = _base_graph()
    if base is None:
        return error_response(503, say("no_base", lang))
    reason = request.values.get("reason", "1").lower() not in ("0", "false", "no", "off", "")
    job = Job(data, fmt, name, report_format, lang, reason, limits.memory_bytes)
    outcome = run_isolated(base, job, limits.timeout)
    if outcome is None:
        return error_response(503, say("timeout", lang, seconds=limits.timeout))
    if outcome.input_error:
        return error_response(400, outcome.input_error)
    if outcome.out_of_memory:
        return error_response(503, say("out_of_memory", lang, mb=limits.memory_bytes // 2**20))
    if outcome.unavailable:
        return error_response(503, say("no_reasoner", lang, why=outcome.unavailable))
    if outcome.failure:
        current_app.logger.error("validation failed: %s", outcome.failure)
        return error_response(500, say("crashed", lang))
    if report_format == "html":
        pasted = data.decode("utf-8", "replace") if name == "pasted data" else ""
        return _page(lang, limits, outcome, pasted)
    media = next(m for m, f in MEDIA_TYPES.items() if f == report_format)
    return _response(outcome.body, media, lang, outcome.conforms)


def _page(lang: str, limits: Limits, outcome: Outcome | None = None,
          pasted: str = "") -> Response:
    """The form (with what was pasted, to edit and resubmit) and the report, if there is one."""
    changes = _changes(outcome.changes, lang) if outcome and outcome.changes else {}
    body = render_template("validate.html", lang=lang, formats=INPUT_FORMATS,
                           s=lambda key, **v: say(key, lang, **v), limit=limits.max_bytes,
                           timeout=limits.timeout, report=outcome.body if outcome else None,
                           pasted=pasted, **changes)
    conforms = outcome.conforms if outcome else None
    return _response(body, "text/html", lang, conforms)


def _changes(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """What the page's list of changes needs: the diff the child sent, and its words."""
    changes = diff.from_json_data(data)
    return {"changes": changes, "dw": lambda key, **v: diff.word(key, lang, **v),
            "change_name": lambda iri: diff.name_of(changes, iri, lang),
            "change_detail": lambda change: diff.detail(change, lang)}


def _response(body: str, media: str, lang: str, conforms: bool | None) -> Response:
    response = Response(body, 200, content_type=f"{media}; charset=utf-8")
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept, Accept-Language"
    if conforms is not None:
        response.headers["X-HODO-Conforms"] = "true" if conforms else "false"
    return response
