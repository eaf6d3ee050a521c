"""Pure: how well a page's facts agree with a citation — title, publisher, date.

Titles are compared as word sets (rapidfuzz's token-set ratio), gated by the share of the
cited title's words the page shares: a token-set ratio alone calls a section front titled
"Politics" a perfect match for any politics headline, because one set contains the other.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from verifier.archive.capture_choice import parse_period
from verifier.citation.facts import PageFacts, Seen
from verifier.urls import host_of

MIN_SHARED_WORDS = 2
"""Words a matching title shares with the cited one (all of them when the cited title has
fewer)."""
MIN_CITED_COVERAGE = 0.4
"""Share of the cited title's words the page's title must contain: a cited headline with a
subtitle still matches the page's shorter title; a one-word section name does not."""
GENERIC_SHARE = 0.75
"""A title whose words are at least this share site-name and section vocabulary names no
article: it is the site's home page or a section front."""

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['’‘`´]")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "after",
        "before",
        "over",
        "about",
        "into",
        "than",
        "vs",
    ]
)
_GENERIC_WORDS = frozenset(
    [
        "home",
        "homepage",
        "front",
        "page",
        "pages",
        "news",
        "breaking",
        "latest",
        "top",
        "stories",
        "story",
        "headlines",
        "today",
        "live",
        "updates",
        "update",
        "videos",
        "video",
        "photos",
        "official",
        "site",
        "website",
        "online",
        "welcome",
        "index",
        "section",
        "sections",
        "politics",
        "world",
        "business",
        "opinion",
        "opinions",
        "sports",
        "sport",
        "technology",
        "tech",
        "science",
        "health",
        "entertainment",
        "culture",
        "local",
        "national",
        "international",
        "us",
        "uk",
        "europe",
        "economy",
        "markets",
        "finance",
        "money",
        "lifestyle",
        "travel",
        "weather",
        "archive",
        "archives",
        "search",
        "magazine",
        "blog",
        "blogs",
        "podcasts",
        "podcast",
        "newsletter",
        "newsletters",
        "topics",
        "topic",
        "tag",
        "tags",
        "all",
        "more",
        "analysis",
        "features",
        "feature",
        "investigations",
        "investigation",
        "government",
        "law",
        "justice",
        "media",
        "press",
        "releases",
        "release",
    ]
)
_PUBLISHER_NOISE = frozenset({"the", "news", "com", "org", "net", "inc", "co", "online"})


def words(text: str) -> tuple[str, ...]:
    """The content words of a text: case, accents and apostrophes folded, stop words gone."""
    return _content_words(text)


@lru_cache(maxsize=4096)
def _content_words(text: str) -> tuple[str, ...]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = _APOSTROPHES.sub("", folded)
    return tuple(w for w in _WORD.findall(folded) if w not in _STOPWORDS)


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """The page title candidate closest to the cited title."""

    score: float
    """0-100: the token-set ratio, capped by the shared-word gate."""
    seen: Seen | None


def title_score(cited: str, candidate: str) -> float:
    """0-100: how well ``candidate`` says what ``cited`` says (see the module's note)."""
    cited_words, candidate_words = words(cited), words(candidate)
    if not cited_words or not candidate_words:
        return 0.0
    shared = len(set(cited_words) & set(candidate_words))
    ratio = fuzz.token_set_ratio(" ".join(cited_words), " ".join(candidate_words))
    distinct = len(set(cited_words))
    coverage = shared / distinct
    if shared < min(MIN_SHARED_WORDS, distinct) or coverage < MIN_CITED_COVERAGE:
        return min(ratio, 100.0 * coverage)
    return float(ratio)


def best_title(cited: str, candidates: Sequence[Seen]) -> TitleMatch:
    """The candidate scoring highest against ``cited`` (the first of equals)."""
    best = TitleMatch(0.0, None)
    for seen in candidates:
        score = title_score(cited, seen.text)
        if score > best.score:
            best = TitleMatch(score, seen)
    return best


def is_generic_title(page: PageFacts, host: str) -> bool:
    """The page's title names the site or a section, not an article; or it is the title a
    random path on the site answered with."""
    titles = [seen.text for seen in page.titles[:2]]
    if not titles:
        return False
    if page.probe_title and words(page.probe_title) == words(titles[0]):
        return True
    site_words = {w for seen in page.site_names for w in words(seen.text)}
    site_words |= set(words(host.replace(".", " ")))
    for title in titles:
        title_words = words(title)
        if not title_words:
            return True
        vocabulary = sum(1 for w in title_words if w in site_words or w in _GENERIC_WORDS)
        if vocabulary / len(title_words) < GENERIC_SHARE:
            return False
    return True


def cited_title_is_site(cited: str, publisher: str | None, url: str) -> bool:
    """A cited "title" that only names the site (``nytimes.com``, the publisher's name)."""
    cited_words = words(cited)
    if not cited_words:
        return True
    site = set(words((publisher or "") + " " + host_of(url).replace(".", " ")))
    return all(w in site or w in ("www", "com", "org", "net") for w in cited_words)


# -- publisher -----------------------------------------------------------------------------


def _publisher_key(name: str) -> str:
    return " ".join(w for w in words(name) if w not in _PUBLISHER_NOISE)


def _acronym(name: str) -> str:
    return "".join(w[0] for w in words(name) if w not in _PUBLISHER_NOISE)


def _names_of(name: str, aliases: Mapping[str, Iterable[str]]) -> set[str]:
    """A publisher's name keys: itself, its aliases and its acronym."""
    key = _publisher_key(name)
    names = {key}
    for canonical, others in aliases.items():
        group = {_publisher_key(canonical), *(_publisher_key(o) for o in others)}
        if key in group:
            names |= group
    if len(key.split()) >= 2:
        names.add(_acronym(name))
    return {n for n in names if n}


def publisher_matches(
    cited: str | None, page: PageFacts, url: str, aliases: Mapping[str, Iterable[str]]
) -> bool | None:
    """Whether the cited publisher is the page's site (its names, aliases, acronym or host);
    None when there is nothing to compare."""
    if not cited or not cited.strip():
        return None
    cited_names = _names_of(cited, aliases)
    squashed = {name.replace(" ", "") for name in cited_names}
    host = host_of(url).removeprefix("www.")
    if any(len(name) >= 3 and name in host.replace(".", "").replace("-", "") for name in squashed):
        return True
    if not page.site_names:
        return None
    for seen in page.site_names:
        site_names = _names_of(seen.text, aliases)
        if cited_names & site_names:
            return True
        if any(fuzz.ratio(a, b) >= 90 for a in cited_names for b in site_names):
            return True
    return False


# -- date ----------------------------------------------------------------------------------


def days_apart(cited_date: str | None, page_date: dt.date | None) -> int | None:
    """Days between the page's date and the period the cited date names (0 inside it);
    None when either is missing or the cited date does not parse."""
    if cited_date is None or page_date is None:
        return None
    period = parse_period(cited_date)
    if period is None:
        return None
    start, end = period[0].date(), period[1].date()
    if page_date < start:
        return (start - page_date).days
    if page_date > end:
        return (page_date - end).days
    return 0
