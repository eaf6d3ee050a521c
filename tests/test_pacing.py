"""The start pacer keeps its schedule: late starts do not lower the rate, nor raise it."""

from __future__ import annotations

import itertools
import random

import pytest

from verifier.web import pacing
from verifier.web.pacing import Pacer


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
