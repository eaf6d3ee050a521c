"""Page facts from the first bytes of a GET: titles, site names, dates, canonical URL, kind.

Only the ``<head>`` is parsed as a tree (Lexbor: fast, and it never fetches anything). The
body is searched for its first ``<h1>``, ``<time datetime>`` and JSON-LD blocks, each read
alone, so a 60 KiB page costs little more than its head. Only a page with neither title
metadata nor a heading is parsed whole, to tell a script shell or a consent wall from a
plain page.
"""

from __future__ import annotations

import codecs
import datetime as dt
import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from verifier.citation.facts import (
    DateSource,
    PageFacts,
    PageKind,
    Seen,
    SeenDate,
    SiteSource,
    TitleSource,
)
from verifier.citation.url_dates import url_date


def _split(words: str) -> tuple[str, ...]:
    """Word lists written as prose keep the constants below readable."""
    return tuple(words.split())


def _words(words: str) -> frozenset[str]:
    return frozenset(_split(words))


MAX_TEXT = 300
"""Characters kept of any text read (a title longer than this is not a title)."""
CHARSET_SCAN = 4096
"""Bytes searched for ``<meta charset>`` (browsers look at 1024; some pages put it later)."""
SHELL_TEXT = 200
"""Visible characters below which a page without titles may be a script shell."""
CONSENT_TEXT = 1500
"""Visible characters below which a page full of consent words is a consent wall."""
TRIES = 5
"""``<h1>`` and ``<time>`` elements tried before giving up (logos, unparseable dates)."""
EARLIEST = dt.date(1990, 1, 1)
"""No cited web page is older than the web as the public knew it."""
FUTURE_SLACK = dt.timedelta(days=2)
"""Time zones and scheduled posts put honest dates a little ahead of our clock."""

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
_SNIFFED_TYPES = _words(
    "text/plain text/xml application/xml application/octet-stream binary/octet-stream "
    "application/unknown unknown/unknown"
)
"""Vague content types: the body decides whether it is HTML."""
_ANY_MARKUP = re.compile(r"<[A-Za-z!]")
_HTML_MARKUP = re.compile(r"<(?:!doctype\s+html|html|head|title|body)\b", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>|<body\b", re.IGNORECASE)
_INVISIBLE_TEXT = re.compile(
    r"<!--.*?-->|<(script|style|svg|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]*>")
_NOT_ALNUM = re.compile(r"[\W_]+")
_TITLE_END = re.compile(r"</title\s*>", re.IGNORECASE)
_H1_OPEN = re.compile(r"<h1\b", re.IGNORECASE)
_H1_CLOSE = re.compile(r"</h1\s*>", re.IGNORECASE)
_H1_MAX = 4000
"""Characters of markup an ``<h1>`` may span (inline SVG icons included)."""
_TIME = re.compile(
    r"<time\b[^>]*?(?<![\w-])datetime\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))",
    re.IGNORECASE,
)
_LD_TYPE = "application/ld+json"
_LD_WRAPPERS = (("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>"))
_LD_MAX_OBJECTS = 200

_SEPARATOR = re.compile(r"(\s+(?:[|\-–—·•»]|::)\s+)")
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_SECOND_LEVELS = frozenset({"co", "com", "org", "net", "gov", "ac", "edu", "gob", "or", "ne"})
"""``bbc.co.uk``, ``abc.net.au``: the registrable label is the third from the right."""

_ARTICLE_TYPES = _words(
    "Article NewsArticle ReportageNewsArticle AnalysisNewsArticle OpinionNewsArticle "
    "BackgroundNewsArticle ReviewNewsArticle BlogPosting LiveBlogPosting Report "
    "ScholarlyArticle TechArticle SocialMediaPosting"
)

_META_DATES = _words(
    "date pubdate publishdate publish-date publish_date dc.date dc.date.issued dcterms.created "
    "dcterms.issued dcterms.date citation_publication_date parsely-pub-date sailthru.date "
    "og:pubdate article.published datepublished"
)
"""Meta names (lowercased) that carry a publication date; ``datepublished`` is itemprop's."""
_ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)")
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_MONTH_DAY = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_MONTHS = _split(
    "january february march april may june july august september october november december"
)
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
_APP_TITLES = frozenset({"react app", "vite app", "vite + react", "loading", "loading..."})
"""Default titles of app templates: a title that names no page."""
_INVISIBLE = ["script", "style", "noscript", "template", "svg"]


