"""Each finding's nanopublication at its own IRI (``/np/<finding>``), as its four graphs.

The release's ``hodo.nanopubs.trig`` names every nanopublication ``<base>np/<finding>``; an
integrator who meets that IRI (in a nanopublication server's index, in the KGX edges) expects it
to answer. RDF clients get the nanopublication's head, assertion, provenance and publication-info
graphs in TriG (the guidelines' format), N-Quads or JSON-LD, by ``Accept`` or by an extension
(``.trig``, ``.nq``, ``.jsonld``); a browser is sent to the finding's page, which shows the same
claim and provenance. The release file is read once, at start-up, into a store of its own: a
file that cannot be read stops the server then, not a visitor's request.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, abort, current_app, redirect, request, url_for

from hodo.core.formats import BY_NAME, Format, negotiate, parse_accept, quality
from hodo.core.release import ReleaseError
from hodo.pipeline.nanopubs import NANOPUBS_FILE
from hodo.web.state import get_release
from hodo.web.state import state as app_state

bp = Blueprint("nanopubs", __name__)

#: The parts of a nanopublication, head first: each is the graph ``<np IRI>#<part>``.
PARTS = ("Head", "assertion", "provenance", "pubinfo")
#: What a nanopublication is offered as, TriG first; HTML goes to the finding's page.
OFFERS = tuple(BY_NAME[name] for name in ("trig", "nquads", "jsonld"))
EXTENSIONS = {"trig": BY_NAME["trig"], "nq": BY_NAME["nquads"], "jsonld": BY_NAME["jsonld"]}
HTML = "text/html"
#: What a finding's local name is made of (anything else names no nanopublication).
LOCAL_NAME = re.compile(r"[A-Za-z0-9_-]+")


def init_app(app: Flask) -> None:
    """Read the release's nanopublications before the server forks (a release without the
    file offers none).

    Raises:
        ReleaseError: the file is there but cannot be read as TriG.
    """
    app_state(app).nanopubs = _read(app_state(app).release.path.parent / NANOPUBS_FILE)
    app.register_blueprint(bp)


@lru_cache(maxsize=4)
def _read(path: Path) -> ox.Store:
    """The nanopublications of the release file ``path``, read once per process: a release
    never changes once built, and tests make many apps over one."""
    store = ox.Store()
    if path.is_file():
        try:
            store.bulk_load(path=str(path), format=ox.RdfFormat.TRIG)
        except (OSError, SyntaxError, ValueError) as error:
            raise ReleaseError(f"{path}: cannot read the nanopublications: {error}") from None
    return store


@bp.route("/np/<local>")
def nanopub(local: str) -> Response:
    """One nanopublication, or a browser's way to its finding."""
    stem, dot, extension = local.partition(".")
    if not LOCAL_NAME.fullmatch(stem):
        abort(404, description="HODO names nanopublications after findings: /np/finding-0101")
    if dot and extension not in EXTENSIONS:
        abort(404, description=f"no representation .{extension}; try .trig, .nq or .jsonld")
    iri = current_app.config["HODO_BASE"] + "np/" + stem
    quads = _quads(iri)
    if not quads:
        abort(404, description=f"HODO has no nanopublication <{iri}>")
    chosen = EXTENSIONS[extension] if dot else _negotiate()
    if chosen is None:
        return redirect(url_for("deref.resource", local=stem), 303)  # type: ignore[return-value]
    body = _serialized(_release_file(), iri, chosen.name)
    response = Response(body, 200, mimetype=chosen.media_type)
    if not dot:
        response.vary.add("Accept")
        response.headers["Content-Location"] = f"{stem}.{_extension(chosen)}"
    response.set_etag(hashlib.sha256(body).hexdigest())
    return response.make_conditional(request)  # type: ignore[return-value]


def _negotiate() -> Format | None:
    """The RDF format asked for, or None for a client that prefers HTML (a browser).

    With no ``Accept`` or ``*/*`` the nanopublication itself is sent: that is what a program
    following the IRI wants. A client that takes none of them gets 406.
    """
    accept = request.headers.get("Accept")
    ranges = parse_accept(accept)
    html = quality(ranges, HTML)
    chosen = negotiate(accept, list(OFFERS))
    if chosen is None:
        if html[0] > 0:
            return None
        abort(406, description="a nanopublication is offered as TriG, N-Quads or JSON-LD, "
                               "and its finding as an HTML page")
    if accept and html > quality(ranges, chosen.media_type, chosen.name):
        return None
    return chosen


def _extension(chosen: Format) -> str:
    return next(ext for ext, f in EXTENSIONS.items() if f is chosen)


def _release_file() -> Path:
    return get_release().path.parent / NANOPUBS_FILE


def _quads(iri: str) -> list[ox.Quad]:
    store = app_state().nanopubs
    assert store is not None, "nanopubs.init_app has not run"
    return [quad for part in PARTS
            for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(f"{iri}#{part}"))]


@lru_cache(maxsize=1024)
def _serialized(path: Path, iri: str, format_name: str) -> bytes:
    """The nanopublication ``iri`` as written once; ``path`` (the release file) keys the
    cache, so that apps over different releases never share an answer."""
    chosen = BY_NAME[format_name]
    return ox.serialize(_quads(iri), format=chosen.oxigraph,  # type: ignore[arg-type,return-value]
                        prefixes=_prefixes(iri) if chosen.name == "trig" else None)


def _prefixes(iri: str) -> dict[str, str]:
    """The nanopublication guidelines' ``this:`` and ``sub:``, and HODO's own."""
    return {"this": iri, "sub": iri + "#", "np": "http://www.nanopub.org/nschema#",
            "hodo": current_app.config["HODO_BASE"],
            "oban": "http://purl.org/oban/", "obo": "http://purl.obolibrary.org/obo/",
            "prov": "http://www.w3.org/ns/prov#", "dcterms": "http://purl.org/dc/terms/",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}
