"""The data behind HODO's pictures: a term's neighbourhood and the article's mechanism map.

Plain functions that take a pyoxigraph store and return plain data (no Flask), so that the
same answers can later come from a remote SPARQL server. Every IRI that comes from a reader
reaches a query through ``substitutions``, never through the query text.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from hodo.core.i18n import pick_label
from hodo.core.namespaces import BASE, BIOLINK_NS, INFERRED_GRAPH, OBO_NS, RDFS_NS

NEGATED = BIOLINK_NS + "negated"
HEDGED = BASE + "HODO_0000209"
CONFLICTS = BASE + "HODO_0000208"
SUBCLASS_OF = RDFS_NS + "subClassOf"

#: Liver diseases, the map's left layer: MONDO's hepatobiliary disorders (liver and biliary
#: disease, so the cholestatic ones too), HPO's abnormalities of the liver, and all under them.
LIVER_DISEASE_ROOTS = (OBO_NS + "MONDO_0002515", OBO_NS + "HP_0001392")
#: Bone outcomes, the right layer: these and everything under them (hepatic osteodystrophy is
#: an osteoporosis, osteopenia a reduced bone mineral density).
BONE_OUTCOME_ROOTS = (OBO_NS + "MONDO_0005298",   # osteoporosis
                      OBO_NS + "MONDO_0005315",   # bone fracture
                      OBO_NS + "HP_0004349",      # reduced bone mineral density
                      BASE + "HODO_0000015")   # bone loss
#: Relations that say one thing causes, regulates, prevents or goes with another: the findings
#: the map is drawn from. Frequencies, study designs, locations and the five-phase theory of
#: traditional Chinese medicine say something else, and are left to the term pages.
MECHANISM_RELATIONS = (OBO_NS + "RO_0003302",  # causes or contributes to condition
                       OBO_NS + "RO_0003304",  # contributes to condition
                       OBO_NS + "RO_0002566",  # causally influences
                       OBO_NS + "RO_0002211",  # regulates
                       OBO_NS + "RO_0002212",  # negatively regulates
                       OBO_NS + "RO_0002213",  # positively regulates
                       OBO_NS + "RO_0002610",  # correlated with
                       OBO_NS + "RO_0017003",  # positively correlated with
                       OBO_NS + "RO_0017004",  # negatively correlated with
                       OBO_NS + "RO_0002599",  # capable of inhibiting or preventing ...
                       OBO_NS + "RO_0002200",  # has phenotype
                       BASE + "HODO_0000210")  # occurs in patients with
#: Relations whose object comes first in the story: "osteoporosis occurs in patients with
#: Wilson disease" leads from the disease to the bone.
OBJECT_FIRST = frozenset({BASE + "HODO_0000210"})

#: Words for relations that the data leaves unlabelled.
RELATION_WORDS = {SUBCLASS_OF: {"en": "is a", "zh": "是一种"}}

LAYERS = ("liver_disease", "mechanism", "bone_outcome")
#: At most this many nodes in a neighbourhood; the JSON says when more were left out.
MAX_NEIGHBOURHOOD_NODES = 60

_PREFIXES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX oban: <http://purl.org/oban/>
PREFIX biolink: <https://w3id.org/biolink/vocab/>
PREFIX hodo: <https://w3id.org/hodo/>
"""


class UnknownTerm(LookupError):
    """The store says nothing about the IRI asked for."""


@dataclass(frozen=True)
class Label:
    """A label chosen for the page language, and the language it is really in."""

    text: str
    lang: str


@dataclass
class Finding:
    """One finding as the pictures need it."""

    iri: str
    subject: str
    relation: str
    object: str
    negated: bool
    hedged: bool
    conflicts: bool
    labels: dict[str, str] = field(default_factory=dict)
    sentences: dict[str, str] = field(default_factory=dict)


def _query(store: ox.Store, text: str, **bindings: str) -> ox.QuerySolutions:
    """A SELECT over the union graph, with IRIs bound by substitution only."""
    subs: dict[ox.Variable, Any] = {ox.Variable(name): ox.NamedNode(iri)
                                    for name, iri in bindings.items()}
    result = store.query(_PREFIXES + text, use_default_graph_as_union=True, substitutions=subs)
    assert isinstance(result, ox.QuerySolutions)
    return result


def _value(term: object) -> str:
    return term.value if term is not None else ""  # type: ignore[attr-defined]


