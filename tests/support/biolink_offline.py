"""KGX's validator, made to run offline on the Biolink Model its PyPI package bundles.

KGX builds a ``bmt.Toolkit()`` when it is imported, which downloads the Biolink Model YAML and
its predicate map, and its validator downloads a JSON-LD context of Biolink 2.2.5 for its
prefixes. Here the toolkit's defaults point at the YAML of the ``biolink-model`` package with an
empty predicate map (the validator does not use it), and the context is the prefix map of the
same package, before kgx is imported.
"""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

from tests.support.biolink_schema import schema_path


def offline_kgx() -> Any:
    """Import kgx with its Biolink Model taken from the installed package; returns the
    Validator class with that toolkit active."""
    from bmt import Toolkit

    Toolkit.__init__.__defaults__ = (schema_path(), {"predicate mappings": []})
    import kgx.config

    prefixes = importlib.resources.files("biolink_model") / "prefixmaps" / \
        "biolink-model-prefix-map.json"
    kgx.config.jsonld_context_map["biolink"] = json.loads(prefixes.read_text(encoding="utf-8"))
    import kgx.utils.kgx_utils as kgx_utils
    from kgx.validator import Validator

    if kgx_utils._default_toolkit is None:  # the toolkit kgx built on import serves for both
        kgx_utils._default_toolkit = kgx_utils.tk
    Validator._currently_active_toolkit = kgx_utils.get_toolkit()
    return Validator
