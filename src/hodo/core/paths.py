"""Every repository path in one place, so that nothing else spells a folder name."""

from __future__ import annotations

from pathlib import Path

from hodo.core.settings import environment

#: The repository root: ``src/hodo/core/paths.py`` sits four levels below it.
ROOT = Path(__file__).resolve().parents[3]

ONTOLOGY_DIR = ROOT / "ontology"
IMPORTS_DIR = ONTOLOGY_DIR / "imports"
SHAPES_DIR = ROOT / "shapes"
EXAMPLES_DIR = ONTOLOGY_DIR / "sparql" / "examples"
QC_DIR = ONTOLOGY_DIR / "sparql" / "qc"
ARTICLE_TEXT = ONTOLOGY_DIR / "source" / "article.txt"
#: GO definitions the packaged GO source leaves out, extracted from a GO release (see its header)
GO_DEFINITIONS = ONTOLOGY_DIR / "source" / "go-definitions.obo"


def dist_dir() -> Path:
    """Where release artifacts are written and read; ``HODO_DIST`` overrides the default."""
    return Path(environment("HODO_DIST") or ROOT / "dist")


def cache_dir() -> Path:
    """Downloaded source-ontology packages live here (git-ignored)."""
    return Path(environment("HODO_CACHE") or ROOT / ".cache")
