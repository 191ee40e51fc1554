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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Graph, Literal, URIRef
from rdflib.exceptions import ParserError
from rdflib.namespace import DCTERMS, OWL, RDF, XSD

from hodo import __version__
from hodo.core import paths
from hodo.core.namespaces import BASE, HODO, VOID
from hodo.pipeline.reason import ReasonerReport, reason

if TYPE_CHECKING:
    from hodo.pipeline.validate import Problem
from hodo.core.serialize import to_bytes, to_nquads

ONTOLOGY_IRI = URIRef(BASE + "hodo.owl")

#: Which source files feed which named graph, relative to ``ontology/``.
MODULES: dict[str, tuple[str, ...]] = {
    "ontology": ("hodo-edit.ttl", "external-terms.ttl", "terms/*.ttl"),
    "imports": ("imports/*_import.ttl",),
    "findings": ("article.ttl", "findings/*.ttl", "ledger/*.ttl"),
}
GRAPH_NAMES = ("ontology", "imports", "mappings", "findings", "inferred", "metadata")

#: Release artifacts: file name -> rdflib format of the union graph.
ARTIFACTS = {
    "hodo.ttl": "turtle",
    "hodo.owl": "xml",
    "hodo.jsonld": "json-ld",
    "hodo.nt": "nt",
}
DATASET_FILE = "hodo.nq"
#: The JSON-LD context of HODO's prefix map, for clients that compact or expand HODO's CURIEs.
CONTEXT_FILE = "context.jsonld"
CHECKSUMS_FILE = "SHA256SUMS"
#: The SHACL shapes travel with the release, each as ``shapes-<file>``, so a downloaded release
#: can be validated by the very shapes it was checked with.
SHAPES_PREFIX = "shapes-"


def read_checksums(dist: Path) -> dict[str, str]:
    """``SHA256SUMS`` of a release folder as file name -> hex digest; empty when it is missing.

    Raises:
        OSError, UnicodeDecodeError: it cannot be read.
        ValueError: a line is not ``<sha256>  <file>`` (the message names the line).
    """
    sums = dist / CHECKSUMS_FILE
    if not sums.exists():
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64 or not set(digest) <= set("0123456789abcdef"):
            raise ValueError(f"line {number} is not `<sha256>  <file>`")
        found[name.strip()] = digest
    return found


def graph_iri(name: str) -> URIRef:
    """The IRI of a named graph of the release."""
    return HODO[f"graph/{name}"]


class InputError(Exception):
    """A source file cannot be read or parsed; the message names the file and line."""


class InconsistentError(Exception):
    """HermiT found the merged sources inconsistent or a class unsatisfiable; carries the
    report that explains it."""

    def __init__(self, report: ReasonerReport) -> None:
        super().__init__("; ".join(e.message for e in report.explanations))
        self.report = report


class QualityError(Exception):
    """QC rules of severity ERROR (``ontology/sparql/qc/profile.tsv``) found problems."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        from hodo.pipeline.validate import rule_name

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


def parse_file(path: Path, graph: Graph | None = None) -> Graph:
    """Parse one RDF file (format from its extension) into ``graph``.

    Raises:
        InputError: the file is missing, unreadable or not valid RDF, with file and line.
    """
    from hodo.core.formats import by_extension

    graph = Graph() if graph is None else graph
    fmt = by_extension(path.suffix)
    rdflib_format = fmt.rdflib if fmt and fmt.rdflib else "turtle"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        graph.parse(data=data, format=rdflib_format, publicID=path.resolve().as_uri())
    except (SyntaxError, ParserError, ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: {_parse_message(error)}") from error
    except Exception as error:
        raise InputError(f"{path}: not valid {rdflib_format}: {error}") from error
    return graph


def _parse_message(error: Exception) -> str:
    """rdflib's Turtle errors carry the line; keep the message short and on one line."""
    lines = getattr(error, "lines", None)
    message = str(getattr(error, "_why", None) or error)
    message = " ".join(message.split())
    if lines is not None:
        return f"line {lines + 1}: {message}"
    return message