@dataclass(frozen=True, slots=True)
class _Page:
    """What the readers below share: the text, where its body starts, the head's facts."""

    text: str
    url: str
    body_start: int
    metas: dict[str, str]
    objects: list[dict[str, Any]]
    main: dict[str, Any] | None
    known: set[str]
    """Site names and host forms, reduced by ``_key``: what a title part naming the site is."""


def page_facts(
    body: bytes, url: str, content_type: str | None = None, *, today: dt.date | None = None
) -> PageFacts | None:
    """The facts of an HTML page, or None when the body is not HTML.

    ``today`` bounds the dates a page may claim (the clock is injected for tests).
    """
    if not _may_be_html(body, content_type):
        return None
    text = decode(body, content_type)
    if not _looks_like_html(text, content_type):
        return None
    head_end = _head_end(text)
    head = _read_head(LexborHTMLParser(text[:head_end]), text[:head_end])
    metas = head.metas
    objects = _ld_objects(text)
    main = _main_object(objects)
    site_names = _meta_site_names(metas, objects, main)
    known = ({_key(seen.text) for seen in site_names} | _host_keys(url)) - {""}
    body_start = head_end if head_end < len(text) else 0  # no head: search it all
    page = _Page(text, url, body_start, metas, objects, main, known)
    title = head.title
    stripped, removed = strip_site_name(title, known) if title else ("", [])
    site_names += [Seen(source=SiteSource.TITLE_SUFFIX, text=part) for part in removed]
    h1 = _first_h1(page)
    titles = _titles(page, title, stripped, h1)
    return PageFacts(
        titles=titles,
        site_names=_dedupe(site_names),
        dates=_dates(page, today or dt.date.today()),
        canonical=_canonical(head, url),
        kind=_kind(page, titles, title, h1),
    )


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


def _may_be_html(body: bytes, content_type: str | None) -> bool:
    """Cheap refusals before decoding: a non-HTML type, a PDF or JSON body."""
    media = _media_type(content_type)
    if media and "html" not in media and media not in _SNIFFED_TYPES:
        return False
    start = body[:64].lstrip()
    return not start.startswith((b"%PDF-", b"{", b"["))


def _looks_like_html(text: str, content_type: str | None) -> bool:
    """Any markup for an HTML (or missing) type; HTML's own tags for a vague one."""
    if _media_type(content_type) in _SNIFFED_TYPES:
        return _HTML_MARKUP.search(text) is not None
    return _ANY_MARKUP.search(text) is not None


def _head_end(text: str) -> int:
    """Where the head ends (``</head>`` or ``<body``), or the end of the text."""
    end = text.find("</head>")  # the usual spelling, found ten times faster than by regex
    if end != -1:
        return end + len("</head>")
    match = _HEAD_END.search(text)
    return match.end() if match else len(text)


# Text


def clean(text: str | None) -> str:
    """Entities decoded (once more: sites double-escape, and JSON-LD is not HTML-decoded),
    whitespace collapsed, capped at ``MAX_TEXT``."""
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())[:MAX_TEXT].rstrip()


def _key(text: str) -> str:
    """A name reduced for comparison: case, punctuation, spaces and a leading "The" ignored."""
    return _NOT_ALNUM.sub("", text.casefold().strip().removeprefix("the "))


def _node_text(node: LexborNode) -> str:
    return clean(node.text(deep=True, separator=" "))


