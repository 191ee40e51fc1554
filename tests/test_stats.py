"""`hodo stats`: every section has findings, and docs/modelling.md shows the current table."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF

from hodo.core import paths
from hodo.engine.store import Release
from hodo.pipeline.sentences import article_sentences
from hodo.pipeline.sources import hand_edited_graph
from hodo.site import stats

DOCO_SECTION = URIRef("http://purl.org/spar/doco/Section")
IN_SECTION = URIRef("https://w3id.org/hodo/HODO_0000202")
CONTENT: Graph = hand_edited_graph()
SECTIONS = sorted(CONTENT.subjects(RDF.type, DOCO_SECTION))
STATS_BLOCK = re.compile(r"<!-- stats:start -->\n(.*?)<!-- stats:end -->", re.S)


def _is_leaf(section: URIRef) -> bool:
    """No section is part of it (the ledger's sentences are, and do not count)."""
    return not any((part, RDF.type, DOCO_SECTION) in CONTENT
                   for part in CONTENT.subjects(DCTERMS.isPartOf, section))


@pytest.mark.parametrize("section", [s for s in SECTIONS if _is_leaf(s)],
                         ids=lambda s: s.split("article-")[-1])
def test_every_section_has_findings(section: URIRef) -> None:
    assert any(CONTENT.subjects(IN_SECTION, section)), f"no finding in {section}"


def test_modelling_page_shows_the_current_tables(release: Release) -> None:
    block = STATS_BLOCK.search((paths.ROOT / "docs" / "modelling.md").read_text(encoding="utf-8"))
    assert block, "docs/modelling.md has no stats block"
    fresh = stats.markdown(stats.sections(release.store), stats.kinds(release.store),
                           stats.ledger(release.store))
    assert block.group(1) == fresh, "run `hodo stats` and paste its table into docs/modelling.md"


def test_totals_add_up(release: Release) -> None:
    rows = stats.sections(release.store)
    findings = {f for f in CONTENT.subjects(RDF.type, URIRef("https://w3id.org/hodo/HODO_0000110"))}
    assert sum(r.findings for r in rows) == len(findings)
    assert stats.kinds(release.store)[0].kind == "HODO"


def test_the_ledger_table_accounts_for_every_sentence(release: Release) -> None:
    rows = stats.ledger(release.store)
    assert sum(r.sentences for r in rows) == len(article_sentences())
    for row in rows:
        assert row.unaccounted == 0, f"{row.title}: sentences neither modelled nor explained"
        assert row.modelled + row.no_claim == row.sentences


def test_the_uncited_column_counts_non_traceable_statements(release: Release) -> None:
    uncited = set(CONTENT.subjects(URIRef("http://purl.obolibrary.org/obo/RO_0002558"),
                                   URIRef("http://purl.obolibrary.org/obo/ECO_0000303")))
    assert sum(r.uncited for r in stats.sections(release.store)) == len(uncited) > 0
