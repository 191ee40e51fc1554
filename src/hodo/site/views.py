"""What the pages of HODO resources show, read from the store by a few SPARQL queries each.

Every function takes the store and returns frozen dataclasses, so the pages never touch the
engine and the same views could be answered by a remote SPARQL server. IRIs are bound with
``substitutions``, never pasted into query text; a substituted variable is projected too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyoxigraph as ox

from hodo.core.i18n import normalize_tag, pick_label
from hodo.core.namespaces import (
    BASE,
    DCTERMS_NS,
    INFERRED_GRAPH,
    OBO_IN_OWL_NS,
    OBO_NS,
    OWL_NS,
    PREFIXES,
    RDF_TYPE,
    RDFS_NS,
    SCHEMA_NS,
    SKOS_NS,
    shorten,
)

LABEL = RDFS_NS + "label"
DEFINITION = OBO_NS + "IAO_0000115"
NOTE = SKOS_NS + "editorialNote"
FINDING = BASE + "HODO_0000110"
HIERARCHY = (RDFS_NS + "subClassOf", RDFS_NS + "subPropertyOf")
SYNONYMS = {OBO_IN_OWL_NS + f"has{scope.title()}Synonym": scope
            for scope in ("exact", "related", "broad", "narrow")}
MAPPINGS = tuple(SKOS_NS + m for m in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch",
                                     "relatedMatch"))
XREF = OBO_IN_OWL_NS + "hasDbXref"
BIOLINK = "https://w3id.org/biolink/vocab/"
DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
TERM_TYPES = frozenset(OWL_NS + t for t in ("Class", "ObjectProperty", "DatatypeProperty",
                                         "AnnotationProperty", "NamedIndividual"))
KIND_BY_TYPE = {FINDING: "finding", "http://purl.org/ontology/bibo/AcademicArticle": "article",
                "http://purl.org/spar/doco/Section": "section",
                DCTERMS_NS + "BibliographicResource": "reference",
                "http://purl.org/spar/doco/Sentence": "sentence",
                "http://purl.org/spar/doco/SectionTitle": "sentence"}

_PROLOGUE = "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in (
    "rdf", "rdfs", "owl", "dcterms", "oban", "biolink", "bibo", "doco", "schema", "prov")) + (
    f"PREFIX hodo: <{BASE}>\n")


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Text:
    """A literal: its text and language (``en``, ``zh``, another tag, or None)."""

    value: str
    lang: str | None = None


@dataclass(frozen=True)
class Value:
    """A resource with its labels by language, a literal, or an OWL restriction (``some``)."""

    iri: str | None = None
    text: Text | None = None
    labels: tuple[tuple[str, str], ...] = ()
    on_property: Value | None = None
    filler: Value | None = None

    def shown(self, lang: str) -> tuple[str, str | None]:
        """The text to show in ``lang`` and the language it is in (None: not a language)."""
        if self.text is not None:
            return self.text.value, self.text.lang
        picked = pick_label(dict(self.labels), lang)
        if picked:
            return picked
        return (shorten(self.iri), None) if self.iri else ("[]", None)

    @property
    def key(self) -> str:
        return self.iri or (self.text.value if self.text else "")


def language_of(literal: ox.Literal) -> str | None:
    """A literal's language as pages name it: en or zh for their variants, else the tag."""
    tag = literal.language
    return (normalize_tag(tag) or tag.lower()) if tag else None


def _text(term: object) -> Text:
    if isinstance(term, ox.Literal):
        return Text(term.value, language_of(term))
    return Text(getattr(term, "value", str(term)))


class _Labels:
    """Labels gathered from rows of OPTIONAL label joins, first label per language wins."""

    def __init__(self) -> None:
        self.by_iri: dict[str, dict[str, str]] = {}

    def add(self, term: object, label: object) -> None:
        if isinstance(term, ox.NamedNode):
            found = self.by_iri.setdefault(term.value, {})
            if isinstance(label, ox.Literal):
                found.setdefault(language_of(label) or "", label.value)

    def value(self, term: object, on: Value | None = None, filler: Value | None = None
              ) -> Value:
        if isinstance(term, ox.NamedNode):
            labels = self.by_iri.get(term.value, {})
            return Value(term.value, labels=tuple(sorted(labels.items())))
        if isinstance(term, ox.Literal):
            return Value(text=_text(term))
        return Value(on_property=on, filler=filler)


