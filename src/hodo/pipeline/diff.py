"""What changed between two releases of HODO: terms and findings, for curators and changelogs.

In the spirit of ROBOT's ``diff`` and OAK's ``diff``: the changes are computed from the two
releases' RDF, not from their text, and each has a kind named after the KGCL change type where
one exists (``NodeRename``, ``NodeMove`` ...). The terms are the classes and properties with a
label; the findings are the OBAN associations, compared field by field.

Everything here is a pure function of two graphs (:func:`snapshot`, :func:`compare`) or of a
:class:`Diff` (the writers), so the build (the changelog), ``hodo diff`` and the validation page
share one implementation. The words are in the one bilingual table of ``hodo.core.i18n``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

from hodo.core.i18n import add_messages, pick_label, translate
from hodo.core.namespaces import BIOLINK, DEFINITION, HODO, OBAN, OBOINOWL, PROV, shorten
from hodo.core.release import ONTOLOGY_IRI

#: What a term is: the OWL kinds whose instances (with a label) are compared as terms.
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
#: Predicates that map a term to another ontology's term (the SSSOM set's SKOS triples, and the
#: imported terms' cross-references).
MAPPING_PREDICATES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch,
                      SKOS.relatedMatch, OBOINOWL.hasDbXref)
#: A finding is what has a subject in the OBAN sense.
FINDING_SUBJECT = OBAN.association_has_subject
#: A finding's values with quantities of their own (a node holding measure, value and unit).
HAS_QUANTITY = HODO["HODO_0000203"]
#: The fields of a finding by predicate; any other predicate is a field named by its CURIE.
FINDING_FIELDS: dict[URIRef, str] = {
    RDFS.label: "label",
    FINDING_SUBJECT: "subject",
    OBAN.association_has_object_property: "relation",
    OBAN.association_has_object: "object",
    BIOLINK.negated: "negated",
    HODO["HODO_0000209"]: "hedged",
    HAS_QUANTITY: "quantities",
    HODO["HODO_0000205"]: "population",
    HODO["HODO_0000213"]: "population_condition",
    HODO["HODO_0000252"]: "population_group",
    HODO["HODO_0000214"]: "compared_with",
    BIOLINK.species_context_qualifier: "species",
    DCTERMS.source: "citations",
    HODO["HODO_0000201"]: "quote",
    HODO["HODO_0000202"]: "section",
    PROV.wasDerivedFrom: "sentences",
    HODO["HODO_0000208"]: "conflicts_with",
    URIRef("http://purl.obolibrary.org/obo/RO_0002558"): "evidence",
    SKOS.editorialNote: "note",
    RDF.type: "type",
}


@dataclass(frozen=True)
class Kind:
    """A kind of change: its key, the KGCL change type it corresponds to, and its heading."""

    key: str
    kgcl: str
    mark: str


#: Every kind of change, in the order reports list them.
KINDS: tuple[Kind, ...] = (
    Kind("term_added", "NodeCreation", "+"),
    Kind("term_removed", "NodeDeletion", "-"),
    Kind("term_obsoleted", "NodeObsoletion", "x"),
    Kind("term_relabelled", "NodeRename", "~"),
    Kind("term_moved", "NodeMove", "~"),
    Kind("definition_changed", "NodeTextDefinitionChange", "~"),
    Kind("mapping_added", "MappingCreation", "+"),
    Kind("mapping_removed", "RemoveMapping", "-"),
    Kind("finding_added", "EdgeCreation", "+"),
    Kind("finding_removed", "EdgeDeletion", "-"),
    Kind("finding_changed", "EdgeChange", "~"),
)
BY_KEY = {kind.key: kind for kind in KINDS}

add_messages({
    "diff_term_added": {"en": "Terms added", "zh": "新增术语"},
    "diff_term_removed": {"en": "Terms removed", "zh": "删除的术语"},
    "diff_term_obsoleted": {"en": "Terms obsoleted", "zh": "废弃的术语"},
    "diff_term_relabelled": {"en": "Terms relabelled", "zh": "标签变更的术语"},
    "diff_term_moved": {"en": "Terms moved in the hierarchy", "zh": "层级位置变更的术语"},
    "diff_definition_changed": {"en": "Definitions changed", "zh": "定义变更"},
    "diff_mapping_added": {"en": "Mappings added", "zh": "新增映射"},
    "diff_mapping_removed": {"en": "Mappings removed", "zh": "删除的映射"},
    "diff_finding_added": {"en": "Findings added", "zh": "新增研究发现"},
    "diff_finding_removed": {"en": "Findings removed", "zh": "删除的研究发现"},
    "diff_finding_changed": {"en": "Findings changed", "zh": "变更的研究发现"},
    "diff_title": {"en": "Changes from {old} to {new}", "zh": "从 {old} 到 {new} 的变更"},
    "diff_none": {"en": "No changes.", "zh": "没有变更。"},
    "diff_total": {"en": "{count} change(s)", "zh": "共 {count} 项变更"},
    "diff_parents": {"en": "parents", "zh": "父类"},
    "diff_nothing": {"en": "(none)", "zh": "（无）"},
    "diff_first_release": {
        "en": "This is the first release of HODO: there is no earlier release to compare it "
              "with.",
        "zh": "这是 HODO 的首个发布版本：没有可供比较的更早版本。"},
    "diff_changelog": {"en": "Changelog", "zh": "更新日志"},
    "diff_release": {"en": "Release {version}", "zh": "{version} 版"},
    "diff_since": {"en": "Changes since {old}:", "zh": "自 {old} 以来的变更："},
})
#: Finding fields' names in both languages (the JSON keeps the English key).
add_messages({f"diff_field_{key}": words for key, words in {
    "label": {"en": "label", "zh": "标签"},
    "subject": {"en": "subject", "zh": "主体"},
    "relation": {"en": "relation", "zh": "关系"},
    "object": {"en": "object", "zh": "客体"},
    "negated": {"en": "polarity (negated)", "zh": "极性（否定）"},
    "hedged": {"en": "hedge", "zh": "限定语气"},
    "quantities": {"en": "quantities", "zh": "数值"},
    "population": {"en": "population", "zh": "研究人群"},
    "population_condition": {"en": "population's condition", "zh": "人群所患疾病"},
    "population_group": {"en": "population group", "zh": "人群分组"},
    "compared_with": {"en": "compared with", "zh": "对照组"},
    "species": {"en": "species", "zh": "物种"},
    "citations": {"en": "citations", "zh": "引用文献"},
    "quote": {"en": "quote", "zh": "原文引句"},
    "section": {"en": "section", "zh": "章节"},
    "sentences": {"en": "sentences", "zh": "来源句子"},
    "conflicts_with": {"en": "conflicts with", "zh": "与之矛盾"},
    "evidence": {"en": "evidence", "zh": "证据类型"},
    "note": {"en": "curation note", "zh": "编审注释"},
    "type": {"en": "type", "zh": "类型"},
}.items()})

Labels = dict[str, str]


@dataclass(frozen=True)
class Term:
    """What a diff compares of one term."""

    labels: dict[str, frozenset[str]]
    definitions: dict[str, frozenset[str]]
    parents: frozenset[str]
    deprecated: bool


@dataclass(frozen=True)
class Snapshot:
    """What a diff compares of one release: its terms, mappings and findings."""

    version: str
    date: str
    terms: dict[str, Term]
    mappings: frozenset[tuple[str, str, str]]
    findings: dict[str, dict[str, frozenset[str]]]
    names: dict[str, Labels] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One change: its kind, the term or finding, and what was there before and after.

    ``detail`` is the language of a relabelling or a definition, the predicate of a mapping, the
    field of a finding; ``old`` and ``new`` are the values removed and added.
    """

    kind: str
    iri: str
    detail: str = ""
    old: tuple[str, ...] = ()
    new: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diff:
    """The changes from one release to another, with the names of what they mention."""

    old_version: str
    old_date: str
    new_version: str
    new_date: str
    changes: tuple[Change, ...]
    names: dict[str, Labels]

    def by_kind(self) -> list[tuple[Kind, list[Change]]]:
        """The changes grouped by kind, in the order of :data:`KINDS`, empty kinds left out."""
        grouped: dict[str, list[Change]] = defaultdict(list)
        for change in self.changes:
            grouped[change.kind].append(change)
        return [(kind, grouped[kind.key]) for kind in KINDS if grouped[kind.key]]

    def counts(self) -> dict[str, int]:
        """How many changes of each kind (every kind, zero included)."""
        return {kind.key: sum(1 for c in self.changes if c.kind == kind.key) for kind in KINDS}


