"""Operator-grade failures, through the real CLI: every failure an operator can meet is one
line on stderr and an exit code (2 configuration, 3 could not run, 130 Ctrl-C), found before
the first request; report files are readable by others and no temporary file outlives a run."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import git
from tests.fakes.loopweb import LoopWeb
from verifier.cli import ExitCode, main

EVENT_ID = "2021-02-03--operator"


@pytest.fixture
def web() -> Iterator[LoopWeb]:
    with LoopWeb(hosts=3, host_modes={"127.0.0.4": "down"}).running_in_thread() as running:
        yield running


@pytest.fixture
def refused(tmp_path: Path) -> Iterator[Path]:
    """A folder in which this process cannot create a file — even as root, which ignores
    permission bits: sysfs refuses new files to everyone."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
    else:
        folder = Path("/sys/kernel")
    probe = folder / ".operator-errors-probe"
    try:
        probe.touch(exist_ok=False)
    except OSError:
        pass
    else:
        probe.unlink()
        pytest.skip(f"{folder} is writable here")
    yield folder
    if folder.is_relative_to(tmp_path):
        folder.chmod(0o755)


def source(url: str, tier: int) -> str:
    return textwrap.dedent(f"""\
        - url: {url}
          title: Source at {url}
          publisher: Publisher {tier}
          date: '2021-02-03'
          tier: {tier}
        """)


def site(tmp_path: Path, urls: list[str], *, fails: bool = False, **config: str) -> Path:
    """An events folder with one event citing ``urls`` (tier 1, then 2…) and a config whose
    ``[paths]``/``[history]`` keys ``config`` may override; returns the config file."""
    events = tmp_path / "events"
    events.mkdir(exist_ok=True)
    sources = "".join(source(url, min(n + 1, 2)) for n, url in enumerate(urls))
    if fails:  # one source only: the tier rules fail the event
        sources = source(urls[0], 3)
    (events / f"{EVENT_ID}.md").write_text(
        f"---\nid: {EVENT_ID}\ndate: '2021-02-03'\ntitle: Operator\nimportance: 5\n"
        f"sources:\n{sources}---\nBody.\n"
    )
    settings = {"reports": '"reports"', "history": '"state/history.sqlite3"', **config}
    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(f"""\
        [paths]
        events = "events"
        reports = {settings["reports"]}
        [history]
        path = {settings["history"]}
        [http]
        connect_timeout = 1.0
        attempt_deadline = 60.0
        min_host_interval = 0.0
        [http.retry]
        backoff_base = 0.01
        jitter = 0.0
        [security]
        allowed_networks = ["127.0.0.0/8"]
        [outage]
        min_hosts = 5
        """)
        + settings.get("wayback", "[wayback]\nenabled = false\n")
    )
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The single line of ``err`` (asserting there is exactly one, and no traceback)."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def commands(config: Path, events: Path) -> dict[str, list[str]]:
    return {
        "run": ["--config", str(config), "run"],
        "check": ["--config", str(config), "check", str(events)],
        "archive": ["--config", str(config), "archive", str(events)],
        "schedule": ["--config", str(config), "schedule"],
    }


# --------------------------------------------------------------------------- the preflight


