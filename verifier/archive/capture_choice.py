"""Pure: which capture a citation should use, and what a claimed Wayback link turns out to be.

Rules from ``../shared/reference/wayback-api.md`` §1d and §4: a capture exists at a second
if the index has a row at exactly that timestamp; Wayback resolves any other timestamp
(shortened, calendar, off by seconds) with a 302 to the capture nearest in time; an archived
error page is replayed with its status and a ``Memento-Datetime``, which a Wayback error
never has. Times are compared as datetimes: 14-digit numbers are not evenly spaced
(``20210105`` − ``20201229`` is 8876, ``20201229`` − ``20201222`` only 7).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

from verifier.archive.wayback_data import Capture, timestamp_of
from verifier.archive.wayback_links import (
    WAYBACK_HOSTS,
    WaybackLink,
    capture_key,
    parse_archive_link,
    timestamp_bounds,
)

Period = tuple[dt.datetime, dt.datetime]

_CAPTURE_TS = re.compile(r"\d{14}")


def capture_time(capture: Capture) -> dt.datetime | None:
    """When a CDX row was captured, or None for a row whose timestamp is no 14-digit time."""
    if not _CAPTURE_TS.fullmatch(capture.timestamp):
        return None
    bounds = timestamp_bounds(capture.timestamp)
    return None if bounds is None else bounds[0]


def is_good(capture: Capture) -> bool:
    """A 2xx capture. A revisit row (status ``-``) is not, unless resolved: a revisit that
    ``resolveRevisits=true`` filled in carries the status it repeats, and then counts as
    that status even if its mimetype still says ``warc/revisit``."""
    return capture.ok


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def nearest(captures: Iterable[Capture], moment: dt.datetime) -> Capture | None:
    """The capture nearest ``moment`` in time (either side), the earlier one on a tie; rows
    with a malformed timestamp are skipped. A naive ``moment`` is taken as UTC."""
    target = _utc(moment)
    best: tuple[dt.timedelta, dt.datetime, Capture] | None = None
    for capture in captures:
        when = capture_time(capture)
        if when is None:
            continue
        candidate = (abs(when - target), when, capture)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    return None if best is None else best[2]


# -- the period a citation's date names ---------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_UNKNOWN = r"(?:xx|\?\?)"
_NUMERIC = re.compile(
    rf"(?P<y>\d{{4}})(?:[-/](?P<m>\d{{1,2}}|{_UNKNOWN})(?:[-/](?P<d>\d{{1,2}}|{_UNKNOWN}))?)?",
    re.I,
)
_DECADE = re.compile(r"(?P<y>\d{3}0)'?s")
_MONTH_YEAR = re.compile(r"(?P<mon>[a-z]+)\.?,?\s+(?P<y>\d{4})", re.I)
_MONTH_DAY_YEAR = re.compile(
    r"(?P<mon>[a-z]+)\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})", re.I
)
_DAY_MONTH_YEAR = re.compile(
    r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon>[a-z]+)\.?,?\s+(?P<y>\d{4})", re.I
)


def _day(year: int, month: int, day: int) -> Period:
    start = dt.datetime(year, month, day, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1, seconds=-1)


def _month(year: int, month: int) -> Period:
    start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
    following = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, following - dt.timedelta(seconds=1)


def _years(first: int, last: int) -> Period:
    return (
        dt.datetime(first, 1, 1, tzinfo=dt.UTC),
        dt.datetime(last, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    )


def parse_period(value: object) -> Period | None:
    """The period one date value names, or None. Never raises.

    ``date`` → that day; ``datetime`` (or an ISO datetime string) → that second (naive is
    UTC); an int year; strings ``YYYY``, ``YYYYs`` (a decade), ``YYYY-MM``, ``YYYY-MM-DD``
    (also with ``/``; ``xx`` or ``??`` for an unknown month or day widens the period),
    ``June 1998``, ``Jun 1998``, ``June 5, 1998``, ``5 June 1998``.
    """
    try:
        return _parse_period(value)
    except (ValueError, OverflowError):  # a day or month out of range: no date
        return None


def _parse_period(value: object) -> Period | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        moment = _utc(value).replace(microsecond=0)
        return moment, moment
    if isinstance(value, dt.date):
        return _day(value.year, value.month, value.day)
    if isinstance(value, int):
        return _years(value, value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if (match := _NUMERIC.fullmatch(text)) is not None:
        year, month, day = match["y"], match["m"], match["d"]
        if month is None or not month.isdigit():
            return None if day is not None and day.isdigit() else _years(int(year), int(year))
        if day is None or not day.isdigit():
            return _month(int(year), int(month))
        return _day(int(year), int(month), int(day))
    if (match := _DECADE.fullmatch(text)) is not None:
        return _years(int(match["y"]), int(match["y"]) + 9)
    if (match := _MONTH_YEAR.fullmatch(text)) is not None:
        month_number = _MONTHS.get(match["mon"].lower())
        return None if month_number is None else _month(int(match["y"]), month_number)
    for pattern in (_MONTH_DAY_YEAR, _DAY_MONTH_YEAR):
        if (match := pattern.fullmatch(text)) is not None:
            month_number = _MONTHS.get(match["mon"].lower())
            if month_number is None:
                return None
            return _day(int(match["y"]), month_number, int(match["d"]))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", text):
        moment = _utc(dt.datetime.fromisoformat(text.replace("z", "Z"))).replace(microsecond=0)
        return moment, moment
    return None


def cited_period(source_date: object, event_date: object) -> Period | None:
    """The period a citation's date names: the source's date if it parses, else the event's;
    ``(start, end)`` in UTC, ``end`` the period's last second. Never raises."""
    return parse_period(source_date) or parse_period(event_date)


