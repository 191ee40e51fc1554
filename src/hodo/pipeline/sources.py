"""The sources of a release: which files under ``ontology/`` feed which named graph, and
how one is parsed (errors name the file and line). Read by the build and by validation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rdflib import Graph
from rdflib.exceptions import ParserError

from hodo.core import paths
from hodo.core.errors import UsageError
from hodo.core.formats import by_extension

#: Which source files feed which named graph, relative to ``ontology/``.
MODULES: dict[str, tuple[str, ...]] = {
    "ontology": ("hodo-edit.ttl", "external-terms.ttl", "terms/*.ttl"),
    "imports": ("imports/*_import.ttl",),
    "findings": ("article.ttl", "findings/*.ttl", "ledger/*.ttl"),
}


class InputError(UsageError):
    """A source file cannot be read or parsed; the message names the file and line."""


def parse_file(path: Path, graph: Graph | None = None) -> Graph:
    """Parse one RDF file (format from its extension) into ``graph``.

    Raises:
        InputError: the file is missing, unreadable or not valid RDF, with file and line.
    """
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


def hand_edited_graph(ontology_dir: Path = paths.ONTOLOGY_DIR) -> Graph:
    """The union of the hand-edited modules (everything but the imports)."""
    files: Sequence[Path] = [p for name in MODULES if name != "imports"
                             for p in module_files(name, ontology_dir)]
    graph = Graph()
    for path in files:
        parse_file(path, graph)
    return graph
