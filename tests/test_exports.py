"""The release's exchange formats, each read back by its own community's package: KGX (Biolink
knowledge graphs) by kgx's validator and transformer, the nanopublications by nanopub, the Chinese
layer by babelon. The files are the ones the build writes into the release."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from rdflib import ConjunctiveGraph, Dataset, Graph, URIRef
from rdflib.namespace import RDF, RDFS

from hodo.cli import main
from hodo.core.namespaces import BIOLINK, HODO, OBAN, PREFIXES, shorten
from hodo.core.release import EXPORT_FILES, ReleaseError, read_checksums
from hodo.engine.store import Release
from hodo.pipeline.babelon import TERM_TYPES
from hodo.pipeline.exports import read_release
from hodo.pipeline.kgx import (
    CATEGORY_BY_PREFIX,
    CATEGORY_BY_ROOT,
    EDGES_TSV,
    NAMED_THING,
    NODES_TSV,
    PREDICATES_FILE,
    read_predicates,
)
from hodo.pipeline.nanopubs import NANOPUBS_FILE, NP
from hodo.web import create_app
from tests.support.biolink_offline import offline_kgx
from tests.support.biolink_schema import camel, predicate_table, schema, snake

#: What the checking packages' own code warns about, and nothing of HODO's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Dataset.default_context is deprecated:DeprecationWarning",  # rdflib's TriG parser
    "ignore:unclosed file:ResourceWarning",  # kgx reads its config.yml
    "ignore:The LinkML dataclass extension patch is deprecated:DeprecationWarning",  # babelon
    "ignore:The 'mode.copy_on_write' option is deprecated",  # sssom, imported by babelon
)

FINDINGS = "SELECT (COUNT(?f) AS ?n) WHERE { ?f a <https://w3id.org/hodo/HODO_0000110> }"


@pytest.fixture(scope="module")
def union(release_dir: Path) -> Graph:
    return read_release(release_dir)[1]


@pytest.fixture(scope="module")
def finding_count(union: Graph) -> int:
    return int(next(iter(union.query(FINDINGS)))[0])  # type: ignore[index]


def tsv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


# --- the release carries them -------------------------------------------------------------------

@pytest.mark.parametrize("name", EXPORT_FILES)
def test_release_lists_export(release_dir: Path, name: str) -> None:
    assert name in read_checksums(release_dir)


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    return module_app


MEDIA = {"tsv": "text/tab-separated-values", "jsonl": "application/x-ndjson",
         "trig": "application/trig"}


@pytest.mark.parametrize("name", EXPORT_FILES)
def test_server_sends_export(client: FlaskClient, release: Release, release_dir: Path,
                             name: str) -> None:
    body = (release_dir / name).read_bytes()
    for path in (f"/{name}", f"/releases/{release.version}/{name}", f"/downloads/{name}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.data == body, path
        assert response.mimetype == MEDIA[name.rsplit(".", 1)[-1]], path


def test_downloads_page_lists_exports(client: FlaskClient) -> None:
    for lang in ("en", "zh"):
        page = client.get(f"/downloads?lang={lang}").get_data(as_text=True)
        for name in EXPORT_FILES:
            assert f'data-name="{name}"' in page
    listed = {f["name"]: f for f in client.get("/downloads.json").get_json()["files"]}
    assert set(EXPORT_FILES) <= set(listed)


@pytest.mark.parametrize("name", EXPORT_FILES)
def test_downloads_describe_export(client: FlaskClient, name: str) -> None:
    """Each export is described in both languages, on the page in the page's language."""
    described = next(f for f in client.get("/downloads.json").get_json()["files"]
                     if f["name"] == name)["description"]
    assert set(described) == {"en", "zh"}
    for lang in ("en", "zh"):
        page = client.get(f"/downloads?lang={lang}").get_data(as_text=True)
        assert f'<span lang="{lang}">{described[lang]}</span>' in page


