"""The nightly engine under real-night conditions: later nights with Wayback on, prompt
stops, a deadline per URL, outages told from dead hosts, cancelled runs recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.fakes.loopweb import LoopWeb
from tests.fakes.wayback import DEFAULT_ACCOUNT, FakeClock, FakeWayback, FakeWaybackConfig
from tests.nightly_support import run_settings
from verifier.archive.archiver import Archiver, ArchiveTask, MemoryArchiveStore
from verifier.archive.wayback import WaybackClient
from verifier.commands.run import nightly_run
from verifier.config import HttpSettings, OutageSettings, Settings, WaybackSettings
from verifier.history.store import SQLiteHistory
from verifier.models import ArchiveState, Observation, Status, Verdict
from verifier.stages import check_sources
from verifier.web.liveness import LinkChecker

NIGHT_0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
ACCESS, SECRET = DEFAULT_ACCOUNT.split(":")
BOUND = 60.0
"""Seconds any single run here may take before the test calls it a hang."""


async def until(condition: Callable[[], bool], seconds: float = BOUND) -> None:
    """Wait (bounded) until ``condition`` holds."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


def write_event(folder: Path, n: int, urls: list[str]) -> None:
    day = f"2021-03-{n % 28 + 1:02d}"
    sources = "".join(
        f"- url: {url}\n  publisher: Publisher {k}\n  tier: {1 + k % 2}\n"
        for k, url in enumerate(urls)
    )
    (folder / f"{day}--event-{n}.md").write_text(
        f"---\nid: {day}--event-{n}\ndate: '{day}'\ntitle: Event {n}\nsources:\n{sources}---\n"
    )


def wayback_on(settings: Settings, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "cdx_url": "https://wayback.test/cdx/search/cdx",
        "save_url": "https://wayback.test/save",
        "status_url": "https://wayback.test/save/status",
        "rate_window": 1.0,
        "cdx_per_window": 200,
        "save_per_window": 200,
        "status_per_window": 200,
        "poll_interval": 0.05,
        "poll_timeout": 0.5,
    }
    values.update(overrides)
    return settings.model_copy(update={"wayback": WaybackSettings(**values)})  # type: ignore[arg-type]


def fake_wayback(clock: FakeClock) -> FakeWayback:
    limits = dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))
    return FakeWayback(FakeWaybackConfig(rate_limits=limits, capture_duration=0), clock)


