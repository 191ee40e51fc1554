"""Search, autocomplete and the JSON term API over HODO's labels, synonyms and abbreviations."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("search", __name__)
