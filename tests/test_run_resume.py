"""``verifier run`` as a real process: killed or stopped halfway, it resumes to the same end."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.loopweb import LoopWeb
from verifier.cli import ExitCode

NOW = "2026-11-20T03:00:00+00:00"
HOSTS = 8


@pytest.fixture(scope="module")
def web() -> Iterator[LoopWeb]:
    with LoopWeb(hosts=HOSTS, latency_ms=150).running_in_thread() as running:
        yield running


def make_site(root: Path, web: LoopWeb) -> Path:
    """40 events citing 120 URLs on the loopback web (a few of them dead)."""
    events = root / "events"
    events.mkdir(parents=True)
    for n in range(40):
        day = f"2021-01-{n % 28 + 1:02d}"
        sources = []
        for k in range(3):
            path = f"/status/404/e{n}-{k}" if (n + k) % 13 == 0 else f"/ok/e{n}-{k}"
            sources.append(
                f"- url: {web.url((n + k) % HOSTS, path)}\n  title: S{k}\n"
                f"  publisher: Publisher {k}\n  tier: {1 + k % 2}\n"
            )
        (events / f"{day}--event-{n}.md").write_text(
            f"---\nid: {day}--event-{n}\ndate: '{day}'\ntitle: Event {n}\nsources:\n"
            + "".join(sources)
            + "---\nBody.\n"
        )
    (root / "config.toml").write_text(
        '[paths]\nevents = "events"\nreports = "reports"\n'
        "[http]\nper_host = 2\nmin_host_interval = 0.0\nattempt_deadline = 5.0\n"
        "[http.retry]\nbackoff_base = 0.01\njitter = 0.0\n"
        '[security]\nallowed_networks = ["127.0.0.0/8"]\n'
        "[outage]\nmin_hosts = 5\n[wayback]\nenabled = false\n"
        '[history]\npath = "history.sqlite3"\n'
    )
    return root


def start_run(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "verifier",
            "--config",
            "config.toml",
            "run",
            "--now",
            NOW,
            "--log-file",
            "run.log",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "true"},
    )


def observations(root: Path) -> list[tuple[object, ...]]:
    database = root / "history.sqlite3"
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        try:
            return db.execute(
                "SELECT run_id, url, verdict, http_status, checked_at FROM observations "
                "ORDER BY url"
            ).fetchall()
        except sqlite3.OperationalError:
            return []


def wait_for_observations(root: Path, at_least: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(observations(root)) < at_least:
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)


def outcome(root: Path) -> dict[str, object]:
    reports = root / "reports"
    return {
        "observations": [row[1:] for row in observations(root)],
        "events": {p.name: p.read_text() for p in sorted((reports / "events").iterdir())},
        "broken": (reports / "broken-links.md").read_text(),
    }


@pytest.fixture(scope="module")
def uninterrupted(web: LoopWeb, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = make_site(tmp_path_factory.mktemp("whole"), web)
    done = start_run(root)
    _, err = done.communicate(timeout=120)
    assert done.returncode in (ExitCode.PASSED, ExitCode.FAILED), err
    return outcome(root)


def test_killed_run_resumes_to_the_same_reports_and_history(web, uninterrupted, tmp_path) -> None:
    root = make_site(tmp_path, web)
    process = start_run(root)
    wait_for_observations(root, 30)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    partial = len(observations(root))
    assert 30 <= partial < 120
    resumed = start_run(root)
    out, err = resumed.communicate(timeout=120)
    assert "(resumed)" in out, err
    assert outcome(root) == uninterrupted


def test_sigterm_stops_cleanly_and_the_next_start_finishes(web, uninterrupted, tmp_path) -> None:
    root = make_site(tmp_path, web)
    process = start_run(root)
    wait_for_observations(root, 20)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.COULD_NOT_CHECK
    assert "interrupted" in err
    log = [json.loads(line) for line in (root / "run.log").read_text().splitlines()]
    assert [entry["event"] for entry in log] == ["run started", "stop requested", "run finished"]
    assert log[-1]["state"] == "interrupted"
    resumed = start_run(root)
    out, err = resumed.communicate(timeout=120)
    assert "(resumed)" in out, err
    assert outcome(root) == uninterrupted
