"""I/O: make sure every source is preserved, and every archive link is a real capture.

For each distinct source URL, in priority order (suspicious archive links, previously dead
and new sources, tier 1 first), within a time budget:

- with an ``archive_url``: the capture must exist at that timestamp for that URL (CDX,
  nearest capture) → ``existing`` (with its archived status) or ``fabricated`` (naming the
  nearest real capture);
- without one: the 2xx capture closest before the source's date, else the closest after
  (InternetArchiveBot's rule) → ``existing`` or ``missing``;
- a dead source gets its last good capture as the suggested replacement;
- a live source with no capture newer than the configured age is captured through Save Page
  Now 2 → ``saved``, ``pending`` (confirmed on a later run) or ``failed``.

What is learnt is kept in the archive store, so work resumes across nights.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from verifier.capture_choice import cited_period, judge_link, nearest
from verifier.config import WaybackSettings
from verifier.fold import archive_key, cited_day
from verifier.models import ArchiveInfo, ArchiveState, Verdict
from verifier.urls import shown_url
from verifier.wayback import WaybackBlocked, WaybackClient, WaybackStopped, WaybackUnavailable
from verifier.wayback_data import Capture, SpnAnswer, looks_fabricated, timestamp_of
from verifier.wayback_links import (
    OtherArchive,
    WaybackLink,
    parse_archive_link,
    same_capture_target,
)

DEAD = frozenset({Verdict.DEAD, Verdict.SOFT_DEAD})
VerdictOf = Callable[[str], Awaitable[Verdict | None]]


@dataclass(frozen=True, slots=True)
class ArchiveTask:
    """One distinct source URL to preserve; ``url`` is the normalised key. ``source_date``
    (else ``event_date``) names the cited period: the citation's capture is the good one
    closest before its end."""

    url: str
    archive_url: str | None = None
    source_date: str | None = None
    tier: int | None = None
    event_date: str | None = None

    @property
    def key(self) -> str:
        """Records are kept per URL and claimed archive link, or per URL and cited day."""
        return archive_key(self.url, self.archive_url, cited_day(self.source_date, self.event_date))

    @property
    def period(self) -> tuple[dt.datetime, dt.datetime] | None:
        return cited_period(self.source_date, self.event_date)

    def priority(self, known: ArchiveInfo | None) -> tuple[int, ...]:
        link = parse_archive_link(self.archive_url) if self.archive_url else None
        suspicious = self.archive_url is not None and (
            not isinstance(link, WaybackLink) or not link.exact or looks_fabricated(link.timestamp)
        )
        previously_bad = known is not None and (
            known.suggested
            or known.state
            in (ArchiveState.FABRICATED, ArchiveState.IMPRECISE, ArchiveState.PENDING)
        )
        return (
            0 if suspicious else 1,
            0 if previously_bad else 1,
            0 if known is None else 1,
            self.tier or 9,
        )


class ArchiveStore(Protocol):
    """What the archiver knows, by normalised URL (kept in the history database)."""

    def get(self, url: str) -> ArchiveInfo | None: ...

    def put(self, url: str, info: ArchiveInfo) -> None: ...


@dataclass(slots=True)
class MemoryArchiveStore:
    records: dict[str, ArchiveInfo] = field(default_factory=dict)

    def get(self, url: str) -> ArchiveInfo | None:
        return self.records.get(url)

    def put(self, url: str, info: ArchiveInfo) -> None:
        self.records[url] = info


@dataclass(slots=True)
class ArchiveRun:
    records: dict[str, ArchiveInfo] = field(default_factory=dict)
    remaining: int = 0
    notices: list[str] = field(default_factory=list)
    archive_down: str | None = None


ARCHIVED_HOPS = 4
"""Replays followed from an archived redirect to the page it leads to."""
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
        self._daily_cap_reached = False
        self._user_status_read = False
        self._capture_seconds: deque[float] = deque(maxlen=16)
        self._captures_left: int | None = None
        self._submitting = asyncio.Lock()  # one capture request at a time: the cap is exact
        self._saves: list[asyncio.Task[None]] = []
        self._polling: set[asyncio.Task[Any]] = set()
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
                except WaybackStopped:
                    queue.give_back(task)  # left for the next run, like the rest of the queue
                    return
                result.records[task.key] = info
                if info.state is not ArchiveState.UNVERIFIED:
                    self._store.put(task.key, info)

        self._saves = []
        workers = [asyncio.create_task(worker()) for _ in range(self._settings.workers)]
        await self._until_stopped(workers)
        await self._until_stopped(self._saves, keep=self._polling)
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
            if self._failures_in_a_row >= 5:
                run.archive_down = f"the Wayback Machine is not answering ({exc})"
            return ArchiveInfo(
                state=ArchiveState.UNVERIFIED, detail=str(exc), checked_at=self._clock()
            )

    async def _preserve(
        self, task: ArchiveTask, verdict_of: VerdictOf, run: ArchiveRun
    ) -> ArchiveInfo:
        known = self._store.get(task.key)
        if task.archive_url:
            if known is not None and known.url == task.archive_url and self._settled(known):
                return known  # captures do not come and go: verified once is enough
            return await self.verify_link(task.url, task.archive_url)
        if known is not None and known.state is ArchiveState.PENDING and known.job_id:
            confirmed = await self._confirm_pending(task, known)
            if confirmed is not None:
                return confirmed
        verdict = await verdict_of(task.url)
        if self._still_fresh(known, dead=verdict in DEAD):
            assert known is not None
            return known
        if verdict in DEAD:
            return await self._replacement(task)
        found, newest = await self.lookup(task)
        if verdict is Verdict.ALIVE and self._needs_capture(newest) and self._may_save():
            # Captures take their own time and sessions: lookups go on meanwhile.
            self._saves.append(asyncio.create_task(self._save_and_record(task, found, run)))
        return found

    def _still_fresh(self, known: ArchiveInfo | None, *, dead: bool) -> bool:
        """A lookup younger than ``recheck_days`` is kept (the archive changes slowly, and
        CDX is the scarcest budget). A dead source still gets its replacement looked up."""
        if known is None or known.checked_at is None:
            return False
        if known.state not in (ArchiveState.EXISTING, ArchiveState.SAVED, ArchiveState.MISSING):
            return False
        if dead and not known.suggested:
            return False
        age = self._clock() - known.checked_at
        return age < dt.timedelta(days=self._settings.recheck_days)

    def _may_save(self) -> bool:
        return self._client.can_save and not self._daily_cap_reached

    async def _save_and_record(
        self, task: ArchiveTask, found: ArchiveInfo, run: ArchiveRun
    ) -> None:
        try:
            info = await self.save(task, found, run)
        except WaybackStopped:
            return  # the capture was not requested: ``found`` stands
        except WaybackUnavailable as exc:
            info = self._pending(found, None, f"capture request failed: {exc}")
        run.records[task.key] = info
        self._store.put(task.key, info)

    def _settled(self, known: ArchiveInfo) -> bool:
        """A link's verdict that later runs keep: a capture found (they do not come and go),
        or "fabricated" once the claim was older than the index lag when it was checked."""
        if known.state in (ArchiveState.EXISTING, ArchiveState.IMPRECISE):
            return True
        if known.state is not ArchiveState.FABRICATED:
            return False
        link = parse_archive_link(known.url or "")
        if not isinstance(link, WaybackLink) or not link.exact or known.checked_at is None:
            return True  # no claimed second to wait for (not Wayback, partial, calendar, none)
        return known.checked_at - link.moment > self._index_lag

    @property
    def _index_lag(self) -> dt.timedelta:
        return dt.timedelta(hours=self._settings.index_lag_hours)

    async def verify_link(self, url: str, archive_url: str) -> ArchiveInfo:
        """Is ``archive_url`` a capture of ``url``, and which one does Wayback serve for it?

        Exact timestamp of a capture → ``existing`` (an error page's capture is flagged);
        a timestamp (partial, calendar or off) that Wayback resolves to a good capture of
        the same URL → ``imprecise``, with that capture; anything else → ``fabricated``,
        with the nearest good capture — unless the claim is younger than the index lag."""
        now = self._clock()
        link = parse_archive_link(archive_url)
        base = ArchiveInfo(state=ArchiveState.FABRICATED, url=archive_url, checked_at=now)
        if isinstance(link, OtherArchive):
            return base.model_copy(
                update={
                    "state": ArchiveState.UNVERIFIED,
                    "detail": f"a link to another archive ({link.archive}): not checked",
                }
            )
        if link is None:
            return base.model_copy(update={"detail": "not a Wayback capture URL"})
        base = base.model_copy(update={"timestamp": link.timestamp or None})
        if not same_capture_target(link.original, url):  # suggest a capture of the cited URL
            own = await self._client.closest(url, link.moment, good_only=True)
            suggestion = nearest(own, link.moment)
            return base.model_copy(
                update={
                    "detail": f"a capture of another URL ({shown_url(link.original)})",
                    "nearest_url": self._link_to(suggestion),
                }
            )
        rows = await self._client.closest(link.original, link.moment)
        verdict = judge_link(link, url, rows)
        if verdict.kind == "fabricated" and verdict.nearest_good is None and rows:
            verdict = replace(
                verdict,
                nearest_good=nearest(
                    await self._client.closest(link.original, link.moment, good_only=True),
                    link.moment,
                ),
            )
        capture = verdict.capture
        if verdict.kind in ("exact", "exact-error") and capture is not None:
            status, detail = capture.status, None if verdict.kind == "exact" else verdict.detail
            if status is not None and 300 <= status < 400:
                status, detail = await self._where_it_leads(capture)
            return base.model_copy(
                update={
                    "state": ArchiveState.EXISTING,
                    "captured_status": status,
                    "detail": detail,
                }
            )
        if verdict.kind == "imprecise" and capture is not None:
            return base.model_copy(
                update={
                    "state": ArchiveState.IMPRECISE,
                    "captured_status": capture.status,
                    "resolved_url": self._link_to(capture),
                    "resolved_timestamp": capture.timestamp,
                    "detail": verdict.detail,
                }
            )
        if verdict.kind == "unknown":
            return base.model_copy(
                update={"state": ArchiveState.UNVERIFIED, "detail": verdict.detail}
            )
        if link.exact and now - link.moment < self._index_lag:
            return base.model_copy(
                update={
                    "state": ArchiveState.UNVERIFIED,
                    "detail": f"not in the index yet ({verdict.detail}); the claim is younger "
                    f"than the index lag allowance, so it is checked again next run",
                }
            )
        suggestion = verdict.nearest_good
        return base.model_copy(
            update={
                "nearest_url": self._link_to(suggestion),
                "detail": verdict.detail,
            }
        )

    def _link_to(self, capture: Capture | None) -> str | None:
        """The replay link of a capture, as links are written into event files."""
        return None if capture is None else capture.replay_url(self._settings.replay_url)

    async def _where_it_leads(self, capture: Capture) -> tuple[int | None, str]:
        """An archived redirect, followed through replay as a reader's browser would (at
        most ``ARCHIVED_HOPS`` hops): the status of the capture it ends on, and the way."""
        timestamp, url, status = capture.timestamp, capture.original, capture.status
        hops: list[str] = []
        for _ in range(ARCHIVED_HOPS):
            answer = await self._client.replay(timestamp, url)
            if answer.kind == "memento":
                status = answer.status
                if not (300 <= answer.status < 400 and answer.location_url):
                    break
                hops.append(answer.location_url)
            elif answer.kind != "moved" or not answer.location_url:
                way = " → ".join(shown_url(hop) for hop in hops) or shown_url(url)
                return status, f"an archived redirect to {way}, which is not archived there"
            timestamp = answer.location_ts or timestamp
            url = answer.location_url
        way = " → ".join(shown_url(hop) for hop in hops) or shown_url(url)
        return status, f"an archived redirect to {way}; the capture there answers HTTP {status}"

    async def lookup(self, task: ArchiveTask) -> tuple[ArchiveInfo, Capture | None]:
        """The citation's capture — the good one closest before the end of the cited period
        (the source's date, else the event's), else the first after — and the newest good
        capture, which decides whether a new one is due."""
        now = self._clock()
        latest = await self._client.last_good(task.url)
        if latest is None:
            return ArchiveInfo(state=ArchiveState.MISSING, checked_at=now), None
        chosen: Capture | None = latest
        period = task.period
        if period is not None:
            end = timestamp_of(period[1])
            if latest.timestamp > end:
                chosen = await self._client.last_good(
                    task.url, before=end
                ) or await self._client.first_good_after(task.url, end)
        chosen = chosen or latest
        info = ArchiveInfo(
            state=ArchiveState.EXISTING,
            url=self._link_to(chosen),
            timestamp=chosen.timestamp,
            captured_status=chosen.status,
            checked_at=now,
        )
        if latest.timestamp != chosen.timestamp:
            info = info.model_copy(
                update={
                    "latest_url": self._link_to(latest),
                    "latest_timestamp": latest.timestamp,
                }
            )
        return info, latest

    async def _replacement(self, task: ArchiveTask) -> ArchiveInfo:
        """For a dead source: the last good capture before it died, offered as replacement."""
        capture = await self._client.last_good(task.url, before=timestamp_of(self._clock()))
        if capture is None:
            return ArchiveInfo(
                state=ArchiveState.MISSING,
                checked_at=self._clock(),
                detail="the source is dead and the Wayback Machine has no good capture",
            )
        return ArchiveInfo(
            state=ArchiveState.EXISTING,
            url=self._link_to(capture),
            timestamp=capture.timestamp,
            captured_status=capture.status,
            suggested=True,
            checked_at=self._clock(),
            detail="last good capture: the suggested replacement",
        )

    def _needs_capture(self, newest: Capture | None) -> bool:
        """No capture at all, or none newer than the configured age."""
        if newest is None:
            return True
        age = self._clock() - newest.when
        return age > dt.timedelta(days=self._settings.save_if_no_capture_within_days)

    async def save(self, task: ArchiveTask, found: ArchiveInfo, run: ArchiveRun) -> ArchiveInfo:
        """Request a capture through SPN2 and poll its job; ``found`` stands if it cannot.

        All sessions busy and transient capture errors are tried again, with waits, within
        the run; the account's daily cap is read first and never reached."""
        async with self._client.sessions:
            for attempt in range(1, self._settings.attempts + 1):
                async with self._submitting:
                    if self._stop.is_set() or not await self._may_capture(run):
                        return found
                    answer = await self._submit(task.url)
                    if answer.kind not in ("job", "recent", "unknown"):
                        self._captures_left_refund()
                if answer.kind == "daily-cap":
                    self._daily_cap_reached = True
                    run.notices.append(f"Save Page Now daily cap reached: {answer.message}")
                    return found
                if answer.kind == "url-daily-cap":
                    return _noted(found, f"no new capture today: {answer.message}")
                if answer.kind in ("retry", "unknown", "session-limit"):
                    return self._pending(found, None, answer.message)
                if answer.kind == "failed":
                    return found.model_copy(
                        update={"state": ArchiveState.FAILED, "detail": answer.message}
                    )
                if answer.kind in ("job", "recent"):
                    answer = await self._poll(answer.job_id or "")
                    if answer.kind == "success" and answer.timestamp:
                        return self._captured(task, found, answer)
                    if answer.kind == "failed":
                        return found.model_copy(
                            update={
                                "state": ArchiveState.FAILED,
                                "job_id": answer.job_id,
                                "detail": answer.message,
                            }
                        )
                    if answer.kind != "transient":  # still running: confirmed on a later run
                        return self._pending(
                            found, answer.job_id, "capture job still pending; confirmed later"
                        )
                # a transient capture error: submit again after a wait
                if attempt < self._settings.attempts and await self._stopped_within(
                    self._settings.poll_interval * attempt
                ):
                    break
            return self._pending(found, None, f"capture not made: {answer.message}")

    async def _may_capture(self, run: ArchiveRun) -> bool:
        """One more capture request fits under the account's daily cap (read once per run
        from ``/save/status/user``; the cap is never reached, so no capture is refused)."""
        if not self._client.can_save or self._daily_cap_reached:
            return False
        if not self._user_status_read:
            self._user_status_read = True
            try:
                status = await self._client.user_status()
            except WaybackUnavailable as exc:
                run.notices.append(f"Save Page Now account status unknown: {exc}")
                status = None
            self._captures_left = None if status is None else status.captures_left
            if status is not None and status.captures_left is not None:
                run.notices.append(
                    f"Save Page Now: {status.captures_left} captures left today "
                    f"({status.daily_captures} of {status.daily_limit} used)"
                )
        if self._captures_left is None:
            return True
        if self._captures_left <= 0:
            self._daily_cap_reached = True
            run.notices.append("Save Page Now: stopped before the account's daily cap")
            return False
        self._captures_left -= 1
        return True

    def _captures_left_refund(self) -> None:
        """A capture request that made no capture does not count against the daily cap."""
        if self._captures_left is not None:
            self._captures_left += 1

    async def _submit(self, url: str) -> SpnAnswer:
        """Submit, waiting while every capture session of the account is busy."""
        waited = 0.0
        while True:
            answer = await self._client.submit(url, self._settings.save_if_no_capture_within_days)
            if answer.kind != "session-limit" or waited >= self._settings.poll_timeout:
                return answer
            wait = self._settings.poll_interval
            if await self._stopped_within(wait):
                return answer
            waited += wait

    async def _poll(self, job_id: str) -> SpnAnswer:
        """Poll a capture job until it ends or ``poll_timeout`` passes (then its last answer,
        e.g. ``pending``). The first poll waits about as long as recent captures took (no
        status request is spent on a job that cannot be done yet), then one every
        ``poll_interval``: a session is freed soon after its capture ends."""
        current = asyncio.current_task()
        if current is not None:
            self._polling.add(current)  # a stop lets this task record the job as pending
        answer = SpnAnswer("pending", job_id)
        started = time.monotonic()
        interval = self._settings.poll_interval
        wait = max(interval, self._typical_capture_seconds() - interval / 2)
        while (
            time.monotonic() - started < self._settings.poll_timeout
            and not await self._stopped_within(wait)
        ):
            wait = interval
            try:
                answer = await self._client.job_status(job_id)
            except WaybackStopped:
                break
            if answer.kind in ("success", "failed", "transient"):
                if answer.kind == "success":
                    self._capture_seconds.append(time.monotonic() - started)
                break
        return answer if answer.job_id else replace(answer, job_id=job_id)

    def _typical_capture_seconds(self) -> float:
        """The median time the last few captures took (0 before the first one ends)."""
        return statistics.median(self._capture_seconds) if self._capture_seconds else 0.0

    def _captured(self, task: ArchiveTask, found: ArchiveInfo, answer: SpnAnswer) -> ArchiveInfo:
        """A finished capture job. The citation's capture (``found``) stays ``url``; the new
        capture is the latest. A capture of an error page (an archived 301 or 403: SPN2's
        "same snapshot" may name one) is no good capture."""
        original = answer.original_url or task.url
        new_url = f"{self._settings.replay_url.rstrip('/')}/{answer.timestamp}/{original}"
        status = answer.http_status
        if status is not None and not 200 <= status < 300:
            detail = f"Save Page Now's capture {answer.timestamp} answered HTTP {status}"
            if found.state is ArchiveState.EXISTING:
                return _noted(found, detail)
            return found.model_copy(
                update={"state": ArchiveState.FAILED, "job_id": answer.job_id, "detail": detail}
            )
        if found.state is ArchiveState.EXISTING and found.url and found.url != new_url:
            return found.model_copy(
                update={
                    "state": ArchiveState.SAVED,
                    "job_id": answer.job_id,
                    "latest_url": new_url,
                    "latest_timestamp": answer.timestamp,
                    "checked_at": self._clock(),
                }
            )
        return ArchiveInfo(
            state=ArchiveState.SAVED,
            timestamp=answer.timestamp,
            job_id=answer.job_id,
            url=new_url,
            captured_status=status,
            latest_url=new_url,
            latest_timestamp=answer.timestamp,
            checked_at=self._clock(),
        )

    async def _stopped_within(self, seconds: float) -> bool:
        """Sleep ``seconds``; True at once if the run stops meanwhile."""
        try:
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        except TimeoutError:
            return False
        return True

    def _pending(self, found: ArchiveInfo, job_id: str | None, detail: str) -> ArchiveInfo:
        return found.model_copy(
            update={
                "state": ArchiveState.PENDING,
                "job_id": job_id,
                "detail": detail,
                "checked_at": self._clock(),
            }
        )

    async def _confirm_pending(self, task: ArchiveTask, known: ArchiveInfo) -> ArchiveInfo | None:
        answer = await self._client.job_status(known.job_id or "")
        if answer.kind == "success" and answer.timestamp:
            found = known.model_copy(
                update={"state": ArchiveState.EXISTING if known.url else ArchiveState.MISSING}
            )
            return self._captured(task, found, replace(answer, job_id=known.job_id))
        return None


def _noted(info: ArchiveInfo, detail: str) -> ArchiveInfo:
    """``info`` unchanged but for a detail, when it has none."""
    return info if info.detail else info.model_copy(update={"detail": detail})


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a cancelled gather's outcome as seen (asyncio would log it otherwise)."""
    if not future.cancelled():
        future.exception()