# ---------------------------------------------------------------------------------------------
# Reading a release


def snapshot(graph: Graph) -> Snapshot:
    """What a diff compares of the release in ``graph``."""
    version = graph.value(ONTOLOGY_IRI, OWL.versionInfo)
    date = graph.value(ONTOLOGY_IRI, DCTERMS.date)
    findings = {str(f): _finding(graph, f) for f in set(graph.subjects(FINDING_SUBJECT, None))
                if isinstance(f, URIRef)}
    return Snapshot(str(version or ""), str(date or ""), _terms(graph, set(findings)),
                    _mappings(graph), findings, _names(graph))


def _terms(graph: Graph, findings: set[str]) -> dict[str, Term]:
    """Every class and property with a label (declarations of unnamed IRIs are not terms)."""
    iris = {s for kind in TERM_TYPES for s in graph.subjects(RDF.type, kind)
            if isinstance(s, URIRef) and str(s) not in findings}
    terms = {}
    for iri in iris:
        labels = _by_language(graph.objects(iri, RDFS.label))
        if not labels:
            continue
        parents = frozenset(str(p) for p in graph.objects(iri, RDFS.subClassOf)
                            if isinstance(p, URIRef))
        parents |= frozenset(str(p) for p in graph.objects(iri, RDFS.subPropertyOf)
                             if isinstance(p, URIRef))
        deprecated = any(o.toPython() is True for o in graph.objects(iri, OWL.deprecated)
                         if isinstance(o, Literal))
        terms[str(iri)] = Term(labels, _by_language(graph.objects(iri, DEFINITION)), parents,
                               deprecated)
    return terms