def web_iri(iri: str | None) -> bool:
    """Whether an IRI may become a link: only http and https, never javascript: or data:."""
    if not iri:
        return False
    try:
        parts = urlsplit(iri)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def described(store: ox.Store, iri: str) -> bool:
    """Whether the release gives ``iri`` a label, so that HODO has a page to show for it."""
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return False
    return any(True for _ in store.quads_for_pattern(node, ox.NamedNode(LABEL), None))


def _run(store: ox.Store, query: str, **bound: ox.NamedNode) -> list[dict[str, Any]]:
    """The solutions as dicts: a QuerySolution looked up by name is slow, unpacked it is not."""
    solutions = store.query(_PROLOGUE + query, use_default_graph_as_union=True,
                            substitutions={ox.Variable(k): v for k, v in bound.items()})
    names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
    return [dict(zip(names, row, strict=True)) for row in solutions]  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# Statements about one resource, both directions


@dataclass(frozen=True)
class Statement:
    """One statement seen from the resource: the property, the other end, and whether HermiT
    inferred it (it is in ``graph/inferred`` only)."""

    prop: Value
    value: Value
    inferred: bool = False


@dataclass(frozen=True)
class Resource:
    """A resource's own statements and the statements of other resources that point at it
    (findings excepted: they have their own view)."""

    iri: str
    labels: tuple[tuple[str, str], ...]
    outgoing: tuple[Statement, ...]
    incoming: tuple[Statement, ...]
    kind: str

    def label(self, lang: str) -> tuple[str, str | None]:
        return Value(self.iri, labels=self.labels).shown(lang)

    def values(self, *props: str) -> tuple[Value, ...]:
        return tuple(s.value for s in self.outgoing if s.prop.iri in props)

    def texts(self, *props: str) -> tuple[Text, ...]:
        return tuple(v.text for v in self.values(*props) if v.text is not None)

    def sources(self, *props: str) -> tuple[Value, ...]:
        return tuple(s.value for s in self.incoming if s.prop.iri in props)


#: A resource's statements, with the restrictions they reach; labels come from the table.
_OUTGOING = """
SELECT ?s ?p ?o ?inf ?rp ?rv WHERE {
  ?s ?p ?o .
  BIND (EXISTS { GRAPH <INFERRED> { ?s ?p ?o } } AS ?inf)
  OPTIONAL { ?o owl:onProperty ?rp ; owl:someValuesFrom ?rv }
}""".replace("INFERRED", INFERRED_GRAPH)

#: The statements pointing at a resource, and the classes whose restrictions name it. The
#: restriction is found from the resource first: written the other way round, the engine
#: joined every subclass axiom first, and the query took six times as long. ``isIRI(?x)`` is
#: filtered once, after the UNION: Virtuoso 7.2's compiler fails on a branch that holds both a
#: FILTER and a BIND ("sparp_gp_deprecate(): equiv replaces filter").
_INCOMING = """
SELECT ?s ?x ?p ?inf ?rp WHERE {
  { ?x ?p ?s .
    BIND (EXISTS { GRAPH <INFERRED> { ?x ?p ?s } } AS ?inf) }
  UNION
  { ?r owl:someValuesFrom ?s ; owl:onProperty ?rp . ?x rdfs:subClassOf ?r .
    BIND (rdfs:subClassOf AS ?p) }
  FILTER isIRI(?x)
  FILTER NOT EXISTS { ?x a hodo:HODO_0000110 }
} LIMIT 5000""".replace("INFERRED", INFERRED_GRAPH)

#: Each IRI's labels, first per language, as ``hodo.site.pagetables`` reads them once.
LabelTable = Mapping[str, tuple[tuple[str, str], ...]]


