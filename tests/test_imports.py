"""External terms: every one used is imported, current, and as its source ontology states it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDFS

from hodo import imports as imp
from hodo import paths
from hodo.build import hand_edited_graph, module_files, parse_file
from hodo.serialize import to_bytes

USED = imp.used_obo_terms(hand_edited_graph())
IMPORTED = Graph()
for _path in module_files("imports"):
    parse_file(_path, IMPORTED)
EXTERNAL = sorted(c for terms in USED.values() for c in terms)


@pytest.mark.parametrize("curie", EXTERNAL)
def test_external_term_is_imported_and_current(curie: str) -> None:
    iri = imp.iri_of(curie)
    labels = [lbl for lbl in IMPORTED.objects(iri, RDFS.label)
              if isinstance(lbl, Literal) and lbl.language == "en"]
    assert len(labels) == 1, f"{curie} has no English label in ontology/imports/"
    assert (iri, OWL.deprecated, Literal(True)) not in IMPORTED, f"{curie} is deprecated"
    assert IMPORTED.value(iri, RDFS.isDefinedBy) is not None, f"{curie} names no source"


@pytest.fixture(scope="module")
def sources() -> dict[str, imp.Source]:
    wheels = imp.fetch_wheels(paths.cache_dir() / "wheels")
    return imp.load_sources(wheels, USED)


def test_generated_modules_equal_a_fresh_extraction(sources: dict[str, imp.Source]) -> None:
    generated = sorted(p.name for p in paths.IMPORTS_DIR.glob("*_import.ttl")
                       if p.name != imp.CURATED_MODULE)
    modules = imp.extract_modules(USED, sources)
    assert generated == sorted(imp.module_path(paths.IMPORTS_DIR, p).name for p in modules)
    for prefix, graph in modules.items():
        fresh = to_bytes(graph, "turtle", imp.module_header(sources[prefix]))
        committed = imp.module_path(paths.IMPORTS_DIR, prefix).read_bytes()
        assert fresh == committed, f"run `hodo imports`: {prefix} import is stale"


def test_labels_match_the_source_ontology(sources: dict[str, imp.Source]) -> None:
    for prefix, source in sources.items():
        for curie in USED[prefix]:
            label = IMPORTED.value(imp.iri_of(curie), RDFS.label)
            assert str(label) == source.terms[curie].label


def test_extraction_refuses_an_unknown_term(sources: dict[str, imp.Source]) -> None:
    with pytest.raises(imp.ImportError_, match="MONDO:9999999"):
        imp.module_graph(sources["MONDO"], ["MONDO:9999999"])


def test_deprecated_term_is_marked(tmp_path: Path) -> None:
    obo = ('format-version: 1.2\ndata-version: test/2025-01-01\n\n'
           '[Term]\nid: HP:0000001\nname: All\n\n'
           '[Term]\nid: HP:0000002\nname: obsolete thing\nis_obsolete: true\n'
           'replaced_by: HP:0000001\n')
    source = imp.read_obo(obo, "HP", "test")
    graph = imp.module_graph(source, ["HP:0000002"])
    iri = imp.iri_of("HP:0000002")
    assert (iri, OWL.deprecated, Literal(True)) in graph
    assert graph.value(iri, imp.REPLACED_BY) == URIRef(imp.iri_of("HP:0000001"))
