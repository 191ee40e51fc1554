"""The query mix: SPARQL templates under ``bench/queries`` and the HODO-only endpoints.

A template's slots (``{term}``, ``{label_en}``, ``{label_zh}``, ``{word}``, ``{n}``, ``{big}``)
are filled from a pool of real terms by request number: number 0 is the warm request, repeated;
every other number gives a query text no cache has seen, because ``{n}`` and ``{big}`` are
limits above any answer's size (same answer, same cost, different text) and the term cycles.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

QUERY_DIR = Path(__file__).parent / "queries"
JSON = "application/sparql-results+json"
TURTLE = "text/turtle"
HTML = "text/html"
SLOT = re.compile(r"\{(term|label_en|label_zh|word|n|big)\}")


@dataclass(frozen=True)
class Pool:
    """Terms and words to fill templates with; the same pool for both servers."""

    terms: tuple[str, ...]
    labels_en: tuple[str, ...]
    labels_zh: tuple[str, ...]
    words: tuple[str, ...]
    #: (path, lang) of term pages, e.g. ("/HODO_0000001", "zh")
    pages: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    #: ``{big}`` starts here: above every answer's size on the release, 1,000 at scale
    big: int = 1_000_000

    def slots(self, i: int) -> dict[str, str]:
        """The slot values of request number ``i``."""
        return {
            "term": self.terms[i % len(self.terms)],
            "label_en": _escape(self.labels_en[i % len(self.labels_en)]),
            "label_zh": _escape(self.labels_zh[i % len(self.labels_zh)]),
            "word": _escape(self.words[i % len(self.words)].lower()),
            "n": str(1000 + i),
            "big": str(self.big + i),
        }


@dataclass(frozen=True)
class Query:
    """One entry of the mix: a SPARQL template (both servers) or a HODO-only endpoint."""

    name: str
    title: str
    template: str = ""
    #: "sparql", or "page" / "search" / "suggest" for HODO-only endpoints
    kind: str = "sparql"
    accept: str = JSON
    form: str = "SELECT"
    slots: frozenset[str] = field(default_factory=frozenset)

    @property
    def both(self) -> bool:
        """Whether Oxigraph answers it too."""
        return self.kind == "sparql"

    def text(self, pool: Pool, i: int) -> str:
        """The query text of request number ``i``."""
        values = pool.slots(i)
        return SLOT.sub(lambda m: values[m.group(1)], self.template)

    def path(self, server: str, pool: Pool, i: int) -> str:
        """The request path (with query string) for ``server`` ("hodo" or "oxigraph")."""
        if self.kind == "sparql":
            base = "/sparql" if server == "hodo" else "/query"
            return f"{base}?{urllib.parse.urlencode({'query': self.text(pool, i)})}"
        if self.kind == "page":
            return pool.pages[i % len(pool.pages)]
        words = pool.words if self.kind == "search" else pool.prefixes
        return _search_path(self.kind, words, i)


def _search_path(kind: str, words: tuple[str, ...], i: int) -> str:
    """Request ``i`` of the search API: past the word pool, the page size and the language
    change, so requests stay new for ``len(words) * 80`` numbers."""
    size = 10 + (i // len(words)) % 40
    lang = ("en", "zh")[(i // (len(words) * 40)) % 2]
    if kind == "search":
        params = {"q": words[i % len(words)], "rows": size, "lang": lang}
        return f"/api/search?{urllib.parse.urlencode(params)}"
    params = {"q": words[i % len(words)], "limit": size, "lang": lang}
    return f"/api/suggest?{urllib.parse.urlencode(params)}"


def _escape(text: str) -> str:
    """A string safe inside a double-quoted SPARQL literal."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _form(text: str) -> str:
    body = "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith(("#", "PREFIX")))
    match = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", body)
    return match.group(1) if match else "SELECT"


def read_query(path: Path) -> Query:
    """A template file: its first comment line is the title, the file name its name."""
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    if not first.startswith("#"):
        raise ValueError(f"{path.name}: the first line must be a comment naming the query")
    form = _form(text)
    accept = TURTLE if form in ("CONSTRUCT", "DESCRIBE") else JSON
    return Query(path.stem, first.lstrip("# ").strip(), text, "sparql", accept, form,
                 frozenset(SLOT.findall(text)))


#: the order of the tables: lookups, listings and scans, joins, graphs; others after, by name
ORDER = ("label-en", "label-zh", "list-zh", "contains", "hierarchy", "aggregate",
         "findings-join", "construct", "describe", "ask")


def sparql_mix(directory: Path = QUERY_DIR) -> list[Query]:
    """Every template in ``directory``, in the order of ``ORDER``."""
    queries = [read_query(p) for p in sorted(directory.glob("*.rq"))]
    rank = {name: k for k, name in enumerate(ORDER)}
    return sorted(queries, key=lambda q: (rank.get(q.name, len(ORDER)), q.name))


def hodo_only() -> list[Query]:
    """Term pages and the search API: HODO's own endpoints, with no Oxigraph counterpart."""
    return [
        Query("term-page", "Term pages (HTML, both languages)", kind="page", accept=HTML),
        Query("api-search", "Search API (/api/search)", kind="search", accept="application/json"),
        Query("api-suggest", "Autocomplete (/api/suggest)", kind="suggest",
              accept="application/json"),
    ]
