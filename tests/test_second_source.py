"""The next publication: a second source (``tests/data/second-source/``, a fixture written for
the tests, not a real paper) goes through the same pipeline as the article with no change to
the code: its tables through ``hodo template``, then validation, the build and the server. Its
findings cite their own document and bibliography, its conflict with one of the article's
findings is linked both ways, and the article's pages and figures stay as they were."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from hodo import cli
from hodo.core import paths
from hodo.core.i18n import translate
from hodo.core.namespaces import HODO
from hodo.engine.store import Release, load_release
from hodo.pipeline.build import BuildReport, build
from hodo.pipeline.validate import format_text, release_sources, validate
from hodo.site import stats
from hodo.web import create_app
from tests.support.server import serving

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "tests" / "data" / "second-source"
TERMS = ROOT / "templates" / "example-terms.tsv"
FINDINGS = ROOT / "templates" / "example-findings.tsv"
CONFLICT = "https://w3id.org/hodo/HODO_0000208"
#: The article's finding the second source contradicts, and the section it is in.
CONTRADICTED, CONTRADICTED_SECTION = HODO["finding-0330"], "3.2"


def _template(*args: str) -> None:
    result = CliRunner().invoke(cli.main, ["template", *args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def ontology(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ontology/ with the second source added as a curator adds one: its document
    as Turtle, its term and findings written by ``hodo template`` from the tables."""
    copy = tmp_path_factory.mktemp("second-source") / "ontology"
    shutil.copytree(paths.ONTOLOGY_DIR, copy)
    document = copy / "findings" / "second-source-document.ttl"
    shutil.copyfile(SOURCE_DIR / "source.ttl", document)
    terms = copy / "terms" / "second-source.ttl"
    _template(str(TERMS), "--with", str(document), "-o", str(terms))
    _template(str(FINDINGS), "--with", str(document), "--with", str(terms),
              "-o", str(copy / "findings" / "second-source.ttl"))
    return copy


