"""An in-memory index of every named term of a release, for search and autocomplete.

Built once from the store; each query then scans a few thousand normalised strings in
Python, so a keystroke costs well under a millisecond and no query text ever reaches SPARQL.

Names are ``rdfs:label`` (en, zh), ``skos:prefLabel``/``altLabel`` and the oboInOwl synonyms;
HODO records the article's abbreviations (HO, PBC, OP ...) as exact synonyms, so an exact
synonym match ranks just below an exact label match. Terms that the release carries only as
ancestors of the terms it uses (``oboInOwl:inSubset`` the ancestor subset) are still found, but
ranked after every other match unless a name matches exactly: they are context, not what a
reader is looking for, but a reader who types one's exact name wants it. The labels the
mappings graph gives the targets of HODO's mappings (MeSH, DOID ... terms HODO does not
otherwise describe) are for a client following a mapping, not names to search: they are left out.

Past substrings, a name matches when it holds every word of the query in any order, plurals
and simple endings aside (``osteoporotic fractures`` finds "osteoporotic fracture", ``bone
density`` "bone mineral density"); Chinese is cut into words (jieba) and matches when every
word is in the name. Only when nothing matches so far, a close misspelling (rapidfuzz, 85 of
100) does: ``osteoporsis`` finds osteoporosis.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import jieba
import pyoxigraph as ox
from rapidfuzz import fuzz

from hodo.core.namespaces import (
    BASE,
    OBO_IN_OWL_NS,
    OBO_NS,
    OWL_NS,
    PREFIXES,
    RDF_TYPE,
    RDFS_NS,
    SKOS_NS,
)
from hodo.core.release import graph_iri

LABEL = RDFS_NS + "label"
SUBCLASS = RDFS_NS + "subClassOf"
#: The graph of the SKOS mappings and their targets' labels, which search leaves out.
MAPPINGS_GRAPH = str(graph_iri("mappings"))
SUBPROPERTY = RDFS_NS + "subPropertyOf"
IN_SUBSET = OBO_IN_OWL_NS + "inSubset"
ANCESTOR_SUBSET = BASE + "subsets/ancestor"

#: Where a name comes from, and the kind of name it is.
NAME_KINDS = {
    LABEL: "label",
    SKOS_NS + "prefLabel": "label",
    SKOS_NS + "altLabel": "synonym",
    OBO_IN_OWL_NS + "hasExactSynonym": "synonym",
    OBO_IN_OWL_NS + "hasRelatedSynonym": "synonym",
    OBO_IN_OWL_NS + "hasBroadSynonym": "synonym",
    OBO_IN_OWL_NS + "hasNarrowSynonym": "synonym",
}
TYPES = {OWL_NS + "Class": "class", OWL_NS + "ObjectProperty": "property",
         OWL_NS + "DatatypeProperty": "property", OWL_NS + "AnnotationProperty": "property",
         RDF_TYPE.replace("type", "Property"): "property"}
KINDS = ("class", "property", "individual")

#: Match ranks, best first.
EXACT_LABEL, EXACT_SYNONYM, PREFIX, WORD_PREFIX, SUBSTRING, ALL_WORDS, CLOSE = range(7)
#: How alike (0 to 100, rapidfuzz's ratio) a misspelt word must be to the word it means.
CLOSE_ENOUGH = 85
_WORD = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")
#: Chinese words that carry no meaning in a name, left out of a query's words.
_CHINESE_STOP = frozenset(["的", "和", "与", "及", "或", "在", "中", "之", "对", "于"])
jieba.setLogLevel(60)  # the segmenter's own messages are not the reader's
MAX_QUERY = 200
MAX_LIMIT = 500

_WORD_START = re.compile(r"(?<![^\W_])\w")


class QueryError(ValueError):
    """A query or parameter the search refuses; the message says why."""


def normalise(text: str) -> str:
    """NFKC (full-width letters become ASCII), then case-folded, spaces collapsed.

    >>> normalise("  ＰＢＣ   Liver ")
    'pbc liver'
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def abbreviation(text: str) -> bool:
    """A short all-capitals name without spaces (HO, OP, PBC, 25(OH)D): the article's
    abbreviations, which HODO records as exact synonyms.

    >>> abbreviation("PBC"), abbreviation("Osteoporosis")
    (True, False)
    """
    letters = [c for c in text if c.isalpha()]
    return (2 <= len(text) <= 10 and " " not in text and len(letters) >= 2
            and sum(c.isupper() for c in letters) >= 2 and text.upper() == text)


@dataclass(frozen=True)
class Name:
    """One name of a term, as written and normalised."""

    text: str
    lang: str | None
    kind: str  # "label", "synonym" or "abbreviation"
    norm: str
    word_starts: tuple[int, ...]
    #: the name's words, stemmed (``fractures`` -> ``fracture``), for a query in any order
    stems: frozenset[str] = frozenset()


