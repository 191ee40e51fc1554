"""Search, autocomplete and the JSON term API over HODO's labels, synonyms and abbreviations.

The JSON follows the shapes of the Ontology Lookup Service (OLS) API — ``/api/search``,
``/api/ontologies/hodo/terms`` and ``/api/terms`` — so OLS clients can read HODO with little
change. The query text only ever meets the in-memory index of ``hodo.site.search``, never SPARQL.
The term list holds the release's classes, HODO's own and reused ones (``is_defining_ontology``
tells them apart); parents and children are ``rdfs:subClassOf``/``subPropertyOf`` between
named terms, asserted or inferred, and the ``hierarchical*`` relations are the same ones.
The index is built with the app: changes staged in curator mode do not reach it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    g,
    json,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState

from hodo.core.i18n import add_messages
from hodo.core.namespaces import BASE, DCTERMS_NS, OBO_IN_OWL_NS, OBO_NS, OWL_NS
from hodo.core.release import ONTOLOGY_IRI
from hodo.site.search import (
    KINDS,
    MAX_LIMIT,
    MAX_QUERY,
    QueryError,
    SearchIndex,
    Term,
)
from hodo.web.errors import error_response
from hodo.web.state import get_release
from hodo.web.state import state as app_state
from hodo.web.tables import page_links

bp = Blueprint("search", __name__)

ONTOLOGY = "hodo"
PAGE_SIZE = 20
DEFINITION = OBO_NS + "IAO_0000115"
REPLACED_BY = OBO_NS + "IAO_0100001"
DEPRECATED = OWL_NS + "deprecated"
SYNONYM_PROPS = (OBO_IN_OWL_NS + "hasExactSynonym", OBO_IN_OWL_NS + "hasRelatedSynonym",
                 OBO_IN_OWL_NS + "hasBroadSynonym", OBO_IN_OWL_NS + "hasNarrowSynonym",
                 "http://www.w3.org/2004/02/skos/core#altLabel")
XREF = OBO_IN_OWL_NS + "hasDbXref"
ONTOLOGY_BASE = BASE + "HODO_"
#: The ontology header's fields OLS's ``config`` names, by the property that states them.
_HEADER_FIELDS = {DCTERMS_NS + "title": "title", DCTERMS_NS + "description": "description",
                  OWL_NS + "versionIRI": "versionIRI"}

add_messages({
    "search_title": {"en": "Search", "zh": "搜索"},
    "search_placeholder": {"en": "Search terms (English or 中文)",
                           "zh": "搜索术语（中文或 English）"},
    "search_button": {"en": "Search", "zh": "搜索"},
    "search_label": {"en": "Search HODO", "zh": "搜索 HODO"},
    "search_help": {"en": "Type a name, synonym or abbreviation in English or Chinese: "
                          "for example 胆汁, PBC, HO or bone loss.",
                    "zh": "输入中文或英文的名称、同义词或缩写，例如：胆汁、PBC、HO 或 bone loss。"},
    "search_found": {"en": "results", "zh": "条结果"},
    "search_none": {"en": "Nothing matches this query.", "zh": "没有匹配的结果。"},
    "search_matched": {"en": "matched", "zh": "匹配"},
    "search_previous": {"en": "Previous", "zh": "上一页"},
    "search_next": {"en": "Next", "zh": "下一页"},
    "search_page": {"en": "Page", "zh": "第几页"},
    "search_type_class": {"en": "class", "zh": "类"},
    "search_type_property": {"en": "property", "zh": "属性"},
    "search_type_individual": {"en": "individual", "zh": "个体"},
    "search_ancestor": {"en": "ancestor of a term HODO uses", "zh": "HODO 所用术语的上位术语"},
})


@bp.record_once
def _build_index(state: BlueprintSetupState) -> None:
    """Build the index with the app (about 30 ms), before any worker is forked, so that
    workers share it and no request pays for it."""
    held = app_state(state.app)
    held.search_index = SearchIndex.from_store(held.release.store)


def get_index() -> SearchIndex:
    """The app's index (built again if someone dropped it)."""
    held = app_state()
    if held.search_index is None:
        held.search_index = SearchIndex.from_store(held.release.store)
    return held.search_index


