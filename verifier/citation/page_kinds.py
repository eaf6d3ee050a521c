"""Pure: what stands at a page's address — the page, a consent wall, or a script shell.

A consent wall is told by its host (``consent.google.com``), its title ("Before you
continue") or a short body most of which is about cookies; a script shell (a single-page
app's document) by no heading of its own, almost no visible text in a document read to its
end, and a body that is script or an empty mount point (``<div id="root">``), whatever its
title. Metadata that names the page or a heading of its own make it the page at once; only
the rest are parsed whole (Lexbor), which is the costly part of reading a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from verifier.citation.facts import PageKind, Seen, TitleSource

SHELL_TEXT = 200
"""Visible characters below which a page without a heading may be a script shell."""
CONSENT_TEXT = 1500
"""Visible characters below which a page full of consent words is a consent wall."""

_CONSENT_HOST_LABELS = frozenset({"consent", "guce", "myprivacy"})
"""``consent.google.com``, ``guce.yahoo.com``, ``myprivacy.dpgmedia.nl``: walls by address."""
_CONSENT_TITLE = re.compile(
    r"before you continue(?: to .{1,40})?|we (?:value|care about) your privacy|"
    r"privacy consent|cookie consent",
    re.IGNORECASE,
)
_CONSENT_PHRASES = (
    re.compile(r"\bcookies?\b", re.IGNORECASE),
    re.compile(r"\bconsent\b", re.IGNORECASE),
    re.compile(r"\b(?:accept|agree|allow)(?: all)?\b|\bi accept\b", re.IGNORECASE),
    re.compile(r"\b(?:reject|decline|refuse)(?: all)?\b", re.IGNORECASE),
    re.compile(r"\b(?:our )?(?:partners|vendors)\b", re.IGNORECASE),
    re.compile(r"\bpersonali[sz]ed (?:ads|advertising|content)\b", re.IGNORECASE),
    re.compile(r"\bmanage (?:options|preferences|settings|cookies|choices)\b", re.IGNORECASE),
    re.compile(r"\blegitimate interest", re.IGNORECASE),
)
_CONSENT_WORDS = re.compile(r"\b(?:cookies?|consent|privacy)\b", re.IGNORECASE)
_CONSENT_MIN_PHRASES = 3
_MOUNTS = "#root, #app, #__next, #__nuxt, app-root"
_DOCUMENT_END = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)
_INVISIBLE = ["script", "style", "noscript", "template", "svg"]
_DESCRIBED = frozenset({TitleSource.OG, TitleSource.TWITTER, TitleSource.JSON_LD})
"""Title sources that are metadata naming the page."""


def page_kind(text: str, url: str, titles: list[Seen], h1: str) -> PageKind:
    """A consent wall or a script shell stands where the page should be, or the page.

    ``titles`` are the page's title candidates by source (repeats kept: an ``og:title``
    that repeats the ``<title>`` still names the page), ``h1`` its first heading of its
    own. A shell's ``<title>`` does not make it a page: it is often the site's name (which
    no metadata may say) or the app's, the same for every address; the judge still accepts
    a title that matches the citation.
    """
    if _consent_host(url) or any(
        _CONSENT_TITLE.fullmatch(seen.text.rstrip(" .…!")) for seen in titles
    ):
        return PageKind.CONSENT_WALL
    if any(seen.text and seen.source in _DESCRIBED for seen in titles):
        return PageKind.ARTICLE  # metadata names the page: no need to read it all
    if h1 and not _CONSENT_WORDS.search(h1):
        return PageKind.ARTICLE  # a heading of its own: neither a shell nor a consent form
    whole = _read_whole(text)
    if _consent_dominated(whole.visible):
        return PageKind.CONSENT_WALL
    scripted = whole.empty_mount or whole.script_chars * 2 >= len(text)
    shell = not h1 and whole.complete and len(whole.visible) < SHELL_TEXT and scripted
    return PageKind.SCRIPT_SHELL if shell else PageKind.ARTICLE


@dataclass(frozen=True, slots=True)
class _Whole:
    """What only a parse of the whole page tells."""

    visible: str
    """The body's text as a reader without scripts sees it (whitespace collapsed)."""
    script_chars: int
    empty_mount: bool
    """An app's mount point (``#root``, ``#__next``…) with nothing in it."""
    complete: bool
    """The document's end was read (a body cut short has more text than it shows)."""


def _read_whole(text: str) -> _Whole:
    tree = LexborHTMLParser(text)
    script_chars = sum(len(node.html or "") for node in tree.css("script"))
    mounts = tree.css(_MOUNTS)
    tree.strip_tags(_INVISIBLE)
    empty_mount = any(not node.text(strip=True) for node in mounts)
    complete = _DOCUMENT_END.search(text) is not None
    return _Whole(_visible_text(tree), script_chars, empty_mount, complete)


def _visible_text(tree: LexborHTMLParser) -> str:
    body = tree.body
    return " ".join(body.text(separator=" ").split()) if body is not None else ""


def _consent_host(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host.split(".", 1)[0] in _CONSENT_HOST_LABELS and host.count(".") >= 1


def _consent_dominated(visible: str) -> bool:
    """Little text, most of it about cookies (the caller saw no heading about anything else)."""
    if len(visible) >= CONSENT_TEXT:
        return False
    hits = sum(1 for phrase in _CONSENT_PHRASES if phrase.search(visible))
    return hits >= _CONSENT_MIN_PHRASES
