"""Statements a careless publisher would turn into script, and an audit of a page's HTML.

Markup in labels, synonyms and definitions, and ``javascript:`` / ``data:`` IRIs as values, as
related terms and as mapping targets: the site tests add them to a copy of the release, the
attack suite uploads them through curator mode.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pyoxigraph as ox

from tests.terms import HEPATIC_OSTEODYSTROPHY, HODO

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ATTRIBUTE = '" onmouseover="alert(1)'
BAD_IRIS = ["javascript:alert(1)", "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
            "JaVaScRiPt:alert(2)", "vbscript:msgbox(1)"]
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OBO_IN_OWL = "http://www.geneontology.org/formats/oboInOwl#"
HOSTILE_TERM = HODO + "HODO_9990001"
GRAPH = ox.NamedNode(HODO + "graph/ontology")


def hostile_quads() -> list[ox.Quad]:
    term = ox.NamedNode(HOSTILE_TERM)
    known = ox.NamedNode(HEPATIC_OSTEODYSTROPHY)
    quads = [
        ox.Quad(term, ox.NamedNode(RDFS + "label"), ox.Literal(MARKUP, language="en"), GRAPH),
        ox.Quad(term, ox.NamedNode(RDFS + "label"), ox.Literal(ATTRIBUTE, language="zh"),
                GRAPH),
        ox.Quad(term, ox.NamedNode(RDFS + "subClassOf"), known, GRAPH),
        ox.Quad(term, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                ox.NamedNode("http://www.w3.org/2002/07/owl#Class"), GRAPH),
        ox.Quad(term, ox.NamedNode(OBO_IN_OWL + "hasExactSynonym"),
                ox.Literal(MARKUP, language="en"), GRAPH),
        ox.Quad(term, ox.NamedNode("http://purl.obolibrary.org/obo/IAO_0000115"),
                ox.Literal(MARKUP, language="zh"), GRAPH),
        ox.Quad(known, ox.NamedNode(RDFS + "comment"), ox.Literal(MARKUP, language="en"),
                GRAPH),
    ]
    for bad in BAD_IRIS:
        node = ox.NamedNode(bad)
        quads += [
            ox.Quad(term, ox.NamedNode(SKOS + "exactMatch"), node, GRAPH),
            ox.Quad(known, ox.NamedNode(RDFS + "seeAlso"), node, GRAPH),
            ox.Quad(node, ox.NamedNode(RDFS + "label"), ox.Literal(MARKUP, language="en"),
                    GRAPH),
            ox.Quad(node, ox.NamedNode(RDFS + "subClassOf"), term, GRAPH),
        ]
    return quads


class Audit(HTMLParser):
    """Every element and attribute of a page, to look for script that got through."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[tuple[str, str]] = []
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values)
        if tag == "img":
            self.images.append(values.get("src") or "")
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]
        for name in ("href", "src", "action", "formaction", "data-href"):
            if values.get(name):
                self.links.append(values[name] or "")
