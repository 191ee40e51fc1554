"""Pictures drawn from the data: a term's neighbourhood and the article's mechanism map."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("graphs", __name__)
