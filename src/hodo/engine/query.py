"""Running SPARQL on the store and writing the results in the negotiated format.

Queries are checked on their parsed form, never on their text: in public mode a query that
would reach outside HODO (``SERVICE``) or name datasets (``FROM``, ``FROM NAMED``) is refused.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox
from pyparsing import ParseResults

from hodo.core.errors import HodoError, UsageError
from hodo.core.formats import Format, Kind, negotiate, offers_for
from hodo.engine.lexer import lexemes
from hodo.engine.syntax import explain

#: Queries longer than this are refused before any parser sees them.
MAX_QUERY_BYTES = 64 * 1024
#: Deepest bracket nesting accepted; pyoxigraph's parser crashes on a few thousand.
MAX_NESTING = 64
#: Most operator characters and pattern keywords a query may hold. Oxigraph recurses over
#: chains of them, and a chain well inside MAX_QUERY_BYTES overflows its stack: measured on
#: the oxigraph 0.5.13 server (``hodo serve --backend``, where no worker absorbs the crash), a
#: property path of 8,295 steps, 8,295 ``+`` or 12,442 ``!`` abort it, and 5,530 of each were
#: the most it survived (docs/security.md). 500 leaves a tenfold margin; a path of 486 steps
#: already runs past any deadline.
MAX_OPERATORS = 500
_OPERATOR_CHARS = frozenset("|&!+-*/^=<>")
_PATTERN_WORDS = frozenset({"optional", "minus", "union", "filter", "exists", "graph", "bind",
                            "select", "service", "values"})


class QueryError(UsageError):
    """The query cannot be run as sent (HTTP 400): bad syntax or a refused feature.

    ``reason`` is a short fixed word (``syntax``, ``service``, ``dataset`` ...) that metrics
    count by; the message is what the client reads, in English; ``messages`` has it in each
    language it was written in (a syntax error is explained in both).
    """

    def __init__(self, message: str, reason: str = "invalid",
                 messages: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.messages = dict(messages or {})

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.reason, self.messages))

    def in_language(self, lang: str) -> str:
        """The message in ``lang`` where it was written in it, else in English."""
        return self.messages.get(lang) or str(self)


class ResultTooLarge(QueryError):
    """The result is larger than the configured cap: refused whole, never cut short."""


class NotAcceptable(HodoError):
    """No format the client accepts can carry this result (HTTP 406)."""

    http_status = 406

    def __init__(self, offers: list[Format]) -> None:
        super().__init__("acceptable formats: " + ", ".join(f.media_type for f in offers))
        self.offers = offers


@dataclass(frozen=True)
class QueryResult:
    """A serialised result and its format (and entity tag, once a cache has computed it)."""

    body: bytes
    format: Format
    etag: str | None = None


def precheck(query: str) -> None:
    """Size and nesting limits, checked on the raw text before any parser runs.

    >>> precheck("SELECT * WHERE { ?s ?p ?o }")
    >>> precheck("(" * 100)
    Traceback (most recent call last):
    ...
    hodo.engine.query.QueryError: query nests deeper than 64 levels
    """
    if len(query.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES:
        raise QueryError(f"query longer than {MAX_QUERY_BYTES} bytes", "too_large")
    _check_nesting(query)
    if operators(query) > MAX_OPERATORS:
        raise _too_complex()


#: Every character that is not a bracket: dropped before the nesting is measured.
_NOT_BRACKETS = re.compile(r"[^(){}\[\]]+")


def _check_nesting(query: str) -> None:
    """Refuse brackets nested deeper than MAX_NESTING, counted in the raw text (in strings,
    IRIs and comments too: no reading of it can nest deeper than that)."""
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", query):
        if char in "({[":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    if deepest > MAX_NESTING:
        raise QueryError(f"query nests deeper than {MAX_NESTING} levels", "too_deep")


def _too_complex() -> QueryError:
    return QueryError(f"query holds more than {MAX_OPERATORS} operators and pattern keywords "
                      "(||, &&, +, /, |, OPTIONAL, MINUS, UNION ...); split it, or use "
                      "VALUES for long lists of alternatives", "too_complex")


def operators(query: str) -> int:
    """How many operator characters (outside strings, IRIs and comments) and pattern keywords
    the query holds: the measure of the chains an engine recurses over.

    >>> operators("SELECT * { ?s <p:a>/<p:b> ?o FILTER(?o != 1 || ?o > 2) OPTIONAL {} }")
    10
    """
    return sum(1 for match in lexemes(query)
               if match.group(0) in _OPERATOR_CHARS
               or (match.group("word") and match.group(0).lower() in _PATTERN_WORDS))


#: Words that only SPARQL Update uses; a query that contains one is refused in public mode.
UPDATE_WORDS = frozenset({"insert", "delete", "load", "clear", "drop", "create", "add", "move",
                          "copy", "with", "using"})

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def keywords(query: str) -> frozenset[str]:
    """The bare words of a query (keywords), lower-cased, read both as written and unescaped.

    Strings, IRIs, comments, variables and prefixed names are skipped, so a label that says
    "service" is not a keyword. Both readings count, because SPARQL decodes ``\\u`` escapes
    before parsing but an engine may not.

    >>> sorted(keywords('SELECT * WHERE { SERVICE#x\\n<http://a> { ?s ex:from "load" } }'))
    ['select', 'service', 'where']
    >>> "service" in keywords("SELECT * WHERE { \\\\u0053ERVICE <http://a> {} }")
    True

    pyoxigraph also reads SERVICE and FROM glued to what follows them, so a word or a prefixed
    name that begins with one counts as it:

    >>> sorted(keywords("ASK { SERVICESILENT<http://a> {} servicep0:x {} } "))
    ['ask', 'service', 'servicesilent']
    >>> "from" in keywords("SELECT * FROMNAMED<http://a> { }")
    True
    """
    found: set[str] = set()
    for text in _readings(query):
        found |= _words_of(text)
    return frozenset(found)


def _words_of(text: str) -> set[str]:
    """The keywords of one reading of a query (see ``keywords``)."""
    found: set[str] = set()
    for match in lexemes(text):
        word, name = match.group("word"), match.group("pname")
        token = (word or name or "").lower()
        if word:
            found.add(token)
        found.update(keyword for keyword in _GLUED if token.startswith(keyword))
    return found


#: Keywords pyoxigraph reads without a break after them ("SERVICESILENT<x>", "servicep0:x",
#: "FROMNAMED<g>"): a word or prefixed name that begins with one is taken for it.
_GLUED = ("service", "from")


def _readings(query: str) -> set[str]:
    """The query as written and with its ``\\u`` / ``\\U`` escapes decoded."""
    if "\\" not in query:
        return {query}
    return {query, _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query)}


#: Where these letters occur nowhere in a query, in any case and either reading, no parser can
#: find a SERVICE or a FROM in it: the keyword reading alone then decides (see refuse_unsafe).
_NEEDS_PARSE = re.compile(r"service|from", re.IGNORECASE)


def normalise(query: str) -> str:
    """The query with comments dropped and runs of white space made one space: two texts with
    the same normal form are the same query, so a result cache may answer both alike.

    Strings and IRIs are kept exactly as written. Only SPARQL's own white space (space, tab,
    CR, LF) counts: another space character is a syntax error, and must stay one rather than
    read as the valid query it would become. From a string left open at the end of its line
    the rest of the text is kept as written: such a query cannot parse, and joining its lines
    would make a different one.

    >>> normalise("SELECT  *  # all\\nWHERE {\\n ?s ?p 'a  b' }")
    "SELECT * WHERE { ?s ?p 'a  b' }"
    """
    parts: list[str] = []
    for match in lexemes(query):
        token = match.group(0)
        if token in _WHITE_SPACE_CHARS or token.startswith("#"):
            if parts and parts[-1] != " ":
                parts.append(" ")
        elif token[0] in "\"'" and not _CLOSED_STRING.fullmatch(token):
            parts.append(query[match.start():])
            break
        else:
            parts.append(token)
    return "".join(parts).strip(_WHITE_SPACE)


#: SPARQL's white space (the WS production); other space characters are not.
_WHITE_SPACE = " \t\r\n"
_WHITE_SPACE_CHARS = frozenset(_WHITE_SPACE)
#: A string literal with its closing quotes.
_CLOSED_STRING = re.compile(r"""
    "{3}(?:[^"\\]|\\.|"(?!""))*"{3} | '{3}(?:[^'\\]|\\.|'(?!''))*'{3}
  | "(?:[^"\\\n\r]|\\.)*" | '(?:[^'\\\n\r]|\\.)*'
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Reading:
    """What one reading of a query's text finds: what the checks, the result cache and the
    query worker need, so that the lexer goes over the text once (twice when it holds
    ``\\u`` escapes: the keywords of the unescaped text count too).

    ``keywords`` is ``keywords(text)``, ``normal`` is ``normalise(text)``; ``read`` has also
    checked what ``precheck`` checks.
    """

    text: str
    keywords: frozenset[str]
    normal: str


