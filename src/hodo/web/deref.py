"""Dereferencing: every HODO IRI answers HTML to browsers and RDF to RDF clients.

The path below the site root is the IRI's local part under ``HODO_BASE``, so one release
dereferences the same on ``localhost``, under its public base, or below a path prefix behind a
proxy. The representation is chosen by a file extension when the path has one (``.ttl``,
``.jsonld``, ``.rdf``/``.owl``, ``.nt``, ``.html``), else by ``Accept`` (HTML first, so a plain
``*/*`` gets the page). Negotiated answers carry ``Vary`` and a ``Content-Location`` that names
the representation sent, and a ``Link`` header to every other one.

What each IRI answers with:

- the ontology IRI (``hodo.owl``) and its ``versionIRI`` (``releases/<version>/hodo.owl``): the
  release file in the chosen format, or the ontology's documentation page to a client that
  names HTML (a browser); with no ``Accept`` or ``*/*`` (owlready2, ROBOT, wget), RDF/XML;
- every release file by name (each file ``SHA256SUMS`` lists, and that list), at the root and
  under its version;
- an earlier release held in ``HODO_RELEASES`` (``<folder>/<version>/``): its files under its
  version, ``releases/<version>/<file>``, and its versionIRI negotiated like the current one's
  (a browser is sent to the list of releases on ``/downloads``);
- any other IRI the release mentions: its symmetric concise bounded description (its own
  statements with their blank nodes, the statements pointing at it) plus the labels of the
  resources named there, or its page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from hodo.core.formats import BY_NAME, Format, parse_accept, quality, release_media_type
from hodo.core.i18n import add_messages
from hodo.core.namespaces import PREFIXES
from hodo.core.release import CHECKSUMS_FILE, EarlierRelease, read_checksums
from hodo.site.views import web_iri
from hodo.web import docs, pages
from hodo.web.errors import wants_html
from hodo.web.state import get_release

bp = Blueprint("deref", __name__)

add_messages({
    "not_found": {"en": "Not found", "zh": "未找到"},
    "not_found_explain": {
        "en": "HODO has no resource with this IRI. IRIs of HODO terms look like HODO_0000001; "
              "findings like finding-0101; references like article-reference-1.",
        "zh": "HODO 中没有这个 IRI 对应的资源。HODO 术语的 IRI 形如 HODO_0000001，研究发现形如 "
              "finding-0101，参考文献形如 article-reference-1。",
    },
    "not_found_try": {"en": "Try", "zh": "您可以"},
    "not_found_search": {"en": "Search HODO for", "zh": "在 HODO 中搜索"},
    "not_found_article": {"en": "The article, its sections and findings",
                          "zh": "原文及其章节与研究发现"},
})

HTML = "text/html"
#: File extensions a resource's path may end in, and the format each asks for (None: HTML).
EXTENSIONS: dict[str, str | None] = {
    "html": None, "ttl": "turtle", "jsonld": "jsonld", "rdf": "rdfxml", "owl": "rdfxml",
    "nt": "ntriples",
}
#: What a resource is offered as, in the server's order of preference (HTML first).
RDF_OFFERS: tuple[str, ...] = ("turtle", "jsonld", "rdfxml", "ntriples")
#: The extension each format's representation is named by in ``Content-Location``.
CANONICAL_EXTENSION = {None: "html", "turtle": "ttl", "jsonld": "jsonld", "rdfxml": "rdf",
                       "ntriples": "nt"}
ONTOLOGY_FILE = "hodo.owl"
#: Release file for each format the ontology IRI is offered as.
RELEASE_FILES = {BY_NAME[name].name: file for file, name in (
    ("hodo.ttl", "turtle"), ("hodo.jsonld", "jsonld"), ("hodo.owl", "rdfxml"),
    ("hodo.nt", "ntriples"))}
_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


class NotAcceptable(Exception):
    """The client accepts none of the representations offered."""


@dataclass(frozen=True)
class Choice:
    """What a request asks for: the resource's local part and a format (None: HTML)."""

    local: str
    format: Format | None
    by_extension: bool


@bp.route("/<path:local>")
def resource(local: str) -> Response:
    """One HODO IRI, in the representation the client asks for."""
    earlier = _earlier_release(local)
    if earlier is not None:
        return _earlier_file(earlier, local.rsplit("/", 1)[-1])
    release_file = _release_file(local)
    if release_file is not None:
        return _send_release_file(release_file)
    if local == ONTOLOGY_FILE or _version_of(local) is not None:
        return _ontology(local)
    choice = _choose(local, _exists)
    iri = current_app.config["HODO_BASE"] + choice.local
    if choice.format is None:
        body = pages.render_resource(iri, g.lang)
        if body is None:
            return not_found(iri, choice.local)
        return _negotiated(pages.html_response(body, g.lang), choice)
    triples = describe(get_release().store, iri)
    if not triples:
        return not_found(iri, choice.local)
    return _negotiated(_rdf_response(triples, choice.format), choice)


