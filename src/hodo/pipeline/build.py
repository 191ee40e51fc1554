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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, XSD

from hodo import __version__
from hodo.core import paths
from hodo.core.errors import ProblemsFound
from hodo.core.namespaces import BASE, HODO, VOID, jsonld_context
from hodo.core.release import (
    ARTIFACTS,
    CHECKSUMS_FILE,
    CONTEXT_FILE,
    DATASET_FILE,
    GRAPH_NAMES,
    OBO_FILE,
    ONTOLOGY_IRI,
    SHAPES_PREFIX,
    graph_iri,
)
from hodo.core.serialize import to_bytes, to_nquads
from hodo.pipeline.declarations import declarations
from hodo.pipeline.exports import write_exports
from hodo.pipeline.mappings import (
    MAPPINGS_FILE,
    MappingError,
    mapping_graph,
    read_mapping_set,
    target_labels,
)
from hodo.pipeline.oboexport import to_obo
from hodo.pipeline.reason import ReasonerReport, reason
from hodo.pipeline.sources import InputError, load_sources, union
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


def version_iri(version: str) -> URIRef:
    """The IRI of one release of the ontology."""
    return HODO[f"releases/{version}/hodo.owl"]


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


def assemble(ontology_dir: Path = paths.ONTOLOGY_DIR) -> tuple[str, dict[str, Graph]]:
    """Load, version, reason and describe: every named graph of the release, in memory.

    Raises:
        InputError: a source file is unusable.
        InconsistentError: HermiT finds the sources inconsistent.
        QualityError: a QC rule of severity ERROR finds problems.
    """
    graphs = load_sources(ontology_dir)
    version = release_version(graphs["ontology"])
    graphs["ontology"].add((ONTOLOGY_IRI, OWL.versionIRI, version_iri(version)))
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
                  ontology_dir: Path = paths.ONTOLOGY_DIR) -> BuildReport:
    """Write every artifact, the mapping set, the JSON-LD context, the shapes and a checksum
    file."""
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


def build(out_dir: Path | None = None, ontology_dir: Path = paths.ONTOLOGY_DIR) -> BuildReport:
    """Build the release from ``ontology_dir`` into ``out_dir`` (default: ``dist/``)."""
    version, graphs = assemble(ontology_dir)
    return write_release(version, graphs, out_dir or paths.dist_dir(), ontology_dir)


