"""The citation check's pure parts: title, publisher and date matching, and each verdict."""

from __future__ import annotations

import datetime as dt

import pytest

from verifier.citation.captures import CaptureWant, known_capture, reading_order
from verifier.citation.facts import DateSource, PageFacts, PageKind, Seen, SeenDate
from verifier.citation.judge import CaptureHead, judge_citation, needs_capture
from verifier.citation.matching import (
    best_title,
    cited_title_is_site,
    days_apart,
    is_generic_title,
    publisher_matches,
    title_score,
)
from verifier.citation.url_dates import url_date
from verifier.config import CitationSettings
from verifier.models import (
    ArchiveInfo,
    ArchiveState,
    CitationVerdict,
    Observation,
    Source,
    Unverifiable,
    Verdict,
)

SETTINGS = CitationSettings()
WHEN = dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC)
ALIASES = SETTINGS.publisher_aliases


def page(
    *titles: str,
    site: str | None = "Example News",
    published: dt.date | None = None,
    kind: PageKind = PageKind.ARTICLE,
    probe_title: str | None = None,
) -> PageFacts:
    return PageFacts(
        titles=[Seen(source="title", text=t) for t in titles],
        site_names=[Seen(source="og:site_name", text=site)] if site else [],
        dates=[SeenDate(source=DateSource.JSON_LD_PUBLISHED, date=published)] if published else [],
        kind=kind,
        probe_title=probe_title,
    )


def alive(facts: PageFacts | None, url: str = "https://news.example/politics/a-1") -> Observation:
    return Observation(
        url=url, verdict=Verdict.ALIVE, http_status=200, final_url=url, checked_at=WHEN, page=facts
    )


def source(
    title: str | None = "Senate passes the harbour pension bill", **fields: object
) -> Source:
    return Source.model_validate(
        {
            "url": "https://news.example/politics/a-1",
            "title": title,
            "publisher": "Example News",
            "date": "2021-02-03",
            **fields,
        }
    )


# -- titles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cited", "shown"),
    [
        ("Senate passes the harbour pension bill", "Senate passes the harbour pension bill"),
        ("SENATE PASSES THE HARBOUR PENSION BILL", "Senate passes the harbour pension bill"),
        ("Mayor’s railway plan stalls", "Mayor's railway plan stalls"),
        # a cited subtitle the page's title lacks
        ("Senate passes pension bill: what it means for retirees", "Senate passes pension bill"),
        # the page's longer headline
        ("Senate passes pension bill", "Senate passes pension bill after a night of debate"),
        ("Café owners sue the council", "Cafe owners sue the council"),
    ],
)
def test_titles_that_say_the_same_match(cited: str, shown: str) -> None:
    assert title_score(cited, shown) >= SETTINGS.title_match


@pytest.mark.parametrize(
    ("cited", "shown"),
    [
        # a section front shares one word: a token-set ratio alone would say 100
        ("Politics: Senate passes pension bill", "Politics"),
        ("Senate passes pension bill", "Example News - Breaking News, Latest News and Videos"),
        # another article of the same site
        ("Senate passes pension bill", "Council delays railway vote again"),
        ("Senate passes pension bill", "Senate rejects harbour budget plan"),
    ],
)
def test_titles_of_other_pages_do_not_match(cited: str, shown: str) -> None:
    assert title_score(cited, shown) < SETTINGS.title_match


def test_the_best_candidate_wins_and_says_where_it_was_read() -> None:
    candidates = [
        Seen(source="title", text="Home"),
        Seen(source="og:title", text="Senate passes bill"),
    ]
    match = best_title("Senate passes bill", candidates)
    assert match.seen is not None and match.seen.source == "og:title"
    assert match.score == 100


def test_generic_titles_name_the_site_a_section_or_the_probe_page() -> None:
    host = "www.examplenews.com"
    assert is_generic_title(page("Example News"), host)
    assert is_generic_title(page("Politics"), host)
    assert is_generic_title(page("Breaking News, Latest News and Videos"), host)
    assert is_generic_title(page("Sorry about that", probe_title="Sorry about that"), host)
    assert not is_generic_title(page("Senate passes pension bill"), host)


def test_a_cited_title_that_is_only_the_site_name() -> None:
    assert cited_title_is_site("nytimes.com", None, "https://www.nytimes.com/2021/a.html")
    assert cited_title_is_site("The Guardian", "The Guardian", "https://theguardian.com/x")
    assert not cited_title_is_site(
        "Guardian reveals pension deal", None, "https://theguardian.com/x"
    )


