"""The first day on a messy corpus: configuration found where users keep it, a gate the pull
request cannot steer, a baseline, rule selection, statistics, exclusions, ``--dump``."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GOOD_EVENT, git
from tests.corpus import TIMELINE_EVENTS
from tests.fakes.loopweb import LoopWeb
from verifier.cli import ExitCode, main
from verifier.commands.progress import ProgressReporter, in_ci
from verifier.config import find_config, load_settings
from verifier.config_sections import SourcesSettings
from verifier.models import (
    EventReport,
    EventSummary,
    Observation,
    Result,
    Severity,
    Verdict,
    Violation,
)
from verifier.reports.formats.text import render_text
from verifier.reports.selection import covers
from verifier.reports.summary import summarize
from verifier.web.answers import Outcome, Response
from verifier.web.classify import classify

BAD_EVENT = GOOD_EVENT.replace("tier: 2", "tier: 3")


def write_event(folder: Path, stem: str, text: str = GOOD_EVENT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.md"
    path.write_text(text.replace("2021-02-03--example-event", stem))
    return path


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "CI": "true"},
    )


# -- where the configuration is found -------------------------------------------------------


def test_the_nearest_verifier_toml_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "verifier.toml").write_text('[paths]\nevents = "timeline"\n')
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    found = find_config(tmp_path / "docs" / "deep")
    assert found is not None and found[0] == tmp_path / "verifier.toml"


def test_tool_verifier_in_pyproject_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.verifier.paths]\nevents = "timeline"\n'
    )
    monkeypatch.chdir(tmp_path)
    assert load_settings().paths.events == Path("timeline")


def test_a_static_sites_config_toml_is_not_mistaken_for_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "config.toml").write_text('baseURL = "https://example.org/"\n[params]\nx = 1\n')
    monkeypatch.chdir(tmp_path)
    assert find_config() is None
    settings = load_settings()
    assert settings.paths.events == Path("events")  # the defaults, no error
    (tmp_path / "config.toml").write_text('[paths]\nevents = "timeline"\n')
    assert load_settings().paths.events == Path("timeline")


def test_the_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "verifier.toml").write_text("[paths]\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert find_config(repo) is None


# -- the gate reads its configuration from the base branch ----------------------------------


def test_a_pull_request_with_a_hostile_config_gets_the_base_configuration(tmp_path: Path) -> None:
    with LoopWeb(hosts=2).running_in_thread() as web:
        repo = tmp_path / "repo"
        events = repo / "events"
        (repo / "config.toml").parent.mkdir(parents=True)
        (repo / "config.toml").write_text(
            '[paths]\nevents = "events"\n[wayback]\nenabled = false\n[outage]\nmin_hosts = 5\n'
        )
        write_event(events, "2021-02-03--base")
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "base")
        git(repo, "checkout", "-qb", "pr")
        # the pull request opens private networks, turns the failing rule off, and adds an
        # event that fails it while citing the loopback web
        (repo / "config.toml").write_text(
            '[paths]\nevents = "events"\n[wayback]\nenabled = false\n'
            "[security]\nallow_private_networks = true\n"
            '[rules.severity]\nmin-credible-sources = "off"\nhigh-importance-tier1 = "off"\n'
        )
        bad = BAD_EVENT.replace("https://www.justice.gov/opa/pr/example", web.url(0, "/ok/a"))
        bad = bad.replace("https://apnews.com/article/example", web.url(1, "/ok/b"))
        write_event(events, "2021-02-03--pr", bad.replace("tier: 1", "tier: 3"))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "pr")
        steered = cli(repo, "check", "--changed-since", "main", "--format", "json")
        gated = cli(
            repo,
            "check",
            "--changed-since",
            "main",
            "--config-from-ref",
            "main",
            "--format",
            "json",
        )
        served = web.total_requests
    # without --config-from-ref the PR steers its own gate: it passes, the web is reached
    assert steered.returncode == ExitCode.PASSED, steered.stderr
    assert served > 0
    # with it, the base configuration holds: the rule fails the event, no loopback request
    assert gated.returncode == ExitCode.FAILED, gated.stderr
    [report] = json.loads(gated.stdout)["events"]
    rules = {v["rule"] for v in report["violations"]}
    assert "min-credible-sources" in rules
    assert {s["verdict"] for s in report["sources"]} == {"invalid"}  # refused, never sent


# -- baseline, selection, statistics --------------------------------------------------------


def test_baseline_then_check_passes_and_a_new_failure_is_the_only_one_reported(
    tmp_path: Path,
) -> None:
    write_event(tmp_path / "events", "2021-02-03--good")
    write_event(tmp_path / "events", "2021-02-03--old-bad", BAD_EVENT)
    assert cli(tmp_path, "check", "--offline").returncode == ExitCode.FAILED
    recorded = cli(tmp_path, "baseline")
    assert recorded.returncode == ExitCode.PASSED, recorded.stderr
    assert "recorded 1 finding in 1 events" in recorded.stdout
    assert cli(tmp_path, "check", "--offline").returncode == ExitCode.PASSED
    write_event(tmp_path / "events", "2021-02-03--new-bad", BAD_EVENT)
    done = cli(tmp_path, "check", "--offline")
    assert done.returncode == ExitCode.FAILED
    assert "2021-02-03--new-bad.md" in done.stdout
    assert "old-bad" not in done.stdout
    assert cli(tmp_path, "check", "--offline", "--no-baseline").stdout.count("[fail]") == 2


@pytest.mark.corpus
def test_baseline_on_a_copy_of_the_real_corpus(tmp_path: Path) -> None:
    shutil.copytree(TIMELINE_EVENTS, tmp_path / "events")
    assert cli(tmp_path, "baseline").returncode == ExitCode.PASSED
    assert cli(tmp_path, "check", "--offline").returncode == ExitCode.PASSED
    write_event(tmp_path / "events", "2021-02-03--new-bad", BAD_EVENT)
    done = cli(tmp_path, "check", "--offline")
    assert done.returncode == ExitCode.FAILED
    assert [line for line in done.stdout.splitlines() if "[fail]" in line] == [
        "events/2021-02-03--new-bad.md  [fail]"
    ]


def test_select_ignore_and_statistics(tmp_path: Path) -> None:
    write_event(tmp_path / "events", "2021-02-03--bad", BAD_EVENT)
    stats = cli(tmp_path, "check", "--offline", "--statistics")
    assert stats.returncode == ExitCode.FAILED
    assert stats.stdout.splitlines() == ["1  error    min-credible-sources", "1  total"]
    ignored = cli(tmp_path, "check", "--offline", "--ignore", "min-cred")
    assert ignored.returncode == ExitCode.FAILED  # a prefix ends where a word does
    ignored = cli(tmp_path, "check", "--offline", "--ignore", "min-credible")
    assert ignored.returncode == ExitCode.PASSED
    ignored = cli(
        tmp_path, "check", "--offline", "--ignore", "tier", "--ignore", "min-credible-sources"
    )
    assert ignored.returncode == ExitCode.PASSED
    selected = cli(tmp_path, "check", "--offline", "--select", "archive")
    assert selected.returncode == ExitCode.PASSED


def test_an_event_can_ignore_a_rule_in_its_front_matter(tmp_path: Path) -> None:
    text = BAD_EVENT.replace(
        "importance: 5\n", "importance: 5\nverifier-ignore: [min-credible-sources]\n"
    )
    write_event(tmp_path / "events", "2021-02-03--bad", text)
    assert cli(tmp_path, "check", "--offline").returncode == ExitCode.PASSED


def test_a_path_without_events_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = cli(tmp_path, "check", "--offline", "empty")
    assert done.returncode == ExitCode.USAGE
    assert "no event files in empty" in done.stderr


# -- exclusions, accepted statuses, --dump --------------------------------------------------


def test_dump_lists_the_urls_a_check_would_request_without_the_excluded(tmp_path: Path) -> None:
    write_event(tmp_path / "events", "2021-02-03--good")
    (tmp_path / "verifier.toml").write_text('[sources]\nexclude_hosts = ["apnews.com"]\n')
    done = cli(tmp_path, "check", "--dump")
    assert done.returncode == ExitCode.PASSED
    assert done.stdout.splitlines() == ["https://www.justice.gov/opa/pr/example"]


def test_exclusion_patterns_and_hosts() -> None:
    sources = SourcesSettings(exclude=(r"^https://intranet\.",), exclude_hosts=("linkedin.com",))
    assert sources.excludes("https://intranet.example.org/x")
    assert sources.excludes("https://www.linkedin.com/in/someone")
    assert not sources.excludes("https://example.org/intranet.html")
    with pytest.raises(ValueError, match="not a regular expression"):
        SourcesSettings(exclude=("(",))


def test_an_accepted_status_is_alive() -> None:
    response = Response("GET", "https://a.example/x", 403, {"server": "cloudflare"}, b"")
    outcome = Outcome("https://a.example/x", response)
    assert classify(outcome)[0] is Verdict.BLOCKED
    verdict, detail = classify(outcome, accept=(403,))
    assert verdict is Verdict.ALIVE and "accepted" in detail


def test_bad_exclude_pattern_in_config_is_a_usage_error(tmp_path: Path) -> None:
    write_event(tmp_path / "events", "2021-02-03--good")
    (tmp_path / "verifier.toml").write_text('[sources]\nexclude = ["("]\n')
    assert (
        main(["--config", str(tmp_path / "verifier.toml"), "check", "--offline"]) == ExitCode.USAGE
    )


# -- progress -------------------------------------------------------------------------------


def test_progress_is_quiet_in_ci_and_counts_failures() -> None:
    assert in_ci({"CI": "true"}) and in_ci({"CI": "1"})
    assert not in_ci({}) and not in_ci({"CI": "false"})
    progress = ProgressReporter(enabled=False)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for verdict in (Verdict.ALIVE, Verdict.DEAD, Verdict.BLOCKED, Verdict.UNREACHABLE):
        progress.advance(Observation(url="https://a.example/", verdict=verdict, checked_at=now))
    assert (progress.checked, progress.failing) == (4, 2)


def test_a_shallow_checkout_says_how_to_fetch_the_base(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    write_event(origin / "events", "2021-02-03--good")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "one")
    git(origin, "checkout", "-qb", "pr")
    write_event(origin / "events", "2021-02-03--new")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "two")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", "pr", f"file://{origin}", str(clone)],
        check=True,
        capture_output=True,
    )
    done = cli(clone, "check", "--offline", "--changed-since", "origin/main")
    assert done.returncode == ExitCode.USAGE
    assert "fetch-depth: 0" in done.stderr


def test_text_findings_are_path_line_col_lines_coloured_only_for_a_terminal() -> None:
    report = EventReport(
        event=EventSummary(id="e", file="events/e.md"),
        result=Result.FAIL,
        violations=[
            Violation(rule="url-valid", severity=Severity.ERROR, message="bad\x1b[2J", line=7),
            Violation(rule="schema", severity=Severity.WARNING, message="whole file"),
        ],
    )
    plain = render_text([report], summarize([report])).splitlines()
    assert plain[:3] == [
        "events/e.md  [fail]",
        "events/e.md: warning schema  whole file",
        "events/e.md:7:1: error   url-valid  bad\\x1b[2J",
    ]
    coloured = render_text([report], summarize([report]), colour=True)
    assert "\x1b[31merror\x1b[0m" in coloured and "\x1b[2J" not in coloured


def test_a_lone_surrogate_in_a_json_event_is_replaced_not_a_crash(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "2021-02-03--s.json").write_text(
        '{"id": "2021-02-03--s", "date": "2021-02-03", "title": "bad \\ud800 title"}'
    )
    done = cli(tmp_path, "check", "--offline", "--format", "json")
    assert done.returncode == ExitCode.FAILED, done.stderr  # no sources: an error, no crash
    [event] = json.loads(done.stdout)["events"]
    assert event["event"]["title"] == "bad \ufffd title"


def test_online_and_offline_rule_groups() -> None:
    for rule in ("source-dead", "archive-fabricated", "new-source-dead", "citation-mismatch"):
        assert covers("online", rule) and not covers("offline", rule)
    for rule in ("min-credible-sources", "tier-missing", "citation-url-date", "schema"):
        assert covers("offline", rule) and not covers("online", rule)
