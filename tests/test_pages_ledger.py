"""What the pages say of provenance: an uncited claim says so in words, a finding shows its
population, species and measured change, and the article page shows every sentence of the
ledger with the findings read from it or the reason it holds none."""

from __future__ import annotations

from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import URIRef
from rdflib.namespace import DCTERMS, PROV, RDF

from hodo.engine.store import Release
from hodo.pipeline.sentences import CORRECTION, article_sentences
from hodo.pipeline.sources import hand_edited_graph
from hodo.web import create_app

HODO = "https://w3id.org/hodo/"
CONTENT = hand_edited_graph()
FINDINGS = sorted(CONTENT.subjects(RDF.type, URIRef(HODO + "HODO_0000110")))
UNCITED = sorted(f for f in FINDINGS if set(CONTENT.objects(f, DCTERMS.source))
                 == {URIRef(HODO + "article")})
CITED = sorted(set(FINDINGS) - set(UNCITED))
SPECIES = URIRef("https://w3id.org/biolink/vocab/species_context_qualifier")
WITH_SPECIES = sorted({f for f in FINDINGS if (f, SPECIES, None) in CONTENT})
UNCITED_WORDS = {"en": "No citation in its source", "zh": "原文未标注引用"}


@pytest.fixture(scope="module")
def site(release: Release) -> Flask:
    return create_app({"TESTING": True}, release=release)


@pytest.fixture(scope="module")
def pages(site: Flask) -> FlaskClient:
    return site.test_client()


def _page(pages: FlaskClient, iri: str, lang: str) -> str:
    response = pages.get(iri.removeprefix(HODO), query_string={"lang": lang},
                         headers={"Accept": "text/html"})
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def test_there_are_cited_and_uncited_findings() -> None:
    assert UNCITED and CITED and WITH_SPECIES


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("finding", UNCITED[:12], ids=lambda f: f.split("/")[-1])
def test_an_uncited_claim_says_so_in_words(pages: FlaskClient, finding: str, lang: str) -> None:
    page = _page(pages, finding, lang)
    assert UNCITED_WORDS[lang] in page
    assert "[?]" not in page


@pytest.mark.parametrize("finding", CITED[:12], ids=lambda f: f.split("/")[-1])
def test_a_cited_claim_shows_its_reference_numbers(pages: FlaskClient, finding: str) -> None:
    page = _page(pages, finding, "en")
    for source in CONTENT.objects(URIRef(finding), DCTERMS.source):
        number = CONTENT.value(source, URIRef(HODO + "HODO_0000206"))
        assert f"[{number}]" in page
    assert UNCITED_WORDS["en"] not in page


@pytest.mark.parametrize("finding", WITH_SPECIES[:12], ids=lambda f: f.split("/")[-1])
def test_a_finding_page_links_its_species_and_sentence(pages: FlaskClient, finding: str) -> None:
    page = _page(pages, finding, "en")
    assert "Species" in page
    for sentence in CONTENT.objects(URIRef(finding), PROV.wasDerivedFrom):
        assert sentence.removeprefix(HODO) in page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_article_page_shows_every_sentence_with_its_findings(
        pages: FlaskClient, lang: str) -> None:
    page = _page(pages, HODO + "article", lang)
    for sentence in article_sentences():
        if sentence.section == CORRECTION:
            assert sentence.local_name not in page, "the correction notice is not the article's"
            continue
        start = page.index(f'id="{sentence.local_name}"')
        ends = [i for i in (page.find('class="ledger-line"', start), page.find("</ol>", start))
                if i >= 0]
        line = page[start:min(ends)]
        assert sentence.text in line
        iri = URIRef(HODO + sentence.local_name)
        findings = set(CONTENT.subjects(PROV.wasDerivedFrom, iri))
        for finding in findings:
            assert f'{finding.removeprefix(HODO)}?lang={lang}"' in line
        if not findings:
            reason = CONTENT.value(iri, URIRef(HODO + "HODO_0000230"))
            assert reason is not None, "no finding and no reason"
            assert f'{reason.removeprefix(HODO)}?lang={lang}"' in line


@pytest.mark.parametrize("section", ["article-section-3.2", "article-section-2"])
def test_a_section_page_lists_its_sentences_apart_from_its_subsections(
        pages: FlaskClient, section: str) -> None:
    page = _page(pages, HODO + section, "en")
    ledger = page[page.index('class="section-ledger"'):]
    subsections = page[:page.index('class="section-findings"')]
    number = section.rsplit("-", 1)[-1]
    assert f'id="article-sentence-{number}-01"' in ledger
    assert "article-sentence" not in subsections, "a sentence is not a subsection"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_sentence_page_shows_its_text_and_findings(pages: FlaskClient, lang: str) -> None:
    sentence = next(s for s in article_sentences() if s.section == "3.2" and not s.heading)
    page = _page(pages, HODO + sentence.local_name, lang)
    assert sentence.text in page
    for finding in CONTENT.subjects(PROV.wasDerivedFrom, URIRef(HODO + sentence.local_name)):
        assert finding.removeprefix(HODO) in page