@bp.route("/term")
def term() -> Response:
    """A term HODO reuses: its IRI is not under HODO's base, so it is a parameter; negotiated
    like HODO's own IRIs (its page, or its description in RDF).

    A HODO IRI redirects to its own IRI; an IRI that is not http(s), or that the release says
    nothing about, is a 404.
    """
    iri = request.args.get("iri", "")
    base = current_app.config["HODO_BASE"]
    if iri.startswith(base) and len(iri) > len(base):
        return redirect(url_for("deref.resource", local=iri[len(base):],  # type: ignore[return-value]
                                lang=g.lang))
    chosen = negotiate_page_or_rdf(request.headers.get("Accept"))
    if chosen is None:
        body = pages.render_resource(iri, g.lang) if web_iri(iri) else None
        if body is None:
            abort(404, description=f"HODO has no resource <{iri}>")
        response = pages.html_response(body, g.lang)
        response.headers["Vary"] = "Accept, Accept-Language"
        return response
    triples = describe(get_release().store, iri) if web_iri(iri) else []
    if not triples:
        abort(404, description=f"HODO has no resource <{iri}>")
    response = _rdf_response(triples, chosen)
    response.headers["Vary"] = "Accept"
    return response


def _exists(local: str) -> bool:
    """Whether the release says anything about the IRI with this local part."""
    try:
        node = ox.NamedNode(current_app.config["HODO_BASE"] + local)
    except ValueError:
        return False
    store = get_release().store
    return any(True for _ in store.quads_for_pattern(node, None, None)) or any(
        True for _ in store.quads_for_pattern(None, None, node))


def _choose(local: str, exists: Callable[[str], bool] | None = None) -> Choice:
    """Split an extension off the path, unless the whole path names a resource; else negotiate.

    Raises:
        NotAcceptable: no extension, and ``Accept`` refuses every representation.
    """
    stem, dot, ext = local.rpartition(".")
    if dot and stem and ext.lower() in EXTENSIONS and not (exists and exists(local)):
        name = EXTENSIONS[ext.lower()]
        return Choice(stem, BY_NAME[name] if name else None, True)
    return Choice(local, negotiate_page_or_rdf(request.headers.get("Accept")), False)


def negotiate_page_or_rdf(header: str | None) -> Format | None:
    """HTML (None) or the best RDF format for ``Accept``; HTML when the header is absent.

    Raises:
        NotAcceptable: the header accepts neither HTML nor any RDF format offered.
    """
    if not header or not header.strip():
        return None
    ranges = parse_accept(header)
    offers: list[tuple[str, Format | None]] = [(HTML, None)]
    offers += [(BY_NAME[name].media_type, BY_NAME[name]) for name in RDF_OFFERS]
    best: tuple[float, int, int, Format | None] | None = None
    for index, (media_type, offer) in enumerate(offers):
        q, specificity = quality(ranges, media_type, offer.name if offer else None)
        xhtml = quality(ranges, "application/xhtml+xml")
        if media_type == HTML and xhtml[1] == 2:  # named explicitly, as XHTML browsers do
            q, specificity = max((q, specificity), xhtml)
        plain_json = quality(ranges, "application/json")
        if offer is not None and offer.name == "jsonld" and plain_json[1] == 2:
            q, specificity = max((q, specificity), plain_json)  # JSON clients read JSON-LD
        if q > 0 and (best is None or (q, specificity, -index) > best[:3]):
            best = (q, specificity, -index, offer)
    if best is None:
        raise NotAcceptable(header)
    return best[3]


@bp.app_errorhandler(NotAcceptable)
def not_acceptable(_: NotAcceptable) -> Response:
    """406 with the list of what is offered, as the HTTP specification suggests."""
    offered = ", ".join([HTML, *(BY_NAME[name].media_type for name in RDF_OFFERS)])
    message = ("none of the requested media types is available; this resource is offered as "
               + offered)
    return Response(message + "\n", 406, content_type="text/plain; charset=utf-8")


