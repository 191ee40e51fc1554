"""Virtuoso as the remote backend: where it departs from the SPARQL 1.1 Protocol, and what HODO
does about each, so that ``hodo serve --backend`` gives the answers the embedded store gives.

``hodo.engine.remote`` knows the server is Virtuoso by its ``Server`` header and then:

- **checks more before sending.** Virtuoso runs its own SQL procedures when a query calls a
  function IRI (``<bif:sys_stat>(…)``, or any IRI as a ``DB.DBA`` procedure), reads pragmas
  (``define input:…``, ``define get:soft`` fetches the web) and honours ``FROM`` over the
  protocol's ``default-graph-uri``. So a query must be SPARQL 1.1 as pyoxigraph reads it (a
  syntax error is then explained as the embedded store explains it), may call no function IRI
  but the XML Schema casts, and, where the request names its dataset, may not name one in the
  query too (:func:`check`);
- **asks for one format per query form**: Virtuoso answers a CONSTRUCT asked for as SPARQL JSON
  with a 500 after half a JSON document (:func:`accept`);
- **describes as Oxigraph does**: DESCRIBE is the concise bounded description
  (``define sql:describe-mode "CBD"``), not Virtuoso's default (:func:`pragmas`);
- **reads its answers back into the release's terms**: blank nodes labelled ``nodeID://b1``
  (not a valid label), ``SELECT *`` with no variable named ``_star_fake`` (:func:`solutions`);
- **turns its errors into HODO's** (:func:`failure`): ``Virtuoso 37000 Error SP030: …`` in a
  400 or a 500; a query Virtuoso gave up on (``S1T00``) is a 504, an answer it cut at its
  ``ResultSetMaxRows`` (header ``X-SPARQL-MaxRows``) or left partial (``X-SQL-State``) is
  refused whole (:func:`cut_short`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from itertools import pairwise

import pyoxigraph as ox

from hodo.engine.lexer import lexemes
from hodo.engine.query import QueryError, keywords

#: How the server names itself in its ``Server`` header.
SERVER = re.compile(r"^\s*virtuoso/", re.IGNORECASE)
#: The one format asked for each kind of result. SPARQL XML, not JSON: Virtuoso writes a
#: boolean in JSON as 1 or 0 (in XML and N-Triples as true or false), and writes the XML of the
#: release's eleven thousand statements in 1.4 s against 5 s for the JSON (measured).
RESULTS_TYPE = "application/sparql-results+xml"
GRAPH_TYPE = "application/n-triples"
#: Function IRIs a query may call: the XML Schema casts of SPARQL 1.1, nothing of Virtuoso's.
ALLOWED_FUNCTIONS = ("http://www.w3.org/2001/XMLSchema#",)
_XML_BLANK = re.compile(rb"<bnode>\s*nodeID://")
_XML_STAR = re.compile(rb'<variable\s+name="_star_fake"\s*/>')
#: ``Virtuoso 37000 Error SP030: SPARQL compiler, line 2: syntax error at '}'``
_ERROR = re.compile(r"^Virtuoso\s+(?P<state>\w{5})\s+Error\s+(?:(?P<code>[A-Z]{2}\d{3}):\s*)?"
                    r"(?P<text>.*)$")
_COMPILER_LINE = re.compile(r"^SPARQL compiler(?:, line \d+)?:\s*")
#: SQL states of a query that cannot run as written (syntax, data, access): the client's 400.
_QUERY_STATES = ("37", "42", "22")
_TIMEOUT_STATES = ("S1T00", "S1TAT")
#: An empty store to parse queries with; see :func:`_parse_only`.
_PARSER = ox.Store()
_NOWHERE = ox.NamedNode("https://w3id.org/hodo/graph/empty")
_CONFLICT = "use_default_graph_as_union"
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def is_virtuoso(server_header: str) -> bool:
    """Whether an HTTP ``Server`` header is Virtuoso's (``Virtuoso/07.20.3229 (Linux) …``)."""
    return bool(SERVER.match(server_header))


# --------------------------------------------------------------------------------------------
# Before sending


def check(query: str, *, base_iri: str | None, protocol_dataset: bool) -> None:
    """Refuse what Virtuoso must not be sent: a text that is not SPARQL 1.1, a call of a
    function IRI outside the XML Schema casts, and ``FROM`` where the request names the dataset.

    Raises:
        SyntaxError: pyoxigraph's own message, as the embedded store raises it.
        QueryError: a Virtuoso extension or a dataset the server would read differently.
        ValueError: the base IRI is invalid.
    """
    _parse_only(query, base_iri)
    for iri in function_iris(query):
        if not iri.startswith(ALLOWED_FUNCTIONS):
            raise QueryError(f"the function <{iri}> is not allowed on this endpoint: its "
                             "SPARQL server would run it as one of its own procedures; only "
                             "SPARQL's functions and XML Schema casts are", "invalid")
    if protocol_dataset and "from" in keywords(query):
        raise QueryError("give the dataset either as default-graph-uri / named-graph-uri or "
                         "as FROM / FROM NAMED, not both: this endpoint's SPARQL server would "
                         "read the FROM", "dataset")