def read(query: str) -> Reading:
    """``precheck``, ``keywords`` and ``normalise`` in one pass of the lexer.

    >>> reading = read("SELECT  * # all\\nWHERE { ?s ex:from 'a  b' }")
    >>> reading.normal, sorted(reading.keywords)
    ("SELECT * WHERE { ?s ex:from 'a  b' }", ['select', 'where'])

    Raises:
        QueryError: as ``precheck`` does (``too_large``, ``too_deep``, ``too_complex``).
    """
    if len(query) * 4 > MAX_QUERY_BYTES and (
            len(query.encode("utf-8", "surrogatepass")) > MAX_QUERY_BYTES):
        raise QueryError(f"query longer than {MAX_QUERY_BYTES} bytes", "too_large")
    _check_nesting(query)
    found: set[str] = set()
    parts: list[str] = []
    count = 0
    normal_open = True
    for match in lexemes(query):
        token = match[0]
        kind = match.lastgroup  # the one named group of the lexeme's alternative, or None
        if kind == "word" or kind == "pname":
            lowered = token.lower()
            if kind == "word":
                found.add(lowered)
                if lowered in _PATTERN_WORDS:
                    count += 1
            if lowered.startswith(_GLUED):
                found.update(keyword for keyword in _GLUED if lowered.startswith(keyword))
        elif token in _OPERATOR_CHARS:
            count += 1
        if not normal_open:
            continue
        if token in _WHITE_SPACE_CHARS or token[0] == "#":
            if parts and parts[-1] != " ":
                parts.append(" ")
        elif token[0] in "\"'" and not _CLOSED_STRING.fullmatch(token):
            parts.append(query[match.start():])
            normal_open = False
        else:
            parts.append(token)
    if count > MAX_OPERATORS:
        raise _too_complex()
    if "\\" in query:
        found |= _words_of(_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query))
    return Reading(query, frozenset(found), "".join(parts).strip(_WHITE_SPACE))


