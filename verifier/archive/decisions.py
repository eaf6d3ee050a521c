"""Pure: what the archiver does next, given what is known.

Each function takes what has been learnt so far and returns a small typed decision; the
async modules (``archive``, ``archive_verify``, ``archive_lookup``, ``archive_save``) only
carry decisions out. Nothing here awaits, reads a clock or touches the network.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from verifier.archive.capture_choice import LinkKind, LinkVerdict, Period, ReplayAnswer, ReplayKind
from verifier.archive.wayback_data import Capture, SpnAnswer, SpnKind, timestamp_of
from verifier.archive.wayback_links import (
    ArchiveName,
    OtherArchive,
    WaybackLink,
    parse_archive_link,
    same_capture_target,
)
from verifier.config import WaybackSettings
from verifier.models import DEAD_VERDICTS, ArchiveInfo, ArchiveState, Verdict

# -- a task -------------------------------------------------------------------------------


class TaskStep(StrEnum):
    """The next thing to do with an archive task."""

    KEEP = "keep"
    """What the store holds stands (a settled link verdict, a recent lookup)."""
    VERIFY_LINK = "verify-link"
    """Check the claimed ``archive_url`` against the index."""
    CONFIRM_JOB = "confirm-job"
    """A capture job was pending on an earlier run: ask whether it ended."""
    ASK_LIVENESS = "ask-liveness"
    """Wait for the source's liveness verdict."""
    FIND_REPLACEMENT = "find-replacement"
    """A dead source: look up its last good capture, the suggested replacement."""
    LOOK_UP = "look-up"
    """Look up the citation's capture (and, for a live source, whether a new one is due)."""


@dataclass(frozen=True, slots=True)
class Liveness:
    """The source's liveness verdict, once asked (``verdict`` None: none could be had)."""

    verdict: Verdict | None


def next_step(
    archive_url: str | None,
    known: ArchiveInfo | None,
    settings: WaybackSettings,
    now: dt.datetime,
    *,
    job_asked: bool = False,
    liveness: Liveness | None = None,
) -> TaskStep:
    """What to do with a task (its claimed ``archive_url``) given the stored record, whether
    its pending capture job was asked about this run, and its liveness, once known."""
    if archive_url:
        if known is not None and known.url == archive_url and link_settled(known, settings):
            return TaskStep.KEEP  # captures do not come and go: verified once is enough
        return TaskStep.VERIFY_LINK
    pending_job = known is not None and known.state is ArchiveState.PENDING and known.job_id
    if pending_job and not job_asked:
        return TaskStep.CONFIRM_JOB
    if liveness is None:
        return TaskStep.ASK_LIVENESS
    dead = liveness.verdict in DEAD_VERDICTS
    if lookup_fresh(known, settings, now, dead=dead):
        return TaskStep.KEEP
    return TaskStep.FIND_REPLACEMENT if dead else TaskStep.LOOK_UP


def link_settled(known: ArchiveInfo, settings: WaybackSettings) -> bool:
    """A link's verdict that later runs keep: a capture found (they do not come and go),
    or "fabricated" once the claim was older than the index lag when it was checked."""
    if known.state in (ArchiveState.EXISTING, ArchiveState.IMPRECISE):
        return True
    if known.state is not ArchiveState.FABRICATED:
        return False
    link = parse_archive_link(known.url or "")
    if not isinstance(link, WaybackLink) or not link.exact or known.checked_at is None:
        return True  # no claimed second to wait for (not Wayback, partial, calendar, none)
    return known.checked_at - link.moment > index_lag(settings)


def lookup_fresh(
    known: ArchiveInfo | None, settings: WaybackSettings, now: dt.datetime, *, dead: bool
) -> bool:
    """A lookup younger than ``recheck_days`` is kept (the archive changes slowly, and
    CDX is the scarcest budget). A dead source still gets its replacement looked up."""
    if known is None or known.checked_at is None:
        return False
    if known.state not in (ArchiveState.EXISTING, ArchiveState.SAVED, ArchiveState.MISSING):
        return False
    if dead and not known.suggested:
        return False
    return now - known.checked_at < dt.timedelta(days=settings.recheck_days)


def capture_due(
    verdict: Verdict | None,
    newest: Capture | None,
    settings: WaybackSettings,
    now: dt.datetime,
    *,
    may_save: bool,
) -> bool:
    """A live source with no capture, or none newer than the configured age, is captured
    (when Save Page Now can be used)."""
    if verdict is not Verdict.ALIVE or not may_save:
        return False
    if newest is None:
        return True
    return now - newest.when > dt.timedelta(days=settings.save_if_no_capture_within_days)


