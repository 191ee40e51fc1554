"""What a server answered, reduced to a number both servers can be compared on."""

from __future__ import annotations

import json

import pyoxigraph as ox

from bench.client import Client, Target
from bench.queries import Pool, Query


def rows(body: bytes, accept: str) -> int:
    """Solutions of a SELECT, 1/0 for an ASK, triples of a Turtle graph."""
    if accept == "text/turtle":
        return sum(1 for _ in ox.parse(body, format=ox.RdfFormat.TURTLE))
    data = json.loads(body)
    if "boolean" in data:
        return int(bool(data["boolean"]))
    return len(data["results"]["bindings"])


def compare(targets: list[Target], query: Query, pool: Pool, numbers: list[int],
            timeout: float = 60.0) -> dict[str, object]:
    """Row counts of each server for request numbers ``numbers``; whether they all agree."""
    counts: dict[str, list[int | str]] = {t.name: [] for t in targets}
    for target in targets:
        client = Client(target, timeout=timeout)
        try:
            for i in numbers:
                reply = client.get(query.path(target.name, pool, i), query.accept)
                counts[target.name].append(rows(reply.body, query.accept)
                                           if reply.status == 200 else f"HTTP {reply.status}")
        finally:
            client.close()
    values = list(counts.values())
    return {"rows": counts, "match": all(v == values[0] for v in values)}
