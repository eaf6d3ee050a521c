"""A worker that ``verifier run --workers`` started ends with it: killed or not, a run's
processes stop together, so nothing of a killed run sends requests on (and the restarted
run's workers take the domains back at once: a stopping worker gives its leases back)."""

from __future__ import annotations

import asyncio
import os

from verifier.pause import stopped_within

CHECK_EVERY = 0.2
"""Seconds between looks at the parent process."""


async def stop_when_orphaned(parent: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once process ``parent`` is no longer this process's parent (it ended:
    the orphan was handed to another), or return when ``stop`` is set otherwise."""
    while not await stopped_within(stop, CHECK_EVERY):
        if os.getppid() != parent:
            stop.set()
            return
