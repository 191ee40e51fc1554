"""The Flask application: SPARQL endpoint, pages and health, over one loaded release."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import PathConverter

from hodo.core.i18n import translate
from hodo.engine.backends import open_release
from hodo.engine.store import Release
from hodo.web import (
    caching,
    curator,
    deref,
    docs,
    errors,
    fragments,
    graphs,
    language,
    nanopubs,
    openapi,
    ops,
    pages,
    search,
    sparql,
    tables,
    ui,
    validate,
    void,
)
from hodo.web.compression import Compress
from hodo.web.config import configure
from hodo.web.headercap import HeaderCap
from hodo.web.state import EXTENSION, AppState, get_release

__all__ = ["create_app", "get_release"]


class AnyPathConverter(PathConverter):
    """``path``, where a part may also hold a line break: Werkzeug's pattern stops at one, so an
    IRI with an encoded CR or LF missed its view and got the router's 404, in another shape
    than the view's (``/openapi.json`` documents the view's)."""

    regex = "(?s:[^/].*?)"


def create_app(config: Mapping[str, Any] | None = None, *, release: Release | None = None
               ) -> Flask:
    """Build the app; the release is loaded here, once, unless one is passed in.

    Raises:
        ReleaseError: the configured release cannot be loaded (fail fast at start-up).
        SettingError: the configuration is invalid.
    """
    app = Flask(__name__)
    app.url_map.converters["path"] = AnyPathConverter
    settings = configure(app, config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = AppState(release or open_release(app.config), settings)
    _register_template_helpers(app)

    app.register_blueprint(errors.bp)
    ops.init_app(app)
    caching.init_app(app)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(curator.bp)
    app.register_blueprint(void.bp)
    validate.init_app(app)
    app.register_blueprint(language.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(graphs.bp)
    docs.init_app(app)
    app.register_blueprint(openapi.bp)
    nanopubs.init_app(app)
    # last: its catch-all route answers every path the others do not
    app.register_blueprint(deref.bp)
    # below Flask, from the inside out: queries answered without Flask's machinery, then
    # answers already given replayed whole
    app.wsgi_app = sparql.SparqlLane(app, app.wsgi_app)  # type: ignore[method-assign]
    caching.install_replay(app)
    # outside the replay: every answer, however made, is compressed for clients that take gzip
    app.wsgi_app = Compress(app.wsgi_app)  # type: ignore[method-assign]
    proxies = settings.trusted_proxies
    if proxies:
        # behind a proxy: the client's address, scheme, host and the path prefix HODO is
        # mounted under come from the proxy's X-Forwarded-* headers; outermost, so that the
        # response cache of ``caching`` sees them too
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies,  # type: ignore[method-assign]
                                x_proto=proxies, x_host=proxies, x_prefix=proxies)
    # outermost of all: an oversized header block is refused before anything reads it
    csp = ops.state(app).settings.csp
    app.wsgi_app = HeaderCap(app.wsgi_app,  # type: ignore[method-assign]
                             lambda: ops.security_headers(csp))
    return app


def _register_template_helpers(app: Flask) -> None:
    """``t(key)`` for page words in the page language; ``local_link`` and ``web_link`` for
    the hrefs of IRIs, which only ever lead to this site or to an http(s) IRI; ``link(value)``
    for a resource named on a page (``hodo.web.fragments``)."""
    @app.context_processor
    def words() -> dict[str, Any]:
        return {"t": lambda key: translate(key, getattr(g, "lang", "en"))}

    app.add_template_filter(fragments.local_link, "local_link")
    app.add_template_filter(tables.web_link, "web_link")
    app.add_template_filter(fragments.page_language_first, "page_language_first")
    app.jinja_env.globals.update(fragments.template_globals())
    app.jinja_env.globals["asset"] = ui.asset  # static and vendor files by their digest