def resource(store: ox.Store, iri: str, labels: LabelTable) -> Resource | None:
    """Both directions of statements about ``iri``, or None when the release says nothing.

    Two queries: the resource's own statements (with the restrictions they reach) and the
    statements pointing at it; the labels of everything named come from ``labels``.
    """
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return None
    known = _Known(labels)
    outgoing = _outgoing(store, node, known)
    incoming = _incoming(store, node, known)
    if not outgoing and not incoming:
        return None
    first: dict[str, str] = {}
    for text in (s.value.text for s in outgoing if s.prop.iri == LABEL and s.value.text):
        first.setdefault(text.lang or "", text.value)
    return Resource(iri, tuple(sorted(first.items())), outgoing, incoming,
                    _kind(iri, outgoing, incoming))


class _Known:
    """Values whose labels are looked up in a label table rather than queried with them."""

    def __init__(self, labels: LabelTable) -> None:
        self.labels = labels

    def value(self, term: object, on: Value | None = None, filler: Value | None = None
              ) -> Value:
        if isinstance(term, ox.NamedNode):
            return Value(term.value, labels=self.labels.get(term.value, ()))
        if isinstance(term, ox.Literal):
            return Value(text=_text(term))
        return Value(on_property=on, filler=filler)


def _outgoing(store: ox.Store, node: ox.NamedNode, known: _Known) -> tuple[Statement, ...]:
    seen: dict[tuple[str, str], Statement] = {}
    for row in _run(store, _OUTGOING, s=node):
        key = (row["p"].value, str(row["o"]))
        if key not in seen:
            restriction = (known.value(row["rp"]), known.value(row["rv"])) if row["rp"] else (
                None, None)
            seen[key] = Statement(known.value(row["p"]), known.value(row["o"], *restriction),
                                  _true(row["inf"]))
    return tuple(sorted(seen.values(), key=lambda s: (s.prop.key, s.value.key)))


def _incoming(store: ox.Store, node: ox.NamedNode, known: _Known) -> tuple[Statement, ...]:
    seen: dict[tuple[str, str, str], Statement] = {}
    for row in _run(store, _INCOMING, s=node):
        via = row["rp"].value if row["rp"] else ""
        key = (row["p"].value, row["x"].value, via)
        if key not in seen:
            restriction = known.value(row["rp"]) if row["rp"] else None
            seen[key] = Statement(known.value(row["p"]),
                                  Value(row["x"].value, labels=known.value(row["x"]).labels,
                                        on_property=restriction),
                                  _true(row["inf"]))
    return tuple(sorted(seen.values(), key=lambda s: (s.prop.key, s.value.key)))


def _true(term: object) -> bool:
    return isinstance(term, ox.Literal) and term.value in ("true", "1")


def _kind(iri: str, outgoing: Iterable[Statement], incoming: Iterable[Statement]) -> str:
    """What page the resource gets: finding, article, section, reference, term or generic."""
    types = {s.value.iri for s in outgoing if s.prop.iri == RDF_TYPE}
    for type_iri, kind in KIND_BY_TYPE.items():
        if type_iri in types:
            return kind
    if types & TERM_TYPES or any(s.prop.iri in HIERARCHY for s in outgoing):
        return "term"
    if not iri.startswith(BASE) and any(s.prop.iri == LABEL for s in outgoing):
        return "term"  # a reused external term the imports describe
    return "generic"


# ---------------------------------------------------------------------------------------------
# Findings


@dataclass(frozen=True)
class Quantity:
    """One value of a finding: what it measures, a value or a range, and its unit."""

    measure: Value | None
    value: str | None
    minimum: str | None
    maximum: str | None
    unit: Value | None
    unit_text: tuple[Text, ...]


@dataclass(frozen=True)
class Citation:
    """A bibliography entry a finding cites, with its number in the article."""

    iri: str
    number: str | None
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, lang: str) -> tuple[str, str | None]:
        return Value(self.iri, labels=self.labels).shown(lang)


@dataclass(frozen=True)
class Change:
    """How the article says a subject or object changes: a direction (``increased`` or
    ``decreased``) and what changes (``level``, ``activity`` ...), as Biolink qualifies them."""

    direction: str | None
    aspect: str | None


