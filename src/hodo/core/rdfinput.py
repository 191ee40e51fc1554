"""Reading RDF that curators give HODO (files on the command line, uploads to the server) safely.

Untrusted documents are parsed by Oxigraph, which never fetches a remote JSON-LD ``@context``
(rdflib's parser does, and reads ``file:`` ones too). RDF/XML is first scanned with expat and
refused if it declares entities or a DTD: entity expansion ("billion laughs") costs any parser
seconds of CPU and megabytes per byte. Errors name the document, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from hodo.core.errors import UsageError
from hodo.core.formats import ALIASES, BY_MEDIA_TYPE, BY_NAME, Format, by_extension

#: File extensions curators use besides the ones of :mod:`hodo.core.formats`.
EXTENSION_ALIASES = {"rdf": "rdfxml", "xml": "rdfxml", "json": "jsonld", "n3": "turtle"}
#: Formats a curator may send: every graph and dataset format of the format table.
INPUT_FORMATS = ("turtle", "ntriples", "rdfxml", "jsonld", "nquads", "trig")


class InputError(UsageError):
    """The document cannot be used; the message names it and, for syntax, line and column."""


@dataclass(frozen=True)
class Position:
    """Where in a document a problem lies (1-based)."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


def format_for(name: str, media_type: str | None = None) -> Format:
    """The format of a document, from its media type if given, else its file extension.

    Raises:
        InputError: the format is not one HODO reads.
    """
    if media_type:
        media = media_type.split(";")[0].strip().lower()
        fmt = BY_MEDIA_TYPE.get(media) or BY_NAME.get(ALIASES.get(media, ""))
        if fmt is None or fmt.name not in INPUT_FORMATS:
            raise InputError(f"{name}: cannot read {media}; send one of "
                             + ", ".join(BY_NAME[f].media_type for f in INPUT_FORMATS))
        return fmt
    ext = Path(name).suffix.lower().lstrip(".")
    fmt = BY_NAME.get(EXTENSION_ALIASES.get(ext, "")) or by_extension(ext)
    if fmt is None or fmt.name not in INPUT_FORMATS:
        raise InputError(f"{name}: unknown RDF file extension {'.' + ext if ext else '(none)'}; "
                         "use .ttl, .nt, .owl/.rdf (RDF/XML), .jsonld, .nq or .trig")
    return fmt


def parse_document(data: bytes, fmt: Format, name: str, graph: Graph | None = None) -> Graph:
    """Parse one untrusted document into ``graph`` (named graphs are merged into it).

    Raises:
        InputError: the document is not valid in its format, or declares XML entities.
    """
    graph = Graph() if graph is None else graph
    if fmt.name == "rdfxml":
        _refuse_entities(data, name)
    assert isinstance(fmt.oxigraph, ox.RdfFormat)
    try:
        quads = list(ox.parse(data, format=fmt.oxigraph, base_iri=_base(name),
                              lenient=False))
    except SyntaxError as error:
        raise InputError(f"{name}: {_syntax_message(error, data, fmt)}") from None
    except (ValueError, OSError) as error:
        raise InputError(f"{name}: not valid {fmt.name}: {error}") from None
    for quad in quads:
        graph.add((_node(quad.subject), _node(quad.predicate), _node(quad.object)))
    return graph


def parse_path(path: Path, graph: Graph | None = None,
               max_bytes: int | None = None) -> Graph:
    """Read and parse a curator's file, its format from its extension.

    Raises:
        InputError: the file is missing, unreadable, larger than ``max_bytes``, of an unknown
            kind or not valid RDF.
    """
    fmt = format_for(str(path))
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise InputError(f"{path}: {size} bytes, more than the limit of {max_bytes}")
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_document(data, fmt, str(path), graph)


def _base(name: str) -> str:
    """A base IRI for relative references, so that they resolve to something recognisable."""
    return "file:///" + re.sub(r"[^A-Za-z0-9._/-]", "_", Path(name).name)


