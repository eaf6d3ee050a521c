"""The start pacer keeps its schedule: late starts do not lower the rate, nor raise it."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import pytest

from verifier.web import pacing
from verifier.web.pacing import BookedPacer, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(pacing.time, "monotonic", fake)
    return fake


def starts(pacer: Pacer, clock: Clock, lateness: list[float]) -> list[float]:
    """Take each start as soon as it is due plus its lateness (the loop's delay)."""
    taken: list[float] = []
    for late in lateness:
        clock.now = max(clock.now, pacer._next) + late
        assert pacer.take()
        taken.append(clock.now)
    return taken


def offsets(taken: list[float]) -> list[float]:
    return [round(t - taken[0], 6) for t in taken]


def test_a_late_start_lets_the_next_keep_the_schedule(clock: Clock) -> None:
    pacer = Pacer(1, 1.0, tolerance=0.5)
    # the schedule: one start a second, each allowed up to 0.5 s early (GCRA)
    taken = starts(pacer, clock, [0.0, 0.0, 0.3, 0.0, 0.0])
    assert offsets(taken) == [0.0, 0.5, 1.8, 2.5, 3.5]


def test_lateness_beyond_the_tolerance_moves_the_schedule(clock: Clock) -> None:
    pacer = Pacer(1, 1.0, tolerance=0.5)
    taken = starts(pacer, clock, [0.0, 0.0, 0.9, 0.0])
    assert offsets(taken) == [0.0, 0.5, 2.4, 2.9]


def test_a_start_is_refused_before_it_is_due(clock: Clock) -> None:
    pacer = Pacer(1, 1.0, tolerance=0.5)
    assert pacer.take()
    clock.now += 0.4  # sooner than an interval less the tolerance
    assert not pacer.take()
    clock.now += 0.1
    assert pacer.take()


def test_no_stretch_holds_more_starts_than_the_schedule(clock: Clock) -> None:
    rng = random.Random(5)
    pacer = Pacer(1, 0.05, tolerance=0.025)
    lateness = [rng.choice((0.0, 0.0, 0.01, 0.02, 0.04, 0.1)) for _ in range(300)]
    taken = starts(pacer, clock, lateness)
    for (i, earlier), (j, later) in itertools.combinations(enumerate(taken), 2):
        assert later - earlier >= (j - i) * 0.05 - 0.025 - 1e-9


def test_delays_within_the_tolerance_do_not_add_up(clock: Clock) -> None:
    rng = random.Random(6)
    pacer = Pacer(1, 0.05, tolerance=0.025)
    taken = starts(pacer, clock, [rng.choice((0.0, 0.01, 0.02, 0.025)) for _ in range(300)])
    assert taken[-1] - taken[0] <= 299 * 0.05 + 1e-6  # without tolerance: ~3 s more


def test_without_tolerance_every_gap_is_a_whole_interval(clock: Clock) -> None:
    pacer = Pacer(1, 1.0)
    taken = starts(pacer, clock, [0.0, 0.3, 0.0, 0.2])
    assert min(b - a for a, b in itertools.pairwise(taken)) >= 1.0 - 1e-9
    assert taken[-1] - taken[0] == pytest.approx(3.5)


class MemorySchedule:
    """A ``Schedule`` as the PostgreSQL rows keep it, in memory, on the real clock."""

    def __init__(self) -> None:
        self.next_at: dict[str, float] = {}
        self.bookings: list[float] = []

    def book(self, key: str, interval: float) -> float:
        now = time.monotonic()
        start = max(self.next_at.get(key, now), now)
        self.next_at[key] = start + interval
        self.bookings.append(now)
        return start - now

    def cool_down(self, key: str, seconds: float) -> None:
        self.next_at[key] = max(self.next_at.get(key, 0.0), time.monotonic() + seconds)


async def test_a_cool_down_puts_off_a_start_already_booked() -> None:
    """A 429 seen while this process's next start is booked: that start waits out the
    cool-down as well (it is booked again), it is not sent inside it."""
    schedule = MemorySchedule()
    pacer = BookedPacer(schedule, "anonymous/cdx", count=10, window=1.0)  # 0.1 s apart
    await pacer.turn()  # now
    booked = asyncio.create_task(pacer.turn())  # booked 0.1 s from now
    await asyncio.sleep(0.02)
    cooled_at = time.monotonic()
    pacer.cool_down(0.3)
    await booked
    assert time.monotonic() >= cooled_at + 0.3
    assert len(schedule.bookings) == 3, "the start booked before the cool-down was booked again"


async def test_booked_starts_keep_the_shared_interval() -> None:
    schedule = MemorySchedule()
    first = BookedPacer(schedule, "anonymous/cdx", count=20, window=1.0)
    second = BookedPacer(schedule, "anonymous/cdx", count=20, window=1.0)
    began = time.monotonic()
    for _ in range(3):
        await asyncio.gather(first.turn(), second.turn())
    assert time.monotonic() - began >= 5 * 0.05, "six starts of one schedule: five intervals"
