"""Validation: SHACL shapes (pySHACL), SPARQL QC rules and the OWL reasoner (HermiT), one report.

Each check is registered in :data:`CHECKS` and returns problems in one shape, so the CLI, the
build, the tests and the web report all read the same :class:`Problem` records; each report
format is registered in :data:`REPORT_FORMATS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD

from hodo.core import paths
from hodo.core.errors import HodoError
from hodo.core.i18n import add_messages, translate
from hodo.core.namespaces import shorten
from hodo.core.release import ONTOLOGY_IRI
from hodo.pipeline.mappings import MAPPINGS_FILE, MappingError, mapping_graph, read_mapping_set
from hodo.pipeline.reason import reason
from hodo.pipeline.sources import InputError, load_sources, parse_file, union


class Severity(Enum):
    """How bad a problem is; only violations fail validation."""

    VIOLATION = "violation"
    WARNING = "warning"
    INFO = "info"


_SEVERITY_OF = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING,
                SH.Info: Severity.INFO}


@dataclass(frozen=True)
class Problem:
    """One thing wrong, with where it is and what to do, in English and Chinese."""

    check: str
    severity: Severity
    focus: str
    message_en: str
    message_zh: str
    path: str | None = None
    value: str | None = None
    source_shape: str | None = None
    component: str | None = None

    def message(self, lang: str) -> str:
        return self.message_zh if lang == "zh" else self.message_en


@dataclass(frozen=True)
class ValidationReport:
    """All problems found; it conforms when none is a violation."""

    problems: tuple[Problem, ...]

    @property
    def conforms(self) -> bool:
        return not any(p.severity is Severity.VIOLATION for p in self.problems)

    def to_json(self, labels: dict[str, str] | None = None) -> str:
        """JSON: ``conforms`` and the problems, with the resource's label where one is given."""
        rows = [{**asdict(p), "severity": p.severity.value,
                 **({"label": labels[p.focus]} if labels and p.focus in labels else {})}
                for p in self.problems]
        return json.dumps({"conforms": self.conforms, "problems": rows}, ensure_ascii=False,
                          indent=2)


class ShapesError(HodoError):
    """The shapes graph itself is broken (a shapes file, not the data, needs fixing)."""


def load_shapes(shapes_dir: Path = paths.SHAPES_DIR) -> Graph:
    """Every shapes file at the top of ``shapes/`` (examples are fixtures, not shapes)."""
    shapes = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        parse_file(path, shapes)
    return shapes


def check_shacl(data: Graph, shapes: Graph | None = None) -> list[Problem]:
    """SHACL validation with pySHACL; shapes use SPARQL targets, hence ``advanced``."""
    import pyshacl

    shapes = load_shapes() if shapes is None else shapes
    with _translated_queries_cached():
        _, results, _ = pyshacl.validate(
            data, shacl_graph=materialise_targets(shapes, data), advanced=True,
            inference="none", allow_warnings=True,
        )
    if not isinstance(results, Graph):  # pySHACL returns a failure object for broken shapes
        reason = getattr(results, "message", results)
        raise ShapesError(f"the SHACL shapes cannot be used: {reason}")
    problems = []
    for result in results.subjects(SH.resultSeverity, None):
        shape = results.value(result, SH.sourceShape)
        # pySHACL drops the language tags of SPARQL constraints' messages: read the shape's own.
        messages = _messages(shapes, shape) or _messages(results, result, SH.resultMessage)
        problems.append(Problem(
            check="shacl",
            severity=_SEVERITY_OF.get(results.value(result, SH.resultSeverity),  # type: ignore[call-overload]
                                      Severity.VIOLATION),
            focus=str(results.value(result, SH.focusNode)),
            message_en=messages.get("en") or messages.get("", "SHACL constraint violated"),
            message_zh=messages.get("zh") or messages.get("en") or "违反 SHACL 约束",
            path=_str(results.value(result, SH.resultPath)),
            value=_str(results.value(result, SH.value)),
            source_shape=_str(shape) if isinstance(shape, URIRef) else None,
            component=_str(results.value(result, SH.sourceConstraintComponent)),
        ))
    return problems