def test_cli_export_writes_same_bytes(release_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "babelon", "--dist", str(release_dir),
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    name = "hodo-zh.babelon.tsv"
    assert (tmp_path / name).read_bytes() == (release_dir / name).read_bytes()


def test_cli_export_to_an_unwritable_folder(release_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["export", "nanopub", "--dist", str(release_dir),
                                       "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot write") and "Traceback" not in result.output


def test_cli_export_without_release(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "kgx", "--dist", str(tmp_path)])
    assert result.exit_code == 2
    assert "no release" in result.output


# --- KGX ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def validator_class() -> Any:
    return offline_kgx()


def kgx_errors(validator_class: Any, nodes: Path, edges: Path,
               prefixes: tuple[str, ...] = ()) -> dict[str, Any]:
    from kgx.transformer import Transformer

    validator = validator_class()
    validator.prefixes.update(prefixes)  # a source's own prefixes, as its context.jsonld names
    Transformer(stream=True).transform(
        {"filename": [str(nodes), str(edges)], "format": "tsv"},
        output_args={"format": "null"}, inspector=validator)
    errors: dict[str, Any] = validator.get_errors()
    return errors


def messages(errors: dict[str, Any]) -> list[str]:
    return [m for kinds in errors.values() for found in kinds.values() for m in found]


def test_kgx_validator_finds_only_hodo_prefix(validator_class: Any, release_dir: Path) -> None:
    """Every error the validator reports is that HODO's own prefix is not in Biolink's context
    (HODO is not a Biolink source); categories, predicates, qualifiers and required properties
    pass."""
    found = messages(kgx_errors(validator_class, release_dir / NODES_TSV,
                                release_dir / EDGES_TSV))
    assert found, "the validator should name HODO's prefix"
    assert all("CURIE prefix 'hodo'" in m for m in found), [m for m in found
                                                           if "'hodo'" not in m][:5]


def test_kgx_validator_passes_the_release_with_hodos_prefix_registered(
        validator_class: Any, release_dir: Path) -> None:
    """With HODO's prefix known (it is in the release's context.jsonld), kgx's validator
    finds nothing at all to report."""
    assert "hodo" in json.loads((release_dir / "context.jsonld").read_text())["@context"]
    assert messages(kgx_errors(validator_class, release_dir / NODES_TSV,
                               release_dir / EDGES_TSV, prefixes=("hodo",))) == []


def test_kgx_validator_would_catch_a_bad_edge(validator_class: Any, release_dir: Path,
                                              tmp_path: Path) -> None:
    """The check above can fail: a predicate outside Biolink is reported."""
    lines = (release_dir / EDGES_TSV).read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("\tbiolink:", "\tbiolink:not_a_predicate_x", 1)
    bad = tmp_path / "bad_edges.tsv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = messages(kgx_errors(validator_class, release_dir / NODES_TSV, bad))
    assert any("not_a_predicate_x" in m for m in found)


def test_kgx_tsv_reads_back(validator_class: Any, release_dir: Path) -> None:
    """kgx's transformer reads the TSV into its graph: every node, and one edge per distinct
    (subject, predicate, object), KGX's key, with the qualifiers and publications typed."""
    from kgx.transformer import Transformer

    transformer = Transformer()
    transformer.transform({"filename": [str(release_dir / NODES_TSV),
                                        str(release_dir / EDGES_TSV)], "format": "tsv"})
    store = transformer.store.graph
    rows = tsv_rows(release_dir / EDGES_TSV)
    assert store.number_of_edges() == len({(r["subject"], r["predicate"], r["object"])
                                           for r in rows})
    assert store.number_of_nodes() == len(tsv_rows(release_dir / NODES_TSV))
    (edge,) = store.get_edge("HGNC:12679", "MONDO:0005298").values()
    assert edge["predicate"] == "biolink:contributes_to"
    assert edge["species_context_qualifier"] == "NCBITaxon:9606"
    assert edge["publications"] == ["hodo:article-reference-6"]
    assert store.get_node("HGNC:12679")["category"] == ["biolink:Gene"]


def test_kgx_tsv_round_trip(validator_class: Any, release_dir: Path, tmp_path: Path,
                            finding_count: int) -> None:
    """Streamed through kgx from TSV to KGX JSON Lines, every finding's edge comes out."""
    from kgx.transformer import Transformer

    Transformer(stream=True).transform(
        {"filename": [str(release_dir / NODES_TSV), str(release_dir / EDGES_TSV)],
         "format": "tsv"},
        output_args={"filename": str(tmp_path / "copy"), "format": "jsonl"})
    lines = (tmp_path / "copy_edges.jsonl").read_text(encoding="utf-8").splitlines()
    ids = {json.loads(line)["id"] for line in lines}
    assert len(ids) == finding_count
    assert ids == {r["id"] for r in tsv_rows(release_dir / EDGES_TSV)}


def test_kgx_jsonl_matches_tsv(release_dir: Path) -> None:
    for kind in ("nodes", "edges"):
        lines = (release_dir / f"hodo_{kind}.jsonl").read_text(encoding="utf-8").splitlines()
        rows = tsv_rows(release_dir / f"hodo_{kind}.tsv")
        assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in rows]


