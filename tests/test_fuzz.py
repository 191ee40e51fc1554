"""Property-based tests (hypothesis) of the code that reads what clients send.

The query checks are held to an oracle made of the real parsers: a query that rdflib or
pyoxigraph reads as holding SERVICE, an update, or a FROM / FROM NAMED of a graph HODO does not
serve must be refused, however it is spelt. pyoxigraph's reading is observed, not guessed: the
oracle runs the query on a small store whose every graph holds one marker, so the markers that
come back are the dataset the query really names, and a SERVICE shows itself by trying to reach
its endpoint (the discard port, which pyoxigraph refuses before connecting). Negotiation is
held to werkzeug's ``MIMEAccept.best_match`` (same RFC 9110 rule: the most specific range
decides) where the header is one both can read, and language choice to its documented rule.

Every test is derandomized with a bounded number of examples, so a run is repeatable and short.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from hodo.core.formats import BY_NAME, FORMATS, Kind, negotiate, offers_for, parse_accept
from hodo.core.i18n import LANGUAGES, choose_language
from hodo.engine.query import (
    QueryError,
    _allow_nesting,
    execute,
    keywords,
    normalise,
    precheck,
    read,
    refuse_unsafe,
    refuse_unsafe_update,
)
from hodo.engine.store import Release
from hodo.web.deref import RDF_OFFERS, NotAcceptable, negotiate_page_or_rdf

pytestmark = pytest.mark.slow

BOUNDED = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
FEW = settings(BOUNDED, max_examples=40)

#: Reasons refuse_unsafe and precheck give (docs/serving.md, Limits; metrics count by them).
REFUSALS = {"update", "service", "dataset", "too_deep", "too_large", "unreadable"}
SERVED = ("https://w3id.org/hodo/graph/ontology", "https://w3id.org/hodo/graph/findings")
FOREIGN = ("file:///etc/passwd", "http://127.0.0.1:9/data.ttl",
           "https://w3id.org/hodo/graph/other")
#: A graph no generated query names: it is seen only when the query names no dataset.
WITNESS = "urn:hodo-test:witness"
#: The discard port: pyoxigraph refuses to send HTTP there, so SERVICE fails without a packet.
ENDPOINT = "http://127.0.0.1:9/sparql"


def _oracle_store() -> ox.Store:
    """One marker triple in each graph, the marker being the graph's own IRI."""
    store = ox.Store()
    for graph in (*SERVED, *FOREIGN, WITNESS):
        store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.Literal(graph),
                          ox.NamedNode(graph)))
    return store


ORACLE = _oracle_store()
# The checks raise the recursion limit for rdflib's parser the first time they run; raise it
# now, so that hypothesis (which restores the limit after each example) sees no change.
_allow_nesting()


# --------------------------------------------------------------------------------------------
# Generated queries: SERVICE, FROM, FROM NAMED and updates in every spelling the checks face


def _escape(char: str, upper: bool, long: bool) -> str:
    code = f"{ord(char):08X}" if long else f"{ord(char):04X}"
    return ("\\U" if long else "\\u") + (code if upper else code.lower())


@st.composite
def spelt(draw: st.DrawFn, word: str) -> str:
    """``word`` in any mix of case, some letters possibly written as ``\\u`` escapes."""
    out = []
    for char in word:
        char = char.upper() if draw(st.booleans()) else char.lower()
        if draw(st.integers(0, 9)) == 0:
            out.append(_escape(char, draw(st.booleans()), draw(st.booleans())))
        else:
            out.append(char)
    return "".join(out)


SEPARATORS = st.sampled_from([" ", "  ", "\n", "\t", "\r\n", " # SERVICE FROM <x> \"\n",
                              "#c\n", " #\n ", ""])


@dataclass
class Prologue:
    """PREFIX and BASE declarations a generated query needs, in the order drawn."""

    lines: list[str]

    def text(self) -> str:
        return "".join(self.lines)


