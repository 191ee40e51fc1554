"""Fingerprints that prove an attack changed nothing: of the release files, and of the data a
server serves (read through its own endpoint)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from tests.support.server import Server


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


_dumps = iter(range(1, 10**9))
_DIGITS = "SUBSTR(?h, {start}, 12)"
for _letter, _digit in zip("abcdef", "314159", strict=True):
    _DIGITS = f'REPLACE({_DIGITS}, "{_letter}", "{_digit}")'
#: Every quad (graph, subject, predicate, object with its language and datatype) hashed in the
#: engine; the sums of two slices of those hashes are a fingerprint of the whole set that does
#: not depend on the order of the quads, and one short answer carries it.
FINGERPRINT = f"""PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
SELECT (COUNT(*) AS ?n) (SUM(?a) AS ?sa) (SUM(?b) AS ?sb) WHERE {{
  GRAPH ?g {{ ?s ?p ?o }} FILTER("NONCE" != "")
  BIND(SHA256(CONCAT(STR(?g), "\\t", COALESCE(STR(?s), "_:"), "\\t", STR(?p), "\\t",
       COALESCE(STR(?o), "_:"), "\\t", COALESCE(LANG(?o), ""), "\\t",
       COALESCE(STR(DATATYPE(?o)), ""))) AS ?h)
  BIND(xsd:integer({_DIGITS.format(start=1)}) AS ?a)
  BIND(xsd:integer({_DIGITS.format(start=13)}) AS ?b)
}}"""


def _tsv(server: Server, query: str) -> list[bytes]:
    reply = server.query(query, accept="text/tab-separated-values")
    assert reply.status == 200, reply.text[:300]
    return reply.body.splitlines()[1:]


def data_hash(server: Server) -> str:
    """A fingerprint of the served data, read through the endpoint: the quads' count and hash
    sums, then every graph name. A constant unique to each call keeps the answers out of any
    cache."""
    nonce = f"{next(_dumps)} {time.monotonic_ns()}"
    (row,) = _tsv(server, FINGERPRINT.replace("NONCE", nonce))
    count, first, second = (cell.split(b"^^")[0].strip(b'"') for cell in row.split(b"\t"))
    assert int(count) > 1000 and first and second, row
    graphs = sorted(_tsv(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { } "
                              f'FILTER("{nonce}" != "") }}'))
    return hashlib.sha256(b"\n".join([row, *graphs])).hexdigest()
