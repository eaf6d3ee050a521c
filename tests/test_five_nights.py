"""Acceptance test of issue 9: the nightly job survives real nights.

``verifier run`` as an operator runs it — its own process, the shipped config.toml (the few
overrides are listed, with their reasons, in ``Nights.deviations``), Wayback on against the
fake Wayback over a socket, the loopback web — five nights in a row on a copy of the real
corpus: a first night, two incremental ones, a night SIGKILLed mid-check and restarted, a
night SIGTERMed mid-archive. Then ``verifier schedule`` stopped by SIGTERM mid-run.

Every process has a hard timeout (``NightsOptions.timeout``): a hang fails the test, with
the process's stack in the failure message, instead of hanging CI. Each night's wall time
and request counts are printed (``pytest -s``) and kept as test properties. The scenario
is shared with ``benchmarks/nights.py``, which prints the same figures.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.nightly_support import (
    Night,
    Nights,
    NightsOptions,
    shipped_config,
)
from verifier.cli import ExitCode
from verifier.config import load_settings

pytestmark = pytest.mark.corpus

SHIPPED = load_settings(Path(__file__).resolve().parents[1] / "config.toml")
STOP_BOUND = 10.0 + max(SHIPPED.http.attempt_deadline, SHIPPED.wayback.timeout)
"""After SIGTERM the process exits within 10 s plus one request deadline (issue 9)."""

Record = Callable[[str, object], None]


def on_hosts(url: str, hosts: list[str]) -> bool:
    return any(f"//{host}:" in url for host in hosts)


def finished(night: Night, record: Record) -> Night:
    """Print and record the night's figures; it must not have hung or crashed."""
    print(night.figures())
    record(night.label, night.figures())
    assert not night.process.timed_out, night.diagnosis()
    assert "Traceback" not in night.process.stderr, night.diagnosis()
    return night


def completed(nights: Nights, night: Night, record: Record) -> dict[str, str]:
    """A night that ran to its end: exit code from its results, state complete, no outage."""
    finished(night, record)
    summary = nights.summary()
    expected = ExitCode.FAILED if summary["results"]["fail"] else ExitCode.PASSED
    assert night.code == expected, night.diagnosis()
    assert summary["run"]["state"] == "complete", night.diagnosis()
    assert summary["generated_at"] == night.now
    assert "outage" not in night.process.stdout + night.process.stderr, night.diagnosis()
    return nights.statuses()


