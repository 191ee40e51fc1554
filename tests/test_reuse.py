"""Reuse before minting: the article's entities are found under the IDs integrators already use.

``tests/data/article-entities.tsv`` lists the article's entities with the standard ID a curator
of MONDO, HP, ChEBI, GO, MAxO, UBERON or CL would expect, looked up in the source ontologies'
own data. The tests check that list against that data (read once from the wheels and the
committed MAxO extract), measure the share of listed IDs the release carries, and check that a
HODO term retired in favour of an external one stays a working, obsolete IRI.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDFS, SKOS

from hodo.core import paths
from hodo.core.namespaces import HODO, REPLACED_BY
from hodo.engine.store import Release
from hodo.pipeline import imports as imp
from hodo.pipeline import mappings
from hodo.pipeline.mappings import MAPPINGS_FILE, read_mapping_set
from hodo.pipeline.sources import hand_edited_graph

ENTITIES_FILE = Path(__file__).parent / "data" / "article-entities.tsv"
#: The share of listed standard IDs the release must carry.
MIN_COVERAGE = 0.80
#: The ontologies an integrator joins HODO with; an exact match into one of them is reused.
REUSED = ("MONDO", "HP", "CHEBI", "GO", "MAXO", "UBERON", "CL")
RELATIONS = {"same", "gene product of"}


def _entities() -> list[dict[str, str]]:
    lines = [line for line in ENTITIES_FILE.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


ENTITIES = _entities()
WITH_ID = [e for e in ENTITIES if e["expected_id"] != "none"]
WITHOUT_ID = [e for e in ENTITIES if e["expected_id"] == "none"]


def _id(entity: dict[str, str]) -> str:
    return f"{entity['expected_id']}-{entity['article_en']}"


@pytest.fixture(scope="module")
def sources() -> dict[str, imp.Source]:
    """The source ontologies of the listed IDs, read once from the wheels and the extracts."""
    wheels = imp.fetch_wheels(paths.cache_dir() / "wheels")
    return imp.load_sources(wheels, {e["expected_id"].split(":")[0] for e in WITH_ID})


# --- the list itself ---------------------------------------------------------------------------

def test_the_list_covers_every_kind_of_entity() -> None:
    categories = {e["category"] for e in ENTITIES}
    assert {"disease", "phenotype", "chemical", "treatment", "process", "anatomy", "cell", "gene",
            "protein", "tcm"} <= categories
    assert len(WITH_ID) >= 50


@pytest.mark.parametrize("entity", WITH_ID, ids=_id)
def test_expected_id_exists_is_current_and_has_the_listed_label(
        entity: dict[str, str], sources: dict[str, imp.Source]) -> None:
    curie = entity["expected_id"]
    source = sources[curie.split(":")[0]]
    term = source.terms.get(curie)
    assert term is not None, f"{curie} is not in {source.prefix} {source.version}"
    assert not term.deprecated, f"{curie} is obsolete in {source.version}"
    assert term.label == entity["expected_label"], f"{source.version} labels it {term.label!r}"
    assert entity["relation"] in RELATIONS


@pytest.mark.parametrize("entity", WITHOUT_ID, ids=lambda e: e["article_en"])
def test_an_entity_without_an_id_says_where_it_was_searched(entity: dict[str, str]) -> None:
    searched, _, tried = entity["searched"].partition(":")
    assert {"MONDO", "HP", "ChEBI", "GO", "MAxO"} <= {s.strip() for s in searched.split(",")}
    assert tried.strip(), "no label or synonym was recorded as tried"
    assert not entity["expected_label"]


def test_every_entity_is_named_in_the_articles_words() -> None:
    """The Chinese words are the article's (compared after NFKC: it writes some Latin letters
    full-width); a trailing note in full-width parentheses is the list's, not the article's."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", (
        paths.ONTOLOGY_DIR / "source" / "article.txt").read_text(encoding="utf-8")))
    absent = [e["article_zh"] for e in ENTITIES
              if unicodedata.normalize("NFKC", re.sub(r"（[^）]*）$", "", e["article_zh"]))
              not in text]
    assert absent == []
    assert all(e["article_en"].isascii() and e["article_en"] for e in ENTITIES)


