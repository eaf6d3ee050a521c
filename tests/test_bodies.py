"""Bounded decoding of response bodies, and page titles."""

from __future__ import annotations

import gzip
import zlib

from verifier.web.bodies import content_codings, decode_bounded, first_heading, page_title


def test_stacked_gzip_bomb_inflates_only_to_the_limit() -> None:
    inner = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    bomb = gzip.compress(inner, compresslevel=9)
    assert len(bomb) < 200_000
    decoded = decode_bounded(bomb, content_codings("gzip, gzip"), 65_536)
    assert len(decoded) == 65_536


def test_deflate_with_and_without_zlib_header() -> None:
    page = b"<title>Hello</title>"
    assert decode_bounded(zlib.compress(page), ["deflate"], 1000) == page
    raw = zlib.compressobj(wbits=-15)
    assert decode_bounded(raw.compress(page) + raw.flush(), ["deflate"], 1000) == page


def test_unknown_or_corrupt_encodings_yield_nothing() -> None:
    assert decode_bounded(b"\x00garbage", ["gzip"], 1000) == b""
    assert decode_bounded(b"anything", ["br"], 1000) == b""


def test_titles_and_headings_are_text() -> None:
    body = b"<html><TITLE> Page &amp; <b>Not</b>\n Found </TITLE><h1 class=x>Oops</h1>"
    assert page_title(body) == "Page & Not Found"
    assert first_heading(body) == "Oops"
    assert page_title(b"<p>none</p>") is None
