"""The one lexer of SPARQL text: the query checks (``hodo.engine.query``: keywords, the normal
form a cache keys on) and the remote backend's substitution (``hodo.engine.remote``) read a
query with it, so that they cannot disagree about where a string, an IRI or a comment ends.

Linear on any input: a string left open runs to the end of its line (or text), and a prefixed
name is tried only where a name starts, without backtracking. Every character of the text is
in exactly one lexeme, so joining the lexemes gives the text back.

>>> [m.group(0) for m in lexemes('SELECT ?s { ?s ex:p "a b"@en }') if m.group(0) != " "]
['SELECT', '?s', '{', '?s', 'ex:p', '"a b"', '@en', '}']
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: Groups: ``var`` (a variable's name), ``pname`` (a prefixed name), ``word`` (a bare word:
#: a keyword, or a function's name).
LEXEME = re.compile(r"""
    "{3}(?:[^"\\]|\\.|"(?!""))*(?:"{3}|\Z)                               # long strings
  | '{3}(?:[^'\\]|\\.|'(?!''))*(?:'{3}|\Z)
  | "(?:[^"\\\n\r]|\\.)*"? | '(?:[^'\\\n\r]|\\.)*'?                     # strings
  | <[^<>"{}|^`\\\x00-\x20]*>                                          # IRIs
  | \#[^\n\r]*                                                         # comments
  | [?$](?P<var>\w+)                                                   # variables
  | @[A-Za-z]+(?:-[A-Za-z0-9]+)*                                       # language tags
  | (?P<pname>(?<![\w.-])(?:[^\W\d_][\w.-]*+)?:(?:[\w.:%-]|\\.)*)   # prefixed names
  | (?P<word>[^\W\d]\w*)                                               # keywords
  | .
""", re.VERBOSE | re.DOTALL)


def lexemes(text: str) -> Iterator[re.Match[str]]:
    """The lexemes of ``text``, in order; white space is one lexeme per character."""
    return LEXEME.finditer(text)
