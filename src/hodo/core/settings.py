"""Every ``HODO_*`` setting, declared once: its type, default, bounds and help.

The server reads them in layers (``hodo.web.config``): these defaults, then the environment,
then the mapping given to ``create_app``; the command line reads the environment alone. Either
way :meth:`Settings.from_mapping` checks every value, so a bad setting stops the start with a
message that names it. ``docs/settings.md`` is generated from this table (:func:`markdown`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hodo.core.errors import UsageError

#: The prefix every setting's name carries in the environment and in the Flask config.
PREFIX = "HODO_"

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
               "form-action 'self'; frame-ancestors 'none'")


class SettingError(UsageError, ValueError):
    """A setting has a value of the wrong kind or out of its bounds; the message names it."""


def _setting(default: Any, help: str, *, minimum: float | None = None,
             maximum: float | None = None, shown: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "minimum": minimum,
                                            "maximum": maximum, "shown": shown})


@dataclass(frozen=True)
class Settings:
    """The checked value of every setting; the field ``query_timeout`` is ``HODO_QUERY_TIMEOUT``.

    A ``Path | None`` or ``str`` setting left empty means "not set" (its help says what then).
    """

    # where things are
    dist: Path | None = _setting(
        None, "release folder that `hodo build` writes and the server reads",
        shown="`dist/` in the repository")
    releases: Path | None = _setting(
        None, "folder of earlier releases, one folder per version (`releases/0.1.0/`, a copy "
        "of that version's `dist/`): the server serves each at its version IRI "
        "(`/releases/<version>/<file>`) and lists them on `/downloads`; `hodo build` writes "
        "its changelog against the newest of them unless `--previous` names another",
        shown="unset")
    cache: Path | None = _setting(
        None, "where downloaded source ontologies and tools are kept",
        shown="`.cache/` in the repository")
    base: str = _setting(
        "https://w3id.org/hodo/", "IRI base the site serves its resources under: an http(s) "
        "IRI ending in `/` or `#`")
    store: Path | None = _setting(
        None, "an on-disk store made by `hodo load`, served beside the release", shown="unset")
    backend: str = _setting(
        "", "a remote SPARQL query endpoint that holds the release (see `hodo publish`)",
        shown="unset")
    node_modules: Path | None = _setting(
        None, "the `node_modules/` folder the query page's YASGUI comes from",
        shown="`node_modules/` in the repository")
    trusted_proxies: int = _setting(
        0, "reverse proxies in front of HODO whose `X-Forwarded-For/-Proto/-Host/-Prefix` "
        "headers are believed", minimum=0, maximum=5)
    curator_token: str = _setting(
        "", "bearer token of curator mode (16 to 1024 characters); unset, the server is "
        "read-only", shown="unset")
    publish_token: str = _setting(
        "", "bearer token `hodo publish` sends to the Graph Store endpoint", shown="unset")
    publish_user: str = _setting(
        "", "user `hodo publish` answers the server's login challenge with (HTTP Digest or "
        "Basic, as Virtuoso asks)", shown="unset")
    publish_password: str = _setting(
        "", "password of `HODO_PUBLISH_USER`, kept off the command line", shown="unset")
    graph_store_max_bytes: int = _setting(
        64 * 2**20, "bytes of one document a curator PUTs or POSTs to `/graph-store` (413 "
        "beyond, chunked or not)", minimum=1)
    # queries
    query_timeout: float = _setting(10.0, "seconds a query may run (503 after)", minimum=0.1)
    query_memory_mb: int = _setting(
        512, "memory a query may add to its worker (503 beyond)", minimum=16)
    query_workers: int = _setting(
        2, "query workers per web worker, and under Granian the requests a web worker runs at "
        "once (one in curator mode); 0 runs queries in the web worker, without a deadline or "
        "memory cap (for debugging only)", minimum=0)
    pin_cores: int = _setting(
        1, "1 keeps each web worker, with its query workers, to a share of the machine's "
        "cores of its own (one core each when there are as many cores as web workers), so "
        "that a query's trip to its worker and back wakes no other core; 0 leaves placement "
        "to the kernel. Nothing is pinned when there are fewer cores than web workers",
        minimum=0, maximum=1)
    queue_timeout: float = _setting(
        5.0, "seconds a request waits for a free query worker (503 after)", minimum=0.0)
    slow_query_after: float = _setting(
        1.0, "seconds after which a running query counts as slow", minimum=0.0)
    slow_query_slots: int = _setting(
        1, "slow queries allowed at once, across all web workers", minimum=0)
    max_rows: int = _setting(
        10000, "rows (solutions or triples) in one result (400 beyond)", minimum=1)
    max_result_bytes: int = _setting(
        16 * 2**20, "bytes in one serialised result (400 beyond)", minimum=1024)
    rate_limit: int = _setting(
        600, "queries per minute per client address; 0 turns the limit off", minimum=0)
    rate_burst: int = _setting(
        60, "queries a client may send at once before the rate applies", minimum=1)
    # answers
    cors_origin: str = _setting(
        "*", "`Access-Control-Allow-Origin` on reads; empty turns CORS off")
    csp: str = _setting(DEFAULT_CSP, "the `Content-Security-Policy` header",
                        shown="same-origin only")
    cache_max_age: int = _setting(
        300, "seconds browsers and proxies may reuse a release-derived answer "
        "(`Cache-Control: public, max-age`) before revalidating", minimum=0)
    result_cache_mb: int = _setting(
        64, "memory of each web worker for cached answers (half results, half whole "
        "responses); 0 turns both caches off", minimum=0)
    # validation service
    validate_max_bytes: int = _setting(
        1_000_000, "bytes of data `/validate` accepts (413 beyond)", minimum=1)
    validate_timeout: float = _setting(
        20.0, "seconds one validation may run (503 after); keep it below gunicorn's worker "
        "timeout when HODO runs under gunicorn", minimum=0.001)
    validate_slots: int = _setting(
        1, "validations run at once, across all web workers; one more is answered 503 with "
        "`Retry-After` at once", minimum=1)
    validate_memory_mb: int = _setting(
        1024, "memory one validation may add to its process (503 beyond); the reasoner's Java "
        "heap gets a quarter of it", minimum=64)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Settings:
        """The settings ``config`` holds (``HODO_*`` keys; strings, as from the environment,
        allowed); a key it lacks keeps its default.

        Raises:
            SettingError: a value is of the wrong kind or out of bounds.
        """
        values = {}
        for declared in declarations():
            if declared.key in config:
                values[declared.name] = declared.parse(config[declared.key])
        return cls(**values)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of the process environment (``HODO_*`` variables)."""
        return cls.from_mapping(os.environ if environ is None else environ)


