"""Helpers shared by the test modules; no test module imports another.

- ``net``: a free port, a listener that records connections, a fake HTTP server.
- ``server``: ``hodo serve`` and the Oxigraph server as real processes, a raw HTTP client for
  them, and the process tree below a server.
- ``integrity``: fingerprints of the served data and of the release files.
- ``queries``: queries every server and sandbox test needs (fast, slow, memory-hungry, SERVICE).
- ``browser``: headless Chromium through Playwright, with no request leaving the host.
- ``hostile``: statements a careless publisher would turn into script, and an HTML audit.
"""

from __future__ import annotations

from pathlib import Path

#: The test data folder (``tests/data``).
DATA = Path(__file__).resolve().parent.parent / "data"
