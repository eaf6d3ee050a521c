"""Archive a few hundred sources against the fake Wayback Machine at the real limits, scaled.

    python -m benchmarks.archive [--sources 300] [--scale 60] [--capture-seconds 20]
                                 [--daily-left 120] [--duplicate-rows 2] [--seed 7]

Time is scaled by ``--scale``: the fake's clock runs that many times faster than the wall
clock, so its per-minute limits (CDX 30/min, Save Page Now 12 captures/min per account, 5
concurrent sessions, ``--capture-seconds`` per capture) become per-second ones. The client
runs with the shipped ``[wayback]`` defaults (``WaybackSettings()``: CDX 24/min, captures
11/min, 5 sessions, polls every 5 s), only its time settings divided by the scale.

The sources mix what the real corpus holds (seeded by ``--seed``): exact archive links,
invented ones, calendar links and partial timestamps, links to revisit records, sources
with and without a date (the event's date then counts), and live sources whose newest
capture is old (a capture is due) or which were never archived. The account starts the
day with all but ``--daily-left`` of its 30,000 captures used (fewer left than the run
would like to make).

Printed per endpoint family: requests, the client's budget and the service's limit per
(scaled) minute, the busiest 60 s window, the average rate while the family was busy as a
share of the budget and of the limit, and 429s; then the capture requests the service
refused for the daily cap (the target: none), and the archive states.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
from collections import Counter
from typing import Any

import httpx

from tests.fakes.wayback import DEFAULT_ACCOUNT, Account, FakeClock, FakeWayback, FakeWaybackConfig
from verifier.archive.archiver import Archiver, ArchiveTask, MemoryArchiveStore
from verifier.archive.wayback import WaybackClient
from verifier.archive.wayback_data import SpnAnswer
from verifier.config import WaybackSettings
from verifier.models import Verdict

START = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
DAILY_LIMIT = 30_000
"""The account's daily capture cap as /save/status/user reports it in 2026."""
KINDS = ("exact", "invented", "error", "calendar", "partial", "revisit", "old", "new")
WEIGHTS = (2, 1, 1, 1, 1, 1, 4, 4)
"""About half the sources need a capture (old or never archived): enough to keep captures
at their budget while lookups run at theirs."""
SERVICE_PER_MINUTE = {"cdx": 30, "spn_submit": 12, "spn_status": 120}


class ScaledClock(FakeClock):
    """A fake clock that runs ``scale`` times faster than the wall clock."""

    def __init__(self, scale: float) -> None:
        super().__init__(START)
        self._scale = scale
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return START + dt.timedelta(seconds=(time.monotonic() - self._origin) * self._scale)


