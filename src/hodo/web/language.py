"""The reader's language on every page: the switch that keeps the reader where they are.

The choice itself (``?lang=``, then ``Accept-Language``, then English) is ``hodo.core.i18n``'s;
this module only puts it into the pages.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request, url_for

from hodo.core.i18n import LANGUAGES

bp = Blueprint("language", __name__)

#: The ``lang`` attribute of HTML for each HODO language (BCP 47, the script made explicit).
HTML_LANG = {"en": "en", "zh": "zh-Hans"}


def switch_url(lang: str) -> str:
    """The current page in ``lang``: same path, same parameters, only ``lang`` changed."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    if request.endpoint is None or request.view_args is None:
        return url_for("pages.index", lang=lang)
    return url_for(request.endpoint, **request.view_args, **args)  # type: ignore[arg-type]


@bp.app_context_processor
def language_helpers() -> dict[str, Any]:
    """``switch_url``, the other languages, and ``html_lang`` for ``lang`` attributes."""
    lang = getattr(g, "lang", "en")
    return {
        "switch_url": switch_url,
        "other_languages": [other for other in LANGUAGES if other != lang],
        "html_lang": lambda code: HTML_LANG.get(code or "", code or ""),
    }


@bp.after_app_request
def mark_language(response: Response) -> Response:
    """Every HTML answer says its language and that it depends on the reader's."""
    if response.mimetype == "text/html" and "lang" in g:
        response.headers.setdefault("Content-Language", g.lang)
        vary = response.headers.get("Vary", "")
        if "accept-language" not in vary.lower():
            response.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
    return response
