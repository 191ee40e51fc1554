"""Every repository path in one place, so that nothing else spells a folder name."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: ``src/hodo/core/paths.py`` sits four levels below it.
ROOT = Path(__file__).resolve().parents[3]

ONTOLOGY_DIR = ROOT / "ontology"
IMPORTS_DIR = ONTOLOGY_DIR / "imports"
SHAPES_DIR = ROOT / "shapes"
EXAMPLES_DIR = ONTOLOGY_DIR / "sparql" / "examples"
QC_DIR = ONTOLOGY_DIR / "sparql" / "qc"
ARTICLE_TEXT = ONTOLOGY_DIR / "source" / "article.txt"


def dist_dir() -> Path:
    """Where release artifacts are written and read; ``HODO_DIST`` overrides the default."""
    return Path(os.environ.get("HODO_DIST", ROOT / "dist"))


def cache_dir() -> Path:
    """Downloaded source-ontology packages live here (git-ignored)."""
    return Path(os.environ.get("HODO_CACHE", ROOT / ".cache"))
