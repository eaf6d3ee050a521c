"""The files the nightly run writes under reports/ are readable as any tool's files are:
``0666`` less the umask (0644 under the usual 022), never ``mkstemp``'s 0600, so a web server
or a colleague's account can read them; a file that exists keeps the mode given to it."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from verifier.atomic import write_atomically
from verifier.history.store import RunState, SQLiteHistory
from verifier.models import EventReport, EventSummary, Result, SourceReport, Status, Verdict
from verifier.outcomes import RunOutcome
from verifier.reports.formats.markdown import render_broken_links
from verifier.reports.html_page import html_reports
from verifier.reports.nightly import broken_links, event_files, json_text, run_summary
from verifier.reports.writer import write_reports

NOW = dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(params=[0o022, 0o027, 0o002, 0o077], ids=lambda m: f"umask-{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def nightly_files(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """What ``verifier run`` writes: summary, broken links, the HTML page, event reports."""
    report = EventReport(
        event=EventSummary(id="2021-01-01--x", file="events/2021-01-01--x.md", title="X"),
        result=Result.FAIL,
        sources=[
            SourceReport(
                index=0, url="https://a.example/", verdict=Verdict.DEAD, status=Status.BROKEN
            )
        ],
    )
    outcome = RunOutcome(reports=[report], run_id=1)
    broken = broken_links([report], {}, {}, {"https://a.example/": Status.BROKEN})
    summary = run_summary(outcome, broken, NOW)
    files = {
        "summary.json": json_text(summary),
        "broken-links.md": render_broken_links(broken, NOW, [report]),
    }
    with SQLiteHistory(tmp_path / "history.sqlite3") as store:
        run, _ = store.start_run(NOW)
        files.update(html_reports([report], summary, store, NOW))
        store.finish_run(run.id, RunState.COMPLETE, NOW, {})
    return files, event_files([report])


def test_every_report_file_gets_the_mode_the_umask_allows(tmp_path: Path, umask: int) -> None:
    files, per_event = nightly_files(tmp_path)
    reports = tmp_path / "reports"
    write_reports(reports, files, per_event)
    written = sorted(path for path in reports.rglob("*") if path.is_file())
    assert {path.name for path in written} == {
        "summary.json",
        "broken-links.md",
        "index.html",
        "2021-01-01--x.json",
        "2021-01-01--x.md",
    }
    assert {path.name: mode(path) for path in written} == dict.fromkeys(
        (path.name for path in written), 0o666 & ~umask
    )
    assert mode(reports / "events") == 0o777 & ~umask
    if umask == 0o022:
        assert mode(reports / "index.html") == 0o644  # readable by a web server's user


def test_rewritten_reports_stay_readable_and_keep_a_mode_given_them(
    tmp_path: Path, umask: int
) -> None:
    files, per_event = nightly_files(tmp_path)
    reports = tmp_path / "reports"
    write_reports(reports, files, per_event)
    (reports / "summary.json").chmod(0o640)  # an operator's choice
    write_reports(reports, files, per_event)  # the next night
    assert mode(reports / "summary.json") == 0o640
    assert mode(reports / "index.html") == 0o666 & ~umask
    assert mode(reports / "events" / "2021-01-01--x.md") == 0o666 & ~umask


def test_an_atomic_write_is_not_mkstemps_0600(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "page.html"
    write_atomically(target, b"<p>")
    assert mode(target) == 0o666 & ~umask
    assert target.read_bytes() == b"<p>"
    if umask != 0o077:
        assert mode(target) & 0o044, "group and others can read"