#: Blank nodes become IRIs under this prefix in the store that evaluates SPARQL targets, so
#: that the nodes found can be named again in the data graph (Oxigraph renames blank nodes).
_SKOLEM = "urn:x-hodo-blank:"


def materialise_targets(shapes: Graph, data: Graph) -> Graph:
    """A copy of ``shapes`` whose SPARQL targets are replaced by the nodes they select.

    SHACL-AF defines a SPARQL target as the set of nodes its query returns; Oxigraph finds that
    set in milliseconds, where rdflib under pySHACL took about half of a validation's time.
    """
    store = to_store(_skolemised(data))
    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in _declared_prefixes(shapes))
    result = Graph()
    for triple in shapes:
        result.add(triple)
    for shape, target in shapes.subject_objects(SH.target):
        select = shapes.value(target, SH.select)
        if (target, RDF.type, SH.SPARQLTarget) not in shapes or select is None:
            continue
        result.remove((shape, SH.target, target))
        for row in store.query(prologue + str(select)):  # type: ignore[union-attr]
            node = row["this"]
            if isinstance(node, ox.NamedNode):
                iri = node.value
                result.add((shape, SH.targetNode, BNode(iri[len(_SKOLEM):])
                            if iri.startswith(_SKOLEM) else URIRef(iri)))
            elif isinstance(node, ox.Literal):
                result.add((shape, SH.targetNode, Literal(node.value)))
    return result


def _skolemised(data: Graph) -> Graph:
    """``data`` with every blank node replaced by an IRI that keeps its identifier."""
    def name(node: Any) -> Any:
        return URIRef(_SKOLEM + str(node)) if isinstance(node, BNode) else node

    if not any(isinstance(node, BNode) for triple in data for node in triple):
        return data
    result = Graph()
    for s, p, o in data:
        result.add((name(s), p, name(o)))
    return result


def _declared_prefixes(shapes: Graph) -> list[tuple[str, str]]:
    """The ``sh:declare`` prefixes of the shapes graph."""
    found = {(str(shapes.value(d, SH.prefix)), str(shapes.value(d, SH.namespace)))
             for d in shapes.objects(None, SH.declare)}
    return sorted(found)


@lru_cache(maxsize=1024)
def _translate(text: str, base: str | None, namespaces: tuple[tuple[str, Any], ...]) -> Any:
    from rdflib.plugins.sparql.processor import parseQuery, translateQuery

    return translateQuery(parseQuery(text), base, dict(namespaces) or None)


@contextmanager
def _translated_queries_cached() -> Iterator[None]:
    """Parse each SPARQL text of the shapes once, not once per focus node.

    pySHACL hands rdflib the same query text for every focus node, and rdflib's parser is the
    bulk of the time (7x on the shapes' own examples). The translated algebra is not changed by
    evaluation, so it can be shared; the patch lasts only for one validation.
    """
    from rdflib.plugins.sparql import processor

    original = processor.SPARQLProcessor.query

    def query(self: Any, query: Any, initBindings: Any = None, initNs: Any = None,
              base: str | None = None, DEBUG: bool = False) -> Any:
        if isinstance(query, str):
            query = _translate(query, base, tuple(sorted((initNs or {}).items())))
        return processor.evalQuery(self.graph, query, initBindings, base)

    processor.SPARQLProcessor.query = query  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = original  # type: ignore[method-assign]


def _messages(graph: Graph, node: object, predicate: URIRef = SH.message) -> dict[str, str]:
    """The messages of a shape (or a result) by language tag."""
    found: dict[str, str] = {}
    if node is None:
        return found
    for message in graph.objects(node, predicate):  # type: ignore[arg-type]
        if isinstance(message, Literal):
            found.setdefault(message.language or "", str(message))
    return found


def _str(node: object) -> str | None:
    return None if node is None else str(node)


