"""Dereferencing: every HODO IRI answers HTML to browsers and RDF to RDF clients.

The path below the site root is the IRI's local part under ``HODO_BASE``, so one release
dereferences the same on ``localhost`` and under its public base.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, g

from hodo.web import pages

bp = Blueprint("deref", __name__)


@bp.route("/<path:local>")
def resource(local: str) -> Response:
    iri = current_app.config["HODO_BASE"] + local
    body = pages.render_resource(iri, g.lang)
    if body is None:
        abort(404, description=f"HODO has no resource <{iri}>")
    return pages.html_response(body, g.lang)
