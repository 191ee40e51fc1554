"""The query page's front end: YASGUI from the npm packages, its settings, and the examples.

The packages are installed from the npm registry by ``npm ci`` (``package-lock.json``) into
``node_modules/``, which is not in git; this blueprint serves the few files the page needs from
there, under ``/static/vendor/``, so that the page works with no internet access and under a
same-origin Content Security Policy. When they are missing, the page is a plain form.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from hodo.core import paths
from hodo.core.i18n import MESSAGES, add_messages, in_language, translate
from hodo.core.namespaces import PREFIXES, sparql_prologue
from hodo.web.state import state as app_state

bp = Blueprint("ui", __name__)

#: Seconds a file asked for by its digest is fresh: a year, the most HTTP caches keep.
ASSET_MAX_AGE = 365 * 24 * 3600
#: Public name under /static/vendor/ -> file inside node_modules. Nothing else is served.
VENDOR_FILES: dict[str, str] = {
    "yasgui.min.js": "@zazuko/yasgui/build/yasgui.min.js",
    "yasgui.min.css": "@zazuko/yasgui/build/yasgui.min.css",
    "yasgui.min.js.map": "@zazuko/yasgui/build/yasgui.min.js.map",
    "cytoscape.min.js": "cytoscape/dist/cytoscape.min.js",
    "cytoscape-dagre.min.js": "cytoscape-dagre/dist/cytoscape-dagre.min.js",
    "cytoscape-dagre.min.js.map": "cytoscape-dagre/dist/cytoscape-dagre.min.js.map",
}
#: The files the page cannot do without.
REQUIRED = ("yasgui.min.js", "yasgui.min.css")

#: The style sheets that YASGUI's result table (its column resizer) writes into ``<style>``
#: elements at run time, exactly as @zazuko/yasgui 4.6.2 builds them. The query page's CSP
#: allows these by hash and no other inline style; the UI test fails if they drift.
INLINE_STYLES = (
    " .grip-resizable{table-layout:fixed;} .grip-resizable > tbody > tr > td, .grip-resizable"
    " > tbody > tr > th{overflow:hidden} .grip-padding > tbody > tr > td, .grip-padding > tbody"
    " > tr > th{padding-left:0!important; padding-right:0!important;} .grip-container{"
    " height:0px; position:relative;} .grip-handle{margin-left:-5px; position:absolute;"
    " z-index:5; } .grip-handle .grip-resizable{position:absolute;background-color:red;"
    "filter:alpha(opacity=1);opacity:0;width:10px;height:100%;cursor: col-resize;top:0px}"
    " .grip-lastgrip{position:absolute; width:1px; } .grip-drag{ border-left:1px dotted black;"
    "\t} .grip-flex{width:auto!important;} .grip-handle.grip-disabledgrip .grip-resizable"
    "{cursor:default; display:none;}",
    "*{cursor:col-resize!important}",
)


@dataclass(frozen=True)
class Example:
    """One worked example query, with its title in each language."""

    slug: str
    titles: dict[str, str]
    text: str

    def title(self, lang: str) -> str:
        """The title in ``lang``, else English, else the file name."""
        return self.titles.get(lang) or self.titles.get("en") or self.slug.replace("-", " ")


def parse_example(slug: str, text: str) -> Example:
    """Read the titles from the leading comment lines: the English one, then the Chinese one.

    >>> e = parse_example("x", "# Every label.\\n# 每个标签。\\nSELECT * {}\\n")
    >>> e.title("en"), e.title("zh"), e.title("fr")
    ('Every label.', '每个标签。', 'Every label.')
    """
    titles: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment = line.lstrip("#").strip()
        if comment:
            titles.setdefault("zh" if _has_han(comment) else "en", comment)
    return Example(slug, titles, text)


def _has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def load_examples(folder: Path) -> list[Example]:
    """The example queries of ``folder``, by file name."""
    return [parse_example(p.stem, p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.rq"))]


def node_modules(config: Mapping[str, Any]) -> Path:
    """Where ``npm ci`` put the packages: ``HODO_NODE_MODULES``, else the repository's."""
    configured = config.get("HODO_NODE_MODULES")
    return Path(configured) if configured else paths.ROOT / "node_modules"


def assets_available(config: Mapping[str, Any]) -> bool:
    """True when the installed packages hold every file the page needs."""
    folder = node_modules(config)
    return all((folder / VENDOR_FILES[name]).is_file() for name in REQUIRED)


def ui_settings(examples: list[Example], lang: str, prologue: str,
                prefixes: Mapping[str, str], iri_base: str = "", local_root: str = "/"
                ) -> dict[str, Any]:
    """What the page's script needs: tabs, prefixes and a storage key tied to the examples.

    The key changes when the examples do, so that returning visitors see the current ones.
    HODO's IRIs (under ``iri_base``) in results link to their pages under ``local_root``.
    """
    digest = hashlib.sha256("\0".join(e.text for e in examples).encode()).hexdigest()[:12]
    return {
        "storageKey": f"hodo-sparql-{digest}",
        "lang": lang,
        "iriBase": iri_base,
        "localRoot": local_root,
        "prefixes": dict(prefixes),
        "newTabQuery": prologue + "SELECT * WHERE {\n  ?s ?p ?o\n} LIMIT 10\n",
        "tabs": [{"id": f"example-{e.slug}", "name": tab_name(e.title(lang)), "query": e.text}
                 for e in examples],
        "words": editor_words(lang),
    }


