"""``hodo diff``: one fixture per kind of change (tests/data/diff/<kind>.trig applied to
base.ttl), each reporting exactly the changes its ``# expect:`` lines name; the three writers in
both languages; the command's exit codes."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from rdflib import Graph

from hodo.cli import main
from hodo.core.errors import EXIT_INPUT
from hodo.core.namespaces import expand
from hodo.pipeline import diff
from hodo.pipeline.build import BuildReport

DATA = Path(__file__).parent / "data" / "diff"
FIXTURES = sorted(DATA.glob("*.trig"))
REMOVE, ADD = "urn:hodo-diff:remove", "urn:hodo-diff:add"


def base() -> Graph:
    return Graph().parse(data=(DATA / "base.ttl").read_text(encoding="utf-8"), format="turtle")


def edited(fixture: Path) -> Graph:
    """base.ttl with the fixture's <remove> graph taken out and its <add> graph put in."""
    quads = list(ox.parse(fixture.read_bytes(), format=ox.RdfFormat.TRIG))
    graph = base()
    for triple in part(quads, REMOVE):
        assert triple in graph, f"{fixture.name} removes {triple}, which base.ttl lacks"
        graph.remove(triple)
    graph += part(quads, ADD)
    return graph


def part(quads: list[ox.Quad], name: str) -> Graph:
    """The triples of one named graph of a fixture, as an rdflib graph (rdflib's own TriG
    parser goes through API it deprecates)."""
    triples = [q.triple for q in quads if q.graph_name == ox.NamedNode(name)]
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    return Graph().parse(data=text.decode("utf-8"), format="nt")


def expected(fixture: Path) -> set[tuple[str, str, str]]:
    """The fixture's ``# expect: <kind> <curie> [<detail>]`` lines; ``nothing`` for none."""
    found = set()
    for line in fixture.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            words = line.removeprefix("# expect:").split()
            if words != ["nothing"]:
                found.add((words[0], expand(words[1]), words[2] if len(words) > 2 else ""))
    return found


def test_every_kind_has_a_fixture() -> None:
    covered = {kind for f in FIXTURES for kind, _, _ in expected(f)}
    assert covered == {kind.key for kind in diff.KINDS}


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_fixture_reports_exactly_its_change(fixture: Path) -> None:
    found = diff.diff_graphs(base(), edited(fixture))
    assert {(c.kind, c.iri, c.detail) for c in found.changes} == expected(fixture)


def test_unchanged_release_has_no_changes() -> None:
    assert diff.diff_graphs(base(), base()).changes == ()


def test_a_changed_field_keeps_the_values_removed_and_added() -> None:
    found = diff.diff_graphs(base(), edited(DATA / "finding_changed--quantity.trig"))
    (change,) = found.changes
    assert change.old == ("hodo:HODO_0000204 hodo:HODO_0000221; schema:unitCode UO:0000187; "
                          "schema:value 21",)
    assert change.new == (change.old[0].replace("value 21", "value 12"),)


def test_relabelling_names_the_language_and_both_labels() -> None:
    found = diff.diff_graphs(base(), edited(DATA / "term_relabelled.trig"))
    assert [(c.detail, c.old, c.new) for c in found.changes] == [("zh", ("机制",), ("作用机制",))]


def test_moved_term_lists_the_parents_before_and_after() -> None:
    (change,) = diff.diff_graphs(base(), edited(DATA / "term_moved.trig")).changes
    assert (change.old, change.new) == ((), ("https://w3id.org/hodo/HODO_0000100",))


def changed() -> diff.Diff:
    """Three kinds of change at once: a relabelling, a new finding, a finding's hedge."""
    graph = edited(DATA / "term_relabelled.trig")
    graph += edited(DATA / "finding_added.trig") - base()
    graph -= base() - edited(DATA / "finding_changed--hedge.trig")
    return diff.diff_graphs(base(), graph)


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Changes from 0.1.0 (2026-01-01) to 0.1.0 (2026-01-01)", "3 change(s)",
            "Terms relabelled (1)", "~ hodo:HODO_0000100 mechanism: [zh] 机制 → 作用机制",
            "Findings added (1)", "+ hodo:finding-0202 Vitamin D worsens bone health",
            "Findings changed (1)", "hedge: true → (none)"]),
    ("zh", ["从 0.1.0 (2026-01-01) 到 0.1.0 (2026-01-01) 的变更", "共 3 项变更",
            "标签变更的术语 (1)", "新增研究发现 (1)", "变更的研究发现 (1)",
            "~ hodo:finding-0201 致病介体导致肝性骨病: 限定语气: true → （无）"]),
])
def test_text_in_both_languages(lang: str, words: list[str]) -> None:
    text = diff.to_text(changed(), lang)
    for expected_words in words:
        assert expected_words in text


def test_markdown_has_a_heading_per_kind_and_an_item_per_change() -> None:
    text = diff.to_markdown(changed(), "en")
    assert text.startswith("## Changes from 0.1.0")
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == ["### Terms relabelled (1)", "### Findings added (1)",
                        "### Findings changed (1)"]
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == 3
    assert items[0] == r"- ~ hodo:HODO_0000100 mechanism: \[zh\] 机制 → 作用机制"