def _by_language(values: Iterable[Any]) -> dict[str, frozenset[str]]:
    """Literals by language (untagged counts as English)."""
    found: dict[str, set[str]] = defaultdict(set)
    for value in values:
        if isinstance(value, Literal):
            found[(value.language or "en").split("-")[0].lower()].add(str(value))
    return {lang: frozenset(texts) for lang, texts in found.items()}


def _mappings(graph: Graph) -> frozenset[tuple[str, str, str]]:
    return frozenset((str(s), shorten(str(p)), _value(graph, o)) for p in MAPPING_PREDICATES
                     for s, o in graph.subject_objects(p) if isinstance(s, URIRef))


def _finding(graph: Graph, finding: URIRef) -> dict[str, frozenset[str]]:
    """A finding's fields: every statement about it, the quantities written out."""
    fields: dict[str, set[str]] = defaultdict(set)
    for predicate, value in graph.predicate_objects(finding):
        name = FINDING_FIELDS.get(predicate, shorten(str(predicate)))  # type: ignore[call-overload]
        shown = _quantity(graph, value) if predicate == HAS_QUANTITY else _value(graph, value)
        fields[name].add(shown)
    return {name: frozenset(values) for name, values in fields.items()}


def _quantity(graph: Graph, node: Any) -> str:
    """A quantity as one comparable line: its statements, sorted (its own IRI left out, so a
    renamed but equal quantity is no change)."""
    parts = sorted(f"{shorten(str(p))} {_value(graph, o)}" for p, o in graph.predicate_objects(node)
                   if p != RDF.type)
    return "; ".join(parts) or _value(graph, node)


def _value(graph: Graph, node: Any) -> str:
    """A node as text: a CURIE, a literal (``@lang`` when tagged), a blank node's statements."""
    if isinstance(node, URIRef):
        return shorten(str(node))
    if isinstance(node, Literal):
        if node.language:
            return f"{node}@{node.language}"
        if node.datatype in (XSD.boolean, XSD.integer, XSD.decimal, XSD.double, None):
            return str(node)
        return f"{node}^^{shorten(str(node.datatype))}"
    if isinstance(node, BNode):
        return "[" + _quantity(graph, node) + "]"
    return str(node)


def _names(graph: Graph) -> dict[str, Labels]:
    """The first label per language of every labelled IRI, to name what a change mentions."""
    names: dict[str, Labels] = defaultdict(dict)
    for subject, label in sorted(graph.subject_objects(RDFS.label)):
        if isinstance(subject, URIRef) and isinstance(label, Literal):
            lang = (label.language or "en").split("-")[0].lower()
            names[str(subject)].setdefault(lang, str(label))
    return dict(names)