def _node(term: object) -> Node:
    """The rdflib term for an Oxigraph term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise InputError(f"unsupported RDF term: {term!r}")


#: Characters of a parser's message passed on: it may quote a whole line of the document.
MAX_MESSAGE = 300
_OX_POSITION = re.compile(r"^Parser error (?:at|between) line (\d+) column (\d+)"
                          r"(?: and line \d+ column \d+)?: ")


def _syntax_message(error: SyntaxError, data: bytes, fmt: Format) -> str:
    """``line L, column C: what`` from Oxigraph's error, whatever the format."""
    message = " ".join(str(error.msg if error.msg else error).split())
    message = _OX_POSITION.sub("", message)
    if len(message) > MAX_MESSAGE:  # the parser quotes the offending text, however long
        message = message[:MAX_MESSAGE] + " …"
    if "LoadDocumentCallback" in message:
        message = "remote JSON-LD contexts are not fetched: put the @context in the document"
    if error.lineno is not None:
        return f"{Position(error.lineno, error.offset or 1)}: {message}"
    position = _xml_position(data) if fmt.name == "rdfxml" else None
    return f"{position or 'position unknown'}: {message}"


def _xml_position(data: bytes) -> Position | None:
    """Where expat first finds an XML document ill-formed, if it does."""
    parser = expat.ParserCreate()
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        return Position(error.lineno, error.offset + 1)
    return None


def _refuse_entities(data: bytes, name: str) -> None:
    """Refuse RDF/XML with a DTD or entity declarations, before any expansion happens."""
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        where = Position(parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        raise InputError(f"{name}: {where}: XML DTDs and entity declarations are not accepted")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise InputError(f"{name}: {Position(error.lineno, error.offset + 1)}: not well-formed "
                         f"XML: {expat.ErrorString(error.code)}") from None


#: Bounds on the XML entities an RDF/XML file given to ``hodo load`` may declare: OWL files
#: written by Protégé declare a few short namespace entities, and expanding those costs at most
#: ``MAX_ENTITY_VALUE / 3`` bytes per byte of input, since a value may not name another entity.
MAX_ENTITIES = 256
MAX_ENTITY_VALUE = 256


def check_xml_prolog(stream: BinaryIO, name: str, chunk_size: int = 1 << 16) -> None:
    """Read an RDF/XML file up to its root element and refuse what could blow up when expanded.

    Allowed: an internal DTD subset that declares at most ``MAX_ENTITIES`` general entities,
    each a literal of at most ``MAX_ENTITY_VALUE`` characters with no ``&``, ``%`` or ``<``.
    Refused: parameter, external and unparsed entities, nested or long values, and a DTD
    that names an external subset. Only the prolog is read, so a large file costs nothing.

    Raises:
        InputError: the prolog breaks those rules or is not well-formed XML.
    """
    parser = expat.ParserCreate()
    declared = 0

    def refuse(reason: str) -> None:
        where = Position(parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        raise InputError(f"{name}: {where}: {reason}; entity expansion is a denial of service")

    def doctype(_name: str, system_id: str | None, public_id: str | None, _internal: int) -> None:
        if system_id or public_id:
            refuse("an external DTD is not accepted")

    def entity(_name: str, parameter: int, value: str | None, _base: str | None,
               system_id: str | None, public_id: str | None, notation: str | None) -> None:
        nonlocal declared
        declared += 1
        if parameter or value is None or system_id or public_id or notation:
            refuse("only internal general entities are accepted")
        assert value is not None  # refuse raised
        if len(value) > MAX_ENTITY_VALUE or any(c in value for c in "&%<"):
            refuse(f"an entity's value must be plain text of at most {MAX_ENTITY_VALUE} "
                   "characters")
        if declared > MAX_ENTITIES:
            refuse(f"more than {MAX_ENTITIES} entities are declared")

    def root(*_: object) -> None:
        raise _PrologDone

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.StartElementHandler = root
    try:
        while chunk := stream.read(chunk_size):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _PrologDone:
        return
    except expat.ExpatError as error:
        raise InputError(f"{name}: {Position(error.lineno, error.offset + 1)}: not well-formed "
                         f"XML: {expat.ErrorString(error.code)}") from None


class _PrologDone(Exception):
    """The root element has started: the prolog has been read."""
