"""I/O: make sure every source is preserved, and every archive link is a real capture.

For each distinct source URL, in priority order (suspicious archive links, previously dead
and new sources, tier 1 first), within a time budget:

- with an ``archive_url``: the capture must exist at that timestamp for that URL (CDX,
  nearest capture) → ``existing`` (with its archived status) or ``fabricated`` (naming the
  nearest real capture) — ``archive_verify``;
- without one: the 2xx capture closest before the source's date, else the closest after
  (InternetArchiveBot's rule) → ``existing`` or ``missing`` — ``archive_lookup``;
- a dead source gets its last good capture as the suggested replacement;
- a live source with no capture newer than the configured age is captured through Save Page
  Now 2 → ``saved``, ``pending`` (confirmed on a later run) or ``failed`` — ``archive_save``.

What to do next with a task is decided in ``archive_decisions``; this module runs the queue
and carries the decisions out. What is learnt is kept in the archive store, so work resumes
across nights.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Sequence, Set
from typing import Any

from verifier.archive.decisions import Liveness, TaskStep, capture_due, next_step
from verifier.archive.lookup import CaptureLookup
from verifier.archive.save import SavePageNow, pending_record
from verifier.archive.tasks import (
    ArchiveRun,
    ArchiveStore,
    ArchiveTask,
    MemoryArchiveStore,
    VerdictOf,
)
from verifier.archive.verify import LinkVerifier
from verifier.archive.wayback import WaybackClient
from verifier.config import WaybackSettings
from verifier.errors import RunStopping, WaybackBlocked, WaybackUnavailable
from verifier.models import ArchiveInfo, ArchiveState

__all__ = [
    "LOOKAHEAD",
    "ArchiveQueue",
    "ArchiveRun",
    "ArchiveStore",
    "ArchiveTask",
    "Archiver",
    "MemoryArchiveStore",
    "VerdictOf",
]

FAILURES_BEFORE_DOWN = 5
"""Wayback failures in a row after which the archive is taken for down, for this run."""

LOOKAHEAD = 64
"""Tasks the archive queue passes over while their liveness verdicts are still to come."""


class ArchiveQueue:
    """Archive tasks, best first. A task that needs its source's liveness verdict (one
    without an ``archive_url``) while that verdict is still to come is passed over — at most
    ``LOOKAHEAD`` of them — so workers spend the time budget on lookups instead of waits
    (on a first night, liveness reaches most URLs late)."""

    def __init__(self, ranked: Sequence[ArchiveTask], has_verdict: Callable[[str], bool]):
        self._queue = list(reversed(ranked))  # pop() from the end takes the best
        self._waiting: deque[ArchiveTask] = deque()
        self._has_verdict = has_verdict

    def __len__(self) -> int:
        return len(self._queue) + len(self._waiting)

    def take(self) -> ArchiveTask:
        """The best task that can go ahead now; else the one passed over longest."""
        for task in self._waiting:
            if self._has_verdict(task.url):
                self._waiting.remove(task)
                return task
        while self._queue and len(self._waiting) < LOOKAHEAD:
            task = self._queue.pop()
            if task.archive_url or self._has_verdict(task.url):
                return task
            self._waiting.append(task)
        return self._waiting.popleft() if self._waiting else self._queue.pop()

    def give_back(self, task: ArchiveTask) -> None:
        self._waiting.appendleft(task)

    def left(self) -> list[ArchiveTask]:
        return [*self._waiting, *reversed(self._queue)]


class Archiver:
    """Runs archive tasks against a ``WaybackClient``, its own queue beside the liveness checks."""

    def __init__(
        self,
        settings: WaybackSettings,
        client: WaybackClient,
        store: ArchiveStore,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        stop: asyncio.Event | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._store = store
        self._clock = clock
        self._stop = stop or asyncio.Event()
        self._verifier = LinkVerifier(settings, client, clock)
        self._lookup = CaptureLookup(settings, client, clock)
        self._spn = SavePageNow(settings, client, clock, self._stop)
        self._saves: list[asyncio.Task[None]] = []
        self._failures_in_a_row = 0

    async def run(
        self,
        tasks: Sequence[ArchiveTask],
        verdict_of: VerdictOf,
        has_verdict: Callable[[str], bool] = lambda _: True,
    ) -> ArchiveRun:
        """Process ``tasks`` in priority order until done or the time budget is spent;
        ``has_verdict`` says whether ``verdict_of`` would answer a URL without waiting."""
        result = ArchiveRun()
        ranked = sorted(tasks, key=lambda task: task.priority(self._store.get(task.key)))
        queue = ArchiveQueue(ranked, has_verdict)
        deadline = time.monotonic() + self._settings.time_budget
        if not self._client.can_save:
            result.notices.append(
                f"Save Page Now skipped: set {self._settings.access_key_env} and "
                f"{self._settings.secret_key_env} to request new captures"
            )

        async def worker() -> None:
            while (
                queue
                and time.monotonic() < deadline
                and result.archive_down is None
                and not self._stop.is_set()
            ):
                task = queue.take()
                try:
                    info = await self.preserve(task, verdict_of, result)
                except RunStopping:
                    queue.give_back(task)  # left for the next run, like the rest of the queue
                    return
                result.records[task.key] = info
                if info.state is not ArchiveState.UNVERIFIED:
                    self._store.put(task.key, info)

        self._saves = []
        workers = [asyncio.create_task(worker()) for _ in range(self._settings.workers)]
        await self._until_stopped(workers)
        await self._until_stopped(self._saves, keep=self._spn.polling)
        result.remaining = len(queue)
        if queue:
            spent = "the run was stopped" if self._stop.is_set() else "the time budget was spent"
            reason = result.archive_down or spent
            result.notices.append(f"{len(queue)} sources left for the next run ({reason})")
            for task in queue.left():
                known = self._store.get(task.key)
                result.records[task.key] = known or ArchiveInfo(
                    state=ArchiveState.UNVERIFIED, detail="not reached in this run"
                )
        return result

    async def _until_stopped(
        self, tasks: Sequence[asyncio.Task[None]], keep: Set[asyncio.Task[Any]] = frozenset()
    ) -> None:
        """Wait for ``tasks``; on a stop, cancel those waiting (no new Wayback request
        starts) and let the ones in ``keep`` (polling a capture job) record it as pending."""
        if not tasks:
            return
        everything: asyncio.Future[list[Any]] = asyncio.gather(*tasks, return_exceptions=True)
        everything.add_done_callback(_retrieve)
        stopped: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
        try:
            waits: list[asyncio.Future[Any]] = [everything, stopped]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if not everything.done():
                for task in tasks:
                    if task not in keep:
                        task.cancel()
            results = await everything
        finally:
            stopped.cancel()
            everything.cancel()  # when this wait itself is cancelled, so are the tasks
        for result in results:
            if isinstance(result, Exception):
                raise result

    async def preserve(
        self, task: ArchiveTask, verdict_of: VerdictOf, run: ArchiveRun
    ) -> ArchiveInfo:
        """The archive state of one source; Wayback failures become ``unverified``."""
        try:
            info = await self._preserve(task, verdict_of, run)
            self._failures_in_a_row = 0
            return info
        except WaybackBlocked as exc:
            return ArchiveInfo(
                state=ArchiveState.UNVERIFIED, detail=str(exc), checked_at=self._clock()
            )
        except WaybackUnavailable as exc:
            self._failures_in_a_row += 1
            if self._failures_in_a_row >= FAILURES_BEFORE_DOWN:
                run.archive_down = f"the Wayback Machine is not answering ({exc})"
            return ArchiveInfo(
                state=ArchiveState.UNVERIFIED, detail=str(exc), checked_at=self._clock()
            )

    async def _preserve(
        self, task: ArchiveTask, verdict_of: VerdictOf, run: ArchiveRun
    ) -> ArchiveInfo:
        """Carry out ``next_step`` until one gives the task's record."""
        known = self._store.get(task.key)
        job_asked = False
        liveness: Liveness | None = None
        while True:
            step = next_step(
                task.archive_url,
                known,
                self._settings,
                self._clock(),
                job_asked=job_asked,
                liveness=liveness,
            )
            match step:
                case TaskStep.KEEP if known is not None:
                    return known
                case TaskStep.VERIFY_LINK if task.archive_url:
                    return await self._verifier.verify(task.url, task.archive_url)
                case TaskStep.CONFIRM_JOB if known is not None:
                    confirmed = await self._spn.confirm_pending(task, known)
                    if confirmed is not None:
                        return confirmed
                    job_asked = True
                case TaskStep.ASK_LIVENESS:
                    liveness = Liveness(await verdict_of(task.url))
                case TaskStep.FIND_REPLACEMENT:
                    return await self._lookup.replacement(task)
                case TaskStep.LOOK_UP if liveness is not None:
                    found, newest = await self._lookup.lookup(task)
                    if capture_due(
                        liveness.verdict,
                        newest,
                        self._settings,
                        self._clock(),
                        may_save=self._spn.may_save,
                    ):
                        # Captures take their own time and sessions: lookups go on meanwhile.
                        save = self._save_and_record(task, found, run)
                        self._saves.append(asyncio.create_task(save))
                    return found
                case _:
                    raise AssertionError(f"{step} cannot follow from what is known")

    async def _save_and_record(
        self, task: ArchiveTask, found: ArchiveInfo, run: ArchiveRun
    ) -> None:
        try:
            info = await self._spn.save(task, found, run)
        except RunStopping:
            return  # the capture was not requested: ``found`` stands
        except WaybackUnavailable as exc:
            info = pending_record(found, None, f"capture request failed: {exc}", self._clock())
        run.records[task.key] = info
        self._store.put(task.key, info)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a cancelled gather's outcome as seen (asyncio would log it otherwise)."""
    if not future.cancelled():
        future.exception()