class CountingClient(WaybackClient):
    """The real client, counting what Save Page Now answered to each capture request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submit_answers: Counter[str] = Counter()

    async def submit(self, url: str, if_not_archived_within_days: int) -> SpnAnswer:
        answer = await super().submit(url, if_not_archived_within_days)
        self.submit_answers[answer.kind] += 1
        return answer


def build(args: argparse.Namespace) -> tuple[FakeWayback, list[ArchiveTask]]:
    rng = random.Random(args.seed)
    fake = FakeWayback(
        FakeWaybackConfig(
            accounts={
                DEFAULT_ACCOUNT: Account(
                    daily_limit=DAILY_LIMIT,
                    per_minute=12,
                    concurrent=5,
                    used_today=DAILY_LIMIT - args.daily_left,
                )
            },
            capture_duration=args.capture_seconds,
            duplicate_rows=args.duplicate_rows,
        ),
        ScaledClock(args.scale),
    )
    tasks = []
    for n in range(args.sources):
        url = f"https://news{n % 40}.example.org/2024/story-{n}"
        date = f"2024-{1 + n % 12:02d}-15"
        kind = rng.choices(KINDS, weights=WEIGHTS)[0]
        if kind in ("exact", "invented", "calendar", "partial", "revisit", "error"):
            stamp = f"2024{1 + n % 12:02d}14101010"
            fake.add_capture(url, "20230101000000")
            fake.add_capture(url, stamp, revisit=kind == "revisit")
            if kind == "error":  # the link's timestamp resolves to an archived 404
                fake.add_capture(url, f"2024{1 + n % 12:02d}01101010", statuscode="404")
            claimed = {
                "exact": stamp,
                "revisit": stamp,
                "invented": f"2024{1 + n % 12:02d}01000000",
                "error": f"2024{1 + n % 12:02d}01000000",
                "calendar": f"2024{1 + n % 12:02d}14000000*",
                "partial": f"2024{1 + n % 12:02d}",
            }[kind]
            archive_url = f"https://web.archive.org/web/{claimed}/{url}"
            tasks.append(ArchiveTask(url, archive_url, date))
        elif kind == "old":  # archived long ago: a lookup, then a new capture is due
            fake.add_capture(url, "20200101000000")
            tasks.append(ArchiveTask(url, None, None if n % 2 else date, 2, date))
        else:  # never archived: a capture request
            tasks.append(ArchiveTask(url, None, date))
    return fake, tasks


def busiest_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def scaled_settings(scale: float) -> WaybackSettings:
    """The shipped defaults, time settings divided by ``scale``, pointed at the fake."""
    shipped = WaybackSettings()
    return shipped.model_copy(
        update={
            "cdx_url": "https://wayback.test/cdx/search/cdx",
            "save_url": "https://wayback.test/save",
            "status_url": "https://wayback.test/save/status",
            "rate_window": shipped.rate_window / scale,
            "cooldown_after_429": shipped.cooldown_after_429 / scale,
            "poll_interval": shipped.poll_interval / scale,
            "poll_timeout": shipped.poll_timeout / scale,
        }
    )


async def run(args: argparse.Namespace) -> None:
    fake, tasks = build(args)
    settings = scaled_settings(args.scale)
    access, secret = DEFAULT_ACCOUNT.split(":")
    client = CountingClient(
        settings,
        "verifier-benchmark",
        httpx.ASGITransport(app=fake.app),
        environ={"WAYBACK_ACCESS_KEY": access, "WAYBACK_SECRET_KEY": secret},
    )

    async def alive(_url: str) -> Verdict:
        return Verdict.ALIVE

    archiver = Archiver(settings, client, MemoryArchiveStore(), clock=fake.clock.now)
    started = time.monotonic()
    result = await archiver.run(tasks, alive)
    wall = time.monotonic() - started
    await client.aclose()

    states = Counter(info.state.value for info in result.records.values())
    minute = 60.0 / args.scale
    print(
        f"{len(tasks)} sources in {wall:.1f} s = {wall / minute:.1f} scaled minutes "
        f"(time x{args.scale:g}, captures take {args.capture_seconds:g} s): "
        + ", ".join(f"{n} {state}" for state, n in states.most_common())
    )
    budgets = {
        "cdx": settings.cdx_per_window,
        "spn_submit": settings.save_per_window,
        "spn_status": settings.status_per_window,
    }
    print(
        f"{'family':<11} {'requests':>8} {'budget':>7} {'limit':>6} {'busiest 60s':>12} "
        f"{'average/min':>12} {'of budget':>10} {'of limit':>9} {'429s':>5}"
    )
    for family, budget in budgets.items():
        records = fake.requests(family=family)
        moments = [(r.at - START).total_seconds() for r in records]
        too_many = sum(1 for r in records if r.status == 429)
        span = (max(moments) - min(moments)) if len(moments) > 1 else 0.0
        average = (len(moments) - 1) / span * 60 if span else 0.0
        limit = SERVICE_PER_MINUTE[family]
        print(
            f"{family:<11} {len(records):>8} {budget:>7} {limit:>6} "
            f"{busiest_window(moments, 60.0):>12} {average:>12.1f} "
            f"{average / budget:>10.0%} {average / limit:>9.0%} {too_many:>5}"
        )
    answers = ", ".join(f"{kind} {n}" for kind, n in client.submit_answers.most_common())
    refused = client.submit_answers["daily-cap"]
    print(f"capture requests: {answers or 'none'}; refused for the daily cap: {refused}")
    print(
        f"account: {args.daily_left} captures left at the start; "
        f"service: CDX 30/min, captures 12/min, 5 sessions"
    )
    for notice in result.notices:
        print(f"notice: {notice}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--scale", type=float, default=60.0)
    parser.add_argument("--capture-seconds", type=float, default=20.0)
    parser.add_argument("--daily-left", type=int, default=120)
    parser.add_argument("--duplicate-rows", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
