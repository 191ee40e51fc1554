"""VoID of the dataset at ``/.well-known/void`` (RFC 8615 and the VoID guide, section 7).

The description is the release's own (its metadata graph, written by ``hodo build``), with the
counts taken from the store being served, so that they stay true when curators stage changes,
and with the address of this server's endpoint.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, request, url_for

from hodo.core.formats import Kind, negotiate, offers_for
from hodo.core.namespaces import HODO, VOID
from hodo.core.release import graph_iri
from hodo.web.errors import error_response
from hodo.web.state import get_release

bp = Blueprint("void", __name__)

XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
DATASET = ox.NamedNode(str(HODO["dataset"]))

#: Counts recomputed from the store, by VoID property: queries over graph ?g (or all graphs).
_COUNTS = {
    "triples": "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
               "WHERE { GRAPH ?g { ?s ?p ?o } } }",
    "distinctSubjects": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "properties": "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
    "distinctObjects": "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
}
#: A VALUES block, spliced in as text only from a NamedNode's own N-Triples form.
_ONE_GRAPH = "VALUES ?g {{ {} }}"


def counts(store: ox.Store, graph: ox.NamedNode | None = None) -> dict[str, int]:
    """VoID counts of one named graph, or of the union of all of them."""
    found = {}
    for name, query in _COUNTS.items():
        if graph is not None:  # str(NamedNode) is <iri>, already validated by pyoxigraph
            query = query.replace("GRAPH ?g", _ONE_GRAPH.format(graph) + " GRAPH ?g", 1)
        rows = list(store.query(query))  # type: ignore[arg-type]
        found[name] = int(rows[0]["n"].value)  # type: ignore[union-attr]
    return found


def void_triples(store: ox.Store, endpoint: str) -> list[ox.Triple]:
    """The metadata graph's VoID, counts replaced by live ones, this server's endpoint added."""
    metadata = graph_iri("metadata")
    recounted = {str(VOID[name]) for name in _COUNTS}
    kept = [ox.Triple(q.subject, q.predicate, q.object)
            for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(metadata)))
            if q.predicate.value not in recounted]
    subsets = [t.object for t in kept
               if t.subject == DATASET and t.predicate.value == str(VOID.subset)]
    live = [(DATASET, counts(store))]
    live += [(s, counts(store, s)) for s in subsets if isinstance(s, ox.NamedNode)]
    kept += [ox.Triple(node, ox.NamedNode(str(VOID[name])),
                       ox.Literal(str(value), datatype=XSD_INTEGER))
             for node, values in live for name, value in values.items()]
    kept.append(ox.Triple(DATASET, ox.NamedNode(str(VOID.sparqlEndpoint)),
                          ox.NamedNode(endpoint)))
    return kept


@bp.route("/.well-known/void", methods=["GET", "HEAD"])
def void() -> Response:
    offers = offers_for(Kind.GRAPH)
    chosen = negotiate(request.headers.get("Accept"), offers)
    if chosen is None:
        return error_response(406, "acceptable here: "
                                   + ", ".join(f.media_type for f in offers))
    triples = void_triples(get_release().store, url_for("sparql.endpoint", _external=True))
    body = ox.serialize(triples, format=chosen.oxigraph,  # type: ignore[arg-type]
                        prefixes={"void": str(VOID),
                                  "dcterms": "http://purl.org/dc/terms/"}) or b""
    response = Response(body, 200, content_type=f"{chosen.media_type}; charset=utf-8")
    response.vary.add("Accept")
    return response
