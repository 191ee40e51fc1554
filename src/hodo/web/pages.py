"""Human pages: the landing page and one page per HODO resource (health is in ``ops``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, render_template, request

from hodo.i18n import choose_language, pick_label
from hodo.namespaces import shorten
from hodo.query import ResourceView, Value, resource_view
from hodo.web import get_release

bp = Blueprint("pages", __name__)


@bp.before_app_request
def set_language() -> None:
    """Every page, error pages included, speaks the reader's language."""
    g.lang = choose_language(request.args.get("lang"), request.headers.get("Accept-Language"))


@bp.route("/")
def index() -> Response:
    lang = g.lang
    release = get_release()
    body = render_template("index.html", lang=lang, version=release.version,
                           base=current_app.config["HODO_BASE"])
    return html_response(body, lang)


def render_resource(iri: str, lang: str) -> str | None:
    """The HTML page of one HODO resource in ``lang``, or None when HODO says nothing about it.

    Dereferencing (``hodo.web.deref``) decides when a reader gets HTML and calls this.
    """
    view = resource_view(get_release().store, iri)
    if view is None:
        return None
    return render_template("resource.html", lang=lang, view=view, label=_label(view, lang),
                           show=lambda v: show(v, lang))


def _label(view: ResourceView, lang: str) -> tuple[str, str]:
    return pick_label(view.labels, lang) or (view.iri, "")


def show(value: Value, lang: str) -> tuple[str, str | None]:
    """The text to show for a value and the language it is in."""
    if value.iri is not None:
        picked = pick_label(dict(value.labels), lang)
        if picked:
            return picked
        return shorten(value.iri), None
    return value.text, value.lang


def html_response(body: str, lang: str) -> Response:
    response = Response(body, 200, content_type="text/html; charset=utf-8")
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    return response
