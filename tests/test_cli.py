"""The CLI end to end: exit codes, formats, --changed-since, configuration errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import GOOD_EVENT, git
from tests.corpus import TIMELINE_EVENTS
from verifier.cli import ExitCode, main
from verifier.reports.formats.github import annotation, escape_data, escape_property

FAILING_EVENT = GOOD_EVENT.replace("tier: 2", "tier: 7")
CORPUS = TIMELINE_EVENTS


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_passing_events_exit_0(write_event: Callable[..., Path], capsys) -> None:
    path = write_event("2021-02-03--example-event.md", GOOD_EVENT)
    code, out, _ = run(capsys, "check", "--offline", str(path.parent))
    assert code == ExitCode.PASSED
    assert out.strip().endswith("1 event: 1 pass, 0 warn, 0 fail")


def test_an_error_exits_1_and_names_file_line_and_rule(write_event, capsys) -> None:
    write_event("2021-02-03--example-event.md", FAILING_EVENT)
    path = write_event(
        "2021-02-04--example-event.md", GOOD_EVENT.replace("2021-02-03", "2021-02-04")
    )
    code, out, _ = run(capsys, "check", "--offline", str(path.parent))
    assert code == ExitCode.FAILED
    assert "2021-02-03--example-event.md  [fail]" in out
    assert "16:" in out and "tier-valid" in out
    assert "2 events: 1 pass, 0 warn, 1 fail" in out


def test_a_broken_file_does_not_stop_the_others(write_event, capsys) -> None:
    write_event("2021-02-03--broken.md", "---\ntitle: [\n---\n")
    write_event("2021-02-03--example-event.md", GOOD_EVENT)
    code, out, _ = run(
        capsys,
        "check",
        "--offline",
        "--format",
        "json",
        str(write_event("README.md", "# docs").parent),
    )
    document = json.loads(out)
    assert code == ExitCode.FAILED
    results = {e["event"]["id"]: e["result"] for e in document["events"]}
    assert results == {"2021-02-03--broken": "fail", "2021-02-03--example-event": "pass"}
    assert document["summary"]["skipped_files"] == 1


def test_json_follows_the_contract(write_event, capsys) -> None:
    path = write_event("2021-02-03--example-event.md", FAILING_EVENT)
    code, out, _ = run(capsys, "check", "--offline", "--format", "json", str(path))
    document = json.loads(out)
    assert code == ExitCode.FAILED
    assert document["schema_version"] == 1
    [report] = document["events"]
    assert report["schema_version"] == 1
    assert report["event"] == {
        "id": "2021-02-03--example-event",
        "file": str(path),
        "title": "An example event",
        "date": "2021-02-03",
        "importance": 5,
    }
    assert report["result"] == "fail"
    assert report["sources"][0]["url"] == "https://www.justice.gov/opa/pr/example"
    assert report["sources"][0]["tier"] == 1
    violation = next(v for v in report["violations"] if v["rule"] == "tier-valid")
    assert violation == {
        "rule": "tier-valid",
        "severity": "error",
        "source_index": 1,
        "line": 16,
        "message": "tier must be 1, 2 or 3, not 7",
    }
    assert document["summary"]["results"] == {"pass": 0, "warn": 0, "fail": 1}


def test_github_format_escapes_untrusted_text(write_event, capsys) -> None:
    hostile = "2021-02-03--a,b:c%.md"
    text = FAILING_EVENT.replace("id: 2021-02-03--example-event", "id: 2021-02-03--a,b:c%")
    text = text.replace("tier: 7", "tier: 'x\\n::error::pwned'").replace("tier: 'x", 'tier: "x')
    text = text.replace("pwned'", 'pwned"')
    path = write_event(hostile, text)
    code, out, _ = run(capsys, "check", "--offline", "--format", "github", str(path))
    assert code == ExitCode.FAILED
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].removeprefix("::stop-commands::")
    assert len(token) >= 32
    assert lines[-1] == f"::{token}::"
    assert all(line.startswith(("::error ", "::warning ")) for line in lines[:start])
    assert not any(line.startswith("::error::pwned") for line in lines)
    tier_line = next(line for line in lines if "tier-valid" in line)
    assert (
        "file=" + str(path.parent).replace(":", "%3A") + "/2021-02-03--a%2Cb%3Ac%25.md" in tier_line
    )
    assert ",line=16," in tier_line
    assert "pwned" in tier_line


def test_github_annotations_stop_at_ten_per_level_and_the_rest_are_counted(
    write_event, capsys, monkeypatch
) -> None:
    for n in range(12):
        name = f"2021-02-03--bad-{n:02d}"
        write_event(f"{name}.md", FAILING_EVENT.replace("2021-02-03--example-event", name))
    folder = write_event(
        "2021-02-03--bad-00.md",
        FAILING_EVENT.replace("2021-02-03--example-event", "2021-02-03--bad-00"),
    ).parent
    summary_file = folder.parent / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    code, out, _ = run(capsys, "check", "--offline", "--format", "github", str(folder))
    assert code == ExitCode.FAILED
    assert sum(1 for line in out.splitlines() if line.startswith("::error ")) == 10
    summary = summary_file.read_text()
    errors = summary.count("| error |")
    assert errors >= 12
    assert f"{errors - 10} more errors" in out
    assert summary.count("tier-valid") == 12
    problems = summary.count("| error |") + summary.count("| warning |")
    assert f"<summary>{problems - 20} more" in summary


def test_junit_lists_each_event_with_failures(write_event, capsys) -> None:
    write_event("2021-02-03--example-event.md", FAILING_EVENT)
    folder = write_event(
        "2021-02-04--ok.md",
        GOOD_EVENT.replace("2021-02-03", "2021-02-04").replace("example-event", "ok"),
    ).parent
    code, out, _ = run(capsys, "check", "--offline", "--format", "junit", str(folder))
    suite = ElementTree.fromstring(out.split("?>", 1)[1]).find("testsuite")
    assert code == ExitCode.FAILED
    assert suite is not None
    assert suite.get("tests") == "2"
    assert suite.get("failures") == "1"
    [failure] = suite.iter("failure")
    assert failure.get("type") == "tier-valid"


def test_workflow_command_escaping() -> None:
    line = annotation("error", "50% done\r\n::error::x", file="a,b:c.md", line=3, title="t:1,2")
    assert line == "::error file=a%2Cb%3Ac.md,line=3,title=t%3A1%2C2::50%25 done%0D%0A::error::x"
    assert escape_property("%0A") == "%250A"
    assert escape_data("a:b,c") == "a:b,c"


def test_bad_config_exits_2(tmp_path: Path, capsys) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[rules]\nmin_credible_sourcez = 3\n")
    code, _, err = run(capsys, "--config", str(config), "check", "--offline", str(tmp_path))
    assert code == ExitCode.USAGE
    assert "min_credible_sourcez" in err


def test_missing_path_exits_2(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "check", "--offline", str(tmp_path / "nope"))
    assert code == ExitCode.USAGE
    assert "no such file" in err


def test_unknown_format_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--format", "xml"])
    assert exc.value.code == ExitCode.USAGE


def test_changed_since_checks_only_added_and_modified_events(tmp_path: Path, capsys) -> None:
    repo = tmp_path / "repo"
    events = repo / "events"
    events.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (events / "2021-02-03--old-broken.md").write_text(
        FAILING_EVENT.replace("example-event", "old-broken")
    )
    (events / "2021-02-03--example-event.md").write_text(GOOD_EVENT)
    (events / "2021-02-03--deleted.md").write_text(GOOD_EVENT.replace("example-event", "deleted"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "pr")
    (events / "2021-02-03--example-event.md").write_text(
        GOOD_EVENT.replace("title: An", "title: The")
    )
    (events / "2021-02-05--new.md").write_text(
        GOOD_EVENT.replace("2021-02-03--example-event", "2021-02-05--new").replace(
            "date: '2021-02-03'\ntitle", "date: '2021-02-05'\ntitle"
        )
    )
    (events / "2021-02-03--deleted.md").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pr")
    code, out, _ = run(
        capsys, "check", "--offline", "--format", "json", "--changed-since", "main", str(events)
    )
    ids = sorted(e["event"]["id"] for e in json.loads(out)["events"])
    assert ids == ["2021-02-03--example-event", "2021-02-05--new"]
    assert code == ExitCode.PASSED
    code, _, err = run(capsys, "check", "--offline", "--changed-since", "no-such-ref", str(events))
    assert code == ExitCode.USAGE
    assert "git diff" in err


def test_python_dash_m_runs_the_cli(write_event) -> None:
    path = write_event("2021-02-03--example-event.md", GOOD_EVENT)
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "check", "--offline", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 pass" in done.stdout


@pytest.mark.corpus
def test_real_corpus_every_file_accounted_for(capsys) -> None:
    code, out, _ = run(capsys, "check", "--offline", "--format", "json", str(CORPUS))
    document = json.loads(out)
    files = sorted(p.name for p in CORPUS.iterdir() if p.suffix in {".md", ".json"})
    reported = sorted(Path(e["event"]["file"]).name for e in document["events"])
    assert len(reported) == 2052
    assert sorted([*reported, "README.md"]) == files
    assert code == ExitCode.FAILED
    results = document["summary"]["results"]
    assert results["pass"] + results["warn"] + results["fail"] == 2052
    assert results["pass"] > 0 and results["warn"] > 0
