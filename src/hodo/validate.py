"""Validation: SHACL shapes (pySHACL) and the OWL reasoner (HermiT), one report.

Each check is registered in :data:`CHECKS` and returns problems in one shape, so the CLI, the
tests and (later) the web report all read the same :class:`Problem` records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS, SH

from hodo import paths
from hodo.reason import reason


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

    def message(self, lang: str) -> str:
        return self.message_zh if lang == "zh" else self.message_en


@dataclass(frozen=True)
class ValidationReport:
    """All problems found; it conforms when none is a violation."""

    problems: tuple[Problem, ...]

    @property
    def conforms(self) -> bool:
        return not any(p.severity is Severity.VIOLATION for p in self.problems)

    def to_json(self) -> str:
        rows = [{**asdict(p), "severity": p.severity.value} for p in self.problems]
        return json.dumps({"conforms": self.conforms, "problems": rows}, ensure_ascii=False,
                          indent=2)


def load_shapes(shapes_dir: Path = paths.SHAPES_DIR) -> Graph:
    """Every shapes file at the top of ``shapes/`` (examples are fixtures, not shapes)."""
    from hodo.build import parse_file

    shapes = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        parse_file(path, shapes)
    return shapes


def check_shacl(data: Graph, shapes: Graph | None = None) -> list[Problem]:
    """SHACL validation with pySHACL; shapes use SPARQL targets, hence ``advanced``."""
    import pyshacl

    shapes = load_shapes() if shapes is None else shapes
    _, results, _ = pyshacl.validate(
        data, shacl_graph=shapes, advanced=True, inference="none", allow_warnings=True,
    )
    problems = []
    for result in results.subjects(SH.resultSeverity, None):
        messages = _messages(results, result)
        shape = results.value(result, SH.sourceShape)
        problems.append(Problem(
            check="shacl",
            severity=_SEVERITY_OF.get(results.value(result, SH.resultSeverity),
                                      Severity.VIOLATION),
            focus=str(results.value(result, SH.focusNode)),
            message_en=messages.get("en") or messages.get("", "SHACL constraint violated"),
            message_zh=messages.get("zh") or messages.get("en") or "违反 SHACL 约束",
            path=_str(results.value(result, SH.resultPath)),
            value=_str(results.value(result, SH.value)),
            source_shape=_str(shape) if isinstance(shape, URIRef) else None,
        ))
    return problems


def _messages(results: Graph, result: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for message in results.objects(result, SH.resultMessage):  # type: ignore[arg-type]
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


class Check(Enum):
    """The kinds of validation, each with its function in :data:`CHECKS`."""

    SHACL = "shacl"
    REASONER = "reasoner"


CHECKS: dict[Check, Callable[[Graph, Graph | None], list[Problem]]] = {
    Check.SHACL: check_shacl,
    Check.REASONER: check_reasoner,
}


def validate(data: Graph, checks: Iterable[Check] = tuple(Check),
             shapes: Graph | None = None) -> ValidationReport:
    """Run ``checks`` over ``data``; problems sorted by resource, then check."""
    problems: list[Problem] = []
    for check in checks:
        problems.extend(CHECKS[check](data, shapes))
    problems.sort(key=lambda p: (p.focus, p.check, p.source_shape or "", p.message_en))
    return ValidationReport(tuple(problems))


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


def format_text(report: ValidationReport, data: Graph, lang: str = "en") -> str:
    """A readable report, grouped by resource, in English or Chinese."""
    if not report.problems:
        return "OK: no problems found." if lang != "zh" else "通过：未发现问题。"
    labels = labels_for(data, {p.focus for p in report.problems}, lang)
    lines: list[str] = []
    current = None
    for problem in report.problems:
        if problem.focus != current:
            current = problem.focus
            name = labels.get(current)
            lines.append(f"\n{current}" + (f"  ({name})" if name else ""))
        where = f" [{problem.path}]" if problem.path else ""
        value = f" value: {problem.value}" if problem.value else ""
        lines.append(f"  {problem.severity.value.upper()} {problem.check}{where}: "
                     f"{problem.message(lang)}{value}")
    counts = _counts(report.problems)
    summary = (f"{counts[Severity.VIOLATION]} violation(s), {counts[Severity.WARNING]} "
               f"warning(s), {counts[Severity.INFO]} info")
    if lang == "zh":
        summary = (f"{counts[Severity.VIOLATION]} 个违规，{counts[Severity.WARNING]} 个警告，"
                   f"{counts[Severity.INFO]} 条提示")
    return "\n".join(lines).lstrip("\n") + "\n\n" + summary


def _counts(problems: Sequence[Problem]) -> dict[Severity, int]:
    return {s: sum(1 for p in problems if p.severity is s) for s in Severity}
