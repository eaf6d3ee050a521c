"""Pure: the dates a page claims — published and modified — from its JSON-LD, meta tags,
``<time datetime>`` elements and URL, at most one per source, in the order of ``DateSource``
(the most trustworthy first).

A date is read as ISO 8601 (its local date: the publisher's day), RFC 2822 or written out
("February 3, 2021"); one before 1990 or more than two days ahead of the clock is no
publication date but a number or a placeholder.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Iterator
from typing import Any

from verifier.citation.facts import DateSource, SeenDate
from verifier.citation.jsonld import ld_values
from verifier.citation.page_text import TRIES, in_raw_text, split_words, word_set
from verifier.citation.url_dates import EARLIEST, url_date

"""No cited web page is older than the web as the public knew it."""
FUTURE_SLACK = dt.timedelta(days=2)
"""Time zones and scheduled posts put honest dates a little ahead of our clock."""

_TIME = re.compile(
    r"<time\b[^>]*?(?<![\w-])datetime\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))",
    re.IGNORECASE,
)
_META_DATES = word_set(
    "date pubdate publishdate publish-date publish_date dc.date dc.date.issued dcterms.created "
    "dcterms.issued dcterms.date citation_publication_date parsely-pub-date sailthru.date "
    "og:pubdate article.published datepublished"
)
"""Meta names (lowercased) that carry a publication date; ``datepublished`` is itemprop's."""
_ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)")
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_MONTH_DAY = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_MONTHS = split_words(
    "january february march april may june july august september october november december"
)


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
    """The ``datetime`` of the first few ``<time>`` elements from ``start`` on."""
    for count, match in enumerate(_TIME.finditer(text, start)):
        if count >= TRIES:
            return
        if not in_raw_text(text, start, match.start()):
            yield html.unescape(next(group for group in match.groups() if group is not None))


def read_dates(
    text: str,
    url: str,
    *,
    metas: dict[str, str],
    main: dict[str, Any] | None,
    objects: list[dict[str, Any]],
    times_from: int,
    today: dt.date,
) -> list[SeenDate]:
    """At most one date per source, in the order of ``DateSource``.

    ``metas`` are the head's meta contents by lowercased name, ``main`` and ``objects`` the
    JSON-LD (``verifier.citation.jsonld``); ``<time>`` elements are read from ``times_from``
    on (past a masthead's "today", when the caller knows where the article starts).
    """
    candidates: dict[DateSource, Iterable[object]] = {
        DateSource.JSON_LD_PUBLISHED: ld_values(main, objects, "datePublished"),
        DateSource.ARTICLE_PUBLISHED: [metas.get("article:published_time")],
        DateSource.META: (value for name, value in metas.items() if name in _META_DATES),
        DateSource.TIME: _time_values(text, times_from),
        DateSource.URL: [],
        DateSource.JSON_LD_MODIFIED: ld_values(main, objects, "dateModified"),
        DateSource.ARTICLE_MODIFIED: [metas.get("article:modified_time")],
    }
    found: list[SeenDate] = []
    for source in DateSource:
        if source is DateSource.URL:
            date = url_date(url, today)  # one reading of URL dates, shared with the rules
        else:
            date = next((d for d in (parse_date(v, today) for v in candidates[source]) if d), None)
        if date:
            found.append(SeenDate(source=source, date=date))
    return found