def test_json_shape_round_trips() -> None:
    original = changed()
    data = json.loads(diff.to_json(original))
    assert set(data) == {"old", "new", "counts", "changes"}
    assert data["counts"]["term_relabelled"] == data["counts"]["finding_added"] == 1
    assert sum(data["counts"].values()) == len(data["changes"]) == 3
    first = data["changes"][0]
    assert first == {"kind": "term_relabelled", "kgcl": "NodeRename",
                     "iri": "https://w3id.org/hodo/HODO_0000100",
                     "curie": "hodo:HODO_0000100", "labels": {"en": "mechanism", "zh": "作用机制"},
                     "detail": "zh", "old": ["机制"], "new": ["作用机制"]}
    assert diff.from_json_data(data) == original


def test_no_changes_says_so_in_both_languages() -> None:
    same = diff.diff_graphs(base(), base())
    assert "No changes." in diff.to_text(same, "en")
    assert "没有变更。" in diff.to_markdown(same, "zh")
    assert json.loads(diff.to_json(same))["changes"] == []


def test_bad_json_is_refused() -> None:
    with pytest.raises(ValueError, match="not a HODO diff"):
        diff.from_json_data({"changes": [{"kind": "term_added"}]})


# ---------------------------------------------------------------------------------------------
# The command


def release_folder(tmp_path: Path, name: str, graph: Graph) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    graph.serialize(folder / "hodo.nt", format="nt", encoding="utf-8")
    return folder


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_command_compares_two_release_folders(runner: CliRunner, tmp_path: Path,
                                              fmt: str) -> None:
    old = release_folder(tmp_path, "old", base())
    new = release_folder(tmp_path, "new", edited(DATA / "term_added.trig"))
    result = runner.invoke(main, ["diff", str(old), str(new), "--format", fmt, "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "hodo:HODO_0000130" in result.output
    if fmt == "json":
        assert json.loads(result.output)["counts"]["term_added"] == 1
    else:
        assert "新增术语 (1)" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["{missing}", "{old}"], "neither a release folder"),
    (["{old}", "{empty}"], "neither a release folder"),
    (["{old}", "{broken}"], "cannot read"),
])
def test_command_refuses_unusable_folders(runner: CliRunner, tmp_path: Path, args: list[str],
                                          message: str) -> None:
    folders = {"old": release_folder(tmp_path, "old", base()), "missing": tmp_path / "missing",
               "empty": tmp_path / "empty", "broken": tmp_path / "broken"}
    folders["empty"].mkdir()
    folders["broken"].mkdir()
    (folders["broken"] / "hodo.nt").write_text("<a> <b> .\n", encoding="utf-8")
    result = runner.invoke(main, ["diff", *(a.format(**folders) for a in args)])
    assert result.exit_code == EXIT_INPUT
    assert result.output.startswith("error: ") and message in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_command_builds_working_sources(runner: CliRunner, tmp_path: Path,
                                        release_build: BuildReport) -> None:
    """A release against the working sources: the sources are built first; an unchanged copy
    of the sources differs from the release built from them in nothing."""
    sources = tmp_path / "ontology"
    shutil.copytree(Path(__file__).parents[1] / "ontology", sources)
    result = runner.invoke(main, ["diff", str(release_build.out_dir), str(sources)])
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output


def test_names_come_from_the_newer_release_first() -> None:
    found = diff.diff_graphs(base(), edited(DATA / "term_relabelled.trig"))
    assert diff.name_of(found, expand("hodo:HODO_0000100"), "zh") == "hodo:HODO_0000100 作用机制"
    assert diff.name_of(found, expand("hodo:HODO_0000100"), "en") == "hodo:HODO_0000100 mechanism"


# ---------------------------------------------------------------------------------------------
# The validation page


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["What your data would change in HODO", "2 change(s)", "Terms added (1)",
            "Terms relabelled (1)", "[en] mechanism → mechanism | mechanism of disease"]),
    ("zh", ["您的数据将对 HODO 作出的变更", "共 2 项变更", "新增术语 (1)", "标签变更的术语 (1)",
            "用于测试差异的示例机制"]),
])
def test_validation_page_shows_what_an_upload_changes(client: FlaskClient, lang: str,
                                                      words: list[str]) -> None:
    upload = (io.BytesIO((DATA / "upload.ttl").read_bytes()), "upload.ttl")
    response = client.post(f"/validate?reason=0&lang={lang}", data={"file": upload},
                           headers={"Accept": "text/html"}, content_type="multipart/form-data")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    section = page[page.index('<section class="diff"'):]
    for expected_words in words:
        assert expected_words in section
    kinds = re.findall(r'<li class="change" data-kind="([a-z_]+)" data-iri="([^"]+)"', section)
    assert kinds == [("term_added", "https://w3id.org/hodo/HODO_0000199"),
                     ("term_relabelled", "https://w3id.org/hodo/HODO_0000100")]


@pytest.mark.slow
def test_validation_as_json_is_unchanged_by_the_diff(client: FlaskClient) -> None:
    response = client.post("/validate?reason=0&format=json",
                           data=(DATA / "upload.ttl").read_bytes(),
                           headers={"Content-Type": "text/turtle"})
    assert response.status_code == 200
    assert set(response.get_json()) == {"conforms", "problems"}


def test_build_refuses_a_previous_folder_without_a_release(runner: CliRunner,
                                                           tmp_path: Path) -> None:
    """Checked before anything is built: the changelog needs the previous release."""
    result = runner.invoke(main, ["build", "--out", str(tmp_path / "out"),
                                  "--previous", str(tmp_path / "nothing")])
    assert result.exit_code == EXIT_INPUT
    assert result.output.startswith("error: the previous release: no release at ")
    assert not (tmp_path / "out").exists()