# --- what the release carries ------------------------------------------------------------------

CARRIED = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
ASK {
  { GRAPH <https://w3id.org/hodo/graph/findings> { ?finding ?p <IRI> } }
  UNION { GRAPH <https://w3id.org/hodo/graph/ontology> {
      ?s ?p <IRI> VALUES ?p { rdfs:subClassOf owl:equivalentClass owl:someValuesFrom
                              owl:allValuesFrom } } }
  UNION { GRAPH <https://w3id.org/hodo/graph/ontology> { <IRI> rdfs:subClassOf ?o } }
  UNION { GRAPH <https://w3id.org/hodo/graph/mappings> { ?hodo skos:exactMatch <IRI> } }
}
"""


def carried(release: Release, curie: str) -> bool:
    """Whether the release names ``curie`` in a finding or an axiom, or maps a HODO term to it
    as an exact match."""
    query = CARRIED.replace("IRI", str(imp.iri_of(curie)))
    return bool(release.store.query(query))


def test_release_carries_at_least_the_required_share_of_the_listed_ids(release: Release) -> None:
    missing = [e["expected_id"] for e in WITH_ID if not carried(release, e["expected_id"])]
    share = 1 - len(missing) / len(WITH_ID)
    assert share >= MIN_COVERAGE, f"{share:.0%} carried; missing: {', '.join(missing)}"


def test_the_coverage_measure_sees_a_missing_id(release: Release) -> None:
    assert carried(release, "MONDO:0005298")
    assert not carried(release, "MONDO:0021001")  # hemochromatosis type 1: in MONDO, not in HODO


# --- HODO terms retired in favour of an external term ------------------------------------------

HAND_EDITED = hand_edited_graph()
RETIRED = sorted(s for s in HAND_EDITED.subjects(OWL.deprecated, Literal(True))
                 if str(s).startswith(str(HODO) + "HODO_"))


def test_no_current_hodo_term_is_an_exact_match_of_a_reused_ontologys_term() -> None:
    mappings = read_mapping_set(paths.ONTOLOGY_DIR / "mappings" / MAPPINGS_FILE)
    exact = [(r["subject_id"], r["object_id"]) for r in mappings.rows
             if r["predicate_id"] == "skos:exactMatch"
             and r["object_id"].split(":")[0] in REUSED]
    declared = [(s, o) for s, o in HAND_EDITED.subject_objects(SKOS.exactMatch)
                if str(s).startswith(str(HODO)) and (imp.curie_of(str(o)) or "").split(":")[0]
                in REUSED]
    assert exact == [] and declared == []


@pytest.mark.parametrize("term", RETIRED, ids=lambda t: str(t).rsplit("/", 1)[-1])
def test_a_retired_term_is_obsolete_and_replaced_by_an_imported_term(term: URIRef) -> None:
    replacement = HAND_EDITED.value(term, REPLACED_BY)
    assert isinstance(replacement, URIRef)
    imported = Graph()
    for module in sorted(paths.IMPORTS_DIR.glob("*_import.ttl")):
        imported.parse(module, format="turtle")
    assert imported.value(replacement, RDFS.label) is not None, f"{replacement} is not imported"
    labels = {lit.language: str(lit) for lit in HAND_EDITED.objects(term, RDFS.label)
              if isinstance(lit, Literal)}
    assert labels["en"].startswith("obsolete ") and labels["zh"].startswith("已废弃")
    assert (term, RDFS.subClassOf, None) not in HAND_EDITED


@pytest.mark.parametrize("term", RETIRED[:3], ids=lambda t: str(t).rsplit("/", 1)[-1])
def test_a_retired_iri_still_dereferences_and_names_its_replacement(
        client: FlaskClient, term: URIRef) -> None:
    local = str(term).rsplit("/", 1)[-1]
    replacement = str(HAND_EDITED.value(term, REPLACED_BY))
    page = client.get(f"/{local}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert replacement.rsplit("/", 1)[-1] in page.get_data(as_text=True)
    data = client.get(f"/{local}", headers={"Accept": "text/turtle"})
    assert data.status_code == 200
    graph = Graph().parse(data=data.get_data(as_text=True), format="turtle")
    assert (term, OWL.deprecated, Literal(True)) in graph
    assert (term, REPLACED_BY, URIRef(replacement)) in graph


# --- the committed MAxO extract ----------------------------------------------------------------

def test_the_maxo_extract_holds_exactly_the_used_terms_and_their_ancestors() -> None:
    extract = imp.read_maxo()
    used = imp.used_external_terms(hand_edited_graph()).get("MAXO", set())
    mapped = {r["object_id"] for r in read_mapping_set(
        paths.ONTOLOGY_DIR / "mappings" / MAPPINGS_FILE).rows if r["object_id"].startswith("MAXO:")}
    assert used and used <= set(extract.terms)
    used |= mapped
    assert set(extract.terms) == used | imp.ancestor_closure(extract, used)
    header = imp.MAXO_EXTRACT.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "monarch-initiative/MAxO" in header and re.search(r"commit [0-9a-f]{40}", header)
    assert extract.version.startswith("releases/")


# --- a measured protein is not its gene --------------------------------------------------------

GENE_AS_MEASURED = """
PREFIX oban: <http://purl.org/oban/>
PREFIX biolink: <https://w3id.org/biolink/vocab/>
SELECT DISTINCT ?finding ?gene WHERE {
  {
    ?finding oban:association_has_subject ?gene ; biolink:subject_aspect_qualifier ?aspect .
  } UNION {
    ?finding oban:association_has_object ?gene ; biolink:object_aspect_qualifier ?aspect .
  } UNION {
    ?finding oban:association_has_subject|oban:association_has_object ?gene ;
             biolink:species_context_qualifier <http://purl.obolibrary.org/obo/NCBITaxon_10114> .
  }
  FILTER STRSTARTS(STR(?gene), "http://identifiers.org/hgnc/")
}
"""

BAD_FINDINGS = """
@prefix oban: <http://purl.org/oban/> .
@prefix biolink: <https://w3id.org/biolink/vocab/> .
@prefix hgnc: <http://identifiers.org/hgnc/> .
@prefix obo: <http://purl.obolibrary.org/obo/> .
<urn:x:measured> oban:association_has_object hgnc:5464 ; biolink:object_aspect_qualifier "level" .
<urn:x:rat> oban:association_has_subject hgnc:4250 ;
    biolink:species_context_qualifier obo:NCBITaxon_10114 .
<urn:x:polymorphism> oban:association_has_subject hgnc:12679 ;
    biolink:species_context_qualifier obo:NCBITaxon_9606 .
"""


def test_no_finding_measures_a_gene_or_names_a_human_gene_in_a_rat_model() -> None:
    rows = list(HAND_EDITED.query(GENE_AS_MEASURED))
    assert rows == [], [(str(f), str(g)) for f, g in rows]  # type: ignore[misc]


def test_the_gene_check_fires_on_a_measured_gene_and_a_rat_finding() -> None:
    bad = Graph().parse(data=BAD_FINDINGS, format="turtle")
    found = {str(row[0]) for row in bad.query(GENE_AS_MEASURED)}  # type: ignore[index]
    assert found == {"urn:x:measured", "urn:x:rat"}


GENE_PRODUCT_OF = URIRef("http://purl.obolibrary.org/obo/RO_0002204")
FINDING_ROLES = (URIRef("http://purl.org/oban/association_has_subject"),
                 URIRef("http://purl.org/oban/association_has_object"))


@pytest.mark.parametrize("entity", [e for e in WITH_ID if e["relation"] == "gene product of"],
                         ids=_id)
def test_a_named_protein_is_carried_as_the_product_of_its_gene(entity: dict[str, str]) -> None:
    """A finding names the protein class, never the gene; the protein class is the gene's
    product. (A protein HODO does not carry at all is counted by the coverage test.)"""
    gene = imp.iri_of(entity["expected_id"])
    assert not any((None, role, gene) in HAND_EDITED for role in FINDING_ROLES)
    products = {s for s in HAND_EDITED.subjects(OWL.someValuesFrom, gene)
                if HAND_EDITED.value(s, OWL.onProperty) == GENE_PRODUCT_OF}
    axioms = set(HAND_EDITED.subjects(OWL.someValuesFrom, gene))
    assert products == axioms


# --- every term HODO still mints: mapped, or searched for in vain -------------------------------

SSSOM = read_mapping_set(paths.ONTOLOGY_DIR / "mappings" / MAPPINGS_FILE)
SEARCHES = mappings.read_searches(paths.ONTOLOGY_DIR / "mappings" / mappings.SEARCHES_FILE)
MINTED = mappings.minted_terms(HAND_EDITED)


@pytest.fixture(scope="module")
def search_sources() -> dict[str, imp.Source]:
    """The ontologies the search reads from the wheels (MAxO's full release is not offline)."""
    wheels = imp.fetch_wheels(paths.cache_dir() / "wheels")
    return imp.load_sources(wheels, [p for p in mappings.SEARCHED_PREFIXES if p != "MAXO"])


@pytest.mark.parametrize("curie", sorted(MINTED))
def test_a_minted_term_is_mapped_or_its_search_is_recorded(curie: str) -> None:
    mapped = any(r["subject_id"] == curie for r in SSSOM.rows)
    searched = [r for r in SEARCHES if r["subject_id"] == curie]
    assert mapped or searched, f"{curie} has neither a mapping nor a recorded search"
    for row in searched:
        assert row["names_tried"].split(" | ")[0] == MINTED[curie][0]
        assert all(p in row["ontologies_searched"] for p in mappings.SEARCHED_PREFIXES)


def test_the_recorded_searches_are_what_a_fresh_search_finds(
        search_sources: dict[str, imp.Source]) -> None:
    fresh = mappings.search_minted_terms(HAND_EDITED, search_sources)

    def without_maxo(matches: str) -> list[str]:
        return [m for m in matches.split(" | ") if m != "none" and not m.startswith("MAXO:")]

    assert [(r["subject_id"], r["names_tried"]) for r in fresh] == \
        [(r["subject_id"], r["names_tried"]) for r in SEARCHES]
    for recorded, now in zip(SEARCHES, fresh, strict=True):
        assert without_maxo(recorded["exact_matches"]) == without_maxo(now["exact_matches"]), \
            recorded["subject_id"]


def test_a_search_that_found_a_term_has_a_mapping_that_says_why_hodo_mints() -> None:
    pairs = {(r["subject_id"], r["object_id"]) for r in SSSOM.rows if r["comment"]}
    for row in SEARCHES:
        for match in row["exact_matches"].split(" | "):
            if match != "none":
                assert (row["subject_id"], match.split(" ")[0]) in pairs, (row["subject_id"], match)


def test_the_mapping_set_description_says_what_it_holds() -> None:
    description = str(SSSOM.metadata["mapping_set_description"]).lower()
    unmapped = [c for c in MINTED if not any(r["subject_id"] == c for r in SSSOM.rows)]
    assert ("each term hodo mints is mapped" in description) == (unmapped == [])
    assert mappings.SEARCHES_FILE in description


def test_the_search_matches_names_not_abbreviations() -> None:
    source = imp.Source("X", "1", "test", {
        "X:1": imp.TermRecord("X:1", "Osteoporosis", synonyms=(imp.Synonym("OP"),)),
        "X:2": imp.TermRecord("X:2", "old osteoporosis", deprecated=True)})
    index = mappings.name_index({"X": source})
    assert index == {"osteoporosis": {"X:1"}}
