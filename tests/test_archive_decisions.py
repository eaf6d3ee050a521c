"""The archiver's pure decisions: what to do with a task, a claimed link, a Save Page Now
answer — without a network, a clock or an event loop."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from verifier.archive.capture_choice import LinkKind, LinkVerdict, ReplayAnswer, ReplayKind
from verifier.archive.decisions import (
    ArchivedRedirect,
    AskIndex,
    CapAllowance,
    CaptureOfAnotherUrl,
    ExactCapture,
    Fabricated,
    HopStep,
    IndexUnsure,
    JobOutcome,
    Liveness,
    NotChecked,
    NotIndexedYet,
    NotWayback,
    ResolvedElsewhere,
    SubmitStep,
    TaskStep,
    cap_allowance,
    capture_due,
    counts_against_cap,
    earlier_capture_due,
    first_poll_wait,
    hop_step,
    job_ended,
    job_outcome,
    link_check,
    link_finding,
    link_settled,
    lookup_fresh,
    next_step,
    resubmit_wait,
    submit_step,
    wants_nearest_good,
)
from verifier.archive.wayback_data import Capture, SpnAnswer, SpnKind, read_spn_reply
from verifier.archive.wayback_links import ArchiveName, WaybackLink, parse_archive_link
from verifier.config import WaybackSettings
from verifier.models import DEAD_VERDICTS, ArchiveInfo, ArchiveState, Verdict

URL = "https://news.example.org/2021/02/03/story"
LINK = f"https://web.archive.org/web/20210203101010/{URL}"
NOW = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
SETTINGS = WaybackSettings()  # recheck 30 days, index lag 48 h, capture if none in 365 days


def info(state: ArchiveState, days_ago: float | None = 1, **fields: object) -> ArchiveInfo:
    checked = None if days_ago is None else NOW - dt.timedelta(days=days_ago)
    return ArchiveInfo.model_validate({"state": state, "checked_at": checked, **fields})


def capture(timestamp: str = "20210203101010", status: int | None = 200) -> Capture:
    return Capture(timestamp, URL, status)


def wayback(url: str) -> WaybackLink:
    link = parse_archive_link(url)
    assert isinstance(link, WaybackLink)
    return link


def spn(kind: SpnKind, **fields: Any) -> SpnAnswer:
    return SpnAnswer(kind, **fields)


# -- a task ---------------------------------------------------------------------------------


def step(
    archive_url: str | None,
    known: ArchiveInfo | None,
    *,
    job_asked: bool = False,
    liveness: Liveness | None = None,
) -> TaskStep:
    return next_step(archive_url, known, SETTINGS, NOW, job_asked=job_asked, liveness=liveness)


def test_a_claimed_link_is_verified_unless_its_verdict_is_settled() -> None:
    assert step(LINK, None) is TaskStep.VERIFY_LINK
    assert step(LINK, info(ArchiveState.EXISTING, url=LINK)) is TaskStep.KEEP
    assert step(LINK, info(ArchiveState.IMPRECISE, url=LINK)) is TaskStep.KEEP
    other = f"https://web.archive.org/web/20200101000000/{URL}"
    assert step(LINK, info(ArchiveState.EXISTING, url=other)) is TaskStep.VERIFY_LINK
    assert step(LINK, info(ArchiveState.UNVERIFIED, url=LINK)) is TaskStep.VERIFY_LINK


def test_a_claimed_link_never_waits_for_liveness_or_a_capture_job() -> None:
    pending = info(ArchiveState.PENDING, url=LINK, job_id="spn2-1")
    assert step(LINK, pending) is TaskStep.VERIFY_LINK


def test_fabricated_is_kept_only_once_the_claim_was_older_than_the_index_lag() -> None:
    young = f"https://web.archive.org/web/20260831120000/{URL}"  # 1 day before NOW
    checked_soon = info(ArchiveState.FABRICATED, days_ago=0, url=young)
    assert not link_settled(checked_soon, SETTINGS)
    assert step(young, checked_soon) is TaskStep.VERIFY_LINK
    old = info(ArchiveState.FABRICATED, days_ago=0, url=LINK)
    assert link_settled(old, SETTINGS)
    assert step(LINK, old) is TaskStep.KEEP


def test_fabricated_without_a_claimed_second_is_settled_at_once() -> None:
    calendar = f"https://web.archive.org/web/*/{URL}"
    assert link_settled(info(ArchiveState.FABRICATED, days_ago=0, url=calendar), SETTINGS)
    assert link_settled(info(ArchiveState.FABRICATED, days_ago=0, url="not a url"), SETTINGS)
    young = f"https://web.archive.org/web/20260831120000/{URL}"
    unchecked = info(ArchiveState.FABRICATED, days_ago=None, url=young)
    assert link_settled(unchecked, SETTINGS)


def test_a_pending_job_is_asked_about_once_before_liveness() -> None:
    pending = info(ArchiveState.PENDING, job_id="spn2-1")
    assert step(None, pending) is TaskStep.CONFIRM_JOB
    assert step(None, pending, job_asked=True) is TaskStep.ASK_LIVENESS
    assert step(None, info(ArchiveState.PENDING)) is TaskStep.ASK_LIVENESS  # no job to ask


def test_without_a_verdict_liveness_is_asked_first() -> None:
    assert step(None, None) is TaskStep.ASK_LIVENESS
    assert step(None, info(ArchiveState.EXISTING)) is TaskStep.ASK_LIVENESS


@pytest.mark.parametrize("verdict", [Verdict.ALIVE, None])
def test_a_source_not_dead_is_looked_up(verdict: Verdict | None) -> None:
    assert step(None, None, liveness=Liveness(verdict)) is TaskStep.LOOK_UP


@pytest.mark.parametrize("verdict", sorted(DEAD_VERDICTS, key=str))
def test_a_dead_source_gets_its_replacement_looked_up(verdict: Verdict) -> None:
    assert step(None, None, liveness=Liveness(verdict)) is TaskStep.FIND_REPLACEMENT
    earlier = info(ArchiveState.EXISTING, days_ago=1)  # looked up while alive
    assert step(None, earlier, liveness=Liveness(verdict)) is TaskStep.FIND_REPLACEMENT
    replaced = info(ArchiveState.EXISTING, days_ago=1, suggested=True)
    assert step(None, replaced, liveness=Liveness(verdict)) is TaskStep.KEEP


def test_a_recent_lookup_is_kept_and_an_old_one_done_again() -> None:
    alive = Liveness(Verdict.ALIVE)
    for state in (ArchiveState.EXISTING, ArchiveState.SAVED, ArchiveState.MISSING):
        assert step(None, info(state, days_ago=29), liveness=alive) is TaskStep.KEEP
        assert step(None, info(state, days_ago=31), liveness=alive) is TaskStep.LOOK_UP
    assert step(None, info(ArchiveState.FAILED, days_ago=0), liveness=alive) is TaskStep.LOOK_UP
    assert step(None, info(ArchiveState.EXISTING, days_ago=None), liveness=alive) is (
        TaskStep.LOOK_UP
    )
    assert not lookup_fresh(None, SETTINGS, NOW, dead=False)


def test_a_capture_is_due_for_a_live_source_without_a_recent_one() -> None:
    old = capture("20250801000000")  # 396 days before NOW
    recent = capture("20260801000000")
    assert capture_due(Verdict.ALIVE, None, SETTINGS, NOW, may_save=True)
    assert capture_due(Verdict.ALIVE, old, SETTINGS, NOW, may_save=True)
    assert not capture_due(Verdict.ALIVE, recent, SETTINGS, NOW, may_save=True)
    assert not capture_due(Verdict.ALIVE, None, SETTINGS, NOW, may_save=False)
    for verdict in (None, Verdict.DEAD, Verdict.SOFT_DEAD):
        assert not capture_due(verdict, None, SETTINGS, NOW, may_save=True)


def test_an_earlier_capture_is_looked_for_only_when_the_newest_is_after_the_period() -> None:
    period = (
        dt.datetime(2021, 2, 3, tzinfo=dt.UTC),
        dt.datetime(2021, 2, 3, 23, 59, 59, tzinfo=dt.UTC),
    )
    assert earlier_capture_due(capture("20260801000000"), period) == "20210203235959"
    assert earlier_capture_due(capture("20210203101010"), period) is None
    assert earlier_capture_due(capture("20260801000000"), None) is None


# -- a claimed link -------------------------------------------------------------------------


def test_how_a_claimed_link_is_checked() -> None:
    assert link_check("https://archive.ph/AbCdE", URL) == NotChecked(ArchiveName.ARCHIVE_TODAY)
    assert link_check("https://news.example.org/elsewhere", URL) == NotWayback()
    other = "https://web.archive.org/web/20210203101010/https://news.example.org/other"
    assert link_check(other, URL) == CaptureOfAnotherUrl(wayback(other))
    same = (
        "https://web.archive.org/web/20210203101010/http://www.news.example.org/2021/02/03/story/"
    )
    assert link_check(same, URL) == AskIndex(wayback(same))


def test_the_nearest_good_capture_is_asked_for_only_when_missing() -> None:
    fabricated = LinkVerdict(LinkKind.FABRICATED, None, None, "")
    assert wants_nearest_good(fabricated, [capture(status=404)])
    assert not wants_nearest_good(fabricated, [])
    suggested = LinkVerdict(LinkKind.FABRICATED, None, capture(), "")
    assert not wants_nearest_good(suggested, [capture(status=404)])
    imprecise = LinkVerdict(LinkKind.IMPRECISE, capture(), None, "")
    assert not wants_nearest_good(imprecise, [capture()])


def finding(kind: LinkKind, found: Capture | None, link: str = LINK, now: dt.datetime = NOW):
    return link_finding(wayback(link), LinkVerdict(kind, found, None, "why"), SETTINGS, now)


def test_what_the_index_verdict_means_for_the_record() -> None:
    good, error, moved = capture(), capture(status=404), capture(status=301)
    assert finding(LinkKind.EXACT, good) == ExactCapture(good, None)
    assert finding(LinkKind.EXACT, capture(status=None)) == ExactCapture(capture(status=None), None)
    assert finding(LinkKind.EXACT_ERROR, error) == ExactCapture(error, "why")
    assert finding(LinkKind.EXACT, moved) == ArchivedRedirect(moved)
    assert finding(LinkKind.EXACT_ERROR, capture(status=302)) == ArchivedRedirect(
        capture(status=302)
    )
    assert finding(LinkKind.IMPRECISE, good) == ResolvedElsewhere(good)
    assert finding(LinkKind.UNKNOWN, None) == IndexUnsure()
    assert finding(LinkKind.FABRICATED, error) == Fabricated()


def test_a_missing_capture_younger_than_the_index_lag_is_not_yet_fabricated() -> None:
    claimed = dt.datetime(2021, 2, 3, 10, 10, 10, tzinfo=dt.UTC)
    soon = claimed + dt.timedelta(hours=47)
    later = claimed + dt.timedelta(hours=49)
    assert finding(LinkKind.FABRICATED, None, now=soon) == NotIndexedYet()
    assert finding(LinkKind.FABRICATED, None, now=later) == Fabricated()
    partial = f"https://web.archive.org/web/20210203/{URL}"  # names no second to wait for
    assert finding(LinkKind.FABRICATED, None, partial, now=soon) == Fabricated()


def replay(kind: ReplayKind, status: int, location: str | None = None) -> ReplayAnswer:
    return ReplayAnswer(kind, None, status, "20210203101100" if location else None, location)


def test_following_an_archived_redirect() -> None:
    there = "https://news.example.org/renamed"
    assert hop_step(replay(ReplayKind.MEMENTO, 200)) is HopStep.ARRIVED
    assert hop_step(replay(ReplayKind.MEMENTO, 404)) is HopStep.ARRIVED
    assert hop_step(replay(ReplayKind.MEMENTO, 200, there)) is HopStep.ARRIVED  # no redirect
    assert hop_step(replay(ReplayKind.MEMENTO, 301, there)) is HopStep.FOLLOW_REDIRECT
    assert hop_step(replay(ReplayKind.MEMENTO, 301)) is HopStep.ARRIVED  # leads nowhere named
    assert hop_step(replay(ReplayKind.MOVED, 302, there)) is HopStep.FOLLOW_WAYBACK
    assert hop_step(replay(ReplayKind.MOVED, 302)) is HopStep.NOT_ARCHIVED
    assert hop_step(replay(ReplayKind.NOT_ARCHIVED, 404)) is HopStep.NOT_ARCHIVED
    assert hop_step(replay(ReplayKind.RATE_LIMITED, 429, there)) is HopStep.NOT_ARCHIVED


# -- Save Page Now --------------------------------------------------------------------------


def test_the_daily_cap_allowance() -> None:
    assert cap_allowance(None) is CapAllowance.UNCOUNTED
    assert cap_allowance(1) is CapAllowance.COUNTED
    assert cap_allowance(0) is CapAllowance.CAP_REACHED
    assert cap_allowance(-1) is CapAllowance.CAP_REACHED


@pytest.mark.parametrize("kind", list(SpnKind))
def test_only_answers_that_may_have_made_a_capture_count_against_the_cap(kind: SpnKind) -> None:
    counted = kind in (SpnKind.JOB, SpnKind.RECENT, SpnKind.UNKNOWN)
    assert counts_against_cap(spn(kind)) is counted


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (SpnKind.JOB, SubmitStep.POLL),
        (SpnKind.RECENT, SubmitStep.POLL),
        (SpnKind.SESSION_LIMIT, SubmitStep.WAIT_FOR_SESSION),
        (SpnKind.TRANSIENT, SubmitStep.RESUBMIT),
        (SpnKind.SUCCESS, SubmitStep.RESUBMIT),
        (SpnKind.PENDING, SubmitStep.RESUBMIT),
        (SpnKind.DAILY_CAP, SubmitStep.STOP_DAILY_CAP),
        (SpnKind.URL_DAILY_CAP, SubmitStep.KEEP_FOUND),
        (SpnKind.RETRY, SubmitStep.PENDING),
        (SpnKind.UNKNOWN, SubmitStep.PENDING),
        (SpnKind.FAILED, SubmitStep.FAILED),
    ],
)
def test_what_a_submit_answer_means(kind: SpnKind, expected: SubmitStep) -> None:
    assert submit_step(spn(kind), may_wait=True) is expected


def test_the_session_limit_is_waited_out_only_while_waiting_is_allowed() -> None:
    assert submit_step(spn(SpnKind.SESSION_LIMIT), may_wait=False) is SubmitStep.PENDING
    for kind in SpnKind:
        if kind is not SpnKind.SESSION_LIMIT:
            assert submit_step(spn(kind), may_wait=False) is submit_step(spn(kind), may_wait=True)


def test_resubmits_wait_longer_each_time_then_give_up() -> None:
    settings = WaybackSettings(attempts=3, poll_interval=5.0)
    assert [resubmit_wait(n, settings) for n in (1, 2, 3)] == [5.0, 10.0, None]
    assert resubmit_wait(1, WaybackSettings(attempts=1)) is None


def test_the_first_poll_waits_about_as_long_as_captures_take() -> None:
    assert first_poll_wait(5.0, 0.0) == 5.0
    assert first_poll_wait(5.0, 30.0) == 27.5
    assert first_poll_wait(5.0, 6.0) == 5.0


def test_when_polling_ends_and_what_the_job_made() -> None:
    done = spn(SpnKind.SUCCESS, timestamp="20260901120000")
    assert job_ended(done) and job_outcome(done) is JobOutcome.CAPTURED
    unnamed = spn(SpnKind.SUCCESS, timestamp="")
    assert job_ended(unnamed) and job_outcome(unnamed) is JobOutcome.STILL_RUNNING
    assert job_ended(spn(SpnKind.FAILED)) and job_outcome(spn(SpnKind.FAILED)) is JobOutcome.FAILED
    transient = spn(SpnKind.TRANSIENT)
    assert job_ended(transient) and job_outcome(transient) is JobOutcome.RESUBMIT
    for kind in (SpnKind.PENDING, SpnKind.RETRY, SpnKind.JOB):
        assert not job_ended(spn(kind))
        assert job_outcome(spn(kind)) is JobOutcome.STILL_RUNNING


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"status": "success", "job_id": "j", "timestamp": "20260901120000"}, SpnKind.SUCCESS),
        ({"status": "pending", "job_id": "j"}, SpnKind.PENDING),
        ({"job_id": "j", "message": ""}, SpnKind.JOB),
        ({"job_id": "j", "message": "The same snapshot had been made 3 min ago"}, SpnKind.RECENT),
        ({"status": "error", "status_ext": "error:user-session-limit"}, SpnKind.SESSION_LIMIT),
        ({"status": "error", "status_ext": "error:proxy-error"}, SpnKind.TRANSIENT),
        ({"status": "error", "status_ext": "error:too-many-daily-captures"}, SpnKind.URL_DAILY_CAP),
        (
            {"status": "error", "message": "You cannot make more than 4,000 captures per day"},
            (SpnKind.DAILY_CAP),
        ),
        ({"status": "error", "status_ext": "error:not-found"}, SpnKind.FAILED),
        ({}, SpnKind.RETRY),
        ([], SpnKind.RETRY),
    ],
)
def test_spn_replies_are_read_as_members_of_the_closed_set(payload: object, kind: SpnKind) -> None:
    answer = read_spn_reply(payload)
    assert type(answer.kind) is SpnKind
    assert answer.kind is kind
    assert answer.kind == kind.value  # the string values are unchanged