@dataclass(frozen=True)
class Declared:
    """One setting as declared: its name, type, default, bounds and help."""

    name: str
    kind: type
    optional: bool
    default: Any
    help: str
    minimum: float | None
    maximum: float | None
    shown: str | None

    @property
    def key(self) -> str:
        return PREFIX + self.name.upper()

    def parse(self, raw: Any) -> Any:
        """``raw`` (a value, or the environment's text) as this setting's type, checked.

        Raises:
            SettingError: it is not of the type, or out of bounds.
        """
        if self.optional and (raw is None or raw == ""):
            return None
        if self.kind is str:
            return "" if raw is None else str(raw)
        if self.kind is Path:
            return Path(raw)
        value = _number(raw, self.kind)
        low, high = self.minimum, self.maximum
        if value is None or (low is not None and value < low) or (
                high is not None and value > high):
            raise SettingError(f"{self.key} must be {self.bounds()}, not {raw!r}")
        return value

    def bounds(self) -> str:
        """What a valid value is, in words."""
        what = "a whole number" if self.kind is int else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{what} from {_plain(self.minimum)} to {_plain(self.maximum)}"
        if self.minimum is not None:
            return f"{what} >= {_plain(self.minimum)}"
        return what


def _number(raw: Any, kind: type) -> float | None:
    """``raw`` as an int or a finite float; None when it is not one (a bool is not one)."""
    if isinstance(raw, bool):
        return None
    try:
        value = kind(str(raw).strip()) if kind is int else float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def declarations() -> tuple[Declared, ...]:
    """Every setting, in the order :class:`Settings` declares them."""
    hints = typing.get_type_hints(Settings)
    found = []
    for item in dataclasses.fields(Settings):
        hint = hints[item.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        kind = args[0] if args else hint
        found.append(Declared(item.name, kind, bool(args), item.default, item.metadata["help"],
                              item.metadata["minimum"], item.metadata["maximum"],
                              item.metadata["shown"]))
    return tuple(found)


def read(config: Mapping[str, Any], key: str) -> Any:
    """One setting from ``config`` (its default when absent), parsed and checked.

    Raises:
        SettingError: the value is of the wrong kind or out of bounds.
        KeyError: ``key`` is not a declared setting.
    """
    declared = {d.key: d for d in declarations()}[key]
    return declared.parse(config[key]) if key in config else declared.default


def defaults() -> dict[str, Any]:
    """Every setting's default under its ``HODO_*`` key, with "not set" as ``""``."""
    return {d.key: "" if d.default is None else d.default for d in declarations()}


def environment(key: str) -> str | None:
    """The environment's text for one declared setting, or None when it is unset."""
    if key.removeprefix(PREFIX).lower() not in {d.name for d in declarations()}:
        raise KeyError(f"{key} is not a declared setting")
    return os.environ.get(key) or None


MARK_BEGIN = ("<!-- GENERATED from src/hodo/core/settings.py by `python -m hodo.core.settings "
              "docs/settings.md` -- DO NOT EDIT -->")
MARK_END = "<!-- end of settings table -->"


def markdown() -> str:
    """The table of every setting (name, default, meaning), as ``docs/settings.md`` shows it."""
    rows = ["| Setting | Default | Meaning |", "|---|---|---|"]
    for d in declarations():
        default = d.shown or (f"`{d.default}`" if isinstance(d.default, str) else
                              _plain(d.default))
        bounds = "" if d.kind in (str, Path) else f" ({d.bounds()})"
        rows.append(f"| `{d.key}` | {default} | {d.help}{bounds} |")
    return "\n".join([MARK_BEGIN, *rows, MARK_END]) + "\n"


def with_table(document: str) -> str:
    """``document`` with the text between its settings markers replaced by :func:`markdown`.

    Raises:
        ValueError: the document lacks the markers.
    """
    start, end = document.find(MARK_BEGIN), document.find(MARK_END)
    if start < 0 or end < start:
        raise ValueError("the settings markers are missing")
    return document[:start] + markdown() + document[end + len(MARK_END) + 1:]


def main(argv: list[str]) -> int:
    """``python -m hodo.core.settings FILE``: write the table into FILE between its markers."""
    path = Path(argv[1])
    path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv))