def _dedupe(seen: Iterable[Seen]) -> list[Seen]:
    """Empty texts and case-insensitive repeats dropped, the first kept."""
    kept: dict[str, Seen] = {}
    for item in seen:
        if item.text:
            kept.setdefault(item.text.casefold(), item)
    return list(kept.values())


# The head


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
    return _node_text(node) if _TITLE_END.search(head_text) else ""


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


# JSON-LD


def _ld_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` and ``mainEntity`` members included;
    a block that is not JSON is skipped."""
    objects: list[dict[str, Any]] = []
    for block in _ld_blocks(text):
        try:
            # strict=False: raw newlines and tabs inside strings, as many sites write them
            data = json.loads(_unwrap(block), strict=False)
        except (ValueError, RecursionError):
            continue
        _flatten(data, objects, depth=0)
    return objects


def _ld_blocks(text: str) -> Iterator[str]:
    """The text of each ``<script type="application/ld+json">`` (found by ``str.find``: a
    regex over 60 KiB costs a tenth of a millisecond)."""
    pos = 0
    while (found := text.find(_LD_TYPE, pos)) != -1:
        tag = text.rfind("<", 0, found)
        start = text.find(">", found)
        end = text.find("</script", start)
        if start == -1 or end == -1:
            return
        if text[tag : tag + 7].lower() == "<script":
            yield text[start + 1 : end].strip()
        pos = end


def _unwrap(block: str) -> str:
    """A block without the comment or CDATA markers old pages wrap scripts in."""
    for opener, closer in _LD_WRAPPERS:
        if block.startswith(opener) and block.endswith(closer):
            return block[len(opener) : -len(closer)].strip()
    return block


def _flatten(data: object, out: list[dict[str, Any]], depth: int) -> None:
    if depth > 4 or len(out) >= _LD_MAX_OBJECTS:
        return
    if isinstance(data, list):
        for item in data:
            _flatten(item, out, depth + 1)
    elif isinstance(data, dict):
        out.append(data)
        for key in ("@graph", "mainEntity"):
            if key in data:
                _flatten(data[key], out, depth + 1)


def _types(obj: dict[str, Any]) -> set[str]:
    """``@type`` names without a vocabulary prefix (``schema:NewsArticle``, a full IRI)."""
    kinds = obj.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return {re.split(r"[/:#]", name)[-1] for name in names if isinstance(name, str)}


def _main_object(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The object that describes the page: an article, else a web page, else any headline."""
    typed = [(obj, _types(obj)) for obj in objects]
    for obj, types in typed:
        if types & _ARTICLE_TYPES:
            return obj
    for obj, types in typed:
        if any(name.endswith("Page") for name in types):
            return obj
    return next((obj for obj in objects if isinstance(obj.get("headline"), str)), None)


def _ld_headline(main: dict[str, Any] | None) -> str:
    if main is None:
        return ""
    for key in ("headline", "name"):
        value = main.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and clean(value):
            return clean(value)
    return ""


def _ld_values(
    main: dict[str, Any] | None, objects: list[dict[str, Any]], key: str
) -> Iterator[Any]:
    """``key`` of the main object, then of every other object."""
    for obj in [main, *objects] if main is not None else objects:
        if obj is not None and key in obj:
            yield obj[key]


def _publisher_names(main: dict[str, Any] | None, objects: list[dict[str, Any]]) -> list[str]:
    """``publisher.name`` (an object, a list of them, or an ``@id`` reference into the graph)."""
    by_id = {obj["@id"]: obj for obj in objects if isinstance(obj.get("@id"), str)}
    for publisher in _ld_values(main, objects, "publisher"):
        names = []
        for item in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(item, str):
                names.append(clean(item))
            elif isinstance(item, dict):
                ref = item.get("@id")
                target = by_id.get(ref, item) if isinstance(ref, str) else item
                if isinstance(target.get("name"), str):
                    names.append(clean(target["name"]))
        if any(names):
            return [name for name in names if name]
    return []


# Site names and titles


def _meta_site_names(
    metas: dict[str, str], objects: list[dict[str, Any]], main: dict[str, Any] | None
) -> list[Seen]:
    seen = [Seen(source=SiteSource.OG, text=clean(metas.get("og:site_name")))]
    seen += [Seen(source=SiteSource.JSON_LD, text=name) for name in _publisher_names(main, objects)]
    seen.append(Seen(source=SiteSource.APPLICATION, text=clean(metas.get("application-name"))))
    return _dedupe(seen)


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
        return {_key(host)} - {""}
    second = len(labels) >= 3 and labels[-2] in _SECOND_LEVELS and len(labels[-1]) == 2
    label = labels[-3] if second else labels[-2]
    domain = ".".join(labels[-3:] if second else labels[-2:])
    return {_key(host), _key(domain), _key(label)} - {""}


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
    while len(parts) > 1 and _key(parts[-1]) in known:
        removed.append(parts.pop())
        separators.pop()
    while len(parts) > 1 and _key(parts[0]) in known:
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
    if colon and after.strip() and _key(before) in known:
        return after.strip(), before.strip()
    before, colon, after = title.rpartition(": ")
    if colon and before.strip() and _key(after) in known:
        return before.strip(), after.strip()
    return title, ""


def _join(parts: list[str], separators: list[str]) -> str:
    out = parts[0]
    for separator, part in zip(separators, parts[1:], strict=True):
        out += separator + part
    return " ".join(out.split())


def _first_h1(page: _Page) -> str:
    """The first ``<h1>`` with text of its own (not a logo, not the site's name), read alone
    from the body; one cut off before its ``</h1>`` is not read."""
    text, start, tries = page.text, page.body_start, 0
    for match in _H1_OPEN.finditer(text, start):
        if _in_raw_text(text, start, match.start()):
            continue
        close = _H1_CLOSE.search(text, match.start(), match.start() + _H1_MAX)
        if close is None:
            return ""
        heading = _markup_text(text[text.find(">", match.end()) + 1 : close.start()])
        if heading and _key(heading) not in page.known:
            return heading
        tries += 1
        if tries >= TRIES:
            break
    return ""


def _markup_text(markup: str) -> str:
    """The text of a small piece of markup, by regex (a parser costs more than the piece)."""
    return clean(_TAG.sub(" ", _INVISIBLE_TEXT.sub(" ", markup)))


def _in_raw_text(text: str, start: int, pos: int) -> bool:
    """Is ``pos`` inside a ``<script>`` or a comment (where ``<h1>`` is just characters)?"""
    if text.rfind("<script", start, pos) > text.rfind("</script", start, pos):
        return True
    return text.rfind("<!--", start, pos) > text.rfind("-->", start, pos)


def _titles(page: _Page, title: str, stripped: str, h1: str) -> list[Seen]:
    seen = [
        Seen(source=TitleSource.TITLE, text=stripped),
        Seen(source=TitleSource.TITLE_FULL, text=title if stripped != title else ""),
        Seen(source=TitleSource.OG, text=clean(page.metas.get("og:title"))),
        Seen(source=TitleSource.TWITTER, text=clean(page.metas.get("twitter:title"))),
        Seen(source=TitleSource.JSON_LD, text=_ld_headline(page.main)),
        Seen(source=TitleSource.H1, text=h1),
    ]
    return _dedupe(seen)


# Dates


def parse_date(value: object, today: dt.date) -> dt.date | None:
    """A date written as ISO 8601 (its local date: the publisher's day), RFC 2822 or
    "February 3, 2021"; None when unreadable, before 1990 or after tomorrow."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    iso = _ISO_DATE.match(value)
    if iso:
        return _valid(int(iso[1]), int(iso[2]), int(iso[3]), today)
    for match in _DAY_MONTH.finditer(value):
        month = _month(match[2])
        if month:
            return _valid(int(match[3]), month, int(match[1]), today)
    for match in _MONTH_DAY.finditer(value):
        month = _month(match[1])
        if month:
            return _valid(int(match[3]), month, int(match[2]), today)
    return None


def _month(word: str) -> int | None:
    word = word.lower()
    for number, name in enumerate(_MONTHS, start=1):
        if name.startswith(word) or (word == "sept" and number == 9):
            return number
    return None


def _valid(year: int, month: int, day: int, today: dt.date) -> dt.date | None:
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    return date if EARLIEST <= date <= today + FUTURE_SLACK else None


def _time_values(text: str, start: int) -> Iterator[str]:
    """The ``datetime`` of the first few ``<time>`` elements of the body."""
    for count, match in enumerate(_TIME.finditer(text, start)):
        if count >= TRIES:
            return
        if not _in_raw_text(text, start, match.start()):
            yield html.unescape(next(group for group in match.groups() if group is not None))


def _dates(page: _Page, today: dt.date) -> list[SeenDate]:
    """At most one date per source, in the order of ``DateSource``."""
    metas, main, objects = page.metas, page.main, page.objects
    candidates: dict[DateSource, Iterable[object]] = {
        DateSource.JSON_LD_PUBLISHED: _ld_values(main, objects, "datePublished"),
        DateSource.ARTICLE_PUBLISHED: [metas.get("article:published_time")],
        DateSource.META: (value for name, value in metas.items() if name in _META_DATES),
        DateSource.TIME: _time_values(page.text, page.body_start),
        DateSource.URL: [],
        DateSource.JSON_LD_MODIFIED: _ld_values(main, objects, "dateModified"),
        DateSource.ARTICLE_MODIFIED: [metas.get("article:modified_time")],
    }
    found: list[SeenDate] = []
    for source in DateSource:
        if source is DateSource.URL:
            date = url_date(page.url, today)  # one reading of URL dates, shared with the rules
        else:
            date = next((d for d in (parse_date(v, today) for v in candidates[source]) if d), None)
        if date:
            found.append(SeenDate(source=source, date=date))
    return found


# Kind


def _kind(page: _Page, titles: list[Seen], title: str, h1: str) -> PageKind:
    """A consent wall or a script shell stands where the page should be, or the page."""
    if _consent_host(page.url) or any(
        _CONSENT_TITLE.fullmatch(seen.text.rstrip(" .…!")) for seen in titles
    ):
        return PageKind.CONSENT_WALL
    described = {TitleSource.OG, TitleSource.TWITTER, TitleSource.JSON_LD}
    if any(seen.source in described for seen in titles):
        return PageKind.ARTICLE  # metadata names the page: no need to read it all
    if h1 and not _CONSENT_WORDS.search(h1):
        return PageKind.ARTICLE  # a heading of its own: neither a shell nor a consent form
    whole = _read_whole(page.text)
    if _consent_dominated(whole.visible):
        return PageKind.CONSENT_WALL
    untitled = not title or _key(title) in page.known or title.casefold() in _APP_TITLES
    scripted = whole.empty_mount or whole.script_chars * 2 >= len(page.text)
    shell = untitled and not h1 and len(whole.visible) < SHELL_TEXT and scripted
    return PageKind.SCRIPT_SHELL if shell else PageKind.ARTICLE


@dataclass(frozen=True, slots=True)
class _Whole:
    """What only a parse of the whole page tells."""

    visible: str
    """The body's text as a reader without scripts sees it (whitespace collapsed)."""
    script_chars: int
    empty_mount: bool
    """An app's mount point (``#root``, ``#__next``…) with nothing in it."""


def _read_whole(text: str) -> _Whole:
    tree = LexborHTMLParser(text)
    script_chars = sum(len(node.html or "") for node in tree.css("script"))
    mounts = tree.css(_MOUNTS)
    tree.strip_tags(_INVISIBLE)
    empty_mount = any(not node.text(strip=True) for node in mounts)
    return _Whole(_visible_text(tree), script_chars, empty_mount)


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