def refuse_by_keywords(words: Collection[str]) -> None:
    """What ``refuse_unsafe`` refuses on the keywords alone: updates and SERVICE.

    Raises:
        QueryError: ``update`` or ``service``.
    """
    if not UPDATE_WORDS.isdisjoint(words):
        raise _update_refused()
    if "service" in words:
        raise _service_refused()


def needs_parse(query: str) -> bool:
    """Whether ``refuse_unsafe`` would parse the query: the letters "service" or "from" occur
    in it, as written or unescaped. Where they do not, the keywords alone decide."""
    return any(_NEEDS_PARSE.search(text) for text in _readings(query))


def refuse_unsafe(query: str, allowed_graphs: Collection[str] = (), *,
                  protocol_dataset: bool = False) -> None:
    """Refuse updates, SERVICE, and FROM / FROM NAMED outside ``allowed_graphs``.

    With ``protocol_dataset`` the request names the dataset itself (``default-graph-uri``,
    ``named-graph-uri``), which overrides FROM and FROM NAMED: those are then harmless.

    Two readings must agree: rdflib's parse tree and the query's keywords. pyoxigraph, which
    runs the query, may read a text differently from rdflib, so a feature that either reading
    sees is refused, and a FROM that cannot be resolved to a graph is refused. The check fails
    closed: a text (as written, or with its escapes decoded) that holds the letters "service"
    or "from" must parse, or it is refused, since what cannot be read cannot be shown harmless
    (pyoxigraph reads syntax rdflib does not: RDF 1.2 triple terms, LATERAL ...). The parse
    (about 3 ms) is skipped only where it cannot find anything: where those letters occur
    nowhere, in any case. pyoxigraph's query parser accepts no update, so an update cannot run
    through here either.

    Raises:
        QueryError: the query uses a refused feature, or cannot be checked; ``reason`` says
            which.
    """
    words = keywords(query)
    if words & UPDATE_WORDS:
        raise _update_refused()
    if "service" in words:
        raise _service_refused()
    parsed = None
    for text in sorted(_readings(query), key=lambda text: text != query):  # as written first
        if not _NEEDS_PARSE.search(text):
            continue
        tree, is_update, error = _parse(text)
        if is_update:
            raise _update_refused()
        if tree is None:
            if "from" in words and not protocol_dataset:
                raise _dataset_refused(allowed_graphs)  # a FROM no parse can resolve
            raise _unreadable(error)
        if _find(tree, "ServiceGraphPattern"):
            raise _service_refused()
        parsed = parsed or tree
    if parsed is None:
        return
    graphs = _dataset_iris(parsed)
    if protocol_dataset:
        return
    if ("from" in words or graphs) and not (graphs and set(graphs) <= set(allowed_graphs)):
        raise _dataset_refused(allowed_graphs)


