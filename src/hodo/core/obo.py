"""OBO flat files as RDF, the OBO-in-OWL way, one stanza at a time.

Whole releases (MONDO, ChEBI) are hundreds of megabytes, so a file is never held in memory:
lines are read as they come and each stanza becomes N-Triples as soon as it ends. Parsing is
lenient, as real releases need (strict parsers reject some, see HAZARDS.md): an unknown tag,
a line without a tag or a stanza without an id is skipped, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote

OBO = "http://purl.obolibrary.org/obo/"
OIO = "http://www.geneontology.org/formats/oboInOwl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"

#: Stanza kinds and the OWL type of their entities.
KINDS = {"Term": OWL + "Class", "Typedef": OWL + "ObjectProperty"}
#: Tags whose value is a literal (the first quoted string for ``def``).
LITERAL_TAGS = {"name": RDFS + "label", "def": OBO + "IAO_0000115",
                "comment": RDFS + "comment", "xref": OIO + "hasDbXref",
                "alt_id": OIO + "hasAlternativeId", "namespace": OIO + "hasOBONamespace",
                "consider": OIO + "consider", "subset": OIO + "inSubset"}
#: Tags whose value is another entity's id.
LINK_TAGS = {"is_a": RDFS + "subClassOf", "replaced_by": OBO + "IAO_0100001"}
SYNONYM_SCOPES = {"EXACT": "hasExactSynonym", "BROAD": "hasBroadSynonym",
                  "NARROW": "hasNarrowSynonym", "RELATED": "hasRelatedSynonym"}
#: Tags whose value is an id or token: anything after it (modifiers, comments) is dropped.
TOKEN_TAGS = {"xref", "alt_id", "namespace", "consider", "subset", "is_a", "replaced_by"}

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_UNESCAPES = {"n": "\n", "t": "\t", "W": " "}
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def convert(lines: Iterable[str]) -> Iterator[bytes]:
    """N-Triples, one chunk per stanza, for the OBO document in ``lines``."""
    ontology = ""
    kind: str | None = None
    tags: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            if kind in KINDS:
                yield _stanza(kind, tags, ontology)
            kind, tags = line[1:-1].strip(), []
            continue
        tag, sep, value = line.partition(":")
        if not sep or line.startswith("!"):
            continue
        if kind is None and tag == "ontology":
            ontology = value.strip()
        elif kind is not None:
            tags.append((tag.strip(), value.strip()))
    if kind in KINDS:
        yield _stanza(kind, tags, ontology)


def _stanza(kind: str, tags: list[tuple[str, str]], ontology: str) -> bytes:
    """The triples of one stanza; none when it has no id."""
    ids = [value for tag, value in tags if tag == "id"]
    if not ids or not _token(ids[0]):
        return b""
    subject = iri(_token(ids[0]), ontology)
    lines = [_triple(subject, RDF_TYPE, f"<{KINDS[kind]}>"),
             _triple(subject, OIO + "id", _literal(_token(ids[0])))]
    for tag, value in tags:
        lines.extend(_triple(subject, p, o) for p, o in _objects(kind, tag, value, ontology))
    return "".join(lines).encode("utf-8")


def _objects(kind: str, tag: str, value: str, ontology: str) -> list[tuple[str, str]]:
    """(predicate, object) pairs for one tag-value line."""
    if tag == "synonym":
        return _synonym(value)
    if tag == "is_obsolete":
        return [(OWL + "deprecated", f'"true"^^<{XSD_BOOLEAN}>')] if value.startswith("true") \
            else []
    if tag == "def":
        text = _quoted(value)
        return [(LITERAL_TAGS[tag], _literal(text))] if text is not None else []
    if tag in LITERAL_TAGS:
        text = _token(value) if tag in TOKEN_TAGS else _unescape(_drop_comment(value))
        return [(LITERAL_TAGS[tag], _literal(text))] if text else []
    if tag in LINK_TAGS and _token(value):
        predicate = RDFS + "subPropertyOf" if kind == "Typedef" and tag == "is_a" \
            else LINK_TAGS[tag]
        return [(predicate, f"<{iri(_token(value), ontology)}>")]
    return []


def _synonym(value: str) -> list[tuple[str, str]]:
    """``"text" SCOPE [TYPE] [xrefs]``: the scope picks the property (RELATED by default)."""
    match = _QUOTED.match(value)
    if match is None:
        return []
    words = value[match.end():].split()
    scope = words[0] if words and words[0] in SYNONYM_SCOPES else "RELATED"
    return [(OIO + SYNONYM_SCOPES[scope], _literal(_unescape(match.group(1))))]


def iri(identifier: str, ontology: str = "") -> str:
    """The OBO PURL of an id: ``MONDO:0000001`` -> ``.../obo/MONDO_0000001``.

    An id that is already an IRI is kept; one without a prefix (a relation such as
    ``part_of``) goes under the ontology's own namespace, as OBO-in-OWL does.
    """
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", identifier):
        return _IRI_UNSAFE.sub(lambda m: quote(m.group(), safe=""), identifier)
    prefix, sep, local = identifier.partition(":")
    path = f"{prefix}_{local}" if sep and prefix else f"{ontology or 'unknown'}#{identifier}"
    return OBO + quote(path, safe="#_-.~:/()+,;=@!$&'*")


def _token(value: str) -> str:
    """The first word of a value: the id of ``is_a: X {modifiers} ! comment``."""
    words = value.split()
    return words[0] if words else ""


def _quoted(value: str) -> str | None:
    match = _QUOTED.match(value)
    return _unescape(match.group(1)) if match else None


def _drop_comment(value: str) -> str:
    """The value without a trailing ``! comment`` or ``{modifiers}`` (unescaped)."""
    value = re.sub(r"(?<!\\)\s!\s.*$", "", value)
    return re.sub(r"(?<!\\)\s\{[^}]*\}\s*$", "", value).strip()


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _UNESCAPES.get(m.group(1), m.group(1)), text)


def _literal(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r"))
    return f'"{escaped}"'


def _triple(subject: str, predicate: str, obj: str) -> str:
    return f"<{subject}> <{predicate}> {obj} .\n"