def describe(store: ox.Store, iri: str) -> list[ox.Triple]:
    """The symmetric concise bounded description of ``iri``, with the labels of what it names.

    Blank nodes reached from the resource are followed (a finding's quantities, a class's
    restrictions); statements about the resource from other resources are kept, so a client
    sees both directions, as the page does. Sorted, so the same release gives the same bytes.
    """
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return []
    triples: set[ox.Triple] = set()
    pending: list[ox.NamedNode | ox.BlankNode] = [node]
    seen: set[ox.NamedNode | ox.BlankNode] = set()
    while pending:
        subject = pending.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for quad in store.quads_for_pattern(subject, None, None):
            triples.add(quad.triple)
            if isinstance(quad.object, ox.BlankNode):
                pending.append(quad.object)
    for quad in store.quads_for_pattern(None, None, node):
        if isinstance(quad.subject, ox.NamedNode):
            triples.add(quad.triple)
    if not triples:
        return []
    named = {t for triple in list(triples) for t in (triple.subject, triple.object)
             if isinstance(t, ox.NamedNode) and t != node}
    for other in named:
        triples.update(q.triple for q in store.quads_for_pattern(other, _LABEL, None))
    return sorted(triples, key=str)


def _rdf_response(triples: list[ox.Triple], chosen: Format) -> Response:
    body = ox.serialize(triples, format=chosen.oxigraph,  # type: ignore[arg-type]
                        prefixes=used_prefixes(triples)) or b""
    return Response(body, 200, content_type=_content_type(chosen))


def used_prefixes(triples: Iterable[ox.Triple]) -> dict[str, str]:
    """HODO's prefixes that some IRI of ``triples`` starts with: a short, readable header."""
    iris = {t.value for triple in triples for t in (triple.subject, triple.predicate,
                                                    triple.object)
            if isinstance(t, ox.NamedNode)}
    return {prefix: ns for prefix, ns in PREFIXES.items()
            if any(iri.startswith(ns) for iri in iris)}


def _content_type(chosen: Format) -> str:
    text = chosen.media_type.startswith("text/") or chosen.name in ("ntriples", "jsonld")
    return f"{chosen.media_type}; charset=utf-8" if text else chosen.media_type


def _negotiated(response: Response, choice: Choice) -> Response:
    """Headers that say which representation this is and where the others are."""
    name = choice.format.name if choice.format else None
    vary = ["Accept-Language"] if name is None else []
    if not choice.by_extension:
        vary.insert(0, "Accept")
    if vary:
        response.headers["Vary"] = ", ".join(vary)
    response.headers["Content-Location"] = _url(choice.local, CANONICAL_EXTENSION[name])
    # JSON-LD processors (pyld) read one alternate at most: JSON-LD names only the page
    others = (None,) if name == "jsonld" else (None, *RDF_OFFERS)
    response.headers["Link"] = ", ".join(
        f'<{_url(choice.local, CANONICAL_EXTENSION[other])}>; rel="alternate"; '
        f'type="{BY_NAME[other].media_type if other else HTML}"'
        for other in others if other != name)
    return response


def _url(local: str, extension: str) -> str:
    return url_for("deref.resource", local=f"{local}.{extension}")


# ---------------------------------------------------------------------------------------------
# The ontology IRI, its versionIRI and the release files


def _version_of(local: str) -> str | None:
    """The version named by a path ``releases/<version>/<file>``, else None."""
    parts = local.split("/")
    if len(parts) == 3 and parts[0] == "releases" and parts[1]:
        return parts[1]
    return None


def _release_file(local: str) -> str | None:
    """The release file a path names (``hodo.ttl``, ``releases/0.1.0/hodo.nq``), else None.

    A release file is one ``SHA256SUMS`` lists, or ``SHA256SUMS`` itself: whatever the build
    wrote is served, at the root and under its version. ``hodo.owl`` is the ontology IRI, so it
    is negotiated rather than sent as a file.
    """
    name = local.rsplit("/", 1)[-1]
    if name == ONTOLOGY_FILE or name not in _release_names(get_release().path.parent):
        return None
    if local == name:
        return name
    version = _version_of(local)
    if version is None:
        return None
    _check_version(version)
    return name


@lru_cache(maxsize=4)
def _release_names(folder: Path) -> frozenset[str]:
    """The files of the release in ``folder``: those its checksums list, and the list itself
    (checked when the server started; a release never changes once loaded)."""
    try:
        listed = read_checksums(folder)
    except (OSError, UnicodeDecodeError, ValueError):
        return frozenset()
    return frozenset([*listed, CHECKSUMS_FILE]) if listed else frozenset()


def _check_version(version: str) -> None:
    served = get_release().version
    if version != served:
        current = url_for("deref.resource", local=f"releases/{served}/{ONTOLOGY_FILE}")
        abort(404, description=f"release {version} is not served here; this server serves "
                               f"release {served}, at {current}")