def _dataset_refused(allowed_graphs: Collection[str]) -> QueryError:
    allowed = ", ".join(sorted(allowed_graphs))
    return QueryError("FROM and FROM NAMED are not allowed here except on HODO's own graphs"
                      + (f" ({allowed})" if allowed else "")
                      + "; the default graph is already the union of them all", "dataset")


def _unreadable(error: str) -> QueryError:
    return QueryError("the query cannot be checked, so it is not run: it holds the letters "
                      "'service' or 'from', and HODO's safety check, which reads SPARQL 1.1, "
                      f"cannot parse it ({error})", "unreadable")


def _update_refused() -> QueryError:
    return QueryError("SPARQL Update (INSERT, DELETE, LOAD, CLEAR ...) is not allowed on the "
                      "public endpoint", "update")


def _service_refused() -> QueryError:
    return QueryError("SERVICE is not allowed on this endpoint: HODO does not query other "
                      "servers", "service")


def _parse(query: str) -> tuple[ParseResults | None, bool, str]:
    """rdflib's parse of the query (None if it cannot read it), whether it is an update, and
    why it could not be read."""
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    _allow_nesting()
    try:
        return parseQuery(query), False, ""
    except RecursionError:
        raise QueryError("query too deeply nested to check", "too_deep") from None
    except Exception as error:  # any parse failure: said in the refusal
        why = _short(error)
    try:
        parseUpdate(query)
    except Exception:  # not an update either
        return None, False, why
    return None, True, ""


def _allow_nesting() -> None:
    """rdflib's parser recurses deeply: MAX_NESTING levels need more than Python's default."""
    if sys.getrecursionlimit() < 8000:
        sys.setrecursionlimit(8000)