@dataclass
class Term:
    """What the index knows of one term."""

    iri: str
    kind: str
    prefix: str
    names: list[Name] = field(default_factory=list)
    parents: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)
    ancestor_only: bool = False

    def label(self, lang: str) -> tuple[str, str | None]:
        """The label in ``lang``, else in the other language, else the IRI."""
        labels = [n for n in self.names if n.kind == "label"]
        for wanted in (lang, "en", "zh", None):
            for name in labels:
                if name.lang == wanted or wanted is None:
                    return name.text, name.lang
        return self.iri, None

    @property
    def short_form(self) -> str:
        """The local part: ``HODO_0000001``, ``MONDO_0005298``."""
        return re.split(r"[/#]", self.iri)[-1]

    @property
    def obo_id(self) -> str | None:
        """``HODO:0000001`` for OBO-style IDs, else None."""
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)_(\w+)", self.short_form)
        return f"{match[1]}:{match[2]}" if match else None


@dataclass(frozen=True)
class Hit:
    """One search result: the term, the name that matched and how."""

    term: Term
    name: Name
    rank: int


def _prefix_of(iri: str) -> str:
    """HODO, MONDO, RO ... for OBO-style IRIs; the CURIE prefix for others; "" if none."""
    if iri.startswith(BASE):
        return "HODO"
    if iri.startswith(OBO_NS):
        match = re.match(r"([A-Za-z]+)_", iri[len(OBO_NS):])
        if match:
            return match[1].upper()
    best = max((p for p, ns in PREFIXES.items() if iri.startswith(ns)),
               key=lambda p: len(PREFIXES[p]), default="")
    return best.upper()


def _make_name(text: str, lang: str | None, kind: str) -> Name:
    if kind == "synonym" and abbreviation(text):
        kind = "abbreviation"
    norm = normalise(text)
    starts = tuple(m.start() for m in _WORD_START.finditer(norm))
    return Name(text, lang, kind, norm, starts, frozenset(stems(norm)))


def stem(word: str) -> str:
    """A word without its plural and its adjective ending, enough to match a name's words.

    >>> [stem(w) for w in ("fractures", "osteoporotic", "diseases", "studies", "processes")]
    ['fracture', 'osteoporosis', 'disease', 'study', 'process']
    """
    if len(word) > 5 and word.endswith("otic"):
        return word[:-4] + "osis"  # osteoporotic, cirrhotic, necrotic: the noun
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def stems(norm: str) -> list[str]:
    """The stemmed words of a normalised text (not its Chinese, which ``segments`` cuts)."""
    return [stem(word) for word in _WORD.findall(norm) if not _HAN.search(word)]


def segments(norm: str) -> list[str]:
    """The Chinese words of a normalised query, as jieba cuts them, without empty words."""
    han = "".join(ch if _HAN.match(ch) else " " for ch in norm)
    return [word for word in jieba.lcut(han) if word.strip() and word not in _CHINESE_STOP]