@st.composite
def iri_ref(draw: st.DrawFn, iri: str, prologue: Prologue) -> str:
    """``iri`` written as ``<iri>``, a prefixed name, a relative IRI under BASE, or escaped."""
    base, _, local = iri.rpartition("/")
    base += "/"
    how = draw(st.sampled_from(["full", "prefixed", "relative", "escaped"]))
    if how == "prefixed":
        stem = draw(st.sampled_from(["p", "service", "from", "load", "x"]))
        name = f"{stem}{len(prologue.lines)}"
        prologue.lines.append(f"PREFIX {name}: <{base}>\n")
        return f"{name}:{local}"
    if how == "relative" and not any(line.startswith("BASE") for line in prologue.lines):
        prologue.lines.append(f"BASE <{base}>\n")
        return f"<{local}>"
    if how == "escaped":
        position = draw(st.integers(0, len(iri) - 1))
        return "<" + iri[:position] + _escape(iri[position], True, False) + iri[position + 1:] + ">"
    return f"<{iri}>"


@dataclass(frozen=True)
class Generated:
    """A query and what it was built to contain."""

    text: str
    service: bool
    foreign: bool


@st.composite
def generated_queries(draw: st.DrawFn) -> Generated:
    """A SELECT with a chance of FROM / FROM NAMED clauses and of a SERVICE clause, nested
    anywhere a group may stand."""
    prologue = Prologue([])
    sep = draw(SEPARATORS)
    clauses: list[str] = []
    foreign = False
    for _ in range(draw(st.integers(0, 2))):
        graph = draw(st.sampled_from([*SERVED, *FOREIGN]))
        foreign |= graph not in SERVED
        keyword = draw(spelt("from"))
        if draw(st.booleans()):
            keyword += draw(st.sampled_from([" ", "\n", "#x\n"])) + draw(spelt("named"))
        clauses.append(keyword + draw(SEPARATORS) + draw(iri_ref(graph, prologue)) + " ")
    body = "{ ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } }"
    service = draw(st.booleans())
    if service:
        silent = (" " + draw(spelt("silent"))) if draw(st.integers(0, 3)) == 0 else ""
        call = (draw(spelt("service")) + silent + draw(SEPARATORS) +
                draw(iri_ref(ENDPOINT, prologue)) + " { ?s ?p ?o }")
        nest = draw(st.sampled_from(["{ %s }", "{ OPTIONAL { %s } }",
                                     "{ FILTER EXISTS { %s } }",
                                     "{ SELECT ?o WHERE { %s } }", "{ { %s } }"]))
        body += " UNION " + nest % call
    text = (prologue.text() + draw(spelt("select")) + sep + "?o" + draw(SEPARATORS) +
            "".join(clauses) + draw(spelt("where")) + sep + "{ " + body + " }")
    return Generated(text, service, foreign)


@st.composite
def generated_updates(draw: st.DrawFn) -> str:
    """A SPARQL update (LOAD, INSERT DATA, CLEAR ...), keywords spelt any way."""
    prologue = Prologue([])
    operation = draw(st.sampled_from(["load", "insert data", "delete where", "clear",
                                      "drop", "add", "copy", "move", "create"]))
    words = [draw(spelt(w)) for w in operation.split()]
    keyword = draw(SEPARATORS).join(words) or words[0]
    if operation == "load":
        rest = draw(iri_ref(FOREIGN[0], prologue))
    elif operation in ("insert data", "delete where"):
        rest = "{ <urn:a> <urn:b> <urn:c> }"
    elif operation in ("add", "copy", "move"):
        rest = "DEFAULT TO " + draw(iri_ref(SERVED[0], prologue))
    else:
        rest = "GRAPH " + draw(iri_ref(SERVED[0], prologue))
    return prologue.text() + keyword + " " + rest


# --------------------------------------------------------------------------------------------
# The oracle: how rdflib and pyoxigraph read a text


@dataclass(frozen=True)
class Reading:
    """What a parser found in a query."""

    service: bool
    dataset: frozenset[str] | None  # the graphs FROM / FROM NAMED name; None: no clause

    def unsafe(self) -> bool:
        return self.service or (self.dataset is not None and not self.dataset <= set(SERVED))


def _nodes_named(node: Any, name: str) -> list[Any]:
    """Every node of an rdflib parse tree with this name (an independent walk of the tree)."""
    found: list[Any] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if getattr(item, "name", None) == name:
            found.append(item)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple) or type(item).__name__ == "ParseResults":
            stack.extend(item)
    return found


