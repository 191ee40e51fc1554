"""Configuration: defaults, then ``HODO_*`` environment variables, then the explicit mapping.

Checked at start-up, so a bad setting stops the server before it answers anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from hodo.core import paths
from hodo.core.namespaces import BASE
from hodo.web import caching, ops


def defaults() -> dict[str, Any]:
    """Settings used when nothing else is given."""
    return {
        "HODO_DIST": paths.dist_dir(),
        "HODO_BASE": BASE,
        "HODO_CURATOR_TOKEN": "",
        # how many reverse proxies in front of HODO set X-Forwarded-For/-Proto/-Host/-Prefix
        "HODO_TRUSTED_PROXIES": 0,
        # an on-disk store made by `hodo load` (served next to the release), or a remote
        # SPARQL query endpoint that holds the release (see `hodo publish`); both empty: memory
        "HODO_STORE": "",
        "HODO_BACKEND": "",
        **ops.DEFAULTS,
        **caching.DEFAULTS,
    }


def configure(app: Flask, config: Mapping[str, Any] | None) -> None:
    """Layer the settings onto ``app.config`` and check them.

    Raises:
        ValueError: a setting is invalid.
    """
    app.config.from_mapping(defaults())
    app.config.from_prefixed_env("HODO", loads=str)
    # from_prefixed_env strips the prefix; keep HODO_-prefixed keys as the canonical names
    for key in [name.removeprefix("HODO_") for name in defaults()]:
        if key in app.config:
            app.config[f"HODO_{key}"] = app.config.pop(key)
    if config:
        app.config.from_mapping(config)
    app.config["HODO_DIST"] = Path(app.config["HODO_DIST"])
    from hodo.web.curator import check_token_setting

    check_token_setting(app.config["HODO_CURATOR_TOKEN"])
    if app.config["HODO_CURATOR_TOKEN"] and (app.config["HODO_BACKEND"]
                                             or app.config["HODO_STORE"]):
        raise ValueError("curator mode stages changes in the embedded in-memory store: it "
                         "cannot be combined with HODO_STORE or HODO_BACKEND")
    app.config["HODO_TRUSTED_PROXIES"] = trusted_proxies(app.config["HODO_TRUSTED_PROXIES"])
    base = str(app.config["HODO_BASE"])
    if not base.startswith(("http://", "https://")) or not base.endswith(("/", "#")):
        raise ValueError(f"HODO_BASE must be an http(s) IRI ending in / or #, not {base!r}")


def trusted_proxies(value: Any) -> int:
    """The number of proxies whose ``X-Forwarded-*`` headers are believed.

    Raises:
        ValueError: not a whole number from 0 to 5.
    """
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if not 0 <= number <= 5:
        raise ValueError(f"HODO_TRUSTED_PROXIES must be a whole number from 0 to 5, "
                         f"not {value!r}")
    return number