def earlier_capture_due(latest: Capture, period: Period | None) -> str | None:
    """The end of the cited period (a timestamp) when the newest good capture is after it:
    the citation's capture is then the last one before it, else the first one after."""
    if period is None:
        return None
    end = timestamp_of(period[1])
    return end if latest.timestamp > end else None


def index_lag(settings: WaybackSettings) -> dt.timedelta:
    return dt.timedelta(hours=settings.index_lag_hours)


# -- a claimed archive link ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotChecked:
    """A link into another archive: not checked (``unverified``), never "fabricated"."""

    archive: ArchiveName


@dataclass(frozen=True, slots=True)
class NotWayback:
    """No capture URL at all: ``fabricated``."""


@dataclass(frozen=True, slots=True)
class CaptureOfAnotherUrl:
    """A capture of another URL than the cited one: ``fabricated``, with the cited URL's
    nearest good capture as the suggestion."""

    link: WaybackLink


@dataclass(frozen=True, slots=True)
class AskIndex:
    """A link to the cited URL: the index rows near its moment decide."""

    link: WaybackLink


LinkCheck = NotChecked | NotWayback | CaptureOfAnotherUrl | AskIndex


def link_check(archive_url: str, cited_url: str) -> LinkCheck:
    """How a claimed ``archive_url`` of ``cited_url`` is checked."""
    link = parse_archive_link(archive_url)
    if isinstance(link, OtherArchive):
        return NotChecked(link.archive)
    if link is None:
        return NotWayback()
    if not same_capture_target(link.original, cited_url):
        return CaptureOfAnotherUrl(link)
    return AskIndex(link)


def wants_nearest_good(verdict: LinkVerdict, rows: Sequence[Capture]) -> bool:
    """A fabricated link with rows but no good one among them: the nearest good capture is
    asked for apart, to be suggested."""
    return verdict.kind == LinkKind.FABRICATED and verdict.nearest_good is None and bool(rows)


@dataclass(frozen=True, slots=True)
class ExactCapture:
    """A capture at the claimed second: ``existing`` (``detail`` flags an error page)."""

    capture: Capture
    detail: str | None


@dataclass(frozen=True, slots=True)
class ArchivedRedirect:
    """A capture at the claimed second of a redirect: ``existing``, with the status of the
    capture the redirect leads to."""

    capture: Capture


@dataclass(frozen=True, slots=True)
class ResolvedElsewhere:
    """Wayback serves a good capture for the link, at another second: ``imprecise``."""

    capture: Capture


@dataclass(frozen=True, slots=True)
class IndexUnsure:
    """The index cannot tell: ``unverified``."""


@dataclass(frozen=True, slots=True)
class NotIndexedYet:
    """No capture, but the claim is younger than the index lag: ``unverified``, checked again
    on the next run."""


@dataclass(frozen=True, slots=True)
class Fabricated:
    """No capture that the link could stand for: ``fabricated``."""


LinkFinding = (
    ExactCapture | ArchivedRedirect | ResolvedElsewhere | IndexUnsure | NotIndexedYet | Fabricated
)


def link_finding(
    link: WaybackLink, verdict: LinkVerdict, settings: WaybackSettings, now: dt.datetime
) -> LinkFinding:
    """What the index's verdict on a link to the cited URL means for its record."""
    capture = verdict.capture
    if verdict.kind in (LinkKind.EXACT, LinkKind.EXACT_ERROR) and capture is not None:
        if capture.status is not None and 300 <= capture.status < 400:
            return ArchivedRedirect(capture)
        return ExactCapture(capture, None if verdict.kind == LinkKind.EXACT else verdict.detail)
    if verdict.kind == LinkKind.IMPRECISE and capture is not None:
        return ResolvedElsewhere(capture)
    if verdict.kind == LinkKind.UNKNOWN:
        return IndexUnsure()
    if link.exact and now - link.moment < index_lag(settings):
        return NotIndexedYet()
    return Fabricated()


class HopStep(StrEnum):
    """Following an archived redirect through replay, one answer at a time."""

    ARRIVED = "arrived"
    """A capture that redirects nowhere (further): its status is the answer."""
    FOLLOW_REDIRECT = "follow-redirect"
    """An archived redirect: replay the capture of where it leads."""
    FOLLOW_WAYBACK = "follow-wayback"
    """No capture at that second: follow Wayback to the nearest one."""
    NOT_ARCHIVED = "not-archived"
    """Where the redirect leads is not archived."""


