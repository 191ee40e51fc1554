"""HermiT: the release is consistent; broken data is found broken, with the reason named."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS

from hodo.pipeline.reason import reason
from hodo.pipeline.validate import Check, validate
from tests.support import DATA

pytestmark = pytest.mark.slow

EX = "http://example.org/"


def test_release_is_consistent(release_dir: Path) -> None:
    report = reason(Graph().parse(release_dir / "hodo.nt", format="nt"))
    assert report.consistent and not report.unsatisfiable


def test_inconsistency_is_explained() -> None:
    report = reason(Graph().parse(DATA / "inconsistent.ttl"))
    assert not report.consistent
    (explanation,) = report.explanations
    assert explanation.subject == EX + "figure"
    assert "declared disjoint" in explanation.message
    assert f"{EX}Incidence owl:disjointWith {EX}Prevalence" in explanation.axioms


def test_unsatisfiable_class_is_named_and_explained() -> None:
    report = reason(Graph().parse(DATA / "unsatisfiable.ttl"))
    assert report.consistent
    assert report.unsatisfiable == (EX + "Chimera",)
    assert "declared disjoint" in report.explanations[0].message


def test_inferred_subclass_is_returned() -> None:
    report = reason(Graph().parse(DATA / "inferred.ttl"))
    triple = (URIRef(EX + "HepaticBoneLoss"), RDFS.subClassOf, URIRef(EX + "BoneLoss"))
    assert triple in report.inferred


def test_validation_reports_the_inconsistency_in_both_languages() -> None:
    report = validate(Graph().parse(DATA / "inconsistent.ttl"), [Check.REASONER])
    assert not report.conforms
    problem = report.problems[0]
    assert "inconsistent" in problem.message("en") and "不一致" in problem.message("zh")


def test_domain_clash_is_explained_with_the_domain_axiom() -> None:
    report = reason(Graph().parse(DATA / "inconsistent-domain.ttl"), search_budget=0)
    assert not report.consistent
    (explanation,) = report.explanations
    assert explanation.subject == EX + "figure"
    assert f"{EX}measuresIncidence rdfs:domain {EX}Incidence" in explanation.axioms
    assert f"{EX}figure {EX}measuresIncidence {EX}cohort" in explanation.axioms
    assert f"{EX}figure rdf:type {EX}Prevalence" in explanation.axioms


def test_clash_without_disjointness_is_narrowed_to_the_axioms_involved() -> None:
    report = reason(Graph().parse(DATA / "inconsistent-restriction.ttl"), search_budget=10)
    assert not report.consistent
    (explanation,) = report.explanations
    assert "inconsistent together (3 of 4" in explanation.message
    assert set(explanation.axioms) == {
        f"{EX}Partless owl:equivalentClass [ owl:maxCardinality \"0\" ; "
        f"owl:onProperty {EX}hasPart ]",
        f"{EX}thing {EX}hasPart {EX}piece",
        f"{EX}thing rdf:type {EX}Partless",
    }


def test_search_is_bounded() -> None:
    report = reason(Graph().parse(DATA / "inconsistent-restriction.ttl"), search_budget=0)
    (explanation,) = report.explanations
    assert explanation.axioms == () and "ran out of reasoner runs" in explanation.message
