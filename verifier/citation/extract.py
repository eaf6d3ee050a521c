"""Page facts from the first bytes of a GET: titles, site names, dates, canonical URL, kind.

Only the ``<head>`` is parsed as a tree (Lexbor: fast, and it never fetches anything). The
body is searched for its first ``<h1>``, ``<time datetime>`` and JSON-LD blocks, each read
alone, so a 60 KiB page costs little more than its head. Only a page with neither title
metadata nor a heading is parsed whole, to tell a script shell or a consent wall from a
plain page. This module reads the head, the titles and the site names and puts the facts
together; decoding and text tools are ``page_text``'s, JSON-LD ``jsonld``'s, dates
``page_dates``' and the kind of page ``page_kinds``'.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from verifier.citation.facts import PageFacts, Seen, SiteSource, TitleSource
from verifier.citation.jsonld import ld_headline, ld_objects, main_object, publisher_names
from verifier.citation.page_dates import read_dates
from verifier.citation.page_kinds import page_kind
from verifier.citation.page_text import (
    TRIES,
    clean,
    decode,
    dedupe,
    in_raw_text,
    looks_like_html,
    markup_text,
    may_be_html,
    name_key,
    node_text,
)

_HEAD_END = re.compile(r"</head\s*>|<body\b", re.IGNORECASE)
_TITLE_END = re.compile(r"</title\s*>", re.IGNORECASE)
_H1_OPEN = re.compile(r"<h1\b", re.IGNORECASE)
_H1_CLOSE = re.compile(r"</h1\s*>", re.IGNORECASE)
_H1_MAX = 4000
"""Characters of markup an ``<h1>`` may span (inline SVG icons included)."""
_SEPARATOR = re.compile(r"(\s+(?:[|\-–—·•»]|::)\s+)")
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_SECOND_LEVELS = frozenset({"co", "com", "org", "net", "gov", "ac", "edu", "gob", "or", "ne"})
"""``bbc.co.uk``, ``abc.net.au``: the registrable label is the third from the right."""


@dataclass(frozen=True, slots=True)
class _Page:
    """What the readers below share: the text, where its body starts, the head's facts."""

    text: str
    url: str
    body_start: int
    metas: dict[str, str]
    main: dict[str, Any] | None
    known: set[str]
    """Site names and host forms, reduced by ``name_key``: what a title part naming the site
    is."""


@dataclass(frozen=True, slots=True)
class _Heading:
    """The page's first ``<h1>`` of its own, and where in the text it starts."""

    text: str
    start: int


def page_facts(
    body: bytes, url: str, content_type: str | None = None, *, today: dt.date | None = None
) -> PageFacts | None:
    """The facts of an HTML page, or None when the body is not HTML.

    ``today`` bounds the dates a page may claim (the clock is injected for tests).
    """
    if not may_be_html(body, content_type):
        return None
    text = decode(body, content_type)
    if not looks_like_html(text, content_type):
        return None
    head_end = _head_end(text)
    head = _read_head(LexborHTMLParser(text[:head_end]), text[:head_end])
    metas = head.metas
    objects = ld_objects(text)
    main = main_object(objects)
    site_names = _meta_site_names(metas, objects, main)
    known = ({name_key(seen.text) for seen in site_names} | _host_keys(url)) - {""}
    body_start = head_end if head_end < len(text) else 0  # no head: search it all
    page = _Page(text, url, body_start, metas, main, known)
    title = head.title
    stripped, removed = strip_site_name(title, known) if title else ("", [])
    site_names += [Seen(source=SiteSource.TITLE_SUFFIX, text=part) for part in removed]
    h1 = _first_h1(page)
    candidates = _title_candidates(page, title, stripped, h1.text)
    titles = dedupe(candidates)
    dates = read_dates(
        text,
        url,
        metas=metas,
        main=main,
        objects=objects,
        times_from=h1.start if h1.text else body_start,  # a masthead's date is not the page's
        today=today or dt.date.today(),
    )
    return PageFacts(
        titles=titles,
        site_names=dedupe(site_names),
        dates=dates,
        canonical=_canonical(head, url),
        kind=page_kind(text, url, candidates, h1.text),
    )


# The head


def _head_end(text: str) -> int:
    """Where the head ends (``</head>`` or ``<body``), or the end of the text."""
    end = text.find("</head>")  # the usual spelling, found ten times faster than by regex
    if end != -1:
        return end + len("</head>")
    match = _HEAD_END.search(text)
    return match.end() if match else len(text)


@dataclass(slots=True)
class _Head:
    """What the ``<head>`` says, read in one pass over its elements."""

    metas: dict[str, str] = field(default_factory=dict)
    """The first ``content`` of each meta ``property``, ``name`` or ``itemprop``
    (lowercased)."""
    title: str = ""
    canonical: str | None = None
    """The ``href`` of ``<link rel=canonical>``, as written."""


def _read_head(tree: LexborHTMLParser, head_text: str) -> _Head:
    """One selector for all (Lexbor compiles each selector anew, so one costs less)."""
    head = _Head()
    seen_title = False
    for node in tree.css("meta, title, link"):
        attrs = node.attributes
        if node.tag == "meta":
            content = attrs.get("content")
            for attr in ("property", "name", "itemprop") if content else ():
                name = attrs.get(attr)
                if name:
                    head.metas.setdefault(name.strip().lower(), content or "")
        elif node.tag == "title":
            if not seen_title and not _inside(node, "svg"):
                seen_title = True
                head.title = _title(node, head_text)
        elif head.canonical is None and _is_canonical(attrs.get("rel")):
            head.canonical = attrs.get("href")
    return head