def test_kgx_uncited_finding_cites_article(release_dir: Path, union: Graph) -> None:
    edges = {r["id"]: r for r in tsv_rows(release_dir / EDGES_TSV)}
    negated = {r["id"] for r in edges.values() if r["negated"] == "True"}
    assert negated, "the article reports negative results"
    uncited = [e for e in edges.values() if e["publications"] == "hodo:article"]
    assert uncited and all(e["supporting_text"] for e in uncited)


@pytest.mark.parametrize(("node", "expected"), [
    ("MONDO:0005298", "biolink:Disease"),  # osteoporosis
    ("HGNC:12679", "biolink:Gene"),  # VDR
    ("hodo:HODO_0000120", "biolink:BiologicalProcess"),  # under HODO's mechanism branch
    ("hodo:HODO_0000012", "biolink:Disease"),  # a HODO term under a MONDO branch
    ("CHEBI:16236", "biolink:ChemicalEntity"),  # ethanol
    ("UBERON:0002107", "biolink:AnatomicalEntity"),  # liver
])
def test_node_category_by_branch(release_dir: Path, node: str, expected: str) -> None:
    nodes = {r["id"]: r for r in tsv_rows(release_dir / NODES_TSV)}
    assert nodes[node]["category"] == expected


def test_biolink_categories_exist() -> None:
    classes = {camel(name) for name in schema()["classes"]}
    for used in {*CATEGORY_BY_ROOT.values(), *CATEGORY_BY_PREFIX.values(), NAMED_THING}:
        assert used in classes, used


def test_predicate_table_is_biolinks(union: Graph) -> None:
    """ontology/source/biolink-predicates.tsv is what the Biolink Model package maps, for the
    relations the findings use; every predicate named is a Biolink slot."""
    relations = sorted({shorten(str(o)) for o in union.objects(None,
                                                               OBAN.association_has_object_property)})
    assert PREDICATES_FILE.read_text(encoding="utf-8") == predicate_table(relations)
    slots = {snake(name) for name in schema()["slots"]}
    assert set(read_predicates().values()) <= slots


# --- nanopublications ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nanopub_dataset(release_dir: Path) -> Dataset:
    dataset = Dataset()
    dataset.parse(release_dir / NANOPUBS_FILE, format="trig")
    return dataset


def nanopub_iris(dataset: Dataset) -> list[URIRef]:
    return sorted({s for s, _, _, _ in dataset.quads((None, RDF.type, NP.Nanopublication, None))
                   if isinstance(s, URIRef)})


def test_one_nanopub_per_finding(nanopub_dataset: Dataset, finding_count: int) -> None:
    assert len(nanopub_iris(nanopub_dataset)) == finding_count


def test_each_nanopub_is_valid_for_nanopub(nanopub_dataset: Dataset) -> None:
    """Split the file into its nanopublications; nanopub's own class reads each and finds it
    valid (four graphs, provenance about the assertion, publication info about the
    nanopublication)."""
    from nanopub import Nanopub

    heads = nanopub_iris(nanopub_dataset)
    assert heads
    for iri in heads:
        one = ConjunctiveGraph()
        for part in ("Head", "assertion", "provenance", "pubinfo"):
            name = URIRef(f"{iri}#{part}")
            for s, p, o in nanopub_dataset.graph(name):
                one.add((s, p, o, one.get_context(name)))
        publication = Nanopub(rdf=one)
        assert publication.is_valid
        assert str(publication.assertion.identifier) == f"{iri}#assertion"
        assert len(publication.assertion) > 0


