"""What an archive link is, and which URLs the Wayback index takes for one (SURT keys)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from verifier.archive.wayback_links import (
    LATEST,
    OtherArchive,
    WaybackLink,
    capture_key,
    is_wayback_url,
    parse_archive_link,
    same_capture_target,
    timestamp_bounds,
)

UTC = dt.UTC

# Links as the kleptocracy-timeline corpus writes them.
JUSTIA_CALENDAR = (
    "https://web.archive.org/web/20240327000000*/https://law.justia.com/cases/federal/"
    "appellate-courts/ca5/24-50149/24-50149-2024-03-26.html"
)
SINCLAIR_PARTIAL = "https://web.archive.org/web/20180402/https://sbgi.net/pr-news/sinclair-statement-on-news-promos/"
ABC_WITH_QUERY = (
    "https://web.archive.org/web/20240731213456/https://abcnews.go.com/Politics/"
    "director-heritage-foundations-project-2025-stepping/story?id=112415277"
)
POWELL_ITEM = "https://archive.org/details/powell-memorandum-1971-ocr"


def wayback(url: str) -> WaybackLink:
    link = parse_archive_link(url)
    assert isinstance(link, WaybackLink), link
    return link


# -- parse_archive_link: Wayback forms ----------------------------------------------------


def test_corpus_calendar_link_is_a_calendar_page_at_its_timestamp() -> None:
    link = wayback(JUSTIA_CALENDAR)
    assert link == WaybackLink(
        "web.archive.org",
        "20240327000000",
        True,
        "",
        "https://law.justia.com/cases/federal/appellate-courts/ca5/24-50149/24-50149-2024-03-26.html",
    )
    assert not link.exact  # 14 digits, but a calendar names no capture


def test_corpus_partial_timestamp_names_the_whole_day() -> None:
    link = wayback(SINCLAIR_PARTIAL)
    assert (link.timestamp, link.calendar, link.exact) == ("20180402", False, False)
    assert link.original == "https://sbgi.net/pr-news/sinclair-statement-on-news-promos/"
    assert link.moment == dt.datetime(2018, 4, 2, tzinfo=UTC)
    assert link.period_end == dt.datetime(2018, 4, 2, 23, 59, 59, tzinfo=UTC)


def test_exact_link_keeps_the_embedded_query() -> None:
    link = wayback(ABC_WITH_QUERY)
    assert link.exact
    assert link.original.endswith("/story?id=112415277")
    assert link.moment == link.period_end == dt.datetime(2024, 7, 31, 21, 34, 56, tzinfo=UTC)


@pytest.mark.parametrize("mode", ["id_", "if_", "im_", "js_", "cs_"])
def test_replay_modes_are_read_and_do_not_change_the_capture(mode: str) -> None:
    link = wayback(f"https://web.archive.org/web/20171124151315{mode}/https://www.fws.gov/birds/")
    assert (link.timestamp, link.mode, link.exact) == ("20171124151315", mode, True)
    assert link.original == "https://www.fws.gov/birds/"


def test_calendar_without_timestamp_and_scheme_less_url() -> None:
    link = wayback("https://web.archive.org/web/*/www.nasa.gov/")
    assert (link.timestamp, link.calendar, link.original) == ("", True, "http://www.nasa.gov/")
    assert link.moment == LATEST  # the calendar opens on the latest captures


def test_timegate_link_without_timestamp_means_the_latest_capture() -> None:
    link = wayback("https://web.archive.org/web/https://example.com/page")
    assert (link.timestamp, link.calendar, link.original) == ("", False, "https://example.com/page")
    assert not link.exact


def test_host_and_scheme_are_case_insensitive_and_http_is_accepted() -> None:
    link = wayback("HTTP://Web.Archive.ORG/web/20200101000000/https://example.com/")
    assert link.host == "web.archive.org"
    assert wayback("http://wayback.archive.org/web/2020/https://example.com/").host == (
        "wayback.archive.org"
    )


def test_percent_encoded_embedded_url_is_decoded() -> None:
    link = wayback("https://web.archive.org/web/2020/https%3A%2F%2Fx.org%2Fa%3Fb%3D1")
    assert link.original == "https://x.org/a?b=1"


def test_embedded_query_is_kept_and_fragment_dropped() -> None:
    link = wayback("https://web.archive.org/web/20200101000000/https://x.org/a?b=1&c=2#part")
    assert link.original == "https://x.org/a?b=1&c=2"


def test_squashed_scheme_slashes_are_restored() -> None:
    assert wayback("https://web.archive.org/web/2020/https:/x.org/a").original == "https://x.org/a"


def test_custom_wayback_hosts_replace_the_defaults() -> None:
    url = "http://127.0.0.1:8080/web/20200101000000/https://x.org/"
    assert parse_archive_link(url) is None
    link = parse_archive_link(url, ("127.0.0.1",))
    assert isinstance(link, WaybackLink) and link.host == "127.0.0.1"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/web/20200101000000/https://x.org/",  # not a Wayback host
        "https://web.archive.org/web/2020/",  # nothing embedded
        "https://web.archive.org/web/2020/foo",  # embedded part is no URL
        "https://web.archive.org/web/2020/ftp://x.org/file",  # no web page
        "https://web.archive.org/web/2020/javascript:alert(1)",
        "https://web.archive.org/web/2020/mailto:someone@example.com",
        "https://web.archive.org/web/202513/https://x.org/",  # month 13
        "https://web.archive.org/web/20230229/https://x.org/",  # no 29 February in 2023
        "https://web.archive.org/web/123456789012345/https://x.org/",  # 15 digits
        "https://web.archive.org/save/https://x.org/",
        "https://web.archive.org/",
        "ftp://web.archive.org/web/2020/https://x.org/",
        "web.archive.org/web/2020/https://x.org/",  # no scheme on the link itself
        "",
    ],
)
def test_not_a_wayback_link(url: str) -> None:
    assert parse_archive_link(url) is None


# -- other archives -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "archive"),
    [
        ("https://archive.ph/2021.01.06-abcde/https://x.org/", "archive.today"),
        ("https://archive.today/AbCdE", "archive.today"),
        ("http://archive.is/AbCdE", "archive.today"),
        ("https://archive.li/AbCdE", "archive.today"),
        ("https://archive.vn/AbCdE", "archive.today"),
        ("https://archive.md/AbCdE", "archive.today"),
        (POWELL_ITEM, "archive.org item"),
        (
            "https://www.archive.org/details/pbs-zuckerberg-congressional-testimony",
            "archive.org item",
        ),
        ("https://ghostarchive.org/archive/AbCdE", "ghostarchive"),
        ("https://perma.cc/ABCD-EFGH", "perma.cc"),
        ("https://www.webcitation.org/6XyZ", "webcitation"),
    ],
)
def test_other_archives_are_recognised_not_fabricated(url: str, archive: str) -> None:
    assert parse_archive_link(url) == OtherArchive(url, archive)
    assert not is_wayback_url(url)


@pytest.mark.parametrize(
    "url", ["https://archive.ph/", "https://archive.org/web/", "https://archive.org/details/"]
)
def test_an_archive_home_page_is_no_archive_link(url: str) -> None:
    assert parse_archive_link(url) is None


# -- timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "start", "end"),
    [
        ("2025", (2025, 1, 1, 0, 0, 0), (2025, 12, 31, 23, 59, 59)),
        ("202402", (2024, 2, 1, 0, 0, 0), (2024, 2, 29, 23, 59, 59)),  # leap year
        ("202302", (2023, 2, 1, 0, 0, 0), (2023, 2, 28, 23, 59, 59)),
        ("20251", (2025, 10, 1, 0, 0, 0), (2025, 12, 31, 23, 59, 59)),  # odd length: Oct–Dec
        ("2025021", (2025, 2, 10, 0, 0, 0), (2025, 2, 19, 23, 59, 59)),
        ("2025020", (2025, 2, 1, 0, 0, 0), (2025, 2, 9, 23, 59, 59)),
        ("2018040212", (2018, 4, 2, 12, 0, 0), (2018, 4, 2, 12, 59, 59)),
        ("20171124151315", (2017, 11, 24, 15, 13, 15), (2017, 11, 24, 15, 13, 15)),
    ],
)
def test_partial_timestamps_pad_per_field(
    timestamp: str,
    start: tuple[int, int, int, int, int, int],
    end: tuple[int, int, int, int, int, int],
) -> None:
    assert timestamp_bounds(timestamp) == (
        dt.datetime(*start[:6]).replace(tzinfo=UTC),
        dt.datetime(*end[:6]).replace(tzinfo=UTC),
    )


@pytest.mark.parametrize("timestamp", ["202513", "20250230", "0000", "2025x", "٢٠٢٥", "1" * 15])
def test_impossible_timestamps_have_no_bounds(timestamp: str) -> None:
    assert timestamp_bounds(timestamp) is None


# -- never raises -------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "http://",
    "https://web.archive.org",
    "https://web.archive.org/web/",
    "https://web.archive.org/web//",
    "https://web.archive.org/web/*/",
    "https://web.archive.org/web/**/https://x.org/",
    "https://web.archive.org/web/2020*id_/https://x.org/",
    "https://web.archive.org/web/2020/http://[::1/",
    "https://web.archive.org/web/2020/http://x.org:99999/",
    "https://web.archive.org/web/2020/http://x.org:abc/",
    "https://web.archive.org/web/2020/https://\ud800.org/",
    "https://web.archive.org/web/2020/%",
    "https://web.archive.org/web/2020/https%3A%2F%2F",
    "https://web.archive.org/web/2020/https%3A%2F%2F%ZZ",
    "https://web.archive.org/web/99999999999999/https://x.org/",
    "https://web.archive.org/web/00000000000000/https://x.org/",
    "https://web.archive.org:bad/web/2020/https://x.org/",
    "https://user@web.archive.org:443/web/2020/https://x.org/",
    "https://[::1]/web/2020/https://x.org/",
    "https://[/web/2020/https://x.org/",
    "https://web.archive.org/web/2020/https://x.org/" + "a" * 70_000,
    "https://archive.org/details/\n",
    "javascript:alert(1)",
    "\u202ehttps://web.archive.org/web/2020/https://x.org/",
]


SEEDS = [
    JUSTIA_CALENDAR,
    SINCLAIR_PARTIAL,
    ABC_WITH_QUERY,
    POWELL_ITEM,
    "https://web.archive.org/web/*/www.nasa.gov/",
    "https://web.archive.org/web/2020/https%3A%2F%2Fx.org%2Fa",
    "https://archive.ph/AbCdE",
]


def _random_strings(count: int) -> list[str]:
    """Real links mutated by inserting URL-ish pieces and cutting slices (hypothesis is not
    installed): seeded, so a failure reproduces."""
    pieces = [
        "http", "://", "/", "web", "*", "id_", "2020", "%", "%3A", "%2F", "?", "#", "&", "=",
        ":", "@", "[", "]", "::1", "www.", ".", "\x00", " ", "\ud800", "é", "•", "99999", "\\",
    ]  # fmt: skip
    rng = random.Random(20240327)
    out = []
    for _ in range(count):
        text = rng.choice(SEEDS)
        for _ in range(rng.randint(0, 3)):
            at = rng.randrange(len(text) + 1)
            if rng.random() < 0.6:
                text = text[:at] + rng.choice(pieces) + text[at:]
            else:
                text = text[:at] + text[at + rng.randint(1, 12) :]
        out.append(text)
    return out


@pytest.mark.parametrize("url", NASTY + _random_strings(3000))
def test_never_raises_on_any_string(url: str) -> None:
    result = parse_archive_link(url)
    assert result is None or isinstance(result, WaybackLink | OtherArchive)
    if isinstance(result, WaybackLink):
        assert result.moment <= result.period_end
        assert result.original.startswith(("http://", "https://"))
    assert isinstance(is_wayback_url(url), bool)
    key = capture_key(url)
    assert key is None or isinstance(key, str)


def test_random_strings_do_reach_the_parser() -> None:
    """The fuzz corpus is not all garbage: some of it parses as each kind of link."""
    kinds = {type(parse_archive_link(url)) for url in _random_strings(3000)}
    assert {WaybackLink, OtherArchive, type(None)} <= kinds


# -- capture_key: what surt normalises ------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.com/a", "https://example.com/a"),  # scheme
        ("http://www.example.com/a", "http://example.com/a"),  # www.
        ("http://www2.example.com/a", "http://example.com/a"),  # wwwN.
        ("http://EXAMPLE.com/a", "http://example.com/a"),  # host case
        ("http://example.com/Page", "http://example.com/page"),  # path case (index lower-cases)
        ("http://example.com/a/", "http://example.com/a"),  # trailing slash
        ("http://example.com", "http://example.com/"),
        ("http://example.com/p?b=2&a=1", "http://example.com/p?a=1&b=2"),  # query order
        ("http://example.com/p?ID=ABC", "http://example.com/p?id=abc"),  # query case, too
        ("http://example.com/%e2%80%a2", "http://example.com/%E2%80%A2"),  # escape case
        ("http://example.com/%E2%80%A2", "http://example.com/•"),  # escaped vs decoded
        ("http://example.com/%7Euser", "http://example.com/~user"),
        ("http://example.com:80/a", "http://example.com/a"),  # default port
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com/a#top", "http://example.com/a"),  # fragment
        ("http://example.com/a?", "http://example.com/a"),  # empty query
        ("www.nasa.gov/", "https://nasa.gov"),  # scheme-less, as Wayback writes them
        ("www.nasa.gov:8080/a", "http://nasa.gov:8080/a"),  # a port is no scheme
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),  # IDN
        ("  http://example.com/a  ", "http://example.com/a"),
    ],
)
def test_capture_key_ignores_what_the_index_ignores(a: str, b: str) -> None:
    assert capture_key(a) is not None
    assert capture_key(a) == capture_key(b)
    assert same_capture_target(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.com/a", "http://example.com/b"),
        ("http://example.com/a", "http://example.com/a/b"),
        ("http://example.com/p?a=1", "http://example.com/p?a=2"),
        ("http://example.com/p?a=1", "http://example.com/p"),
        ("http://example.com/a", "http://example.org/a"),
        ("http://news.example.com/a", "http://example.com/a"),  # only www. is ignored
        ("http://example.com:8080/a", "http://example.com/a"),
        ("http://example.com/index.html", "http://example.com/"),  # not stripped
        ("http://example.com/a;jsessionid=1", "http://example.com/a"),  # nor session ids
        ("http://example.com/a?utm_source=x", "http://example.com/a"),  # nor tracking
    ],
)
def test_capture_key_keeps_apart_what_the_index_keeps_apart(a: str, b: str) -> None:
    assert capture_key(a) is not None and capture_key(b) is not None
    assert not same_capture_target(a, b)


def test_surt_key_shape_for_the_reference_row() -> None:
    """The CDX ``urlkey`` of the reference's example row: ``org,archive)/``."""
    assert capture_key("http://www.archive.org:80/") == "org,archive)/"
    assert capture_key("https://www.nasa.gov/news/") == "gov,nasa)/news"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "http://[::1/",  # urlsplit raises; surt alone would answer "::1)/"
        "http://",  # surt alone would answer "http:"
        "http:///path",
        "mailto:someone@example.com",
        "ftp://example.com/file",
        "http://example.com:99999/",  # surt raises ValueError
        "http://example.com:abc/",
        "http://example.com/\ud800",  # surt raises UnicodeEncodeError
    ],
)
def test_capture_key_is_none_for_what_no_row_could_match(url: str) -> None:
    assert capture_key(url) is None
    assert not same_capture_target(url, url)


# -- is_wayback_url -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (SINCLAIR_PARTIAL, True),
        (JUSTIA_CALENDAR, True),
        ("https://web.archive.org/save/https://x.org/", True),  # still Wayback's own page
        ("http://WAYBACK.archive.org/web/2020/https://x.org/", True),
        (POWELL_ITEM, False),
        ("https://example.com/web/2020/https://x.org/", False),
        ("https://web.archive.org.evil.example/web/2020/https://x.org/", False),
        ("not a url", False),
    ],
)
def test_is_wayback_url(url: str, expected: bool) -> None:
    assert is_wayback_url(url) is expected