def _ontology(local: str) -> Response:
    """The ontology IRI or a versionIRI: the release in the chosen format, or its documentation."""
    version = _version_of(local)
    if version is not None:
        if local.rsplit("/", 1)[-1] != ONTOLOGY_FILE:
            abort(404, description=f"no release file named {local.rsplit('/', 1)[-1]!r}")
        _check_version(version)
    chosen = _ontology_format(request.headers.get("Accept"))
    folder = local.rsplit("/", 1)[0] + "/" if "/" in local else ""
    if chosen is None:
        response = current_app.make_response(docs.ontology())
        response.headers["Content-Location"] = url_for("docs.ontology")
        response.headers["Vary"] = "Accept, Accept-Language"
        return response
    name = RELEASE_FILES[chosen.name]
    response = _send_release_file(name)
    response.headers["Content-Location"] = url_for("deref.resource", local=folder + name)
    response.headers["Vary"] = "Accept"
    return response


def _ontology_format(header: str | None) -> Format | None:
    """What the ontology IRI sends: the page only to a client that names HTML at least as
    highly as any RDF format (a browser); to anyone else, and to ``*/*`` or no ``Accept`` at
    all (owlready2, ROBOT, urllib, wget), the ontology, as RDF/XML unless RDF is asked for.

    Raises:
        NotAcceptable: the header accepts neither HTML nor any RDF format offered.
    """
    chosen = negotiate_page_or_rdf(header)
    if chosen is not None:
        return chosen
    ranges = parse_accept(header) if header and header.strip() else []
    if not ranges:
        return BY_NAME["rdfxml"]
    if quality(ranges, HTML)[1] == 2 or quality(ranges, "application/xhtml+xml")[1] == 2:
        return None  # HTML named, and no RDF format preferred to it
    for name in ("rdfxml", *RDF_OFFERS):  # what ``*/*`` or ``text/*`` lets through
        if quality(ranges, BY_NAME[name].media_type, name)[0] > 0:
            return BY_NAME[name]
    return None


def _send_release_file(name: str, folder: Path | None = None) -> Response:
    path = (folder or get_release().path.parent) / name
    if not path.is_file():
        abort(404, description=f"the release file {name} is not in this release")
    body, etag = _release_bytes(path)
    response = Response(body, 200, mimetype=release_media_type(name))
    response.headers["Content-Disposition"] = f"inline; filename={quote(name)}"
    response.set_etag(etag)
    return response.make_conditional(request)  # type: ignore[return-value]


@lru_cache(maxsize=16)
def _release_bytes(path: Path) -> tuple[bytes, str]:
    """A release file and its SHA-256, read once: a release never changes once loaded."""
    body = path.read_bytes()
    return body, hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------------------------
# Earlier releases


def _earlier_release(local: str) -> EarlierRelease | None:
    """The earlier release a path ``releases/<version>/<file>`` names, else None (the current
    release, or a version this server does not hold)."""
    version = _version_of(local)
    if version is None:
        return None
    return next((r for r in docs.held_releases() if r.version == version), None)


def _earlier_file(release: EarlierRelease, name: str) -> Response:
    """A file of an earlier release; its ``hodo.owl`` (the versionIRI) negotiated."""
    if name == ONTOLOGY_FILE:
        chosen = _ontology_format(request.headers.get("Accept"))
        if chosen is None:
            return redirect(url_for("docs.downloads", lang=g.lang,  # type: ignore[return-value]
                                    _anchor=f"release-{release.version}"), 303)
        name = RELEASE_FILES[chosen.name]
        response = _send_release_file(name, release.path)
        response.headers["Content-Location"] = url_for(
            "deref.resource", local=f"releases/{release.version}/{name}")
        response.headers["Vary"] = "Accept"
        return response
    if name not in release.files:
        abort(404, description=f"release {release.version} has no file named {name!r}")
    return _send_release_file(name, release.path)


# ---------------------------------------------------------------------------------------------
# Unknown IRIs


def not_found(iri: str, local: str) -> Response:
    """A 404 that helps: what was asked, and where to look instead."""
    message = f"HODO has no resource <{iri}>"
    if not wants_html():
        return Response(message + "\n", 404, content_type="text/plain; charset=utf-8")
    search = current_app.view_functions.get("search.page")
    body = render_template("not_found.html", lang=g.lang, iri=iri, message=message,
                           query=_search_words(local),
                           search_url=url_for("search.page", q=_search_words(local),
                                              lang=g.lang) if search else None)
    response = pages.html_response(body, g.lang)
    response.status_code = 404
    return response


def _search_words(local: str) -> str:
    """The last path segment, as words to search for."""
    return local.rstrip("/").rsplit("/", 1)[-1].replace("_", " ").replace("-", " ")[:100]
