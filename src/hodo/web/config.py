"""Configuration: the declared defaults, then ``HODO_*`` environment variables, then the explicit
mapping; checked at start-up (``hodo.core.settings``), so a bad setting stops the server before it
answers anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from hodo.core import paths
from hodo.core.settings import SettingError, Settings
from hodo.core.settings import defaults as declared_defaults
from hodo.web.curator import check_token_setting


def defaults() -> dict[str, Any]:
    """Settings used when nothing else is given."""
    return {**declared_defaults(), "HODO_DIST": paths.dist_dir()}


def configure(app: Flask, config: Mapping[str, Any] | None) -> Settings:
    """Layer the settings onto ``app.config``, check them and return them.

    Raises:
        SettingError: a setting is invalid.
    """
    app.config.from_mapping(defaults())
    app.config.from_prefixed_env("HODO", loads=str)
    # from_prefixed_env strips the prefix; keep HODO_-prefixed keys as the canonical names
    for key in [name.removeprefix("HODO_") for name in defaults()]:
        if key in app.config:
            app.config[f"HODO_{key}"] = app.config.pop(key)
    if config:
        app.config.from_mapping(config)
    settings = Settings.from_mapping(app.config)
    app.config["HODO_DIST"] = Path(app.config["HODO_DIST"])
    check_token_setting(settings.curator_token)
    if settings.curator_token and (settings.backend or settings.store):
        raise SettingError("curator mode stages changes in the embedded in-memory store: it "
                           "cannot be combined with HODO_STORE or HODO_BACKEND")
    app.config["HODO_TRUSTED_PROXIES"] = settings.trusted_proxies
    base = settings.base
    if not base.startswith(("http://", "https://")) or not base.endswith(("/", "#")):
        raise SettingError(f"HODO_BASE must be an http(s) IRI ending in / or #, not {base!r}")
    return settings

