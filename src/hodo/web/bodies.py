"""Request bodies read only up to a cap, whether the client sent a length or not.

A chunked body carries no ``Content-Length``, so a check of the header alone lets it through,
and reading it whole first (``request.get_data()`` without a limit) takes as much memory as the
client cares to send. Both readers here stop one byte past the cap: that byte tells a body
longer than the cap from one exactly as long, without reading the rest. Granian and gunicorn
end a chunked body themselves and say so (``wsgi.input_terminated``); a server that does
neither gives Werkzeug's empty stream.
"""

from __future__ import annotations

from typing import IO, Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

#: Bytes asked of the server per read: the most a reader holds beyond what it keeps.
CHUNK = 64 * 1024


def request_body(limit: int) -> bytes | None:
    """The current request's body, or None when it is longer than ``limit`` bytes.

    At most ``limit + 1`` bytes are read. The body is kept on the request, so that
    ``request.form`` and ``request.files`` parse these bytes and never read the client again.
    """
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:  # a Content-Length over the cap: nothing was read
        return None
    return None if len(data) > limit else data


def wsgi_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """The body of a raw WSGI request, at most ``limit + 1`` bytes of it (below Flask).

    None when it cannot be read safely here: a ``Content-Length`` that is not a number or is
    over ``limit`` (nothing is read), or no length from a server that does not end the body.
    """
    length = environ.get("CONTENT_LENGTH") or ""
    stream: IO[bytes] = environ["wsgi.input"]
    if length:
        if not length.isdigit() or int(length) > limit:
            return None
        return read_capped(stream, int(length))
    if not environ.get("wsgi.input_terminated"):
        return None
    return read_capped(stream, limit + 1)


def read_capped(stream: IO[bytes], most: int) -> bytes:
    """Up to ``most`` bytes of ``stream``, read a chunk at a time until it ends."""
    parts: list[bytes] = []
    left = most
    while left > 0:
        part = stream.read(min(CHUNK, left))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
