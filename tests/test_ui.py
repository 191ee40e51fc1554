"""The query page through Flask's test client: YASGUI's files, its settings, the plain form."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hodo.core.namespaces import PREFIXES
from hodo.core.paths import EXAMPLES_DIR, ROOT
from hodo.core.settings import DEFAULT_CSP
from hodo.engine.store import Release
from hodo.web import create_app, ui

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.rq"))


@pytest.fixture(scope="module")
def app(module_app: Flask) -> Flask:
    """Every test here only reads: one app for the module."""
    return module_app


def _settings(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="hodo-sparql-settings">(.*?)</script>',
                      html, re.S)
    assert match, "the page carries no editor settings"
    return json.loads(match.group(1))


def _page(client: FlaskClient, **params: str) -> str:
    response = client.get("/sparql", query_string=params, headers=BROWSER)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


@pytest.fixture()
def bare_app(release: Release, tmp_path: Path) -> Flask:
    """The app as it runs when ``npm ci`` has not been run."""
    return create_app({"TESTING": True, "HODO_NODE_MODULES": tmp_path}, release=release)


def test_npm_packages_are_installed() -> None:
    assert ui.assets_available({}), "run `npm ci` (make test does) to install the query UI"


def test_lock_file_pins_what_is_served() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    wanted = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    for name, version in wanted.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


@pytest.mark.parametrize("name", sorted(ui.VENDOR_FILES))
def test_vendor_file_is_served(client: FlaskClient, name: str) -> None:
    with client.get(f"/static/vendor/{name}") as response:
        assert response.status_code == 200
        assert response.data == (ui.node_modules({}) / ui.VENDOR_FILES[name]).read_bytes()


@pytest.mark.parametrize("name", ["package.json", "..%2Fpackage.json", "yasgui.esm.js",
                                  "%2E%2E/%2E%2E/package.json"])
def test_nothing_else_of_node_modules_is_served(client: FlaskClient, name: str) -> None:
    assert client.get(f"/static/vendor/{name}").status_code == 404


def test_page_loads_yasgui_from_this_server_only(client: FlaskClient) -> None:
    html = _page(client)
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"?]+)', html)
    assert "/static/vendor/yasgui.min.js" in sources
    assert "/static/vendor/yasgui.min.css" in sources
    assert all(s.startswith("/") for s in sources), sources
    assert not re.search(r"<script(?![^>]*\b(?:src|type=\"application/json\"))", html), \
        "an inline script would not run under the same-origin CSP"


def test_every_example_is_a_tab(client: FlaskClient) -> None:
    tabs = _settings(_page(client))["tabs"]
    assert [t["id"] for t in tabs] == [f"example-{p.stem}" for p in EXAMPLES]
    assert [t["query"] for t in tabs] == [p.read_text(encoding="utf-8") for p in EXAMPLES]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tab_names_follow_the_page_language(client: FlaskClient, lang: str) -> None:
    tabs = _settings(_page(client, lang=lang))["tabs"]
    han = [bool(re.search(r"[\u4e00-\u9fff]", t["name"])) for t in tabs]
    assert han == [lang == "zh"] * len(EXAMPLES)


def test_editor_knows_hodo_prefixes(client: FlaskClient) -> None:
    settings = _settings(_page(client))
    assert settings["prefixes"] == PREFIXES
    for prefix, iri in PREFIXES.items():
        assert f"PREFIX {prefix}: <{iri}>" in settings["newTabQuery"]


def test_storage_key_changes_with_the_examples() -> None:
    examples = ui.load_examples(EXAMPLES_DIR)
    key = ui.ui_settings(examples, "en", "", {})["storageKey"]
    edited = [*examples[:-1], ui.parse_example("x", examples[-1].text + "\n# edited\n")]
    assert ui.ui_settings(edited, "en", "", {})["storageKey"] != key
    assert ui.ui_settings(examples, "zh", "", {})["storageKey"] == key


def test_csp_allows_exactly_yasgui_table_styles(client: FlaskClient) -> None:
    csp = client.get("/sparql", headers=BROWSER).headers["Content-Security-Policy"]
    style = next(d for d in csp.split("; ") if d.startswith("style-src "))
    assert style.split()[1:] == ["'self'", *ui.style_hashes()]
    assert "'unsafe-inline'" not in csp and "script-src 'self';" in csp


def test_other_pages_keep_the_plain_csp(client: FlaskClient) -> None:
    assert client.get("/", headers=BROWSER).headers["Content-Security-Policy"] == DEFAULT_CSP


def test_without_npm_packages_the_page_is_a_plain_form(bare_app: Flask) -> None:
    client = bare_app.test_client()
    response = client.get("/sparql", headers=BROWSER)
    html = response.get_data(as_text=True)
    assert "/static/vendor/" not in html
    assert response.headers["Content-Security-Policy"] == DEFAULT_CSP
    assert html.count('<form class="example"') == len(EXAMPLES)
    assert client.get("/static/vendor/yasgui.min.js").status_code == 404


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_plain_form_runs_each_example(bare_app: Flask, path: Path) -> None:
    response = bare_app.test_client().post(
        "/sparql", data={"query": path.read_text(encoding="utf-8"), "format": "json"},
        headers=BROWSER)
    assert response.status_code == 200
    assert response.get_json()["results"]["bindings"]