def _dataset_iris(parsed: ParseResults | None) -> list[str | None]:
    """The IRIs of the FROM / FROM NAMED clauses; None for one that does not resolve."""
    if parsed is None:
        return []
    prologue = parsed[0] if len(parsed) else []
    prefixes = {_field(d, "prefix"): str(d["iri"]) for d in prologue
                if getattr(d, "name", None) == "PrefixDecl"}
    iris: list[str | None] = []
    for clause in _find(parsed, "DatasetClause"):
        term = clause["default"] if "default" in clause else clause["named"]
        if getattr(term, "name", None) == "pname":
            base = prefixes.get(_field(term, "prefix"))
            iris.append(None if base is None else base + _field(term, "localname"))
        else:
            iri = str(term)
            iris.append(iri if urlsplit(iri).scheme else None)
    return iris


def _field(node: Any, key: str) -> str:
    """A parse-tree field, "" when absent (rdflib's CompValue.get answers the key itself)."""
    return str(node[key]) if key in node else ""


def _find(node: object, name: str) -> list[Any]:
    """Every node of the parse tree called ``name``, however deep (subqueries, EXISTS ...)."""
    if node is None:
        return []
    if getattr(node, "name", None) == name:
        return [node]
    if isinstance(node, dict):
        return [f for v in node.values() for f in _find(v, name)]
    if isinstance(node, list | tuple | ParseResults):
        return [f for v in node for f in _find(v, name)]
    return []


