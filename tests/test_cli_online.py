"""``verifier check`` (online) end to end: a real process, a config file, the loopback web."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.loopweb import LoopWeb, served_title
from verifier.cli import ExitCode


@pytest.fixture
def web() -> Iterator[LoopWeb]:
    with LoopWeb(
        hosts=8, host_modes={f"127.0.0.{n}": "down" for n in range(4, 10)}
    ).running_in_thread() as running:
        yield running


def write_config(tmp_path: Path, **extra: str) -> Path:
    config = tmp_path / "config.toml"
    lines = [
        "[http]",
        "connect_timeout = 1.0",
        "attempt_deadline = 2.0",
        "min_host_interval = 0.0",
        "[http.retry]",
        "backoff_base = 0.01",
        "jitter = 0.0",
        "[security]",
        'allowed_networks = ["127.0.0.0/8"]',
        "[outage]",
        "min_hosts = 5",
        "[wayback]",
        "enabled = false",
    ]
    config.write_text("\n".join(lines) + "\n" + "\n".join(f"{k} = {v}" for k, v in extra.items()))
    return config


def event(name: str, urls: list[tuple[str, int]], archive: bool = False) -> str:
    sources = "".join(
        textwrap.dedent(f"""\
        - url: {url}
          title: {served_title(url) or f"Source {n}"}
          publisher: Publisher {n}
          date: '2021-02-03'
          tier: {tier}
        """)
        + (f"  archive_url: https://web.archive.org/web/20210203000000/{url}\n" if archive else "")
        for n, (url, tier) in enumerate(urls)
    )
    header = f"---\nid: {name}\ndate: '2021-02-03'\ntitle: Event {name}\nimportance: 5\n"
    return f"{header}sources:\n{sources}---\nBody.\n"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verifier", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CI": "true"},
    )


def test_dead_credible_source_fails_and_json_carries_the_observation(web, tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    alive, dead = web.url(0, "/ok/a"), web.url(0, "/status/404/b")
    blocked = web.url(1, "/cloudflare/c")
    (events / "2021-02-03--good.md").write_text(
        event("2021-02-03--good", [(alive, 1), (blocked, 2)])
    )
    (events / "2021-02-03--dead.md").write_text(event("2021-02-03--dead", [(alive, 1), (dead, 2)]))
    (events / "2021-02-03--archived.md").write_text(
        event("2021-02-03--archived", [(alive, 1), (dead, 2)], archive=True)
    )
    config = write_config(tmp_path)
    done = run_cli("--config", str(config), "check", "--format", "json", str(events))
    assert done.returncode == ExitCode.FAILED, done.stderr
    reports = {e["event"]["id"]: e for e in json.loads(done.stdout)["events"]}
    assert reports["2021-02-03--dead"]["result"] == "fail"
    dead_source = reports["2021-02-03--dead"]["sources"][1]
    assert dead_source["verdict"] == "dead"
    assert dead_source["http_status"] == 404
    assert dead_source["status"] == "suspect"
    assert dead_source["attempts"] == 1  # one GET, no HEAD before it
    assert dead_source["checked_at"].endswith("Z")
    assert {"final_url", "detail", "tier", "publisher", "archive"} <= dead_source.keys()
    assert [v["rule"] for v in reports["2021-02-03--dead"]["violations"]] == ["source-dead"]
    assert reports["2021-02-03--good"]["result"] == "warn"
    assert reports["2021-02-03--good"]["sources"][1]["verdict"] == "blocked"
    assert reports["2021-02-03--archived"]["result"] == "warn"
    assert web.count(target="/ok/a") == 1  # cited three times, checked once (one GET)


def test_network_outage_exits_3_and_judges_nothing(web, tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    urls = [(web.url(n, f"/ok/{n}"), 1) for n in range(2, 8)]
    (events / "2021-02-03--down.md").write_text(event("2021-02-03--down", urls))
    config = write_config(tmp_path)
    done = run_cli("--config", str(config), "check", "--format", "json", str(events))
    assert done.returncode == ExitCode.COULD_NOT_CHECK, done.stderr
    document = json.loads(done.stdout)
    assert "network outage" in document["summary"]["could_not_check"]
    assert {s["verdict"] for s in document["events"][0]["sources"]} == {None}
    assert "could not check" in done.stderr
