"""Namespaces, the prefix map, and the rule for minting HODO IRIs."""

from __future__ import annotations

import re

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

#: Default base for every IRI HODO mints; the web layer can serve it under another host.
BASE = "https://w3id.org/hodo/"

HODO = Namespace(BASE)
OBO = Namespace("http://purl.obolibrary.org/obo/")
OBOINOWL = Namespace("http://www.geneontology.org/formats/oboInOwl#")
OBAN = Namespace("http://purl.org/oban/")
BIOLINK = Namespace("https://w3id.org/biolink/vocab/")
SCHEMA = Namespace("http://schema.org/")
CITO = Namespace("http://purl.org/spar/cito/")
DOCO = Namespace("http://purl.org/spar/doco/")
VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
PROV = Namespace("http://www.w3.org/ns/prov#")

#: IAO "definition": the one definition property used throughout.
DEFINITION = OBO["IAO_0000115"]
#: IAO "term replaced by".
REPLACED_BY = OBO["IAO_0100001"]

#: Prefix map shared by serialisers, SPARQL examples and the query UI.
PREFIXES: dict[str, str] = {
    "hodo": BASE,
    "obo": str(OBO),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "oboInOwl": str(OBOINOWL),
    "oban": str(OBAN),
    "biolink": str(BIOLINK),
    "schema": str(SCHEMA),
    "cito": str(CITO),
    "doco": str(DOCO),
    "prov": str(PROV),
    "void": str(VOID),
}

#: A minted term: ``HODO_`` and seven digits, never reused.
TERM_ID = re.compile(r"^HODO_\d{7}$")


def term_iri(local_id: str, base: str = BASE) -> str:
    """The IRI of a minted term; refuses anything that is not a well-formed HODO ID.

    >>> term_iri("HODO_0000001")
    'https://w3id.org/hodo/HODO_0000001'
    """
    if not TERM_ID.match(local_id):
        raise ValueError(f"not a HODO term ID: {local_id!r}")
    return base + local_id


def sparql_prologue() -> str:
    """PREFIX declarations for every prefix in :data:`PREFIXES`, one per line."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


def shorten(iri: str) -> str:
    """A CURIE for ``iri`` under HODO's prefix map, or the IRI itself.

    >>> shorten("http://www.w3.org/2000/01/rdf-schema#label"), shorten("urn:x")
    ('rdfs:label', 'urn:x')
    """
    best = max((p for p, ns in PREFIXES.items() if iri.startswith(ns)),
               key=lambda p: len(PREFIXES[p]), default=None)
    return f"{best}:{iri[len(PREFIXES[best]):]}" if best else iri
