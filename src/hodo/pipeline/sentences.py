"""The article's text as numbered sentences, the units that the sentence ledger accounts for.

``ontology/source/article.txt`` is the journal PDF's extraction: lines break inside words, CJK
characters are spaced out and the running header of page 2121 sits inside a sentence of section
3.1. :func:`split` undoes that and cuts each section's text at its sentence ends, so that the
ledger (``ontology/ledger/``) and the tests agree on what "every sentence" means.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hodo.core import paths

#: The journal's running header, which the extraction left inside a sentence of section 3.1.
RUNNING_HEADER = re.compile(r"^\s*\d{4}\s*中国骨质疏松杂志.*No．\s*9\s*$")
#: A numbered heading line: "1 肝性骨病的中医学病因病机", "2. 1 遗传因素", " 4 小结".
HEADING = re.compile(r"^\s*(\d)(?:\.\s*(\d))?\s+(\S[^。，,；]*)$")
#: A sentence ends at a full stop, question or exclamation mark, with the closing quotes and
#: brackets that follow it; the English abstract uses the full-width full stop "．".
SENTENCE = re.compile(r".+?(?:[。！？．][”’」』）)]*|$)", re.DOTALL)
_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef“”‘’《》…—"
_SPACE_NEAR_CJK = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")

#: Section keys, in the article's order; ``hodo:article-<key>`` names each section resource
#: except the English abstract (part of the abstract) and the correction notice.
ABSTRACT, ABSTRACT_EN, INTRODUCTION, CORRECTION = (
    "abstract", "abstract-en", "introduction", "correction")


@dataclass(frozen=True)
class Sentence:
    """One sentence (or heading) of the article, where it stands and its cleaned text."""

    section: str
    position: int
    text: str
    heading: bool = False

    @property
    def language(self) -> str:
        """``en`` for the English abstract, ``zh`` for everything else."""
        return "en" if self.section == ABSTRACT_EN else "zh"

    @property
    def local_name(self) -> str:
        """The sentence's IRI under the HODO base: ``article-sentence-3.2-04``."""
        return f"article-sentence-{self.section}-{self.position:02d}"

    @property
    def section_local_name(self) -> str:
        """The section resource it belongs to (the correction notice has none of its own)."""
        if self.section == ABSTRACT_EN:
            return "article-abstract"
        if self.section in (ABSTRACT, INTRODUCTION, CORRECTION):
            return f"article-{self.section}"
        return f"article-section-{self.section}"


def squeeze(text: str) -> str:
    """The text without any white space: how quotes are compared with the article."""
    return re.sub(r"\s+", "", text)


def clean(text: str) -> str:
    """Join an extracted passage into one line: no space next to CJK text, single spaces else."""
    return re.sub(r"\s+", " ", _SPACE_NEAR_CJK.sub("", text)).strip()


def _sections(lines: list[str]) -> Iterator[tuple[str, str, bool]]:
    """(section, text, heading) blocks in order: each heading, then the body up to the next."""
    section, body = ABSTRACT, []
    for line in lines:
        if RUNNING_HEADER.match(line):
            continue
        opened = _opens(line, section)
        if opened is None:
            body.append(line)
            continue
        if body:
            yield section, "\n".join(body), False
        section, label, rest = opened
        body = [rest] if rest else []
        if label:
            yield section, label, True
    if body:
        yield section, "\n".join(body), False


def _opens(line: str, current: str) -> tuple[str, str, str] | None:
    """(section, heading, text after it) when ``line`` opens a section, else ``None``."""
    stripped = line.strip()
    if current == CORRECTION:
        return None
    if current == ABSTRACT and stripped.startswith("Abstract"):
        return ABSTRACT_EN, "", re.sub(r"^Abstract\s*[:：]\s*", "", stripped)
    if current == ABSTRACT_EN and re.search(r"[\u4e00-\u9fff]", line):
        return INTRODUCTION, "", line
    if re.fullmatch(r"更\s*正", stripped):
        return CORRECTION, clean(stripped), ""
    match = HEADING.match(line)
    if match and current not in (ABSTRACT, ABSTRACT_EN):
        major, minor, title = match.groups()
        number = f"{major}.{minor}" if minor else major
        return number, f"{number} {clean(title)}", ""
    return None


def _join(text: str, section: str) -> str:
    """Undo the line breaks: English words keep a space, CJK text none."""
    if section == ABSTRACT_EN:
        return re.sub(r"\s+", " ", text).strip()
    return clean(text)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def split(text: str) -> list[Sentence]:
    r"""Every sentence and heading of the article, numbered from 1 within each section.

    >>> text = " 摘要: 甲。乙。\n Abstract : A． B．\n 丙［1］。\n2. 1 标 题\n丁。"
    >>> [s.text for s in split(text)]
    ['甲。', '乙。', 'A．', 'B．', '丙［1］。', '2.1 标题', '丁。']
    """
    sentences: list[Sentence] = []
    counters: dict[str, int] = {}
    text = re.sub(r"^\s*摘要\s*[:：]\s*", "", text)
    for section, block, heading in _sections(text.splitlines()):
        pieces = [block] if heading else _sentences(_join(block, section))
        for piece in pieces:
            counters[section] = counters.get(section, 0) + 1
            sentences.append(Sentence(section, counters[section], piece, heading))
    return sentences


def article_sentences(path: Path = paths.ARTICLE_TEXT) -> list[Sentence]:
    """The sentences of HODO's source article."""
    return split(path.read_text(encoding="utf-8"))
