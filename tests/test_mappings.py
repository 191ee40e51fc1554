"""The SSSOM mapping set: valid SSSOM, every subject and object real and current, served.

Validation runs twice: with ``sssom-pydantic`` (the Bioregistry's SSSOM model, installed with the
dev tools) and with ``sssom-py``'s own ``sssom validate``, installed on first use into an isolated
environment under ``.cache/`` (its dependencies include a pytest plugin and pandas 3, which must
not enter the test run's own environment). A failed install fails the test; it never skips.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDFS

from hodo.core import paths
from hodo.core.namespaces import PREFIXES
from hodo.engine.store import Release
from hodo.pipeline import imports as imp
from hodo.pipeline.mappings import (
    MAPPINGS_FILE,
    MappingError,
    mapping_graph,
    read_mapping_set,
    target_labels,
)
from hodo.pipeline.sources import hand_edited_graph, module_files, parse_file

SSSOM_FILE = paths.ONTOLOGY_DIR / "mappings" / MAPPINGS_FILE
MAPPINGS = read_mapping_set(SSSOM_FILE)
ROW_IDS = [f"{r['subject_id']}-{r['object_id']}" for r in MAPPINGS.rows]
SSSOM_PY = "sssom==0.4.21"
#: Justifications from SEMAPV that a hand-curated set may use.
SEMAPV_JUSTIFICATIONS = {"semapv:ManualMappingCuration", "semapv:LexicalMatching",
                         "semapv:LogicalReasoning", "semapv:MappingReview",
                         "semapv:MappingChaining", "semapv:UnspecifiedMatching"}


@pytest.fixture(scope="module")
def sources() -> dict[str, imp.Source]:
    wheels = imp.fetch_wheels(paths.cache_dir() / "wheels")
    return imp.load_sources(wheels, {r["object_id"].split(":")[0] for r in MAPPINGS.rows})


@pytest.fixture(scope="module")
def hodo_graph() -> Graph:
    return hand_edited_graph()


def test_sssom_pydantic_reads_every_row_without_error() -> None:
    import sssom_pydantic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        mappings, _, mapping_set, errors = sssom_pydantic.read(SSSOM_FILE, return_errors=True)
    assert not errors, errors[:3]
    assert len(mappings) == len(MAPPINGS.rows) > 0
    assert str(mapping_set.license) == "https://creativecommons.org/licenses/by/4.0/"


def _sssom_py() -> Path:
    """``python`` of an isolated environment with sssom-py, created once under ``.cache/``."""
    venv = paths.cache_dir() / "sssom-venv"
    python = venv / "bin" / "python"
    marker = venv / SSSOM_PY
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", SSSOM_PY], check=True)
        marker.touch()
    return python


def _sssom_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(_sssom_py()), "-W", "ignore", "-m", "sssom.cli", "validate",
                           str(path)], capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.slow
def test_sssom_py_validates_the_mapping_set() -> None:
    result = _sssom_validate(SSSOM_FILE)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_sssom_py_rejects_a_bad_justification(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sssom.tsv"
    bad.write_text(SSSOM_FILE.read_text(encoding="utf-8").replace(
        "semapv:ManualMappingCuration", "semapv:GuessedIt"), encoding="utf-8")
    assert _sssom_validate(bad).returncode != 0


def test_curie_map_agrees_with_the_prefix_table() -> None:
    for prefix, namespace in MAPPINGS.curie_map.items():
        if prefix == "HODO":
            assert namespace == PREFIXES["hodo"] + "HODO_"
        elif prefix != "bioregistry":
            assert PREFIXES[prefix] == namespace, prefix


@pytest.mark.parametrize("row", MAPPINGS.rows, ids=ROW_IDS)
def test_mapping_subject_is_a_current_hodo_term(row: dict[str, str], hodo_graph: Graph) -> None:
    subject = MAPPINGS.expand(row["subject_id"])
    labels = {str(label) for label in hodo_graph.objects(subject, RDFS.label)
              if isinstance(label, Literal) and label.language == "en"}
    assert labels == {row["subject_label"]}, f"{row['subject_id']} has labels {labels}"
    assert (subject, OWL.deprecated, Literal(True)) not in hodo_graph


@pytest.mark.parametrize("row", MAPPINGS.rows, ids=ROW_IDS)
def test_mapping_object_exists_in_its_source(row: dict[str, str],
                                             sources: dict[str, imp.Source]) -> None:
    prefix = row["object_id"].split(":")[0]
    source = sources[prefix]
    term = source.terms.get(row["object_id"])
    assert term is not None, f"{row['object_id']} is not in {prefix} {source.version}"
    assert not term.deprecated, f"{row['object_id']} is deprecated; use {term.replaced_by}"
    assert term.label == row["object_label"]
    assert row["object_source"] == f"bioregistry:{prefix.lower()}"
    assert row["object_source_version"] == source.version
    assert row["mapping_justification"] in SEMAPV_JUSTIFICATIONS


def test_every_object_prefix_has_an_offline_source() -> None:
    offline = set(imp.PACKAGED_PREFIXES)
    assert {r["object_id"].split(":")[0] for r in MAPPINGS.rows} <= offline


def test_hodo_terms_of_the_brief_are_mapped() -> None:
    mapped = {(r["subject_label"], r["object_id"].split(":")[0]) for r in MAPPINGS.rows}
    assert ("bone mineral density", "HP") in mapped
    assert ("chronic liver disease", "MONDO") in mapped
    assert ("chronic liver disease", "DOID") in mapped
    kinds = {r["predicate_id"] for r in MAPPINGS.rows}
    assert {"skos:exactMatch", "skos:closeMatch", "skos:broadMatch", "skos:narrowMatch"} <= kinds


def test_unknown_predicate_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sssom.tsv"
    bad.write_text(SSSOM_FILE.read_text(encoding="utf-8").replace(
        "skos:exactMatch", "owl:sameAs", 1), encoding="utf-8")
    with pytest.raises(MappingError, match="owl:sameAs"):
        read_mapping_set(bad)


def test_mapping_graph_has_one_skos_triple_per_row() -> None:
    graph = mapping_graph(MAPPINGS)
    for row in MAPPINGS.rows:
        triple = (MAPPINGS.expand(row["subject_id"]), MAPPINGS.expand(row["predicate_id"]),
                  MAPPINGS.expand(row["object_id"]))
        assert triple in graph


def test_release_serves_the_mapping_set(release_dir: Path, release: Release) -> None:
    assert (release_dir / MAPPINGS_FILE).read_bytes() == SSSOM_FILE.read_bytes()
    assert MAPPINGS_FILE in (release_dir / "SHA256SUMS").read_text()
    count = next(iter(release.store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/hodo/graph/mappings> "
        "{ ?s ?p ?o FILTER(STRSTARTS(STR(?p), 'http://www.w3.org/2004/02/skos/core#')) } }")))
    assert int(count["n"].value) == len({(r["subject_id"], r["predicate_id"], r["object_id"])
                                         for r in MAPPINGS.rows})


def test_every_mapping_target_has_a_label_in_the_release(release: Release) -> None:
    """A target HODO imports keeps its import's label; any other gets the set's object_label
    (checked against its source above), so no target is a bare IRI."""
    labels: dict[str, set[str]] = {}
    for row in release.store.query(
            "SELECT ?t ?l WHERE { ?s ?p ?t FILTER(STRSTARTS(STR(?p), "
            "'http://www.w3.org/2004/02/skos/core#') && ?p != <http://www.w3.org/2004/02/"
            "skos/core#prefLabel>) OPTIONAL { ?t <http://www.w3.org/2000/01/rdf-schema#label> "
            "?l FILTER(lang(?l) = 'en') } }", use_default_graph_as_union=True):
        labels.setdefault(row["t"].value, set()).update(  # type: ignore[index,union-attr]
            [row["l"].value] if row["l"] else [])  # type: ignore[index,union-attr]
    targets = {str(MAPPINGS.expand(r["object_id"])): r["object_label"] for r in MAPPINGS.rows}
    assert set(targets) <= set(labels)
    assert all(len(labels[t]) == 1 for t in targets), "a target with no label, or two"
    imported = {t for t in targets if labels[t] != {targets[t]}}
    assert all(t.startswith("http://purl.obolibrary.org/obo/") for t in imported)


def test_target_labels_leave_labelled_targets_alone() -> None:
    first = MAPPINGS.rows[0]
    target = MAPPINGS.expand(first["object_id"])
    labelled = Graph()
    labelled.add((target, RDFS.label, Literal("imported", lang="en")))
    assert (target, None, None) not in target_labels(MAPPINGS, labelled)
    assert (target, RDFS.label, Literal(first["object_label"], lang="en")) in target_labels(
        MAPPINGS, Graph())


LIVER_DISORDER = "http://purl.obolibrary.org/obo/MONDO_0005154"
FINDINGS_ABOUT_LIVER_DISORDERS = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oban: <http://purl.org/oban/>
SELECT DISTINCT ?finding WHERE {
  ?disease rdfs:subClassOf* <http://purl.obolibrary.org/obo/MONDO_0005154> .
  { ?finding oban:association_has_subject ?disease }
  UNION { ?finding oban:association_has_object ?disease }
}
"""


