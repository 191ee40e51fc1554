"""What HODO holds, per section of the article and per kind of term.

The counts come from the report queries in ``ontology/sparql/reports/``, run on the release, so
that the table in the README is the answer of the same queries a user can run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass

import pyoxigraph as ox

from hodo.core.namespaces import shorten
from hodo.core.paths import ONTOLOGY_DIR

REPORTS_DIR = ONTOLOGY_DIR / "sparql" / "reports"
SECTION_COLUMNS = ("findings", "negative", "hedgedFindings", "withValues", "conflicting",
                   "uncitedFindings", "references")
LEDGER_COLUMNS = ("sentences", "modelledSentences", "noClaimSentences", "unaccounted")


@dataclass(frozen=True)
class SectionRow:
    """Findings of one section of the article."""

    section: str
    title: str
    findings: int
    negative: int
    hedged: int
    with_values: int
    conflicting: int
    uncited: int
    references: int


@dataclass(frozen=True)
class LedgerRow:
    """The sentence ledger of one section: how its sentences are accounted for."""

    section: str
    title: str
    sentences: int
    modelled: int
    no_claim: int
    unaccounted: int


@dataclass(frozen=True)
class KindRow:
    """Terms of one source (HODO or an external ontology)."""

    kind: str
    terms: int
    with_chinese_label: int


def _run(store: ox.Store, name: str) -> list[ox.QuerySolution]:
    text = (REPORTS_DIR / f"{name}.rq").read_text(encoding="utf-8")
    return list(store.query(text, use_default_graph_as_union=True))  # type: ignore[arg-type]


def _section_key(section: str) -> tuple[int, list[int]]:
    """Abstract, introduction, then sections in numeric order (2 < 2.1 < 2.10 < 3)."""
    if section == "abstract":
        return (0, [])
    if section == "introduction":
        return (1, [])
    return (2, [int(n) for n in re.findall(r"\d+", section)])


def sections(store: ox.Store) -> list[SectionRow]:
    """One row per section that has findings."""
    rows = [
        SectionRow(row["section"].value, row["title"].value,  # type: ignore[union-attr]
                   *(int(row[c].value) for c in SECTION_COLUMNS))  # type: ignore[union-attr]
        for row in _run(store, "findings-by-section")
    ]
    return sorted(rows, key=lambda r: _section_key(r.section))


def ledger(store: ox.Store) -> list[LedgerRow]:
    """One row per section of the sentence ledger (the correction notice last)."""
    rows = [
        LedgerRow(row["section"].value, row["title"].value,  # type: ignore[union-attr]
                  *(int(row[c].value) for c in LEDGER_COLUMNS))  # type: ignore[union-attr]
        for row in _run(store, "ledger-by-section")
    ]
    return sorted(rows, key=lambda r: (r.section == "correction", _section_key(r.section)))


def kinds(store: ox.Store) -> list[KindRow]:
    """Terms grouped by the prefix of their IRI, HODO first, then by count."""
    total: Counter[str] = Counter()
    chinese: Counter[str] = Counter()
    for row in _run(store, "terms-by-kind"):
        iri = row["term"].value  # type: ignore[union-attr]
        curie = shorten(iri)
        kind = curie.split(":")[0].upper() if curie != iri else iri
        total[kind] += 1
        chinese[kind] += row["hasChineseLabel"].value == "true"  # type: ignore[union-attr]
    order = sorted(total, key=lambda k: (k != "HODO", -total[k], k))
    return [KindRow(k, total[k], chinese[k]) for k in order]


def markdown(section_rows: list[SectionRow], kind_rows: list[KindRow],
             ledger_rows: list[LedgerRow]) -> str:
    """The three tables as Markdown, as the README shows them."""
    lines = ["| section | findings | negative | hedged | with values | conflicting | uncited "
             "| references |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in section_rows:
        lines.append(f"| {r.title} | {r.findings} | {r.negative} | {r.hedged} | "
                     f"{r.with_values} | {r.conflicting} | {r.uncited} | {r.references} |")
    totals = [sum(getattr(r, c) for r in section_rows)
              for c in ("findings", "negative", "hedged", "with_values", "conflicting",
                        "uncited")]
    lines.append("| **all sections** | " + " | ".join(map(str, totals)) + " | |")
    lines += ["", "| sentences of | sentences | modelled by findings | no claim (reason given) "
              "| unaccounted |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r.title} | {r.sentences} | {r.modelled} | {r.no_claim} | {r.unaccounted} |"
              for r in ledger_rows]
    ledger_totals = [sum(getattr(r, c) for r in ledger_rows)
                     for c in ("sentences", "modelled", "no_claim", "unaccounted")]
    lines.append("| **whole text** | " + " | ".join(map(str, ledger_totals)) + " |")
    lines += ["", "| terms from | terms | with a Chinese label |", "|---|---:|---:|"]
    lines += [f"| {k.kind} | {k.terms} | {k.with_chinese_label} |" for k in kind_rows]
    return "\n".join(lines) + "\n"


def to_json(section_rows: list[SectionRow], kind_rows: list[KindRow],
            ledger_rows: list[LedgerRow]) -> str:
    """The three tables as JSON."""
    return json.dumps({"sections": [asdict(r) for r in section_rows],
                       "ledger": [asdict(r) for r in ledger_rows],
                       "kinds": [asdict(k) for k in kind_rows]}, ensure_ascii=False, indent=2)
