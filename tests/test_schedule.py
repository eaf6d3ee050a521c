"""The scheduler: triggers without waiting, and a real daemon process end to end."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.loopweb import LoopWeb
from tests.test_run_resume import make_site, observations
from verifier.commands.schedule import build_trigger, cron_weekdays, make_scheduler, missed_a_run
from verifier.config import ScheduleSettings
from verifier.errors import ConfigError

THURSDAY = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_cron_sunday_zero_fires_on_sunday_not_monday() -> None:
    trigger = build_trigger(ScheduleSettings(minute="0", hour="3", day_of_week="0"))
    fire = trigger.get_next_fire_time(None, THURSDAY)
    assert fire.strftime("%A %H:%M") == "Sunday 03:00"
    seven = build_trigger(ScheduleSettings(day_of_week="7")).get_next_fire_time(None, THURSDAY)
    assert seven.strftime("%A") == "Sunday"


def test_weekday_ranges_and_names_translate() -> None:
    assert cron_weekdays("1-5") == "mon-fri"
    assert cron_weekdays("mon,wed") == "mon,wed"
    assert cron_weekdays("*/2") == "*/2"
    with pytest.raises(ConfigError):
        cron_weekdays("8")


def test_time_zone_is_respected() -> None:
    trigger = build_trigger(ScheduleSettings(hour="3", timezone="America/Toronto"))
    fire = trigger.get_next_fire_time(None, THURSDAY)
    assert fire.astimezone(dt.UTC).hour == 8  # 03:00 EST


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        build_trigger(ScheduleSettings(timezone="Mars/Olympus"))


async def test_job_tolerates_a_busy_loop_and_never_overlaps() -> None:
    schedule = ScheduleSettings()

    async def run() -> None:
        return None

    scheduler = make_scheduler(schedule, build_trigger(schedule), run)
    job = scheduler.get_job("nightly")
    assert job.misfire_grace_time == 6 * 3600
    assert job.coalesce is True
    assert job.max_instances == 1


def test_missed_night_is_detected_from_the_last_success() -> None:
    trigger = build_trigger(ScheduleSettings(hour="3"))
    assert missed_a_run(trigger, THURSDAY - dt.timedelta(days=2), THURSDAY)
    assert not missed_a_run(trigger, THURSDAY.replace(hour=3, minute=5), THURSDAY)
    assert missed_a_run(trigger, None, THURSDAY)


def schedule_soon(root: Path, seconds_ahead: int) -> None:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_ahead)
    with (root / "config.toml").open("a") as config:
        config.write(
            f'[schedule]\nsecond = "{at.second}"\nminute = "{at.minute}"\nhour = "{at.hour}"\n'
        )


def daemon(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "verifier", "--config", "config.toml", "schedule"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "true"},
    )


def run_states(root: Path) -> list[str]:
    with sqlite3.connect(root / "history.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT state FROM runs ORDER BY id")]


def test_daemon_runs_on_schedule_stops_on_sigterm_and_resumes(tmp_path: Path) -> None:
    with LoopWeb(hosts=8, latency_ms=250).running_in_thread() as web:
        root = make_site(tmp_path, web)
        schedule_soon(root, 3)
        process = daemon(root)
        deadline = time.monotonic() + 60
        while len(observations(root)) < 10:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the scheduled run never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert time.monotonic() - started < 15
        assert run_states(root) == ["interrupted"]
        assert (root / "reports" / "summary.json").exists()  # what was known got written

        again = daemon(root)  # an interrupted run is finished at start
        deadline = time.monotonic() + 60
        while run_states(root) != ["complete"]:
            assert again.poll() is None, again.communicate()
            assert time.monotonic() < deadline, "the resumed run never finished"
            time.sleep(0.1)
        again.send_signal(signal.SIGTERM)
        out, err = again.communicate(timeout=30)
        assert again.returncode == 0, err
        assert "(resumed)" in out
    summary = json.loads((root / "reports" / "summary.json").read_text())
    assert summary["run"]["state"] == "complete"
    assert len(observations(root)) == 120
    log = [
        json.loads(line)["event"]
        for line in (root / "reports" / "verifier.log").read_text().splitlines()
    ]
    assert "catching up a missed run" in log
