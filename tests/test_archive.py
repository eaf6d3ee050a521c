"""Archiving against the fake Wayback Machine: every archive state, the service's limits."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
import pytest

from tests.fakes.wayback import (
    DEFAULT_ACCOUNT,
    Account,
    FakeClock,
    FakeWayback,
    FakeWaybackConfig,
    SpnOutcome,
)
from verifier.archive.archiver import ArchiveQueue, Archiver, ArchiveTask, MemoryArchiveStore
from verifier.archive.wayback import WaybackClient
from verifier.config import WaybackSettings
from verifier.models import ArchiveState, Verdict

URL = "https://news.example.org/2021/02/03/story"
ACCESS, SECRET = DEFAULT_ACCOUNT.split(":")
KEYS = {"WAYBACK_ACCESS_KEY": ACCESS, "WAYBACK_SECRET_KEY": SECRET}
NOW = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
BASE = "https://wayback.test"
UNLIMITED = {
    "cdx": None,
    "replay": None,
    "availability": None,
    "spn_status": None,
    "spn_user": None,
}


def fake_wayback(**config: Any) -> FakeWayback:
    config.setdefault("rate_limits", dict(UNLIMITED))
    return FakeWayback(FakeWaybackConfig(**config), FakeClock(NOW))


def settings(**overrides: Any) -> WaybackSettings:
    values: dict[str, Any] = {
        "cdx_url": f"{BASE}/cdx/search/cdx",
        "save_url": f"{BASE}/save",
        "status_url": f"{BASE}/save/status",
        "rate_window": 1.0,
        "cdx_per_window": 500,
        "save_per_window": 500,
        "status_per_window": 500,
        "cooldown_after_429": 0.05,
        "poll_interval": 0.01,
        "poll_timeout": 0.2,
    }
    values.update(overrides)
    return WaybackSettings(**values)


async def archive(
    fake: FakeWayback,
    tasks: list[ArchiveTask],
    verdict: Verdict | None = Verdict.ALIVE,
    environ: dict[str, str] | None = None,
    store: MemoryArchiveStore | None = None,
    **overrides: Any,
):
    client = WaybackClient(
        settings(**overrides),
        "verifier-test",
        httpx.ASGITransport(app=fake.app),
        environ=KEYS if environ is None else environ,
    )

    async def verdict_of(_url: str) -> Verdict | None:
        return verdict

    archiver = Archiver(
        settings(**overrides), client, store or MemoryArchiveStore(), clock=fake.clock.now
    )
    try:
        run = await archiver.run(tasks, verdict_of)
    finally:
        await client.aclose()
    return run, client


async def test_existing_archive_link_is_verified() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210203101010")
    link = f"https://web.archive.org/web/20210203101010/{URL}"
    run, _ = await archive(fake, [ArchiveTask(URL, link)])
    info = run.records[f"{URL} {link}"]
    assert info.state is ArchiveState.EXISTING
    assert info.captured_status == 200


async def test_invented_timestamp_resolving_to_a_good_capture_is_imprecise() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210205080000")
    fake.add_capture(URL, "20230101000000")
    link = f"https://web.archive.org/web/20240101000000/{URL}"
    run, _ = await archive(fake, [ArchiveTask(URL, link)])
    info = run.records[f"{URL} {link}"]
    assert info.state is ArchiveState.IMPRECISE
    assert info.resolved_url == f"https://web.archive.org/web/20230101000000/{URL}"


async def test_invented_timestamp_resolving_to_an_error_page_is_fabricated() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210205080000")
    fake.add_capture(URL, "20231201000000", statuscode="404")
    link = f"https://web.archive.org/web/20240101000000/{URL}"
    run, _ = await archive(fake, [ArchiveTask(URL, link)])
    info = run.records[f"{URL} {link}"]
    assert info.state is ArchiveState.FABRICATED
    assert info.nearest_url == f"https://web.archive.org/web/20210205080000/{URL}"


async def test_link_to_a_never_archived_url_is_fabricated() -> None:
    link = f"https://web.archive.org/web/20210203101010/{URL}"
    run, _ = await archive(fake_wayback(), [ArchiveTask(URL, link)])
    assert run.records[f"{URL} {link}"].state is ArchiveState.FABRICATED


async def test_capture_of_an_error_page_keeps_its_status() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210203101010", statuscode="404")
    link = f"https://web.archive.org/web/20210203101010/{URL}"
    run, _ = await archive(fake, [ArchiveTask(URL, link)])
    info = run.records[f"{URL} {link}"]
    assert info.state is ArchiveState.EXISTING
    assert info.captured_status == 404


async def test_lookup_prefers_the_closest_good_capture_before_the_source_date() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210101000000")
    fake.add_capture(URL, "20210202000000")
    fake.add_capture(URL, "20210203120000", statuscode="500")
    fake.add_capture(URL, "20260801000000")
    task = ArchiveTask(URL, None, "2021-02-03")
    run, _ = await archive(fake, [task])
    assert run.records[task.key].timestamp == "20210202000000"


async def test_lookup_falls_back_to_the_closest_capture_after() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20220101000000")
    fake.add_capture(URL, "20260801000000")
    task = ArchiveTask(URL, None, "2021-02-03")
    run, _ = await archive(fake, [task])
    assert run.records[task.key].state is ArchiveState.EXISTING
    assert run.records[task.key].timestamp == "20220101000000"


async def test_dead_source_gets_its_last_good_capture_as_replacement() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20240101000000")
    fake.add_capture(URL, "20250101000000", statuscode="404")
    run, _ = await archive(fake, [ArchiveTask(URL)], verdict=Verdict.DEAD)
    info = run.records[URL]
    assert info.suggested
    assert info.timestamp == "20240101000000"
    assert not fake.requests(family="spn_submit")


async def test_live_source_without_capture_is_saved() -> None:
    fake = fake_wayback(capture_duration=0)
    run, client = await archive(fake, [ArchiveTask(URL)])
    info = run.records[URL]
    assert info.state is ArchiveState.SAVED
    assert info.url is not None
    assert info.url.startswith("https://web.archive.org/web/2026")
    assert client.counts["save"] == 1


async def test_recent_capture_means_no_new_capture() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20260801000000")
    run, _ = await archive(fake, [ArchiveTask(URL)])
    assert run.records[URL].state is ArchiveState.EXISTING
    assert not fake.requests(family="spn_submit")


async def test_job_that_stays_pending_is_recorded_then_confirmed_next_run() -> None:
    fake = fake_wayback(capture_duration=3600)
    store = MemoryArchiveStore()
    run, _ = await archive(fake, [ArchiveTask(URL)], store=store)
    first = run.records[URL]
    assert first.state is ArchiveState.PENDING
    assert first.job_id
    fake.advance(3600)
    run, _ = await archive(fake, [ArchiveTask(URL)], store=store)
    assert run.records[URL].state is ArchiveState.SAVED
    assert run.records[URL].job_id == first.job_id


@pytest.mark.parametrize(
    ("outcome", "state"),
    [
        (SpnOutcome.error("not-found", "Target answered 404"), ArchiveState.FAILED),
        (SpnOutcome.error("no-captures", "unreachable"), ArchiveState.FAILED),
        (SpnOutcome.error("made-up-new-code", "?"), ArchiveState.FAILED),
        (SpnOutcome.error("browsing-timeout", "slow"), ArchiveState.SAVED),  # tried again
        (SpnOutcome.error("proxy-error", "proxy"), ArchiveState.SAVED),
        (SpnOutcome.error("soft-time-limit-exceeded", "45 s"), ArchiveState.SAVED),
    ],
)
async def test_capture_job_errors_follow_the_status_ext_table(outcome, state) -> None:
    fake = fake_wayback(capture_duration=0)
    fake.script_spn(URL, outcome)
    run, _ = await archive(fake, [ArchiveTask(URL)])
    assert run.records[URL].state is state


async def test_a_capture_failing_transiently_every_time_stays_pending() -> None:
    fake = fake_wayback(capture_duration=0)
    fake.script_spn(URL, *[SpnOutcome.error("proxy-error", "proxy")] * 5)
    run, _ = await archive(fake, [ArchiveTask(URL)])
    assert run.records[URL].state is ArchiveState.PENDING
    submits = fake.requests(family="spn_submit")
    assert len(submits) == 3  # [wayback] attempts, each after a wait


async def test_the_urls_daily_cap_leaves_what_the_archive_holds() -> None:
    fake = fake_wayback(per_url_daily=0)
    run, _ = await archive(fake, [ArchiveTask(URL)])
    info = run.records[URL]
    assert info.state is ArchiveState.MISSING  # not "failed": nothing is wrong with the URL
    assert "no new capture today" in (info.detail or "")


async def test_the_urls_daily_cap_keeps_the_capture_the_lookup_found() -> None:
    fake = fake_wayback(per_url_daily=0)
    fake.add_capture(URL, "20200101000000")
    task = ArchiveTask(URL, None, "2021-02-03")
    run, _ = await archive(fake, [task])
    info = run.records[task.key]
    assert info.state is ArchiveState.EXISTING
    assert info.timestamp == "20200101000000"


async def test_daily_cap_stops_captures_for_the_run() -> None:
    fake = fake_wayback(capture_duration=0, accounts={DEFAULT_ACCOUNT: Account(daily_limit=1)})
    urls = [f"https://news.example.org/story-{n}" for n in range(4)]
    run, _ = await archive(fake, [ArchiveTask(u) for u in urls], workers=1)
    states = sorted(info.state.value for info in run.records.values())
    assert states == ["missing", "missing", "missing", "saved"]
    submits = fake.requests(family="spn_submit")
    assert len(submits) == 1  # the account's status said one capture was left: no refusal
    assert any("before the account's daily cap" in notice for notice in run.notices)


async def test_cdx_429_cools_the_family_down_then_gives_up_as_unverified() -> None:
    fake = fake_wayback(rate_limits={**UNLIMITED, "cdx": 1}, escalate_families=frozenset())
    fake.add_capture(URL, "20210203101010")
    tasks = [ArchiveTask(f"{URL}?page={n}") for n in range(2)]
    run, client = await archive(fake, tasks, workers=1, attempts=2)
    assert client.counts["cdx-429"] >= 2
    assert any(info.state is ArchiveState.UNVERIFIED for info in run.records.values())
    cdx = [record.at for record in fake.requests(family="cdx")]
    assert len(cdx) == client.counts["cdx"]


async def test_without_keys_lookups_work_and_captures_are_skipped_with_one_notice() -> None:
    fake = fake_wayback()
    urls = [f"https://news.example.org/story-{n}" for n in range(3)]
    run, _ = await archive(fake, [ArchiveTask(u) for u in urls], environ={})
    assert {info.state for info in run.records.values()} == {ArchiveState.MISSING}
    assert not fake.requests(family="spn_submit")
    assert len([n for n in run.notices if "Save Page Now skipped" in n]) == 1


async def test_keys_never_reach_a_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = fake_wayback(capture_duration=0)
    fake.script_spn(URL, SpnOutcome.error("not-found", "nope"))
    run, client = await archive(fake, [ArchiveTask(URL), ArchiveTask(URL + "/other")])
    assert fake.requests(family="spn_submit")
    everything = caplog.text + repr(client.__dict__) + repr(run)
    assert SECRET not in everything
    assert ACCESS not in everything


async def test_time_budget_stops_archiving_and_says_what_remains() -> None:
    fake = fake_wayback()
    tasks = [ArchiveTask(f"https://news.example.org/story-{n}") for n in range(50)]
    run, _ = await archive(fake, tasks, verdict=None, time_budget=0.05, cdx_per_window=20)
    assert 0 < run.remaining < 50
    assert any("left for the next run" in notice for notice in run.notices)


async def test_verified_links_are_not_asked_again_on_the_next_run() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20210203101010")
    link = f"https://web.archive.org/web/20210203101010/{URL}"
    store = MemoryArchiveStore()
    await archive(fake, [ArchiveTask(URL, link)], store=store)
    asked = len(fake.requests(family="cdx"))
    run, _ = await archive(fake, [ArchiveTask(URL, link)], store=store)
    assert len(fake.requests(family="cdx")) == asked
    assert run.records[f"{URL} {link}"].state is ArchiveState.EXISTING


async def test_recent_lookups_are_reused_across_runs() -> None:
    fake = fake_wayback()
    fake.add_capture(URL, "20260801000000")
    store = MemoryArchiveStore()
    await archive(fake, [ArchiveTask(URL)], store=store)
    asked = len(fake.requests(family="cdx"))
    run, _ = await archive(fake, [ArchiveTask(URL)], store=store)
    assert len(fake.requests(family="cdx")) == asked
    assert run.records[URL].timestamp == "20260801000000"
    fake.advance(31 * 86400)  # past recheck_days: asked again
    await archive(fake, [ArchiveTask(URL)], store=store)
    assert len(fake.requests(family="cdx")) > asked


def test_the_queue_passes_over_tasks_whose_verdict_is_still_to_come() -> None:
    ready = {"https://a.example/1", "https://c.example/3"}
    ranked = [
        ArchiveTask("https://b.example/2"),  # best, but liveness has not reached it yet
        ArchiveTask("https://a.example/1"),
        ArchiveTask("https://d.example/4", "https://web.archive.org/web/2020/https://d.example/4"),
        ArchiveTask("https://c.example/3"),
    ]
    queue = ArchiveQueue(ranked, lambda url: url in ready)
    taken = [queue.take().url for _ in range(3)]
    assert taken == ["https://a.example/1", "https://d.example/4", "https://c.example/3"]
    assert len(queue) == 1
    ready.add("https://b.example/2")
    assert queue.take().url == "https://b.example/2"
    assert not queue


def test_the_queue_waits_for_the_oldest_when_nothing_else_can_go() -> None:
    queue = ArchiveQueue([ArchiveTask(f"https://x.example/{n}") for n in range(3)], lambda _: False)
    assert [queue.take().url for _ in range(3)] == [f"https://x.example/{n}" for n in range(3)]