def _expected_findings_about_liver_disorders() -> set[str]:
    """Computed without SPARQL: the subclass closure walked by hand over the sources."""
    graph = hand_edited_graph()
    for path in module_files("imports"):
        parse_file(path, graph)
    below = {URIRef(LIVER_DISORDER)}
    while True:
        more = {s for o in below for s in graph.subjects(RDFS.subClassOf, o)} - below
        if not more:
            break
        below |= more
    oban = "http://purl.org/oban/association_has_"
    return {str(f) for kind in ("subject", "object") for disease in below
            for f in graph.subjects(URIRef(oban + kind), disease)}


def test_findings_about_any_liver_disorder_join_the_imported_hierarchy(
        release: Release) -> None:
    rows = release.store.query(FINDINGS_ABOUT_LIVER_DISORDERS, use_default_graph_as_union=True)
    found = {row["finding"].value for row in rows}  # type: ignore[index, union-attr]
    assert found == _expected_findings_about_liver_disorders()
    # at least one finding is reached only through an imported MONDO ancestor
    direct = {row["finding"].value for row in release.store.query(  # type: ignore[index, union-attr]
        FINDINGS_ABOUT_LIVER_DISORDERS.replace("rdfs:subClassOf*", "rdfs:subClassOf?"),
        use_default_graph_as_union=True)}
    assert found - direct, "no finding needs the imported hierarchy"


def test_join_query_parses_in_pyoxigraph() -> None:
    assert ox.Store().query(FINDINGS_ABOUT_LIVER_DISORDERS) is not None