def _short(error: Exception) -> str:
    """The parser's message on one line, cut short: its list of expected tokens is long."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + " …"


@dataclass(frozen=True)
class Limits:
    """Caps on one result; None is no cap. A result over a cap is refused, never truncated."""

    max_rows: int | None = None
    max_bytes: int | None = None


NO_LIMITS = Limits()


def execute(store: ox.Store, query: str, accept: str | None = None,
            format_name: str | None = None, *, limits: Limits = NO_LIMITS,
            allowed_graphs: Collection[str] = (),
            default_graph: Sequence[str] | None = None,
            named_graphs: Sequence[str] | None = None,
            base_iri: str | None = None, checked: bool = False) -> QueryResult:
    """Run a SPARQL query over the union of HODO's graphs and serialise the result.

    ``default_graph`` and ``named_graphs`` are the protocol's ``default-graph-uri`` and
    ``named-graph-uri``: when either is given they are the whole dataset, and any FROM or
    FROM NAMED of the query is overridden (so it is not refused either).

    ``checked``: the caller has already read this very text with ``read`` and refused it by
    its keywords (``refuse_by_keywords``), so only what needs rdflib's parse is left to do
    here, where the text holds the letters of SERVICE or FROM; a query worker is sent queries
    so checked, and keeps the parse (the slow, untrusted part) inside its box.

    Raises:
        QueryError: refused or malformed query, or (ResultTooLarge) a result over a cap.
        NotAcceptable: no acceptable format for this kind of result.
    """
    if not checked:
        precheck(query)
    protocol_dataset = default_graph is not None or named_graphs is not None
    if not checked or needs_parse(query):
        refuse_unsafe(query, allowed_graphs, protocol_dataset=protocol_dataset)
    try:
        result = _run(store, query, base_iri, default_graph, named_graphs)
    except ValueError as error:
        raise QueryError(f"invalid graph IRI or base IRI: {_short(error)}", "invalid") from None
    except SyntaxError as error:
        problem = explain(query, str(error))
        raise QueryError(problem.describe("en"), "syntax", problem.messages()) from None
    kind = Kind.GRAPH if isinstance(result, ox.QueryTriples) else Kind.RESULTS
    offers = offers_for(kind)
    chosen = _choose(offers, accept, format_name)
    try:
        body = _serialize(result, chosen, limits, lambda: _run(store, query, base_iri,
                                                                default_graph, named_graphs))
    except (OSError, ValueError, SyntaxError) as error:
        raise QueryError(f"query failed: {_short(error)}", "failed") from None
    if limits.max_bytes is not None and len(body) > limits.max_bytes:
        raise _too_many_bytes(limits)
    return QueryResult(body, chosen)


def _run(store: ox.Store, query: str, base_iri: str | None,
         default_graph: Sequence[str] | None, named_graphs: Sequence[str] | None) -> Result:
    """The engine's answer over the protocol's dataset, or over the union of every graph."""
    if default_graph is not None or named_graphs is not None:
        return store.query(query, base_iri=base_iri, default_graph=_nodes(default_graph or ()),
                           named_graphs=_nodes(named_graphs or ()))
    return store.query(query, base_iri=base_iri, use_default_graph_as_union=True)


def _nodes(iris: Sequence[str]) -> list[Any]:
    return [ox.NamedNode(iri) for iri in iris]


Result = ox.QuerySolutions | ox.QueryTriples | ox.QueryBoolean


def _serialize(result: Result, chosen: Format, limits: Limits,
               rerun: Callable[[], Result] | None = None) -> bytes:
    """The result in ``chosen``, written once by the engine, no Python per row.

    The bytes written bound the rows from above (``_ROW_MARKS``): the writer is stopped as
    soon as the bound passes the row cap, or the bytes pass the byte cap. Where the bound is
    exact, that is the answer; where it only bounds (a value may hold the marker), the query
    is run again (``rerun``) and its rows counted exactly before it is refused.

    Raises:
        ResultTooLarge: more rows or bytes than the caps.
    """
    if isinstance(result, ox.QueryBoolean) or (limits.max_rows is None
                                                and limits.max_bytes is None):
        return result.serialize(format=chosen.oxigraph) or b""  # type: ignore[arg-type]
    marks, exact = _ROW_MARKS.get(chosen.oxigraph, ((), False))
    sink = _Bounded(marks, limits, _HEADER_LINES.get(chosen.oxigraph, 0))
    try:
        result.serialize(output=sink, format=chosen.oxigraph)  # type: ignore[call-overload,arg-type]
    except OverflowError as stop:
        if str(stop) == "bytes":
            raise _too_many_bytes(limits) from None
        if exact or rerun is None or limits.max_rows is None:
            raise _too_many_rows(limits.max_rows or 0) from None
        return _serialize_counted(rerun(), chosen, limits)
    return b"".join(sink.chunks)


#: Per format: the byte strings of which every row writes one (a value may write more, but
#: never fewer), and whether their count is exactly the rows. TSV and N-Triples escape line
#: breaks, XML escapes "<"; JSON and CSV write a value's text as it is, so there the count
#: only bounds. Formats not named count bytes: every triple takes at least one.
_ROW_MARKS: dict[Any, tuple[tuple[bytes, ...], bool]] = {
    ox.QueryResultsFormat.TSV: ((b"\n",), True),
    ox.QueryResultsFormat.XML: ((b"<result>",), True),
    ox.QueryResultsFormat.JSON: ((b"[{", b",{"), False),
    ox.QueryResultsFormat.CSV: ((b"\n",), False),
    ox.RdfFormat.N_TRIPLES: ((b"\n",), True),
    ox.RdfFormat.N_QUADS: ((b"\n",), True),
}
#: Lines before the rows: the header of TSV and CSV.
_HEADER_LINES: dict[Any, int] = {ox.QueryResultsFormat.TSV: 1, ox.QueryResultsFormat.CSV: 1}


class _Bounded:
    """A sink for the engine's writer that keeps the chunks and stops it (``OverflowError``)
    once the bytes pass ``limits.max_bytes`` or the row bound passes ``limits.max_rows``.

    The writer hands over buffered chunks (8 KiB), so this runs per chunk, not per row; a
    marker split between two chunks is counted once, on the joined edge.
    """

    def __init__(self, marks: tuple[bytes, ...], limits: Limits, header: int = 0) -> None:
        self.marks = marks
        self.max_rows = limits.max_rows
        self.max_bytes = limits.max_bytes
        self.rows = -header
        #: bytes of a chunk's end that may begin a mark finished by the next chunk
        self.overlap = max(map(len, marks), default=1) - 1
        self.size = 0
        self.tail = b""
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise OverflowError("bytes")
        if self.max_rows is not None:
            if self.marks:
                edge = self.tail + chunk
                self.rows += sum(edge.count(mark) for mark in self.marks)
                self.tail = edge[len(edge) - self.overlap:] if self.overlap else b""
            else:
                self.rows = self.size
            if self.rows > self.max_rows:
                raise OverflowError("rows")
        self.chunks.append(chunk)
        return len(chunk)

    def flush(self) -> None:
        """Nothing to flush: the chunks are kept in memory."""


def _serialize_counted(result: Result, chosen: Format, limits: Limits) -> bytes:
    """The exact count, for a result whose bound passed the row cap: solutions through SPARQL
    TSV (which writes one line per row), triples one by one."""
    assert limits.max_rows is not None
    if isinstance(result, ox.QueryTriples):
        rows = list(islice(result, limits.max_rows + 1))
        if len(rows) > limits.max_rows:
            raise _too_many_rows(limits.max_rows)
        body = ox.serialize(rows, format=chosen.oxigraph) or b""  # type: ignore[arg-type]
    else:
        assert isinstance(result, ox.QuerySolutions)
        tsv = _capped_tsv(result, limits.max_rows)
        replayed = ox.parse_query_results(tsv, ox.QueryResultsFormat.TSV)
        body = replayed.serialize(format=chosen.oxigraph) or b""  # type: ignore[arg-type]
    if limits.max_bytes is not None and len(body) > limits.max_bytes:
        raise _too_many_bytes(limits)
    return body


class _RowCap:
    """A sink for SPARQL TSV that stops the writer once it has seen more than ``rows`` rows.

    TSV writes one solution per line (newlines inside literals are escaped), so counting lines
    counts rows; the engine writes in buffered chunks and stops at the exception raised here.
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.lines = 0
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        if self.lines > self.rows + 1:  # the header line, then the rows
            raise OverflowError
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the chunks are kept in memory."""


def _capped_tsv(result: ox.QuerySolutions, max_rows: int) -> bytes:
    """The solutions as SPARQL TSV, refused once there are more than ``max_rows``.

    Raises:
        ResultTooLarge: more rows than the cap.
    """
    sink = _RowCap(max_rows)
    try:
        result.serialize(output=sink,  # type: ignore[call-overload,arg-type]
                         format=ox.QueryResultsFormat.TSV)
    except OverflowError:
        raise _too_many_rows(max_rows) from None
    return b"".join(sink.chunks)


def _too_many_bytes(limits: Limits) -> ResultTooLarge:
    return ResultTooLarge(f"the result is larger than {limits.max_bytes} bytes, the cap of "
                          "this endpoint; ask for less (LIMIT, fewer variables)",
                          "result_bytes")


def _too_many_rows(max_rows: int) -> ResultTooLarge:
    return ResultTooLarge(f"the result has more than {max_rows} rows, the cap of this "
                          "endpoint; page through it with LIMIT and OFFSET", "result_rows")


def _choose(offers: list[Format], accept: str | None, format_name: str | None) -> Format:
    if format_name:
        named = [f for f in offers if format_name in (f.name, f.extension, f.media_type)]
        if not named:
            raise NotAcceptable(offers)
        return named[0]
    chosen = negotiate(accept, offers)
    if chosen is None:
        raise NotAcceptable(offers)
    return chosen


# ---------------------------------------------------------------------------------------------
# Updates, for curators only: checked like queries, on the parse and on the keywords.


def refuse_unsafe_update(update: str) -> None:
    """Refuse LOAD and SERVICE in an update: even a curator may not make HODO fetch anything.

    Fails closed like the query check: a text (as written or unescaped) holding the letters
    "service" or "load" must parse, or the update is refused unread.

    Raises:
        QueryError: the update loads or queries another server, cannot be checked, or nests
            too deeply.
    """
    precheck(update)
    words = keywords(update)
    if "load" in words:
        raise _load_refused()
    if "service" in words:
        raise _service_refused()
    for text in _readings(update):
        if not _UPDATE_NEEDS_PARSE.search(text):
            continue
        parsed, error = _parse_update(text)
        if parsed is None:
            raise QueryError("the update cannot be checked, so it is not run: it holds the "
                             "letters 'service' or 'load', and HODO's safety check, which "
                             f"reads SPARQL 1.1, cannot parse it ({error})", "unreadable")
        if _find(parsed, "Load"):
            raise _load_refused()
        if _find(parsed, "ServiceGraphPattern"):
            raise _service_refused()


#: Letters without which no reading of an update holds a LOAD or a SERVICE.
_UPDATE_NEEDS_PARSE = re.compile(r"service|load", re.IGNORECASE)


def _load_refused() -> QueryError:
    return QueryError("LOAD is not allowed: HODO does not fetch documents; send the data to "
                      "the Graph Store endpoint instead", "update")


def _parse_update(update: str) -> tuple[ParseResults | None, str]:
    """rdflib's parse of an update, or None and why it cannot read it."""
    from rdflib.plugins.sparql.parser import parseUpdate

    _allow_nesting()
    try:
        return parseUpdate(update), ""  # type: ignore[return-value]
    except RecursionError:
        raise QueryError("update too deeply nested to check", "too_deep") from None
    except Exception as error:  # said in the refusal
        return None, _short(error)