def rdflib_reading(text: str) -> Reading | None:
    """rdflib's reading of a query, resolved through its own algebra; None if it cannot read it."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parsed = parseQuery(text)
        query = translateQuery(parsed)
    except Exception:  # not a query rdflib can read: nothing to hold the check to
        return None
    service = bool(_nodes_named(parsed, "ServiceGraphPattern"))
    dataset = query.algebra.get("datasetClause")
    graphs = None
    if dataset:
        # CompValue.get answers the key itself when it is absent: test membership instead
        graphs = frozenset(str(c["default"] if "default" in c else c["named"])
                           for c in dataset)
    return Reading(service, graphs)


def pyoxigraph_reading(text: str) -> Reading | None:
    """What pyoxigraph does with the query on the marker store; None if it cannot parse it."""
    try:
        result = ORACLE.query(text)
        assert isinstance(result, ox.QuerySolutions)
        markers = {solution["o"].value for solution in result
                   if isinstance(solution["o"], ox.Literal)}
    except SyntaxError:
        return None
    except OSError as error:  # it tried to follow a SERVICE
        assert "port 9" in str(error) or "SERVICE" in str(error).upper(), error
        return Reading(True, None)
    return Reading(False, None if WITNESS in markers else frozenset(markers))


def _checked(text: str) -> QueryError | None:
    """What the endpoint's checks say: None (accepted) or the QueryError, never anything else."""
    try:
        precheck(text)
        refuse_unsafe(text, SERVED)
    except QueryError as error:
        assert error.reason in REFUSALS | {"syntax", "invalid"}, error.reason
        return error
    return None


@given(generated_queries())
@BOUNDED
@example(Generated("SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/sparql> { } }",
                   True, False))
@example(Generated("PREFIX s: <http://127.0.0.1:9/>\nSELECT * WHERE { SERVICE s:sparql { } }",
                   True, False))
@example(Generated("SELECT * FROM <file:///etc/passwd> WHERE { }", False, True))
def test_no_parser_finds_service_or_a_foreign_graph_in_an_accepted_query(
        query: Generated) -> None:
    """Whatever either engine reads as SERVICE or a FROM of a graph not served is refused."""
    refusal = _checked(query.text)
    readings = {"rdflib": rdflib_reading(query.text), "pyoxigraph": pyoxigraph_reading(query.text)}
    unsafe = [name for name, reading in readings.items() if reading and reading.unsafe()]
    built_unsafe = (query.service or query.foreign) and any(readings.values())
    assert refusal is not None or not (unsafe or built_unsafe), (
        f"accepted, but {unsafe or 'its construction'} says it is unsafe: {query.text!r} "
        f"{readings}")
    if refusal is None and readings["pyoxigraph"] is not None:
        assert readings["pyoxigraph"] == Reading(False, readings["pyoxigraph"].dataset)


def test_the_oracle_sees_what_it_must() -> None:
    """The oracle itself can tell SERVICE, a foreign FROM and a served FROM apart."""
    assert pyoxigraph_reading(f"SELECT ?o WHERE {{ SERVICE <{ENDPOINT}> {{ ?s ?p ?o }} }}"
                              ) == Reading(True, None)
    foreign = pyoxigraph_reading(f"SELECT ?o FROM <{FOREIGN[0]}> WHERE {{ ?s ?p ?o }}")
    assert foreign is not None and foreign.unsafe()
    served = rdflib_reading(f"SELECT ?o FROM NAMED <{SERVED[0]}> WHERE {{ ?s ?p ?o }}")
    assert served == Reading(False, frozenset({SERVED[0]}))
    assert pyoxigraph_reading("SELECT ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
                              ) == Reading(False, None)
    assert pyoxigraph_reading("SELECT ?o WHERE {") is None


# --------------------------------------------------------------------------------------------
# The grammar's newer forms: syntax pyoxigraph reads and rdflib does not (RDF 1.2 triple terms,
# reifiers, annotations, LATERAL, VERSION, the new functions), and expressions whose "<" an
# IRI-seeking reading may misread. A SERVICE hidden among them must be refused all the same.

