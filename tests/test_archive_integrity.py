"""Archive integrity against real-shaped Wayback answers: the right capture, honest verdicts.

Each test seeds the fake Wayback Machine (which follows shared/reference/wayback-api.md)
with captures shaped like real CDX data and checks what the archiver concludes.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from tests.fakes.wayback import (
    DEFAULT_ACCOUNT,
    Account,
    FakeClock,
    FakeWayback,
    FakeWaybackConfig,
    SpnOutcome,
)
from tests.test_archive import NOW, UNLIMITED, URL, archive, fake_wayback
from verifier.archive.archiver import ArchiveTask, MemoryArchiveStore
from verifier.config import Settings
from verifier.events.parse import load_event_file
from verifier.events.rules import RuleContext
from verifier.models import ArchiveInfo, ArchiveState, LoadedEvent, Verdict
from verifier.stages import archive_tasks

WEB = "https://web.archive.org/web"


def link(timestamp: str, url: str = URL) -> str:
    return f"{WEB}/{timestamp}/{url}"


async def verify(fake, archive_url: str, url: str = URL, **overrides):  # type: ignore[no-untyped-def]
    task = ArchiveTask(url, archive_url)
    run, _ = await archive(fake, [task], **overrides)
    return run.records[task.key]


# -- which capture --------------------------------------------------------------------------


async def test_the_nearest_capture_is_nearest_in_time_across_a_year_boundary() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20201201000000")  # 30 days before the claim (numbers: 3e7 away)
    fake.add_capture(URL, "20210102000000")  # 2 days after it (numbers: 8.9e9 away)
    info = await verify(fake, link("20201231000000"))
    assert info.state is ArchiveState.IMPRECISE  # Wayback's 302 leads to a good capture
    assert info.resolved_url == link("20210102000000")


async def test_a_source_without_a_date_takes_the_capture_before_its_events_date() -> None:
    fake = fake_wayback()
    for stamp in ("20190101000000", "20210201000000", "20250101000000"):
        fake.add_capture(URL, stamp)
    task = ArchiveTask(URL, None, None, 1, "2021-02-03")
    run, _ = await archive(fake, [task])
    assert run.records[task.key].timestamp == "20210201000000"


async def test_a_partial_source_date_names_its_whole_period() -> None:
    fake = fake_wayback()
    for stamp in ("20191231000000", "20211230000000", "20220105000000"):
        fake.add_capture(URL, stamp)
    task = ArchiveTask(URL, None, "2021", 1, "2021-02-03")
    run, _ = await archive(fake, [task])
    assert run.records[task.key].timestamp == "20211230000000"  # last good one in 2021


async def test_one_url_cited_under_two_dates_gets_a_capture_for_each() -> None:
    fake = fake_wayback()
    for stamp in ("20190601000000", "20230601000000", "20250601000000"):
        fake.add_capture(URL, stamp)
    early = ArchiveTask(URL, None, "2019-07-01")
    late = ArchiveTask(URL, None, "2023-07-01")
    run, _ = await archive(fake, [early, late])
    assert early.key != late.key
    assert run.records[early.key].timestamp == "20190601000000"
    assert run.records[late.key].timestamp == "20230601000000"


async def test_a_refresh_capture_keeps_the_citations_capture_as_the_link() -> None:
    fake = fake_wayback(capture_duration=0)
    fake.add_capture(URL, "20210201000000")  # the citation's capture, years old
    task = ArchiveTask(URL, None, "2021-02-03")
    run, _ = await archive(fake, [task])
    info = run.records[task.key]
    assert info.state is ArchiveState.SAVED
    assert info.timestamp == "20210201000000"
    assert info.url == link("20210201000000")
    assert info.latest_timestamp is not None and info.latest_timestamp.startswith("2026")


# -- what a link means ----------------------------------------------------------------------


async def test_an_exact_link_compares_urls_as_the_index_does() -> None:
    fake = fake_wayback()
    fake.add_capture("http://www.news.example.org:80/2021/02/03/story/", "20210203101010")
    info = await verify(fake, link("20210203101010", "news.example.org/2021/02/03/story"))
    assert info.state is ArchiveState.EXISTING
    assert info.captured_status == 200


async def test_a_calendar_link_is_imprecise_and_names_the_capture_it_resolves_to() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210203101010")
    fake.add_capture(URL, "20200101000000")
    info = await verify(fake, f"{WEB}/20210203000000*/{URL}")
    assert info.state is ArchiveState.IMPRECISE
    assert info.resolved_url == link("20210203101010")
    assert info.resolved_timestamp == "20210203101010"


async def test_a_partial_timestamp_is_imprecise() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210315000000")
    info = await verify(fake, link("2021"))
    assert info.state is ArchiveState.IMPRECISE
    assert info.resolved_timestamp == "20210315000000"


async def test_a_timestamp_resolving_to_an_error_capture_is_fabricated() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210203101010", statuscode="404")
    fake.add_capture(URL, "20190101000000")
    info = await verify(fake, link("20210203000000"))
    assert info.state is ArchiveState.FABRICATED
    assert info.nearest_url == link("20190101000000")


async def test_a_link_to_a_capture_of_another_url_is_fabricated() -> None:
    fake = fake_wayback()
    fake.add_capture("https://news.example.org/other", "20210203101010")
    info = await verify(fake, link("20210203101010", "https://news.example.org/other"))
    assert info.state is ArchiveState.FABRICATED


async def test_a_revisit_at_the_claimed_second_is_a_good_capture() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210203101010", revisit=True)
    info = await verify(fake, link("20210203101010"))
    assert info.state is ArchiveState.EXISTING
    assert info.captured_status == 200
    assert info.detail is None


async def test_another_archives_link_is_not_called_fabricated() -> None:
    fake = fake_wayback()
    info = await verify(fake, "https://archive.ph/AbCdE")
    assert info.state is ArchiveState.UNVERIFIED
    assert "another archive" in (info.detail or "")
    assert fake.requests(family="cdx") == []


async def test_a_young_claim_missing_from_the_index_is_checked_again_not_condemned() -> None:
    fake = fake_wayback(index_lag=6 * 3600)
    fresh = (NOW - dt.timedelta(minutes=30)).strftime("%Y%m%d%H%M%S")
    fake.add_capture(URL, fresh, visible_at=NOW + dt.timedelta(hours=6))
    store = MemoryArchiveStore()
    task = ArchiveTask(URL, link(fresh))
    run, _ = await archive(fake, [task], store=store)
    assert run.records[task.key].state is ArchiveState.UNVERIFIED
    assert store.get(task.key) is None  # nothing cached: the next run looks again
    fake.advance(7 * 3600)
    run, _ = await archive(fake, [task], store=store)
    assert run.records[task.key].state is ArchiveState.EXISTING


async def test_a_cached_fabricated_verdict_on_a_young_claim_is_verified_again() -> None:
    fake = fake_wayback()
    fresh = (NOW - dt.timedelta(hours=1)).strftime("%Y%m%d%H%M%S")
    fake.add_capture(URL, fresh)
    store = MemoryArchiveStore()
    task = ArchiveTask(URL, link(fresh))
    # what an earlier release cached when the capture was not indexed yet
    earlier = NOW - dt.timedelta(minutes=50)
    cached = ArchiveInfo(state=ArchiveState.FABRICATED, url=link(fresh), checked_at=earlier)
    store.put(task.key, cached)
    run, _ = await archive(fake, [task], store=store)
    assert run.records[task.key].state is ArchiveState.EXISTING


# -- Save Page Now ---------------------------------------------------------------------------


async def test_same_snapshot_reply_of_an_archived_redirect_is_no_good_capture() -> None:
    fake = fake_wayback(capture_duration=0)
    fake.script_spn(URL, SpnOutcome(http_status=301))  # the earlier capture: a 301
    first, _ = await archive(fake, [ArchiveTask(URL)])
    again, _ = await archive(fake, [ArchiveTask(URL)])  # SPN2: "the same snapshot…"
    for run in (first, again):
        info = run.records[URL]
        assert info.state is not ArchiveState.SAVED, info
        assert "301" in (info.detail or "")


def test_a_source_that_is_a_wayback_capture_is_not_archived(tmp_path: Path) -> None:
    path = tmp_path / "2021-02-03--e.md"
    path.write_text(
        "---\nid: 2021-02-03--e\ndate: 2021-02-03\ntitle: E\nsources:\n"
        f"  - url: {link('20180402', 'https://sbgi.net/pr-news/x/')}\n    tier: 2\n"
        f"  - url: {URL}\n    tier: 2\n---\nBody\n",
        encoding="utf-8",
    )
    loaded = load_event_file(path)
    assert isinstance(loaded, LoadedEvent)
    settings = Settings()
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    assert [task.url for task in archive_tasks(ctx, [loaded])] == [URL]


async def test_the_alive_verdict_is_what_allows_a_capture() -> None:
    fake = fake_wayback(capture_duration=0)
    run, _ = await archive(fake, [ArchiveTask(URL)], verdict=Verdict.DEAD)
    assert fake.requests(family="spn_submit") == []
    assert run.records[URL].state is ArchiveState.MISSING


async def test_a_link_to_another_url_suggests_a_capture_of_the_cited_url() -> None:
    fake = fake_wayback()
    other = "https://news.example.org/other"
    fake.add_capture(other, "20210203101010")
    fake.add_capture(URL, "20210201000000")
    info = await verify(fake, link("20210203101010", other))
    assert info.state is ArchiveState.FABRICATED
    assert info.nearest_url == link("20210201000000")


async def test_an_archived_redirect_is_followed_to_the_archived_404_behind_it() -> None:
    fake = fake_wayback()
    gone = "https://news.example.org/moved-here"
    fake.add_capture(URL, "20210203101010", statuscode="301", redirect_to=gone)
    fake.add_capture(gone, "20210203101500", statuscode="404")
    info = await verify(fake, link("20210203101010"))
    assert info.state is ArchiveState.EXISTING
    assert info.captured_status == 404  # what a reader of the link ends on
    assert "moved-here" in (info.detail or "")
    assert len(fake.requests(family="replay")) >= 2


async def test_an_archived_redirect_to_a_good_page_is_a_good_capture() -> None:
    fake = fake_wayback()
    there = "https://news.example.org/2021/02/03/story-renamed"
    fake.add_capture(URL, "20210203101010", statuscode="301", redirect_to=there)
    fake.add_capture(there, "20210203101100")
    info = await verify(fake, link("20210203101010"))
    assert info.state is ArchiveState.EXISTING
    assert info.captured_status == 200


class WallClock(FakeClock):
    """The fake's clock following the wall clock, so capture jobs end while we wait."""

    def __init__(self) -> None:
        super().__init__(NOW)
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return NOW + dt.timedelta(seconds=time.monotonic() - self._origin)


async def test_all_sessions_busy_at_submit_is_waited_out_within_the_run() -> None:
    fake = FakeWayback(
        FakeWaybackConfig(
            rate_limits=dict(UNLIMITED),
            capture_duration=0.2,
            accounts={DEFAULT_ACCOUNT: Account(per_minute=10_000, concurrent=1)},
        ),
        WallClock(),
    )
    urls = [f"https://news.example.org/busy-{n}" for n in range(3)]
    run, _ = await archive(
        fake, [ArchiveTask(u) for u in urls], max_sessions=3, workers=3, poll_timeout=5.0
    )
    assert {run.records[u].state for u in urls} == {ArchiveState.SAVED}
    assert len(fake.requests(family="spn_submit")) > 3  # "user-session-limit", then again


async def test_a_fabricated_link_without_a_timestamp_is_not_asked_again_every_run() -> None:
    fake = fake_wayback()
    store = MemoryArchiveStore()
    task = ArchiveTask(URL, f"{WEB}/*/{URL}")  # the calendar of a never-archived URL
    for _ in range(2):
        run, _ = await archive(fake, [task], store=store)
        assert run.records[task.key].state is ArchiveState.FABRICATED
    assert len(fake.requests(family="cdx")) == 1
