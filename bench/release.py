"""The pool of real terms of the release that templates and pages are filled with."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox

from bench.queries import Pool

HODO = "https://w3id.org/hodo/"
_TERMS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?term (SAMPLE(?e) AS ?en) (SAMPLE(?z) AS ?zh) WHERE {
  ?term a owl:Class ; rdfs:subClassOf ?parent ; rdfs:label ?e , ?z .
  FILTER (STRSTARTS(STR(?term), "https://w3id.org/hodo/HODO_") && isIRI(?parent)
          && langMatches(lang(?e), "en") && langMatches(lang(?z), "zh"))
} GROUP BY ?term ORDER BY ?term
"""


def release_pool(dist: Path) -> Pool:
    """HODO's own classes with both labels and a parent, in IRI order, and words of them."""
    store = ox.Store()
    store.bulk_load(path=str(dist / "hodo.nq"), format=ox.RdfFormat.N_QUADS)
    found = [(s["term"].value, s["en"].value, s["zh"].value)  # type: ignore[union-attr]
             for s in store.query(_TERMS, use_default_graph_as_union=True)]
    terms = tuple(t for t, _, _ in found)
    en = tuple(e for _, e, _ in found)
    zh = tuple(z for _, _, z in found)
    words = _words(en, zh)
    pages = tuple(f"/{t.removeprefix(HODO)}?lang={lang}" for t in terms for lang in ("en", "zh"))
    prefixes = tuple(dict.fromkeys(w[:3] if w.isascii() else w[:1] for w in words))
    return Pool(terms, en, zh, words, pages, prefixes)


def _words(en: tuple[str, ...], zh: tuple[str, ...]) -> tuple[str, ...]:
    """English words of five letters or more and Chinese two-character pieces, alternating."""
    english = dict.fromkeys(w.lower() for label in en for w in re.findall(r"[A-Za-z]{5,}", label))
    chinese = dict.fromkeys(label[:2] for label in zh if len(label) >= 2)
    mixed = [w for pair in zip(english, chinese, strict=False) for w in pair]
    return tuple(mixed)