#: Fragments that stand where a group graph pattern's content may stand.
NEW_FORMS = st.sampled_from([
    "<<( ?s ?p ?o )>> ?q ?r .", "<< ?s ?p ?o >> ?q ?r .", "?s ?p ?o {| ?q ?r |} .",
    "?s ?p ?o ~ ?t .", "BIND(TRIPLE(?s, ?p, ?o) AS ?t) FILTER(isTRIPLE(?t))",
    "FILTER(hasLANG(?o))", 'BIND(STRLANGDIR("a", "en", "ltr") AS ?d)',
    'BIND("a"@en--ltr AS ?d)', "FILTER(1<2)", "FILTER(?s<?o&&?p>?o)", "FILTER(?s<?o)",
    "?s ?p ?o .", "LATERAL { ?s ?p ?o }",
])
#: Where a SERVICE call may be put among them.
NEW_NESTS = st.sampled_from(["LATERAL { %s }", "{ %s }", "OPTIONAL { %s }",
                             "LATERAL { FILTER(?s<?o) %s }", "FILTER EXISTS { %s }",
                             "{ <<( ?s ?p ?o )>> ?q ?r . %s }",
                             # "<" after an operand, read as an IRI's start, "#" in it, and a
                             # long string opened in what pyoxigraph reads as a comment
                             'FILTER(1<2#>"""\n) %s\n#"""\n',
                             "FILTER(?s<?o#>'''\n) %s\n#'''\n"])
GLUE = st.sampled_from(["", " ", "\n", "#x\n", "/**/"])


@st.composite
def newer_form_queries(draw: st.DrawFn) -> Generated:
    """A SELECT mixing the newer forms, with a chance of a SERVICE call among them, its keyword
    spelt in any case, escaped, and glued to what follows."""
    prologue = Prologue([])
    parts = draw(st.lists(NEW_FORMS, min_size=1, max_size=4))
    service = draw(st.booleans())
    if service:
        call = (draw(spelt("service")) + draw(GLUE) + draw(iri_ref(ENDPOINT, prologue))
                + " { ?s ?p ?o }")
        parts.insert(draw(st.integers(0, len(parts))), draw(NEW_NESTS) % call)
    version = 'VERSION "1.2" ' if draw(st.integers(0, 3)) == 0 else ""
    text = (prologue.text() + version + "SELECT ?o WHERE { " + " ".join(parts) + " }")
    return Generated(text, service, False)


@given(newer_form_queries())
@BOUNDED
@example(Generated("SELECT ?o WHERE { ?s ?p ?o LATERAL { FILTER(?s<?o) "
                   "SERVICE<http://127.0.0.1:9/sparql> { ?s ?p ?o } } }", True, False))
@example(Generated('SELECT ?o WHERE { LATERAL { ?s ?p ?o } FILTER(1<2#>"""\n) '
                   'SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o }\n#"""\n }', True, False))
@example(Generated("SELECT ?o WHERE { <<( ?s ?p ?o )>> ?q ?r . "
                   "{ \\u0053ERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } } }", True, False))
def test_a_service_among_the_newer_forms_is_refused(query: Generated) -> None:
    """The check fails closed: a query pyoxigraph reads as calling SERVICE is refused, and so
    is one that holds the letters but that the check cannot parse; it never runs unchecked."""
    refusal = _checked(query.text)
    reading = pyoxigraph_reading(query.text)
    if refusal is None:
        assert reading is None or not reading.service, f"accepted: {query.text!r}"
        assert not query.service or reading is None, f"accepted: {query.text!r}"


def test_the_newer_forms_without_service_letters_are_still_accepted() -> None:
    """Failing closed is bounded: newer syntax with no 'service' or 'from' in it still runs."""
    text = "SELECT ?o WHERE { <<( ?s ?p ?o )>> ?q ?r . LATERAL { ?s ?p ?o } FILTER(1<2) }"
    assert _checked(text) is None
    assert pyoxigraph_reading(text) is not None


def test_newer_syntax_beside_the_letters_is_refused_as_unreadable() -> None:
    refusal = _checked('SELECT ?o WHERE { <<( ?s ?p ?o )>> ?q "derived from" }')
    assert refusal is not None and refusal.reason == "unreadable"
    assert "cannot parse" in str(refusal)


