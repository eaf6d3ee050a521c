"""Pure: a body as the text of an HTML page, and the small text tools the page readers share.

Decoding follows the WHATWG order (byte-order mark, the header's charset, ``<meta charset>``,
UTF-8), with the labels browsers read as a superset; a body that is not HTML is refused
before decoding (its type, a PDF or JSON start) or after (no markup). The rest reduce what
the readers find: ``clean`` (entities, whitespace, a length cap), ``name_key`` (a name as it
is compared), ``markup_text`` (the text of a small piece of markup, by regex) and
``in_raw_text`` (whether a place in the body is inside a script or a comment, where a tag is
only characters).
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterable

from selectolax.lexbor import LexborNode

from verifier.citation.facts import Seen


def split_words(words: str) -> tuple[str, ...]:
    """Word lists written as prose keep the readers' constants readable."""
    return tuple(words.split())


def word_set(words: str) -> frozenset[str]:
    return frozenset(split_words(words))


MAX_TEXT = 300
"""Characters kept of any text read (a title longer than this is not a title)."""
CHARSET_SCAN = 4096
"""Bytes searched for ``<meta charset>`` (browsers look at 1024; some pages put it later)."""
TRIES = 5
"""Elements searched for alone in the body (``<h1>``, ``<time>``) tried before giving up
(logos, unparseable dates)."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CODEC_ALIASES = {
    # WHATWG Encoding Standard: these labels mean the superset a browser uses
    **dict.fromkeys(
        ("iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "ascii"),
        "cp1252",
    ),
    "us-ascii": "cp1252",
    "gb2312": "gbk",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "tis-620": "cp874",
    "iso-8859-9": "cp1254",
    "utf-7": "utf-8",  # never honoured by browsers (it hides markup)
}
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_SNIFFED_TYPES = word_set(
    "text/plain text/xml application/xml application/octet-stream binary/octet-stream "
    "application/unknown unknown/unknown"
)
"""Vague content types: the body decides whether it is HTML."""
_ANY_MARKUP = re.compile(r"<[A-Za-z!]")
_HTML_MARKUP = re.compile(r"<(?:!doctype\s+html|html|head|title|body)\b", re.IGNORECASE)
_INVISIBLE_TEXT = re.compile(
    r"<!--.*?-->|<(script|style|svg|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]*>")
_NOT_ALNUM = re.compile(r"[\W_]+")


# Decoding


def decode(body: bytes, content_type: str | None = None) -> str:
    """The body as text: BOM, then the header's charset, then ``<meta charset>``, then UTF-8
    (the WHATWG order); undecodable bytes become U+FFFD."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, "replace")
    header = _HEADER_CHARSET.search(content_type or "")
    meta = None if header else _META_CHARSET.search(body[:CHARSET_SCAN])
    label = header.group(1) if header else meta.group(1).decode("ascii") if meta else None
    try:
        return body.decode(_codec(label), "replace")
    except LookupError:  # a bytes-to-bytes codec ("hex", "zlib") is no text encoding
        return body.decode("utf-8", "replace")


def _codec(label: str | None) -> str:
    if not label:
        return "utf-8"
    label = label.lower()
    if label in _CODEC_ALIASES:
        return _CODEC_ALIASES[label]
    if label.startswith("utf-16"):
        return "utf-8"  # a <meta> that says UTF-16 was read as ASCII: it is wrong (WHATWG)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return "utf-8"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def may_be_html(body: bytes, content_type: str | None) -> bool:
    """Cheap refusals before decoding: a non-HTML type, a PDF or JSON body."""
    media = _media_type(content_type)
    if media and "html" not in media and media not in _SNIFFED_TYPES:
        return False
    start = body[:64].lstrip()
    return not start.startswith((b"%PDF-", b"{", b"["))


def looks_like_html(text: str, content_type: str | None) -> bool:
    """Any markup for an HTML (or missing) type; HTML's own tags for a vague one."""
    if _media_type(content_type) in _SNIFFED_TYPES:
        return _HTML_MARKUP.search(text) is not None
    return _ANY_MARKUP.search(text) is not None


# Text


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
"""C0 and C1 controls but the whitespace ones (tab, newline, form feed, carriage return)."""


def clean(text: str | None) -> str:
    """Entities decoded (once more: sites double-escape, and JSON-LD is not HTML-decoded),
    control characters dropped (a stranger's page text reaches terminals and reports),
    whitespace collapsed, capped at ``MAX_TEXT``."""
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROLS.sub("", text)
    return " ".join(text.split())[:MAX_TEXT].rstrip()


def name_key(text: str) -> str:
    """A name reduced for comparison: case, punctuation, spaces and a leading "The" ignored."""
    return _NOT_ALNUM.sub("", text.casefold().strip().removeprefix("the "))


def node_text(node: LexborNode) -> str:
    return clean(node.text(deep=True, separator=" "))


def markup_text(markup: str) -> str:
    """The text of a small piece of markup, by regex (a parser costs more than the piece)."""
    return clean(_TAG.sub(" ", _INVISIBLE_TEXT.sub(" ", markup)))


def in_raw_text(text: str, start: int, pos: int) -> bool:
    """Is ``pos`` inside a ``<script>`` or a comment (where ``<h1>`` is just characters)?"""
    if text.rfind("<script", start, pos) > text.rfind("</script", start, pos):
        return True
    return text.rfind("<!--", start, pos) > text.rfind("-->", start, pos)


def dedupe(seen: Iterable[Seen]) -> list[Seen]:
    """Empty texts and case-insensitive repeats dropped, the first kept."""
    kept: dict[str, Seen] = {}
    for item in seen:
        if item.text:
            kept.setdefault(item.text.casefold(), item)
    return list(kept.values())