def _title(node: LexborNode, head_text: str) -> str:
    """The ``<title>`` text; none when the body was cut inside it (a partial title misleads)."""
    return node_text(node) if _TITLE_END.search(head_text) else ""


def _is_canonical(rel: str | None) -> bool:
    return "canonical" in (rel or "").lower().split()


def _inside(node: LexborNode, tag: str) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == tag:
            return True
        parent = parent.parent
    return False


def _canonical(head: _Head, url: str) -> str | None:
    """``<link rel=canonical>``, else ``og:url``, made absolute against the page's URL."""
    return _absolute(url, head.canonical) or _absolute(url, head.metas.get("og:url"))


def _absolute(base: str, href: str | None) -> str | None:
    href = (href or "").strip()
    if not href:
        return None
    try:
        joined = urljoin(base, href)
    except ValueError:  # a malformed IPv6 host, for one
        return None
    return joined if urlsplit(joined).scheme in ("http", "https") else None


# Site names and titles


def _meta_site_names(
    metas: dict[str, str], objects: list[dict[str, Any]], main: dict[str, Any] | None
) -> list[Seen]:
    seen = [Seen(source=SiteSource.OG, text=clean(metas.get("og:site_name")))]
    seen += [Seen(source=SiteSource.JSON_LD, text=name) for name in publisher_names(main, objects)]
    seen.append(Seen(source=SiteSource.APPLICATION, text=clean(metas.get("application-name"))))
    return dedupe(seen)


def _host_keys(url: str) -> set[str]:
    """What a title part that names the host looks like: ``nytimes.com``, ``nytimes``."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return set()
    for prefix in _HOST_PREFIXES:
        host = host.removeprefix(prefix)
    labels = [label for label in host.split(".") if label]
    if len(labels) < 2:
        return {name_key(host)} - {""}
    second = len(labels) >= 3 and labels[-2] in _SECOND_LEVELS and len(labels[-1]) == 2
    label = labels[-3] if second else labels[-2]
    domain = ".".join(labels[-3:] if second else labels[-2:])
    return {name_key(host), name_key(domain), name_key(label)} - {""}


def strip_site_name(title: str, known: set[str]) -> tuple[str, list[str]]:
    """The title without the parts that name the site, and those parts.

    Leading and trailing parts (between spaced separators, or before/after ``": "``) that
    match a known site name or the host go. When none matches, a short trailing part (at
    most four words) shorter than the rest is taken for the site's name: "Senate passes
    bill | Example News".
    """
    pieces = _SEPARATOR.split(title)
    parts, separators = [p.strip() for p in pieces[0::2]], pieces[1::2]
    removed: list[str] = []
    while len(parts) > 1 and name_key(parts[-1]) in known:
        removed.append(parts.pop())
        separators.pop()
    while len(parts) > 1 and name_key(parts[0]) in known:
        removed.append(parts.pop(0))
        separators.pop(0)
    stripped, named = _strip_colon_name(_join(parts, separators), known)
    if named:
        return stripped, [*removed, named]
    if not removed and len(parts) > 1:
        last, rest = parts[-1], _join(parts[:-1], separators[:-1])
        if len(last.split()) <= 4 and len(rest) > len(last):
            return rest, [last]
    return stripped, removed


def _strip_colon_name(title: str, known: set[str]) -> tuple[str, str]:
    """ "NPR: Senate passes bill", "Senate passes bill : NPR": the title, and the name."""
    before, colon, after = title.partition(": ")
    if colon and after.strip() and name_key(before) in known:
        return after.strip(), before.strip()
    before, colon, after = title.rpartition(": ")
    if colon and before.strip() and name_key(after) in known:
        return before.strip(), after.strip()
    return title, ""


def _join(parts: list[str], separators: list[str]) -> str:
    out = parts[0]
    for separator, part in zip(separators, parts[1:], strict=True):
        out += separator + part
    return " ".join(out.split())


_NO_HEADING = _Heading("", -1)


def _first_h1(page: _Page) -> _Heading:
    """The first ``<h1>`` with text of its own (not a logo, not the site's name), read alone
    from the body; one cut off before its ``</h1>`` is not read."""
    text, start, tries = page.text, page.body_start, 0
    for match in _H1_OPEN.finditer(text, start):
        if in_raw_text(text, start, match.start()):
            continue
        close = _H1_CLOSE.search(text, match.start(), match.start() + _H1_MAX)
        if close is None:
            return _NO_HEADING
        heading = markup_text(text[text.find(">", match.end()) + 1 : close.start()])
        if heading and name_key(heading) not in page.known:
            return _Heading(heading, match.start())
        tries += 1
        if tries >= TRIES:
            break
    return _NO_HEADING


def _title_candidates(page: _Page, title: str, stripped: str, h1: str) -> list[Seen]:
    """Every title read, by source (empty when the source said nothing), repeats kept."""
    return [
        Seen(source=TitleSource.TITLE, text=stripped),
        Seen(source=TitleSource.TITLE_FULL, text=title if stripped != title else ""),
        Seen(source=TitleSource.OG, text=clean(page.metas.get("og:title"))),
        Seen(source=TitleSource.TWITTER, text=clean(page.metas.get("twitter:title"))),
        Seen(source=TitleSource.JSON_LD, text=ld_headline(page.main)),
        Seen(source=TitleSource.H1, text=h1),
    ]
