"""Prefixes and CURIEs: every one HODO uses is the Bioregistry's, and IDs match its patterns."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDFS

from hodo.core import paths, prefix_table
from hodo.core.namespaces import (
    BASE,
    PREFIX_SPEC,
    PREFIXES,
    expand,
    generate_prefix_table,
    jsonld_context,
    shorten,
    sparql_prologue,
)
from hodo.pipeline import imports as imp
from hodo.pipeline.sources import hand_edited_graph, module_files, parse_file

DECLARATION = re.compile(r"^@prefix\s+([A-Za-z][\w-]*)?:\s*<([^>]*)>", re.MULTILINE)
TURTLE_FILES = sorted([*paths.ONTOLOGY_DIR.rglob("*.ttl"), *paths.SHAPES_DIR.rglob("*.ttl")])


def test_committed_prefix_table_equals_a_fresh_generation() -> None:
    committed = Path(prefix_table.__file__).read_text(encoding="utf-8")
    assert committed == generate_prefix_table(), "run `hodo imports` to regenerate it"


def test_prefix_map_is_the_bioregistry_table_plus_hodo() -> None:
    assert list(PREFIXES) == ["hodo", *PREFIX_SPEC]
    assert PREFIXES["hodo"] == BASE


def test_namespaces_import_does_not_load_the_bioregistry() -> None:
    code = "import sys, hodo.core.namespaces; print('bioregistry' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("path", TURTLE_FILES, ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_every_declared_prefix_is_registered(path: Path) -> None:
    by_namespace = {ns: p for p, ns in PREFIXES.items()}
    for name, namespace in DECLARATION.findall(path.read_text(encoding="utf-8")):
        if namespace.startswith(BASE):
            continue
        assert namespace in by_namespace, f"{name}: <{namespace}> is not in the prefix table"
        assert by_namespace[namespace].lower() == name.lower(), (
            f"{name}: <{namespace}> is registered as {by_namespace[namespace]}:")


#: Links to documents (licences, web pages), not vocabulary: no prefix is needed for them.
DOCUMENT_LINKS = {DCTERMS.license, DCTERMS.source, RDFS.seeAlso}


def _all_iris() -> set[str]:
    graph = hand_edited_graph()
    for path in module_files("imports"):
        parse_file(path, graph)
    return {str(n) for s, p, o in graph for n in (s, p, o) if isinstance(n, URIRef)
            and not (n == o and p in DOCUMENT_LINKS)}


def _curie_under_table(iri: str) -> tuple[str, str] | None:
    """(prefix, local ID) under the longest registered URI prefix that has an ID pattern."""
    obo = imp.curie_of(iri)
    if obo:
        prefix, _, local = obo.partition(":")
        return prefix, local
    matches = [p for p, row in prefix_table.PREFIX_TABLE.items()
               if row[1] and iri.startswith(row[0])]
    if not matches:
        return None
    best = max(matches, key=lambda p: len(PREFIXES[p]))
    return best, iri[len(PREFIXES[best]):]


def test_every_external_local_id_matches_its_registered_pattern() -> None:
    problems = []
    for iri in sorted(_all_iris()):
        found = _curie_under_table(iri)
        if found is None:
            continue
        prefix, local = found
        if prefix not in prefix_table.PREFIX_TABLE:
            problems.append(f"{iri}: prefix {prefix} is not registered in the prefix table")
            continue
        pattern = prefix_table.PREFIX_TABLE[prefix][1]
        if pattern and not re.fullmatch(pattern, local):
            problems.append(f"{iri}: {local!r} does not match {prefix}'s pattern {pattern}")
    assert not problems, "\n".join(problems)


def test_pattern_check_catches_a_malformed_id() -> None:
    prefix, local = _curie_under_table("http://purl.obolibrary.org/obo/MONDO_5154") or ("", "")
    assert prefix == "MONDO"
    assert not re.fullmatch(prefix_table.PREFIX_TABLE[prefix][1] or "", local)


def test_every_iri_is_under_a_registered_namespace() -> None:
    namespaces = tuple(PREFIXES.values())
    stray = sorted(i for i in _all_iris() if not i.startswith(namespaces)
                   and not i.startswith("file:"))
    assert not stray, f"IRIs under no registered prefix: {stray[:10]}"


def test_sparql_prologue_and_curies_use_the_same_map() -> None:
    prologue = sparql_prologue()
    for prefix, namespace in PREFIXES.items():
        assert f"PREFIX {prefix}: <{namespace}>\n" in prologue
    assert shorten(expand("MONDO:0005154")) == "MONDO:0005154"
    assert shorten(expand("HGNC:11926")) == "HGNC:11926"


def test_release_json_ld_context_is_the_prefix_map(release_dir: Path) -> None:
    context = json.loads((release_dir / "context.jsonld").read_text(encoding="utf-8"))
    assert context == jsonld_context()
    assert {p: v if isinstance(v, str) else v["@id"]
            for p, v in context["@context"].items()} == PREFIXES
    expanded = Graph().parse(data=json.dumps({**context, "@id": "MONDO:0005154",
                                              "rdfs:label": "liver disorder"}),
                             format="json-ld")
    assert (URIRef(expand("MONDO:0005154")), None, None) in expanded
