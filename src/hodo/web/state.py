"""The one state object of an app (:class:`AppState`): the release it serves, its checked
settings, and what each part of the web app made from them at start-up.

``create_app`` makes it; every part reads it through :func:`state` (or :func:`get_release`),
so nothing of an app lives in module globals or in loose ``app.extensions`` slots.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask.sansio.app import App

from hodo.core.settings import Settings
from hodo.engine.store import Release

if TYPE_CHECKING:  # the types of the parts' own state; each part imports this module
    import pyoxigraph as ox
    from rdflib import Graph

    from hodo.core.release import EarlierRelease
    from hodo.site.search import SearchIndex
    from hodo.web.caching import CachingState
    from hodo.web.ops import OpsState
    from hodo.web.tables import PageState
    from hodo.web.validate import ValidationState

#: The key of the state in ``app.extensions``.
EXTENSION = "hodo"


@dataclass
class AppState:
    """Everything one app holds beside Flask's own config."""

    release: Release
    settings: Settings
    #: metrics, rate limiter, slow-query slots and this process's query workers (``ops``)
    ops: OpsState | None = None
    #: the result cache and the cache of whole answers (``caching``)
    caches: CachingState | None = None
    #: the page tables, rebuilt when the store changes (``tables``)
    pages: PageState | None = None
    #: the search index (``search``)
    search_index: SearchIndex | None = None
    #: what the docs pages show, computed once per release (``docs``)
    docs: dict[str, Any] = field(default_factory=dict)
    #: the release as an rdflib graph, for validation against it (``validate``)
    validate_base: Graph | None = None
    #: the validation service's limits and its slot table, shared by all web workers
    validation: ValidationState | None = None
    #: the earlier releases it holds, verified at start-up (``docs``)
    earlier: tuple[EarlierRelease, ...] = ()
    #: the release's nanopublications, read at start-up (``nanopubs``); None: not loaded
    nanopubs: ox.Store | None = None
    #: the graphs a query's FROM may name (``sparql``)
    served_graphs: list[str] | None = None
    #: one write at a time to the store (curator mode)
    write_lock: threading.Lock = field(default_factory=threading.Lock)


def state(app: App | None = None) -> AppState:
    """The state of ``app``, or of the running app."""
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]


def get_release() -> Release:
    """The release of the running app."""
    return state().release


def curator_enabled(app: App | None = None) -> bool:
    """True in curator mode (``HODO_CURATOR_TOKEN`` set): the store may change."""
    return bool(state(app).settings.curator_token)
