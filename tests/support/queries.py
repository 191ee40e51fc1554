"""Queries the sandbox and server tests share: every spelling of SERVICE, and a fast, a slow and
a memory-hungry query."""

from __future__ import annotations

TARGET = "http://127.0.0.1:9/sparql"

#: The same SERVICE call written every way the two parsers accept, and nested everywhere.
SERVICE_SPELLINGS = {
    "plain": f"SELECT * WHERE {{ SERVICE <{TARGET}> {{ ?s ?p ?o }} }}",
    "lower-case": f"select * where {{ service <{TARGET}> {{ ?s ?p ?o }} }}",
    "silent": f"SELECT * WHERE {{ SERVICE SILENT <{TARGET}> {{ ?s ?p ?o }} }}",
    "prefixed-name": (f"PREFIX r: <{TARGET[:-6]}> "
                      "SELECT * WHERE { SERVICE r:sparql { ?s ?p ?o } }"),
    "comment-between": f"SELECT * WHERE {{ SERVICE#x\n<{TARGET}> {{ ?s ?p ?o }} }}",
    "u-escape": f"SELECT * WHERE {{ \\u0053ERVICE <{TARGET}> {{ ?s ?p ?o }} }}",
    "U-escape": f"SELECT * WHERE {{ \\U00000073ervice <{TARGET}> {{ ?s ?p ?o }} }}",
    "variable": f"SELECT * WHERE {{ BIND(<{TARGET}> AS ?u) SERVICE ?u {{ ?s ?p ?o }} }}",
    "subquery": ("SELECT * WHERE { { SELECT * WHERE { "
                 f"SERVICE <{TARGET}> {{ ?s ?p ?o }} }} }} }}"),
    "optional": f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE <{TARGET}> {{ ?a ?p ?o }} }} }}",
    "union": f"SELECT * WHERE {{ {{ ?a ?b ?c }} UNION {{ SERVICE <{TARGET}> {{ ?s ?p ?o }} }} }}",
    "minus": f"SELECT * WHERE {{ ?a ?b ?c MINUS {{ SERVICE <{TARGET}> {{ ?a ?p ?o }} }} }}",
    "exists": ("SELECT * WHERE { ?a ?b ?c FILTER EXISTS { "
               f"SERVICE <{TARGET}> {{ ?a ?p ?o }} }} }}"),
    "not-exists": f"ASK {{ FILTER NOT EXISTS {{ SERVICE <{TARGET}> {{ ?a ?p ?o }} }} }}",
    "construct": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{TARGET}> {{ ?s ?p ?o }} }}",
    "escaped-quote-trick": (f'SELECT * WHERE {{ BIND("\\u0022" AS ?x) SERVICE <{TARGET}> {{}} '
                            'BIND("\\u0022" AS ?y) }'),
    "unparseable-by-rdflib": f"SELECT * WHERE {{ SERVICE <{TARGET}> {{ ?s ?p ?o }} }} GARBAGE",
    # pyoxigraph reads SERVICE glued to what follows; rdflib cannot parse these at all
    "glued-prefixed-name": (f"PREFIX r: <{TARGET[:-6]}> "
                            "SELECT * WHERE { servicer:sparql { ?s ?p ?o } }"),
    "glued-empty-prefix": f"PREFIX : <{TARGET[:-6]}> SELECT * WHERE {{ service:sparql {{}} }}",
    "glued-silent": f"SELECT * WHERE {{ SERVICESILENT<{TARGET}> {{ ?s ?p ?o }} }}",
    # a keyword reading takes "<2#>" for an IRI and the SERVICE line for a long string (the
    # engine reads "#>..." as a comment); the newer syntax beside it is what rdflib cannot read
    "hidden-beside-lateral": ('SELECT * WHERE { LATERAL { ?a ?b ?c } FILTER(1<2#>"""\n) '
                              f'SERVICE <{TARGET}> {{ ?s ?p ?o }}\n#"""\n }}'),
    "hidden-beside-triple-term": ("SELECT * WHERE { <<( ?a ?b ?c )>> ?d ?e FILTER(?a<?c#>'''\n) "
                                  f"SERVICE <{TARGET}> {{ ?s ?p ?o }}\n#'''\n }}"),
}

#: Queries within the size cap that kill an oxigraph 0.5.13 server (stack overflow, abort), as
#: measured twice each on a fresh server: the operator cap (hodo.engine.query.MAX_OPERATORS)
#: must refuse each of them.
SERVER_CRASHERS = {
    "path-8295-steps": "ASK { ?s " + "/".join(["<p:a>"] * 8295) + " ?o }",
    "plus-8295": "ASK { FILTER(" + "+".join(["1"] * 8295) + ") }",
    "not-12442": "ASK { FILTER(" + "!" * 12442 + "true) }",
}

#: A query that runs into any deadline, one that answers at once, and one whose string doubling
#: exhausts any memory cap.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
FAST = "ASK { ?s ?p ?o }"
BOMB = ('SELECT ?n WHERE { BIND("aaaaaaaaaaaaaaaa" AS ?a0) '
        + " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(34))
        + " BIND(STRLEN(?a34) AS ?n) }")