@pytest.fixture(scope="module")
def extended(ontology: Path, tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The release built from the copy, by the same build as the article's."""
    return build(tmp_path_factory.mktemp("dist-second"), ontology_dir=ontology)


@pytest.fixture(scope="module")
def extended_release(extended: BuildReport) -> Release:
    return load_release(extended.out_dir)


def test_validates_with_every_check(ontology: Path) -> None:
    """SHACL, the QC rules and HermiT over the copy, as `hodo validate` runs them."""
    data = release_sources(ontology)
    report = validate(data)
    assert report.conforms, format_text(report, data)


def _select(release: Release, query: str) -> list[dict[str, str]]:
    rows = release.store.query("PREFIX hodo: <https://w3id.org/hodo/>\n"
                               "PREFIX dcterms: <http://purl.org/dc/terms/>\n" + query,
                               use_default_graph_as_union=True)
    return [{v.value: row[v].value for v in rows.variables} for row in rows]  # type: ignore[union-attr]


def _ask(release: Release, query: str) -> bool:
    return bool(release.store.query(query, use_default_graph_as_union=True))


def test_findings_cite_their_own_source(extended_release: Release) -> None:
    rows = _select(extended_release, """
        SELECT ?finding ?source WHERE {
          ?finding hodo:HODO_0000202 hodo:second-source-abstract ; dcterms:source ?source }""")
    assert {r["finding"] for r in rows} == {str(HODO["finding-2001"]), str(HODO["finding-2002"])}
    for row in rows:
        assert row["source"].startswith(str(HODO["second-source-reference-"]))
        cited = _ask(extended_release, f"ASK {{ <{HODO['second-source']}> <http://purl.org/spar/cito/"
                                       f"cites> <{row['source']}> }}")
        assert cited, row


def test_conflict_linked_both_ways(extended_release: Release) -> None:
    new = HODO["finding-2001"]
    for a, b in ((new, CONTRADICTED), (CONTRADICTED, new)):
        assert _ask(extended_release, f"ASK {{ <{a}> <{CONFLICT}> <{b}> }}")


def _by_section(rows: list[stats.SectionRow]) -> dict[str, stats.SectionRow]:
    return {row.section: row for row in rows}


def test_article_figures_unchanged(release: Release, extended_release: Release) -> None:
    """Every figure of the article's sections is as before, but one: the contradicted
    finding's section counts one more conflicting finding, the link the new source adds."""
    before = _by_section(stats.sections(release.store))
    after = _by_section(stats.sections(extended_release.store))
    added = set(after) - set(before)
    assert len(added) == 1 and after[added.pop()].findings == 2  # the second source's section
    for section, row in before.items():
        expected = row
        if section == CONTRADICTED_SECTION:
            expected = stats.SectionRow(**{**row.__dict__, "conflicting": row.conflicting + 1})
        assert after[section] == expected, section
    ledger_before = {r.section: r for r in stats.ledger(release.store)}
    ledger_after = {r.section: r for r in stats.ledger(extended_release.store)}
    assert all(ledger_after[s] == r for s, r in ledger_before.items())


@pytest.mark.parametrize("page", ["/article", "/article-section-2.2", "/finding-0322"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_article_pages_unchanged(release: Release, extended_release: Release, page: str,
                                 lang: str) -> None:
    pages = []
    for served in (release, extended_release):
        with create_app({"TESTING": True}, release=served).test_client() as client:
            answer = client.get(f"{page}?lang={lang}", headers={"Accept": "text/html"})
            assert answer.status_code == 200
            pages.append(answer.get_data(as_text=True))
    assert pages[0] == pages[1]


@pytest.mark.parametrize(("finding", "publication", "words"), [
    ("finding-2001", "second-source", {"en": "Fixture note: bone density in primary biliary "
                                             "cirrhosis (a test fixture)",
                                       "zh": "测试样例：原发性胆汁性肝硬化的骨密度"}),
    ("finding-0322", "article", None)])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_finding_page_names_its_own_publication(extended_release: Release, finding: str,
                                                  publication: str, words: dict[str, str] | None,
                                                  lang: str) -> None:
    """With two sources a finding's page says which one it is from, linked, in the page's
    language; and the words around it take no one source for granted."""
    with create_app({"TESTING": True}, release=extended_release).test_client() as client:
        page = client.get(f"/{finding}?lang={lang}", headers={"Accept": "text/html"})
    text = page.get_data(as_text=True)
    heading = {"en": "<th>Publication</th>", "zh": "<th>来源文献</th>"}[lang]
    row = text[text.index(heading):].split("</tr>", 1)[0]
    assert f'href="/{publication}?lang={lang}"' in row, row
    if words:
        assert words[lang] in row
    assert translate("page_derived_from", lang) in text
    # the words HODO's pages put around a finding name no one source
    for key in ("page_negated", "page_reference_number", "page_article", "page_uncited",
                "page_derived_from", "page_article_sentence"):
        assert "the article" not in translate(key, "en").lower(), key

def test_the_diff_shows_the_new_source_and_one_change_to_the_article(
        release_dir: Path, extended: BuildReport) -> None:
    """`hodo diff` before release: the new term and findings are added, and of the article's
    resources only the contradicted finding changes, by its conflict link."""
    result = CliRunner().invoke(cli.main, ["diff", str(release_dir), str(extended.out_dir),
                                           "--format", "json"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.output)["changes"]
    added_terms = {c["iri"] for c in changes if c["kind"] == "term_added"}
    assert str(HODO["HODO_0009001"]) in added_terms
    assert {c["iri"] for c in changes if c["kind"] == "finding_added"} == {
        str(HODO["finding-2001"]), str(HODO["finding-2002"])}
    article = [c for c in changes if c["kind"] not in ("term_added", "finding_added")]
    assert [(c["kind"], c["iri"]) for c in article] == [("finding_changed", str(CONTRADICTED))]
    assert article[0]["detail"] and article[0]["new"] == ["hodo:finding-2001"]
    assert not any(c["kind"] in ("term_removed", "finding_removed", "term_obsoleted")
                   for c in changes)


@pytest.mark.server
def test_second_source_served(release_dir: Path, extended: BuildReport) -> None:
    with serving(extended.out_dir) as server:
        page = server.request("GET", "/finding-2001?lang=en", headers={"Accept": "text/html"})
        assert page.status == 200
        assert "Reference [1] of the fixture note" in page.text
        assert "finding-0330" in page.text
        query = ("SELECT ?other WHERE { <https://w3id.org/hodo/finding-0330> "
                 f"<{CONFLICT}> ?other }}")
        answer = server.request(
            "GET", "/sparql?query=" + urllib.parse.quote(query),
            headers={"Accept": "application/sparql-results+json"})
        assert answer.status == 200
        others = {b["other"]["value"] for b in json.loads(answer.text)["results"]["bindings"]}
        assert str(HODO["finding-2001"]) in others
        turtle = server.request("GET", "/finding-2002", headers={"Accept": "text/turtle"})
        graph = Graph().parse(data=turtle.text, format="turtle", publicID=str(HODO))
        assert (HODO["finding-2002"], None, HODO["second-source-reference-2"]) in graph
