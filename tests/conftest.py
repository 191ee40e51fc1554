"""Fixtures by layer: the built release (once per session), the loaded store, the app (per test,
or per module for modules that only read)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from hodo.engine.store import Release, load_release
from hodo.pipeline.build import BuildReport, build
from tests.support import virtuoso
from tests.support.backends import Backend, backend_server
from tests.support.net import Listener


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HODO_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("HODO_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def release_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The release built from the sources in this checkout, into a temporary folder."""
    return build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def release_dir(release_build: BuildReport) -> Path:
    return release_build.out_dir


@pytest.fixture(scope="session")
def release(release_dir: Path) -> Release:
    return load_release(release_dir)


@pytest.fixture()
def app(release: Release) -> Flask:
    from hodo.web import create_app

    return create_app({"TESTING": True}, release=release)


@pytest.fixture(scope="module")
def module_app(release: Release) -> Flask:
    """One app for a whole test module. A module whose tests only read (no curator change, no
    setting of its own, no count of requests or metrics) overrides ``app`` with it:

        @pytest.fixture(scope="module")
        def app(module_app: Flask) -> Flask:
            return module_app
    """
    from hodo.web import create_app

    return create_app({"TESTING": True}, release=release)


@pytest.fixture()
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    """A loopback listener that records every connection: an attack's address points at it,
    and it must see none."""
    recording = Listener()
    yield recording
    recording.close()


@pytest.fixture(scope="session")
def virtuoso_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty Virtuoso database, made once (the slow part of Virtuoso's start-up) and copied
    for each server (tests/support/virtuoso.py); skips when Virtuoso is not installed."""
    folder = tmp_path_factory.mktemp("virtuoso-template")
    virtuoso.make_template(folder)
    return folder


@pytest.fixture(scope="session")
def virtuoso_backend(virtuoso_template: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """One Virtuoso server for the session, on loopback, its database a copy of the template."""
    with backend_server("virtuoso", tmp_path_factory.mktemp("virtuoso"),
                        virtuoso_template) as server:
        yield server
