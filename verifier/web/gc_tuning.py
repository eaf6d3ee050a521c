"""The cyclic garbage collector, set for a check run's busy event loop.

A run allocates a few dozen objects per request, which die young by reference counting, and
keeps what it loaded before it started (settings, events, the history's rows) to the end.
With CPython's defaults (a young collection every 700 allocations, full collections as the
heap grows), the collector walked the same long-lived objects again and again: 0.76 s of a
21 s run on ``benchmarks.liveness`` realworld, with full collections holding the event loop
for 150–230 ms, long enough to keep a busy host's request slots past its start interval.
So, while a run lasts, what exists at its start is frozen (``gc.freeze``: never walked) and
young collections run every ``YOUNG_EVERY`` allocations; both are undone when the last run
in the process ends. Measured there: 0.12 s of collection, longest pause 28 ms.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

YOUNG_EVERY = 20_000
"""Allocations (net of deallocations) between young collections during a run."""

_lock = threading.Lock()
_runs = 0
_saved: tuple[int, int, int] = gc.get_threshold()
_froze = False


@contextlib.contextmanager
def collector_set_for_a_run() -> Iterator[None]:
    """Within: the heap as it was at the start is frozen and young collections are rarer.
    Runs may overlap (in threads, or nested): the last to end restores the collector. A
    heap someone else froze already stays theirs: it is neither frozen again nor thawed."""
    global _runs, _saved, _froze  # noqa: PLW0603 - the collector is process-wide state
    with _lock:
        if _runs == 0:
            _saved = gc.get_threshold()
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
            gc.set_threshold(max(YOUNG_EVERY, _saved[0]), _saved[1], _saved[2])
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_saved)
                if _froze:
                    gc.unfreeze()