def test_nanopub_keeps_negation_and_sources(nanopub_dataset: Dataset) -> None:
    iri = "https://w3id.org/hodo/np/finding-0211"
    assertion = nanopub_dataset.graph(URIRef(iri + "#assertion"))
    provenance = nanopub_dataset.graph(URIRef(iri + "#provenance"))
    finding = HODO["finding-0211"]
    assert (finding, BIOLINK.negated, None) in assertion
    assert (URIRef(iri + "#assertion"), None, HODO["article-reference-6"]) in provenance


def test_the_server_reads_the_nanopublications_at_start_up(release: Release,
                                                          tmp_path: Path) -> None:
    """A nanopublication file the server cannot read stops it when it starts, naming the file,
    rather than failing the first visitor who asks for one."""
    (tmp_path / NANOPUBS_FILE).write_text("<finding> <says> .\n", encoding="utf-8")
    elsewhere = dataclasses.replace(release, path=tmp_path / "hodo.nq")
    with pytest.raises(ReleaseError, match=rf"{NANOPUBS_FILE}: cannot read the nanopublications"):
        create_app({"TESTING": True}, release=elsewhere)
    (tmp_path / NANOPUBS_FILE).unlink()  # a release without the file offers none
    with create_app({"TESTING": True}, release=elsewhere).test_client() as client:
        assert client.get("/np/finding-0101").status_code == 404


def test_a_nanopublication_answers_from_the_start_up_read(client: FlaskClient) -> None:
    response = client.get("/np/finding-0211.nq")
    assert response.status_code == 200 and response.mimetype == "application/n-quads"
    assert b"<https://w3id.org/hodo/np/finding-0211#assertion>" in response.data


# --- Babelon ------------------------------------------------------------------------------------

BABELON = "hodo-zh.babelon.tsv"


def read_babelon(path: Path) -> Any:
    """babelon's own data frame over the table, with HODO's prefix map as its CURIE converter
    (``babelon.utils.parse_babelon`` is the same read with SSSOM's default converter, which
    takes some fifty seconds to build)."""
    import pandas
    from babelon.utils import BabelonDataFrame
    from curies import Converter

    return BabelonDataFrame(df=pandas.read_csv(path, sep="\t"),
                            converter=Converter.from_prefix_map(dict(PREFIXES)))


def test_babelon_reads_with_babelon(release_dir: Path) -> None:
    """babelon's LinkML loader reads the table into its model (required columns, enums); every
    row is en -> zh, and official."""
    from babelon.babelon_io import to_babelon_linkml_document

    frame = read_babelon(release_dir / BABELON)
    profile = to_babelon_linkml_document(frame)
    assert len(profile.translations) == len(frame.df) > 0
    assert {t.source_language for t in profile.translations} == {"en"}
    assert {t.translation_language for t in profile.translations} == {"zh"}
    assert {str(t.translation_status) for t in profile.translations} == {"OFFICIAL"}


def test_babelon_covers_every_chinese_label(release_dir: Path, union: Graph) -> None:
    """Every term with an English and a Chinese label has its label row."""

    rows = {(r["subject_id"], r["predicate_id"]): r for r in tsv_rows(release_dir / BABELON)}
    for kind in TERM_TYPES:
        for term in union.subjects(RDF.type, kind):
            langs = {getattr(v, "language", None) for v in union.objects(term, RDFS.label)}
            if isinstance(term, URIRef) and {"en", "zh"} <= langs:
                assert (shorten(str(term)), "rdfs:label") in rows, term


def test_babelon_rejects_a_bad_row(release_dir: Path, tmp_path: Path) -> None:
    """The reader above can fail: a status outside Babelon's enumeration is refused."""
    from babelon.babelon_io import to_babelon_linkml_document

    text = (release_dir / BABELON).read_text(encoding="utf-8").replace("OFFICIAL", "MAYBE", 1)
    bad = tmp_path / "bad.babelon.tsv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        to_babelon_linkml_document(read_babelon(bad))
