"""Archive a few hundred sources against the fake Wayback Machine at the real limits, scaled.

    python -m benchmarks.archive [--sources 300] [--scale 60]

Time is scaled by ``--scale``: the fake's clock runs that many times faster than the wall
clock, so its per-minute limits (CDX 30/min, Save Page Now 12 captures/min per account, 5
concurrent sessions, 20 s per capture) become per-second ones, and the client is configured
with the same budgets per second that it uses per minute in production (CDX 24, captures 10).
The benchmark prints, per endpoint family, the allowed rate, the client's busiest window
(never above the budget) and its average rate over the busy period (not slower), and the
number of 429 answers (the target: zero).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from collections import Counter

import httpx

from tests.fakes.wayback import (
    DEFAULT_ACCOUNT,
    Account,
    FakeClock,
    FakeWayback,
    FakeWaybackConfig,
)
from verifier.archive import Archiver, ArchiveTask, MemoryArchiveStore
from verifier.config import WaybackSettings
from verifier.models import Verdict
from verifier.wayback import WaybackClient

START = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)


class ScaledClock(FakeClock):
    """A fake clock that runs ``scale`` times faster than the wall clock."""

    def __init__(self, scale: float) -> None:
        super().__init__(START)
        self._scale = scale
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return START + dt.timedelta(seconds=(time.monotonic() - self._origin) * self._scale)


def build_fake(sources: int, scale: float) -> tuple[FakeWayback, list[ArchiveTask]]:
    clock = ScaledClock(scale)
    fake = FakeWayback(
        FakeWaybackConfig(accounts={DEFAULT_ACCOUNT: Account(per_minute=12, concurrent=5)}),
        clock,
    )
    tasks = []
    for n in range(sources):
        url = f"https://news{n % 40}.example.org/2024/story-{n}"
        kind = n % 3
        if kind == 0:  # an archive link to verify; every other one is invented
            fake.add_capture(url, "20240301101010")
            stamp = "20240301101010" if n % 2 else "20240101000000"
            tasks.append(ArchiveTask(url, f"https://web.archive.org/web/{stamp}/{url}"))
        elif kind == 1:  # archived long ago: a lookup, then a new capture is due
            fake.add_capture(url, "20200101000000")
            tasks.append(ArchiveTask(url, None, "2024-03-01"))
        else:  # never archived: a capture request
            tasks.append(ArchiveTask(url, None, "2024-03-01"))
    return fake, tasks


def busiest_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run(sources: int, scale: float) -> None:
    fake, tasks = build_fake(sources, scale)
    settings = WaybackSettings(
        cdx_url="https://wayback.test/cdx/search/cdx",
        save_url="https://wayback.test/save",
        status_url="https://wayback.test/save/status",
        rate_window=60.0 / scale,
        cdx_per_window=24,
        save_per_window=10,
        status_per_window=60,
        max_sessions=5,
        workers=12,
        cooldown_after_429=60.0 / scale,
        poll_interval=5.0 / scale,
        poll_timeout=180.0 / scale,
        time_budget=600.0,
        save_if_no_capture_within_days=365,
    )
    access, secret = DEFAULT_ACCOUNT.split(":")
    client = WaybackClient(
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
    print(
        f"{len(tasks)} sources archived in {wall:.1f} s (time scaled {scale:g}x): "
        + ", ".join(f"{n} {state}" for state, n in states.most_common())
    )
    print(
        f"{'family':<12} {'requests':>8} {'budget/s':>9} {'busiest 1 s':>12} "
        f"{'average/s':>10} {'429s':>5}"
    )
    budgets = {"cdx": 24, "spn_submit": 10, "spn_status": 60}
    for family, budget in budgets.items():
        records = fake.requests(family=family)
        moments = [(r.at - START).total_seconds() / scale for r in records]
        too_many = sum(1 for r in records if r.status == 429)
        span = (max(moments) - min(moments)) if len(moments) > 1 else 0.0
        average = (len(moments) - 1) / span if span else 0.0
        print(
            f"{family:<12} {len(records):>8} {budget:>9} {busiest_window(moments, 1.0):>12} "
            f"{average:>10.1f} {too_many:>5}"
        )
    print("service limits (per scaled second): CDX 30, captures 12, 5 concurrent sessions")
    print(f"notices: {result.notices}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--scale", type=float, default=60.0)
    args = parser.parse_args()
    asyncio.run(run(args.sources, args.scale))


if __name__ == "__main__":
    main()
