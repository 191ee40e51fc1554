"""One error shape: a short message in the right status, as HTML for browsers, else text.

No traceback ever reaches a client.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from hodo.core.errors import HodoError

bp = Blueprint("errors", __name__)


#: Paths that only programs use (the SPARQL protocols, the Graph Store, the JSON API): their
#: errors are plain text whatever ``Accept`` says, as ``/openapi.json`` describes them.
PROGRAM_PATHS = ("/sparql", "/graph-store", "/api/")


def wants_html() -> bool:
    """Browsers get pages; SPARQL clients and scripts get plain text."""
    best = request.accept_mimetypes.best_match(["text/html", "text/plain"])
    return best == "text/html" and not request.path.startswith(PROGRAM_PATHS)


def error_response(status: int, message: str) -> Response:
    """The body every error uses."""
    if wants_html():
        lang = getattr(g, "lang", "en")
        body = render_template("error.html", status=status, message=message, lang=lang)
        return Response(body, status, content_type="text/html; charset=utf-8")
    return Response(message + "\n", status, content_type="text/plain; charset=utf-8")


@bp.app_errorhandler(HTTPException)
def handle_http(error: HTTPException) -> Response:
    response = error_response(error.code or 500, error.description or error.name)
    if error.code == 405 and isinstance(error, HTTPException):
        allowed = error.get_headers()
        for name, value in allowed:
            if name.lower() == "allow":
                response.headers["Allow"] = value
    return response


@bp.app_errorhandler(HodoError)
def handle_hodo(error: HodoError) -> Response:
    """An error HODO reports (the remote SPARQL server failed, 502, or was too slow, 504 ...):
    its own status and one line."""
    return error_response(error.http_status, str(error))


@bp.app_errorhandler(Exception)
def handle_unexpected(error: Exception) -> Response:
    current_app.logger.exception("unhandled error", exc_info=error)
    return error_response(500, InternalServerError.description or "internal error")