# -- publishers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cited", "site", "url", "expected"),
    [
        ("Example News", "Example News", "https://a.example/x", True),
        ("The New York Times", "NYT", "https://a.example/x", True),  # alias
        ("New York Times", "The New York Times", "https://a.example/x", True),
        ("Harbour Daily Courier", "HDC", "https://a.example/x", True),  # acronym
        ("Washington Post", None, "https://www.washingtonpost.com/x", True),  # the host
        ("Reuters", "Example News", "https://a.example/x", False),
        ("Reuters", None, "https://a.example/x", None),  # nothing to compare
        (None, "Example News", "https://a.example/x", None),
    ],
)
def test_publisher_matching(
    cited: str | None, site: str | None, url: str, expected: bool | None
) -> None:
    assert publisher_matches(cited, page("x", site=site), url, ALIASES) is expected


# -- dates ----------------------------------------------------------------------------------


def test_days_apart_reads_partial_cited_dates_as_periods() -> None:
    assert days_apart("2021-02-03", dt.date(2021, 2, 3)) == 0
    assert days_apart("2021-02-03", dt.date(2021, 2, 8)) == 5
    assert days_apart("2021-02-03", dt.date(2021, 1, 1)) == 33
    assert days_apart("February 2021", dt.date(2021, 2, 27)) == 0
    assert days_apart("2021", dt.date(2021, 12, 31)) == 0
    assert days_apart("not a date", dt.date(2021, 2, 3)) is None
    assert days_apart(None, dt.date(2021, 2, 3)) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/2021/02/03/senate-bill", dt.date(2021, 2, 3)),
        ("https://a.example/news/20210203/senate-bill", dt.date(2021, 2, 3)),
        ("https://a.example/2021-02-03-senate-bill", dt.date(2021, 2, 3)),
        ("https://a.example/2021/02/senate-bill", None),  # no day
        ("https://a.example/article/123456789", None),
        ("https://a.example/1899/01/01/x", None),  # before 1990: a number
        ("https://a.example/2021/13/40/x", None),
        ("https://a.example/x?date=2021-02-03", None),  # the path only
    ],
)
def test_url_dates(url: str, expected: dt.date | None) -> None:
    assert url_date(url, today=dt.date(2026, 12, 1)) == expected


# -- verdicts -------------------------------------------------------------------------------


def test_a_matching_page_matches_and_shows_the_title_that_matched() -> None:
    facts = page("Home", "Senate passes the harbour pension bill", published=dt.date(2021, 2, 3))
    info = judge_citation(source(), alive(facts), SETTINGS)
    assert info is not None and info.verdict is CitationVerdict.MATCHES
    assert info.seen.title == "Senate passes the harbour pension bill"
    assert info.publisher_matches is True
    assert info.cited.date == "2021-02-03" and info.seen.date == "2021-02-03"


def test_a_matching_page_dated_far_from_the_cited_date_is_a_date_mismatch() -> None:
    facts = page("Senate passes the harbour pension bill", published=dt.date(2019, 6, 1))
    info = judge_citation(source(), alive(facts), SETTINGS)
    assert info is not None and info.verdict is CitationVerdict.DATE_MISMATCH
    assert "2019-06-01" in info.detail


def test_a_date_a_few_weeks_off_is_noted_but_still_matches() -> None:
    facts = page("Senate passes the harbour pension bill", published=dt.date(2021, 2, 20))
    info = judge_citation(source(), alive(facts), SETTINGS)
    assert info is not None and info.verdict is CitationVerdict.MATCHES
    assert "17 days" in info.detail


def test_another_article_is_a_wrong_page_and_waits_on_a_capture() -> None:
    facts = page("Council delays railway vote again")
    assert needs_capture(source(), alive(facts), SETTINGS)
    info = judge_citation(source(), alive(facts), SETTINGS)
    assert info is not None and info.verdict is CitationVerdict.WRONG_PAGE
    assert info.seen.title == "Council delays railway vote again"
    assert "no capture" in info.detail


def test_a_capture_that_showed_the_cited_title_makes_it_drifted() -> None:
    facts = page("Council delays railway vote again")
    then = CaptureHead(
        "https://web.archive.org/web/20210203000000/x",
        page("Senate passes the harbour pension bill"),
    )
    info = judge_citation(source(), alive(facts), SETTINGS, then)
    assert info is not None and info.verdict is CitationVerdict.DRIFTED
    assert info.capture_url == then.url
    assert info.capture_title == "Senate passes the harbour pension bill"


