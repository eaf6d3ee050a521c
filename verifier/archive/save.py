"""I/O: new captures through Save Page Now 2 → ``saved``, ``pending`` or ``failed``.

The account's daily cap is read first (``/save/status/user``) and never reached; a submit
that finds every capture session busy is waited out; a capture job is polled until it ends
or ``poll_timeout`` passes (then it stays ``pending``, confirmed on a later run); transient
capture errors are submitted again, after waits, within the run. What each answer means is
decided in ``archive_decisions``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any, assert_never

from verifier.archive.decisions import (
    CapAllowance,
    JobOutcome,
    SubmitStep,
    cap_allowance,
    counts_against_cap,
    first_poll_wait,
    job_ended,
    job_outcome,
    resubmit_wait,
    submit_step,
)
from verifier.archive.tasks import ArchiveRun, ArchiveTask
from verifier.archive.wayback import WaybackClient
from verifier.archive.wayback_data import SpnAnswer, SpnKind
from verifier.config import WaybackSettings
from verifier.errors import RunStopping, WaybackUnavailable
from verifier.models import ArchiveInfo, ArchiveState
from verifier.pause import stopped_within


class SavePageNow:
    """Capture requests for the archiver: one submit at a time (so the daily cap is exact),
    at most ``max_sessions`` captures under way."""

    def __init__(
        self,
        settings: WaybackSettings,
        client: WaybackClient,
        clock: Callable[[], dt.datetime],
        stop: asyncio.Event,
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self._stop = stop
        self._daily_cap_reached = False
        self._user_status_read = False
        self._captures_left: int | None = None
        self._capture_seconds: deque[float] = deque(maxlen=16)
        self._submitting = asyncio.Lock()  # one capture request at a time: the cap is exact
        self.polling: set[asyncio.Task[Any]] = set()
        """Tasks polling a capture job: on a stop they are left to record it as pending."""

    @property
    def may_save(self) -> bool:
        return self._client.can_save and not self._daily_cap_reached

    async def save(self, task: ArchiveTask, found: ArchiveInfo, run: ArchiveRun) -> ArchiveInfo:
        """Request a capture and poll its job; ``found`` stands if it cannot be made."""
        async with self._client.sessions:
            attempt = 0
            while True:
                attempt += 1
                async with self._submitting:
                    if self._stop.is_set() or not await self._may_capture(run):
                        return found
                    answer, step = await self._submit(task.url)
                    if not counts_against_cap(answer):
                        self._refund_capture()
                match step:
                    case SubmitStep.STOP_DAILY_CAP:
                        self._daily_cap_reached = True
                        run.notices.append(f"Save Page Now daily cap reached: {answer.message}")
                        return found
                    case SubmitStep.KEEP_FOUND:
                        return noted(found, f"no new capture today: {answer.message}")
                    case SubmitStep.PENDING | SubmitStep.WAIT_FOR_SESSION:
                        return self._pending(found, None, answer.message)
                    case SubmitStep.FAILED:
                        return found.model_copy(
                            update={"state": ArchiveState.FAILED, "detail": answer.message}
                        )
                    case SubmitStep.POLL:
                        answer = await self._poll(answer.job_id or "")
                        record = self._job_record(task, found, answer)
                        if record is not None:
                            return record
                    case SubmitStep.RESUBMIT:
                        pass
                    case unreachable:
                        assert_never(unreachable)
                # a transient capture error: submit again after a wait
                wait = resubmit_wait(attempt, self._settings)
                if wait is None or await self._stopped_within(wait):
                    return self._pending(found, None, f"capture not made: {answer.message}")

    def _job_record(
        self, task: ArchiveTask, found: ArchiveInfo, answer: SpnAnswer
    ) -> ArchiveInfo | None:
        """The record a capture job's last status makes; None: submit again."""
        match job_outcome(answer):
            case JobOutcome.CAPTURED:
                return captured_record(task.url, found, answer, self._settings, self._clock())
            case JobOutcome.FAILED:
                return found.model_copy(
                    update={
                        "state": ArchiveState.FAILED,
                        "job_id": answer.job_id,
                        "detail": answer.message,
                    }
                )
            case JobOutcome.STILL_RUNNING:  # confirmed on a later run
                return self._pending(
                    found, answer.job_id, "capture job still pending; confirmed later"
                )
            case JobOutcome.RESUBMIT:
                return None
            case unreachable:
                assert_never(unreachable)

    async def confirm_pending(self, task: ArchiveTask, known: ArchiveInfo) -> ArchiveInfo | None:
        """The record of a job left pending by an earlier run, if it has made its capture."""
        answer = await self._client.job_status(known.job_id or "")
        if job_outcome(answer) is not JobOutcome.CAPTURED:
            return None
        found = known.model_copy(
            update={"state": ArchiveState.EXISTING if known.url else ArchiveState.MISSING}
        )
        answer = replace(answer, job_id=known.job_id)
        return captured_record(task.url, found, answer, self._settings, self._clock())

    async def _may_capture(self, run: ArchiveRun) -> bool:
        """One more capture request fits under the account's daily cap (read once per run
        from ``/save/status/user``; the cap is never reached, so no capture is refused)."""
        if not self.may_save:
            return False
        if not self._user_status_read:
            self._user_status_read = True
            await self._read_user_status(run)
        allowance = cap_allowance(self._captures_left)
        if allowance is CapAllowance.CAP_REACHED:
            self._daily_cap_reached = True
            run.notices.append("Save Page Now: stopped before the account's daily cap")
            return False
        if allowance is CapAllowance.COUNTED and self._captures_left is not None:
            self._captures_left -= 1
        return True

    async def _read_user_status(self, run: ArchiveRun) -> None:
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

    def _refund_capture(self) -> None:
        """A capture request that made no capture does not count against the daily cap."""
        if self._captures_left is not None:
            self._captures_left += 1

    async def _submit(self, url: str) -> tuple[SpnAnswer, SubmitStep]:
        """Submit, waiting (up to ``poll_timeout``) while every capture session of the
        account is busy; the answer and what it means."""
        waited = 0.0
        while True:
            answer = await self._client.submit(url, self._settings.save_if_no_capture_within_days)
            step = submit_step(answer, may_wait=waited < self._settings.poll_timeout)
            if step is not SubmitStep.WAIT_FOR_SESSION:
                return answer, step
            wait = self._settings.poll_interval
            if await self._stopped_within(wait):
                return answer, submit_step(answer, may_wait=False)
            waited += wait

    async def _poll(self, job_id: str) -> SpnAnswer:
        """Poll a capture job until it ends or ``poll_timeout`` passes (then its last answer,
        e.g. ``pending``). The first poll waits about as long as recent captures took, then
        one every ``poll_interval``: a session is freed soon after its capture ends."""
        current = asyncio.current_task()
        if current is not None:
            self.polling.add(current)  # a stop lets this task record the job as pending
        answer = SpnAnswer(SpnKind.PENDING, job_id)
        started = time.monotonic()
        interval = self._settings.poll_interval
        wait = first_poll_wait(interval, self._typical_capture_seconds())
        while (
            time.monotonic() - started < self._settings.poll_timeout
            and not await self._stopped_within(wait)
        ):
            wait = interval
            try:
                answer = await self._client.job_status(job_id)
            except RunStopping:
                break
            if job_ended(answer):
                if answer.kind == SpnKind.SUCCESS:
                    self._capture_seconds.append(time.monotonic() - started)
                break
        return answer if answer.job_id else replace(answer, job_id=job_id)

    def _typical_capture_seconds(self) -> float:
        """The median time the last few captures took (0 before the first one ends)."""
        return statistics.median(self._capture_seconds) if self._capture_seconds else 0.0

    async def _stopped_within(self, seconds: float) -> bool:
        """Sleep ``seconds``; True at once if the run stops meanwhile."""
        return await stopped_within(self._stop, seconds)

    def _pending(self, found: ArchiveInfo, job_id: str | None, detail: str) -> ArchiveInfo:
        return pending_record(found, job_id, detail, self._clock())