def check_reasoner(data: Graph, shapes: Graph | None = None) -> list[Problem]:
    """HermiT: the data must be consistent and every class satisfiable."""
    report = reason(data)
    problems = []
    for explanation in report.explanations:
        kind_en = "inconsistent" if not report.consistent else "unsatisfiable class"
        kind_zh = "不一致" if not report.consistent else "不可满足的类"
        axioms = "; ".join(explanation.axioms)
        problems.append(Problem(
            check="reasoner",
            severity=Severity.VIOLATION,
            focus=explanation.subject,
            message_en=f"OWL reasoning ({kind_en}): {explanation.message}"
                       + (f". Axioms: {axioms}" if axioms else ""),
            message_zh=f"OWL 推理（{kind_zh}）：{explanation.message}"
                       + (f"。相关公理：{axioms}" if axioms else ""),
        ))
    return problems


#: The base of the IRIs that name QC rules in reports (``sh:sourceShape`` of a QC result).
QC_BASE = "https://w3id.org/hodo/qc/"
_QC_SEVERITY = {"ERROR": Severity.VIOLATION, "WARN": Severity.WARNING, "INFO": Severity.INFO}
_HEADER = re.compile(r"^#\s*\*\*(Problem|Solution|问题|解决|Same as)[:：]?\*\*[:：]?\s*(.*)$")
#: Where HODO's shapes live: a rule's ``Same as`` names shapes by their local names.
SHAPES_BASE = "https://w3id.org/hodo/shapes/"


@dataclass(frozen=True)
class QcRule:
    """One QC query: its name, severity, and what it means and how to fix it in both languages."""

    name: str
    severity: Severity
    query: str
    message_en: str
    message_zh: str
    #: shapes that report the very problem this rule finds (``# **Same as:**`` in its header):
    #: when one of them reports the same resource and property, the rule's report is left out
    same_as: tuple[str, ...] = ()

    @property
    def iri(self) -> str:
        return QC_BASE + self.name


class QcError(HodoError):
    """The QC rules or their profile are malformed (a rule without a severity, or the reverse)."""