# ---------------------------------------------------------------------------------------------
# Comparing


def compare(old: Snapshot, new: Snapshot) -> Diff:
    """Every change from ``old`` to ``new``, sorted by kind and IRI."""
    changes = [*_term_changes(old.terms, new.terms), *_mapping_changes(old.mappings, new.mappings),
               *_finding_changes(old.findings, new.findings)]
    order = {kind.key: n for n, kind in enumerate(KINDS)}
    changes.sort(key=lambda c: (order[c.kind], c.iri, c.detail, c.old, c.new))
    mentioned = {c.iri for c in changes}
    names = {iri: {**old.names.get(iri, {}), **new.names.get(iri, {})} for iri in mentioned
             if iri in old.names or iri in new.names}
    return Diff(old.version, old.date, new.version, new.date, tuple(changes), names)


def _term_changes(old: Mapping[str, Term], new: Mapping[str, Term]) -> Iterable[Change]:
    for iri in sorted(new.keys() - old.keys()):
        yield Change("term_added", iri)
    for iri in sorted(old.keys() - new.keys()):
        yield Change("term_removed", iri)
    for iri in sorted(old.keys() & new.keys()):
        before, after = old[iri], new[iri]
        if after.deprecated and not before.deprecated:
            yield Change("term_obsoleted", iri)
        yield from _per_language("term_relabelled", iri, before.labels, after.labels)
        if before.parents != after.parents:
            yield Change("term_moved", iri, "", _sorted(before.parents), _sorted(after.parents))
        yield from _per_language("definition_changed", iri, before.definitions,
                                 after.definitions)


def _per_language(kind: str, iri: str, old: Mapping[str, frozenset[str]],
                  new: Mapping[str, frozenset[str]]) -> Iterable[Change]:
    for lang in sorted(old.keys() | new.keys()):
        before, after = old.get(lang, frozenset()), new.get(lang, frozenset())
        if before != after:
            yield Change(kind, iri, lang, _sorted(before), _sorted(after))


def _mapping_changes(old: frozenset[tuple[str, str, str]],
                     new: frozenset[tuple[str, str, str]]) -> Iterable[Change]:
    for kind, triples in (("mapping_added", new - old), ("mapping_removed", old - new)):
        for subject, predicate, target in sorted(triples):
            yield Change(kind, subject, predicate, *(((), (target,)) if kind == "mapping_added"
                                                     else ((target,), ())))


def _finding_changes(old: Mapping[str, dict[str, frozenset[str]]],
                     new: Mapping[str, dict[str, frozenset[str]]]) -> Iterable[Change]:
    for iri in sorted(new.keys() - old.keys()):
        yield Change("finding_added", iri)
    for iri in sorted(old.keys() - new.keys()):
        yield Change("finding_removed", iri)
    for iri in sorted(old.keys() & new.keys()):
        before, after = old[iri], new[iri]
        for name in _field_order(before.keys() | after.keys()):
            was, now = before.get(name, frozenset()), after.get(name, frozenset())
            if was != now:
                yield Change("finding_changed", iri, name, _sorted(was - now), _sorted(now - was))


def _field_order(names: Iterable[str]) -> list[str]:
    """The named fields in the order of :data:`FINDING_FIELDS`, then the others by name."""
    known = list(FINDING_FIELDS.values())
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))


def _sorted(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(values))


def diff_graphs(old: Graph, new: Graph) -> Diff:
    """The changes from the release in ``old`` to the one in ``new``."""
    return compare(snapshot(old), snapshot(new))


# ---------------------------------------------------------------------------------------------
# Writing


def word(key: str, lang: str, **values: Any) -> str:
    """One of this module's words in ``lang``."""
    return translate(f"diff_{key}", lang).format(**values)


def name_of(diff: Diff, iri: str, lang: str) -> str:
    """The CURIE of ``iri`` and its label in ``lang`` (or the other language)."""
    chosen = pick_label(diff.names.get(iri, {}), lang)
    return f"{shorten(iri)} {chosen[0]}" if chosen else shorten(iri)


def _side(version: str, date: str) -> str:
    return f"{version or '?'} ({date})" if date else (version or "?")