def citation_capture(captures: Iterable[Capture], period: Period | None) -> Capture | None:
    """The capture a citation should point at: among good captures, the last one at or
    before the end of the cited period (what the source said then), else the first one after
    it; with no period, the newest."""
    good = [(when, c) for c in captures if is_good(c) and (when := capture_time(c)) is not None]
    if not good:
        return None
    if period is None:
        return max(good, key=lambda item: item[0])[1]
    end = _utc(period[1])
    before = [item for item in good if item[0] <= end]
    if before:
        return max(before, key=lambda item: item[0])[1]
    return min(good, key=lambda item: item[0])[1]


# -- a replay probe's answer (§4 step 4) ---------------------------------------------------


class ReplayKind(StrEnum):
    """What a replay request answered."""

    MEMENTO = "memento"
    """A capture (of whatever status: an archived 404 or 429 is a memento)."""
    MOVED = "moved"
    """No capture at that timestamp: Wayback redirects to the nearest one."""
    NOT_ARCHIVED = "not-archived"
    EXCLUDED = "excluded"
    RATE_LIMITED = "rate-limited"
    OTHER = "other"


_NOT_ARCHIVED = b"wayback machine has not archived that url"
_EXCLUDED = (b"this url has been excluded", b"accesscontrolexception", b"blocked site error")
_FOUND_AT = re.compile(r"found capture at (\d{14})", re.I)


@dataclass(frozen=True, slots=True)
class ReplayAnswer:
    """What a replay request (``/web/<ts>id_/<url>``, redirects not followed) answered.
    ``location_ts``/``location_url``: the timestamp and the embedded original URL of the
    ``Location`` (an archived redirect's target, or the capture Wayback redirects to)."""

    kind: ReplayKind
    memento_ts: str | None
    status: int
    location_ts: str | None
    location_url: str | None


def _location_link(location: str) -> WaybackLink | None:
    """The replay link a ``Location`` names, whatever host serves it (relative, or a fake
    Wayback on loopback)."""
    text = location.strip()
    if text.startswith("/"):
        text = "https://web.archive.org" + text
    host = re.match(r"https?://([^/?#]*)", text, re.I)
    hosts = (*WAYBACK_HOSTS, host[1].rsplit("@", 1)[-1].split(":", 1)[0].lower()) if host else ()
    link = parse_archive_link(text, hosts)
    return link if isinstance(link, WaybackLink) else None


def read_replay(status: int, headers: Mapping[str, str], body_head: bytes = b"") -> ReplayAnswer:
    """Interpret a replay answer (§4 step 4). With ``Memento-Datetime`` it is a capture, of
    whatever status (an archived 404 or 429 is a memento). Without: a 3xx with
    ``X-Archive-Redirect-Reason`` or ``Location`` means no capture at that timestamp
    (``moved``: Wayback names the nearest); a 404 is ``not-archived`` when the body says so
    or was not read (Wayback's own 404 never carries ``Memento-Datetime``); the exclusion
    page (or an access-control error) is ``excluded``; a 429 is Wayback's rate limit."""
    lower = {name.lower(): value for name, value in headers.items()}
    body = body_head.lower()
    location = lower.get("location")
    link = _location_link(location) if location else None
    location_ts = (link.timestamp or None) if link is not None else None
    location_url = link.original if link is not None else None
    if (memento := lower.get("memento-datetime")) is not None:
        try:
            memento_ts: str | None = timestamp_of(parsedate_to_datetime(memento))
        except (TypeError, ValueError, IndexError, OverflowError):
            memento_ts = None
        return ReplayAnswer(ReplayKind.MEMENTO, memento_ts, status, location_ts, location_url)
    reason = lower.get("x-archive-redirect-reason")
    if 300 <= status < 400 and (reason or location):
        if location_ts is None and reason and (found := _FOUND_AT.search(reason)):
            location_ts = found[1]
        return ReplayAnswer(ReplayKind.MOVED, None, status, location_ts, location_url)
    kind = ReplayKind.OTHER
    if any(marker in body for marker in _EXCLUDED):
        kind = ReplayKind.EXCLUDED
    elif status == 404 and (not body or _NOT_ARCHIVED in body):
        kind = ReplayKind.NOT_ARCHIVED
    elif status == 429:
        kind = ReplayKind.RATE_LIMITED
    return ReplayAnswer(kind, None, status, location_ts, location_url)