@dataclass(frozen=True)
class Finding:
    """One claim of the article as the finding pattern records it."""

    iri: str
    labels: tuple[tuple[str, str], ...]
    subject: Value | None
    relation: Value | None
    object: Value | None
    negated: bool
    hedged: bool
    quantities: tuple[Quantity, ...]
    population: tuple[Text, ...]
    authors: tuple[Text, ...]
    sentences: tuple[Text, ...]
    citations: tuple[Citation, ...]
    section: Value | None
    evidence: tuple[Value, ...]
    conflicts: tuple[Value, ...]
    notes: tuple[Text, ...]
    #: The condition that defines the population, the group it was compared with, the species.
    population_of: tuple[Value, ...] = ()
    compared_with: tuple[Value, ...] = ()
    species: tuple[Value, ...] = ()
    subject_change: Change | None = None
    object_change: Change | None = None
    #: The ledger sentences (``ontology/ledger/``) the finding is read from.
    derived_from: tuple[Value, ...] = ()

    def label(self, lang: str) -> tuple[str, str | None]:
        return Value(self.iri, labels=self.labels).shown(lang)

    @property
    def uncited(self) -> bool:
        """The article gives the claim no citation mark: it is the authors' own statement."""
        return not self.citations


#: Which findings a view loads: ``?t`` is the resource the page is about.
SELECTORS = {
    "about": "{ ?f oban:association_has_subject ?t } UNION { ?f oban:association_has_object ?t }"
             " UNION { ?f oban:association_has_object_property ?t }",
    "cites": "?f dcterms:source ?t",
    "in_section": "?f hodo:HODO_0000202 ?t",
    "one": "FILTER (?f = ?t)",  # joined with ``?f a hodo:HODO_0000110`` below
}

_FINDINGS = """
SELECT ?t ?f ?p ?o ?l ?x ?xp ?xo ?xl WHERE {
  ?f a hodo:HODO_0000110 . SELECTOR
  { ?f ?p ?o OPTIONAL { ?o rdfs:label ?l } }
  UNION { ?f hodo:HODO_0000203 ?x . ?x ?xp ?xo OPTIONAL { ?xo rdfs:label ?xl } }
  UNION { ?f dcterms:source ?x . ?x hodo:HODO_0000206 ?xo BIND (hodo:HODO_0000206 AS ?xp) }
}"""


def findings(store: ox.Store, selector: str, iri: str) -> tuple[Finding, ...]:
    """The findings ``SELECTORS[selector]`` picks for ``iri``, in ID order; one query."""
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return ()
    rows = _run(store, _FINDINGS.replace("SELECTOR", SELECTORS[selector]), t=node)
    return tuple(_findings(rows).values())


@dataclass(frozen=True)
class FindingTable:
    """Every finding of the release, and which findings each selector picks for an IRI."""

    by_iri: Mapping[str, Finding]
    picked: Mapping[tuple[str, str], tuple[str, ...]]

    def select(self, selector: str, iri: str) -> tuple[Finding, ...]:
        """What ``findings(store, selector, iri)`` answers, read from the table."""
        if selector == "one":
            found = self.by_iri.get(iri)
            return (found,) if found else ()
        return tuple(self.by_iri[f] for f in self.picked.get((selector, iri), ()))


#: The properties by which each selector but ``one`` reaches the resource from a finding.
SELECTOR_PROPERTIES = {
    "about": ("http://purl.org/oban/association_has_subject",
              "http://purl.org/oban/association_has_object",
              "http://purl.org/oban/association_has_object_property"),
    "cites": (DCTERMS_NS + "source",),
    "in_section": (BASE + "HODO_0000202",),
}


def finding_table(store: ox.Store) -> FindingTable:
    """All findings in one query (about 35 ms), so that no page has to query for them."""
    rows = _run(store, _FINDINGS.replace("SELECTOR", ""))
    built = _findings(rows)
    picked: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        for selector, props in SELECTOR_PROPERTIES.items():
            if row["p"] is not None and row["p"].value in props and isinstance(
                    row["o"], ox.NamedNode):
                picked.setdefault((selector, row["o"].value), set()).add(
                    row["f"].value)  # type: ignore[union-attr]
    return FindingTable(built, {key: tuple(sorted(found)) for key, found in picked.items()})