async def test_later_nights_with_wayback_on_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Night 2 checks only a few URLs; the archiver still has every source to look at and
    must not wait for verdicts that will not come tonight."""
    monkeypatch.setenv("WAYBACK_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("WAYBACK_SECRET_KEY", SECRET)
    clock = FakeClock(NIGHT_0)
    fake = fake_wayback(clock)
    async with LoopWeb(hosts=6) as web:
        events = tmp_path / "events"
        events.mkdir()
        for n in range(6):
            write_event(events, n, [web.url(n, f"/ok/a{n}"), web.url((n + 1) % 6, f"/ok/b{n}")])
        settings = wayback_on(run_settings(tmp_path, events))
        transport = httpx.ASGITransport(app=fake.app)
        first = await asyncio.wait_for(
            nightly_run(settings, clock=lambda: NIGHT_0, wayback_transport=transport), BOUND
        )
        assert first.state == "complete"
        night_2 = NIGHT_0 + dt.timedelta(days=1)
        clock.set(night_2)
        write_event(events, 9, [web.url(0, "/ok/new-a"), web.url(1, "/status/404/new-b")])
        second = await asyncio.wait_for(
            nightly_run(settings, clock=lambda: night_2, wayback_transport=transport), BOUND
        )
    assert second.state == "complete"
    assert second.figures["checked"] < first.figures["checked"]  # an incremental night
    states = {
        s.url: s.archive.state for r in second.reports for s in r.sources if s.archive is not None
    }
    assert len(states) == 14  # every source has an archive state, checked tonight or not
    assert states[web.url(0, "/ok/new-a")] in (ArchiveState.SAVED, ArchiveState.PENDING)


async def test_after_a_stop_no_new_request_starts(tmp_path: Path) -> None:
    async with LoopWeb(hosts=4, latency_ms=100) as web:
        urls = [web.url(n % 4, f"/ok/page-{n}") for n in range(200)]
        settings = run_settings(tmp_path, tmp_path, per_host=2)
        stop = asyncio.Event()
        sent_at_stop: list[int] = []
        async with LinkChecker(settings) as checker:

            def observed(_: Observation) -> None:
                if not stop.is_set():
                    stop.set()
                    sent_at_stop.append(checker.fetcher.requests_sent)

            run = await asyncio.wait_for(
                checker.check_all(urls, on_result=observed, stop=stop), BOUND
            )
            sent = checker.fetcher.requests_sent
        served = web.total_requests
    assert sent_at_stop and sent == sent_at_stop[0]  # nothing sent after the stop
    assert served == sent
    assert 1 <= len(run.observations) <= sent  # the requests in flight were kept
    assert run.outage is None


async def test_one_url_cannot_hold_the_run_past_its_deadline(tmp_path: Path) -> None:
    async with LoopWeb(hosts=1) as web:
        settings = run_settings(tmp_path, tmp_path, attempt_deadline=1.0, url_deadline=1.5)
        async with LinkChecker(settings) as checker:
            observation = await asyncio.wait_for(checker.check(web.url(0, "/hang/x")), BOUND)
    assert observation.failure == "timeout"
    assert observation.attempts == 2  # 3 attempts allowed; the second hit the URL's deadline
    assert "deadline of 1.5 s" in observation.detail


async def test_stopping_the_archiver_records_a_polled_capture_as_pending() -> None:
    clock = FakeClock(NIGHT_0)
    limits = dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))
    fake = FakeWayback(FakeWaybackConfig(rate_limits=limits, capture_duration=3600), clock)
    wayback = WaybackSettings(
        cdx_url="https://wayback.test/cdx/search/cdx",
        save_url="https://wayback.test/save",
        status_url="https://wayback.test/save/status",
        rate_window=1.0,
        cdx_per_window=200,
        save_per_window=200,
        status_per_window=200,
        poll_interval=0.05,
        poll_timeout=60.0,
    )
    stop = asyncio.Event()
    client = WaybackClient(
        wayback,
        "verifier-test",
        httpx.ASGITransport(app=fake.app),
        environ={"WAYBACK_ACCESS_KEY": ACCESS, "WAYBACK_SECRET_KEY": SECRET},
        stop=stop,
    )
    archiver = Archiver(wayback, client, MemoryArchiveStore(), lambda: NIGHT_0, stop=stop)

    async def alive(_: str) -> Verdict:
        return Verdict.ALIVE

    tasks = [ArchiveTask(f"https://news.example.org/story-{n}") for n in range(30)]
    running = asyncio.create_task(archiver.run(tasks, alive))
    await until(lambda: bool(fake.requests(family="spn_status")))
    stop.set()
    sent_at_stop = sum(client.counts.values())
    run = await asyncio.wait_for(running, BOUND)
    await client.aclose()
    assert sum(client.counts.values()) == sent_at_stop  # no Wayback request after the stop
    pending = [info for info in run.records.values() if info.state is ArchiveState.PENDING]
    assert pending and all(info.job_id for info in pending)  # confirmed on a later run
    assert run.remaining > 0
    assert any("stopped" in notice for notice in run.notices)


async def test_dead_hosts_due_alone_are_not_an_outage_when_known_good_hosts_answer(
    tmp_path: Path,
) -> None:
    """Night 2 checks only URLs on hosts that refuse connections (new, never seen to answer):
    known-good witnesses are checked too, answer, and the dead hosts are recorded."""
    down = {f"127.0.0.{n}": "down" for n in range(10, 16)}
    hosts = [f"127.0.0.{n}" for n in range(2, 8)] + list(down)
    async with LoopWeb(hosts=hosts, host_modes=down) as web:
        events = tmp_path / "events"
        events.mkdir()
        for n in range(6):
            write_event(events, n, [web.url(n, f"/ok/a{n}"), web.url((n + 1) % 6, f"/ok/b{n}")])
        settings = run_settings(tmp_path, events)
        first = await nightly_run(settings, clock=lambda: NIGHT_0)
        assert first.state == "complete"
        write_event(events, 9, [web.url(host, "/ok/x") for host in down])
        night_2 = NIGHT_0 + dt.timedelta(days=1)
        second = await asyncio.wait_for(nightly_run(settings, clock=lambda: night_2), BOUND)
    assert second.outage is None
    assert second.state == "complete"
    assert 6 + 5 >= second.figures["checked"] > 6  # the dead hosts plus witnesses
    store = SQLiteHistory(tmp_path / "history.sqlite3")
    try:
        latest = store.latest([web.url(host, "/ok/x") for host in down])
    finally:
        store.close()
    assert {o.failure for o in latest.values()} == {"connection-refused"}
    statuses = {s.url: s.status for r in second.reports for s in r.sources}
    assert statuses[web.url(hosts[-1], "/ok/x")] is Status.SUSPECT


async def test_a_cancelled_run_is_recorded_interrupted(tmp_path: Path) -> None:
    async with LoopWeb(hosts=2) as web:
        events = tmp_path / "events"
        events.mkdir()
        write_event(events, 1, [web.url(0, "/hang/a"), web.url(1, "/hang/b")])
        settings = run_settings(tmp_path, events)
        running = asyncio.create_task(nightly_run(settings, clock=lambda: NIGHT_0))
        await until(lambda: web.total_requests >= 2)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    store = SQLiteHistory(tmp_path / "history.sqlite3")
    try:
        assert [run.state for run in store.runs()] == ["interrupted"]
        assert store.start_run(NIGHT_0)[1]  # the next start resumes it
    finally:
        store.close()


async def test_names_that_do_not_exist_are_judged_unless_the_resolver_denies_everything(
    tmp_path: Path,
) -> None:
    urls = ["https://no-such-host-a.invalid/x", "https://no-such-host-b.invalid/y"]
    knows_reference = run_settings(tmp_path, tmp_path).model_copy(
        update={
            "http": HttpSettings(resolve={"reference.test": "127.0.0.1"}),
            "outage": OutageSettings(reference_host="reference.test"),
        }
    )
    judged = await check_sources(knows_reference, urls, [])
    assert judged.outage is None
    assert {o.verdict for o in judged.observations.values()} == {Verdict.DEAD}
    sinkholed = knows_reference.model_copy(
        update={"outage": OutageSettings(reference_host="reference-missing.invalid")}
    )
    excused = await check_sources(sinkholed, urls, [])
    assert excused.outage is not None
    assert "reference-missing.invalid" in excused.outage
