"""QC rules: each bad fixture triggers its rule; the release triggers none; bilingual headers."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from hodo.core import paths
from hodo.pipeline.validate import (
    QC_BASE,
    Check,
    QcError,
    QcRule,
    Severity,
    load_profile,
    load_rules,
    parse_rule,
    run_rule,
    to_store,
    validate,
)
from tests.support import DATA

RULES = load_rules()
FIXTURES = DATA / "qc"


@pytest.fixture(scope="module")
def release_store(release_dir: Path) -> ox.Store:
    return to_store(Graph().parse(release_dir / "hodo.nt", format="nt"))


def test_every_rule_is_in_the_profile_and_has_a_fixture() -> None:
    names = {rule.name for rule in RULES}
    assert names == set(load_profile())
    assert names == {p.stem for p in FIXTURES.glob("*.ttl")}
    assert len(names) >= 20


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_header_gives_both_languages(rule: QcRule) -> None:
    assert rule.message_en and rule.message_zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.message_zh)
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in rule.message_en.replace("可能", "")
                   .replace("似乎", "").replace("提示", ""))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_bad_fixture_triggers_its_rule(rule: QcRule) -> None:
    store = to_store(Graph().parse(FIXTURES / f"{rule.name}.ttl"))
    rows = run_rule(store, rule)
    assert rows, f"{rule.name} returned no rows on its fixture"
    assert all(p.source_shape == QC_BASE + rule.name and p.focus for p in rows)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_release_triggers_no_rule(rule: QcRule, release_store: ox.Store) -> None:
    rows = run_rule(release_store, rule)
    assert not rows, [(p.focus, p.path, p.value) for p in rows]


def test_qc_check_reports_profile_severity_in_both_languages() -> None:
    report = validate(Graph().parse(FIXTURES / "missing-label-zh.ttl"), [Check.QC])
    problem = next(p for p in report.problems if p.source_shape == QC_BASE + "missing-label-zh")
    assert problem.severity is Severity.VIOLATION and not report.conforms
    assert "Chinese" in problem.message("en") and "中文" in problem.message("zh")
    warning = validate(Graph().parse(FIXTURES / "duplicate-definition.ttl"), [Check.QC])
    assert warning.conforms
    assert {p.severity for p in warning.problems} == {Severity.WARNING}


def test_rule_without_header_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "no-header.rq"
    bad.write_text("SELECT ?entity ?property ?value WHERE { ?entity ?property ?value }\n")
    with pytest.raises(QcError, match=r"no-header\.rq"):
        parse_rule(bad, Severity.VIOLATION)


def test_profile_with_unknown_severity_is_refused(tmp_path: Path) -> None:
    (tmp_path / "profile.tsv").write_text("some-rule\tFATAL\n")
    with pytest.raises(QcError, match="line 1"):
        load_profile(tmp_path)


def test_profile_and_rules_must_agree(tmp_path: Path) -> None:
    (tmp_path / "profile.tsv").write_text("missing-label-en\tERROR\n")
    with pytest.raises(QcError, match="missing-label-en"):
        load_rules(tmp_path)


def test_rules_run_on_the_qc_folder() -> None:
    assert paths.QC_DIR.is_dir() and (paths.QC_DIR / "profile.tsv").is_file()


@pytest.mark.parametrize(("labels", "flagged"), [
    (('"Hypogonadism"@en', '"hypogonadism"@en'), False),
    (('"性腺功能减退"@zh', '"性腺功能减退"@zh'), True),
], ids=["shared-english-label-of-two-sources", "shared-chinese-label"])
def test_duplicate_label_between_external_terms(labels: tuple[str, str], flagged: bool) -> None:
    data = Graph().parse(data=(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        f"<http://purl.obolibrary.org/obo/HP_0000135> a owl:Class ; rdfs:label {labels[0]} .\n"
        f"<http://purl.obolibrary.org/obo/MONDO_0002146> a owl:Class ; rdfs:label {labels[1]} .\n"
    ), format="turtle")
    (rule,) = [r for r in RULES if r.name == "duplicate-label"]
    assert bool(run_rule(to_store(data), rule)) is flagged


def test_ancestor_only_terms_need_no_chinese_label() -> None:
    data = Graph().parse(data=(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix oboInOwl: <http://www.geneontology.org/formats/oboInOwl#> .\n"
        "<http://purl.obolibrary.org/obo/MONDO_0000001> a owl:Class ; rdfs:label \"disease\"@en ;\n"
        "    oboInOwl:inSubset <https://w3id.org/hodo/subsets/ancestor> .\n"
    ), format="turtle")
    assert not validate(data, [Check.QC]).problems


SAME_AS = [rule for rule in RULES if rule.same_as]
SHAPE_NAMES = {str(s) for s in Graph().parse(paths.SHAPES_DIR / "terms.ttl").subjects()} | {
    str(s) for f in paths.SHAPES_DIR.glob("*.ttl") for s in Graph().parse(f).subjects()}


def test_some_rules_name_the_shape_that_finds_the_same_problem() -> None:
    assert {r.name for r in SAME_AS} >= {"missing-label-en", "missing-definition-zh"}
    for rule in SAME_AS:
        assert set(rule.same_as) <= SHAPE_NAMES, (rule.name, rule.same_as)


@pytest.mark.parametrize("rule", SAME_AS, ids=lambda r: r.name)
def test_a_problem_that_a_shape_and_a_rule_both_find_is_reported_once(rule: QcRule) -> None:
    """On the rule's fixture, where its shape reports a resource and property that the rule
    finds too (so they are the same problem), the rule's own report of it is left out."""
    data = Graph().parse(FIXTURES / f"{rule.name}.ttl")
    both = validate(data, checks=(Check.SHACL, Check.QC)).problems
    by_shape = {(p.focus, p.path) for p in both if p.source_shape in rule.same_as}
    assert by_shape, f"{rule.name}: its shapes report nothing on its fixture"
    assert not [p for p in both
                if p.source_shape == rule.iri and (p.focus, p.path) in by_shape]
    alone = {(p.focus, p.path) for p in run_rule(to_store(data), rule)}
    assert alone & by_shape, f"{rule.name} and its shapes find different things"