def _findings(rows: list[dict[str, Any]]) -> dict[str, Finding]:
    """The findings of ``_FINDINGS`` rows by IRI, in ID order."""
    labels = _Labels()
    for row in rows:
        labels.add(row["o"], row["l"])
        labels.add(row["xo"], row["xl"])
    props: dict[str, dict[str, dict[str, object]]] = {}
    extra: dict[str, dict[str, dict[str, list[object]]]] = {}
    for row in rows:
        f = row["f"].value  # type: ignore[union-attr]
        if row["p"] is not None:
            found = props.setdefault(f, {}).setdefault(row["p"].value, {})
            found.setdefault(str(row["o"]), row["o"])
        else:
            by_x = extra.setdefault(f, {}).setdefault(row["x"].value, {})  # type: ignore[union-attr]
            values = by_x.setdefault(row["xp"].value, [])  # type: ignore[union-attr]
            if row["xo"] not in values:
                values.append(row["xo"])
    return {f: _finding(f, props[f], extra.get(f, {}), labels) for f in sorted(props)}


def _finding(iri: str, props: Mapping[str, Mapping[str, object]],
             extra: Mapping[str, Mapping[str, list[object]]], labels: _Labels) -> Finding:
    def terms(prop: str) -> list[object]:
        return list(props.get(prop, {}).values())

    def values(prop: str) -> tuple[Value, ...]:
        return tuple(sorted((labels.value(t) for t in terms(prop)), key=lambda v: v.key))

    def texts(prop: str) -> tuple[Text, ...]:
        return tuple(sorted((_text(t) for t in terms(prop) if isinstance(t, ox.Literal)),
                            key=lambda x: (x.lang != "zh", x.lang or "", x.value)))

    def one(prop: str) -> Value | None:
        found = values(prop)
        return found[0] if found else None

    def change(side: str) -> Change | None:
        direction, aspect = (next((t.value for t in texts(f"{BIOLINK}{side}_{kind}_qualifier")),
                                  None) for kind in ("direction", "aspect"))
        return Change(direction, aspect) if direction or aspect else None

    own_labels = {t.lang or "": t.value for t in reversed(texts(LABEL))}
    return Finding(
        iri, tuple(sorted(own_labels.items())),
        one("http://purl.org/oban/association_has_subject"),
        one("http://purl.org/oban/association_has_object_property"),
        one("http://purl.org/oban/association_has_object"),
        any(_true(t) for t in terms("https://w3id.org/biolink/vocab/negated")),
        any(_true(t) for t in terms(BASE + "HODO_0000209")),
        tuple(_quantity(extra.get(str(q.iri), {}), labels) for q in values(BASE + "HODO_0000203")),
        texts(BASE + "HODO_0000205"), texts(BASE + "HODO_0000207"), texts(BASE + "HODO_0000201"),
        _citations(values(DCTERMS_NS + "source"), extra),
        one(BASE + "HODO_0000202"), values(OBO_NS + "RO_0002558"), values(BASE + "HODO_0000208"),
        texts(NOTE), values(BASE + "HODO_0000213"), values(BASE + "HODO_0000214"),
        values(BIOLINK + "species_context_qualifier"), change("subject"), change("object"),
        values(DERIVED_FROM))


def _quantity(props: Mapping[str, list[object]], labels: _Labels) -> Quantity:
    def first(prop: str) -> object | None:
        found = props.get(prop)
        return found[0] if found else None

    def literal(prop: str) -> str | None:
        term = first(prop)
        return term.value if isinstance(term, ox.Literal) else None

    measure, unit = first(BASE + "HODO_0000204"), first(SCHEMA_NS + "unitCode")
    return Quantity(labels.value(measure) if measure is not None else None,
                    literal(SCHEMA_NS + "value"), literal(SCHEMA_NS + "minValue"),
                    literal(SCHEMA_NS + "maxValue"),
                    labels.value(unit) if unit is not None else None,
                    tuple(_text(t) for t in props.get(SCHEMA_NS + "unitText", [])))