@pytest.mark.parametrize("text", [
    "SELECT ?o WHERE { ?s ?p ?o }",
    f"SELECT ?o FROM <{SERVED[0]}> FROM NAMED <{SERVED[1]}> WHERE {{ ?s ?p ?o }}",
    'SELECT ?o WHERE { ?s ?p "SERVICE <http://x> FROM" } # LOAD <file:///etc/passwd>',
])
def test_plain_safe_queries_are_accepted(text: str) -> None:
    """The check is not simply refusing everything: the property above could not fail then."""
    assert _checked(text) is None


@given(generated_updates())
@FEW
def test_updates_are_refused_in_every_spelling(update: str) -> None:
    """A text rdflib reads as an update is refused by the query checks."""
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parseUpdate(update)
    except Exception:  # rdflib cannot read it: pyoxigraph's query parser refuses updates
        assume(False)
    refusal = _checked(update)
    assert refusal is not None and refusal.reason == "update", update


SPARQLISH = st.lists(st.sampled_from([
    *"SERVICEFROMNAMEDLOADselectwhere{}()<>?:#\"'\\u0053 \n\t.*;,@^",
    "SERVICE", "FROM", "LOAD", "\\u0053", "<http://127.0.0.1:9/>", "SELECT * WHERE",
    "PREFIX p: <http://127.0.0.1:9/>", "p:x", "'''", '"""', "\u00a0", "\U0001f600"]),
    max_size=40).map("".join)


@given(st.one_of(st.text(max_size=200), SPARQLISH))
@BOUNDED
def test_the_checks_never_crash(text: str) -> None:
    """Any text is accepted or refused with QueryError; and rdflib's SERVICE is refused."""
    refusal = _checked(text)
    reading = rdflib_reading(text)
    if reading is not None and reading.unsafe():
        assert refusal is not None, text


@given(st.one_of(st.text(max_size=200), SPARQLISH, generated_queries().map(lambda g: g.text)))
@BOUNDED
@example("SELECT * WHERE { \\u005Cu0053ERVICE <http://127.0.0.1:9/> {} }")
@example("(" * 65)
@example("ASK { " + "?s <p:a>/" * 501 + "<p:b> ?o }")
def test_one_reading_finds_what_the_separate_checks_find(text: str) -> None:
    """``read`` (what the endpoint runs once per query) refuses what ``precheck`` refuses,
    for the same reason, and finds the same keywords and normal form."""
    try:
        precheck(text)
        expected = None
    except QueryError as error:
        expected = error.reason
    try:
        reading = read(text)
    except QueryError as error:
        assert error.reason == expected, text
        return
    assert expected is None, text
    assert reading.keywords == keywords(text), text
    assert reading.normal == normalise(text), text


# --------------------------------------------------------------------------------------------
# normalise(): a cache key, so two texts with one normal form must be one query


@given(st.one_of(st.text(max_size=120), SPARQLISH))
@BOUNDED
@example('"x\n"#c')  # an open string: joining its lines made another query
@example("SELECT\u00a0* WHERE { ?s ?p ?o }")  # not SPARQL white space
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


TEMPLATES = [
    ["SELECT", "?label", "WHERE", "{", "<https://w3id.org/hodo/HODO_0000001>",
     "<http://www.w3.org/2000/01/rdf-schema#label>", "?label", "}", "ORDER", "BY", "?label"],
    ["SELECT", "(COUNT(*)", "AS", "?n)", "WHERE", "{", "?s", "a", "?c", ".", "FILTER",
     "(CONTAINS(STR(?c),", '"#  hodo")', "||", "?c", "=", "<urn:x#y>)", "}"],
    ["ASK", "{", "?s", "?p", "'a  b # c'", "}"],
    ["SELECT", "?s", "WHERE", "{", "?s", "?p", '"""two\n  lines"""', "}", "LIMIT", "3"],
]
#: Gaps that are one gap to SPARQL (white space, comments), and characters that look like
#: space but are not SPARQL's (a syntax error wherever they stand).
SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\r\n", " #comment \"' <x> {\n", "\n#\n"])
ODD = st.sampled_from(["\u00a0", "\x0c", "\u3000", "\x0b"])


