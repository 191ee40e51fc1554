"""A SPARQL syntax error in words: where it is, the text there, and what would mend it.

The engine's parser reports ``error at 2:11: expected one of ",", ".", ";", "{", [_] ...``: a
position and the grammar's alternatives, character classes included. A reader needs the line
and column, the text at that place, and the likely cause: a prefix used but not declared (named,
with HODO's declaration of it where HODO has one), a query that ends too early, an IRI that is
not valid, or the words the grammar expected there. Both languages are made at once, so the
answer can be given in the reader's.

>>> problem = explain("SELECT * WHERE { ?s rdfs:label ?o }", "error at 1:31: expected one of "
...                   "Prefix not found, ['%'], [':']")
>>> print(problem.describe("en"))  # doctest: +NORMALIZE_WHITESPACE
SPARQL syntax error at line 1, column 21, near `rdfs:label ?o }`: the prefix `rdfs:` is not
declared; add `PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>` before the query
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyparsing import ParseException

from hodo.core.i18n import LANGUAGES, add_messages, translate
from hodo.core.namespaces import PREFIXES
from hodo.engine.lexer import lexemes

_POSITION = re.compile(r"error at (\d+):(\d+):\s*(.*)", re.DOTALL)
_DECLARATION = re.compile(r"PREFIX\s+([^\s:]*):", re.IGNORECASE)
#: Alternatives the reader can type: a quoted token or a keyword (not a character class).
_TOKEN = re.compile(r'^"(?:[^"\\]|\\.)+"$|^[A-Za-z][A-Za-z_]*$')
#: How much of the text at the error's place is quoted.
NEAR_CHARS = 24
#: Tokens that close something: named first among the alternatives.
_CLOSERS = ("}", ")", "]", '"', "'")
#: How many of the grammar's alternatives are named.
MAX_EXPECTED = 8

_BAD_IRI = "IRI parsing failed"
#: The parser's own explanations, by the words it uses: the key of what a reader would say.
_EXPLANATIONS = {_BAD_IRI: "syntax_bad_iri",
                 "The SELECT contains a variable that is unbound": "syntax_unbound_select"}
#: The words of a syntax error, in the one table of bilingual words (keys ``syntax_*``).
add_messages({f"syntax_{key}": entry for key, entry in {
    "bad_iri": {"en": "an IRI here is not valid (spaces, or a character an IRI cannot hold)",
                "zh": "此处的 IRI 无效（含空格或 IRI 不允许的字符）"},
    "unbound_select": {"en": "the SELECT names a variable that the GROUP BY does not bind",
                       "zh": "SELECT 中的变量未被 GROUP BY 绑定"},
    "at": {"en": "SPARQL syntax error at line {line}, column {column}",
           "zh": "SPARQL 语法错误：第 {line} 行第 {column} 列"},
    "near": {"en": ", near `{near}`", "zh": "，位于 `{near}` 附近"},
    "end": {"en": ", at the end of the query", "zh": "，位于查询末尾"},
    "prefix": {"en": "the prefix `{prefix}:` is not declared; add `{declaration}` before "
                     "the query",
               "zh": "前缀 `{prefix}:` 未声明；请在查询前加上 `{declaration}`"},
    "prefix_unknown": {"en": "the prefix `{prefix}:` is not declared; declare it with "
                             "`PREFIX {prefix}: <…>` before the query",
                       "zh": "前缀 `{prefix}:` 未声明；请在查询前用 `PREFIX {prefix}: <…>` 声明"},
    "early": {"en": "the query ends before the `{opener}` of line {line}, column {column} is "
                    "closed",
              "zh": "查询在第 {line} 行第 {column} 列的 `{opener}` 闭合之前就结束了"},
    "ending": {"en": "the query's end is not what the grammar allows; expected {expected}",
               "zh": "查询的结尾不符合语法；此处应为 {expected}"},
    "expected": {"en": "expected {expected}", "zh": "此处应为 {expected}"},
    "one_of": {"en": "one of ", "zh": "以下之一："},
    "start": {"en": "a query begins with SELECT, CONSTRUCT, ASK or DESCRIBE, after any BASE "
                    "and PREFIX declarations",
              "zh": "查询应以 SELECT、CONSTRUCT、ASK 或 DESCRIBE 开头"
                    "（其前可有 BASE 与 PREFIX 声明）"},
    "unexpected": {"en": "this text is not what the grammar allows here",
                   "zh": "此处的文本不符合 SPARQL 语法"},
}.items()})


@dataclass(frozen=True)
class SyntaxProblem:
    """Where a query's syntax fails and why, ready to be said in either language."""

    line: int
    column: int
    near: str
    #: ``prefix``, ``prefix_unknown``, ``explained``, ``early`` (text left open), ``ending``,
    #: ``expected``, ``start`` (no query form) or ``unexpected``
    kind: str
    prefix: str = ""
    expected: tuple[str, ...] = ()
    explanation: str = ""
    #: what is left open, for ``early``: the text that opens it, its line and column
    opened: tuple[str, int, int] = ("", 0, 0)

    def describe(self, lang: str = "en") -> str:
        """One line, in ``lang`` (``en`` or ``zh``)."""
        head = translate("syntax_at", lang).format(line=self.line, column=self.column)
        head += (translate("syntax_near", lang).format(near=self.near) if self.near
                 else translate("syntax_end", lang))
        return f"{head}: {self._cause(lang)}" if lang == "en" else f"{head}：{self._cause(lang)}"

    def messages(self) -> dict[str, str]:
        """The description in every language HODO speaks."""
        return {lang: self.describe(lang) for lang in LANGUAGES}

    def _cause(self, lang: str) -> str:
        if self.kind == "prefix":
            declaration = f"PREFIX {self.prefix}: <{PREFIXES[self.prefix]}>"
            return translate("syntax_prefix", lang).format(prefix=self.prefix,
                                                           declaration=declaration)
        if self.kind == "explained":
            return translate(_EXPLANATIONS[self.explanation], lang)
        if self.kind == "early":
            opener, line, column = self.opened
            return translate("syntax_early", lang).format(opener=opener, line=line, column=column)
        if self.kind in ("ending", "expected"):
            listed = ", ".join(f"`{item}`" for item in self.expected)
            many = translate("syntax_one_of", lang) if len(self.expected) > 1 else ""
            return translate(f"syntax_{self.kind}", lang).format(expected=many + listed)
        return translate(f"syntax_{self.kind}", lang).format(prefix=self.prefix)


