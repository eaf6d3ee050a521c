"""The nightly run end to end: history over simulated nights, outage, resume, reports."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fakes.loopweb import LoopWeb
from tests.fakes.wayback import FakeClock, FakeWayback, FakeWaybackConfig
from tests.nightly_support import copy_corpus_to_loopback, publish_all, run_settings
from verifier.cli import ExitCode, main
from verifier.commands.run import nightly_run
from verifier.config import WaybackSettings
from verifier.errors import RunLockedError
from verifier.history.lock import RunLock
from verifier.models import Status
from verifier.reports.html_page import html_reports

NIGHT_0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def target(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.path + ("?" + parts.query if parts.query else "")


def statuses(reports) -> dict[str, Status]:
    return {s.url: s.status for r in reports for s in r.sources if s.url}


@pytest.mark.corpus
async def test_three_nights_on_the_real_corpus(tmp_path: Path) -> None:
    web = LoopWeb(hosts=1200)
    await web.start()
    mapping, _ = copy_corpus_to_loopback(tmp_path / "events", web.port)
    urls = list(mapping.values())
    once, thrice, recovers = urls[10], urls[20], urls[30]
    settings = run_settings(tmp_path, tmp_path / "events")

    def serve(web: LoopWeb, *down: str) -> None:
        publish_all(web, mapping)
        for url in down:
            host, path = target(url)
            web.unpublish(host, [path])

    try:
        serve(web, once, thrice, recovers)
        first = await nightly_run(settings, clock=lambda: NIGHT_0)
        requests_first = web.total_requests
        night_1 = statuses(first.reports)
        assert first.state == "complete"
        assert night_1[once] is Status.SUSPECT
        assert night_1[thrice] is Status.SUSPECT
        assert sum(1 for s in night_1.values() if s is Status.OK) > 5000

        serve(web, thrice, recovers)
        web.reset_counters()
        second = await nightly_run(settings, clock=lambda: NIGHT_0 + dt.timedelta(days=1.5))
        night_2 = statuses(second.reports)
        assert night_2[once] is Status.OK
        assert night_2[thrice] is Status.SUSPECT
        assert night_2[recovers] is Status.SUSPECT
        assert web.total_requests < requests_first / 20  # only the failing URLs are due

        # An outage night: every host refuses connections; nothing may change.
        history_before = _observations(tmp_path)
        reports_before = (tmp_path / "reports" / "broken-links.md").read_text()
        port = web.port
        await web.stop()
        outage = await nightly_run(settings, clock=lambda: NIGHT_0 + dt.timedelta(days=2))
        assert outage.state == "outage"
        assert _observations(tmp_path) == history_before
        assert (tmp_path / "reports" / "broken-links.md").read_text() == reports_before

        web = LoopWeb(hosts=1200, port=port)
        await web.start()
        serve(web, thrice)
        third = await nightly_run(settings, clock=lambda: NIGHT_0 + dt.timedelta(days=3))
        night_3 = statuses(third.reports)
        assert third.state == "complete"
        assert night_3[thrice] is Status.BROKEN
        assert night_3[recovers] is Status.OK
        assert night_3[once] is Status.OK
    finally:
        await web.stop()

    broken = (tmp_path / "reports" / "broken-links.md").read_text()
    assert "## New since the last run" in broken
    assert urlsplit(thrice).path.replace("-", "\\-")[:20] in broken or thrice[:30] in broken
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["broken"] >= 1
    assert summary["run"]["state"] == "complete"
    event_reports = list((tmp_path / "reports" / "events").glob("*.json"))
    assert len(event_reports) == len(third.reports) == 2052


def _observations(root: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(root / "history.sqlite3") as db:
        return db.execute(
            "SELECT run_id, url, verdict, checked_at FROM observations ORDER BY id"
        ).fetchall()


async def test_lock_prevents_two_overlapping_runs(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    settings = run_settings(tmp_path, events)
    lock_path = tmp_path / "history.sqlite3.lock"
    with RunLock(lock_path), pytest.raises(RunLockedError):
        await nightly_run(settings, clock=lambda: NIGHT_0)


async def test_run_reports_carry_archive_blocks_and_an_html_page(tmp_path: Path) -> None:
    fake = FakeWayback(
        FakeWaybackConfig(rate_limits=dict.fromkeys(("cdx", "spn_status", "spn_user"))),
        FakeClock(NIGHT_0),
    )
    async with LoopWeb(hosts=2) as web:
        live, dead = web.url(0, "/ok/live"), web.url(1, "/status/404/gone")
        fake.add_capture(live, "20210101000000")
        fake.add_capture(dead, "20200101000000")
        events = tmp_path / "events"
        events.mkdir()
        (events / "2021-02-03--e.md").write_text(
            "---\nid: 2021-02-03--e\ndate: '2021-02-03'\ntitle: <script>alert(1)</script>\n"
            f"sources:\n- url: {live}\n  publisher: A\n  tier: 1\n"
            f"- url: {dead}\n  publisher: B\n  tier: 2\n---\n"
        )
        settings = run_settings(tmp_path, events).model_copy(
            update={
                "wayback": WaybackSettings(
                    cdx_url="https://wayback.test/cdx/search/cdx",
                    rate_window=1.0,
                    cdx_per_window=100,
                    save_if_no_capture_within_days=36500,
                )
            }
        )
        outcome = await nightly_run(
            settings,
            clock=lambda: NIGHT_0,
            extra_reports=html_reports,
            wayback_transport=httpx.ASGITransport(app=fake.app),
        )
    [report] = outcome.reports
    live_source, dead_source = report.sources
    assert live_source.archive is not None
    assert live_source.archive.state.value == "existing"
    assert dead_source.archive is not None
    assert dead_source.archive.suggested
    assert dead_source.archive.timestamp == "20200101000000"
    page = (tmp_path / "reports" / "index.html").read_text()
    assert "<script>alert(1)</script>" not in page
    written = json.loads((tmp_path / "reports" / "events" / "2021-02-03--e.json").read_text())
    assert written["sources"][1]["archive"]["suggested"] is True


def test_cli_run_while_another_run_holds_the_lock_exits_3(tmp_path: Path, capsys) -> None:
    (tmp_path / "events").mkdir()
    config = tmp_path / "config.toml"
    config.write_text('[paths]\nevents = "events"\n[history]\npath = "h.sqlite3"\n')
    with RunLock(tmp_path / "h.sqlite3.lock"):
        code = main(["--config", str(config), "run"])
    assert code == ExitCode.COULD_NOT_CHECK
    assert "another run is in progress" in capsys.readouterr().err