@st.composite
def spaced_pairs(draw: st.DrawFn, tokens: list[str]) -> tuple[str, str]:
    """Two spellings of a template: at each gap, either two SPARQL gaps drawn apart (the same
    query) or one odd character in both (the same error)."""
    first, second = [], []
    for token in tokens:
        if draw(st.integers(0, 7)) == 0:
            odd = draw(ODD)
            first.append(odd)
            second.append(odd)
        else:
            first.append(draw(SPACES))
            second.append(draw(SPACES))
        first.append(token)
        second.append(token)
    return "".join(first), "".join(second)


@pytest.fixture(scope="module")
def store(release: Release) -> ox.Store:
    return release.store


def _outcome(store: ox.Store, text: str) -> tuple[str, bytes | str]:
    try:
        return "result", execute(store, text, "application/sparql-results+json").body
    except QueryError as error:
        return "refused", error.reason


@given(st.sampled_from(TEMPLATES).flatmap(spaced_pairs))
@FEW
def test_one_normal_form_one_result(store: ox.Store, pair: tuple[str, str]) -> None:
    """Two texts that differ only in SPARQL white space and comments have one normal form, and
    a text and its normal form give the same answer on the release's store (a result cached
    under the normal form is the right one for every text that has it)."""
    first, second = pair
    assert normalise(first) == normalise(second), pair
    assert _outcome(store, first) == _outcome(store, second), pair
    assert _outcome(store, first) == _outcome(store, normalise(first)), first


# --------------------------------------------------------------------------------------------
# Content negotiation


PLAIN_TYPES = sorted({f.media_type for f in FORMATS} | {"text/html", "image/png",
                                                        "application/xhtml+xml"})
RANGES = st.sampled_from([*PLAIN_TYPES, "text/*", "application/*", "*/*", "image/*"])
QS = st.one_of(st.none(), st.integers(0, 1000).map(lambda n: f"{n / 1000:.3f}".rstrip("0")
                                                   .rstrip(".") or "0"))


@st.composite
def accept_headers(draw: st.DrawFn) -> str:
    """A well-formed Accept header: ranges without parameters but q, q with 3 decimals."""
    parts = []
    for media, q in draw(st.lists(st.tuples(RANGES, QS), min_size=1, max_size=6)):
        parts.append(media if q is None else f"{media};q={q}")
    return draw(st.sampled_from([", ", ",", " , "])).join(parts)


OFFER_KINDS = st.sampled_from([Kind.RESULTS, Kind.GRAPH, Kind.DATASET])
HOSTILE_ACCEPT = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from([*PLAIN_TYPES, "*/*", "text/*", ";", ",", "q=", ";q=0", ";q=2",
                              ";q=nan", ";q=-1", ";q=1e999", ";q=x", "=", "/", " ", "*",
                              "application/json", "text/xml", ";charset=utf-8", "\u00e9"]),
             max_size=12).map("".join))


@given(HOSTILE_ACCEPT, OFFER_KINDS)
@BOUNDED
def test_negotiation_never_crashes_and_picks_an_offer(header: str, kind: Kind) -> None:
    offers = offers_for(kind)
    chosen = negotiate(header, offers)
    assert chosen is None or chosen in offers
    if chosen is not None and header.strip():
        ranges = parse_accept(header)
        assert any(q > 0 for _, q in ranges), (header, chosen)


@given(accept_headers(), OFFER_KINDS)
@BOUNDED
def test_negotiation_agrees_with_werkzeug(header: str, kind: Kind) -> None:
    """Same choice as werkzeug's ``MIMEAccept.best_match`` (RFC 9110: the most specific range
    that matches decides, q=0 refuses, then the higher q, then the more specific, then the
    server's order)."""
    offers = offers_for(kind)
    chosen = negotiate(header, offers)
    expected = parse_accept_header(header, MIMEAccept).best_match([f.media_type for f in offers])
    assert (chosen.media_type if chosen else None) == expected, header


@given(accept_headers(), OFFER_KINDS)
@BOUNDED
def test_q_zero_on_a_type_refuses_it(header: str, kind: Kind) -> None:
    """An offer named exactly with q=0 is never chosen, whatever wildcards say."""
    offers = offers_for(kind)
    refused = {media for media, q in parse_accept(header) if q == 0}
    chosen = negotiate(header, offers)
    assert chosen is None or chosen.media_type not in refused or any(
        media == chosen.media_type and q > 0 for media, q in parse_accept(header)), header


