"""Static and vendor files are linked by their content's digest and cached for a year: a page
loads its scripts once, and a changed file gets a new URL."""

from __future__ import annotations

import hashlib
import re

import pytest
from flask.testing import FlaskClient

ASSET = re.compile(r'(?:src|href)="(/static/[^"?]+)\?v=([0-9a-f]{16})"')


@pytest.mark.parametrize("page", ["/HODO_0000001", "/sparql", "/map", "/ontology"])
def test_pages_link_their_files_by_digest_and_the_files_are_immutable(
        client: FlaskClient, page: str) -> None:
    html = client.get(page, headers={"Accept": "text/html"}).get_data(as_text=True)
    linked = ASSET.findall(html)
    assert linked, f"{page} links no static file by digest"
    assert not re.search(r'(?:src|href)="/static/[^"?]+"', html), "a file linked without v="
    for path, version in linked:
        response = client.get(f"{path}?v={version}")
        assert response.status_code == 200
        assert hashlib.sha256(response.data).hexdigest()[:16] == version
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", ["/static/pages.css", "/static/vendor/cytoscape.min.js"])
def test_a_file_without_its_digest_is_revalidated(client: FlaskClient, path: str) -> None:
    for query in ("", "?v=0000000000000000"):
        response = client.get(path + query)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")