def module_files(name: str, ontology_dir: Path = paths.ONTOLOGY_DIR) -> list[Path]:
    """Source files of one module, in order; a named file must exist, a glob may match none."""
    files: list[Path] = []
    for pattern in MODULES[name]:
        matches = sorted(ontology_dir.glob(pattern))
        if not matches and "*" not in pattern:
            raise InputError(f"{ontology_dir / pattern}: no such source file")
        files.extend(matches)
    return files


def load_sources(ontology_dir: Path = paths.ONTOLOGY_DIR) -> dict[str, Graph]:
    """The asserted named graphs, parsed from the source files."""
    graphs: dict[str, Graph] = {}
    for name in MODULES:
        graph = Graph()
        for path in module_files(name, ontology_dir):
            parse_file(path, graph)
        graphs[name] = graph
    return graphs


def union(graphs: Iterable[Graph]) -> Graph:
    """One graph holding every triple of ``graphs``."""
    merged = Graph()
    for graph in graphs:
        for triple in graph:
            merged.add(triple)
    return merged


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
    from hodo.pipeline.validate import qc_errors

    graphs = load_sources(ontology_dir)
    version = release_version(graphs["ontology"])
    graphs["ontology"].add((ONTOLOGY_IRI, OWL.versionIRI, version_iri(version)))
    report = reason(union(graphs.values()))
    if not report.ok:  # inconsistent, or a class that can have no instances
        raise InconsistentError(report)
    graphs["inferred"] = report.inferred
    graphs["mappings"] = _mappings(ontology_dir)
    graphs["metadata"] = metadata_graph(version, graphs)
    errors = qc_errors(union(graphs.values()))
    if errors:
        raise QualityError(errors)
    return version, graphs


def _mappings(ontology_dir: Path) -> Graph:
    """The SSSOM mapping set as SKOS triples (kept out of reasoning: they are not axioms)."""
    from hodo.pipeline.mappings import MAPPINGS_FILE, MappingError, mapping_graph, read_mapping_set

    try:
        return mapping_graph(read_mapping_set(ontology_dir / "mappings" / MAPPINGS_FILE))
    except MappingError as error:
        raise InputError(str(error)) from error


def write_release(version: str, graphs: dict[str, Graph], out_dir: Path,
                  ontology_dir: Path = paths.ONTOLOGY_DIR) -> BuildReport:
    """Write every artifact, the mapping set, the JSON-LD context, the shapes and a checksum
    file."""
    import json

    from hodo.core.namespaces import jsonld_context
    from hodo.pipeline.mappings import MAPPINGS_FILE

    out_dir.mkdir(parents=True, exist_ok=True)
    merged = union(graphs[name] for name in GRAPH_NAMES)
    header = (f"GENERATED by hodo {__version__} from ontology/ -- DO NOT EDIT\n"
              f"HODO release {version}")
    written: list[Path] = []
    for name, rdflib_format in ARTIFACTS.items():
        written.append(_write(out_dir / name, to_bytes(merged, rdflib_format, header)))
    named = {graph_iri(name): graphs[name] for name in GRAPH_NAMES}
    written.append(_write(out_dir / DATASET_FILE, to_nquads(named)))
    sssom = (ontology_dir / "mappings" / MAPPINGS_FILE).read_bytes()
    written.append(_write(out_dir / MAPPINGS_FILE, sssom))
    context = json.dumps(jsonld_context(), indent=2, ensure_ascii=False) + "\n"
    written.append(_write(out_dir / CONTEXT_FILE, context.encode()))
    for shapes in sorted(paths.SHAPES_DIR.glob("*.ttl")):
        written.append(_write(out_dir / f"{SHAPES_PREFIX}{shapes.name}", shapes.read_bytes()))
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


def hand_edited_graph(ontology_dir: Path = paths.ONTOLOGY_DIR) -> Graph:
    """The union of the hand-edited modules (everything but the imports)."""
    files: Sequence[Path] = [p for name in MODULES if name != "imports"
                             for p in module_files(name, ontology_dir)]
    graph = Graph()
    for path in files:
        parse_file(path, graph)
    return graph
