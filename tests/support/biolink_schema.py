"""The Biolink Model as its PyPI package ships it (``biolink-model``, a dev dependency): the
offline schema the KGX checks read, and the relation -> predicate table HODO's export keeps."""

from __future__ import annotations

import importlib.resources
from functools import cache
from importlib.metadata import version
from typing import Any

import yaml


def schema_path() -> str:
    """The Biolink Model YAML bundled in the ``biolink-model`` package."""
    return str(importlib.resources.files("biolink_model") / "schema" / "biolink_model.yaml")


@cache
def schema() -> dict[str, Any]:
    with open(schema_path(), encoding="utf-8") as stream:
        loaded: dict[str, Any] = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader",
                                                                 yaml.SafeLoader))
    return loaded


def snake(name: str) -> str:
    return "biolink:" + name.replace(" ", "_")


def camel(name: str) -> str:
    return "biolink:" + "".join(part[:1].upper() + part[1:] for part in name.split(" "))


def predicate_for(relation: str) -> tuple[str, str] | None:
    """The Biolink predicate whose exact_mappings name ``relation``, else one whose
    narrow_mappings do (the most specific: not ``related to`` when another lists it)."""
    slots = schema()["slots"]
    for kind in ("exact_mappings", "narrow_mappings"):
        hits = sorted(name for name, slot in slots.items()
                      if relation in (slot.get(kind) or []) and not slot.get("deprecated"))
        specific = [h for h in hits if h != "related to"] or hits
        if specific:
            return snake(specific[0]), kind.split("_")[0]
    return None


def predicate_table(relations: list[str]) -> str:
    """The text of ``ontology/source/biolink-predicates.tsv`` for these relation CURIEs."""
    lines = [f"# Relation -> Biolink predicate, from the exact_mappings (else narrow_mappings) of "
             f"the Biolink Model's slots: biolink-model {version('biolink-model')} (PyPI), "
             "biolink_model/schema/biolink_model.yaml.",
             "# Relations of HODO's findings that no slot maps are exported as biolink:related_to."
             " Checked by tests/test_kgx.py.",
             "relation\tpredicate\tmapping"]
    for relation in sorted(relations):
        found = predicate_for(relation)
        if found:
            lines.append(f"{relation}\t{found[0]}\t{found[1]}")
    return "\n".join(lines) + "\n"
