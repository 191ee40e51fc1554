"""Every figure of the article (percentages, rates, sample sizes, durations, P-values) is a
quantity of some finding, so that a query can find it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from rdflib import Literal, URIRef

from hodo.core.paths import ARTICLE_TEXT
from hodo.pipeline.sources import hand_edited_graph

SCHEMA = "http://schema.org/"
#: Patterns that mark a figure in the Chinese text (after whitespace is removed).
FIGURE_PATTERNS = (
    r"(\d+(?:\.\d+)?)%",  # 41%, 20%－50% (each end)
    r"(\d+)例",  # 249例
    r"(\d+)个月",  # 3个月
    r"(\d+)年后",  # 1年后
    r"P=(\d+\.\d+)",  # P=0.9
    r"(\d+):\d+人/年",  # 5:100000人/年
    r"(\d+)-(\d+)每百万",  # 50-250每百万
)


def _body() -> str:
    """The article from its abstract to its summary, without the correction notice."""
    text = re.sub(r"\s+", "", ARTICLE_TEXT.read_text(encoding="utf-8"))
    return text[: text.index("更正")]


def _figures() -> list[Decimal]:
    found: set[Decimal] = set()
    for pattern in FIGURE_PATTERNS:
        for match in re.finditer(pattern, _body()):
            found.update(Decimal(g) for g in match.groups() if g)
    return sorted(found)


def _quantity_values() -> set[Decimal]:
    graph = hand_edited_graph()
    values: set[Decimal] = set()
    for prop in ("value", "minValue", "maxValue"):
        for literal in graph.objects(None, URIRef(SCHEMA + prop)):
            if isinstance(literal, Literal):
                values.add(Decimal(str(literal.toPython())))
    return values


VALUES = _quantity_values()


def test_the_article_has_figures() -> None:
    assert len(_figures()) >= 15


@pytest.mark.parametrize("figure", _figures(), ids=str)
def test_figure_is_a_quantity(figure: Decimal) -> None:
    assert figure in VALUES, f"the article's figure {figure} is in no finding's quantity"
