"""An evenly spaced start pacer: at most ``count`` starts per ``window`` seconds, never a
burst, plus a cool-down that can pause it (a 429 from a rate-limited service).

Starts keep to a schedule (the generic cell rate algorithm): each is due one interval after
the previous start's *due* time, so a start the event loop ran late does not push every later
one back. ``tolerance`` is how late a start may be and still count as on time: the next
start then comes sooner, but never less than ``interval - tolerance`` after it, and over any
stretch there are never more starts than the schedule holds. With no tolerance every start
is at least one interval after the previous one (a busy loop's delays then add up: on a host
that 393 URLs keep at its interval, ~25 ms of lag per start cost 10 s).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Pacer:
    def __init__(self, count: float, window: float, tolerance: float = 0.0) -> None:
        self.interval = window / count
        self._tolerance = min(tolerance, self.interval)
        self._next = 0.0
        self._cool_until = 0.0
        self._lock = asyncio.Lock()

    def cool_down(self, seconds: float) -> None:
        self._cool_until = max(self._cool_until, time.monotonic() + seconds)

    async def turn(self) -> None:
        now = time.monotonic()
        start = max(self._next, self._cool_until)
        if start <= now and not self._lock.locked():  # the common case: no wait, no lock
            self._schedule_after(now)
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                start = max(self._next, self._cool_until)
                if start <= now:
                    break
                await asyncio.sleep(start - now)
            self._schedule_after(now)

    async def due(self) -> None:
        """Wait until a start would be allowed, as things stand, without taking it (a
        cool-down may come meanwhile: ``take`` says whether the start is still due)."""
        wait = max(self._next, self._cool_until) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def take(self) -> bool:
        """Take the start now if it is due (the next one is then ``interval`` away)."""
        now = time.monotonic()
        if max(self._next, self._cool_until) > now or self._lock.locked():
            return False
        self._schedule_after(now)
        return True

    def _schedule_after(self, now: float) -> None:
        """A start happens at ``now``: the next is due one interval after this one's due time
        (or after ``now - tolerance``, if this one is later than the tolerance allows)."""
        self._next = max(now - self._tolerance, self._next) + self.interval


class Schedule(Protocol):
    """Where a pacer's schedule is kept when several processes share it (a database row)."""

    def book(self, key: str, interval: float) -> float:
        """Book the next start of ``key``: seconds until it; the one after is ``interval``
        later."""
        ...

    def cool_down(self, key: str, seconds: float) -> None: ...


class BookedPacer:
    """``Pacer.turn`` and ``cool_down`` on a shared ``Schedule``: this process holds at most
    one booking at a time (its own starts queue here first), so a stopped process wastes
    at most one start of the shared budget. A cool-down this process calls while a start
    is booked puts that start off too: it is booked again, after the cool-down."""

    def __init__(self, schedule: Schedule, key: str, count: float, window: float) -> None:
        self.interval = window / count
        self._schedule = schedule
        self._key = key
        self._turns = asyncio.Lock()
        self._cool_until = 0.0

    async def turn(self) -> None:
        async with self._turns:
            while True:
                wait = self._schedule.book(self._key, self.interval)
                if wait > 0:
                    await asyncio.sleep(wait)
                if time.monotonic() >= self._cool_until:
                    return

    def cool_down(self, seconds: float) -> None:
        self._cool_until = max(self._cool_until, time.monotonic() + seconds)
        self._schedule.cool_down(self._key, seconds)
