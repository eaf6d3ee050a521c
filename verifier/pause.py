"""Sleeping that a stop cuts short: a loop that polls or backs off must not outlive SIGTERM."""

from __future__ import annotations

import asyncio


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds``; True at once if ``stop`` is set meanwhile."""
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return False
    return True
