"""The SPARQL endpoint: GET, POST form-encoded and POST direct, results by content negotiation."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from hodo.namespaces import sparql_prologue
from hodo.paths import EXAMPLES_DIR
from hodo.query import NotAcceptable, QueryError
from hodo.web import get_release
from hodo.web.errors import error_response
from hodo.web.ops import run_query

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"


def _query_text() -> str | Response | None:
    """The query of the request, None when there is none, or an error response."""
    if request.method == "GET":
        queries = request.args.getlist("query")
    else:
        mimetype = request.mimetype
        if mimetype == FORM:
            queries = request.form.getlist("query")
        elif mimetype == DIRECT:
            try:
                queries = [request.get_data().decode("utf-8")]
            except UnicodeDecodeError:
                return error_response(400, "the query body is not valid UTF-8")
        else:
            return error_response(
                415, f"POST a query as {FORM} or {DIRECT}, not {mimetype or 'no media type'}")
    if len(queries) > 1:
        return error_response(400, "give exactly one query parameter")
    return queries[0] if queries else None


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    query = _query_text()
    if isinstance(query, Response):
        return query
    if query is None:
        return _query_page()
    release = get_release()
    try:
        result = run_query(release.store, query, request.headers.get("Accept"),
                           request.args.get("format"))
    except QueryError as error:
        return error_response(400, str(error))
    except NotAcceptable as error:
        return error_response(406, str(error))
    response = Response(result.body, 200,
                        content_type=f"{result.format.media_type}; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


def _query_page() -> Response:
    examples = [(p.stem.replace("-", " "), p.read_text(encoding="utf-8"))
                for p in sorted(EXAMPLES_DIR.glob("*.rq"))]
    from flask import g

    body = render_template("sparql.html", examples=examples, prologue=sparql_prologue(),
                           lang=g.lang)
    return Response(body, 200, content_type="text/html; charset=utf-8")