def pending_record(
    found: ArchiveInfo, job_id: str | None, detail: str, now: dt.datetime
) -> ArchiveInfo:
    """``found``, marked as waiting for a capture (``job_id``: the job to confirm later)."""
    return found.model_copy(
        update={
            "state": ArchiveState.PENDING,
            "job_id": job_id,
            "detail": detail,
            "checked_at": now,
        }
    )


def captured_record(
    url: str, found: ArchiveInfo, answer: SpnAnswer, settings: WaybackSettings, now: dt.datetime
) -> ArchiveInfo:
    """A finished capture job of ``url``. The citation's capture (``found``) stays ``url``;
    the new capture is the latest. A capture of an error page (an archived 301 or 403:
    SPN2's "same snapshot" may name one) is no good capture."""
    original = answer.original_url or url
    new_url = f"{settings.replay_url.rstrip('/')}/{answer.timestamp}/{original}"
    status = answer.http_status
    if status is not None and not 200 <= status < 300:
        detail = f"Save Page Now's capture {answer.timestamp} answered HTTP {status}"
        if found.state is ArchiveState.EXISTING:
            return noted(found, detail)
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
                "checked_at": now,
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
        checked_at=now,
    )


def noted(info: ArchiveInfo, detail: str) -> ArchiveInfo:
    """``info`` unchanged but for a detail, when it has none."""
    return info if info.detail else info.model_copy(update={"detail": detail})