def test_negotiation_examples() -> None:
    """The cases the properties must not hide: aliases, wildcards refused, no header."""
    results = offers_for(Kind.RESULTS)
    assert negotiate("application/json", results) is BY_NAME["json"]
    assert negotiate("text/csv;q=0, */*", offers_for(Kind.RESULTS)) is BY_NAME["json"]
    assert negotiate("text/*;q=0, */*;q=0.1", results) in (BY_NAME["json"], BY_NAME["xml"])
    assert negotiate("image/png", results) is None
    assert negotiate(None, results) is results[0]


PAGE_OFFERS = {None, *(BY_NAME[name] for name in RDF_OFFERS)}


@given(HOSTILE_ACCEPT)
@BOUNDED
def test_page_or_rdf_negotiation_never_crashes(header: str) -> None:
    try:
        chosen = negotiate_page_or_rdf(header)
    except NotAcceptable:
        return
    assert chosen in PAGE_OFFERS


@given(accept_headers())
@BOUNDED
def test_page_or_rdf_respects_q_zero(header: str) -> None:
    """A page is HTML only if HTML (or XHTML) is acceptable; an RDF type only if it is."""
    ranges: dict[str, float] = {}
    for media, q in parse_accept(header):  # a type named twice counts at its higher q
        ranges[media] = max(q, ranges.get(media, 0.0))
    try:
        chosen = negotiate_page_or_rdf(header)
    except NotAcceptable:
        return
    media = "text/html" if chosen is None else chosen.media_type
    if ranges.get(media) == 0.0 and (chosen is not None
                                     or ranges.get("application/xhtml+xml", 0) == 0):
        raise AssertionError(f"{media} refused with q=0 but chosen: {header}")


# --------------------------------------------------------------------------------------------
# Language choice


LANGUAGE_TAGS = st.sampled_from(["zh", "zh-CN", "zh-Hans", "ZH_sg", "zh-TW", "en", "en-GB",
                                 "EN", "fr", "de-DE", "*", "x-klingon", "", "zhx", "e"])
LANG_QS = st.one_of(st.none(), st.sampled_from(["0", "0.0", "0.5", "1", "0.001", "x", "-1",
                                                "nan", "2", ""]))


@st.composite
def accept_languages(draw: st.DrawFn) -> str:
    parts = []
    for tag, q in draw(st.lists(st.tuples(LANGUAGE_TAGS, LANG_QS), max_size=5)):
        parts.append(tag if q is None else f"{tag};q={q}")
    return ",".join(parts)


ANY_LANG = st.one_of(st.none(), st.text(max_size=30), LANGUAGE_TAGS)
ANY_ACCEPT_LANGUAGE = st.one_of(st.none(), st.text(max_size=80), accept_languages())


@given(ANY_LANG, ANY_ACCEPT_LANGUAGE)
@BOUNDED
def test_language_is_always_one_of_hodos(requested: str | None, header: str | None) -> None:
    assert choose_language(requested, header) in LANGUAGES


@given(st.lists(st.sampled_from(["zh", "zh-CN", "zh-Hans", "zh-TW", "ZH_sg", "zh-Hant-HK"]),
                min_size=1, max_size=4), st.lists(st.sampled_from(["fr", "de", "ja", "*"]),
                                                  max_size=3))
@FEW
def test_a_header_naming_only_chinese_gets_chinese(chinese: list[str], others: list[str]
                                                  ) -> None:
    header = ", ".join([*others, *chinese])
    assert choose_language(None, header) == "zh"
    assert choose_language("fr", header) == "zh"  # an unsupported ?lang= defers to the header
    assert choose_language("en", header) == "en"  # a supported one wins


@given(accept_languages())
@BOUNDED
def test_q_zero_never_chooses_a_language(header: str) -> None:
    """Chinese is chosen only if some zh tag has a readable q above 0 (q=0, or a q that is not
    a number, refuses it), and always when it is the only HODO language so accepted."""
    accepted = set()
    for part in header.split(","):
        tag, _, q = part.partition(";q=")
        try:
            weight = float(q) if _ else 1.0
        except ValueError:
            weight = 0.0
        primary = tag.strip().replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES and weight > 0:
            accepted.add(primary)
    chosen = choose_language(None, header)
    if chosen == "zh":
        assert "zh" in accepted, header
    if accepted == {"zh"}:
        assert chosen == "zh", header


