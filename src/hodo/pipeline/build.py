"""Build the release: merge the hand-edited modules and the imports, reason, and write every
artifact deterministically (the same sources give byte-identical files).

Named graphs of the release:
``graph/ontology`` (hand-edited terms and axioms), ``graph/imports`` (extracted external terms),
``graph/mappings`` (SKOS mappings from the SSSOM set in ``ontology/mappings/``),
``graph/findings`` (the article, its references and the findings), ``graph/inferred`` (what HermiT
adds) and ``graph/metadata`` (the dataset description). The default graph is their union.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, OWL, RDF, XSD

from hodo import __version__
from hodo.core import paths
from hodo.core.errors import HodoError, ProblemsFound, UsageError
from hodo.core.namespaces import BASE, HODO, VOID, jsonld_context
from hodo.core.release import (
    ARTIFACTS,
    CHANGELOG_FILES,
    CHANGELOG_JSON,
    CHECKSUMS_FILE,
    CONTEXT_FILE,
    DATASET_FILE,
    GRAPH_NAMES,
    OBO_FILE,
    ONTOLOGY_IRI,
    SHAPES_PREFIX,
    earlier_releases,
    graph_iri,
    version_iri,
)
from hodo.core.serialize import to_bytes, to_nquads
from hodo.pipeline import diff
from hodo.pipeline.declarations import declarations
from hodo.pipeline.exports import UNION_FILE, read_release, write_exports
from hodo.pipeline.mappings import (
    MAPPINGS_FILE,
    MappingError,
    mapping_graph,
    read_mapping_set,
    target_labels,
)
from hodo.pipeline.oboexport import to_obo
from hodo.pipeline.reason import ReasonerReport, reason
from hodo.pipeline.sources import InputError, load_sources, parse_file, union
from hodo.pipeline.validate import Problem, qc_errors, rule_name


class InconsistentError(ProblemsFound):
    """HermiT found the merged sources inconsistent or a class unsatisfiable; carries the
    report that explains it."""

    def __init__(self, report: ReasonerReport) -> None:
        super().__init__("; ".join(e.message for e in report.explanations))
        self.report = report


class QualityError(ProblemsFound):
    """QC rules of severity ERROR (``ontology/sparql/qc/profile.tsv``) found problems."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        shown = [f"{p.focus} {rule_name(p)}: {p.value or ''}" for p in problems[:10]]
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"{len(problems)} QC error(s); run `hodo validate` for the report: "
                         + "; ".join(shown) + more)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class BuildReport:
    """What a build wrote."""

    version: str
    out_dir: Path
    files: tuple[Path, ...]
    triples: dict[str, int]


def release_version(ontology: Graph) -> str:
    """The ``owl:versionInfo`` of the ontology header, which names the release."""
    version = ontology.value(ONTOLOGY_IRI, OWL.versionInfo)
    if version is None:
        raise InputError(f"the ontology header <{ONTOLOGY_IRI}> has no owl:versionInfo")
    return str(version)


def metadata_graph(version: str, graphs: dict[str, Graph]) -> Graph:
    """A VoID description of the release: its version, graphs and counts."""
    meta = Graph()
    dataset = HODO["dataset"]
    meta.add((dataset, RDF.type, VOID.Dataset))
    meta.add((dataset, DCTERMS.title, Literal("HODO knowledge graph", lang="en")))
    meta.add((dataset, DCTERMS.title, Literal("HODO 知识图谱", lang="zh")))
    meta.add((dataset, DCTERMS.hasVersion, Literal(version)))
    meta.add((dataset, DCTERMS.language, Literal("en")))
    meta.add((dataset, DCTERMS.language, Literal("zh-Hans")))
    meta.add((dataset, DCTERMS.creator, Literal(f"hodo {__version__}")))
    meta.add((dataset, VOID.sparqlEndpoint, HODO["sparql"]))
    meta.add((dataset, VOID.uriSpace, Literal(BASE)))
    total = union(graphs.values())
    meta.add((dataset, VOID.triples, Literal(len(total), datatype=XSD.integer)))
    for name in GRAPH_NAMES[:-1]:
        subset = graph_iri(name)
        meta.add((dataset, VOID.subset, subset))
        meta.add((subset, RDF.type, VOID.Dataset))
        meta.add((subset, VOID.triples, Literal(len(graphs.get(name, ())), datatype=XSD.integer)))
    return meta