def explain(query: str, parser_message: str) -> SyntaxProblem:
    """The problem the parser's message reports, read against the query's own text."""
    match = _POSITION.match(parser_message.strip())
    line, column, rest = (int(match[1]), int(match[2]), match[3]) if match else (1, 1, "")
    undeclared = _first_undeclared(query)
    if undeclared is not None:
        prefix, line, column = undeclared
        kind = "prefix" if prefix in PREFIXES else "prefix_unknown"
        return SyntaxProblem(line, column, _near(query, line, column), kind, prefix=prefix)
    near = _near(query, line, column)
    alternatives = _alternatives(rest)
    for phrase in _EXPLANATIONS:
        if phrase in alternatives:
            if phrase == _BAD_IRI:  # the parser names the IRI's end: point at its start
                line, column = _iri_start(query, line, column)
                near = _near(query, line, column)
            return SyntaxProblem(line, column, near, "explained", explanation=phrase)
    at_end = not near
    opened = _left_open(query) if at_end else None
    if opened is not None:
        return SyntaxProblem(line, column, near, "early", opened=opened)
    if at_end:  # the engine names the end; another parser may name the place
        place = _second_reading(query)
        if place is not None and _near(query, *place):
            line, column = place
            kind = "start" if place == (1, 1) else "unexpected"
            return SyntaxProblem(line, column, _near(query, line, column), kind)
    readable = [a[1:-1].replace('\\"', '"').replace("\\\\", "\\") if a.startswith('"') else a
                for a in alternatives if _TOKEN.match(a)]
    # what closes what is open first: the likeliest mend
    expected = tuple(sorted(readable, key=lambda a: a not in _CLOSERS))[:MAX_EXPECTED]
    if not expected:
        return SyntaxProblem(line, column, near, "unexpected")
    return SyntaxProblem(line, column, near, "ending" if at_end else "expected",
                         expected=expected)