def detail(change: Change, lang: str) -> str:
    """What changed, after the term's name: languages, parents, a field, a mapping."""
    empty = word("nothing", lang)
    old = " | ".join(change.old) or empty
    new = " | ".join(change.new) or empty
    if change.kind in ("term_relabelled", "definition_changed"):
        return f"[{change.detail}] {old} → {new}"
    if change.kind == "term_moved":
        return f"{word('parents', lang)}: {old} → {new}"
    if change.kind.startswith("mapping_"):
        return f"{change.detail} {new if change.kind == 'mapping_added' else old}"
    if change.kind == "finding_changed":
        return f"{field_name(change.detail, lang)}: {old} → {new}"
    return ""


def field_name(name: str, lang: str) -> str:
    """A finding's field in ``lang``; a field HODO does not name is its predicate's CURIE."""
    return word("field_" + name, lang) if name in FINDING_FIELDS.values() else name


def _lines(diff: Diff, lang: str, title: Callable[[str], str], heading: Callable[[str], str],
           item: Callable[[str], str]) -> list[str]:
    """The report's lines, with the title, heading and list-item style of one format."""
    lines = [title(word("title", lang, old=_side(diff.old_version, diff.old_date),
                        new=_side(diff.new_version, diff.new_date))), ""]
    if not diff.changes:
        return [*lines, word("none", lang)]
    lines += [word("total", lang, count=len(diff.changes)), ""]
    for kind, changes in diff.by_kind():
        lines += [heading(f"{word(kind.key, lang)} ({len(changes)})"), ""]
        for change in changes:
            what = detail(change, lang)
            lines.append(item(f"{kind.mark} {name_of(diff, change.iri, lang)}"
                              + (f": {what}" if what else "")))
        lines.append("")
    return lines[:-1]


def to_text(diff: Diff, lang: str = "en") -> str:
    """The diff as plain text, in English or Chinese."""
    lines = _lines(diff, lang, lambda t: t, lambda h: h, lambda i: "  " + i)
    return "\n".join(lines) + "\n"


def to_markdown(diff: Diff, lang: str = "en", level: int = 2) -> str:
    """The diff as Markdown: a title at ``level``, a heading per kind of change below it, a
    list item per change."""
    hashes = "#" * level
    lines = _lines(diff, lang, lambda t: f"{hashes} {t}", lambda h: f"{hashes}# {h}",
                   lambda i: "- " + _escape(i))
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    """Markdown's emphasis, link and HTML characters taken literally (an underscore inside a
    word, as in ``HODO_0000100``, is no emphasis, so it stays as it is)."""
    return "".join("\\" + c if c in "*[]<>`|" else c for c in text)


def to_json_data(diff: Diff) -> dict[str, Any]:
    """The diff as JSON data (its shape is documented in docs/releases.md)."""
    return {
        "old": {"version": diff.old_version, "date": diff.old_date},
        "new": {"version": diff.new_version, "date": diff.new_date},
        "counts": diff.counts(),
        "changes": [{"kind": c.kind, "kgcl": BY_KEY[c.kind].kgcl, "iri": c.iri,
                     "curie": shorten(c.iri), "labels": diff.names.get(c.iri, {}),
                     "detail": c.detail, "old": list(c.old), "new": list(c.new)}
                    for c in diff.changes],
    }


def to_json(diff: Diff, lang: str = "en") -> str:
    """The diff as JSON (the same in either language: names carry both)."""
    del lang
    return json.dumps(to_json_data(diff), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def from_json_data(data: Mapping[str, Any]) -> Diff:
    """A diff read back from :func:`to_json_data` (a release's ``changelog.json``).

    Raises:
        ValueError: the data is not of that shape.
    """
    try:
        changes = tuple(Change(c["kind"], c["iri"], c.get("detail", ""), tuple(c["old"]),
                               tuple(c["new"])) for c in data["changes"])
        names = {c["iri"]: dict(c.get("labels") or {}) for c in data["changes"]}
        return Diff(str(data["old"]["version"]), str(data["old"]["date"]),
                    str(data["new"]["version"]), str(data["new"]["date"]), changes, names)
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a HODO diff: {error}") from error


#: The writers ``hodo diff --format`` offers.
WRITERS: dict[str, Callable[[Diff, str], str]] = {
    "text": to_text, "markdown": to_markdown, "json": to_json,
}
