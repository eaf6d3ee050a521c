"""Pure: what an archive link is, and which URLs the Wayback index takes for the same one.

Replay URL forms follow ``../shared/reference/wayback-api.md`` §1d and §4 step 1:
``/web/<ts><mode>/<url>`` with a timestamp of 1–14 digits (a short one is resolved by Wayback
with a 302 to the nearest capture), ``/web/<ts>*/<url>`` and ``/web/*/<url>`` (the calendar),
``/web/<url>`` (the TimeGate: the latest capture). Links to other archives (archive.today,
archive.org items, ghostarchive, perma.cc, WebCite) are recognised so they are never taken for
fabricated Wayback links. URL identity is the index's own: SURT keys (§1b, "URL matching is
SURT-canonical"), computed by the Internet Archive's ``surt`` package.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

import surt  # type: ignore[import-untyped]  # no stubs; one function used

WAYBACK_HOSTS = ("web.archive.org", "wayback.archive.org")

LATEST = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
"""The moment of a link without a timestamp (``/web/<url>``, ``/web/*/<url>``): Wayback's
TimeGate serves the latest capture, so "nearest to the end of time" is what it resolves to."""

_OUTER = re.compile(r"(?P<scheme>https?)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.I | re.S)
_WEB_PATH = re.compile(
    r"/web/(?:(?P<ts>\d{1,14})(?P<star>\*)?(?P<mode>[a-z]{2}_)?|(?P<bare>\*))/(?P<url>.+)",
    re.S,
)
_TIMEGATE = re.compile(r"/web/(?P<url>[^*].*)", re.S)
_ENCODED_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*%3a", re.I)
_SQUASHED_SCHEME = re.compile(r"(?P<scheme>https?):/+", re.I)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:(?!\d)", re.I)
"""A scheme (``mailto:``, ``https://``), not a host and port (``www.nasa.gov:8080``)."""


class ArchiveName(StrEnum):
    """The other archives recognised, by the name shown for them."""

    ARCHIVE_TODAY = "archive.today"
    GHOSTARCHIVE = "ghostarchive"
    PERMA_CC = "perma.cc"
    WEBCITATION = "webcitation"
    ARCHIVE_ORG_ITEM = "archive.org item"


_OTHER_ARCHIVES = {
    "archive.today": ArchiveName.ARCHIVE_TODAY,
    "archive.ph": ArchiveName.ARCHIVE_TODAY,
    "archive.is": ArchiveName.ARCHIVE_TODAY,
    "archive.li": ArchiveName.ARCHIVE_TODAY,
    "archive.vn": ArchiveName.ARCHIVE_TODAY,
    "archive.md": ArchiveName.ARCHIVE_TODAY,
    "archive.fo": ArchiveName.ARCHIVE_TODAY,
    "ghostarchive.org": ArchiveName.GHOSTARCHIVE,
    "perma.cc": ArchiveName.PERMA_CC,
    "webcitation.org": ArchiveName.WEBCITATION,
}


@dataclass(frozen=True, slots=True)
class WaybackLink:
    """A Wayback replay URL, taken apart. ``timestamp`` is as written (1–14 digits, or ``""``
    for ``/web/*/<url>`` and ``/web/<url>``); ``original`` is absolute, query kept, fragment
    dropped (the server never sees a fragment, so no capture is of one)."""

    host: str
    timestamp: str
    calendar: bool
    mode: str
    original: str

    @property
    def exact(self) -> bool:
        """Names one capture to the second (a calendar page names none)."""
        return len(self.timestamp) == 14 and not self.calendar

    @property
    def moment(self) -> dt.datetime:
        """The timestamp padded low (``2025`` → 2025-01-01T00:00:00Z), as Wayback pads a
        partial one before redirecting to the nearest capture (pywb ``pad_timestamp``;
        the availability API resolves ``20060101`` to ``20060101064348``). No timestamp:
        ``LATEST``."""
        return self.period[0]

    @property
    def period_end(self) -> dt.datetime:
        """The timestamp padded high: ``2025`` → 2025-12-31T23:59:59Z."""
        return self.period[1]

    @property
    def period(self) -> tuple[dt.datetime, dt.datetime]:
        bounds = timestamp_bounds(self.timestamp)
        return bounds if bounds is not None else (LATEST, LATEST)


@dataclass(frozen=True, slots=True)
class OtherArchive:
    """A link into another archive: not a Wayback link, and never "fabricated"."""

    url: str
    archive: ArchiveName


def timestamp_bounds(timestamp: str) -> tuple[dt.datetime, dt.datetime] | None:
    """First and last second (UTC) a 0–14 digit Wayback timestamp can stand for, or None if
    no date starts with those digits (``202513``). ``""`` stands for ``(LATEST, LATEST)``.

    Padding is per field, so odd lengths stay right: ``20251`` is October–December 2025,
    ``2025021`` is 10–19 February.
    """
    if not timestamp:
        return LATEST, LATEST
    if len(timestamp) > 14 or not timestamp.isascii() or not timestamp.isdigit():
        return None
    low = _pad(timestamp, high=False)
    high = _pad(timestamp, high=True)
    if low is None or high is None:
        return None
    return low, high


def _pad(timestamp: str, *, high: bool) -> dt.datetime | None:
    year_digits = timestamp[:4]
    fill = "9" if high else "0"
    year = int(year_digits + fill * (4 - len(year_digits)))
    if year == 0:
        if len(year_digits) == 4:
            return None
        year = 1
    values = [year]
    fields = ((4, 1, 12), (6, 1, 31), (8, 0, 23), (10, 0, 59), (12, 0, 59))
    for start, smallest, most in fields:
        # the days of the month chosen so far
        largest = calendar.monthrange(values[0], values[1])[1] if start == 6 else most
        prefix = timestamp[start : start + 2]
        candidates = [
            value for value in range(smallest, largest + 1) if f"{value:02d}".startswith(prefix)
        ]
        if not candidates:
            return None
        values.append(candidates[-1] if high else candidates[0])
    year, month, day, hour, minute, second = values
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def _host_of_authority(authority: str) -> str:
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.lower()
    return host.split(":", 1)[0].rstrip(".").lower()


def _embedded_url(raw: str) -> str | None:
    """The URL inside a replay path, made absolute, or None if it is not an http(s) URL."""
    text = raw.strip()
    if _ENCODED_SCHEME.match(text):
        text = unquote(text)
    text = text.split("#", 1)[0]
    if (squashed := _SQUASHED_SCHEME.match(text)) is not None:
        text = f"{squashed['scheme'].lower()}://{text[squashed.end() :]}"
    elif _SCHEME.match(text):
        return None  # ftp://, javascript://… : no web page
    else:
        text = "http://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no port
        host = parts.hostname or ""
    except ValueError:
        return None
    return text if _plausible_host(host) else None


def _plausible_host(host: str) -> bool:
    """A host a page could be on: dotted labels, or an IPv6 literal (``[::1]``)."""
    if ":" in host:
        return bool(re.fullmatch(r"[0-9a-f:.]+", host))
    labels = host.split(".")
    return len(labels) > 1 and all(labels) and not re.search(r"[\s\\%<>\"{}|^`]", host)


def parse_archive_link(
    url: str, wayback_hosts: Collection[str] = WAYBACK_HOSTS
) -> WaybackLink | OtherArchive | None:
    """What ``url`` is as an archive link: a Wayback link, a link into another archive, or
    None (no archive link, or a Wayback URL whose embedded part is no URL). Never raises."""
    text = url.strip()
    outer = _OUTER.fullmatch(text)
    if outer is None:
        return None
    host = _host_of_authority(outer["authority"])
    rest = outer["rest"]
    hosts = {name.lower() for name in wayback_hosts}
    if host in hosts:
        return _wayback_link(host, rest)
    bare = host.removeprefix("www.")
    path = rest.split("?", 1)[0].split("#", 1)[0]
    if bare in _OTHER_ARCHIVES and path.strip("/"):
        return OtherArchive(text, _OTHER_ARCHIVES[bare])
    if bare == "archive.org" and re.fullmatch(r"/details/[^/]+.*", path, re.S):
        return OtherArchive(text, ArchiveName.ARCHIVE_ORG_ITEM)
    return None


def _wayback_link(host: str, rest: str) -> WaybackLink | None:
    match = _WEB_PATH.fullmatch(rest)
    if match is not None:
        original = _embedded_url(match["url"])
        if original is None:
            return None
        timestamp = match["ts"] or ""
        if timestamp and timestamp_bounds(timestamp) is None:
            return None
        calendar_form = bool(match["star"] or match["bare"])
        return WaybackLink(host, timestamp, calendar_form, match["mode"] or "", original)
    gate = _TIMEGATE.fullmatch(rest)
    if gate is None or re.match(r"\d+\*?(?:[a-z]{2}_)?/", gate["url"]):
        return None
    original = _embedded_url(gate["url"])
    return None if original is None else WaybackLink(host, "", False, "", original)


def is_wayback_url(url: str, hosts: Collection[str] = WAYBACK_HOSTS) -> bool:
    """Whether a cited source URL is on Wayback itself: such a URL is already an archive
    page, and must be neither looked up in the index nor submitted for capture. Any path on a
    Wayback host counts (a calendar, a TimeGate, ``/save/…``), not only a parseable link."""
    outer = _OUTER.fullmatch(url.strip())
    if outer is None:
        return False
    return _host_of_authority(outer["authority"]) in {name.lower() for name in hosts}


def capture_key(url: str) -> str | None:
    """The CDX index's key (SURT) for ``url``, or None for a URL no index row could match.

    ``surt.surt`` (0.3.1) itself drops the scheme, ``www.``/``wwwN.``, default ports,
    userinfo, the fragment, an empty query and a trailing slash; lower-cases everything
    (host, path *and* query, as the index does); sorts query parameters; and unescapes then
    re-escapes percent-encoding, so ``%E2%80%A2``, ``%e2%80%a2`` and ``•`` agree (so do
    ``%7E`` and ``~``, and ``%2F`` and ``/``). It does not drop ``index.html``, session ids
    or tracking parameters, and neither does the index. No quoting is needed before calling
    it; what is done first is refusing what it would mangle instead of failing: a URL that
    ``urlsplit`` cannot parse (``http://[::1/``; surt answers ``::1)/``), a bad port, no
    host, a scheme other than http(s), and lone surrogates (surt raises). A scheme-less URL
    (``www.nasa.gov/``) is taken as http, as Wayback does.
    """
    text = url.strip()
    if not text:
        return None
    if not _SCHEME.match(text):
        text = "http://" + text.lstrip("/")
    elif not re.match(r"https?://", text, re.I):
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no port
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        text.encode("utf-8")  # lone surrogates: no URL
        key = surt.surt(text)
    except Exception:  # surt is foreign code fed strangers' URLs: any failure means "no key"
        return None
    return key if isinstance(key, str) and ")" in key else None


def same_capture_target(a: str, b: str) -> bool:
    """Whether the index takes ``a`` and ``b`` for the same URL (both keyed, keys equal)."""
    key = capture_key(a)
    return key is not None and key == capture_key(b)
