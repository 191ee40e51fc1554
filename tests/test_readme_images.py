"""The README's pictures: each exists, and each screenshot is a valid PNG of its stated width.

The screenshots are generated and committed (``python -m bench.screenshots``); a render is not
repeatable byte for byte, so they are not compared with a fresh one.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from bench import screenshots

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
IMAGES = re.findall(r"!\[([^\]]*)\]\(([^)\s]+)\)", README.read_text(encoding="utf-8"))
SHOTS = {shot.file.relative_to(ROOT).as_posix(): shot for shot in screenshots.SHOTS}


@pytest.mark.parametrize(("alt", "path"), IMAGES, ids=[path for _, path in IMAGES])
def test_every_readme_image_exists_with_alt_text(alt: str, path: str) -> None:
    assert alt.strip(), f"{path} has no alt text"
    assert (ROOT / path).is_file(), f"README names {path}, which is missing"


def test_readme_shows_every_screenshot() -> None:
    assert set(SHOTS) <= {path for _, path in IMAGES}


@pytest.mark.parametrize("path", sorted(SHOTS))
def test_screenshot_is_a_small_png_of_its_width(path: str) -> None:
    data = (ROOT / path).read_bytes()
    width, height = screenshots.png_size(data)
    assert (width, height) == (SHOTS[path].width, SHOTS[path].height)
    assert len(data) <= screenshots.MAX_BYTES


def _png(width: int, height: int) -> bytes:
    """A grey PNG made by hand, so the checker is tested on known bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (screenshots.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                                   8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_png_size_reads_a_valid_png() -> None:
    assert screenshots.png_size(_png(7, 3)) == (7, 3)


@pytest.mark.parametrize("damage", [
    lambda d: d[:-5],                                 # cut short
    lambda d: b"GIF89a" + d[6:],                      # not a PNG
    lambda d: d[:30] + bytes([d[30] ^ 1]) + d[31:],   # a flipped bit: the CRC fails
    lambda d: d[:8] + d[33:],                         # no IHDR
], ids=["truncated", "signature", "crc", "no-ihdr"])
def test_png_size_refuses_a_damaged_png(damage: object) -> None:
    with pytest.raises(ValueError):
        screenshots.png_size(damage(_png(7, 3)))  # type: ignore[operator]