def _parse_only(query: str, base_iri: str | None) -> None:
    """Parse ``query`` with pyoxigraph and evaluate nothing.

    pyoxigraph parses a query before it looks at the dataset options, and refuses the union
    default graph together with a default graph: the ``ValueError`` that follows a clean parse
    is the proof of it. (Running the query on an empty store would evaluate ORDER BY, ASK and
    aggregates over its VALUES at once: measured to exhaust memory.)
    """
    try:
        _PARSER.query(query, base_iri=base_iri, use_default_graph_as_union=True,
                      default_graph=_NOWHERE)
    except ValueError as error:
        if _CONFLICT in str(error):
            return
        raise
    raise QueryError("the query cannot be checked, so it is not run", "unreadable")


def function_iris(query: str) -> set[str]:
    """Every IRI the query writes just before ``(``, with its prefix expanded (each declaration
    of the prefix, in both readings of the text: as written and with ``\\u`` escapes decoded).

    Fails closed: an IRI before a collection (``?s <p> (1 2)``) counts too.

    >>> sorted(function_iris('PREFIX b: <bi> SELECT (b:f:x(1) AS ?v) (STR(?o) AS ?w) {}'))
    ['bif:x']
    >>> function_iris('SELECT (<\\\\u0062if:x>(1) AS ?v) {}') >= {'bif:x'}
    True
    """
    found: set[str] = set()
    for text in _readings(query):
        tokens = [m for m in lexemes(text) if not m.group(0).isspace()
                  and not m.group(0).startswith("#")]
        prefixes = _prefixes(tokens)
        for token, following in pairwise(tokens):
            if following.group(0) == "(":
                found.update(_expansions(token, prefixes))
    return found


def _prefixes(tokens: list[re.Match[str]]) -> dict[str, list[str]]:
    declared: dict[str, list[str]] = {}
    for keyword, name, iri in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if (keyword.group("word") or "").lower() == "prefix" and name.group("pname"):
            declared.setdefault(name.group(0).split(":", 1)[0], []).append(
                iri.group(0).strip("<>"))
    return declared


def _expansions(token: re.Match[str], prefixes: Mapping[str, list[str]]) -> Iterator[str]:
    text = token.group(0)
    if text.startswith("<") and text.endswith(">"):
        yield text[1:-1]
    elif token.group("pname"):
        name, local = text.split(":", 1)
        local = local.replace("\\", "")
        # an undeclared prefix is Virtuoso's own (bif:, sql:): the name is the IRI
        for base in prefixes.get(name, [name + ":"]):
            yield base + local


def _readings(query: str) -> set[str]:
    if "\\" not in query:
        return {query}
    return {query, _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query)}


def form(query: str) -> str | None:
    """The query form (``select``, ``ask``, ``construct``, ``describe``): its first keyword
    that is one, after the prologue."""
    for match in lexemes(query):
        word = (match.group("word") or "").lower()
        if word in ("select", "ask", "construct", "describe"):
            return word
    return None


def accept(kind: str | None) -> str:
    """The one format to ask for: SPARQL JSON for solutions and booleans, N-Triples for
    graphs."""
    return GRAPH_TYPE if kind in ("construct", "describe") else RESULTS_TYPE


def pragmas(kind: str | None) -> str:
    """What goes before the query: DESCRIBE as the concise bounded description, as Oxigraph
    describes (Virtuoso's default leaves out the blank nodes' statements)."""
    return 'define sql:describe-mode "CBD" ' if kind == "describe" else ""


# --------------------------------------------------------------------------------------------
# Reading the answer


def solutions(body: bytes) -> bytes:
    """Virtuoso's SPARQL XML results with valid blank node labels (``nodeID://b1`` is not one)
    and without the ``_star_fake`` variable it gives a ``SELECT *`` that binds none.

    Text of the XML cannot hold a raw ``<``, nor an attribute a raw ``"``: the patterns meet
    only Virtuoso's own markup.
    """
    body = _XML_BLANK.sub(b"<bnode>", body)
    return _XML_STAR.sub(b"", body)


# --------------------------------------------------------------------------------------------
# Errors


def failure(status: int, first_line: str) -> tuple[str, str]:
    """What a Virtuoso error means: (``query`` | ``timeout`` | ``server``, message).

    ``query``: the query cannot run as written (Virtuoso says 400 for a compiler error but 500
    for a runtime one such as ``1/0`` or a bad regular expression): HODO's 400. ``timeout``:
    Virtuoso gave up on it at its own limit: HODO's 504. Else the server failed: HODO's 502.
    """
    match = _ERROR.match(first_line)
    if match is None:
        return ("query" if status == 400 else "server"), first_line
    state, text = match["state"], _COMPILER_LINE.sub("", match["text"]).strip()
    if state in _TIMEOUT_STATES:
        return "timeout", text
    if status == 400 or state.startswith(_QUERY_STATES):
        return "query", text
    return "server", text


def cut_short(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """Why an answer with status 200 is not whole, from Virtuoso's headers: (``rows`` |
    ``timeout``, message); None when it is whole."""
    if rows := headers.get("x-sparql-maxrows"):
        return "rows", (f"the SPARQL server cut the answer at {rows} rows (its "
                        "ResultSetMaxRows); ask for less (LIMIT), or raise ResultSetMaxRows "
                        "in its virtuoso.ini")
    if state := headers.get("x-sql-state"):
        return "timeout", ("the SPARQL server stopped the query at its own time limit "
                           f"and sent a partial answer ({state})")
    return None
