"""APScheduler wiring only: ``verifier schedule`` runs the nightly job on a cron schedule.

APScheduler 3.11 (4.x is still alpha), ``AsyncIOScheduler``, no job store: the scheduler is
stateless and catch-up comes from the history's last successful run. Known traps, avoided:

- ``CronTrigger.from_crontab("0 3 * * 0")`` fires on Monday in 3.x (its weekday numbers
  start at Monday); the trigger is built from fields, with cron weekday numbers translated
  to names (0 and 7 = Sunday);
- the default ``misfire_grace_time`` of 1 s silently skips a run when the loop is busy: it is
  hours here, with ``coalesce=True`` and ``max_instances=1``;
- ``shutdown(wait=True)`` cancels a running async job: the daemon stops its run itself (the
  run's stop event: no new request, reports written, the run recorded ``interrupted``) and
  waits for it, bounded by ``stop_grace_seconds``; a run cancelled past that records
  itself as interrupted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
from collections.abc import Callable, Coroutine
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from verifier.commands.runlog import event
from verifier.config import ScheduleSettings, Settings
from verifier.errors import ConfigError
from verifier.history.store import open_history

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")

RunJob = Callable[[asyncio.Event], Coroutine[Any, Any, object]]


def cron_weekdays(field: str) -> str:
    """Cron weekday numbers (0/7 = Sunday) → APScheduler names; names pass through."""

    def name(token: str) -> str:
        if token.isdigit():
            number = int(token)
            if not 0 <= number <= 7:
                raise ConfigError(f"schedule.day_of_week: {token} is not a weekday (0-7)")
            return WEEKDAYS[number]
        return token

    parts = []
    for part in field.split(","):
        body, slash, step = part.partition("/")
        bounds = body.split("-") if body not in ("*", "?") else [body]
        parts.append("-".join(name(bound) for bound in bounds) + slash + step)
    return ",".join(parts)


def build_trigger(schedule: ScheduleSettings) -> CronTrigger:
    try:
        zone = ZoneInfo(schedule.timezone)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"schedule.timezone: unknown time zone {schedule.timezone!r}") from exc
    try:
        return CronTrigger(
            second=schedule.second,
            minute=schedule.minute,
            hour=schedule.hour,
            day=schedule.day,
            month=schedule.month,
            day_of_week=cron_weekdays(schedule.day_of_week),
            timezone=zone,
        )
    except ValueError as exc:
        raise ConfigError(f"schedule: {exc}") from exc


def missed_a_run(trigger: CronTrigger, last_success: dt.datetime | None, now: dt.datetime) -> bool:
    """A scheduled time passed since the last successful run (or there never was one)."""
    if last_success is None:
        return True
    next_after_last = trigger.get_next_fire_time(None, last_success)
    return next_after_last is not None and next_after_last <= now


def make_scheduler(
    schedule: ScheduleSettings, trigger: CronTrigger, run: Callable[[], Coroutine[Any, Any, None]]
) -> AsyncIOScheduler:
    """A stateless scheduler (memory job store) with the one nightly job."""
    scheduler = AsyncIOScheduler(timezone=trigger.timezone)
    scheduler.add_job(
        run,
        trigger,
        id="nightly",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(schedule.misfire_grace_hours * 3600),
    )
    return scheduler


class Daemon:
    """Runs ``job`` on the schedule; one run at a time; stops cleanly on SIGTERM/SIGINT."""

    def __init__(self, settings: Settings, job: RunJob) -> None:
        self._settings = settings
        self._job = job
        self._trigger = build_trigger(settings.schedule)
        self._stop_run = asyncio.Event()
        self._done = asyncio.Event()
        self._current: asyncio.Task[object] | None = None
        self._catch_up: asyncio.Task[None] | None = None

    async def _run_once(self) -> None:
        if self._done.is_set() or (self._current is not None and not self._current.done()):
            return
        self._stop_run = asyncio.Event()
        self._current = asyncio.create_task(self._job(self._stop_run))
        try:
            await asyncio.shield(self._current)
        except asyncio.CancelledError:
            if not self._current.cancelled():
                raise  # this wait itself was cancelled (the scheduler is shutting down)
            event("scheduled run cancelled; the next start resumes it")
        except Exception as exc:  # a failed night must not kill the daemon
            event("scheduled run failed", error=str(exc))

    def stop(self) -> None:
        event("daemon stopping")
        self._stop_run.set()
        self._done.set()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        scheduler = make_scheduler(self._settings.schedule, self._trigger, self._run_once)
        scheduler.start()
        event("daemon started", next_run=str(scheduler.get_job("nightly").next_run_time))
        try:
            if self._catch_up_needed():
                event("catching up a missed run")
                self._catch_up = loop.create_task(self._run_once())
            await self._done.wait()
            if self._current is not None and not self._current.done():
                grace = self._settings.schedule.stop_grace_seconds
                try:
                    await asyncio.wait_for(asyncio.shield(self._current), grace)
                except TimeoutError:
                    event("run did not stop in time; cancelled", grace_seconds=grace)
                    self._current.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await self._current  # it records itself as interrupted
                except Exception as exc:
                    event("run ended with an error while stopping", error=str(exc))
        finally:
            scheduler.shutdown(wait=False)
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        event("daemon stopped")

    def _catch_up_needed(self) -> bool:
        store = open_history(self._settings)
        try:
            runs = store.runs()
            last = store.last_successful_run()
        finally:
            store.close()
        if runs and runs[-1].state in ("running", "interrupted"):
            return True  # finish the interrupted run now
        now = dt.datetime.now(dt.UTC)
        return missed_a_run(self._trigger, last.started_at if last else None, now) and bool(runs)
