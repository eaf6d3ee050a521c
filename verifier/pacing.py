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
