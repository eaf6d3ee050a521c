"""An evenly spaced start pacer: at most ``count`` starts per ``window`` seconds, never a
burst, plus a cool-down that can pause it (a 429 from a rate-limited service)."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    def __init__(self, count: float, window: float) -> None:
        self.interval = window / count
        self._next = 0.0
        self._cool_until = 0.0
        self._lock = asyncio.Lock()

    def cool_down(self, seconds: float) -> None:
        self._cool_until = max(self._cool_until, time.monotonic() + seconds)

    async def turn(self) -> None:
        now = time.monotonic()
        start = max(self._next, self._cool_until)
        if start <= now and not self._lock.locked():  # the common case: no wait, no lock
            self._next = max(now, self._next) + self.interval
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                start = max(self._next, self._cool_until)
                if start <= now:
                    break
                await asyncio.sleep(start - now)
            self._next = max(now, self._next) + self.interval

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
        self._next = max(now, self._next) + self.interval
        return True
