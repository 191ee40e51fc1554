"""The running app's page tables, and the hrefs pages make of IRIs.

The tables (``hodo.site.pagetables``) are built with the app, before any web worker is forked, so
workers share them and no request pays for them. They remember the store generation they were
read from: once ``hodo.web.ops.store_changed`` counts a change (curator mode), the next page
reads them again from the changed store.

A page links dozens of IRIs, so an href is built by string formatting, the way the router
would build it (``url_for`` cost more than the rest of the page), and kept for later pages:
only the site root, which a proxy may set per request, is added each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from flask import Flask, current_app, g, url_for

from hodo.site.pagetables import PageTables, build
from hodo.site.views import web_iri
from hodo.web.state import state as app_state

#: What the router leaves unquoted in a path and in a query string (``werkzeug.urls``).
PATH_SAFE = "!$&'()*+,/:;=@"
QUERY_SAFE = "!$'()*,/:;?@"
#: What an outward href leaves unquoted of an IRI.
IRI_SAFE = ":/#?=&%~+@!$'()*,;"


@dataclass
class PageState:
    """The tables, and each (IRI, language)'s href: below the site root, or a whole IRI."""

    tables: PageTables
    generation: int
    links: dict[tuple[str, str], tuple[bool, str]] = field(default_factory=dict)


def init_app(app: Flask) -> None:
    """Build the tables now, at start-up."""
    _build(app)


def invalidate(app: Flask) -> None:
    """Forget the tables, so that the next page reads the store again."""
    app_state(app).pages = None


def page_state() -> PageState:
    """The app's tables, built again if the store changed since they were read."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = app_state(app).pages
    if state is None or state.generation != _generation(app):
        state = _build(app)
    return state


def _build(app: Flask) -> PageState:
    generation = _generation(app)  # read first: a change while building is seen next time
    state = app_state(app).pages = PageState(build(app_state(app).release.store), generation)
    return state


def _generation(app: Flask) -> int:
    """How many changes ``hodo.web.ops.store_changed`` has counted (0 without ops)."""
    return getattr(app_state(app).ops, "generation", 0)


def page_tables() -> PageTables:
    return page_state().tables


class PageLinks:
    """The hrefs of IRIs for one request: the app's table of them, below this request's root."""

    __slots__ = ("base", "links", "root", "tables")

    def __init__(self, state: PageState, base: str, root: str) -> None:
        self.links, self.tables, self.base, self.root = state.links, state.tables, base, root

    def href(self, iri: str, lang: str) -> str:
        """Where a page links an IRI: HODO's page of it, the ``/term`` page of an external term
        the release describes, the IRI itself when it is http(s); "" when it must stay text
        (``javascript:``, ``data:`` ...)."""
        found = self.links.get((iri, lang))
        if found is None:
            found = self.links[iri, lang] = _target(iri, lang, self.tables, self.base)
        below_root, href = found
        return self.root + href if below_root else href


def page_links() -> PageLinks:
    """This request's ``PageLinks``, made on first use."""
    links = g.get("hodo_page_links")
    if links is None:
        # the router's URL of the landing page is the site root (a proxy's prefix) and "/"
        links = g.hodo_page_links = PageLinks(page_state(), current_app.config["HODO_BASE"],
                                              url_for("pages.index")[:-1])
    return links  # type: ignore[no-any-return]


def site_root() -> str:
    """Where this site is mounted for this request ("" at the root, "/prefix" behind a proxy)."""
    return page_links().root


def local_link(iri: str, lang: str) -> str:
    """``PageLinks.href`` for this request."""
    return page_links().href(iri, lang)


def _target(iri: str, lang: str, tables: PageTables, base: str) -> tuple[bool, str]:
    if iri.startswith(base) and len(iri) > len(base):
        return True, resource_path(iri[len(base):], lang=lang)
    if not web_iri(iri):
        return False, ""
    if iri in tables.described:
        return True, "/term?" + urlencode([("iri", iri), ("lang", lang)], safe=QUERY_SAFE)
    return False, web_link(iri)


def resource_path(local: str, **query: str) -> str:
    """``url_for("deref.resource", local=local, **query)`` below the site root, built directly."""
    path = "/" + quote(local, safe=PATH_SAFE)
    return f"{path}?{urlencode(list(query.items()), safe=QUERY_SAFE)}" if query else path


def web_link(iri: str | None) -> str:
    """The IRI itself as an href when it is http(s), else "": outward links to the source."""
    return quote(iri, safe=IRI_SAFE) if iri and web_iri(iri) else ""