@pytest.mark.parametrize("command", ["run", "schedule"])
def test_reports_path_that_is_a_file_is_a_configuration_error_before_any_request(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    (tmp_path / "reports.txt").write_text("not a folder")
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")], reports='"reports.txt"')
    code, out, err = cli(capsys, *commands(config, tmp_path / "events")[command])
    assert code == ExitCode.USAGE
    line = one_line(err)
    assert "paths.reports" in line and "reports.txt is a file, not a folder" in line
    assert web.total_requests == 0
    assert not (tmp_path / "state").exists()  # the history was never opened
    assert out == ""


def test_reports_folder_under_a_file_is_a_configuration_error(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "somefile").write_text("")
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")], reports='"somefile/r"')
    code, _, err = cli(capsys, "--config", str(config), "run")
    assert code == ExitCode.USAGE
    assert "somefile is a file, so" in one_line(err)
    assert web.total_requests == 0


@pytest.mark.parametrize("command", ["run", "check", "archive"])
def test_history_path_that_is_a_folder_is_a_configuration_error_before_any_request(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    (tmp_path / "state" / "history.sqlite3").mkdir(parents=True)
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    code, _, err = cli(capsys, *commands(config, tmp_path / "events")[command])
    assert code == ExitCode.USAGE
    line = one_line(err)
    assert "history.path" in line and "history.sqlite3 is a folder, not a file" in line
    assert web.total_requests == 0
    assert not (tmp_path / "reports").exists()


def test_history_file_that_is_not_a_database_is_a_configuration_error(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "history.sqlite3").write_text("[paths]\nevents = 'oops'\n")
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    code, _, err = cli(capsys, "--config", str(config), "run")
    assert code == ExitCode.USAGE
    assert "is not a SQLite database" in one_line(err)
    assert web.total_requests == 0


def test_run_lock_path_that_is_a_folder_is_a_configuration_error(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "state" / "history.sqlite3.lock").mkdir(parents=True)
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    code, _, err = cli(capsys, "--config", str(config), "run")
    assert code == ExitCode.USAGE
    assert "history.sqlite3.lock is a folder" in one_line(err)
    assert web.total_requests == 0


def test_log_file_that_is_a_folder_is_a_configuration_error(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run.log").mkdir()
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    code, _, err = cli(
        capsys, "--config", str(config), "run", "--log-file", str(tmp_path / "run.log")
    )
    assert code == ExitCode.USAGE
    assert "the log file" in one_line(err)
    assert web.total_requests == 0


@pytest.mark.parametrize("command", ["run", "schedule"])
def test_unwritable_reports_folder_cannot_run_and_sends_nothing(
    web: LoopWeb,
    tmp_path: Path,
    refused: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    reports = refused / "verifier-reports"
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")], reports=f'"{reports}"')
    code, _, err = cli(capsys, *commands(config, tmp_path / "events")[command])
    assert code == ExitCode.COULD_NOT_CHECK
    line = one_line(err)
    assert line.startswith(f"verifier: cannot write paths.reports {reports}: {refused}: ")
    assert web.total_requests == 0
    assert not reports.exists()


@pytest.mark.parametrize("command", ["run", "check", "archive"])
def test_unwritable_history_folder_cannot_run_and_sends_nothing(
    web: LoopWeb,
    tmp_path: Path,
    refused: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    history = refused / "verifier" / "history.sqlite3"
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")], history=f'"{history}"')
    code, _, err = cli(capsys, *commands(config, tmp_path / "events")[command])
    assert code == ExitCode.COULD_NOT_CHECK
    assert one_line(err).startswith(f"verifier: cannot write history.path {history}: {refused}: ")
    assert web.total_requests == 0


def test_offline_check_needs_neither_the_reports_folder_nor_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reports.txt").write_text("")
    (tmp_path / "history-folder").mkdir()
    config = site(
        tmp_path,
        ["https://www.justice.gov/a", "https://apnews.com/b"],
        reports='"reports.txt"',
        history='"history-folder"',
    )
    code, _, err = cli(capsys, "--config", str(config), "check", "--offline")
    assert code == ExitCode.PASSED, err
    assert err == ""


def pull_request(root: Path, web: LoopWeb, history: str) -> Path:
    """A repository whose branch ``pr`` adds the event; returns the repository."""
    repo = root / "repo"
    repo.mkdir()
    site(repo, [web.url(0, "/ok/a"), web.url(1, "/ok/b")], history=history)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "config.toml")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "pr")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pr")
    return repo


def test_the_gate_needs_no_history_but_refuses_a_folder_in_its_place(
    web: LoopWeb,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = pull_request(tmp_path, web, history='"config.toml/history.sqlite3"')  # cannot exist
    monkeypatch.chdir(repo)
    code, _, err = cli(capsys, "check", "--changed-since", "main")
    assert code == ExitCode.PASSED, err
    assert web.total_requests > 0
    web.reset_counters()
    (repo / "config.toml").write_text(
        (repo / "config.toml").read_text().replace("config.toml/history", "history")
    )
    (repo / "history.sqlite3").mkdir()
    code, _, err = cli(capsys, "check", "--changed-since", "main")
    assert code == ExitCode.USAGE
    assert "history.sqlite3 is a folder" in one_line(err)
    assert web.total_requests == 0


# --------------------------------------------------------------------------- later failures


def test_a_report_write_that_fails_after_the_checks_is_one_line_and_exit_3(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reports" / "summary.json" / "x").mkdir(parents=True)  # passes the preflight
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    code, _, err = cli(capsys, "--config", str(config), "run")
    assert code == ExitCode.COULD_NOT_CHECK
    line = one_line(err)
    assert line.startswith(f"verifier: cannot write the reports in {tmp_path / 'reports'}")
    assert "summary.json" in line
    assert web.total_requests > 0
    assert not list((tmp_path / "reports").glob(".*.tmp"))


def archive_down_config() -> str:
    down = "http://127.0.0.4:9"  # a loopback address nobody listens on: refused at once
    return textwrap.dedent(f"""\
        [wayback]
        enabled = true
        cdx_url = "{down}/cdx"
        replay_url = "{down}/web"
        save_url = "{down}/save"
        status_url = "{down}/save/status"
        rate_window = 1.0
        cdx_per_window = 1000
        attempts = 1
        timeout = 2.0
        """)


@pytest.mark.parametrize(("fails", "expected"), [(False, 3), (True, 1)])
def test_run_exits_3_when_the_archive_is_down_unless_an_event_fails(
    web: LoopWeb,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fails: bool,
    expected: int,
) -> None:
    urls = [web.url(n % 2, f"/ok/archive-{n}") for n in range(8)]
    config = site(tmp_path, urls, fails=fails, wayback=archive_down_config())
    check, _, check_err = cli(capsys, "--config", str(config), "check", str(tmp_path / "events"))
    run, _, run_err = cli(capsys, "--config", str(config), "run")
    assert (check, run) == (expected, expected), check_err + run_err
    assert "Traceback" not in run_err
    if not fails:
        assert "could not check archives: the Wayback Machine is not answering" in run_err


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_an_online_check_is_one_line_and_exit_130(
    web: LoopWeb, tmp_path: Path
) -> None:
    config = site(tmp_path, [web.url(0, "/hang/a"), web.url(1, "/hang/b")])
    process = subprocess.Popen(
        [sys.executable, "-m", "verifier", "--config", str(config), "check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CI": "true"},
        # SIGINT may be ignored where the tests run (a background job): Ctrl-C as in a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 60
        while web.total_requests < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "the check never reached the server"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)  # the requests hang for 60 s
    finally:
        process.kill()
    assert process.returncode == ExitCode.INTERRUPTED
    assert one_line(err) == "verifier: interrupted"
    assert out == ""


# --------------------------------------------------------------------------- report files


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_reports_are_created_with_the_umask(
    web: LoopWeb, tmp_path: Path, umask: int, mode: int
) -> None:
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    done = subprocess.run(
        [sys.executable, "-m", "verifier", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CI": "true"},
        umask=umask,
    )
    assert done.returncode == ExitCode.PASSED, done.stderr
    reports = tmp_path / "reports"
    written = [path for path in reports.rglob("*") if path.is_file()]
    assert {path.name for path in written} >= {"summary.json", "index.html", f"{EVENT_ID}.json"}
    assert {stat.S_IMODE(path.stat().st_mode) for path in written} == {mode}


def test_a_run_removes_the_temporary_files_a_killed_run_left(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    (reports / "events").mkdir(parents=True)
    (reports / "other").mkdir()
    stale = [
        reports / ".summary.json.k3j_h5g6.tmp",  # mkstemp's alphabet
        reports / ".index.html.0a1b2c3d.tmp",
        reports / "events" / f".{EVENT_ID}.json.x9y8z7w6.tmp",
        reports / "events" / ".2020-01-01--gone.md.abcdefgh.tmp",  # an event deleted since
    ]
    kept = [
        reports / "notes.tmp",
        reports / ".keep.tmp",
        reports / ".summary.json.short.tmp",
        reports / ".summary.json.abcdefgh.tmp.bak",
        reports / "other" / ".x.json.abcdefgh.tmp",  # not a folder the writer owns
        reports / "verifier.log",
    ]
    for path in stale + kept:
        path.write_bytes(b"x" * 1000)
    (reports / ".folder.abcdefgh.tmp").mkdir()
    (reports / ".link.abcdefgh.tmp").symlink_to(tmp_path / "config.toml")
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    code, _, err = cli(capsys, "--config", str(config), "run")
    assert code == ExitCode.PASSED, err
    assert [path for path in stale if path.exists()] == []
    assert [path for path in kept if not path.exists()] == []
    assert (reports / ".folder.abcdefgh.tmp").is_dir()
    assert (reports / ".link.abcdefgh.tmp").is_symlink()
    assert (tmp_path / "config.toml").is_file()
    assert (reports / "events" / f"{EVENT_ID}.json").is_file()


def test_the_preflight_accepts_what_a_run_leaves_behind(
    web: LoopWeb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site(tmp_path, [web.url(0, "/ok/a"), web.url(1, "/ok/b")])
    first, _, err = cli(capsys, "--config", str(config), "run")
    assert (tmp_path / "state" / "history.sqlite3.lock").is_file()
    second, _, err2 = cli(capsys, "--config", str(config), "run")
    assert (first, second) == (ExitCode.PASSED, ExitCode.PASSED), err + err2
    db = sqlite3.connect(tmp_path / "state" / "history.sqlite3")
    try:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    finally:
        db.close()
