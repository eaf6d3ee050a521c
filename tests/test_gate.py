"""The pull-request gate end to end: a real git repository, the loopback web, a real process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import git
from tests.fakes.loopweb import LoopWeb
from verifier.cli import ExitCode
from verifier.history import SQLiteHistory
from verifier.models import Observation, Verdict


def event(name: str, urls: list[str]) -> str:
    sources = "".join(
        f"- url: {url}\n  title: Source {n}\n  publisher: Publisher {n}\n  tier: {1 + n % 2}\n"
        for n, url in enumerate(urls)
    )
    return f"---\nid: {name}\ndate: '{name[:10]}'\ntitle: Event\nsources:\n{sources}---\nBody.\n"


def make_repo(root: Path, web: LoopWeb) -> tuple[Path, Path]:
    repo = root / "repo"
    events = repo / "events"
    events.mkdir(parents=True)
    (repo / "config.toml").write_text(
        '[paths]\nevents = "events"\n[http]\nconnect_timeout = 1.0\nattempt_deadline = 2.0\n'
        "min_host_interval = 0.0\n[http.retry]\nbackoff_base = 0.01\nbackoff_max = 0.05\n"
        'jitter = 0.0\n[security]\nallowed_networks = ["127.0.0.0/8"]\n[outage]\nmin_hosts = 5\n'
        '[wayback]\nenabled = false\n[history]\npath = ".verifier/history.sqlite3"\n'
    )
    ok = [web.url(n, f"/ok/base-{n}") for n in range(3)]
    (events / "2021-01-01--old-broken.md").write_text(
        event("2021-01-01--old-broken", [ok[0], web.url(1, "/status/404/old")])
    )
    (events / "2021-01-02--changed.md").write_text(event("2021-01-02--changed", ok[:2]))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "pr")
    (events / "2021-01-02--changed.md").write_text(
        event("2021-01-02--changed", [ok[0], web.url(2, "/cloudflare/changed")])
    )
    (events / "2021-01-03--new.md").write_text(
        event("2021-01-03--new", [ok[1], web.url(0, "/status/410/new-dead")])
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pr")
    return repo, events


def gate(repo: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "verifier",
            "check",
            "--changed-since",
            "main",
            "--format",
            "github",
            *extra,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "CI": "true", "GITHUB_STEP_SUMMARY": str(repo / "summary.md")},
    )


def test_gate_fails_only_on_the_new_problems_with_annotations_on_their_lines(tmp_path) -> None:
    with LoopWeb(hosts=3).running_in_thread() as web:
        repo, _ = make_repo(tmp_path, web)
        done = gate(repo)
        requested = {entry.target for entry in web.log}
    assert done.returncode == ExitCode.FAILED, done.stderr
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    errors = [a for a in annotations if a.startswith("::error ")]
    assert len(errors) == 1
    assert "file=events/2021-01-03--new.md,line=10," in errors[0]
    assert "new-source-dead" in errors[0]
    warnings = [a for a in annotations if a.startswith("::warning ")]
    assert any(
        "2021-01-02--changed.md,line=10," in w and "new-source-unavailable" in w for w in warnings
    )
    assert "/status/404/old" not in requested  # old breakage is not the PR's fault
    assert "/ok/base-0" not in requested  # unchanged sources are not requested
    assert "new-source-dead" in (repo / "summary.md").read_text()


def test_gate_exits_3_when_the_web_is_down(tmp_path) -> None:
    with LoopWeb(hosts=3).running_in_thread() as web:
        repo, _ = make_repo(tmp_path, web)
    done = gate(repo)  # the web has stopped: every new source's host refuses connections
    assert done.returncode == ExitCode.COULD_NOT_CHECK, done.stdout + done.stderr
    assert "could not check" in done.stderr


def test_gate_offline_checks_only_the_changed_events(tmp_path) -> None:
    with LoopWeb(hosts=3).running_in_thread() as web:
        repo, _ = make_repo(tmp_path, web)
        done = gate(repo, "--offline")
        assert web.total_requests == 0
    assert done.returncode == ExitCode.PASSED, done.stdout
    assert "2 events" in done.stdout


def test_a_source_the_history_saw_alive_today_is_not_requested(tmp_path) -> None:
    with LoopWeb(hosts=3).running_in_thread() as web:
        repo, _ = make_repo(tmp_path, web)
        store = SQLiteHistory(repo / ".verifier" / "history.sqlite3")
        run, _ = store.start_run(dt.datetime.now(dt.UTC))
        store.record(
            run.id,
            [
                Observation(
                    url=web.url(0, "/status/410/new-dead"),
                    verdict=Verdict.ALIVE,
                    checked_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
                )
            ],
        )
        store.finish_run(run.id, "complete", dt.datetime.now(dt.UTC), {})
        store.close()
        done = gate(repo)
        requested = {entry.target for entry in web.log}
    assert "/status/410/new-dead" not in requested
    assert done.returncode == ExitCode.PASSED, done.stdout
