"""``python -m bench.screenshots`` (``make screenshots``): the README's pictures of the pages.

The mechanism map and a term page, each at a phone's width (390 px) and a desktop's (1280 px),
taken from ``hodo serve`` on the release in ``dist/`` with Debian's Chromium driven by
Playwright, and written to ``docs/img/`` as PNG. They are GENERATED files that are committed,
so that the README shows them: run this again after changing the pages, and commit the result.
A render is not byte-for-byte repeatable (fonts, anti-aliasing, timing), so the tests check only
that each file the README names exists, is a valid PNG and has the width ``SHOTS`` gives it.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from bench import servers

IMG = servers.ROOT / "docs" / "img"
#: The largest file a screenshot may be: the README loads all four.
MAX_BYTES = 200_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Shot:
    """One picture: the page, how wide the window is, and what part of the page it shows."""

    name: str
    path: str
    width: int
    height: int
    #: an element to scroll to the top of the window first (the map's caption), or none
    scroll_to: str = ""
    #: an element that must be present before the picture is taken (the drawn map)
    ready: str = ""

    @property
    def file(self) -> Path:
        return IMG / f"{self.name}-{self.width}.png"


PHONE, DESKTOP = (390, 844), (1280, 800)
SHOTS = tuple(
    Shot(name, path, width, height, scroll, ready)
    for name, path, scroll, ready in (
        ("map", "/map?lang=en", "#map-help", ".hodo-graph.graph-ready"),
        ("term", "/HODO_0000001?lang=en", "", ""))
    for width, height in (PHONE, DESKTOP))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking every chunk's CRC and that the image data
    inflates; ``ValueError`` when the bytes are not a whole, valid PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG: the signature is missing")
    at, chunks, idat = len(PNG_SIGNATURE), [], b""
    while at < len(data):
        if at + 12 > len(data):
            raise ValueError("truncated chunk")
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length] or b"\0\0\0\0")
        if len(body) != length or zlib.crc32(kind + body) != crc:
            raise ValueError(f"chunk {kind!r} is damaged")
        chunks.append(kind)
        idat += body if kind == b"IDAT" else b""
        at += 12 + length
    if not chunks or chunks[0] != b"IHDR" or chunks[-1] != b"IEND" or not idat:
        raise ValueError("not a PNG: IHDR, IDAT or IEND is missing")
    width, height = struct.unpack(">II", data[16:24])
    zlib.decompress(idat)  # raises zlib.error (a ValueError) when the image data is damaged
    return width, height


def take(dist: Path, shots: tuple[Shot, ...] = SHOTS) -> list[Path]:
    """Serve the release and take every picture; the files written."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("error: Chromium is not installed (apt-get install chromium)")
    logs = servers.ROOT / ".cache" / "bench" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    IMG.mkdir(parents=True, exist_ok=True)
    server = servers.start_hodo(dist, 1, logs / "screenshots.log")
    written = []
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
            try:
                for shot in shots:
                    written.append(_take(browser, server.target.port, shot))
            finally:
                browser.close()
    finally:
        server.stop()
    return written


def _take(browser: object, port: int, shot: Shot) -> Path:
    page = browser.new_page(  # type: ignore[attr-defined]
        viewport={"width": shot.width, "height": shot.height}, locale="en-GB")
    try:
        page.goto(f"http://127.0.0.1:{port}{shot.path}", wait_until="networkidle")
        if shot.ready:
            page.wait_for_selector(shot.ready, timeout=30_000)
        if shot.scroll_to:
            page.eval_on_selector(shot.scroll_to, "e => window.scrollTo(0, "
                                  "e.getBoundingClientRect().top + window.scrollY - 8)")
        page.evaluate("document.fonts.ready")
        data = page.screenshot(type="png")
    finally:
        page.close()
    shot.file.write_bytes(_smaller(data))
    return shot.file


def _smaller(data: bytes) -> bytes:
    """The PNG in a palette of 256 colours when Pillow is installed (a third of the size; the
    octree keeps the small swatches of the legend in their colours);
    else as Chromium wrote it."""
    try:
        from PIL import Image
    except ImportError:
        return data
    import io

    image = Image.open(io.BytesIO(data)).convert("RGB").quantize(
        colors=256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Take the pictures and say how large each is."""
    parser = argparse.ArgumentParser(prog="python -m bench.screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, default=servers.ROOT / "dist",
                        help="the release folder")
    args = parser.parse_args(argv)
    if not (args.dist / "hodo.nq").is_file():
        print(f"error: no release in {args.dist}: run hodo build first", file=sys.stderr)
        return 2
    for path in take(args.dist):
        data = path.read_bytes()
        width, height = png_size(data)
        print(f"{path.relative_to(servers.ROOT)}: {width}x{height}, {len(data):,} bytes"
              + ("  (over the limit: make it smaller)" if len(data) > MAX_BYTES else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