def _second_reading(query: str) -> tuple[int, int] | None:
    """Where rdflib's parser stops reading ``query``, when that is before its end.

    The engine's parser reports the furthest place it looked ahead to, often the end of the
    text; rdflib's reports the first word it could not take (``LIMT`` in ``} LIMT 3``).
    """
    from rdflib.plugins.sparql import prepareQuery  # heavy, and needed only for errors

    try:
        prepareQuery(query)
    except ParseException as error:
        return int(error.lineno), int(error.col)
    except Exception:  # any other failure of the second reading: keep the engine's place
        return None
    return None


def _left_open(query: str) -> tuple[str, int, int] | None:
    """The first string, ``{`` or ``(`` of the query that is never closed: the text that opens
    it, and its line and column."""
    opened: list[tuple[str, int]] = []
    offset = 0
    for lexeme in lexemes(query):
        text = lexeme.group(0)
        if text[:1] in "\"'" and (len(text) < 2 or not text.endswith(text[0] * _quotes(text))):
            return (text[:_quotes(text)], *_line_column(query, offset))
        if text in "{(" and text:
            opened.append((text, offset))
        elif text in "})" and text and opened:
            if opened[-1][0] != {"}": "{", ")": "("}[text]:  # closes what is not open here
                return (opened[-1][0], *_line_column(query, opened[-1][1]))
            opened.pop()
        offset = lexeme.end()
    if not opened:
        return None
    text, start = opened[0]
    return (text, *_line_column(query, start))


def _quotes(string: str) -> int:
    """How many quote characters open ``string`` (one, or three for a long string)."""
    return 3 if string[:3] in ('"""', "'''") else 1


def _alternatives(rest: str) -> list[str]:
    """The grammar's alternatives as the parser lists them after ``expected (one of)``."""
    text = re.sub(r"^expected(?: one of)?\s*", "", rest.strip())
    items, depth, current = [], 0, ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        if char == "," and depth == 0 and not _in_quotes(current):
            items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip().rstrip("…").strip())
    return items


def _in_quotes(text: str) -> bool:
    """Whether ``text`` (an alternative being read) is inside an open double quote."""
    stripped = text.strip()
    return stripped.startswith('"') and (len(stripped) == 1 or not _closed(stripped))


def _closed(quoted: str) -> bool:
    escaped = False
    for char in quoted[1:]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return True
    return False


def _first_undeclared(query: str) -> tuple[str, int, int] | None:
    """The first prefixed name whose prefix the query does not declare: prefix, line, column."""
    declared = set(_DECLARATION.findall(query))
    offset = 0
    for lexeme in lexemes(query):
        name = lexeme["pname"]
        if name is not None and not query[:offset].endswith("<"):  # not an IRI with a flaw
            prefix = name.split(":", 1)[0]
            if prefix not in declared:
                line, column = _line_column(query, offset)
                return prefix, line, column
        offset = lexeme.end()
    return None


def _iri_start(query: str, line: int, column: int) -> tuple[int, int]:
    """The place of the last ``<`` before line ``line``, column ``column``."""
    lines = query.splitlines(keepends=True)
    offset = sum(len(text) for text in lines[:line - 1]) + column - 1
    start = query.rfind("<", 0, offset)
    return _line_column(query, start) if start >= 0 else (line, column)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _near(query: str, line: int, column: int) -> str:
    """Up to ``NEAR_CHARS`` characters of the text from the error's place, on one line."""
    lines = query.splitlines() or [""]
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1][column - 1:].strip()
    if not text and line < len(lines):  # the place is a line's end: quote what follows
        text = " ".join(rest.strip() for rest in lines[line:] if rest.strip())
    return _shorten(text)


def _shorten(text: str) -> str:
    text = " ".join(text.split()).replace("`", "'")
    return text if len(text) <= NEAR_CHARS else text[:NEAR_CHARS - 1] + "…"