def assemble(ontology_dir: Path = paths.ONTOLOGY_DIR,
             prior: str | None = None) -> tuple[str, dict[str, Graph]]:
    """Load, version, reason and describe: every named graph of the release, in memory;
    ``prior`` is the version of the release before it (its ``owl:priorVersion``).

    Raises:
        InputError: a source file is unusable.
        InconsistentError: HermiT finds the sources inconsistent.
        QualityError: a QC rule of severity ERROR finds problems.
    """
    graphs = load_sources(ontology_dir)
    version = release_version(graphs["ontology"])
    graphs["ontology"].add((ONTOLOGY_IRI, OWL.versionIRI, version_iri(version)))
    if prior is not None:
        if prior == version:
            raise InputError(f"the previous release has this release's version {version}: "
                             "raise owl:versionInfo in the ontology header")
        graphs["ontology"].add((ONTOLOGY_IRI, OWL.priorVersion, version_iri(prior)))
    mappings = _mappings(ontology_dir, union(graphs.values()))
    # every graph's vocabulary declared, so that the release is OWL 2 DL; the metadata graph's
    # vocabulary does not depend on its counts
    described = union([*graphs.values(), mappings, metadata_graph(version, graphs)])
    graphs["ontology"] += declarations(described)
    report = reason(union(graphs.values()))
    if not report.ok:  # inconsistent, or a class that can have no instances
        raise InconsistentError(report)
    graphs["inferred"] = report.inferred
    graphs["mappings"] = mappings
    graphs["metadata"] = metadata_graph(version, graphs)
    errors = qc_errors(union(graphs.values()))
    if errors:
        raise QualityError(errors)
    return version, graphs


def _mappings(ontology_dir: Path, sources: Graph) -> Graph:
    """The SSSOM mapping set as SKOS triples (kept out of reasoning: they are not axioms), with
    the labels of the targets that ``sources`` does not label."""
    try:
        mapping_set = read_mapping_set(ontology_dir / "mappings" / MAPPINGS_FILE)
    except MappingError as error:
        raise InputError(str(error)) from error
    return mapping_graph(mapping_set) + target_labels(mapping_set, sources)


def write_release(version: str, graphs: dict[str, Graph], out_dir: Path,
                  ontology_dir: Path = paths.ONTOLOGY_DIR,
                  previous: PreviousRelease | None = None) -> BuildReport:
    """Write every artifact, the mapping set, the JSON-LD context, the shapes, the changelog
    since the ``previous`` release folder (None: the first release) and a checksum file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    merged = union(graphs[name] for name in GRAPH_NAMES)
    header = (f"GENERATED by hodo {__version__} from ontology/ -- DO NOT EDIT\n"
              f"HODO release {version}")
    written: list[Path] = []
    for name, rdflib_format in ARTIFACTS.items():
        written.append(_write(out_dir / name, to_bytes(merged, rdflib_format, header)))
    named = {graph_iri(name): graphs[name] for name in GRAPH_NAMES}
    written.append(_write(out_dir / DATASET_FILE, to_nquads(named)))
    written.append(_write(out_dir / OBO_FILE, to_obo(merged, version)))
    sssom = (ontology_dir / "mappings" / MAPPINGS_FILE).read_bytes()
    written.append(_write(out_dir / MAPPINGS_FILE, sssom))
    context = json.dumps(jsonld_context(), indent=2, ensure_ascii=False) + "\n"
    written.append(_write(out_dir / CONTEXT_FILE, context.encode()))
    for shapes in sorted(paths.SHAPES_DIR.glob("*.ttl")):
        written.append(_write(out_dir / f"{SHAPES_PREFIX}{shapes.name}", shapes.read_bytes()))
    written.extend(write_exports(merged, version, out_dir))
    markdowns, data = changelog(merged, previous)
    for lang, name in CHANGELOG_FILES.items():
        written.append(_write(out_dir / name, markdowns[lang].encode()))
    written.append(_write(out_dir / CHANGELOG_JSON, data.encode()))
    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in written)
    written.append(_write(out_dir / CHECKSUMS_FILE, sums.encode()))
    counts = {name: len(graphs[name]) for name in GRAPH_NAMES}
    return BuildReport(version, out_dir, tuple(written), counts)


def _write(path: Path, data: bytes) -> Path:
    """Write through a temporary file, so a failed build never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def build(out_dir: Path | None = None, ontology_dir: Path = paths.ONTOLOGY_DIR,
          previous: Path | None = None) -> BuildReport:
    """Build the release from ``ontology_dir`` into ``out_dir`` (default: ``dist/``), with its
    changelog since the release in the ``previous`` folder (None: the first release).

    Raises:
        InputError: a source file, or the previous release, is unusable.
        InconsistentError: HermiT finds the sources inconsistent.
        QualityError: a QC rule of severity ERROR finds problems.
    """
    earlier = read_previous(previous) if previous is not None else None
    version, graphs = assemble(ontology_dir, earlier.version if earlier else None)
    return write_release(version, graphs, out_dir or paths.dist_dir(), ontology_dir, earlier)


