"""Pure: a URL's status from its history of observations — never from one bad night.

As Wikipedia's InternetArchiveBot does, a link is ``broken`` only after ``failures`` failed
checks spread over at least ``days`` days, and any success resets the count. Observations
made during a detected network outage are never stored, so they never count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from verifier.models import FAILING_VERDICTS, Observation, Status, Verdict


def decide_status(history: Sequence[Observation], failures: int = 3, days: float = 3.0) -> Status:
    """The status from ``history`` (any order): the streak of failures since the last
    success decides between ``suspect`` and ``broken``."""
    if not history:
        return Status.UNKNOWN
    ordered = sorted(history, key=lambda observation: observation.checked_at)
    newest = ordered[-1]
    if newest.verdict is Verdict.ALIVE:
        return Status.OK
    if newest.verdict is Verdict.BLOCKED:
        return Status.BLOCKED
    streak: list[Observation] = []
    for observation in reversed(ordered):
        if observation.verdict is Verdict.ALIVE:
            break
        if observation.verdict in FAILING_VERDICTS:
            streak.append(observation)
    span = newest.checked_at - streak[-1].checked_at
    if len(streak) >= failures and span >= dt.timedelta(days=days):
        return Status.BROKEN
    return Status.SUSPECT


def failing_since(history: Sequence[Observation]) -> dt.datetime | None:
    """When the current streak of failures began, or None if the newest check succeeded."""
    since: dt.datetime | None = None
    for observation in sorted(history, key=lambda o: o.checked_at, reverse=True):
        if observation.verdict is Verdict.ALIVE:
            break
        if observation.verdict in FAILING_VERDICTS:
            since = observation.checked_at
    return since


def is_due(
    latest: Observation | None,
    status: Status,
    now: dt.datetime,
    ok_ttl: dt.timedelta,
    failing_ttl: dt.timedelta,
) -> bool:
    """Should a URL be checked tonight? New URLs always; a URL checked OK recently waits for
    its TTL; failing ones are rechecked sooner. A failure is never cached as final."""
    if latest is None:
        return True
    age = now - latest.checked_at
    if status in (Status.SUSPECT, Status.BROKEN, Status.UNKNOWN):
        return age >= failing_ttl
    return age >= ok_ttl