def editor_words(lang: str) -> dict[str, str]:
    """YASGUI's own English words, each with the page's word for it: the ``yasgui_`` entries of
    the one table of page words, which the page's script puts in place of YASGUI's.

    >>> editor_words("zh")["Run query"], editor_words("en")["Run query"]
    ('执行查询', 'Run query')
    """
    return {entry["en"]: in_language(entry, lang) for key, entry in MESSAGES.items()
            if key.startswith("yasgui_")}


def tab_name(title: str, limit: int = 32) -> str:
    """A title short enough for a tab: cut at a word (or, in Chinese, a character), with "…".

    >>> tab_name("Findings with their polarity, cited reference number and source sentence.")
    'Findings with their polarity…'
    >>> tab_name("研究发现及其极性、所引参考文献编号和中文原文句子。", limit=10)
    '研究发现及其极性…'
    >>> tab_name("Negative results.")
    'Negative results'
    """
    title = title.rstrip("。.")
    if len(title) <= limit:
        return title
    cut = title[:limit - 1]
    if " " in cut and not _has_han(cut):
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:、，；：") + "…"


def asset(endpoint: str, name: str) -> str:
    """The URL of a static file (``static``) or a vendor file (``ui.vendor``), with ``v=`` its
    content's digest: such a URL names bytes that never change, so it is cached for a year and
    never revalidated, and a new file gets a new URL."""
    path = _asset_path(endpoint, name)
    version = _digest(path) if path is not None and path.is_file() else None
    values: dict[str, Any] = {"filename" if endpoint == "static" else "name": name}
    if version:
        values["v"] = version
    return url_for(endpoint, **values)


def _asset_path(endpoint: str, name: str) -> Path | None:
    if endpoint == "static":
        folder = current_app.static_folder
        return Path(folder) / name if folder else None
    relative = VENDOR_FILES.get(name)
    return node_modules(current_app.config) / relative if relative else None


@functools.lru_cache(maxsize=64)
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@bp.after_app_request
def _immutable_assets(response: Response) -> Response:
    """A static or vendor file asked for by its digest (``asset``) is fresh for a year."""
    version = request.args.get("v")
    if (version and response.status_code == 200 and request.view_args is not None
            and request.endpoint in ("static", "ui.vendor")):
        name = request.view_args.get("filename") or request.view_args.get("name") or ""
        path = _asset_path(request.endpoint, str(name))
        if path is not None and path.is_file() and _digest(path) == version:
            response.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}, immutable"
    return response


@bp.route("/static/vendor/<name>")
def vendor(name: str) -> Response:
    """One whitelisted file of the installed npm packages."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    folder = node_modules(current_app.config)
    if not (folder / relative).is_file():
        abort(404)
    return send_from_directory(folder, relative)


#: Words of the query page (in the one table of ``hodo.core.i18n``).
add_messages({
    "query_intro": {
        "en": "Write a SPARQL 1.1 query, or start from one of the examples in the tabs. Every "
              "prefix HODO uses is declared in a new tab.",
        "zh": "编写 SPARQL 1.1 查询，或从标签页中的示例开始。新标签页已声明 HODO 使用的全部前缀。",
    },
    "query_plain": {
        "en": "Plain form (works without JavaScript)",
        "zh": "简易表单（无需 JavaScript）",
    },
    "query_results_as": {
        "en": "Results as",
        "zh": "结果格式",
    },
})


def style_hashes() -> list[str]:
    """CSP source expressions for :data:`INLINE_STYLES`.

    >>> style_hashes()[1]
    "'sha256-c0O6TmFAkgpNbHxKAa1BrveWHHopjEtC47i0PzMudxg='"
    """
    return [f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"
            for css in INLINE_STYLES]


def with_style_hashes(csp: str) -> str:
    """``csp`` with :func:`style_hashes` added where styles are decided.

    A ``style-src`` gets them; without one, a ``style-src`` is made from ``default-src``; a
    policy that restricts neither is returned as it is.

    >>> with_style_hashes("default-src 'self'").startswith("default-src 'self'; style-src 'self'")
    True
    >>> with_style_hashes("img-src 'self'")
    "img-src 'self'"
    """
    directives = [d.strip() for d in csp.split(";") if d.strip()]
    names = [d.split()[0].lower() for d in directives]
    hashes = " ".join(style_hashes())
    if "style-src" in names:
        i = names.index("style-src")
        if "'unsafe-inline'" not in directives[i]:
            directives[i] += " " + hashes
    elif "default-src" in names:
        sources = directives[names.index("default-src")].split(maxsplit=1)[1:]
        directives.append(" ".join(["style-src", *sources, hashes]))
    return "; ".join(directives)


def query_page(lang: str) -> Response:
    """The query page: YASGUI when its packages are installed, a plain form in any case."""
    config = current_app.config
    context = page_context(lang, config)
    body = render_template("sparql.html", **context)
    response = Response(body, 200, content_type="text/html; charset=utf-8")
    csp = app_state().settings.csp
    if csp and context["yasgui"]:
        response.headers["Content-Security-Policy"] = with_style_hashes(csp)
    return response


def page_context(lang: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Everything ``sparql.html`` needs, for a page in ``lang``."""
    examples = load_examples(paths.EXAMPLES_DIR)
    prologue = sparql_prologue()
    return {
        "lang": lang,
        "examples": examples,
        "prologue": prologue,
        "yasgui": assets_available(config),
        "settings": ui_settings(examples, lang, prologue, PREFIXES, str(config["HODO_BASE"]),
                                url_for("pages.index")),
        "w": lambda key: translate(f"query_{key}", lang),
    }