@dataclass(frozen=True)
class PreviousRelease:
    """The release a build writes its changelog against."""

    folder: Path
    version: str
    graph: Graph


def read_previous(folder: Path) -> PreviousRelease:
    """The release in ``folder``, which must hold one with a version.

    Raises:
        InputError: it holds none, or it cannot be read.
    """
    try:
        version, graph = read_release(folder)
    except HodoError as error:
        raise InputError(f"the previous release: {error}") from error
    if not version:
        raise InputError(f"the previous release in {folder} has no owl:versionInfo")
    return PreviousRelease(folder, version, graph)


def source_version(ontology_dir: Path = paths.ONTOLOGY_DIR) -> str:
    """The version the sources will build: the ``owl:versionInfo`` of ``hodo-edit.ttl``.

    Raises:
        InputError: the file cannot be read, or its header has no version.
    """
    return release_version(parse_file(ontology_dir / "hodo-edit.ttl"))


def previous_release(releases: Path | None, version: str) -> Path | None:
    """The newest release in the folder of earlier releases that is not ``version`` itself."""
    return next((r.path for r in earlier_releases(releases) if r.version != version), None)


def changelog(merged: Graph, previous: PreviousRelease | None
              ) -> tuple[dict[str, str], str]:
    """The changelog for people in each language (``CHANGELOG_FILES``) and ``changelog.json``:
    the diff from the ``previous`` release to this one, above the previous release's own
    changelog in that language; or, with none, that this is the first."""
    current = diff.snapshot(merged)
    found = (diff.compare(diff.snapshot(previous.graph), current) if previous is not None
             else diff.Diff("", "", current.version, current.date, (), {}))
    heading = f"## HODO {current.version}" + (f" ({current.date})" if current.date else "")
    markdowns = {}
    for lang, name in CHANGELOG_FILES.items():
        if previous is None:
            body, earlier = diff.word("first_release", lang) + "\n", ""
        else:
            body = diff.to_markdown(found, lang, level=3)
            earlier = _history(previous.folder / name)
        markdowns[lang] = (f"# {diff.word('changelog', lang)}\n\n"
                           f"<!-- GENERATED by hodo {__version__} -- DO NOT EDIT -->\n\n"
                           f"{heading}\n\n{body}" + (f"\n{earlier}" if earlier else ""))
    data = {**diff.to_json_data(found), "first": previous is None}
    return markdowns, json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _history(path: Path) -> str:
    """The releases' sections of an earlier changelog (from its first ``## ``); none when that
    release has no changelog in this language."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find("\n## ")
    return text[start + 1:] if start >= 0 else ""


def read_side(folder: Path) -> Graph:
    """One side of ``hodo diff``: a release folder (its ``hodo.nt``), or a folder of sources
    (with ``hodo-edit.ttl``), built into a temporary folder first.

    Raises:
        UsageError: the folder is neither, or cannot be read or built.
    """
    if (folder / UNION_FILE).is_file():
        return read_release(folder)[1]
    if (folder / "hodo-edit.ttl").is_file():
        with tempfile.TemporaryDirectory(prefix="hodo-diff-") as out:
            build(Path(out), ontology_dir=folder)
            return read_release(Path(out))[1]
    raise UsageError(f"{folder}: neither a release folder (with {UNION_FILE}) nor HODO's "
                     "sources (with hodo-edit.ttl)")
