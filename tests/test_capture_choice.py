"""Which capture a citation uses, what a replay probe answered, and what a claimed link is."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from verifier.archive.capture_choice import (
    LinkVerdict,
    ReplayAnswer,
    citation_capture,
    cited_period,
    judge_link,
    nearest,
    parse_period,
    read_replay,
)
from verifier.archive.wayback_data import Capture, parse_cdx_json
from verifier.archive.wayback_links import WaybackLink, parse_archive_link

UTC = dt.UTC
FWS = "https://www.fws.gov/birds/"
ZEW = "https://www.zew.de/presse/pressemitteilungen/zew-konjunkturerwartungen-dezember-2020"


def at(timestamp: str) -> dt.datetime:
    return dt.datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def cdx(original: str, *rows: tuple[str, str] | tuple[str, str, str]) -> list[Capture]:
    """Rows through the real CDX JSON parser: (timestamp, statuscode[, mimetype])."""
    body = [["timestamp", "original", "statuscode", "mimetype"]]
    for row in rows:
        timestamp, status = row[0], row[1]
        mimetype = row[2] if len(row) == 3 else ("warc/revisit" if status == "-" else "text/html")
        body.append([timestamp, original, status, mimetype])
    return parse_cdx_json(json.dumps(body))


def link(url: str) -> WaybackLink:
    parsed = parse_archive_link(url)
    assert isinstance(parsed, WaybackLink)
    return parsed


# -- nearest --------------------------------------------------------------------------------


def test_nearest_uses_real_time_across_a_year_boundary() -> None:
    """20201230: 8 days after 20201222, 6 days before 20210105. As 14-digit numbers the
    December row looks a thousand times nearer (8e6 against 8.875e9)."""
    rows = cdx(ZEW, ("20201222093011", "200"), ("20210105101502", "200"))
    moment = at("20201230000000")
    chosen = nearest(rows, moment)
    assert chosen is not None and chosen.timestamp == "20210105101502"
    by_number = min(rows, key=lambda r: abs(int(r.timestamp) - int("20201230000000")))
    assert by_number.timestamp == "20201222093011"  # the arithmetic this avoids


def test_nearest_across_a_month_boundary() -> None:
    rows = cdx(ZEW, ("20200125000000", "200"), ("20200203000000", "200"))
    chosen = nearest(rows, at("20200130000000"))  # 5 days vs 4 days
    assert chosen is not None and chosen.timestamp == "20200203000000"


def test_nearest_tie_goes_to_the_earlier_capture() -> None:
    rows = cdx(FWS, ("20171124151320", "200"), ("20171124151310", "200"))
    chosen = nearest(rows, at("20171124151315"))
    assert chosen is not None and chosen.timestamp == "20171124151310"


def test_nearest_of_nothing_and_of_malformed_rows_is_none() -> None:
    assert nearest([], at("20200101000000")) is None
    assert nearest([Capture("2020", FWS, 200)], at("20200101000000")) is None


def test_nearest_takes_a_naive_moment_as_utc() -> None:
    rows = cdx(FWS, ("20200101000000", "200"), ("20200101100000", "200"))
    chosen = nearest(rows, dt.datetime(2020, 1, 1, 6, 0))
    assert chosen is not None and chosen.timestamp == "20200101100000"


# -- cited_period ---------------------------------------------------------------------------


def period(start: tuple[int, ...], end: tuple[int, ...]) -> tuple[dt.datetime, dt.datetime]:
    return utc(start), utc(end)


def utc(parts: tuple[int, ...]) -> dt.datetime:
    year, month, day, *rest = parts
    hour, minute, second = (*rest, 0, 0, 0)[:3]
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# Values as the kleptocracy-timeline corpus writes them (all of its non-YYYY-MM-DD kinds).
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-08-22", period((2025, 8, 22), (2025, 8, 22, 23, 59, 59))),
        ("2023", period((2023, 1, 1), (2023, 12, 31, 23, 59, 59))),
        ("1998-06", period((1998, 6, 1), (1998, 6, 30, 23, 59, 59))),
        ("2024-04", period((2024, 4, 1), (2024, 4, 30, 23, 59, 59))),
        ("June 1998", period((1998, 6, 1), (1998, 6, 30, 23, 59, 59))),
        ("1980s", period((1980, 1, 1), (1989, 12, 31, 23, 59, 59))),
        ("2025-02-xx", period((2025, 2, 1), (2025, 2, 28, 23, 59, 59))),
        # and the other forms citations use
        ("Jun 1998", period((1998, 6, 1), (1998, 6, 30, 23, 59, 59))),
        ("Sept. 2001", period((2001, 9, 1), (2001, 9, 30, 23, 59, 59))),
        ("June 5, 1998", period((1998, 6, 5), (1998, 6, 5, 23, 59, 59))),
        ("5 June 1998", period((1998, 6, 5), (1998, 6, 5, 23, 59, 59))),
        ("1998/06/05", period((1998, 6, 5), (1998, 6, 5, 23, 59, 59))),
        ("2024-02", period((2024, 2, 1), (2024, 2, 29, 23, 59, 59))),
        ("2020-12", period((2020, 12, 1), (2020, 12, 31, 23, 59, 59))),
        ("2024-03-26T14:05:09Z", period((2024, 3, 26, 14, 5, 9), (2024, 3, 26, 14, 5, 9))),
        ("2024-03-26T16:05:09+02:00", period((2024, 3, 26, 14, 5, 9), (2024, 3, 26, 14, 5, 9))),
        (dt.date(2018, 4, 2), period((2018, 4, 2), (2018, 4, 2, 23, 59, 59))),
        (dt.datetime(2018, 4, 2, 9, 30), period((2018, 4, 2, 9, 30), (2018, 4, 2, 9, 30))),
        (2010, period((2010, 1, 1), (2010, 12, 31, 23, 59, 59))),
    ],
)
def test_cited_period_reads_the_dates_citations_carry(
    value: object, expected: tuple[dt.datetime, dt.datetime]
) -> None:
    assert cited_period(value, None) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",  # the corpus's only unparseable value (six sources)
        None,
        True,
        "unknown",
        "2025-13",
        "2023-02-29",
        "Smarch 2020",
        "2025-xx-05",  # a day without a month
        "0000",
        10**12,
        ["2020"],
        "2024-03-26T99:00:00",
    ],
)
def test_meaningless_dates_name_no_period(value: object) -> None:
    assert parse_period(value) is None
    assert cited_period(value, None) is None


def test_cited_period_falls_back_to_the_event_date() -> None:
    assert cited_period("", "2020-12-29") == period((2020, 12, 29), (2020, 12, 29, 23, 59, 59))
    assert cited_period("2019", "2020-12-29") == period((2019, 1, 1), (2019, 12, 31, 23, 59, 59))


# -- citation_capture -----------------------------------------------------------------------


def test_citation_capture_is_the_last_good_one_before_the_period_ends() -> None:
    rows = cdx(
        FWS,
        ("20180301000000", "200"),
        ("20180402230000", "200"),  # late on the cited day: still within it
        ("20180402235500", "404"),  # error page: not good
        ("20180402235900", "-"),  # revisit: not good
        ("20180403000001", "200"),
    )
    chosen = citation_capture(rows, cited_period("2018-04-02", None))
    assert chosen is not None and chosen.timestamp == "20180402230000"


def test_citation_capture_else_the_first_good_one_after() -> None:
    rows = cdx(FWS, ("20190101000000", "200"), ("20180601000000", "301"), ("20180901", "200"))
    rows.append(Capture("20180701000000", FWS, 200))
    chosen = citation_capture(rows, cited_period("2018-04", None))
    assert chosen is not None and chosen.timestamp == "20180701000000"


def test_citation_capture_without_a_period_is_the_newest_good_one() -> None:
    rows = cdx(FWS, ("20200101000000", "200"), ("20240101000000", "200"), ("20250101", "503"))
    chosen = citation_capture(rows, None)
    assert chosen is not None and chosen.timestamp == "20240101000000"


def test_citation_capture_of_no_good_capture_is_none() -> None:
    rows = cdx(FWS, ("20200101000000", "404"), ("20210101000000", "-"))
    assert citation_capture(rows, None) is None
    assert citation_capture(rows, cited_period("2020", None)) is None


def test_a_resolved_revisit_counts_with_its_status() -> None:
    rows = cdx(FWS, ("20200101000000", "200", "warc/revisit"))
    assert citation_capture(rows, None) == rows[0]


# -- read_replay ----------------------------------------------------------------------------


def test_exact_capture_is_a_memento() -> None:
    answer = read_replay(
        200, {"Memento-Datetime": "Fri, 24 Nov 2017 15:13:15 GMT", "X-ts": "200"}, b"<html>"
    )
    assert answer == ReplayAnswer("memento", "20171124151315", 200, None, None)


def test_archived_redirect_is_a_memento_with_its_location() -> None:
    answer = read_replay(
        301,
        {
            "memento-datetime": "Fri, 24 Nov 2017 15:13:15 GMT",
            "location": "https://web.archive.org/web/20171124151315id_/https://www.fws.gov/birds/index.php",
        },
    )
    assert answer == ReplayAnswer(
        "memento", "20171124151315", 301, "20171124151315", "https://www.fws.gov/birds/index.php"
    )


def test_archived_rate_limit_page_is_a_memento_not_a_rate_limit() -> None:
    answer = read_replay(429, {"Memento-Datetime": "Tue, 01 Aug 2023 10:00:00 GMT"})
    assert (answer.kind, answer.memento_ts) == ("memento", "20230801100000")


def test_redirect_without_memento_datetime_means_no_capture_there() -> None:
    answer = read_replay(
        302,
        {
            "Content-Length": "0",
            "Location": "https://web.archive.org/web/20171124151315id_/https://www.fws.gov/birds/",
            "X-Archive-Redirect-Reason": "found capture at 20171124151315",
        },
    )
    assert answer == ReplayAnswer("moved", None, 302, "20171124151315", FWS)


def test_moved_takes_the_timestamp_from_the_reason_when_location_is_odd() -> None:
    answer = read_replay(
        302, {"X-Archive-Redirect-Reason": "found capture at 20171124151315", "Location": "?"}
    )
    assert (answer.kind, answer.location_ts, answer.location_url) == (
        "moved",
        "20171124151315",
        None,
    )


def test_relative_and_loopback_locations_are_read() -> None:
    relative = read_replay(302, {"Location": "/web/20200101000000id_/https://x.org/"})
    assert (relative.location_ts, relative.location_url) == ("20200101000000", "https://x.org/")
    fake = read_replay(302, {"Location": "http://127.0.0.1:8765/web/20200101000000/https://x.org/"})
    assert (fake.kind, fake.location_ts) == ("moved", "20200101000000")


def test_never_archived() -> None:
    body = b"<html><p>Hrm.</p><p>The Wayback Machine has not archived that URL.</p>"
    assert read_replay(404, {"Content-Type": "text/html"}, body).kind == "not-archived"
    assert read_replay(404, {}).kind == "not-archived"  # body not read
    assert read_replay(404, {}, b"<html>nginx</html>").kind == "other"


def test_excluded_url() -> None:
    body = b"<p>Sorry.</p><p>This URL has been excluded from the Wayback Machine.</p>"
    assert read_replay(200, {}, body).kind == "excluded"
    blocked = b"AdministrativeAccessControlException: Blocked Site Error"
    assert read_replay(403, {}, blocked).kind == "excluded"


def test_wayback_rate_limit_has_no_memento_datetime() -> None:
    assert read_replay(429, {"Retry-After": "120"}) == ReplayAnswer(
        "rate-limited", None, 429, None, None
    )


def test_anything_else_is_other() -> None:
    assert read_replay(503, {}).kind == "other"
    assert read_replay(200, {}, b"<html>").kind == "other"
    assert read_replay(302, {}).kind == "other"  # a redirect naming nothing


def test_unparseable_memento_datetime_is_still_a_memento() -> None:
    answer = read_replay(200, {"Memento-Datetime": "yesterday"})
    assert (answer.kind, answer.memento_ts) == ("memento", None)


# -- judge_link -----------------------------------------------------------------------------

EXACT = f"https://web.archive.org/web/20171124151315/{FWS}"


def test_exact_link_to_a_good_capture() -> None:
    rows = cdx(FWS, ("20171124151315", "200"), ("20171201000000", "200"))
    verdict = judge_link(link(EXACT), FWS, rows)
    assert verdict.kind == "exact"
    assert verdict.capture == rows[0]


def test_exact_link_among_duplicates_http_https_and_www_variants() -> None:
    rows = [
        Capture("20171124151315", "http://fws.gov:80/birds/", 200, "text/html"),
        Capture("20171124151315", "http://fws.gov:80/birds/", 200, "text/html"),
        Capture("20171124151315", "https://www.fws.gov/birds", 200, "text/html"),
        Capture("20171124151315", "https://www.fws.gov/fish/", 404, "text/html"),
    ]
    verdict = judge_link(link(EXACT), "http://fws.gov/birds", rows)
    assert verdict.kind == "exact"
    assert verdict.capture is not None and verdict.capture.status == 200


def test_exact_link_to_an_archived_error_page() -> None:
    rows = cdx(FWS, ("20171124151315", "404"), ("20171124151316", "200"))
    verdict = judge_link(link(EXACT), FWS, rows)
    assert verdict.kind == "exact-error"
    assert verdict.capture == rows[0]
    assert "HTTP 404" in verdict.detail
    assert verdict.nearest_good is not None and verdict.nearest_good.timestamp == "20171124151316"


def test_exact_link_to_a_revisit_is_exact_with_its_status_unknown() -> None:
    rows = cdx(FWS, ("20171124151315", "-"))
    verdict = judge_link(link(EXACT), FWS, rows)
    assert verdict.kind == "exact"
    assert verdict.capture is not None and verdict.capture.status is None
    assert "revisit" in verdict.detail


def test_fourteen_digits_off_by_five_seconds_is_imprecise() -> None:
    """The reference's replay example: …151310 is 302'd to …151315."""
    rows = cdx(FWS, ("20171124151315", "200"), ("20171001000000", "200"))
    verdict = judge_link(link(f"https://web.archive.org/web/20171124151310id_/{FWS}"), FWS, rows)
    assert verdict.kind == "imprecise"
    assert verdict.capture == verdict.nearest_good == rows[0]
    assert "20171124151315" in verdict.detail


def test_midnight_timestamp_naming_no_capture_resolves_to_the_nearest() -> None:
    """Corpus shape ``/web/20250822000000/…``: a day written as 14 digits."""
    url = "https://www.npr.org/2025/08/22/nx-s1-5509535/epstein-files-congress-house-oversight"
    rows = cdx(url, ("20250821120000", "200"), ("20250822093000", "200"))
    verdict = judge_link(link(f"https://web.archive.org/web/20250822000000/{url}"), url, rows)
    assert verdict.kind == "imprecise"
    assert verdict.capture is not None and verdict.capture.timestamp == "20250822093000"


def test_partial_timestamp_is_padded_low_like_wayback() -> None:
    """``/web/20180402/`` resolves from 2018-04-02T00:00:00, so a capture late the evening
    before beats one late on the day itself."""
    url = "https://sbgi.net/pr-news/sinclair-statement-on-news-promos/"
    rows = cdx(url, ("20180401230000", "200"), ("20180402200000", "200"))
    verdict = judge_link(link(f"https://web.archive.org/web/20180402/{url}"), url, rows)
    assert verdict.kind == "imprecise"
    assert verdict.capture is not None and verdict.capture.timestamp == "20180401230000"


def test_corpus_calendar_link_with_a_good_capture_nearby_is_imprecise() -> None:
    url = "https://law.justia.com/cases/federal/appellate-courts/ca5/24-50149/24-50149-2024-03-26.html"
    rows = cdx(url, ("20240327000000", "200"), ("20240401000000", "200"))
    verdict = judge_link(link(f"https://web.archive.org/web/20240327000000*/{url}"), url, rows)
    assert verdict.kind == "imprecise"  # a calendar page is no capture, even at a capture's ts
    assert verdict.capture == rows[0]
    assert "calendar" in verdict.detail


def test_calendar_without_timestamp_resolves_to_the_latest_capture() -> None:
    rows = cdx("http://www.nasa.gov/", ("19961219000000", "200"), ("20240101000000", "200"))
    verdict = judge_link(
        link("https://web.archive.org/web/*/www.nasa.gov/"), "https://nasa.gov", rows
    )
    assert verdict.kind == "imprecise"
    assert verdict.capture is not None and verdict.capture.timestamp == "20240101000000"


def test_link_resolving_to_an_error_capture_is_fabricated_with_a_suggestion() -> None:
    rows = cdx(
        FWS,
        ("20240101000500", "503"),
        ("20231201000000", "200"),
        ("20240201000000", "200"),
        ("20240101000500", "503"),  # the CDX repeats rows
    )
    verdict = judge_link(link(f"https://web.archive.org/web/20240101000000/{FWS}"), FWS, rows)
    assert verdict.kind == "fabricated"
    assert verdict.capture is not None and verdict.capture.status == 503
    assert verdict.nearest_good is not None and verdict.nearest_good.timestamp == "20231201000000"
    assert "HTTP 503" in verdict.detail


def test_resolving_to_a_revisit_is_imprecise_and_suggests_a_good_capture() -> None:
    rows = cdx(FWS, ("20240101000400", "-"), ("20231201000000", "200"))
    verdict = judge_link(link(f"https://web.archive.org/web/20240101000000/{FWS}"), FWS, rows)
    assert verdict.kind == "imprecise"
    assert verdict.capture is not None and verdict.capture.status is None
    assert verdict.nearest_good is not None and verdict.nearest_good.timestamp == "20231201000000"


def test_no_rows_is_fabricated() -> None:
    verdict = judge_link(link(EXACT), FWS, [])
    assert verdict == LinkVerdict("fabricated", None, None, verdict.detail)
    assert "no capture" in verdict.detail


def test_rows_of_other_urls_only_are_no_rows() -> None:
    rows = cdx("https://www.fws.gov/fish/", ("20171124151315", "200"))
    assert judge_link(link(EXACT), FWS, rows).kind == "fabricated"


def test_capture_of_another_url_than_the_cited_one_is_fabricated() -> None:
    rows = cdx(FWS, ("20171124151315", "200"))
    verdict = judge_link(link(EXACT), "https://www.fws.gov/fish/", rows)
    assert verdict.kind == "fabricated"
    assert verdict.capture is None and "another URL" in verdict.detail


def test_cited_url_differing_only_as_the_index_ignores_is_the_same_target() -> None:
    rows = cdx(FWS, ("20171124151315", "200"))
    assert judge_link(link(EXACT), "http://FWS.gov/birds", rows).kind == "exact"


def test_unusable_rows_give_unknown() -> None:
    rows = [Capture("2017112415", FWS, 200), Capture("-", FWS, None)]
    assert judge_link(link(EXACT), FWS, rows).kind == "unknown"
    assert judge_link(link(EXACT), "http://[::1/", cdx(FWS, ("20171124151315", "200"))).kind == (
        "unknown"
    )


@pytest.mark.parametrize(
    "rows",
    [
        [Capture("", "", None)],
        [Capture("99999999999999", FWS, 200)],
        [Capture("20171124151315", "http://[::1/", 200)],
        [Capture("20171124151315", "\ud800", 999, "")],
        [Capture("٢٠١٧١١٢٤١٥١٣١٥", FWS, 200)],
    ],
)
def test_judge_link_is_total_on_junk_rows(rows: list[Capture]) -> None:
    verdict = judge_link(link(EXACT), FWS, rows)
    assert verdict.kind in ("unknown", "fabricated")