# --------------------------------------------------------------------------------------------
# Through the app: any Accept and Accept-Language on the pages and the endpoint


@pytest.fixture(scope="module")
def web(release: Release) -> Iterator[FlaskClient]:
    """One app for the module (no query worker: the queries here are trivial)."""
    from hodo.web import create_app

    app: Flask = create_app({"TESTING": True, "HODO_QUERY_WORKERS": 0,
                             "HODO_RATE_LIMIT": 0}, release=release)
    with app.test_client() as client:
        yield client


HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e),
                      max_size=80)


@given(st.one_of(HEADER_TEXT, accept_headers()), st.one_of(HEADER_TEXT, accept_languages()),
       st.one_of(st.none(), HEADER_TEXT))
@FEW
@example("text/html;q=0, */*", "zh-CN", None)
def test_pages_answer_any_accept(web: FlaskClient, accept: str, language: str,
                                 lang: str | None) -> None:
    """A term page answers 200 in an offered type and language, or 406; never an error."""
    query = {"lang": lang} if lang is not None else {}
    response = web.get("/HODO_0000001", headers={"Accept": accept,
                                                 "Accept-Language": language},
                       query_string=query)
    assert response.status_code in (200, 406), (response.status_code, accept, language, lang)
    if response.status_code == 200:
        offered = {"text/html", *(BY_NAME[name].media_type for name in RDF_OFFERS)}
        assert response.mimetype in offered
        if response.mimetype == "text/html":
            assert response.headers["Content-Language"] in LANGUAGES
            assert response.headers["Content-Language"] == choose_language(lang, language)


@given(st.one_of(HEADER_TEXT, accept_headers()))
@FEW
def test_the_endpoint_answers_any_accept(web: FlaskClient, accept: str) -> None:
    """A SELECT answers in the type negotiate() picks, or 406 when it picks none."""
    response = web.get("/sparql", query_string={"query": "SELECT * WHERE { } LIMIT 1"},
                       headers={"Accept": accept})
    chosen = negotiate(accept, offers_for(Kind.RESULTS))
    if chosen is None:
        assert response.status_code == 406, (response.status_code, accept)
    else:
        assert response.status_code == 200, (response.status_code, accept, response.data[:200])
        assert response.mimetype == chosen.media_type


@pytest.mark.parametrize("update", [
    'INSERT { ?s ?p ?o } WHERE { LATERAL { ?s ?p ?o } FILTER(1<2#>"""\n) '
    'SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o }\n#"""\n }',
    'INSERT { ?s ?p ?o } WHERE { <<( ?s ?p ?o )>> ?q ?r FILTER(?s<?o#>"""\n) '
    'LOAD <http://127.0.0.1:9/data.ttl>\n#"""\n }',
])
def test_an_update_hiding_service_or_load_where_the_check_cannot_read_is_refused(
        update: str) -> None:
    """The curator's updates fail closed too: unreadable and holding the letters, refused."""
    with pytest.raises(QueryError) as refused:
        refuse_unsafe_update(update)
    assert refused.value.reason == "unreadable"


def test_an_update_with_newer_syntax_and_no_such_letters_is_checked_and_passes() -> None:
    refuse_unsafe_update("INSERT { ?s ?p ?o } WHERE { <<( ?s ?p ?o )>> ?q ?r }")


def test_every_refusal_reason_of_the_checks_is_counted_by_the_metrics() -> None:
    """A reason the metrics do not know would turn a refusal into a 500."""
    from hodo.engine import query
    from hodo.web.metrics import REASONS

    tree = ast.parse(Path(query.__file__).read_text(encoding="utf-8"))
    used = {call.args[1].value for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "QueryError"
            and len(call.args) == 2 and isinstance(call.args[1], ast.Constant)}
    assert {"service", "unreadable", "dataset"} <= used
    assert used <= set(REASONS), used - set(REASONS)