class SearchIndex:
    """Every term of the release with a label, with its names, type and hierarchy."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.terms: dict[str, Term] = {t.iri: t for t in terms}
        self.sorted: list[Term] = sorted(self.terms.values(), key=lambda t: t.iri)

    @classmethod
    def from_store(cls, store: ox.Store) -> SearchIndex:
        """Read the names, types, subsets and hierarchy of every labelled IRI, once."""
        names: dict[str, set[tuple[str, str | None, str]]] = defaultdict(set)
        types: dict[str, set[str]] = defaultdict(set)
        parents: dict[str, set[str]] = defaultdict(set)
        ancestor: set[str] = set()
        for quad in store.quads_for_pattern(None, None, None, None):
            subject, predicate, obj = quad.subject, quad.predicate.value, quad.object
            if not isinstance(subject, ox.NamedNode) or getattr(
                    quad.graph_name, "value", None) == MAPPINGS_GRAPH:
                continue
            if predicate in NAME_KINDS and isinstance(obj, ox.Literal):
                names[subject.value].add((obj.value, obj.language, NAME_KINDS[predicate]))
            elif predicate == RDF_TYPE and isinstance(obj, ox.NamedNode):
                types[subject.value].add(obj.value)
            elif predicate in (SUBCLASS, SUBPROPERTY) and isinstance(obj, ox.NamedNode):
                parents[subject.value].add(obj.value)
            elif predicate == IN_SUBSET and getattr(obj, "value", None) == ANCESTOR_SUBSET:
                ancestor.add(subject.value)
        jieba.initialize()  # its dictionary loads now, not on the first Chinese query
        labelled = {iri for iri, found in names.items() if any(k == "label" for *_, k in found)}
        terms = [_term(iri, names[iri], types[iri], parents[iri] & labelled - {iri},
                       iri in ancestor) for iri in labelled]
        index = cls(terms)
        for term in index.terms.values():
            for parent in term.parents:
                index.terms[parent].children.add(term.iri)
        return index

    def get(self, iri: str) -> Term | None:
        return self.terms.get(iri)

    def search(self, query: str, *, offset: int = 0, limit: int = 10,
               kinds: Iterable[str] = (), prefixes: Iterable[str] = ()
               ) -> tuple[int, list[Hit]]:
        """(how many terms match, the page of them asked for), best first.

        Raises:
            QueryError: an empty or over-long query, a bad page, an unknown type.
        """
        asked = Query.of(_check(query, offset, limit, kinds))
        wanted_kinds = set(kinds)
        wanted_prefixes = {p.upper() for p in prefixes}
        candidates = [t for t in self.sorted
                      if (not wanted_kinds or t.kind in wanted_kinds)
                      and (not wanted_prefixes or t.prefix in wanted_prefixes)]
        hits = [hit for term in candidates if (hit := _best(term, asked))]
        if not hits:  # nothing written so: a close misspelling, then
            hits = [hit for term in candidates if (hit := _closest(term, asked))]
        hits.sort(key=sort_key)
        return len(hits), hits[offset:offset + limit]


def sort_key(hit: Hit) -> tuple[bool, int, int, str]:
    """Ancestor-only terms after the rest unless named exactly; then rank, length, IRI."""
    return (hit.term.ancestor_only and hit.rank > EXACT_SYNONYM, hit.rank, len(hit.name.norm),
            hit.term.iri)


def _check(query: str, offset: int, limit: int, kinds: Iterable[str]) -> str:
    if len(query) > MAX_QUERY:
        raise QueryError(f"the query is longer than {MAX_QUERY} characters")
    needle = normalise(query)
    if not needle:
        raise QueryError("the query is empty")
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"the offset must be 0 or more and the limit 1 to {MAX_LIMIT}")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise QueryError(f"unknown type {sorted(unknown)[0]!r}: use one of {', '.join(KINDS)}")
    return needle


@dataclass(frozen=True)
class Query:
    """A query, read once: its normal form, its stemmed words and its Chinese words."""

    needle: str
    stems: frozenset[str]
    segments: tuple[str, ...]

    @classmethod
    def of(cls, needle: str) -> Query:
        chinese = tuple(segments(needle)) if _HAN.search(needle) else ()
        return cls(needle, frozenset(stems(needle)), chinese)


def _best(term: Term, asked: Query) -> Hit | None:
    """The term's best-ranked name for the query, shortest name first among equals."""
    best: tuple[int, int] | None = None
    found = None
    for name in term.names:
        rank = _rank(name, asked)
        if rank is not None and (best is None or (rank, len(name.norm)) < best):
            best, found = (rank, len(name.norm)), name
    return Hit(term, found, best[0]) if found and best else None


def _rank(name: Name, asked: Query) -> int | None:
    norm, needle = name.norm, asked.needle
    if norm == needle:
        return EXACT_LABEL if name.kind == "label" else EXACT_SYNONYM
    if norm.startswith(needle):
        return PREFIX
    if needle in norm:
        if any(norm.startswith(needle, start) for start in name.word_starts):
            return WORD_PREFIX
        return SUBSTRING
    if (asked.stems or asked.segments) and asked.stems <= name.stems and all(
            word in norm for word in asked.segments):
        return ALL_WORDS
    return None


def _closest(term: Term, asked: Query) -> Hit | None:
    """The term's name closest to a misspelt query, if close enough: the whole name, or each
    of the query's words to one of the name's (four letters or more, so that short words do
    not match everything)."""
    words = [w for w in asked.stems if len(w) >= 4]
    best: tuple[float, Name] | None = None
    for name in term.names:
        score = fuzz.ratio(asked.needle, name.norm)
        if words and name.stems:
            score = max(score, min(max(fuzz.ratio(w, s) for s in name.stems) for w in words))
        if score >= CLOSE_ENOUGH and (best is None or score > best[0]):
            best = (score, name)
    return Hit(term, best[1], CLOSE) if best else None


def _term(iri: str, names: set[tuple[str, str | None, str]], types: set[str],
          parents: set[str], ancestor: bool) -> Term:
    kind = next((TYPES[t] for t in sorted(types) if t in TYPES), "individual")
    made = [_make_name(text, lang, k) for text, lang, k in sorted(
        names, key=lambda n: (n[2] != "label", n[1] or "", n[0]))]
    return Term(iri, kind, _prefix_of(iri), made, set(parents), set(), ancestor)
