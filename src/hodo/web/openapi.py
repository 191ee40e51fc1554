"""``/openapi.json``: an OpenAPI 3.1 description of every HTTP route of the app.

The paths are written out here rather than derived from the router, so that a route added
without a description fails ``tests/test_openapi.py`` instead of going undocumented.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json, request

bp = Blueprint("openapi", __name__)

RDF_TYPES = ["text/turtle", "application/ld+json", "application/rdf+xml",
             "application/n-triples"]
RESULT_TYPES = ["application/sparql-results+json", "application/sparql-results+xml",
                "text/csv", "text/tab-separated-values"]
GRAPH_TYPES = [*RDF_TYPES, "application/trig", "application/n-quads"]
JSON = "application/json"
HTML = "text/html"
TEXT = "text/plain"
#: What a release file is sent as: RDF, and the KGX, Babelon and SSSOM tables and JSON Lines.
RELEASE_FILE_TYPES = [*GRAPH_TYPES, JSON, "text/tab-separated-values", "application/x-ndjson",
                      TEXT]


def _param(name: str, where: str = "query", description: str = "", *,
           required: bool = False, schema: dict[str, Any] | None = None,
           many: bool = False) -> dict[str, Any]:
    body = schema or {"type": "string"}
    if many:
        body = {"type": "array", "items": body}
    found: dict[str, Any] = {"name": name, "in": where, "description": description,
                             "schema": body}
    if required or where == "path":
        found["required"] = True
    return found


def _content(*types: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {t: {"schema": schema or {"type": "string" if t != JSON else "object"}}
            for t in types}


def _answer(description: str, *types: str, schema: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    return {"description": description, **({"content": _content(*types, schema=schema)}
                                          if types else {})}


def _op(summary: str, tag: str, answers: dict[str, Any], params: list[dict[str, Any]] | None
        = None, *, body: dict[str, Any] | None = None, security: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": answers}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = body
    if security:
        operation["security"] = [{"curator": []}]
    return operation


LANG = _param("lang", description="Page or label language: en or zh (zh-CN, zh-Hans ... map "
              "to zh); otherwise Accept-Language decides.")
BAD = _answer("Bad parameters", JSON, schema={"$ref": "#/components/schemas/Error"})
MISSING = _answer("No such term", JSON, schema={"$ref": "#/components/schemas/Error"})
OLS_PAGE = {"$ref": "#/components/schemas/TermPage"}
TERM_IRI = _param("iri", "path", "The term's IRI, URL-encoded twice (as OLS clients send it).")
PAGING = [_param("page", description="Page number, from 0.", schema={"type": "integer",
                                                                      "minimum": 0}),
          _param("size", description="Page size, 1 to 500.",
                 schema={"type": "integer", "minimum": 1, "maximum": 500}), LANG]
SEARCH_FILTERS = [_param("type", description="Only these kinds of term.", many=True,
                         schema={"type": "string", "enum": ["class", "property", "individual"]}),
                  _param("prefix", description="Only terms of these ontologies (HODO, MONDO, "
                         "HP ...).", many=True)]
QUERY_TEXT = _param("q", description="Text to find (at most 200 characters): a label, "
                    "synonym or abbreviation in English or Chinese.", required=True)
SPARQL_PARAMS = [
    _param("query", description="A SPARQL 1.1 query; without it, the service description "
           "(or the query page for browsers)."),
    _param("default-graph-uri", description="Default graph of the dataset.", many=True),
    _param("named-graph-uri", description="A named graph of the dataset.", many=True),
    _param("format", description="Result format by name, extension or media type; "
           "overrides Accept."),
]
RELATIONS = ["parents", "children", "hierarchicalParents", "hierarchicalChildren",
             "ancestors", "hierarchicalAncestors", "descendants", "hierarchicalDescendants"]


def _sparql() -> dict[str, Any]:
    answers = {"200": _answer("Results (SELECT, ASK), RDF (CONSTRUCT, DESCRIBE), the service "
                              "description or the query page", *RESULT_TYPES, *GRAPH_TYPES,
                              HTML),
               "400": _answer("Bad or refused query", TEXT),
               "406": _answer("No acceptable format", TEXT),
               "413": _answer("Body over 196 KiB", TEXT),
               "415": _answer("Unsupported body media type", TEXT),
               "429": _answer("Rate limit exceeded; see Retry-After", TEXT),
               "503": _answer("Deadline or capacity exceeded; see Retry-After", TEXT)}
    body = {"content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "query": {"type": "string"},
            "default-graph-uri": {"type": "array", "items": {"type": "string"}},
            "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
        "application/sparql-query": {"schema": {"type": "string"}}}}
    return {"get": _op("SPARQL 1.1 query (GET)", "SPARQL", answers, SPARQL_PARAMS),
            "post": _op("SPARQL 1.1 query (POST form or direct)", "SPARQL", answers,
                        SPARQL_PARAMS[1:], body=body)}


def _curator() -> dict[str, Any]:
    denied = {"401": _answer("No bearer token", TEXT), "403": _answer("Wrong token, or "
                                                                      "curator mode off", TEXT)}
    update_body = {"content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "update": {"type": "string"},
            "using-graph-uri": {"type": "array", "items": {"type": "string"}},
            "using-named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
        "application/sparql-update": {"schema": {"type": "string"}}}}
    update = {"204": _answer("Applied"), "400": _answer("Refused or invalid update", TEXT),
              "413": _answer("Body over 196 KiB", TEXT), **denied}
    graph = [_param("graph", description="The graph's IRI"),
             _param("default", description="The default graph (no value)")]
    upload = {"content": {t: {"schema": {"type": "string"}} for t in RDF_TYPES}}
    store = {"200": _answer("The graph", *RDF_TYPES), "201": _answer("Created"),
             "204": _answer("Done"), "404": _answer("No such graph", TEXT),
             "413": _answer("Document over HODO_GRAPH_STORE_MAX_BYTES", TEXT),
             "415": _answer("Unsupported media type", TEXT), **denied}
    read = {"200": _answer("The graph", *RDF_TYPES),
            "400": _answer("Not exactly one graph named, or a graph larger than a public "
                           "read may be", TEXT),
            "404": _answer("No such graph", TEXT),
            "406": _answer("None of the accepted formats", TEXT), **denied}
    return {
        "/sparql/update": {
            "get": _op("Not allowed: updates are POSTed (405)", "Curator",
                       {"405": _answer("Use POST", TEXT)}, security=True),
            "post": _op("SPARQL 1.1 Update, all or nothing", "Curator", update,
                        [_param("using-graph-uri", many=True),
                         _param("using-named-graph-uri", many=True)],
                        body=update_body, security=True)},
        "/graph-store": {
            "get": {**_op("Read a graph: public up to HODO_MAX_RESULT_BYTES, whole with the "
                          "curator's token", "Curator", read, graph),
                    "security": [{}, {"curator": []}]},
            "put": _op("Replace a graph", "Curator", store, graph, body=upload, security=True),
            "post": _op("Add to a graph", "Curator", store, graph, body=upload, security=True),
            "delete": _op("Delete a graph", "Curator", store, graph, security=True)},
    }


def _search_api() -> dict[str, Any]:
    page = {"200": _answer("A page of term documents", JSON, schema=OLS_PAGE), "400": BAD}
    relation = _param("relation", "path", "Which relatives.",
                      schema={"type": "string", "enum": RELATIONS})
    return {
        "/search": {"get": _op("Search page", "Pages", {"200": _answer("Results", HTML),
                                                        "400": _answer("Bad query", HTML, TEXT)},
                               [_param("q"), LANG, _param("page", schema={
                                   "type": "integer", "minimum": 1}), *SEARCH_FILTERS])},
        "/api/suggest": {"get": _op("Autocomplete", "Search", {
            "200": _answer("Suggestions, best first", JSON), "400": BAD},
            [QUERY_TEXT, LANG, _param("limit", schema={"type": "integer", "minimum": 1,
                                                       "maximum": 50}), *SEARCH_FILTERS])},
        "/api/search": {"get": _op("Search, in the shape of OLS /api/search", "Search", {
            "200": _answer("Solr-like response", JSON,
                           schema={"$ref": "#/components/schemas/SearchResponse"}),
            "400": BAD},
            [QUERY_TEXT, LANG, _param("rows", schema={"type": "integer", "minimum": 1,
                                                      "maximum": 500}),
             _param("start", schema={"type": "integer", "minimum": 0}),
             _param("exact", schema={"type": "string", "enum": ["true", "false"]}),
             _param("ontology", description="hodo, or the prefixes of reused ontologies",
                    many=True), *SEARCH_FILTERS])},
        "/api/ontologies": {"get": _op(
            "The ontologies this server holds: HODO (OLS ontology list)", "Terms",
            {"200": _answer("One page holding HODO's description", JSON)}, [LANG])},
        "/api/ontologies/{name}": {"get": _op(
            "An ontology's description: title, description, version, file (OLS)", "Terms",
            {"200": _answer("The ontology", JSON), "404": MISSING},
            [_param("name", "path", "hodo", required=True), LANG])},
        "/api/ontologies/hodo/terms": {"get": _op(
            "The classes of the release (OLS term list)", "Terms", page,
            [*PAGING, _param("iri"), _param("short_form"), _param("obo_id")])},
        "/api/ontologies/hodo/terms/{iri}": {"get": _op(
            "One term (OLS term document)", "Terms",
            {"200": _answer("The term", JSON, schema={"$ref": "#/components/schemas/Term"}),
             "404": MISSING, "400": BAD}, [TERM_IRI, LANG])},
        "/api/ontologies/hodo/terms/{iri}/{relation}": {"get": _op(
            "A term's parents, children, ancestors or descendants", "Terms",
            {**page, "404": MISSING}, [TERM_IRI, relation, *PAGING])},
        "/api/terms": {"get": _op("Find a term by IRI, short form or OBO ID (OLS /api/terms)",
                                  "Terms", page, [_param("iri"), _param("short_form"),
                                                  _param("obo_id"), *PAGING])},
    }


def _pages() -> dict[str, Any]:
    html = {"200": _answer("The page", HTML)}
    graph_json = {"200": _answer("Nodes and edges", JSON), "400": _answer("Bad IRI", JSON),
                  "404": _answer("Unknown term", JSON)}
    fmt = _param("format", description="Report format", schema={
        "type": "string", "enum": ["text", "json", "turtle", "html"]})
    return {
        "/": {"get": _op("Landing page", "Pages", html, [LANG])},
        "/term": {"get": _op("Page of a reused external term", "Pages",
                             {**html, "404": _answer("Not described here", HTML)},
                             [_param("iri", required=True), LANG])},
        "/np/{local}": {"get": _op("A finding's nanopublication: its four graphs, or (303) "
                                   "the finding's page for a browser", "Linked data", {
            "200": _answer("The nanopublication", "application/trig", "application/n-quads",
                           "application/ld+json"),
            "303": _answer("See the finding's page"),
            "404": _answer("No such nanopublication", HTML, TEXT),
            "406": _answer("None of the formats accepted", TEXT)},
            [_param("local", "path", "The finding's local name, optionally with .trig, .nq "
                                     "or .jsonld")])},
        "/map": {"get": _op("The article's mechanism map", "Pages", html, [LANG])},
        "/graph": {"get": _op("A term's neighbourhood, drawn", "Pages",
                              {**html, "400": _answer("No IRI, or not an IRI", HTML),
                               "404": _answer("Unknown term", HTML)}, [_param("iri"), LANG])},
        "/api/graph/mechanisms": {"get": _op("The mechanism map as JSON", "Graphs",
                                             graph_json, [LANG])},
        "/api/graph/neighbourhood": {"get": _op("A term's neighbourhood as JSON", "Graphs",
                                                graph_json, [_param("iri", required=True),
                                                             LANG])},
        "/ontology": {"get": _op("The ontology's documentation", "Pages", html, [LANG])},
        "/downloads": {"get": _op("The release files, with checksums", "Downloads", html,
                                  [LANG])},
        "/downloads.json": {"get": _op("The release files for programs: name, URL, media type, "
                                       "size and SHA-256; and the earlier releases held, with "
                                       "their dates and changelogs", "Downloads",
                                       {"200": _answer("The list", JSON)})},
        "/downloads/{name}": {"get": _op("One release file, with an ETag", "Downloads", {
            "200": _answer("The file", *RELEASE_FILE_TYPES),
            "304": _answer("Not modified (If-None-Match)"),
            "404": _answer("No such file", HTML, TEXT)}, [_param("name", "path")])},
        "/validate": {
            "get": _op("Validation page", "Validation", html, [LANG, fmt]),
            "post": _op("Validate data merged with HODO (SHACL, QC, reasoner)", "Validation",
                        {"200": _answer("The report", HTML, JSON, "text/turtle", TEXT),
                         "400": _answer("Unusable input", HTML, JSON, TEXT),
                         "406": _answer("No acceptable report format", HTML, TEXT),
                         "413": _answer("Data over HODO_VALIDATE_MAX_BYTES", HTML, TEXT),
                         "415": _answer("Unsupported body media type", HTML, TEXT),
                         "429": _answer("Rate limit exceeded; see Retry-After", HTML, TEXT),
                         "503": _answer("Every validation slot taken (see Retry-After), "
                                        "deadline or memory cap exceeded, or no reasoner",
                                        HTML, TEXT)},
                        [LANG, fmt],
                        body={"content": {
                            "multipart/form-data": {"schema": {"type": "object"}},
                            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                            **{t: {"schema": {"type": "string"}} for t in RDF_TYPES}}})},
        "/static/vendor/{name}": {"get": _op("Front-end files from the npm lock file", "Pages",
                                             {"200": _answer("The file"),
                                              "404": _answer("Missing")},
                                             [_param("name", "path")])},
    }


def _ops() -> dict[str, Any]:
    return {
        "/health": {"get": _op("Liveness and the release version", "Operations",
                               {"200": _answer("Healthy", JSON)})},
        "/metrics": {"get": _op("Prometheus metrics", "Operations",
                                {"200": _answer("Metrics", "text/plain")})},
        "/.well-known/void": {"get": _op("VoID description of the dataset", "Linked data",
                                         {"200": _answer("VoID", *RDF_TYPES),
                                          "406": _answer("No acceptable format", TEXT)})},
        "/openapi.json": {"get": _op("This description", "Operations",
                                     {"200": _answer("OpenAPI 3.1", JSON)})},
        "/{local}": {"get": _op(
            "Dereference a HODO IRI: page, Turtle, JSON-LD, RDF/XML or N-Triples by Accept, or "
            "by extension (.html, .ttl, .jsonld, .rdf, .owl, .nt); release files by name",
            "Linked data", {"200": _answer("The resource", HTML, *RELEASE_FILE_TYPES),
                            "404": _answer("Unknown IRI", HTML, TEXT),
                            "406": _answer("No acceptable format", TEXT)},
            [_param("local", "path", "The IRI's local part under the base, optionally with an "
                    "extension"), LANG])},
    }


def _schemas() -> dict[str, Any]:
    text_list = {"type": "array", "items": {"type": "string"}}
    term = {"type": "object", "required": ["iri", "label", "ontology_name", "short_form"],
            "properties": {
                "iri": {"type": "string"}, "lang": {"type": "string"},
                "label": {"type": "string"}, "description": text_list, "synonyms": text_list,
                "annotation": {"type": "object"}, "ontology_name": {"type": "string"},
                "ontology_prefix": {"type": "string"}, "ontology_iri": {"type": "string"},
                "is_obsolete": {"type": "boolean"},
                "term_replaced_by": {"type": ["string", "null"]},
                "is_defining_ontology": {"type": "boolean"},
                "has_children": {"type": "boolean"}, "is_root": {"type": "boolean"},
                "short_form": {"type": "string"}, "obo_id": {"type": ["string", "null"]},
                "in_subset": {"type": ["array", "null"], "items": {"type": "string"}},
                "obo_xref": {"type": ["array", "null"]}, "_links": {"type": "object"}}}
    return {
        "Error": {"type": "object", "required": ["status", "message"], "properties": {
            "status": {"type": "integer"}, "error": {"type": "string"},
            "message": {"type": "string"}, "path": {"type": "string"}}},
        "Term": term,
        "TermPage": {"type": "object", "required": ["_embedded", "page"], "properties": {
            "_embedded": {"type": "object", "properties": {
                "terms": {"type": "array", "items": {"$ref": "#/components/schemas/Term"}}}},
            "_links": {"type": "object"},
            "page": {"type": "object", "properties": {
                k: {"type": "integer"} for k in ("size", "totalElements", "totalPages",
                                                 "number")}}}},
        "SearchResponse": {"type": "object", "properties": {
            "responseHeader": {"type": "object"},
            "response": {"type": "object", "properties": {
                "numFound": {"type": "integer"}, "start": {"type": "integer"},
                "docs": {"type": "array", "items": {"type": "object"}}}}}},
    }


def document(server: str = "/") -> dict[str, Any]:
    """The whole description; ``server`` is where the app is mounted."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "HODO — Hepatic Osteodystrophy Ontology", "version": "0.1.0",
                 "description": "SPARQL endpoint, linked-data pages, search and an OLS-shaped "
                                "term API over one bilingual (English/Chinese) release."},
        "servers": [{"url": server}],
        "paths": {"/sparql": _sparql(), **_curator(), **_search_api(), **_pages(), **_ops()},
        "components": {"schemas": _schemas(), "securitySchemes": {
            "curator": {"type": "http", "scheme": "bearer",
                        "description": "HODO_CURATOR_TOKEN, in curator mode only"}}},
    }


@bp.route("/openapi.json")
def openapi() -> Response:
    """The document, naming this server (with any proxy prefix) as its server."""
    body = json.dumps(document(request.script_root or "/"), ensure_ascii=False)
    return Response(body, 200, content_type="application/json; charset=utf-8")