def test_a_capture_that_never_matched_keeps_it_a_wrong_page() -> None:
    facts = page("Council delays railway vote again")
    then = CaptureHead(
        "https://web.archive.org/web/20210203000000/x", page("Council delays railway vote")
    )
    info = judge_citation(source(), alive(facts), SETTINGS, then)
    assert info is not None and info.verdict is CitationVerdict.WRONG_PAGE
    assert "capture from the cited time does not either" in info.detail


def test_a_home_page_or_section_front_is_a_generic_page() -> None:
    for facts in (page("Example News"), page("Politics")):
        info = judge_citation(source(), alive(facts), SETTINGS)
        assert info is not None and info.verdict is CitationVerdict.GENERIC_PAGE


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (None, Unverifiable.NOT_HTML),
        (page("Before you continue", kind=PageKind.CONSENT_WALL), Unverifiable.CONSENT_WALL),
        (page(kind=PageKind.SCRIPT_SHELL), Unverifiable.SCRIPT_SHELL),
        (page(), Unverifiable.NO_METADATA),
    ],
)
def test_pages_that_cannot_speak_for_themselves_are_unverifiable(
    facts: PageFacts | None, reason: Unverifiable
) -> None:
    info = judge_citation(source(), alive(facts), SETTINGS)
    assert info is not None and info.verdict is CitationVerdict.UNVERIFIABLE
    assert info.reason is reason
    assert not needs_capture(source(), alive(facts), SETTINGS)


def test_a_cited_title_naming_only_the_site_is_unverifiable() -> None:
    info = judge_citation(source(title="news.example"), alive(page("Anything at all")), SETTINGS)
    assert info is not None and info.reason is Unverifiable.NO_CITED_TITLE


def test_blocked_sources_are_unverifiable_and_dead_ones_are_left_to_liveness() -> None:
    blocked = Observation(
        url="https://a.example/x", verdict=Verdict.BLOCKED, checked_at=WHEN, detail="HTTP 403"
    )
    info = judge_citation(source(), blocked, SETTINGS)
    assert info is not None and info.reason is Unverifiable.BLOCKED
    dead = Observation(url="https://a.example/x", verdict=Verdict.DEAD, checked_at=WHEN)
    assert judge_citation(source(), dead, SETTINGS) is None
    assert judge_citation(source(), None, SETTINGS) is None


def test_the_check_turned_off_judges_nothing() -> None:
    off = CitationSettings(enabled=False)
    assert judge_citation(source(), alive(page("Council delays railway vote")), off) is None


def test_a_script_shell_whose_title_matches_still_matches() -> None:
    shell = page("Senate passes the harbour pension bill", kind=PageKind.SCRIPT_SHELL)
    info = judge_citation(source(), alive(shell), SETTINGS)
    assert info is not None and info.verdict is CitationVerdict.MATCHES
    other = page("The Mountain Sentinel", site=None, kind=PageKind.SCRIPT_SHELL)
    info = judge_citation(source(), alive(other), SETTINGS)
    assert info is not None and info.reason is Unverifiable.SCRIPT_SHELL


def test_a_date_of_the_check_day_is_a_masthead_not_the_publication_date() -> None:
    facts = page("Senate passes the harbour pension bill", published=WHEN.date())
    info = judge_citation(source(), alive(facts), SETTINGS)
    assert info is not None and info.verdict is CitationVerdict.MATCHES
    assert info.seen.date is None


def test_captures_the_archive_already_names_are_read_first_and_generic_pages_last() -> None:
    cited_end = dt.datetime(2021, 2, 3, 23, 59, 59, tzinfo=dt.UTC)
    named = ArchiveInfo(state=ArchiveState.EXISTING, timestamp="20210201000000")
    late = ArchiveInfo(state=ArchiveState.EXISTING, timestamp="20220101000000")
    wants = [
        CaptureWant("generic", "https://a.example/g", cited_end, None, generic=True),
        CaptureWant("lookup", "https://a.example/l", cited_end, late),
        CaptureWant("named", "https://a.example/n", cited_end, named),
    ]
    assert known_capture(wants[2], 7) == "20210201000000"
    assert known_capture(wants[1], 7) is None  # captured long after it was cited
    assert [w.key for w in reading_order(wants, 7)] == ["named", "lookup", "generic"]