def with_using(update: str, graphs: Sequence[str], named: Sequence[str]) -> str:
    """The update with ``USING`` / ``USING NAMED`` clauses for the protocol's dataset.

    These are the ``using-graph-uri`` and ``using-named-graph-uri`` parameters, which the
    engine cannot take directly: the clauses go before the ``WHERE`` of every
    ``DELETE``/``INSERT ... WHERE`` operation, found by reading the update's tokens.

    Raises:
        QueryError: the update has its own USING or WITH (the protocol forbids both), or has
            a ``DELETE WHERE`` shorthand, which cannot carry a dataset.

    >>> with_using("INSERT { ?s a 1 } WHERE { ?s ?p ?o }", ["http://g"], [])
    'INSERT { ?s a 1 } USING <http://g> WHERE { ?s ?p ?o }'
    """
    words = keywords(update)
    parsed = _parse_update(update)[0]
    if {"using", "with"} & words or _has_using(parsed):
        raise QueryError("give the dataset either as using-graph-uri / using-named-graph-uri "
                         "or as USING / WITH in the update, not both", "dataset")
    clauses = "".join(f"USING <{iri}> " for iri in graphs)
    clauses += "".join(f"USING NAMED <{iri}> " for iri in named)
    for iri in (*graphs, *named):
        ox.NamedNode(iri)  # raises ValueError on an invalid IRI
    positions = _modify_wheres(update)
    modifies = len(_find(parsed, "Modify")) if parsed is not None else len(positions)
    if len(positions) != modifies:
        raise QueryError("cannot apply using-graph-uri to this update: write its dataset as "
                         "USING clauses instead", "dataset")
    for position in reversed(positions):
        update = update[:position] + clauses + update[position:]
    return update


def _has_using(parsed: ParseResults | None) -> bool:
    """Whether an operation of the parsed update names its own dataset (USING or WITH)."""
    return any("using" in op or "withClause" in op for op in _find(parsed, "Modify"))


def _modify_wheres(update: str) -> list[int]:
    """Offsets of the ``WHERE`` keywords that end a ``DELETE``/``INSERT`` template.

    A top-level ``WHERE`` right after a closing brace belongs to a Modify operation; one right
    after ``DELETE`` is the shorthand, which takes no dataset.
    """
    positions: list[int] = []
    depth = 0
    previous = ""
    for match in lexemes(update):
        token = match.group(0)
        if token.isspace() or token.startswith("#"):
            continue
        word = (match.group("word") or "").lower()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif word == "where" and depth == 0:
            if previous == "delete":
                raise QueryError("DELETE WHERE cannot take using-graph-uri: write it as "
                                 "DELETE { ... } WHERE { ... }", "dataset")
            if previous == "}":
                positions.append(match.start())
        previous = word or token
    return positions