def load_profile(qc_dir: Path = paths.QC_DIR) -> dict[str, Severity]:
    """``profile.tsv``: rule name -> severity (ERROR, WARN, INFO); comment lines start with #."""
    profile: dict[str, Severity] = {}
    for number, line in enumerate((qc_dir / "profile.tsv").read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, level = line.partition("\t")
        if level.strip() not in _QC_SEVERITY:
            raise QcError(f"profile.tsv line {number}: severity must be ERROR, WARN or INFO")
        profile[name.strip()] = _QC_SEVERITY[level.strip()]
    return profile


def parse_rule(path: Path, severity: Severity) -> QcRule:
    """A rule from its file: the ROBOT-style header gives the bilingual message."""
    text = path.read_text("utf-8")
    parts: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = _HEADER.match(line)
        if match:
            current = match.group(1)
            parts[current] = [match.group(2)]
        elif current:
            parts[current].append(line.lstrip("#").strip())
    if not {"Problem", "Solution", "问题", "解决"} <= parts.keys():
        raise QcError(f"{path.name}: the header needs **Problem:**, **Solution:**, **问题：** "
                      "and **解决：**")
    # English lines join with a space; Chinese lines join directly, as Chinese has no spaces.
    join = {key: (" ".join(" ".join(lines).split()) if key.isascii()
                  else "".join(line.strip() for line in lines))
            for key, lines in parts.items()}
    same_as = tuple(SHAPES_BASE + name.strip() for name in join.get("Same as", "").split(",")
                    if name.strip())
    return QcRule(path.stem, severity, text, f"{join['Problem']} {join['Solution']}",
                  f"{join['问题']}{join['解决']}", same_as)


@lru_cache(maxsize=4)
def load_rules(qc_dir: Path = paths.QC_DIR) -> tuple[QcRule, ...]:
    """Every rule of ``qc_dir``, each with its profile severity; both must list the same rules."""
    profile = load_profile(qc_dir)
    files = {p.stem: p for p in sorted(qc_dir.glob("*.rq"))}
    if files.keys() != profile.keys():
        raise QcError("profile.tsv and the .rq files disagree: "
                      + ", ".join(sorted(files.keys() ^ profile.keys())))
    return tuple(parse_rule(path, profile[name]) for name, path in files.items())


def to_store(data: Graph) -> ox.Store:
    """The data in an in-memory Oxigraph store (QC queries run there: fast, linear regex)."""
    store = ox.Store()
    store.bulk_load(data.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    return store


def run_rule(store: ox.Store, rule: QcRule) -> list[Problem]:
    """The rows a rule returns, as problems."""
    problems = []
    for row in store.query(rule.query):  # type: ignore[union-attr]
        entity, prop, value = (row[name] for name in ("entity", "property", "value"))
        problems.append(Problem(
            check="qc", severity=rule.severity, focus=_term_str(entity),
            message_en=rule.message_en, message_zh=rule.message_zh,
            path=_term_str(prop) if prop is not None else None,
            value=_term_str(value) if value is not None else None,
            source_shape=rule.iri, component=str(SH.SPARQLConstraintComponent),
        ))
    return problems


def _term_str(term: object) -> str:
    return str(getattr(term, "value", "")) if term is not None else ""


def check_qc(data: Graph, shapes: Graph | None = None) -> list[Problem]:
    """Every QC rule of ``ontology/sparql/qc`` over ``data``."""
    store = to_store(data)
    return [problem for rule in load_rules() for problem in run_rule(store, rule)]


def release_sources(ontology_dir: Path = paths.ONTOLOGY_DIR) -> Graph:
    """What the release is made of, without building it: the source modules and the SKOS
    mappings of the SSSOM set (the release adds only the reasoner's conclusions and metadata).

    Raises:
        hodo.pipeline.sources.InputError: a source file is unusable.
    """
    data = union(load_sources(ontology_dir).values())
    mappings = ontology_dir / "mappings" / MAPPINGS_FILE
    if mappings.is_file():
        try:
            for triple in mapping_graph(read_mapping_set(mappings)):
                data.add(triple)
        except MappingError as error:
            raise InputError(str(error)) from error
    return data


def qc_errors(data: Graph) -> list[Problem]:
    """The QC problems of severity ERROR: the ones that stop a build."""
    return [p for p in check_qc(data) if p.severity is Severity.VIOLATION]


class Check(Enum):
    """The kinds of validation, each with its function in :data:`CHECKS`."""

    SHACL = "shacl"
    QC = "qc"
    REASONER = "reasoner"


CHECKS: dict[Check, Callable[[Graph, Graph | None], list[Problem]]] = {
    Check.SHACL: check_shacl,
    Check.QC: check_qc,
    Check.REASONER: check_reasoner,
}


def validate(data: Graph, checks: Iterable[Check] = tuple(Check),
             shapes: Graph | None = None) -> ValidationReport:
    """Run ``checks`` over ``data``; problems sorted by resource, then check."""
    problems: list[Problem] = []
    for check in checks:
        problems.extend(CHECKS[check](data, shapes))
    problems = without_repeats(problems, load_rules())
    problems.sort(key=lambda p: (p.focus, p.check, p.source_shape or "", p.message_en))
    return ValidationReport(tuple(problems))


def without_repeats(problems: list[Problem], rules: Iterable[QcRule]) -> list[Problem]:
    """The problems, each reported once: a QC rule's report is left out where a shape it names
    as the same problem (``Same as``) reports the same resource and property."""
    same_as = {rule.iri: set(rule.same_as) for rule in rules if rule.same_as}
    by_shape = {(p.source_shape, p.focus, p.path) for p in problems if p.check == "shacl"}
    return [p for p in problems
            if not (p.check == "qc" and any((shape, p.focus, p.path) in by_shape
                                            for shape in same_as.get(p.source_shape or "", ())))]


def labels_for(data: Graph, iris: Iterable[str], lang: str) -> dict[str, str]:
    """A display label for each IRI in the chosen language, where the data has one."""
    found: dict[str, str] = {}
    for iri in iris:
        labels = {lit.language: str(lit) for lit in data.objects(URIRef(iri), RDFS.label)
                  if isinstance(lit, Literal)}
        label = labels.get(lang) or labels.get("en") or labels.get("zh")
        if label:
            found[iri] = label
    return found


#: Words of the reports, in both languages (in the one table of ``hodo.core.i18n``).
add_messages({
    "report_ok": {"en": "OK: no problems found.", "zh": "通过：未发现问题。"},
    "report_violation": {"en": "VIOLATION", "zh": "违规"},
    "report_warning": {"en": "WARNING", "zh": "警告"},
    "report_info": {"en": "INFO", "zh": "提示"},
    "report_value": {"en": "value", "zh": "值"},
    "report_summary": {"en": "{violation} violation(s), {warning} warning(s), {info} info",
                "zh": "{violation} 个违规，{warning} 个警告，{info} 条提示"},
    "report_title": {"en": "HODO validation report", "zh": "HODO 校验报告"},
    "report_resource": {"en": "Resource", "zh": "资源"},
    "report_severity": {"en": "Severity", "zh": "严重程度"},
    "report_rule": {"en": "Shape or rule", "zh": "约束或规则"},
    "report_property": {"en": "Property", "zh": "属性"},
    "report_message": {"en": "Message", "zh": "说明"},
    "report_conforms": {"en": "The data conforms.", "zh": "数据符合要求。"},
    "report_fails": {"en": "The data does not conform.", "zh": "数据不符合要求。"},
    "report_whole": {"en": "(the data as a whole)", "zh": "（数据整体）"},
})


def word(key: str, lang: str) -> str:
    """A report word in ``lang`` (English unless ``lang`` is zh)."""
    return translate(f"report_{key}", lang)


def missing_value(value: str, lang: str) -> str | None:
    """What a QC rule's "(none)" or "(none @en)" value (nothing where a value should be) says in
    ``lang``; None for any other value, which is data and is shown as it is.

    >>> missing_value("(none)", "zh"), missing_value("(none @en)", "zh"), missing_value("x", "zh")
    ('（无）', '（无 @en 值）', None)
    """
    if value == "(none)":
        return word("none", lang)
    if value.startswith("(none @") and value.endswith(")"):
        return word("none_in", lang).replace("{lang}", value[len("(none "):-1])
    return None


def rule_name(problem: Problem) -> str:
    """A short name for the shape or QC rule that found a problem."""
    source = problem.source_shape or problem.check
    for prefix, short in ((QC_BASE, "qc:"), ("https://w3id.org/hodo/shapes/", "")):
        if source.startswith(prefix):
            return short + source[len(prefix):]
    return source


def summary(report: ValidationReport, lang: str) -> str:
    """How many problems of each severity."""
    counts = _counts(report.problems)
    return word("summary", lang).format(**{s.value: n for s, n in counts.items()})


def grouped(report: ValidationReport) -> list[tuple[str, list[Problem]]]:
    """Problems by resource, in report order."""
    groups: dict[str, list[Problem]] = {}
    for problem in report.problems:
        groups.setdefault(problem.focus, []).append(problem)
    return list(groups.items())


def format_text(report: ValidationReport, data: Graph, lang: str = "en") -> str:
    """A readable report, grouped by resource, in English or Chinese."""
    if not report.problems:
        return word("ok", lang)
    labels = labels_for(data, {p.focus for p in report.problems}, lang)
    lines: list[str] = []
    for focus, problems in grouped(report):
        name = labels.get(focus)
        lines.append(f"\n{focus or word('whole', lang)}" + (f"  ({name})" if name else ""))
        for problem in problems:
            where = f" [{shorten(problem.path)}]" if problem.path else ""
            value = (f" {word('value', lang)}: "
                     f"{missing_value(problem.value, lang) or shorten(problem.value)}"
                     if problem.value else "")
            lines.append(f"  {word(problem.severity.value, lang)} {rule_name(problem)}{where}: "
                         f"{problem.message(lang)}{value}")
    return "\n".join(lines).lstrip("\n") + "\n\n" + summary(report, lang)


_IRI = re.compile(r"^(https?|urn|file):[^\s<>\"{}|\\^`]*$")
_SH_SEVERITY = {v: k for k, v in _SEVERITY_OF.items()}
#: Names the reasoner's results in a SHACL report: it has no shape of its own.
REASONER_IRI = "https://w3id.org/hodo/checks/reasoner"


def to_shacl_report(report: ValidationReport) -> Graph:
    """The report as a standard SHACL validation report graph (``sh:ValidationReport``).

    QC rules and the reasoner appear as results too, their rule IRI as ``sh:sourceShape``.
    """
    graph = Graph()
    graph.bind("sh", SH)
    node = BNode()
    graph.add((node, RDF.type, SH.ValidationReport))
    graph.add((node, SH.conforms, Literal(report.conforms, datatype=XSD.boolean)))
    for problem in report.problems:
        result = BNode()
        graph.add((node, SH.result, result))
        graph.add((result, RDF.type, SH.ValidationResult))
        graph.add((result, SH.focusNode, _rdf_node(problem.focus) if problem.focus
                   else ONTOLOGY_IRI))
        graph.add((result, SH.resultSeverity, _SH_SEVERITY[problem.severity]))
        graph.add((result, SH.sourceShape, URIRef(problem.source_shape or REASONER_IRI)))
        graph.add((result, SH.sourceConstraintComponent,
                   URIRef(problem.component or REASONER_IRI)))
        graph.add((result, SH.resultMessage, Literal(problem.message_en, lang="en")))
        graph.add((result, SH.resultMessage, Literal(problem.message_zh, lang="zh")))
        if problem.path:
            graph.add((result, SH.resultPath, _rdf_node(problem.path)))
        if problem.value:
            graph.add((result, SH.value, _rdf_node(problem.value)))
    return graph


def _rdf_node(text: str) -> URIRef | Literal:
    return URIRef(text) if _IRI.match(text) else Literal(text)


def format_turtle(report: ValidationReport, data: Graph, lang: str = "en") -> str:
    """The SHACL validation report in Turtle (both languages: it is for machines)."""
    return to_shacl_report(report).serialize(format="turtle")


def format_json(report: ValidationReport, data: Graph, lang: str = "en") -> str:
    """The report as JSON, with display labels of the resources in ``lang``."""
    return report.to_json(labels_for(data, {p.focus for p in report.problems}, lang))


def report_context(report: ValidationReport, data: Graph, lang: str) -> dict[str, Any]:
    """What the HTML templates need to show a report."""
    return {
        "report": report, "lang": lang, "groups": grouped(report),
        "labels": labels_for(data, {p.focus for p in report.problems}, lang),
        "summary": summary(report, lang), "w": lambda key: word(key, lang),
        "rule_name": rule_name, "shorten": shorten,
        "missing": lambda value: missing_value(value, lang),
    }


def _templates() -> Any:
    """The report templates, outside Flask: the CLI renders them too."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parents[1] / "web" / "templates"),
        autoescape=True,
    )


def format_html(report: ValidationReport, data: Graph, lang: str = "en") -> str:
    """A standalone HTML page of the report, grouped by resource, in English or Chinese."""
    return _templates().get_template("validate_document.html").render(
        **report_context(report, data, lang))


def format_html_fragment(report: ValidationReport, data: Graph, lang: str = "en") -> str:
    """The report as an HTML section, for embedding in a page (escaped: safe to insert)."""
    return _templates().get_template("validate_report.html").render(
        **report_context(report, data, lang))


@dataclass(frozen=True)
class ReportFormat:
    """A way to write a report: its name, media type and writer."""

    name: str
    media_type: str
    write: Callable[[ValidationReport, Graph, str], str]


REPORT_FORMATS: dict[str, ReportFormat] = {f.name: f for f in (
    ReportFormat("text", "text/plain", format_text),
    ReportFormat("json", "application/json", format_json),
    ReportFormat("turtle", "text/turtle", format_turtle),
    ReportFormat("html", "text/html", format_html),
)}


def _counts(problems: Sequence[Problem]) -> dict[Severity, int]:
    return {s: sum(1 for p in problems if p.severity is s) for s in Severity}
