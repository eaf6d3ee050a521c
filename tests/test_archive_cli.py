"""``verifier archive --write`` end to end: real files, the loopback web, the fake Wayback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.loopweb import LoopWeb
from tests.fakes.wayback import (
    DEFAULT_ACCOUNT,
    Account,
    FakeClock,
    FakeWayback,
    FakeWaybackConfig,
    serve_fake_wayback,
)
from verifier.cli import ExitCode


def write_config(root: Path, wayback: str, wayback_extra: str) -> None:
    """config.toml for the loopback web and the fake Wayback at ``wayback``."""
    (root / "config.toml").write_text(
        '[paths]\nevents = "events"\n[http]\nmin_host_interval = 0.0\n'
        '[security]\nallowed_networks = ["127.0.0.0/8"]\n[outage]\nmin_hosts = 5\n'
        f'[wayback]\ncdx_url = "{wayback}/cdx/search/cdx"\nsave_url = "{wayback}/save"\n'
        f'status_url = "{wayback}/save/status"\nrate_window = 1.0\ncdx_per_window = 100\n'
        f'{wayback_extra}[history]\npath = "history.sqlite3"\n'
    )


def run_archive(root: Path, *options: str, keys: bool) -> subprocess.CompletedProcess[str]:
    """``verifier archive [options] events`` as its own process, with the fake's keys or none."""
    access, secret = DEFAULT_ACCOUNT.split(":")
    env = {**os.environ, "CI": "true"}
    if keys:
        env.update(WAYBACK_ACCESS_KEY=access, WAYBACK_SECRET_KEY=secret)
    return subprocess.run(
        [sys.executable, "-m", "verifier", "archive", *options, "events"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


def test_archive_write_fills_and_fixes_only_archive_url_lines(tmp_path: Path) -> None:
    fake = FakeWayback(
        FakeWaybackConfig(
            rate_limits=dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))
        ),
        FakeClock(),
    )
    with LoopWeb(hosts=2).running_in_thread() as web, serve_fake_wayback(fake) as wayback:
        archived, fabricated = web.url(0, "/ok/archived"), web.url(1, "/ok/fabricated")
        fake.add_capture(archived, "20210101101010")
        fake.add_capture(fabricated, "20210205080000")
        events = tmp_path / "events"
        events.mkdir()
        event = events / "2021-02-03--archive-me.md"
        original = (
            "---\nid: 2021-02-03--archive-me\ndate: '2021-02-03'\ntitle: Archive me\n"
            f"sources:\n- url: {archived}\n  title: A\n  publisher: P1\n  date: '2021-02-03'\n"
            f"  tier: 1\n- url: {fabricated}\n  title: B\n  publisher: P2\n  tier: 2\n"
            f"  archive_url: https://web.archive.org/web/20240101000000/{fabricated}\n"
            "---\nBody stays.\n"
        )
        event.write_text(original)
        write_config(
            tmp_path, wayback, "save_if_no_capture_within_days = 36500\npoll_timeout = 2.0\n"
        )
        done = run_archive(tmp_path, "--write", keys=True)
        secret = DEFAULT_ACCOUNT.split(":")[1]
    assert done.returncode == ExitCode.PASSED, done.stderr
    assert "2 archive_url edits planned, 1 files written" in done.stdout
    assert secret not in done.stdout + done.stderr
    before, after = original.splitlines(), event.read_text().splitlines()
    changed = [line for line in after if line not in before]
    removed = [line for line in before if line not in after]
    assert changed == [
        f"  archive_url: https://web.archive.org/web/20210101101010/{archived}",
        f"  archive_url: https://web.archive.org/web/20210205080000/{fabricated}",
    ]
    assert removed == [f"  archive_url: https://web.archive.org/web/20240101000000/{fabricated}"]
    assert after[-1] == "Body stays."


def test_archive_write_replaces_only_links_it_proved_wrong_or_imprecise(tmp_path: Path) -> None:
    fake = FakeWayback(
        FakeWaybackConfig(
            rate_limits=dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))
        ),
        FakeClock(),
    )
    with LoopWeb(hosts=5).running_in_thread() as web, serve_fake_wayback(fake) as wayback:
        exact, calendar, wrong, other, never = (web.url(n, f"/ok/s{n}") for n in range(5))
        fake.add_capture(exact.replace("http://", "http://www.", 1) + "/", "20210203101010")
        fake.add_capture(calendar, "20210204080000")
        fake.add_capture(wrong, "20210203120000", statuscode="404")  # resolves to an error
        fake.add_capture(wrong, "20200101000000")
        links = {
            exact: f"https://web.archive.org/web/20210203101010/{exact}",  # SURT-equal: kept
            calendar: f"https://web.archive.org/web/20210203000000*/{calendar}",
            wrong: f"https://web.archive.org/web/20210203000000/{wrong}",
            other: "https://archive.ph/AbCdE",  # another archive: kept
            never: f"https://web.archive.org/web/2021/{never}",  # never archived: no fix known
        }
        events = tmp_path / "events"
        events.mkdir()
        event = events / "2021-02-03--links.md"
        sources = "".join(
            f"- url: {url}\n  title: T{n}\n  publisher: P{n}\n  tier: 2\n  archive_url: {link}\n"
            for n, (url, link) in enumerate(links.items())
        )
        original = (
            "---\nid: 2021-02-03--links\ndate: '2021-02-03'\ntitle: Links\n"
            f"sources:\n{sources}---\nBody stays.\n"
        )
        event.write_text(original)
        write_config(tmp_path, wayback, "save_if_no_capture_within_days = 36500\n")
        done = run_archive(tmp_path, "--write", keys=False)
    assert done.returncode == ExitCode.PASSED, done.stderr
    assert "(1 fabricated fixed, 1 made exact)" in done.stdout, done.stdout
    after = event.read_text()
    assert after == original.replace(
        links[calendar], f"https://web.archive.org/web/20210204080000/{calendar}"
    ).replace(links[wrong], f"https://web.archive.org/web/20200101000000/{wrong}")


def test_archive_captures_stop_before_the_accounts_daily_cap(tmp_path: Path) -> None:
    fake = FakeWayback(
        FakeWaybackConfig(
            rate_limits=dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user")),
            capture_duration=0.0,
            accounts={DEFAULT_ACCOUNT: Account(daily_limit=30_000, used_today=29_998)},
        ),
        FakeClock(),
    )
    with LoopWeb(hosts=4).running_in_thread() as web, serve_fake_wayback(fake) as wayback:
        urls = [web.url(n, f"/ok/never-archived-{n}") for n in range(4)]
        events = tmp_path / "events"
        events.mkdir()
        sources = "".join(
            f"- url: {url}\n  title: T{n}\n  publisher: P{n}\n  tier: 2\n"
            for n, url in enumerate(urls)
        )
        (events / "2021-02-03--four.md").write_text(
            f"---\nid: 2021-02-03--four\ndate: '2021-02-03'\ntitle: Four\nsources:\n{sources}"
            "---\nBody.\n"
        )
        write_config(
            tmp_path,
            wayback,
            "save_per_window = 100\nstatus_per_window = 100\npoll_interval = 0.05\n"
            "poll_timeout = 5.0\n",
        )
        done = run_archive(tmp_path, keys=True)
        submits = fake.requests(family="spn_submit")
    assert done.returncode == ExitCode.PASSED, done.stderr
    assert "2 captures left today" in done.stderr
    assert "stopped before the account's daily cap" in done.stderr
    assert len(submits) == 2  # the two captures left, and no request the cap refused
    assert "2 saved, 2 missing" in done.stdout, done.stdout