def _json(data: Any, status: int = 200) -> Response:
    """JSON in UTF-8 with the charset named and Chinese left as it is."""
    body = json.dumps(data, ensure_ascii=False)
    return Response(body, status=status, content_type="application/json; charset=utf-8")


def _error(status: int, message: str) -> Response:
    return _json({"status": status, "error": {400: "Bad Request", 404: "Not Found"}[status],
                  "message": message, "path": request.path}, status)


class BadParameter(ValueError):
    """A request parameter out of range; answered 400."""


def _int(name: str, default: int, low: int = 0, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise BadParameter(f"{name} must be between {low} and {high}" if high is not None
                           else f"{name} must be {low} or more")
    return value


def _list(name: str) -> list[str]:
    return [v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip()]


def _lang() -> str:
    lang = request.args.get("lang", "en").lower()
    return "zh" if lang.startswith("zh") else "en"


def _api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Bad parameters and refused queries become 400 JSON errors."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except (QueryError, BadParameter) as error:
            return _error(400, str(error))
    return wrapped


# ---- HTML page ----------------------------------------------------------------------------

@bp.route("/search")
def page() -> Response | str:
    """The search page in the page language; an empty query gets help instead of results."""
    lang = g.lang
    query = request.args.get("q", "")
    try:
        number = _int("page", 1, 1)
    except BadParameter as error:  # a page for browsers, one line of text for scripts
        return error_response(400, str(error))
    if not query.strip():
        return render_template("search.html", q="", hits=[], total=0, number=1, pages=0,
                               lang=lang)
    try:
        total, hits = get_index().search(query, offset=(number - 1) * PAGE_SIZE,
                                         limit=PAGE_SIZE, kinds=_list("type"),
                                         prefixes=_list("prefix"))
    except QueryError as error:
        return Response(render_template("search.html", q=query[:MAX_QUERY], hits=[],
                                        total=0, number=1, pages=0, error=str(error),
                                        lang=lang), 400)
    pages = -(-total // PAGE_SIZE)
    rows = [{"hit": h, "label": h.term.label(lang)} for h in hits]
    kept = {k: request.args.getlist(k) for k in ("type", "prefix") if k in request.args}
    return render_template("search.html", q=query, hits=rows, total=total, number=number,
                           pages=pages, lang=lang, kept=kept)


# ---- autocomplete -------------------------------------------------------------------------

@bp.route("/api/suggest")
@_api
def suggest() -> Response:
    """Names for the search box as the reader types, best first."""
    lang = _lang()
    limit = _int("limit", 10, 1, 50)
    query = request.args.get("q", "")
    if not query.strip():
        raise BadParameter("q is required")
    total, hits = get_index().search(query, limit=limit, kinds=_list("type"),
                                     prefixes=_list("prefix"))
    link = page_links().href
    results = [{
        "iri": h.term.iri, "label": h.term.label(lang)[0], "label_lang": h.term.label(lang)[1],
        "matched": h.name.text, "matched_lang": h.name.lang, "match": h.name.kind,
        "type": h.term.kind, "prefix": h.term.prefix, "short_form": h.term.short_form,
        "url": link(h.term.iri, lang),
    } for h in hits]
    return _json({"query": query, "lang": lang, "numFound": total, "results": results})


# ---- OLS-shaped API -----------------------------------------------------------------------

@bp.route("/api/search")
@_api
def api_search() -> Response:
    """OLS ``/api/search``: Solr-like ``response.docs`` paged by ``rows`` and ``start``."""
    started = time.perf_counter()
    lang = _lang()
    rows = _int("rows", 10, 1, MAX_LIMIT)
    start = _int("start", 0, 0)
    query = request.args.get("q", "")
    if not query.strip():
        raise BadParameter("q is required")
    prefixes = _list("prefix") + [o for o in _list("ontology") if o.lower() != ONTOLOGY]
    index = get_index()
    if request.args.get("exact", "").lower() == "true":
        total, hits = _exact(index, query, start, rows, _list("type"), prefixes)
    else:
        total, hits = index.search(query, offset=start, limit=rows, kinds=_list("type"),
                                   prefixes=prefixes)
    docs = [_search_doc(h.term, lang) for h in hits]
    return _json({
        "responseHeader": {"status": 0, "QTime": round((time.perf_counter() - started) * 1000),
                           "params": {"q": query, "rows": str(rows), "start": str(start)}},
        "response": {"numFound": total, "start": start, "docs": docs},
    })


def _exact(index: SearchIndex, query: str, start: int, rows: int, kinds: list[str],
           prefixes: list[str]) -> tuple[int, list[Any]]:
    _, hits = index.search(query, limit=MAX_LIMIT, kinds=kinds, prefixes=prefixes)
    exact = [h for h in hits if h.rank <= 1]
    return len(exact), exact[start:start + rows]


def _search_doc(term: Term, lang: str) -> dict[str, Any]:
    details = _details(term)
    return {
        "id": f"{ONTOLOGY}:{term.kind}:{term.iri}", "iri": term.iri,
        "short_form": term.short_form, "obo_id": term.obo_id, "label": term.label(lang)[0],
        "description": details["description"](lang), "ontology_name": ONTOLOGY,
        "ontology_prefix": "HODO", "type": term.kind,
        "is_defining_ontology": term.prefix == "HODO",
        "synonym": _synonyms(term, lang),
    }


@bp.route("/api/ontologies")
@_api
def ontologies() -> Response:
    """OLS ontology list: HODO is the one ontology this server holds."""
    lang = _lang()
    return _json({"_embedded": {"ontologies": [_ontology_doc(lang)]},
                  "_links": {"self": {"href": url_for("search.ontologies", _external=True)}},
                  "page": {"size": 1, "totalElements": 1, "totalPages": 1, "number": 0}})


@bp.route("/api/ontologies/<name>")
@_api
def ontology(name: str) -> Response:
    """OLS ontology metadata (``config`` holds title, description, version and file)."""
    if name.lower() != ONTOLOGY:
        return _error(404, f"no ontology {name!r} here; this server holds {ONTOLOGY!r}")
    return _json(_ontology_doc(_lang()))


def _ontology_doc(lang: str) -> dict[str, Any]:
    """HODO described as OLS describes an ontology, from the release's own header."""
    release = get_release()
    header = _header(release.store, lang)
    index = get_index()
    counts = {kind: sum(1 for t in index.sorted if t.kind == kind)
              for kind in ("class", "property", "individual")}
    here = url_for("search.ontology", name=ONTOLOGY, _external=True)
    base = url_for("pages.index", _external=True)
    return {
        "ontologyId": ONTOLOGY, "status": "LOADED", "version": release.version,
        "numberOfTerms": counts["class"], "numberOfProperties": counts["property"],
        "numberOfIndividuals": counts["individual"], "languages": ["en", "zh"],
        "config": {
            "id": ONTOLOGY, "namespace": ONTOLOGY, "preferredPrefix": "HODO",
            "title": header.get("title"), "description": header.get("description"),
            "version": release.version, "versionIri": header.get("versionIRI"),
            "homepage": base, "fileLocation": url_for("deref.resource", local="hodo.owl",
                                                      _external=True),
            "baseUris": [ONTOLOGY_BASE], "allowDownload": True, "isSkos": False,
            "labelProperty": "http://www.w3.org/2000/01/rdf-schema#label",
            "definitionProperties": [DEFINITION], "synonymProperties": list(SYNONYM_PROPS),
            "hierarchicalProperties": [], "hiddenProperties": [], "preferredRootTerms": [],
            "reasonerType": "OWL2", "oboSlims": False, "languages": ["en", "zh"],
        },
        "_links": {"self": {"href": here},
                   "terms": {"href": url_for("search.terms", _external=True)}},
    }


def _header(store: ox.Store, lang: str) -> dict[str, str]:
    """Title, description (in ``lang``, else English) and version IRI of the ontology."""
    found: dict[str, dict[str, str]] = {}
    for quad in store.quads_for_pattern(ox.NamedNode(ONTOLOGY_IRI), None, None):
        name = _HEADER_FIELDS.get(quad.predicate.value)
        if name is not None:
            value = quad.object
            if isinstance(value, ox.Literal | ox.NamedNode):
                tag = value.language if isinstance(value, ox.Literal) else None
                found.setdefault(name, {})[tag or ""] = value.value
    return {name: by_lang.get(lang) or by_lang.get("en") or next(iter(by_lang.values()))
            for name, by_lang in found.items()}


@bp.route("/api/ontologies/hodo/terms")
@_api
def terms() -> Response:
    """OLS term list: every class of the release, paged; ``iri``/``short_form``/``obo_id``
    select one, as OLS clients' ``get_term`` asks."""
    index = get_index()
    chosen = _select(index)
    classes = chosen if chosen is not None else [t for t in index.sorted if t.kind == "class"]
    return _page(classes, "search.terms", {})


def _select(index: SearchIndex) -> list[Term] | None:
    """The terms named by ``iri``, ``short_form`` or ``obo_id``, or None if none is given."""
    for name, match in (("iri", lambda t, v: t.iri == v),
                        ("short_form", lambda t, v: t.short_form == v),
                        ("obo_id", lambda t, v: t.obo_id == v)):
        value = request.args.get(name)
        if value:
            if name == "iri" and value in index.terms:
                return [index.terms[value]]
            return [t for t in index.sorted if match(t, value)]
    return None


def _page(items: list[Term], endpoint: str, values: dict[str, str]) -> Response:
    """A Spring HATEOAS page of term documents, with first/prev/self/next/last links."""
    lang = _lang()
    size = _int("size", 20, 1, MAX_LIMIT)
    number = _int("page", 0, 0)
    total_pages = -(-len(items) // size)
    docs = [_term_doc(t, lang) for t in items[number * size:(number + 1) * size]]

    def link(n: int) -> dict[str, str]:
        return {"href": url_for(endpoint, **values, page=n, size=size, _external=True,
                                **({"lang": lang} if "lang" in request.args else {}))}

    links = {"self": link(number), "first": link(0)}
    if number > 0:
        links["prev"] = link(number - 1)
    if number + 1 < total_pages:
        links["next"] = link(number + 1)
    links["last"] = link(max(total_pages - 1, 0))
    return _json({"_embedded": {"terms": docs}, "_links": links,
                  "page": {"size": size, "totalElements": len(items),
                           "totalPages": total_pages, "number": number}})


def _term_of(encoded: str) -> Term | None:
    """The term of a path segment: OLS clients encode the IRI twice, the router decoded once."""
    index = get_index()
    iri = unquote(encoded)
    return index.get(iri) or index.get(encoded)


@bp.route("/api/ontologies/hodo/terms/<path:iri>", merge_slashes=False)
@_api
def term(iri: str) -> Response:
    """One OLS term document."""
    found = _term_of(iri)
    if found is None:
        return _error(404, "no such term in HODO")
    return _json(_term_doc(found, _lang()))


RELATIVES: dict[str, Callable[[SearchIndex, Term], Iterable[str]]] = {
    "parents": lambda i, t: t.parents,
    "children": lambda i, t: t.children,
    "hierarchicalParents": lambda i, t: t.parents,
    "hierarchicalChildren": lambda i, t: t.children,
    "ancestors": lambda i, t: _closure(i, t, "parents"),
    "hierarchicalAncestors": lambda i, t: _closure(i, t, "parents"),
    "descendants": lambda i, t: _closure(i, t, "children"),
    "hierarchicalDescendants": lambda i, t: _closure(i, t, "children"),
}


@bp.route("/api/ontologies/hodo/terms/<path:iri>/<any(" + ", ".join(RELATIVES) + "):relation>",
          merge_slashes=False)
@_api
def relatives(iri: str, relation: str) -> Response:
    """A term's parents, children, ancestors or descendants, as a page of term documents."""
    found = _term_of(iri)
    if found is None:
        return _error(404, "no such term in HODO")
    index = get_index()
    items = sorted((index.terms[i] for i in RELATIVES[relation](index, found)),
                   key=lambda t: t.iri)
    return _page(items, "search.relatives", {"iri": iri, "relation": relation})


def _closure(index: SearchIndex, term: Term, way: str) -> set[str]:
    seen: set[str] = set()
    todo = list(getattr(term, way))
    while todo:
        iri = todo.pop()
        if iri not in seen:
            seen.add(iri)
            todo.extend(getattr(index.terms[iri], way))
    seen.discard(term.iri)
    return seen


@bp.route("/api/terms")
@_api
def any_terms() -> Response:
    """OLS ``/api/terms``: a term by ``iri``, ``short_form`` or ``obo_id``, across ontologies."""
    index = get_index()
    chosen = _select(index)
    if chosen is None:
        raise BadParameter("give iri, short_form or obo_id")
    return _page(chosen, "search.any_terms", {k: v for k, v in request.args.items()
                                              if k in ("iri", "short_form", "obo_id")})


def _term_doc(term: Term, lang: str) -> dict[str, Any]:
    """An OLS term document, its links absolute."""
    details = _details(term)
    encoded = _double(term.iri)

    def link(relation: str) -> dict[str, str]:
        return {"href": url_for("search.relatives", iri=encoded, relation=relation,
                                _external=True)}

    links = {"self": {"href": url_for("search.term", iri=encoded, _external=True)}}
    if term.parents:
        links |= {r: link(r) for r in ("parents", "ancestors", "hierarchicalParents",
                                       "hierarchicalAncestors")}
    if term.children:
        links |= {r: link(r) for r in ("children", "descendants", "hierarchicalChildren",
                                       "hierarchicalDescendants")}
    return {
        "iri": term.iri, "lang": lang, "description": details["description"](lang),
        "synonyms": _synonyms(term, lang), "annotation": details["annotation"],
        "label": term.label(lang)[0], "ontology_name": ONTOLOGY, "ontology_prefix": "HODO",
        "ontology_iri": "https://w3id.org/hodo/hodo.owl", "is_obsolete": details["obsolete"],
        "term_replaced_by": details["replaced_by"], "is_defining_ontology": term.prefix == "HODO",
        "has_children": bool(term.children), "is_root": not term.parents,
        "short_form": term.short_form, "obo_id": term.obo_id, "in_subset": details["subsets"],
        "obo_definition_citation": None, "obo_xref": details["xrefs"], "obo_synonym": None,
        "is_preferred_root": False, "type": term.kind,
        "_links": links,
    }


def _double(iri: str) -> str:
    """The IRI encoded once more than the router decodes: OLS clients' double encoding."""
    return quote(iri, safe="")


def _synonyms(term: Term, lang: str) -> list[str]:
    names = [n for n in term.names if n.kind != "label"]
    names.sort(key=lambda n: (n.lang != lang, n.text))
    return [n.text for n in names]


def _details(term: Term) -> dict[str, Any]:
    """Definitions, status, subsets, cross-references and other annotations, from the store."""
    quads = get_release().store.quads_for_pattern(ox.NamedNode(term.iri), None, None, None)
    definitions: dict[str, list[str]] = {}
    annotation: dict[str, list[str]] = {}
    facts: dict[str, Any] = {"obsolete": False, "replaced_by": None, "subsets": None,
                             "xrefs": None}
    for quad in quads:
        predicate, obj = quad.predicate.value, quad.object
        if predicate == DEFINITION and isinstance(obj, ox.Literal):
            definitions.setdefault(obj.language or "", []).append(obj.value)
        elif predicate == DEPRECATED:
            facts["obsolete"] = obj.value == "true"
        elif predicate == REPLACED_BY:
            facts["replaced_by"] = obj.value
        elif predicate == OBO_IN_OWL_NS + "inSubset":
            facts["subsets"] = sorted({*(facts["subsets"] or []), obj.value})
        elif predicate == XREF:
            facts["xrefs"] = sorted({*(facts["xrefs"] or [])} | {obj.value})
        elif (isinstance(obj, ox.Literal) and predicate not in SYNONYM_PROPS
              and not predicate.endswith("#label")):
            name = predicate.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            values = annotation.setdefault(name, [])
            if obj.value not in values:
                values.append(obj.value)
    if facts["xrefs"]:
        facts["xrefs"] = [{"database": x.split(":", 1)[0], "id": x.split(":", 1)[-1],
                           "description": None, "url": None} for x in facts["xrefs"]]

    def description(lang: str) -> list[str]:
        return sorted(set(definitions.get(lang) or definitions.get("en")
                          or next(iter(definitions.values()), [])))

    return {"description": description, "annotation": annotation, **facts}


__all__ = ["KINDS", "MAX_QUERY", "bp"]
