"""What the pages need again and again, read from the store once per release.

A page names dozens of resources, and each needs its label and whether HODO has a page for
it; a term page lists the findings about the term. Asking the store for these on every request
cost more than drawing the page, so they are read here once (about 50 ms for the whole release)
and pages look them up. The tables hold the store as it was when they were built: whoever
changes the store builds them again (``hodo.web.tables.invalidate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from hodo.site import diagrams, views

ARTICLE = "http://purl.org/ontology/bibo/AcademicArticle"


@dataclass(frozen=True)
class PageTables:
    """Labels, the IRIs the release describes, every finding, the article's sections, and
    the labels as the pictures read them (``hodo.site.diagrams``)."""

    labels: views.LabelTable
    described: frozenset[str]
    findings: views.FindingTable
    sections: Mapping[str, tuple[views.Section, ...]]
    picture_labels: diagrams.Labels

    def findings_for(self, selector: str, iri: str) -> tuple[views.Finding, ...]:
        """The findings ``views.findings`` would pick, without a query."""
        return self.findings.select(selector, iri)

    def sections_of(self, store: ox.Store, iri: str) -> tuple[views.Section, ...]:
        """The sections of an article, read at start-up; of anything else, from the store."""
        found = self.sections.get(iri)
        return found if found is not None else views.sections(store, iri)

    def publication_of(self, section: views.Value | None) -> views.Value | None:
        """The article a section belongs to, at whatever depth: the publication a finding
        from that section comes from (HODO holds more than one once a curator adds one)."""
        if section is None or section.iri is None:
            return None
        article = next((iri for iri, parts in self.sections.items()
                        if any(part.iri == section.iri for part in parts)), None)
        return views.Value(article, labels=self.labels.get(article, ())) if article else None


def build(store: ox.Store) -> PageTables:
    """Read every table from ``store``: a handful of scans and queries, once."""
    labels, described = _labels(store)
    articles = {q.subject.value for q in store.quads_for_pattern(
        None, ox.NamedNode(views.RDF_TYPE), ox.NamedNode(ARTICLE))
        if isinstance(q.subject, ox.NamedNode)}
    return PageTables(labels, described, views.finding_table(store),
                      {iri: views.sections(store, iri) for iri in sorted(articles)},
                      diagrams.all_labels(store))


def _labels(store: ox.Store) -> tuple[dict[str, tuple[tuple[str, str], ...]], frozenset[str]]:
    """Each IRI's first label per language, and every IRI with an ``rdfs:label`` at all."""
    found: dict[str, dict[str, str]] = {}
    for quad in store.quads_for_pattern(None, ox.NamedNode(views.LABEL), None):
        if isinstance(quad.subject, ox.NamedNode):
            by_lang = found.setdefault(quad.subject.value, {})
            if isinstance(quad.object, ox.Literal):
                by_lang.setdefault(views.language_of(quad.object) or "", quad.object.value)
    labels = {iri: tuple(sorted(by_lang.items())) for iri, by_lang in found.items()}
    return labels, frozenset(found)
