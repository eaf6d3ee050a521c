"""The pull-request gate end to end: a real git repository, the loopback web, a real process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GOOD_EVENT, git
from tests.fakes.loopweb import LoopWeb, served_title
from verifier.cli import ExitCode
from verifier.config import Settings
from verifier.events.gate import gate_violations
from verifier.events.parse import parse_event_bytes
from verifier.events.rules import RuleContext
from verifier.history.store import SQLiteHistory
from verifier.models import (
    LoadedEvent,
    Observation,
    Result,
    Severity,
    Verdict,
    Violation,
    result_of,
)


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


def test_gate_severities_set_in_config_change_the_outcome(tmp_path) -> None:
    """``new-source-dead`` only warns and ``new-source-unavailable`` is off: the same pull
    request as above passes, its dead new source a warning, its bot wall silent."""
    with LoopWeb(hosts=3).running_in_thread() as web:
        repo, _ = make_repo(tmp_path, web)
        config = repo / "config.toml"
        config.write_text(
            config.read_text()
            + '[rules.severity]\nnew-source-dead = "warning"\nnew-source-unavailable = "off"\n'
        )
        done = gate(repo)
    assert done.returncode == ExitCode.PASSED, done.stdout + done.stderr
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert not [a for a in annotations if a.startswith("::error ")]
    warnings = [a for a in annotations if a.startswith("::warning ")]
    assert any("2021-01-03--new.md,line=10," in w and "new-source-dead" in w for w in warnings)
    assert not [a for a in annotations if "new-source-unavailable" in a]


# -- the gate's rules, on their own ---------------------------------------------------------

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DEAD_AND_BLOCKED = {0: Verdict.DEAD, 1: Verdict.BLOCKED}
Hit = tuple[str, Severity, int | None]


def judge(settings: Settings, verdicts: dict[int, Verdict]) -> list[Violation]:
    """``gate_violations`` on ``GOOD_EVENT``, whose source URLs are on lines 7 and 12."""
    loaded = parse_event_bytes(GOOD_EVENT.encode(), "e.md", "2021-02-03--example-event", ".md")
    assert isinstance(loaded, LoadedEvent)
    assert loaded.event is not None
    checked = {
        index: Observation(
            url=loaded.event.sources[index].url, verdict=verdict, checked_at=NOW, detail="why"
        )
        for index, verdict in verdicts.items()
    }
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    return gate_violations(ctx, loaded, checked)


def hits(violations: list[Violation]) -> list[Hit]:
    return [(violation.rule, violation.severity, violation.line) for violation in violations]


DEAD: Hit = ("new-source-dead", Severity.ERROR, 7)
UNAVAILABLE: Hit = ("new-source-unavailable", Severity.WARNING, 12)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (DEAD_AND_BLOCKED, [DEAD, UNAVAILABLE]),
        ({0: Verdict.SOFT_DEAD, 1: Verdict.UNREACHABLE}, [DEAD, UNAVAILABLE]),
        ({0: Verdict.INVALID, 1: Verdict.ALIVE}, [("new-source-unavailable", Severity.WARNING, 7)]),
        ({0: Verdict.ALIVE, 1: Verdict.ALIVE}, []),
    ],
    ids=["dead-blocked", "soft-dead-unreachable", "invalid-alive", "alive"],
)
def test_by_default_a_dead_new_source_fails_and_an_unavailable_one_warns(
    verdicts: dict[int, Verdict], expected: list[Hit]
) -> None:
    assert hits(judge(Settings(), verdicts)) == expected


@pytest.mark.parametrize(
    ("severities", "expected", "result"),
    [
        (
            'new-source-dead = "warning"',
            [("new-source-dead", Severity.WARNING, 7), UNAVAILABLE],
            Result.WARN,
        ),
        ('new-source-dead = "off"', [UNAVAILABLE], Result.WARN),
        (
            'new-source-unavailable = "error"',
            [DEAD, ("new-source-unavailable", Severity.ERROR, 12)],
            Result.FAIL,
        ),
        ('new-source-unavailable = "off"', [DEAD], Result.FAIL),
        ('new-source-dead = "off"\nnew-source-unavailable = "off"', [], Result.PASS),
    ],
    ids=["dead-warns", "dead-off", "unavailable-fails", "unavailable-off", "both-off"],
)
def test_gate_severities_come_from_the_configured_rules(
    settings_from: Callable[[str], Settings], severities: str, expected: list[Hit], result: Result
) -> None:
    violations = judge(settings_from(f"[rules.severity]\n{severities}\n"), DEAD_AND_BLOCKED)
    assert hits(violations) == expected
    assert result_of(violations) is result


def test_gate_warns_on_the_title_line_when_a_new_source_is_another_page(tmp_path) -> None:
    with LoopWeb(hosts=3).running_in_thread() as web:
        repo, events = make_repo(tmp_path, web)
        right, wrong = web.url(0, "/ok/harbour-pension-bill"), web.url(1, "/ok/railway-vote")
        (events / "2021-01-04--cited.md").write_text(
            "---\nid: 2021-01-04--cited\ndate: '2021-01-04'\ntitle: Event\nsources:\n"
            f"- url: {right}\n  title: {served_title(right)}\n  publisher: A\n  tier: 1\n"
            f"- url: {wrong}\n  title: Senate passes the harbour pension bill\n"
            "  publisher: B\n  tier: 2\n---\nBody.\n"
        )
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "cite")
        done = gate(repo)
    annotations = [line for line in done.stdout.splitlines() if "2021-01-04--cited.md" in line]
    mismatches = [a for a in annotations if "citation-mismatch" in a]
    assert len(mismatches) == 1, annotations
    assert mismatches[0].startswith("::warning ")
    assert "line=11," in mismatches[0]  # the wrong source's title: line