def _citations(sources: Iterable[Value], extra: Mapping[str, Mapping[str, list[object]]]
               ) -> tuple[Citation, ...]:
    def number(value: Value) -> str | None:
        found = extra.get(value.iri or "", {}).get(BASE + "HODO_0000206", [])
        return getattr(found[0], "value", None) if found else None

    # The article itself is the source of an uncited claim, not a citation.
    cited = [Citation(v.iri, number(v), v.labels) for v in sources
             if v.iri and number(v) is not None]
    return tuple(sorted(cited, key=lambda c: (_int(c.number), c.iri)))


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return 1 << 30


# ---------------------------------------------------------------------------------------------
# The article and its sections


@dataclass(frozen=True)
class FindingLine:
    """A finding as a line of a section's list: its claim and how it is qualified."""

    iri: str
    labels: tuple[tuple[str, str], ...]
    negated: bool
    hedged: bool

    def label(self, lang: str) -> tuple[str, str | None]:
        return Value(self.iri, labels=self.labels).shown(lang)


@dataclass(frozen=True)
class Section:
    """A section of the article, where it sits, and the findings recorded from it."""

    iri: str
    labels: tuple[tuple[str, str], ...]
    locator: str | None
    parent: str | None
    depth: int
    findings: tuple[FindingLine, ...] = field(default=())
    #: Its sentences in the article's order, from the sentence ledger.
    sentences: tuple[LedgerLine, ...] = field(default=())

    def label(self, lang: str) -> tuple[str, str | None]:
        return Value(self.iri, labels=self.labels).shown(lang)


@dataclass(frozen=True)
class LedgerLine:
    """A sentence of the article and what HODO made of it: the findings derived from it, or
    the reason it holds no claim (and the findings it restates)."""

    iri: str
    position: int
    text: Text | None
    findings: tuple[FindingLine, ...]
    reason: Value | None
    restates: tuple[Value, ...]


_SECTIONS = """
SELECT ?a ?sec ?parent ?loc ?l ?f ?fl ?neg ?hedged WHERE {
  ?sec dcterms:isPartOf+ ?a ; a doco:Section ; dcterms:isPartOf ?parent .
  OPTIONAL { ?sec bibo:locator ?loc }
  OPTIONAL { ?sec rdfs:label ?l }
  OPTIONAL { ?f hodo:HODO_0000202 ?sec ; a hodo:HODO_0000110 .
             OPTIONAL { ?f rdfs:label ?fl }
             OPTIONAL { ?f biolink:negated ?neg }
             OPTIONAL { ?f hodo:HODO_0000209 ?hedged } }
}"""


def sections(store: ox.Store, iri: str) -> tuple[Section, ...]:
    """Every section under ``iri`` (the article, or a section), in the article's order.

    Numbered sections follow their locator (1, 2, 2.1 ...); the unnumbered front matter
    comes first, the abstract before the introduction, as a journal prints them.
    """
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return ()
    rows = _run(store, _SECTIONS, a=node)
    labels = _Labels()
    for row in rows:
        labels.add(row["sec"], row["l"])
        labels.add(row["f"], row["fl"])
    info: dict[str, tuple[str | None, str]] = {}
    lines: dict[str, dict[str, FindingLine]] = {}
    for row in rows:
        sec = row["sec"].value  # type: ignore[union-attr]
        info.setdefault(sec, (getattr(row["loc"], "value", None),
                              row["parent"].value))  # type: ignore[union-attr]
        found = lines.setdefault(sec, {})
        if row["f"] is not None and row["f"].value not in found:
            f = row["f"]
            found[f.value] = FindingLine(f.value, labels.value(f).labels,
                                         _true(row["neg"]), _true(row["hedged"]))

    def depth(sec: str) -> int:
        parent, steps = info[sec][1], 0
        while parent in info and steps < 20:
            parent, steps = info[parent][1], steps + 1
        return steps

    ledger = sentences(store, node)
    made = [Section(sec, labels.value(ox.NamedNode(sec)).labels, loc, parent, depth(sec),
                    tuple(sorted(lines[sec].values(), key=lambda x: x.iri)), ledger.get(sec, ()))
            for sec, (loc, parent) in info.items()]
    return tuple(sorted(made, key=_reading_order))


