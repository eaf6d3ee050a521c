"""``verifier worker``: one worker process of a night shared through a PostgreSQL history
(``verifier.workers``); any number may run, on one machine or many. SIGTERM or SIGINT let
requests in flight finish, give the unfinished leases back and exit. Prints its figures as
one JSON line at the end (``verifier run --workers`` reads them). Started by a run
(``parent``), it also stops when that run's process ends (``workers.parent``)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import Callable

from verifier.commands.run import stop_on_signals
from verifier.commands.runlog import event
from verifier.config import Settings
from verifier.web.liveness import utc_now
from verifier.workers.parent import stop_when_orphaned
from verifier.workers.worker import WorkerFigures, work


async def worker_job(
    settings: Settings,
    *,
    once: bool,
    clock: Callable[[], dt.datetime] = utc_now,
    parent: int | None = None,
) -> WorkerFigures:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        watch = asyncio.create_task(stop_when_orphaned(parent, stop)) if parent else None
        try:
            figures = await work(settings, once=once, stop=stop, clock=clock)
        finally:
            if watch is not None:
                watch.cancel()
    event("worker finished", **dataclasses.asdict(figures))
    return figures


def figures_line(figures: WorkerFigures) -> str:
    return json.dumps(dataclasses.asdict(figures), sort_keys=True)
