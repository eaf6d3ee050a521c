"""Pure: a URL's status from its history of observations — never from one bad night.

As Wikipedia's InternetArchiveBot does, a link is ``broken`` only after ``failures`` failed
checks spread over at least ``days`` days, and any success resets the count. Observations
made during a detected network outage are never stored, so they never count.

What decides the status is small: the newest verdict and the streak of failures since the
last success (how many, since when). ``UrlState`` holds just that, so the store keeps one
row per URL, advanced with each observation, and a night never rereads old observations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable

from verifier.models import FAILING_VERDICTS, Observation, Status, Verdict


@dataclasses.dataclass(frozen=True, slots=True)
class UrlState:
    """A URL's newest check and its current streak of failures."""

    checked_at: dt.datetime
    verdict: Verdict
    streak: int = 0
    """Failing checks since the last success (a bot wall, ``blocked``, neither counts nor
    ends the streak)."""
    streak_since: dt.datetime | None = None
    """When the first of them was made."""


def advance(state: UrlState | None, observation: Observation) -> UrlState:
    """The state after ``observation``, which is newer than everything ``state`` holds."""
    streak, since = (state.streak, state.streak_since) if state else (0, None)
    if observation.verdict is Verdict.ALIVE:
        streak, since = 0, None
    elif observation.verdict in FAILING_VERDICTS:
        streak, since = streak + 1, since or observation.checked_at
    return UrlState(observation.checked_at, observation.verdict, streak, since)


def state_of(history: Iterable[Observation]) -> UrlState | None:
    """The state after every observation of ``history`` (any order)."""
    state = None
    for observation in sorted(history, key=lambda o: o.checked_at):
        state = advance(state, observation)
    return state


def status_of(state: UrlState | None, failures: int = 3, days: float = 3.0) -> Status:
    """``broken`` after ``failures`` failing checks spanning ``days``; ``suspect`` before."""
    if state is None:
        return Status.UNKNOWN
    if state.verdict is Verdict.ALIVE:
        return Status.OK
    if state.verdict is Verdict.BLOCKED:
        return Status.BLOCKED
    assert state.streak_since is not None  # the newest check failed: a streak is running
    span = state.checked_at - state.streak_since
    if state.streak >= failures and span >= dt.timedelta(days=days):
        return Status.BROKEN
    return Status.SUSPECT


def decide_status(history: Iterable[Observation], failures: int = 3, days: float = 3.0) -> Status:
    """The status from ``history`` (any order)."""
    return status_of(state_of(history), failures, days)


def failing_since(history: Iterable[Observation]) -> dt.datetime | None:
    """When the current streak of failures began, or None if the newest check succeeded."""
    state = state_of(history)
    return state.streak_since if state else None


def is_due(
    latest: Observation | None,
    status: Status,
    now: dt.datetime,
    ok_ttl: dt.timedelta,
    failing_ttl: dt.timedelta,
    *,
    spread: float = 0.0,
) -> bool:
    """Should a URL be checked tonight? New URLs always; a URL checked OK recently waits for
    its TTL; failing ones are rechecked sooner. A failure is never cached as final.

    ``spread`` lengthens each OK wait by up to that share of ``ok_ttl``, drawn from the URL
    and the time of its check: the URLs first checked on one night come due over several
    later nights instead of all on the same one (never sooner than ``ok_ttl``)."""
    if latest is None:
        return True
    age = now - latest.checked_at
    if status in (Status.SUSPECT, Status.BROKEN, Status.UNKNOWN):
        return age >= failing_ttl
    return age >= ok_ttl * (1.0 + spread * _draw(latest))


def _draw(observation: Observation) -> float:
    """A number in [0, 1) fixed by the URL and when it was checked (the same on every host
    and every run, so planning stays repeatable)."""
    key = f"{observation.url}\n{observation.checked_at.timestamp()}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest) / 2**64