def hop_step(answer: ReplayAnswer) -> HopStep:
    if answer.kind == ReplayKind.MEMENTO:
        if 300 <= answer.status < 400 and answer.location_url:
            return HopStep.FOLLOW_REDIRECT
        return HopStep.ARRIVED
    if answer.kind == ReplayKind.MOVED and answer.location_url:
        return HopStep.FOLLOW_WAYBACK
    return HopStep.NOT_ARCHIVED


# -- Save Page Now ------------------------------------------------------------------------


class CapAllowance(StrEnum):
    """Whether one more capture request fits under the account's daily cap."""

    UNCOUNTED = "uncounted"
    """The account's captures left are not known: go ahead."""
    COUNTED = "counted"
    """It fits: one capture fewer is left."""
    CAP_REACHED = "cap-reached"
    """None left: stop capturing before the cap refuses one."""


def cap_allowance(captures_left: int | None) -> CapAllowance:
    if captures_left is None:
        return CapAllowance.UNCOUNTED
    return CapAllowance.CAP_REACHED if captures_left <= 0 else CapAllowance.COUNTED


def counts_against_cap(answer: SpnAnswer) -> bool:
    """A submit answer that may have made a capture (a job, or no answer at all); any other
    made none, and does not count against the daily cap."""
    return answer.kind in (SpnKind.JOB, SpnKind.RECENT, SpnKind.UNKNOWN)


class SubmitStep(StrEnum):
    """What a Save Page Now submit answer means for the capture."""

    POLL = "poll"
    """A capture job: poll it."""
    WAIT_FOR_SESSION = "wait-for-session"
    """Every capture session is busy: submit again after a wait."""
    RESUBMIT = "resubmit"
    """A passing failure: submit again after a wait, if attempts are left."""
    STOP_DAILY_CAP = "stop-daily-cap"
    """The account's daily cap: no more captures this run; what was found stands."""
    KEEP_FOUND = "keep-found"
    """The URL's own daily cap: what the archive holds stands."""
    PENDING = "pending"
    """No capture this run: tried again on a later run."""
    FAILED = "failed"
    """The URL cannot be captured now."""


def submit_step(answer: SpnAnswer, *, may_wait: bool) -> SubmitStep:
    """``may_wait``: the session-limit waits have not yet taken ``poll_timeout`` (and the
    run is not stopping)."""
    match answer.kind:
        case SpnKind.SESSION_LIMIT if may_wait:
            return SubmitStep.WAIT_FOR_SESSION
        case SpnKind.DAILY_CAP:
            return SubmitStep.STOP_DAILY_CAP
        case SpnKind.URL_DAILY_CAP:
            return SubmitStep.KEEP_FOUND
        case SpnKind.RETRY | SpnKind.UNKNOWN | SpnKind.SESSION_LIMIT:
            return SubmitStep.PENDING
        case SpnKind.FAILED:
            return SubmitStep.FAILED
        case SpnKind.JOB | SpnKind.RECENT:
            return SubmitStep.POLL
        case _:  # transient (or a job's own answer where a submit's was due)
            return SubmitStep.RESUBMIT


def resubmit_wait(attempt: int, settings: WaybackSettings) -> float | None:
    """The wait before submitting again after attempt number ``attempt`` (from 1) failed
    for a passing reason; None once the attempts are spent: give up for this run."""
    return settings.poll_interval * attempt if attempt < settings.attempts else None


def first_poll_wait(poll_interval: float, typical_capture_seconds: float) -> float:
    """The first poll waits about as long as recent captures took (no status request is
    spent on a job that cannot be done yet), at least one ``poll_interval``."""
    return max(poll_interval, typical_capture_seconds - poll_interval / 2)


def job_ended(answer: SpnAnswer) -> bool:
    """A capture job's status that ends the polling."""
    return answer.kind in (SpnKind.SUCCESS, SpnKind.FAILED, SpnKind.TRANSIENT)


class JobOutcome(StrEnum):
    """What a capture job's last status means for the capture."""

    CAPTURED = "captured"
    FAILED = "failed"
    RESUBMIT = "resubmit"
    """The capture failed for a passing reason: submit again."""
    STILL_RUNNING = "still-running"
    """Not done (or done without naming its capture): pending, confirmed on a later run."""


def job_outcome(answer: SpnAnswer) -> JobOutcome:
    if answer.kind == SpnKind.SUCCESS and answer.timestamp:
        return JobOutcome.CAPTURED
    if answer.kind == SpnKind.FAILED:
        return JobOutcome.FAILED
    if answer.kind == SpnKind.TRANSIENT:
        return JobOutcome.RESUBMIT
    return JobOutcome.STILL_RUNNING
