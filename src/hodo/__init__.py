"""HODO: the Hepatic Osteodystrophy Ontology and its linked-data publisher.

The pipeline modules (build, reason, validate, imports, store, query) never import Flask;
the web front lives in :mod:`hodo.web` and is imported explicitly.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hodo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
