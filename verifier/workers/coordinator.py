"""``verifier run --workers N``: the night's liveness checks by N local worker processes
sharing the PostgreSQL history, then the rest of the run as a single run does it.

The coordinator queues the due URLs, starts the workers (``verifier worker --once``, handed
the run's settings in a private file), replaces a worker that dies while work is left (a
bounded number of times: its leases lapse and the others, or the replacement, take them
over), and stops them all on SIGTERM or when one reports a network outage; killed, it takes
them with it (each watches its parent: ``workers.parent``). Archiving
then runs here, on the verdicts the workers stored (the Wayback Machine's budget is one
per account, not per worker), and the reports are those of a single run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from verifier.archive.archiver import ArchiveTask
from verifier.commands.runlog import event
from verifier.config import Settings
from verifier.errors import VerifierError
from verifier.history.store import History
from verifier.pause import stopped_within
from verifier.stages import RunEvidence, SourcesRun, check_sources
from verifier.web.pacing import Schedule
from verifier.workers.queue import WorkQueue

_POLL = 0.2
_GRACE = 30.0
"""Seconds a stopped worker has to finish its requests in flight before it is killed."""


@contextlib.contextmanager
def settings_file(settings: Settings) -> Iterator[Path]:
    """The settings as a file only this user can read (it may name the history's password),
    removed afterwards: what ``verifier worker --settings-file`` reads."""
    handle, name = tempfile.mkstemp(prefix="verifier-worker-", suffix=".json")
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(
                {"base_dir": str(settings.base_dir), "settings": settings.model_dump(mode="json")},
                out,
            )
        yield path
    finally:
        path.unlink(missing_ok=True)


def read_settings_file(path: Path) -> Settings:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Settings.model_validate({**data["settings"], "base_dir": Path(data["base_dir"])})


async def _start(path: Path, now: dt.datetime | None) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "verifier", "worker", "--once", "--settings-file", str(path)]
    command += ["--parent", str(os.getpid())]
    if now is not None:
        command += ["--now", now.isoformat()]
    # stdin: the worker's lifeline (``workers.parent``); the run never writes to it
    return await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )


async def _figures(process: asyncio.subprocess.Process) -> dict[str, Any]:
    """The JSON line a worker prints when it ends (empty if it died)."""
    assert process.stdout is not None
    out = await process.stdout.read()
    await process.wait()
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        figures = json.loads(lines[-1]) if lines else {}
    except ValueError:
        return {}
    return figures if isinstance(figures, dict) else {}


async def run_workers(
    settings: Settings,
    store: History,
    run_id: int,
    due: Sequence[str],
    *,
    workers: int,
    stop: asyncio.Event,
    now: dt.datetime | None = None,
    on_counts: Callable[[int, int], None] | None = None,
) -> tuple[str | None, list[dict[str, Any]]]:
    """Queue ``due`` and let ``workers`` processes check it; returns the outage a worker
    saw (if any) and each worker's figures. ``on_counts`` hears, about once a second, how
    many of ``due`` are checked and how many of those failed."""
    queue = WorkQueue(store)
    domains = queue.publish(run_id, due)
    progress = _Progress(queue, run_id, on_counts)
    event("workers started", workers=workers, domains=domains, urls=len(due))
    finished: list[dict[str, Any]] = []
    with settings_file(settings) as path:
        running = [await _start(path, now) for _ in range(workers)]
        replacements = workers
        try:
            while queue.domains_left(run_id) and queue.outage(run_id) is None:
                if stop.is_set():
                    break
                for process in [p for p in running if p.returncode is not None]:
                    running.remove(process)
                    finished.append(await _figures(process))
                    if process.returncode != 0 and replacements > 0 and queue.domains_left(run_id):
                        event("worker died, starting another", exit_code=process.returncode)
                        replacements -= 1
                        running.append(await _start(path, now))
                if not running and queue.domains_left(run_id):
                    raise VerifierError("every worker ended with work left (see their errors)")
                progress.tell()
                await stopped_within(stop, _POLL)
        finally:
            outage = queue.outage(run_id)
            if outage is not None or stop.is_set():
                for process in running:
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGTERM)
            for process in running:
                try:
                    async with asyncio.timeout(_GRACE):
                        finished.append(await _figures(process))
                except TimeoutError:
                    process.kill()
                    finished.append(await _figures(process))
    if outage is not None:
        queue.close_run(run_id)
    else:
        progress.tell(force=True)
    return outage, finished


class _Progress:
    """Counts of a run's results for ``on_counts``, from the history (the workers store
    them), less what the run held before the workers started (a resumed run's)."""

    def __init__(
        self, queue: WorkQueue, run_id: int, on_counts: Callable[[int, int], None] | None
    ) -> None:
        self._queue = queue
        self._run_id = run_id
        self._on_counts = on_counts
        self._before = queue.results(run_id) if on_counts is not None else (0, 0)
        self._told = time.monotonic()

    def tell(self, *, force: bool = False) -> None:
        if self._on_counts is None or (not force and time.monotonic() - self._told < 1.0):
            return
        self._told = time.monotonic()
        checked, failing = self._queue.results(self._run_id)
        self._on_counts(checked - self._before[0], failing - self._before[1])


async def check_with_workers(
    settings: Settings,
    store: History,
    run_id: int,
    due: Sequence[str],
    tasks: Sequence[ArchiveTask],
    *,
    workers: int,
    stop: asyncio.Event,
    clock: Callable[[], dt.datetime],
    now: dt.datetime | None,
    evidence: RunEvidence,
    wayback_transport: httpx.AsyncBaseTransport | None = None,
    wayback_schedule: Schedule | None = None,
    on_counts: Callable[[int, int], None] | None = None,
) -> SourcesRun:
    """``check_sources`` with the liveness part done by worker processes."""
    outage, figures = await run_workers(
        settings, store, run_id, due, workers=workers, stop=stop, now=now, on_counts=on_counts
    )
    wanted = set(due)  # a resumed run also holds what the run it resumes checked
    observations = {o.url: o for o in store.run_observations(run_id) if o.url in wanted}
    requests = sum(int(f.get("requests", 0)) for f in figures)
    if outage is not None:
        return SourcesRun(observations, None, outage, requests)
    verdicts = dict(evidence.verdicts)
    verdicts.update({url: o.verdict for url, o in observations.items()})
    archived = await check_sources(
        settings,
        [],
        tasks,
        wayback_transport=wayback_transport,
        archive_store=store,
        stop=stop,
        clock=clock,
        evidence=RunEvidence(verdicts=verdicts),
        wayback_schedule=wayback_schedule,
    )
    return SourcesRun(observations, archived.archive, None, requests + archived.requests_sent)