def _lang(term: object) -> str:
    return (getattr(term, "language", None) or "").split("-")[0]


def choose(labels: Mapping[str, str], lang: str, fallback: str) -> Label:
    """The label in ``lang``, else the other language, else ``fallback`` (untagged)."""
    picked = pick_label(labels, lang)
    return Label(*picked) if picked else Label(fallback, "")


def relation_label(iri: str, labels: Mapping[str, Mapping[str, str]], lang: str) -> Label:
    """A relation's label in ``lang``: the data's, else HODO's own word for it."""
    return choose(labels.get(iri) or RELATION_WORDS.get(iri, {}), lang, short_name(iri))


def short_name(iri: str) -> str:
    """What to show for an IRI with no label: its last segment."""
    return iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


# ---------------------------------------------------------------------------------------------
# Labels and findings


_LABELS = """SELECT ?s ?l WHERE { ?s rdfs:label ?l FILTER(isIRI(?s)) }"""


#: Every IRI's labels by language, as ``all_labels`` reads them.
Labels = Mapping[str, Mapping[str, str]]


def all_labels(store: ox.Store) -> dict[str, dict[str, str]]:
    """Every IRI's labels by language: one pass, because the pictures name many terms (the
    app reads it once per release: ``hodo.site.pagetables``)."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for row in _query(store, _LABELS):
        found[_value(row["s"])].setdefault(_lang(row["l"]), _value(row["l"]))
    return dict(found)


_FINDINGS = """
SELECT ?f ?s ?r ?o ?neg ?hedged ?conflict ?fl ?sentence WHERE {
  ?f a hodo:HODO_0000110 ; oban:association_has_subject ?s ;
     oban:association_has_object_property ?r ; oban:association_has_object ?o .
  OPTIONAL { ?f biolink:negated ?neg }
  OPTIONAL { ?f hodo:HODO_0000209 ?hedged }
  OPTIONAL { ?f hodo:HODO_0000208 ?conflict }
  OPTIONAL { ?f rdfs:label ?fl }
  OPTIONAL { ?f hodo:HODO_0000201 ?sentence }
}"""

_FINDINGS_OF = _FINDINGS.replace("SELECT ?f", "SELECT ?term ?f", 1).replace(
    "?o .\n", "?o .\n  FILTER(?s = ?term || ?o = ?term)\n", 1)


def findings(store: ox.Store, term: str | None = None) -> list[Finding]:
    """The findings (of ``term``, as subject or object, when given), sorted by IRI."""
    rows = _query(store, _FINDINGS_OF, term=term) if term else _query(store, _FINDINGS)
    by_iri: dict[str, Finding] = {}
    for row in rows:
        iri = _value(row["f"])
        finding = by_iri.get(iri)
        if finding is None:
            finding = by_iri[iri] = Finding(
                iri, _value(row["s"]), _value(row["r"]), _value(row["o"]),
                _value(row["neg"]) == "true", _value(row["hedged"]) == "true",
                row["conflict"] is not None)
        if row["fl"] is not None:
            finding.labels.setdefault(_lang(row["fl"]), _value(row["fl"]))
        if row["sentence"] is not None:
            finding.sentences.setdefault(_lang(row["sentence"]), _value(row["sentence"]))
    return [by_iri[k] for k in sorted(by_iri)]


def finding_record(finding: Finding, lang: str) -> dict[str, Any]:
    """A finding for a reader in ``lang``: its title and sentence, each with its language."""
    title = choose(finding.labels, lang, short_name(finding.iri))
    sentence = choose(finding.sentences, lang, "")
    return {"iri": finding.iri, "label": title.text, "label_lang": title.lang,
            "sentence": sentence.text, "sentence_lang": sentence.lang,
            "negated": finding.negated, "hedged": finding.hedged,
            "conflicts": finding.conflicts}


# ---------------------------------------------------------------------------------------------
# The mechanism map


_SUBCLASSES = """SELECT DISTINCT ?c ?root WHERE { ?c rdfs:subClassOf* ?root FILTER(isIRI(?c)) }"""


def descendants(store: ox.Store, roots: Iterable[str]) -> set[str]:
    """The roots and every class under them, by asserted or inferred ``rdfs:subClassOf``."""
    return {_value(row["c"]) for root in roots for row in _query(store, _SUBCLASSES, root=root)}


def oriented(finding: Finding) -> tuple[str, str]:
    """The finding's two terms in the order the story runs (see :data:`OBJECT_FIRST`)."""
    if finding.relation in OBJECT_FIRST:
        return finding.object, finding.subject
    return finding.subject, finding.object