#: The sections under a document, at any depth.
_UNDER = "SELECT ?a ?sec WHERE { ?sec dcterms:isPartOf+ ?a }"

#: The ledger's sentences of the sections named in its VALUES (``%s``: N-Triples forms of
#: IRIs, which cannot hold a quote, a brace or white space), with what HODO made of each. The
#: sections are not found by the path to the document in the same query: Virtuoso 7.2 answers
#: that path joined with these OPTIONALs with one or two rows (docs/serving.md).
_LEDGER = """
SELECT ?sec ?s ?pos ?text ?f ?fl ?neg ?hedged ?why ?whyl ?r ?rl WHERE {
  VALUES ?sec { %s }
  ?s dcterms:isPartOf ?sec ; schema:position ?pos .
  OPTIONAL { ?s schema:text ?text }
  OPTIONAL { ?f prov:wasDerivedFrom ?s ; a hodo:HODO_0000110 .
             OPTIONAL { ?f rdfs:label ?fl }
             OPTIONAL { ?f biolink:negated ?neg }
             OPTIONAL { ?f hodo:HODO_0000209 ?hedged } }
  OPTIONAL { ?s hodo:HODO_0000230 ?why OPTIONAL { ?why rdfs:label ?whyl } }
  OPTIONAL { ?s hodo:HODO_0000234 ?r OPTIONAL { ?r rdfs:label ?rl } }
}"""


def sentences(store: ox.Store, article: ox.NamedNode) -> dict[str, tuple[LedgerLine, ...]]:
    """The ledger's sentences of every section under ``article``, by section, in order."""
    under = sorted({str(row["sec"]) for row in _run(store, _UNDER, a=article)
                    if isinstance(row["sec"], ox.NamedNode)})
    if not under:
        return {}
    rows = _run(store, _LEDGER % " ".join(under))
    labels = _Labels()
    for row in rows:
        for term, label in (("f", "fl"), ("why", "whyl"), ("r", "rl")):
            labels.add(row[term], row[label])
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        line = found.setdefault(row["sec"].value, {}).setdefault(row["s"].value, {
            "pos": _int(row["pos"].value), "text": row["text"], "findings": {},
            "why": row["why"], "restates": {}})
        if row["f"] is not None:
            line["findings"][row["f"].value] = FindingLine(
                row["f"].value, labels.value(row["f"]).labels, _true(row["neg"]),
                _true(row["hedged"]))
        if row["r"] is not None:
            line["restates"][row["r"].value] = labels.value(row["r"])
    return {sec: tuple(sorted((LedgerLine(
        s, line["pos"], _text(line["text"]) if line["text"] is not None else None,
        tuple(sorted(line["findings"].values(), key=lambda x: x.iri)),
        labels.value(line["why"]) if line["why"] is not None else None,
        tuple(sorted(line["restates"].values(), key=lambda v: v.key)))
        for s, line in lines.items()), key=_sentence_order))
        for sec, lines in found.items()}


def _sentence_order(line: LedgerLine) -> tuple[bool, int]:
    """The abstract's Chinese sentences, then its English ones; elsewhere by position."""
    return (line.text is not None and line.text.lang == "en"), line.position


#: Unnumbered sections in the order a journal prints them (by the end of their IRI).
FRONT_MATTER = ("abstract", "introduction")


def _reading_order(section: Section) -> tuple[int, tuple[int, ...], str]:
    if section.locator is None:
        local = section.iri.rsplit("-", 1)[-1]
        return 0, (FRONT_MATTER.index(local) if local in FRONT_MATTER else len(FRONT_MATTER),),\
            section.iri
    parts = tuple(_int(p) for p in section.locator.split("."))
    return 1, parts, section.iri