# -- what a claimed link turns out to be ---------------------------------------------------


class LinkKind(StrEnum):
    """What a claimed Wayback link turns out to be (see ``judge_link``)."""

    EXACT = "exact"
    EXACT_ERROR = "exact-error"
    IMPRECISE = "imprecise"
    FABRICATED = "fabricated"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class LinkVerdict:
    """``capture``: the capture the link resolves to (its own, or the one Wayback redirects
    to); ``nearest_good``: the good capture to suggest instead, when the link is not one."""

    kind: LinkKind
    capture: Capture | None
    nearest_good: Capture | None
    detail: str


def _status_text(capture: Capture) -> str:
    if capture.status is None:
        return "a revisit (status not resolved)"
    return f"HTTP {capture.status}"


def judge_link(link: WaybackLink, cited_url: str, rows: Sequence[Capture]) -> LinkVerdict:
    """What ``link`` (claimed as the archive of ``cited_url``) is, given CDX rows near its
    timestamp (any status, revisits, duplicates, rows of other URLs). Never raises.

    - ``exact``: a 14-digit timestamp with a row at that second, a good one. A revisit row
      there (status ``-``) also counts: a capture exists at that second (§4: "a data row
      means a capture exists"); the detail says its status was not resolved.
    - ``exact-error``: that row is an archived 3xx/4xx/5xx.
    - otherwise (a partial timestamp, a calendar page, none, or 14 digits naming no
      capture) Wayback serves the capture nearest ``link.moment`` (the timestamp padded
      low; the latest one without a timestamp): ``imprecise`` if it is good (or a revisit,
      which replays the content it repeats), ``fabricated`` if it is an error capture or
      there is none — as it is when the link captures another URL than ``cited_url``.
    - ``unknown``: a URL the index cannot key, or rows of the URL none of which has a
      usable timestamp.
    """
    target = capture_key(link.original)
    cited = capture_key(cited_url)
    if target is None or cited is None:
        which = "the link's URL" if target is None else "the cited URL"
        return LinkVerdict(LinkKind.UNKNOWN, None, None, f"{which} is no URL the index can match")
    if target != cited:
        return LinkVerdict(
            LinkKind.FABRICATED, None, None, f"capture of another URL ({link.original})"
        )
    own = [row for row in rows if capture_key(row.original) == target]
    usable = sorted(
        {row for row in own if capture_time(row) is not None},
        key=lambda row: (row.timestamp, row.status is None, row.status or 0, row.original),
    )
    if own and not usable:
        return LinkVerdict(LinkKind.UNKNOWN, None, None, "the index rows have no usable timestamp")
    good = [row for row in usable if is_good(row)]
    moment = link.moment

    if link.exact:
        at = [row for row in usable if row.timestamp == link.timestamp]
        if at:
            chosen = next((row for row in at if is_good(row)), None)
            if chosen is not None:
                return LinkVerdict(LinkKind.EXACT, chosen, None, f"capture at {link.timestamp}")
            errors = [row for row in at if row.status is not None]
            if errors:
                row = errors[0]
                return LinkVerdict(
                    LinkKind.EXACT_ERROR,
                    row,
                    nearest(good, moment),
                    f"the capture at {link.timestamp} is of an error page (HTTP {row.status})",
                )
            return LinkVerdict(
                LinkKind.EXACT,
                at[0],
                None,
                f"capture at {link.timestamp}: a revisit (status not resolved)",
            )

    claimed = _claim(link)
    resolved = nearest(usable, moment)
    if resolved is None:
        return LinkVerdict(LinkKind.FABRICATED, None, None, f"no capture of this URL ({claimed})")
    if is_good(resolved) or resolved.status is None:
        return LinkVerdict(
            LinkKind.IMPRECISE,
            resolved,
            resolved if is_good(resolved) else nearest(good, moment),
            f"{claimed}; Wayback serves the capture at {resolved.timestamp} "
            f"({_status_text(resolved)})",
        )
    return LinkVerdict(
        LinkKind.FABRICATED,
        resolved,
        nearest(good, moment),
        f"{claimed}; the nearest capture, at {resolved.timestamp}, is of an error page "
        f"(HTTP {resolved.status})",
    )


def _claim(link: WaybackLink) -> str:
    if link.calendar:
        return f"a calendar page ({link.timestamp or 'all captures'}), not a capture"
    if not link.timestamp:
        return "no timestamp (the latest capture)"
    if link.exact:
        return f"no capture at {link.timestamp}"
    return f"a partial timestamp ({link.timestamp})"
