"""HTTP caching of everything derived from the immutable release: ETag, Cache-Control, 304."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the caching hooks."""
