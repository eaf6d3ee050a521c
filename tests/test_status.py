"""Pure status decisions over a URL's history, and which URLs are due tonight."""

from __future__ import annotations

import datetime as dt

from verifier.history.status import decide_status, failing_since, is_due
from verifier.models import Observation, Status, Verdict

T0 = dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)


def seen(day: float, verdict: Verdict) -> Observation:
    return Observation(
        url="https://x.example/a", verdict=verdict, checked_at=T0 + dt.timedelta(days=day)
    )


def test_no_history_is_unknown() -> None:
    assert decide_status([]) is Status.UNKNOWN


def test_one_failure_is_only_suspect() -> None:
    assert decide_status([seen(0, Verdict.ALIVE), seen(1, Verdict.DEAD)]) is Status.SUSPECT


def test_three_failures_over_three_days_are_broken() -> None:
    history = [seen(0, Verdict.DEAD), seen(1.5, Verdict.UNREACHABLE), seen(3, Verdict.DEAD)]
    assert decide_status(history) is Status.BROKEN
    assert failing_since(history) == T0


def test_three_failures_in_one_day_are_not_broken_yet() -> None:
    history = [seen(0, Verdict.DEAD), seen(0.3, Verdict.DEAD), seen(0.6, Verdict.DEAD)]
    assert decide_status(history) is Status.SUSPECT


def test_a_success_resets_the_count() -> None:
    history = [
        seen(0, Verdict.DEAD),
        seen(1, Verdict.DEAD),
        seen(2, Verdict.ALIVE),
        seen(3, Verdict.DEAD),
        seen(4, Verdict.DEAD),
    ]
    assert decide_status(history) is Status.SUSPECT
    assert failing_since(history) == T0 + dt.timedelta(days=3)
    assert decide_status([*history, seen(5, Verdict.ALIVE)]) is Status.OK


def test_blocked_is_its_own_status_and_thresholds_are_configurable() -> None:
    assert decide_status([seen(0, Verdict.BLOCKED)]) is Status.BLOCKED
    history = [seen(0, Verdict.DEAD), seen(1, Verdict.DEAD)]
    assert decide_status(history, failures=2, days=1) is Status.BROKEN


def test_due_rules() -> None:
    week, night = dt.timedelta(days=7), dt.timedelta(hours=20)
    now = T0 + dt.timedelta(days=3)
    assert is_due(None, Status.UNKNOWN, now, week, night)
    assert not is_due(seen(0, Verdict.ALIVE), Status.OK, now, week, night)
    assert is_due(seen(0, Verdict.ALIVE), Status.OK, T0 + dt.timedelta(days=8), week, night)
    assert is_due(seen(2, Verdict.DEAD), Status.SUSPECT, now, week, night)
    assert not is_due(seen(2.9, Verdict.DEAD), Status.SUSPECT, now, week, night)
