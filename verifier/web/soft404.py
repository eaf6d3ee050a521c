"""Pure decisions about soft 404s: pages that answer 2xx although what they named is gone.

The signs, cheapest first:

- the redirect chain: a deep URL that lands on the site's home page or on an error path;
- the page's own title and first heading ("Page Not Found", "404", "Error", "Sorry, we
  couldn't find that page", …), read from the first bytes of every GET;
- a random sibling path (the probe): when it answers like the page — the same final URL, the
  same title, or (without titles) the same text up to the words of the two paths — the page
  proves nothing. A section that answers every slug with a *different* page is honest.

The probe costs a request, so it is sent only for an HTML page that neither says "not found"
nor corroborates its URL: a title that repeats most words of the URL's slug is the page the
URL names (a site answering every path with one generic page cannot do that).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from verifier.web.answers import Outcome, Response
from verifier.web.bodies import first_heading, page_title

FINGERPRINT_SIZE = 64
"""Shingle hashes kept per page (a bottom-k sketch: similarity within about ±0.1)."""
FINGERPRINT_WORDS = 500
"""Words of visible text a fingerprint reads (a "not found" page has far fewer)."""
SAME_TEXT = 0.8
"""Estimated shingle overlap above which two pages are the same page."""

_ROOT_PATHS = frozenset(
    {"", "/", "/index.html", "/index.htm", "/index.php", "/home", "/default.aspx"}
)
_NOT_FOUND_PATH = re.compile(
    r"(^|/)(404|not[-_]?found|page[-_]?not[-_]?found|error[-_]?404)(\.[a-z]+)?/?$", re.IGNORECASE
)
_APOSTROPHE = "['’]"
_NOT_FOUND_TEXT = re.compile(
    r"\bnot found\b|\b404\b(?=\s*(?:[-:–|!]|error|not found|page|$))|\b(?:error|http)\s*404\b|"
    rf"\bpage (?:does not|doesn{_APOSTROPHE}t|could not|couldn{_APOSTROPHE}t|can{_APOSTROPHE}t|"
    r"cannot) (?:exist|be found|be displayed)\b|"
    rf"\b(?:could not|couldn{_APOSTROPHE}t|can{_APOSTROPHE}t|cannot|unable to) find "
    r"(?:that|the|this|your|what you)\b.{0,30}\b(?:page|content|article|looking for)\b|"
    r"\bno longer (?:available|exists)\b|\bpage (?:is )?missing\b|\bcontent unavailable\b|"
    r"\b(?:page|article|content|file)\b(?: you (?:requested|were looking for|are looking for))? "
    rf"(?:does not|doesn{_APOSTROPHE}t|did not|no longer) exists?\b",
    re.IGNORECASE,
)
_NOT_FOUND_PART = re.compile(
    r"(?:error|404|error 404|404 error|oops!?|sorry!?|nothing found|page missing)", re.IGNORECASE
)
"""A whole title part (between separators such as ``|`` or ``–``) that says "error"."""
_TITLE_PARTS = re.compile(r"\s+[|–—\-:·•»]\s+")
_WORD = re.compile(r"[^\W_]+")
_SCRIPTS = re.compile(rb"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(rb"<[^>]*>")
_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "are",
        "was",
        "were",
        "has",
        "have",
        "its",
        "not",
        "but",
        "you",
        "your",
        "our",
        "about",
        "into",
        "over",
        "after",
        "html",
        "htm",
        "php",
        "aspx",
        "asp",
        "jsp",
        "index",
        "amp",
        "www",
    ]
)
_HTML_TYPES = ("text/html", "application/xhtml")


@dataclass(frozen=True, slots=True)
class ProbeFacts:
    """What a random sibling path answered: all the comparison needs, small enough to keep
    in the history between runs."""

    status: int
    url: str
    title: str | None
    fingerprint: tuple[int, ...]
    checked_at: dt.datetime

    def is_fresh(self, now: dt.datetime, max_age_days: float) -> bool:
        return now - self.checked_at < dt.timedelta(days=max_age_days)


def probe_facts(response: Response, checked_at: dt.datetime) -> ProbeFacts:
    return ProbeFacts(
        response.status,
        response.url,
        page_title(response.body),
        fingerprint(response.body, response.url),
        checked_at,
    )


def soft404_sign(outcome: Outcome) -> str | None:
    """Signs that a 2xx answer is a "page not found" in disguise, or None."""
    response = outcome.response
    if response is None:
        return None
    original = urlsplit(outcome.url)
    final = urlsplit(response.url)
    deep = _depth(original.path) > 0 or bool(original.query)
    if deep and response.url != outcome.url and len(outcome.chain) > 1:
        if final.path in _ROOT_PATHS and not final.query:
            return f"redirected to the site's home page ({response.url})"
        if _NOT_FOUND_PATH.search(final.path):
            return f"redirected to an error page ({response.url})"
    if not is_html(response):
        return None
    for label, text in (
        ("title", page_title(response.body)),
        ("heading", first_heading(response.body)),
    ):
        if text and says_not_found(text):
            return f"page {label} says {text[:80]!r}"
    return None


def says_not_found(text: str) -> bool:
    """Does a title or heading say that the page does not exist?"""
    if _NOT_FOUND_TEXT.search(text):
        return True
    return any(_NOT_FOUND_PART.fullmatch(part.strip()) for part in _TITLE_PARTS.split(text))


def is_html(response: Response) -> bool:
    """An HTML answer (or one that does not say): only those can be "not found" pages."""
    kind = response.headers.get("content-type", "").lower()
    return not kind or any(name in kind for name in _HTML_TYPES)


def needs_probe(outcome: Outcome) -> bool:
    """Should a random sibling path be asked before this 2xx page is called alive?"""
    response = outcome.response
    if response is None or not 200 <= response.status < 300 or not is_html(response):
        return False
    if response.method != "GET":
        return True  # HEAD saw nothing of the page
    return not corroborates(outcome.url, page_title(response.body))


def corroborates(url: str, title: str | None) -> bool:
    """Does the title repeat most words of the URL's slug (its wordiest path segment)?"""
    if not title:
        return False
    slug = slug_words(url)
    if len(slug) < 2:
        return False
    shared = slug & _words(title)
    return len(shared) >= 2 and len(shared) >= 0.6 * len(slug)