def layer_of(term: str, liver: set[str], bone: set[str]) -> str:
    """Bone outcomes win over liver diseases (none is both today), the rest is mechanism."""
    if term in bone:
        return "bone_outcome"
    if term in liver:
        return "liver_disease"
    return "mechanism"


def mechanism_terms(edges: list[tuple[str, str]], liver: set[str], bone: set[str]) -> set[str]:
    """The middle layer: terms joined by findings to a liver disease that leads into them or
    to a bone outcome they lead to.

    Findings among mechanism terms join them into groups (in either direction); a group is
    drawn when some finding runs from a liver disease into it or out of it into a bone
    outcome. So a cytokine that acts on the RANKL/OPG system, which in turn a hepatitis
    raises, is in, and the symptoms that merely accompany osteoporosis are not.
    """
    ends = liver | bone
    joined: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        if a not in ends and b not in ends:
            joined[a].add(b)
            joined[b].add(a)
    anchored = {b for a, b in edges if a in liver and b not in ends}
    anchored |= {a for a, b in edges if b in bone and a not in ends}
    found: set[str] = set()
    queue = deque(anchored)
    while queue:
        term = queue.popleft()
        if term not in found:
            found.add(term)
            queue.extend(joined[term] - found)
    return found


def mechanism_map(store: ox.Store, lang: str, labels: Labels | None = None) -> dict[str, Any]:
    """The article's map: liver diseases, the mechanisms the findings name, bone outcomes.

    Edges group the findings of one subject, relation, object and polarity; each edge lists
    its findings, so that every line on the map can be traced to the article. ``labels`` is
    ``all_labels(store)`` when the caller has read it already.
    """
    liver = descendants(store, LIVER_DISEASE_ROOTS)
    bone = descendants(store, BONE_OUTCOME_ROOTS)
    chosen = [f for f in findings(store) if f.relation in MECHANISM_RELATIONS]
    flows = [oriented(f) for f in chosen]
    middle = mechanism_terms(flows, liver, bone)
    drawn = liver | bone | middle
    kept = [f for f in chosen if f.subject in drawn and f.object in drawn]
    layers = {t: layer_of(t, liver, bone) for f in kept for t in (f.subject, f.object)}
    labels = all_labels(store) if labels is None else labels
    nodes = [_node(t, layers[t], labels, lang) for t in sorted(layers)]
    return {"lang": lang, "layers": list(LAYERS),
            "elements": {"nodes": nodes, "edges": _edges(kept, labels, lang)}}


def _node(term: str, layer: str, labels: Mapping[str, Mapping[str, str]], lang: str,
          **extra: Any) -> dict[str, Any]:
    label = choose(labels.get(term, {}), lang, short_name(term))
    return {"data": {"id": term, "iri": term, "label": label.text, "label_lang": label.lang,
                     "layer": layer, **extra}}


def _edges(kept: list[Finding], labels: Mapping[str, Mapping[str, str]], lang: str
           ) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str, bool], list[Finding]] = defaultdict(list)
    for f in kept:
        groups[(f.subject, f.relation, f.object, f.negated)].append(f)
    edges = []
    for (subject, relation, obj, negated), group in sorted(groups.items()):
        label = relation_label(relation, labels, lang)
        edges.append({"data": {
            "id": f"{subject} {relation} {obj}{' not' if negated else ''}",
            "source": subject, "target": obj, "relation": relation,
            "label": label.text, "label_lang": label.lang, "negated": negated,
            "hedged": all(f.hedged for f in group),
            "conflicts": any(f.conflicts for f in group),
            "findings": [finding_record(f, lang) for f in group]}})
    return edges


# ---------------------------------------------------------------------------------------------
# A term's neighbourhood


_KNOWN = """ASK { { ?term ?p ?o } UNION { ?s ?p ?term } }"""

_PARENTS = """
SELECT DISTINCT ?term ?other ?g WHERE {
  GRAPH ?g { ?term rdfs:subClassOf ?other } FILTER(isIRI(?other))
}"""
_CHILDREN = """
SELECT DISTINCT ?term ?other ?g WHERE {
  GRAPH ?g { ?other rdfs:subClassOf ?term } FILTER(isIRI(?other))
}"""
_RESTRICTIONS = """
SELECT DISTINCT ?term ?c ?p ?v WHERE {
  ?c rdfs:subClassOf ?r . ?r owl:onProperty ?p ; owl:someValuesFrom ?v .
  FILTER(isIRI(?v) && isIRI(?c) && (?c = ?term || ?v = ?term))
}"""


