"""Politeness: a global request limiter, fair by host backlog, and a gate per host."""

from __future__ import annotations

import asyncio
import heapq
import itertools

from verifier.web.pacing import Pacer


class FairLimiter:
    """A counting limiter whose waiters are served by priority (lowest first), then FIFO.

    The checker passes ``-backlog of the host``, so the hosts with the most work left get
    free slots first: the slowest host, which bounds the run, never waits behind quick ones.
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, priority: float = 0.0) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over as we were cancelled
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


class HostGate:
    """Per-host politeness: a concurrency cap, request starts paced at one per interval,
    and a pause that a 429 imposes on the whole host.

    Starts keep the interval's schedule: one that a busy event loop ran late lets the next
    follow sooner, but never closer than half an interval (``Pacer`` tolerance), so the host
    sees the configured rate, not a rate that the checker's own delays keep lowering."""

    def __init__(self, per_host: int, min_interval: float) -> None:
        self._slots = asyncio.Semaphore(per_host)
        self._starts = Pacer(1, min_interval, tolerance=min_interval / 2)
        self.backlog = 0

    def pause(self, seconds: float) -> None:
        self._starts.cool_down(seconds)

    async def enter(self) -> None:
        """Wait for this host's next start time, then take a slot and the start together
        (``leave`` gives the slot back). A slot is never held while waiting for the start
        time: with ``per_host`` slots and a latency near ``per_host × min_interval``, that
        wait would otherwise keep the host below its interval rate."""
        while True:
            await self._starts.due()
            await self._slots.acquire()
            if self._starts.take():
                return
            self._slots.release()  # another request took this start: wait for the next

    def leave(self) -> None:
        self._slots.release()