def slug_words(url: str) -> set[str]:
    """The meaningful words of the URL path's wordiest segment (no numbers, no stopwords)."""
    best: set[str] = set()
    for segment in unquote(urlsplit(url).path).split("/"):
        words = {w for w in _words(segment) if len(w) >= 3 and not w.isdigit()} - _STOPWORDS
        if len(words) > len(best):
            best = words
    return best


def same_answer(page: Response, probe: ProbeFacts) -> bool:
    """Does a random sibling path answer like the page? Then the page proves nothing."""
    if not 200 <= probe.status < 300:
        return False
    if page.url == probe.url:
        return True  # both ended on the same URL (a login page, a landing page)
    page_title_text = page_title(page.body)
    if page_title_text and probe.title:
        return _normal(page_title_text) == _normal(probe.title)
    return similarity(fingerprint(page.body, page.url), probe.fingerprint) >= SAME_TEXT


def fingerprint(body: bytes, url: str) -> tuple[int, ...]:
    """A bottom-k sketch of the page's visible text (word 3-shingles of its first
    ``FINGERPRINT_WORDS`` words), without the words of its own URL path, so a "not found"
    page that echoes the path still matches itself. CRC-32 keeps it stable across runs (it
    is stored) and cheap (well under a millisecond for a 64 KiB page)."""
    visible = _TAGS.sub(b" ", _SCRIPTS.sub(b" ", body))[: FINGERPRINT_WORDS * 12]
    text = html.unescape(visible.decode("utf-8", "replace"))
    own = _words(unquote(urlsplit(url).path))
    words = [w for w in _WORD.findall(text.lower()) if w not in own][:FINGERPRINT_WORDS]
    shingles = zip(words, words[1:], words[2:], strict=False)
    hashes = {zlib.crc32(f"{a} {b} {c}".encode()) for a, b, c in shingles}
    if not hashes and words:
        hashes = {zlib.crc32(" ".join(words).encode())}
    return tuple(sorted(hashes)[:FINGERPRINT_SIZE])


def similarity(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """Estimated overlap (Jaccard) of two sketches; 0 when either is empty."""
    if not first or not second:
        return 0.0
    one, two = set(first), set(second)
    union = sorted(one | two)[:FINGERPRINT_SIZE]
    return sum(1 for h in union if h in one and h in two) / len(union)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _normal(title: str) -> str:
    return " ".join(title.lower().split())


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])
