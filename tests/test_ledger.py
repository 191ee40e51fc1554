"""The sentence ledger accounts for every sentence of the article, and every finding for its
sentence: ``ontology/ledger/`` against the text as ``hodo.pipeline.sentences`` splits it."""

from __future__ import annotations

import re

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SKOS

from hodo.core.namespaces import SCHEMA
from hodo.pipeline.sentences import CORRECTION, Sentence, article_sentences, squeeze
from hodo.pipeline.sources import hand_edited_graph
from tests.terms import FINDING, SOURCE_SENTENCE

HODO = "https://w3id.org/hodo/"
CONTENT = hand_edited_graph()
SENTENCES = article_sentences()
FINDINGS = sorted(CONTENT.subjects(RDF.type, URIRef(FINDING)))
NO_CLAIM = URIRef(HODO + "HODO_0000230")
RESTATEMENT = URIRef(HODO + "HODO_0000233")
RESTATES = URIRef(HODO + "HODO_0000234")
POSITION = URIRef("http://schema.org/position")
HAS_EVIDENCE = URIRef("http://purl.obolibrary.org/obo/RO_0002558")
CITED = URIRef("http://purl.obolibrary.org/obo/ECO_0000304")
UNCITED = URIRef("http://purl.obolibrary.org/obo/ECO_0000303")
ARTICLE = URIRef(HODO + "article")
CITATION_NUMBER = URIRef(HODO + "HODO_0000206")
MARK = re.compile(r"［(\d+)］")


def _iri(sentence: Sentence) -> URIRef:
    return URIRef(HODO + sentence.local_name)


def _derived(sentence: URIRef) -> set[URIRef]:
    return {f for f in CONTENT.subjects(PROV.wasDerivedFrom, sentence)
            if (f, RDF.type, URIRef(FINDING)) in CONTENT}


def _quote(finding: URIRef) -> str:
    quotes = [str(s) for s in CONTENT.objects(finding, URIRef(SOURCE_SENTENCE))
              if isinstance(s, Literal) and s.language == "zh"]
    assert len(quotes) == 1, "one Chinese source sentence"
    return quotes[0]


def test_the_split_finds_every_section() -> None:
    sections = {s.section for s in SENTENCES}
    assert {"abstract", "abstract-en", "introduction", "1", "2", "2.1", "2.2", "2.3", "2.4",
            "2.5", "3", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "4",
            CORRECTION} == sections
    assert len(SENTENCES) > 100


def test_the_ledger_holds_no_sentence_the_text_lacks() -> None:
    ledger = set(CONTENT.subjects(RDF.type, URIRef("http://purl.org/spar/doco/Sentence")))
    ledger |= set(CONTENT.subjects(RDF.type, URIRef("http://purl.org/spar/doco/SectionTitle")))
    assert ledger == {_iri(s) for s in SENTENCES}


@pytest.mark.parametrize("sentence", SENTENCES, ids=lambda s: s.local_name)
def test_ledger_entry_is_the_sentence_of_the_text(sentence: Sentence) -> None:
    iri = _iri(sentence)
    assert CONTENT.value(iri, POSITION).toPython() == sentence.position
    assert CONTENT.value(iri, DCTERMS.isPartOf) == URIRef(HODO + sentence.section_local_name)
    value = CONTENT.value(iri, SCHEMA.text)
    if sentence.section == CORRECTION:
        assert value is None, "the correction notice's text is not HODO content"
        return
    assert value.language == sentence.language
    assert squeeze(str(value)) == squeeze(sentence.text)


@pytest.mark.parametrize("sentence", SENTENCES, ids=lambda s: s.local_name)
def test_every_sentence_is_modelled_or_says_why_not(sentence: Sentence) -> None:
    iri = _iri(sentence)
    findings = _derived(iri)
    reasons = set(CONTENT.objects(iri, NO_CLAIM))
    assert findings or reasons, "no finding is derived from it and no reason is given"
    assert not (findings and reasons), "a sentence with findings holds a claim"
    assert len(reasons) <= 1
    restated = set(CONTENT.objects(iri, RESTATES))
    if RESTATEMENT in reasons:
        assert restated, "a restatement names the findings it repeats"
    for finding in restated:
        assert (finding, RDF.type, URIRef(FINDING)) in CONTENT


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.split("/")[-1])
def test_finding_quotes_the_sentences_it_is_derived_from(finding: URIRef) -> None:
    sources = sorted(CONTENT.objects(finding, PROV.wasDerivedFrom))
    assert sources, "a finding names the ledger sentence(s) it is derived from"
    by_iri = {_iri(s): s for s in SENTENCES}
    assert all(s in by_iri for s in sources), "derived from a sentence the ledger lacks"
    ordered = sorted((by_iri[s] for s in sources), key=SENTENCES.index)
    assert squeeze(_quote(finding)) in "".join(squeeze(s.text) for s in ordered)


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.split("/")[-1])
def test_finding_cites_only_the_marks_its_sentence_carries(finding: URIRef) -> None:
    """Citations come from the quote's own marks; an uncited claim says so by its ECO class."""
    marks = {int(n) for n in MARK.findall(_quote(finding))}
    sources = set(CONTENT.objects(finding, DCTERMS.source))
    cited = {int(CONTENT.value(s, CITATION_NUMBER)) for s in sources if s != ARTICLE}
    evidence = set(CONTENT.objects(finding, HAS_EVIDENCE)) & {CITED, UNCITED}
    assert cited <= marks, f"cites {sorted(cited - marks)}, which its sentence does not carry"
    if cited:
        assert evidence == {CITED}
        assert ARTICLE not in sources
    else:
        assert evidence == {UNCITED}, "an uncited claim is a non-traceable author statement"
        assert sources == {ARTICLE}
    if marks and not cited:
        notes = {n.language for n in CONTENT.objects(finding, SKOS.editorialNote)}
        assert notes == {"en", "zh"}, "why the sentence's marks do not support it is noted"
