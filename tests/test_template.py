"""``hodo template``: the example tables convert and validate; every kind of unreadable cell is
named by row and column, in English and in Chinese, and nothing is written."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph, Literal, URIRef
from rdflib.compare import to_isomorphic

from hodo import cli
from hodo.core.errors import EXIT_INPUT, EXIT_PROBLEMS
from hodo.core.namespaces import HODO
from hodo.pipeline import template as tpl
from hodo.pipeline.tables import read_tables
from hodo.pipeline.validate import release_sources

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
SOURCE = ROOT / "tests" / "data" / "second-source" / "source.ttl"
BAD = ROOT / "tests" / "data" / "template"
EXAMPLES = [TEMPLATES / "example-terms.tsv", TEMPLATES / "example-findings.tsv"]
#: ``hodo template`` with these arguments, in process.
Invoke = Callable[..., Result]
_EXPECT = re.compile(r"expect: (?:row (\d+), column (\S+), )?(?:error|rule) (\S+)$")


@pytest.fixture(scope="module")
def hodo() -> Graph:
    """HODO's sources with the second source's document, read once for the module."""
    graph = release_sources()
    graph.parse(SOURCE)
    return graph


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def _tables(paths: list[Path]) -> list[tuple[tpl.Table, tpl.Kind]]:
    return [(t, tpl.kind_of(t)) for path in paths for t in read_tables(path)]


def test_example_converts_and_validates(hodo: Graph) -> None:
    blocks = tpl.convert(_tables(EXAMPLES), hodo)
    graph = tpl.to_graph(blocks)
    tpl.check(graph, hodo)  # raises on a violation
    written = Graph().parse(data=tpl.to_turtle(blocks, ["example"]), format="turtle")
    assert to_isomorphic(written) == to_isomorphic(graph)
    finding = HODO["finding-2002"]
    # the subject was given by its Chinese label, a term of the other table
    assert (finding, tpl.OBAN.association_has_subject, HODO["HODO_0009001"]) in graph
    assert (finding, tpl.HEDGED, None) not in graph
    assert (HODO["finding-2001"], tpl.BIOLINK.negated, Literal(True)) in graph


def test_example_cites_its_own_source(hodo: Graph) -> None:
    graph = tpl.to_graph(tpl.convert(_tables(EXAMPLES), hodo))
    sources = set(graph.objects(HODO["finding-2002"], tpl.DCTERMS.source))
    assert sources == {HODO["second-source-reference-2"], HODO["second-source-reference-3"]}
    assert (HODO["finding-2002"], tpl.HAS_EVIDENCE, tpl.CITED) in graph


def test_conflict_is_linked_both_ways(hodo: Graph) -> None:
    graph = tpl.to_graph(tpl.convert(_tables(EXAMPLES), hodo))
    assert (HODO["finding-2001"], tpl.CONFLICT, HODO["finding-0330"]) in graph
    assert (HODO["finding-0330"], tpl.CONFLICT, HODO["finding-2001"]) in graph


def _as(path: Path, tmp_path: Path, suffix: str) -> Path:
    """The same table as CSV or as an Excel workbook."""
    rows = list(csv.reader(path.read_text("utf-8").splitlines(), delimiter="\t"))
    target = tmp_path / (path.stem + suffix)
    if suffix == ".csv":
        with target.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
        return target
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append([int(c) if c.isdigit() else c for c in row])
    book.save(target)
    return target


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_csv_and_workbook_read_as_the_tsv(hodo: Graph, tmp_path: Path, suffix: str) -> None:
    expected = tpl.to_graph(tpl.convert(_tables(EXAMPLES), _copy(hodo)))
    converted = [_as(path, tmp_path, suffix) for path in EXAMPLES]
    got = tpl.to_graph(tpl.convert(_tables(converted), _copy(hodo)))
    assert to_isomorphic(got) == to_isomorphic(expected)


def test_chinese_headers_read_as_english(hodo: Graph, tmp_path: Path) -> None:
    zh = {c.name: c.zh for c in tpl.FINDING_COLUMNS} | {c.name: c.zh for c in tpl.TERM_COLUMNS}
    renamed = []
    for path in EXAMPLES:
        lines = path.read_text("utf-8").splitlines()
        header = "\t".join(zh[h] for h in lines[1].split("\t"))
        target = tmp_path / path.name
        target.write_text("\n".join([lines[0], header, *lines[2:]]) + "\n", "utf-8")
        renamed.append(target)
    expected = tpl.to_graph(tpl.convert(_tables(EXAMPLES), _copy(hodo)))
    got = tpl.to_graph(tpl.convert(_tables(renamed), _copy(hodo)))
    assert to_isomorphic(got) == to_isomorphic(expected)


def _expectation(path: Path) -> tuple[int | None, str | None, str]:
    match = _EXPECT.search(path.read_text("utf-8").splitlines()[0])
    assert match, f"{path.name}: the first line says what it expects"
    row, column, key = match.groups()
    return (int(row) if row else None), column, key


@pytest.fixture()
def run(hodo: Graph, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """``hodo template`` in process, over the module's copy of HODO's sources."""
    monkeypatch.setattr(cli, "release_sources", lambda: _copy(hodo))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, ["template", *args])
    yield invoke


BAD_CELLS = sorted(p for p in BAD.glob("*.tsv") if not p.name.startswith("invalid--"))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("fixture", BAD_CELLS, ids=[p.stem for p in BAD_CELLS])
def test_bad_cell_names_row_and_column(run: Invoke, fixture: Path, lang: str,
                                       tmp_path: Path) -> None:
    row, column, key = _expectation(fixture)
    out = tmp_path / "out.ttl"
    # the terms example goes along, so that findings may name its term
    result = run(str(EXAMPLES[0]), str(fixture), "--lang", lang, "-o", str(out))
    assert result.exit_code == EXIT_INPUT, result.output
    assert not out.exists()
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"error: {fixture.name}")
    # the reason is the one the fixture breaks: its longest fixed words stand in the line
    reason = tpl.translate(f"template_{key}", lang)
    assert max(re.split(r"\{[^}]*\}", reason), key=len).strip() in line
    if row is not None:
        where = (f"row {row}, column {column}: " if lang == "en"
                 else f"第 {row} 行，“{column}”列：")
        assert where in line
    assert bool(re.search(r"[\u4e00-\u9fff]{2}", line.split(fixture.name, 1)[1])) == (
        lang == "zh")
    assert "Traceback" not in result.output


def test_every_cell_error_has_a_fixture() -> None:
    keys = {_expectation(p)[2] for p in BAD_CELLS}
    cell_keys = {"required", "unknown_term", "ambiguous", "bad_boolean", "bad_id", "id_taken",
                 "bad_direction", "bad_aspect",
                 "id_twice", "bad_quantity", "bad_number", "bad_reference", "no_reference",
                 "no_section", "bad_mapping", "bad_type", "not_finding", "no_columns",
                 "unknown_columns", "which_kind", "empty"}
    assert cell_keys <= keys


def test_every_error_is_in_both_languages() -> None:
    from hodo.core.i18n import MESSAGES

    for key, entry in MESSAGES.items():
        if key.startswith("template_"):
            assert entry.get("zh") and entry.get("en"), key


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_valid_cells_failing_the_rules_write_nothing(run: Invoke, tmp_path: Path,
                                                      lang: str) -> None:
    fixture = BAD / "invalid--english-label-with-chinese.tsv"
    out = tmp_path / "out.ttl"
    result = run(str(fixture), "--lang", lang, "-o", str(out))
    assert result.exit_code == EXIT_PROBLEMS, result.output
    assert not out.exists()
    assert "qc:english-label-with-chinese" in result.stderr
    assert tpl.translate("template_invalid", lang) in result.stderr


def test_writes_turtle_that_parses(run: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "new.ttl"
    result = run(*map(str, EXAMPLES), "--with", str(SOURCE), "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert text.startswith("# Written by hodo")
    graph = Graph().parse(data=text, format="turtle")
    assert (HODO["HODO_0009001"], tpl.RDFS.label, Literal("腰椎骨密度", lang="zh")) in graph
    assert all(isinstance(s, URIRef) for s in graph.subjects())



def test_help_names_the_columns_page(run: Invoke) -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "docs/curation.md" in result.output


@pytest.mark.parametrize(("name", "content", "words"), [
    ("table.ods", b"", "not a table HODO reads"),
    ("missing.tsv", None, "no such file"),
    ("latin1.tsv", "id\tlabel_en\nfinding-2001\tcaf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("broken.xlsx", b"not a zip file", "not an Excel workbook"),
], ids=["extension", "missing", "encoding", "workbook"])
def test_unreadable_file_is_one_line(run: Invoke, tmp_path: Path, name: str,
                                     content: bytes | None, words: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.ttl"
    for lang in ("en", "zh"):
        result = run(str(path), "-o", str(out), "--lang", lang)
        assert result.exit_code == EXIT_INPUT
        assert result.stderr.count("\n") == 1 and str(path) in result.stderr
        assert (words in result.stderr) == (lang == "en")
        assert not out.exists()


def test_qualifier_columns(hodo: Graph, tmp_path: Path) -> None:
    """Directions (in Chinese too), aspects, the people, sex, life stage and author."""
    lines = EXAMPLES[1].read_text("utf-8").splitlines()
    header = lines[1].split("\t")
    row = dict(zip(header, lines[2].split("\t"), strict=True))
    row |= {"object_direction": "降低", "object_aspect": "level", "subject_direction":
            "increased", "sex": "PATO:0000383", "life_stage": "UBERON:0007023",
            "people": "general population", "author": "Kawai"}
    table = tmp_path / "qualified.tsv"
    table.write_text("\n".join(["\t".join(header), "\t".join(row[h] for h in header)]) + "\n",
                     "utf-8")
    graph = tpl.to_graph(tpl.convert(_tables([table]), _copy(hodo)))
    finding = HODO["finding-2001"]
    obo = "http://purl.obolibrary.org/obo/"
    assert (finding, tpl.BIOLINK.object_direction_qualifier, Literal("decreased")) in graph
    assert (finding, tpl.BIOLINK.subject_direction_qualifier, Literal("increased")) in graph
    assert (finding, tpl.BIOLINK.object_aspect_qualifier, Literal("level")) in graph
    assert (finding, tpl.BIOLINK.sex_qualifier, URIRef(obo + "PATO_0000383")) in graph
    assert (finding, HODO["HODO_0000248"], URIRef(obo + "UBERON_0007023")) in graph
    assert (finding, HODO["HODO_0000252"], HODO["HODO_0000224"]) in graph
    assert (finding, tpl.AUTHOR, Literal("Kawai", lang="en")) in graph


def test_workbook_with_a_sheet_of_each_kind(hodo: Graph, tmp_path: Path) -> None:
    """One workbook, a sheet of terms and a sheet of findings: each sheet is a table, and an
    error names its sheet."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for path in EXAMPLES:
        sheet = book.create_sheet(path.stem)
        for row in csv.reader(path.read_text("utf-8").splitlines(), delimiter="\t"):
            sheet.append(row)
    target = tmp_path / "both.xlsx"
    book.save(target)
    expected = tpl.to_graph(tpl.convert(_tables(EXAMPLES), _copy(hodo)))
    assert to_isomorphic(tpl.to_graph(tpl.convert(_tables([target]), _copy(hodo)))) == \
        to_isomorphic(expected)
    book["example-findings"]["G3"] = "maybe"  # negated, first finding
    book.save(target)
    with pytest.raises(tpl.TemplateError) as caught:
        tpl.convert(_tables([target]), _copy(hodo))
    assert caught.value.messages("en") == [
        "both.xlsx:example-findings: row 3, column negated: 'maybe' is not true or false "
        "(true/false, yes/no, 是/否)"]
