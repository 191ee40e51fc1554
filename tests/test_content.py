"""The content is the article's: quotes are verbatim, citations exist, labels are bilingual."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from hodo.core.paths import ARTICLE_TEXT
from hodo.pipeline.sources import hand_edited_graph
from tests.terms import FINDING, SOURCE_SENTENCE

CONTENT = hand_edited_graph()
FINDINGS = sorted(CONTENT.subjects(RDF.type, URIRef(FINDING)))


def _squeeze(text: str) -> str:
    """The extracted text breaks lines and spaces out CJK characters; compare without spaces."""
    return re.sub(r"\s+", "", text)


#: The journal's running header, which the extraction left inside a sentence of section 3.1.
RUNNING_HEADER = re.compile(r"\d{4}中国骨质疏松杂志.*?No．9")
ARTICLE = RUNNING_HEADER.sub("", _squeeze(ARTICLE_TEXT.read_text(encoding="utf-8")))


def test_there_are_findings() -> None:
    assert len(FINDINGS) >= 3


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f.split("/")[-1])
def test_chinese_source_sentence_is_verbatim(finding: URIRef) -> None:
    sentences = [s for s in CONTENT.objects(finding, URIRef(SOURCE_SENTENCE))
                 if isinstance(s, Literal) and s.language == "zh"]
    assert len(sentences) == 1
    assert _squeeze(str(sentences[0])) in ARTICLE


def test_the_correction_notice_is_not_content() -> None:
    # The notice after the article concerns another paper: none of its words are HODO's.
    texts = {str(o) for o in CONTENT.objects() if isinstance(o, Literal)}
    assert not any("冯文雯" in t or "关节炎" in t for t in texts)


def test_no_untagged_human_readable_literal() -> None:
    for predicate in (RDFS.label, URIRef(SOURCE_SENTENCE)):
        for literal in CONTENT.objects(None, predicate):
            assert isinstance(literal, Literal) and literal.language in ("en", "zh"), literal


def test_graph_is_not_empty() -> None:
    assert isinstance(CONTENT, Graph) and len(CONTENT) > 200
