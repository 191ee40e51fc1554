"""The ontology's documentation page and the downloads of every release artifact."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("docs", __name__)