def is_known(store: ox.Store, iri: str) -> bool:
    """Whether the store says anything about ``iri`` (which must be a valid IRI)."""
    return bool(store.query(_PREFIXES + _KNOWN, use_default_graph_as_union=True,
                            substitutions={ox.Variable("term"): ox.NamedNode(iri)}))


def _hierarchy(store: ox.Store, iri: str, text: str) -> dict[str, bool]:
    """Neighbours by subclass axiom, each True when only the reasoner infers it."""
    graphs: dict[str, set[str]] = defaultdict(set)
    for row in _query(store, text, term=iri):
        graphs[_value(row["other"])].add(_value(row["g"]))
    return {other: gs == {INFERRED_GRAPH} for other, gs in sorted(graphs.items())}


@dataclass
class _Builder:
    """Collects nodes and edges up to a cap, in the order of importance they are added."""

    centre: str
    limit: int
    nodes: dict[str, str] = field(default_factory=dict)
    edges: dict[str, dict[str, Any]] = field(default_factory=dict)
    left_out: set[str] = field(default_factory=set)

    def node(self, term: str, role: str) -> bool:
        if term in self.nodes:
            return True
        if len(self.nodes) >= self.limit:
            self.left_out.add(term)
            return False
        self.nodes[term] = role
        return True

    def edge(self, source: str, target: str, kind: str, relation: str, role: str,
             **data: Any) -> None:
        other = target if source == self.centre else source
        if not self.node(other, role):
            return
        key = f"{kind} {source} {relation} {target}{' not' if data.get('negated') else ''}"
        entry = self.edges.get(key)
        if entry is None:
            self.edges[key] = {"id": key, "source": source, "target": target, "kind": kind,
                               "relation": relation, **data}
        elif "findings" in data:
            entry["findings"].extend(data["findings"])


def neighbourhood(store: ox.Store, iri: str, lang: str,
                  limit: int = MAX_NEIGHBOURHOOD_NODES, labels: Labels | None = None
                  ) -> dict[str, Any]:
    """A term, its parents and children, the terms findings relate it to, its restrictions;
    ``labels`` is ``all_labels(store)`` when the caller has read it already.

    Raises:
        ValueError: ``iri`` is not a valid IRI.
        UnknownTerm: the store says nothing about it.
    """
    ox.NamedNode(iri)  # raises ValueError for what is not an IRI
    if not is_known(store, iri):
        raise UnknownTerm(iri)
    build = _Builder(iri, limit)
    build.node(iri, "term")
    for parent, inferred in _hierarchy(store, iri, _PARENTS).items():
        build.edge(iri, parent, "subclass", SUBCLASS_OF, "parent", inferred=inferred)
    for child, inferred in _hierarchy(store, iri, _CHILDREN).items():
        build.edge(child, iri, "subclass", SUBCLASS_OF, "child", inferred=inferred)
    for row in _query(store, _RESTRICTIONS, term=iri):
        build.edge(_value(row["c"]), _value(row["v"]), "restriction", _value(row["p"]),
                   "restriction")
    for f in findings(store, iri):
        build.edge(f.subject, f.object, "finding", f.relation, "finding", negated=f.negated,
                   hedged=f.hedged, findings=[finding_record(f, lang)])
    return _neighbourhood_json(build, all_labels(store) if labels is None else labels, lang)


def _neighbourhood_json(build: _Builder, labels: Labels, lang: str) -> dict[str, Any]:
    nodes = [_node(t, role, labels, lang, centre=t == build.centre)
             for t, role in build.nodes.items()]
    edges = []
    for data in build.edges.values():
        label = relation_label(data["relation"], labels, lang)
        edges.append({"data": {**data, "label": label.text, "label_lang": label.lang}})
    centre = choose(labels.get(build.centre, {}), lang, short_name(build.centre))
    return {"lang": lang, "iri": build.centre, "label": centre.text, "label_lang": centre.lang,
            "capped": bool(build.left_out), "limit": build.limit,
            "total_nodes": len(build.nodes) + len(build.left_out),
            "elements": {"nodes": nodes, "edges": edges}}
