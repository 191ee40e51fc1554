"""`hodo stats`: every section has findings, and docs/modelling.md shows the current table."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF

from hodo import paths, stats
from hodo.build import hand_edited_graph
from hodo.store import Release

DOCO_SECTION = URIRef("http://purl.org/spar/doco/Section")
IN_SECTION = URIRef("https://w3id.org/hodo/HODO_0000202")
CONTENT: Graph = hand_edited_graph()
SECTIONS = sorted(CONTENT.subjects(RDF.type, DOCO_SECTION))
STATS_BLOCK = re.compile(r"<!-- stats:start -->\n(.*?)<!-- stats:end -->", re.S)


def _is_leaf(section: URIRef) -> bool:
    return not any(CONTENT.subjects(DCTERMS.isPartOf, section))


@pytest.mark.parametrize("section", [s for s in SECTIONS if _is_leaf(s)],
                         ids=lambda s: s.split("article-")[-1])
def test_every_section_has_findings(section: URIRef) -> None:
    assert any(CONTENT.subjects(IN_SECTION, section)), f"no finding in {section}"


def test_modelling_page_shows_the_current_tables(release: Release) -> None:
    block = STATS_BLOCK.search((paths.ROOT / "docs" / "modelling.md").read_text(encoding="utf-8"))
    assert block, "docs/modelling.md has no stats block"
    fresh = stats.markdown(stats.sections(release.store), stats.kinds(release.store))
    assert block.group(1) == fresh, "run `hodo stats` and paste its table into docs/modelling.md"


def test_totals_add_up(release: Release) -> None:
    rows = stats.sections(release.store)
    findings = {f for f in CONTENT.subjects(RDF.type, URIRef("https://w3id.org/hodo/HODO_0000110"))}
    assert sum(r.findings for r in rows) == len(findings)
    assert stats.kinds(release.store)[0].kind == "HODO"
