"""Pure helpers for the first bytes of a response body: bounded decoding and page signs.

httpx 0.28 inflates a 600-byte ``Content-Encoding: gzip, gzip`` body into one 256 MiB chunk,
so the checker reads raw bytes and inflates them here, never past ``limit`` output bytes.
"""

from __future__ import annotations

import functools
import html
import re
import zlib
from collections.abc import Sequence

_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def content_codings(header: str | None) -> list[str]:
    """The ``Content-Encoding`` codings in the order they were applied."""
    if not header:
        return []
    return [
        c.strip().lower() for c in header.split(",") if c.strip().lower() not in ("", "identity")
    ]


def decode_bounded(raw: bytes, codings: Sequence[str], limit: int) -> bytes:
    """Undo ``codings`` (last applied first), producing at most ``limit`` bytes.

    Unknown codings (``br``, ``zstd``) leave the body undecoded: the page signs are then
    simply not found, which errs towards "alive". A truncated or corrupt stream yields
    whatever decoded cleanly.
    """
    data = raw
    for coding in reversed(codings):
        wbits = _ENCODINGS.get(coding)
        if wbits is None:
            return b""
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, limit)
        except zlib.error:
            if coding != "deflate":
                return b""
            try:  # "deflate" is sometimes sent raw, without the zlib header
                out = zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, limit)
            except zlib.error:
                return b""
        data = out
    return data[:limit]


def _text(fragment: bytes) -> str:
    text = fragment.decode("utf-8", "replace")
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", text))).strip()[:300]


@functools.lru_cache(maxsize=256)
def page_title(body: bytes) -> str | None:
    """The ``<title>`` text (remembered: the classifier and the probe logic both ask, and a
    bytes object caches its own hash, so asking again costs a dictionary lookup)."""
    match = _TITLE.search(body)
    return _text(match.group(1)) if match else None


@functools.lru_cache(maxsize=256)
def first_heading(body: bytes) -> str | None:
    """The first ``<h1>`` text (remembered, as ``page_title``)."""
    match = _H1.search(body)
    return _text(match.group(1)) if match else None