def flat(table: dict[str, Any], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_five_nights_with_the_shipped_defaults(tmp_path: Path, record_property: Record) -> None:
    with Nights(tmp_path) as nights:
        written = flat(tomllib.loads((tmp_path / "config.toml").read_text()))
        shipped = flat(shipped_config())
        changed = {
            key for key in written.keys() | shipped.keys() if written.get(key) != shipped.get(key)
        }
        assert changed <= set(flat(nights.deviations())), "only the listed deviations"
        tracked = nights.tracked
        specials = nights.specials

        # Night 1: everything is due; liveness and archiving (captures requested) both run.
        first = nights.first_night()
        statuses = completed(nights, first, record_property)
        sources = nights.sources()
        assert statuses[tracked["always_dead"]] == "suspect"
        assert statuses[tracked["recovers"]] == "suspect"
        assert statuses[tracked["dies"]] == "ok"
        assert sources[tracked["always_dead"]]["verdict"] == "dead"
        assert statuses[tracked["refused"]] == "suspect"  # kept, though connection-level
        assert sources[tracked["refused"]]["verdict"] == "unreachable"
        base = nights.base_urls
        ok = sum(1 for url in base if statuses.get(url) == "ok")
        assert ok >= 0.95 * len(base), f"{ok} of {len(base)} ok"
        for kind in ("soft404", "home_redirect"):  # each such site lost one page
            on_them = [url for url in base if on_hosts(url, specials[kind])]
            soft = [url for url in on_them if sources[url]["verdict"] == "soft-dead"]
            assert len(soft) == len(specials[kind]), (kind, soft)
        slow = [url for url in base if on_hosts(url, specials["slow"])]
        assert slow and all(statuses[url] == "ok" for url in slow), "slow hosts answer in time"
        assert first.wayback_by_family.get("cdx", 0) > 0
        assert first.wayback_by_family.get("spn_submit", 0) > 0, "captures are requested"

        # Night 2, incremental (the night that hung): a few URLs due, archiving goes on.
        second = nights.second_night()
        statuses = completed(nights, second, record_property)
        assert statuses[tracked["new_alive"]] == "ok"
        assert statuses[tracked["new_dead"]] == "suspect"
        assert statuses[tracked["always_dead"]] == "suspect"
        assert statuses[tracked["dies"]] == "ok"  # checked OK yesterday: not due for 7 days
        assert second.web_targets[tracked["dies"]] == 0
        assert second.web_targets[tracked["always_dead"]] > 0  # failing: rechecked nightly
        assert second.web_requests < first.web_requests / 10
        assert second.wayback_requests > 0

        # Night 3, incremental: a dead page came back.
        third = nights.third_night()
        statuses = completed(nights, third, record_property)
        assert statuses[tracked["recovers"]] == "ok"
        assert statuses[tracked["always_dead"]] == "suspect"  # 3 failures, over 2 days only

        # Night 4: a batch of events arrives and a known-good host goes down; SIGKILL
        # mid-check; the restart resumes it (and no outage is seen in a host gone down).
        killed, after_kill, restart = nights.killed_night()
        finished(killed, record_property)
        assert killed.code == -9, killed.diagnosis()
        assert not killed.process.survivors, "a process of the killed run lives on"
        assert after_kill == 0, f"{after_kill} requests reached the web after the SIGKILL"
        statuses = completed(nights, restart, record_property)
        run = nights.summary()["run"]
        assert run["resumed"] is True, restart.diagnosis()
        assert run["resumed_with"] > 0, "the killed run's observations were kept"
        assert run["checked"] == run["due"] - run["resumed_with"]
        assert [state for _, state, _ in nights.runs()] == ["complete"] * 4
        assert statuses[tracked["always_dead"]] == "broken"  # failed 4 times over 3 days
        assert statuses[tracked["refused"]] == "broken"
        broken_links = nights.broken_links()
        assert f"(<{tracked['always_dead']}>)" in broken_links
        assert f"(<{tracked['refused']}>)" in broken_links
        assert statuses[tracked["on_host_gone"]] == "suspect"  # a site down, not an outage
        assert statuses[tracked["recovers"]] == "ok"
        assert statuses[tracked["new_dead"]] == "suspect"
        assert not list((nights.root / "reports").rglob(".*.tmp")), "half-written reports"
        new = nights.batch_urls[0]
        assert sum(1 for url in new if statuses.get(url) == "ok") >= 0.9 * len(new)

        # Night 5: another batch; SIGTERM once capture jobs are being polled.
        stopped = finished(nights.stopped_night(), record_property)
        assert stopped.code == ExitCode.COULD_NOT_CHECK, stopped.diagnosis()
        assert stopped.process.stop_to_exit is not None
        assert stopped.process.stop_to_exit <= STOP_BOUND, stopped.diagnosis()
        assert stopped.web_after_signal == 0, stopped.diagnosis()
        assert stopped.wayback_after_signal == 0, stopped.diagnosis()
        summary = nights.summary()
        assert summary["run"]["state"] == "interrupted"
        assert summary["generated_at"] == stopped.now  # tonight's reports were written
        events = nights.root / "reports" / "events"
        assert len(list(events.glob("*.json"))) == summary["events"]
        assert nights.runs()[-1][1] == "interrupted"
        assert "the next start resumes it" in stopped.process.stderr
        assert nights.statuses()[tracked["always_dead"]] == "broken"


def test_schedule_stops_cleanly_on_sigterm(tmp_path: Path, record_property: Record) -> None:
    """``verifier schedule``: its cron fires, SIGTERM mid-run: exit 0, the run recorded
    interrupted, its reports written, no traceback."""
    with Nights(tmp_path, NightsOptions(stride=4), schedule=True) as nights:
        night = finished(nights.scheduled_stop(), record_property)
        assert night.code == ExitCode.PASSED, night.diagnosis()
        assert night.process.stop_to_exit is not None
        assert night.process.stop_to_exit <= STOP_BOUND, night.diagnosis()
        assert "CancelledError" not in night.process.stderr, night.diagnosis()
        assert night.web_after_signal == 0, night.diagnosis()
        assert night.wayback_after_signal == 0, night.diagnosis()
        assert [state for _, state, _ in nights.runs()] == ["interrupted"], night.diagnosis()
        summary = nights.summary()
        assert summary["run"]["state"] == "interrupted"
        assert 0 < summary["run"]["checked"] < summary["run"]["due"]  # stopped mid-run
        reports = nights.root / "reports"
        assert (reports / "broken-links.md").is_file()
        assert (reports / "index.html").is_file()
        assert len(list((reports / "events").glob("*.json"))) == summary["events"]
