"""``requirements.lock`` pins what the tests run on: the audit (``make audit``) checks the lock,
so a lock that drifted from the environment would audit packages nobody runs."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
#: installed by `python -m venv` and pip themselves, or HODO itself: never pinned by the lock
UNPINNED = {"pip", "setuptools", "wheel", "hodo"}


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _installed() -> dict[str, str]:
    return {canonicalize_name(dist.metadata["Name"]): dist.version
            for dist in metadata.distributions()
            if canonicalize_name(dist.metadata["Name"]) not in UNPINNED}


def test_the_lock_pins_exactly_what_is_installed() -> None:
    locked, installed = _locked(), _installed()
    assert {name: version for name, version in installed.items()
            if locked.get(name) != version} == {}, "installed but pinned otherwise or not at all"
    assert set(locked) - set(installed) == set(), "pinned but not installed"


def test_every_declared_dependency_is_locked_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = _locked()
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is declared but not locked"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{name} is locked at {locked[name]}, outside {requirement.specifier}")
