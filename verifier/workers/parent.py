"""A worker that ``verifier run --workers`` started ends with it: killed or not, a run's
processes stop together, so nothing of a killed run sends requests on (and the restarted
run's workers take the domains back at once: a stopping worker gives its leases back).

The run holds the write end of each worker's stdin and never writes to it: when the run
ends, however it ends, the kernel closes that end and the worker reads end-of-file at once.
A look at the parent process every ``CHECK_EVERY`` seconds covers a worker whose stdin is
not such a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import Iterator

from verifier.pause import stopped_within

CHECK_EVERY = 0.2
"""Seconds between looks at the parent process."""


async def stop_when_orphaned(parent: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once this process's stdin pipe reads end-of-file or process ``parent``
    is no longer its parent (it ended: the orphan was handed to another); return when
    ``stop`` is set otherwise."""
    with _stdin_lifeline(stop):
        while not await stopped_within(stop, CHECK_EVERY):
            if os.getppid() != parent:
                stop.set()
                return


@contextlib.contextmanager
def _stdin_lifeline(stop: asyncio.Event) -> Iterator[None]:
    """While open: ``stop`` is set the moment stdin, a pipe, reads end-of-file."""
    try:
        fd = sys.stdin.fileno()
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (AttributeError, OSError, ValueError):  # no stdin, or not a real file
        is_pipe = False
    if not is_pipe:
        yield
        return
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            ended = not os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            ended = True
        if ended:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)
    try:
        yield
    finally:
        loop.remove_reader(fd)
