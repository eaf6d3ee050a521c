"""The retry policy: what is tried again, how long to wait, when to give up — the pure
decisions, and the tenacity loops built from them run against scripted attempts."""

from __future__ import annotations

import datetime as dt
import gc
import random
import weakref

import httpx
import pytest
from tenacity import AsyncRetrying, RetryCallState

from verifier.config import RetrySettings
from verifier.errors import WaybackUnavailable
from verifier.web.answers import Failure, Outcome, Response
from verifier.web.retry import (
    Backoff,
    BudgetSpent,
    PacedWait,
    archive_cool_down,
    archive_retrying,
    backoff_seconds,
    host_pause,
    retry_after_seconds,
    retry_wait,
    second_look_wait,
    should_retry,
    url_retrying,
)
from verifier.web.sibling_probes import Follow
from verifier.web.url_budget import UrlBudget
from verifier.web.url_check import Attempts

URL = "https://news.example/2024/05/story"
NOW = dt.datetime(2026, 11, 26, 3, 0, 0, tzinfo=dt.UTC)
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
POLICY = RetrySettings(
    attempts=3,
    backoff_base=0.5,
    backoff_max=3.0,
    jitter=0.0,
    retry_after_cap=60.0,
    host_pause_after_429=5.0,
)


def response(status: int, method: str = "GET", **headers: str) -> Response:
    return Response(method, URL, status, {k.replace("_", "-"): v for k, v in headers.items()})


def answer(status: int, detail: str = "", method: str = "GET", **headers: str) -> Outcome:
    return Outcome(URL, response(status, method, **headers), detail=detail, chain=(URL,))


def state_after(attempts_made: int, result: object, upcoming_sleep: float = 0.0) -> RetryCallState:
    """The state tenacity hands its wait and stop after ``attempts_made`` attempts."""
    state = RetryCallState(retry_object=AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempts_made
    state.set_result(result)
    state.upcoming_sleep = upcoming_sleep
    return state


class Sleeper:
    """Records the waits a loop asks for instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Script:
    """Attempts that return (or raise) the next of ``answers``, counting the calls."""

    def __init__(self, *answers: object) -> None:
        self._answers = list(answers)
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        item = self._answers.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


# -- what is retried ---------------------------------------------------------------------------


def test_should_retry_transient_only() -> None:
    assert should_retry(answer(503), RETRYABLE)
    assert should_retry(answer(429), RETRYABLE)
    assert not should_retry(answer(404), RETRYABLE)
    assert should_retry(Outcome(URL, failure=Failure.TIMEOUT), RETRYABLE)
    assert should_retry(Outcome(URL, failure=Failure.REFUSED), RETRYABLE)
    assert not should_retry(Outcome(URL, failure=Failure.POLICY), RETRYABLE)
    assert not should_retry(Outcome(URL, failure=Failure.DNS_NOT_FOUND), RETRYABLE)


# -- how long to wait --------------------------------------------------------------------------


def test_retry_after_seconds_and_http_date() -> None:
    now = dt.datetime(2026, 11, 26, 3, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds({"retry-after": "7"}, now) == 7
    later = "Thu, 26 Nov 2026 03:00:30 GMT"
    assert retry_after_seconds({"retry-after": later}, now) == 30
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


def test_backoff_doubles_per_attempt_up_to_backoff_max() -> None:
    assert [backoff_seconds(POLICY, n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert backoff_seconds(POLICY, 5, jitter=0.2) == pytest.approx(3.2)


def test_the_wait_adds_jitter_within_its_range() -> None:
    wait = Backoff(POLICY.model_copy(update={"jitter": 0.25}), random.Random(7))
    waits = [wait(state_after(2, answer(503))) for _ in range(200)]
    assert all(1.0 <= w <= 1.25 for w in waits)
    assert max(waits) - min(waits) > 0.1  # drawn, not fixed
    capped = [wait(state_after(9, answer(503))) for _ in range(200)]
    assert all(3.0 <= w <= 3.25 for w in capped)


def test_retry_after_is_honoured_up_to_its_cap_never_below_the_backoff() -> None:
    assert retry_wait(POLICY, 1, response(503, retry_after="7"), NOW) == 7
    assert retry_wait(POLICY, 1, response(503, retry_after="600"), NOW) == 60
    assert retry_wait(POLICY, 3, response(503, retry_after="0"), NOW) == 2.0
    assert retry_wait(POLICY, 1, response(503), NOW) == 0.5
    assert retry_wait(POLICY, 2, None, NOW) == 1.0  # a failure: no answer to read


def test_a_429_pauses_its_host_for_retry_after_up_to_the_cap() -> None:
    assert host_pause(POLICY, response(429, retry_after="600"), NOW) == 60
    assert host_pause(POLICY, response(429, retry_after="2"), NOW) == 2
    assert host_pause(POLICY, response(429), NOW) == 5.0  # host_pause_after_429
    assert host_pause(POLICY, response(503, retry_after="7"), NOW) is None
    assert retry_wait(POLICY, 1, response(429, retry_after="600"), NOW) == 60
    assert retry_wait(POLICY, 1, response(429), NOW) == 5.0
    assert retry_wait(POLICY, 4, response(429, retry_after="1"), NOW) == 3.0  # backoff longer


def test_the_archives_cool_down_and_paced_waits() -> None:
    assert archive_cool_down(httpx.Headers({"Retry-After": "30"}), 60.0, NOW) == 30
    assert archive_cool_down(httpx.Headers(), 60.0, NOW) == 60
    wait = PacedWait(2.0)
    assert wait(state_after(1, httpx.Response(503))) == 2.0
    assert wait(state_after(3, httpx.Response(503))) == 6.0
    assert wait(state_after(2, httpx.Response(429))) == 0.0  # the pacer's cool-down waits


# -- when to give up ---------------------------------------------------------------------------


def test_the_budget_stops_a_wait_that_would_outlast_the_deadline() -> None:
    budget = UrlBudget(10.0)
    stop = BudgetSpent(budget)
    assert not stop(state_after(1, answer(503), upcoming_sleep=60))  # not started yet
    budget.start()
    assert not stop(state_after(1, answer(503), upcoming_sleep=1.0))
    assert stop(state_after(1, answer(503), upcoming_sleep=10.5))


async def test_a_url_is_tried_at_most_attempts_times_and_the_last_outcome_stands() -> None:
    sleep = Sleeper()
    script = Script(*(answer(503, detail=f"try {n}") for n in range(1, 6)))
    outcome = await url_retrying(POLICY, UrlBudget(120.0), random.Random(0), sleep=sleep)(script)
    assert script.calls == 3
    assert sleep.waits == [0.5, 1.0]  # none after the last attempt
    assert isinstance(outcome, Outcome) and outcome.detail == "try 3"


async def test_an_answer_that_is_final_is_not_retried() -> None:
    sleep = Sleeper()
    for final in (answer(404), Outcome(URL, failure=Failure.POLICY)):
        script = Script(final)
        assert (
            await url_retrying(POLICY, UrlBudget(120.0), random.Random(0), sleep=sleep)(script)
            == final
        )
        assert script.calls == 1
    recovering = Script(Outcome(URL, failure=Failure.RESET), answer(200))
    retrying = url_retrying(POLICY, UrlBudget(120.0), random.Random(0), sleep=sleep)
    assert (await retrying(recovering)).status == 200
    assert recovering.calls == 2
    assert sleep.waits == [0.5]


async def test_no_retry_waits_past_the_urls_deadline() -> None:
    sleep = Sleeper()
    budget = UrlBudget(1.0)
    budget.start()
    slow = POLICY.model_copy(update={"backoff_base": 5.0, "backoff_max": 5.0})
    script = Script(answer(503, detail="first"), answer(200))
    outcome = await url_retrying(slow, budget, random.Random(0), sleep=sleep)(script)
    assert script.calls == 1
    assert sleep.waits == []
    assert outcome.detail == "first"


async def test_every_attempt_to_be_retried_reaches_the_after_hook() -> None:
    seen: list[int] = []

    def after(state: RetryCallState) -> None:
        seen.append(state.attempt_number)

    policy = POLICY.model_copy(update={"attempts": 2})
    retrying = url_retrying(
        policy, UrlBudget(120.0), random.Random(0), sleep=Sleeper(), after=after
    )
    await retrying(Script(answer(429), answer(429)))
    assert seen == [1, 2]  # the last 429 too: its host is paused for the URLs after it


def scripted_follow(answers: dict[str, list[int]], asked: list[str]) -> Follow:
    async def follow(url: str, method: str) -> Outcome:
        asked.append(method)
        return answer(answers[method].pop(0), method=method)

    return follow


async def test_a_refused_head_is_followed_by_get_within_the_same_attempt() -> None:
    asked: list[str] = []
    sleep = Sleeper()
    budget = UrlBudget(120.0)
    attempts = Attempts(
        scripted_follow({"HEAD": [405], "GET": [503, 200]}, asked), URL, "HEAD", budget
    )
    outcome = await url_retrying(POLICY, budget, random.Random(0), sleep=sleep)(attempts)
    assert outcome.status == 200
    assert asked == ["HEAD", "GET", "GET"]
    assert attempts.sent == 3
    assert sleep.waits == [0.5]  # one backoff: the switch to GET is no retry


async def test_a_refused_head_stands_once_the_deadline_has_passed() -> None:
    asked: list[str] = []
    budget = UrlBudget(0.0)
    budget.start()
    attempts = Attempts(scripted_follow({"HEAD": [404], "GET": [200]}, asked), URL, "HEAD", budget)
    outcome = await url_retrying(POLICY, budget, random.Random(0), sleep=Sleeper())(attempts)
    assert outcome.status == 404
    assert asked == ["HEAD"]
    assert attempts.sent == 1


# -- the archive's loop ------------------------------------------------------------------------


async def test_the_archive_retries_5xx_and_network_errors_interval_times_attempt_apart() -> None:
    sleep = Sleeper()
    script = Script(httpx.ConnectError("boom"), httpx.Response(503), httpx.Response(200))
    answered = await archive_retrying(3, 2.0, "cdx u", sleep=sleep)(script)
    assert answered.status_code == 200
    assert script.calls == 3
    assert sleep.waits == [2.0, 4.0]


@pytest.mark.parametrize(
    ("last", "problem"),
    [
        (httpx.Response(502), "HTTP 502"),
        (httpx.Response(429), "HTTP 429 Too Many Requests"),
        (httpx.ConnectError("boom"), "ConnectError: boom"),
    ],
)
async def test_the_archive_gives_up_after_its_attempts_with_the_last_problem(
    last: object, problem: str
) -> None:
    sleep = Sleeper()
    script = Script(httpx.Response(503), last)
    with pytest.raises(WaybackUnavailable) as caught:
        await archive_retrying(2, 2.0, "cdx https://x.example/", sleep=sleep)(script)
    assert str(caught.value) == f"cdx https://x.example/: {problem}"
    assert script.calls == 2
    assert sleep.waits == [2.0]


async def test_the_archives_own_429_waits_on_the_pacer_and_an_archived_429_is_an_answer() -> None:
    sleep = Sleeper()
    script = Script(httpx.Response(429), httpx.Response(200))
    assert (await archive_retrying(3, 2.0, "cdx u", sleep=sleep)(script)).status_code == 200
    assert sleep.waits == [0.0]
    archived = httpx.Response(429, headers={"Memento-Datetime": "Tue, 01 Jan 2019 00:00:00 GMT"})
    once = Script(archived)
    assert await archive_retrying(3, 2.0, "replay u", sleep=sleep)(once) is archived
    assert once.calls == 1


async def test_one_archive_attempt_without_retry_and_foreign_errors_pass_through() -> None:
    sleep = Sleeper()
    once = Script(httpx.Response(503))
    with pytest.raises(WaybackUnavailable, match="save u: HTTP 503"):
        await archive_retrying(1, 2.0, "save u", sleep=sleep)(once)
    assert once.calls == 1
    broken = Script(ValueError("not an archive answer"), httpx.Response(200))
    with pytest.raises(ValueError, match="not an archive answer"):
        await archive_retrying(3, 2.0, "cdx u", sleep=sleep)(broken)
    assert broken.calls == 1
    assert sleep.waits == []


def test_the_gate_asks_again_after_the_longest_backoff_only_when_there_is_doubt() -> None:
    policy = RetrySettings(backoff_max=7.5)
    assert second_look_wait(policy, doubtful=3, outage=False) == 7.5
    assert second_look_wait(policy, doubtful=0, outage=False) is None
    assert second_look_wait(policy, doubtful=3, outage=True) is None


# -- a finished loop leaves nothing for the cyclic collector -----------------------------------


async def test_a_finished_loop_is_freed_at_once_not_left_in_a_reference_cycle() -> None:
    """tenacity's iteration state holds the loop's bound methods; ``FreedLoop`` drops it, so
    a loop dies with its last reference. Left to the cyclic collector, a night's thousands
    of loops made full collections that paused the event loop for 0.1–0.3 s."""
    sleep = Sleeper()
    gc.collect()
    gc.disable()
    try:
        url_loop = url_retrying(POLICY, UrlBudget(120.0), random.Random(0), sleep=sleep)
        assert (await url_loop(Script(answer(503), answer(200)))).status == 200
        giving_up = archive_retrying(2, 2.0, "cdx u", sleep=sleep)
        with pytest.raises(WaybackUnavailable):
            await giving_up(Script(httpx.Response(503), httpx.Response(503)))
        loops = [weakref.ref(url_loop), weakref.ref(giving_up)]
        del url_loop, giving_up
        assert [loop() for loop in loops] == [None, None]
    finally:
        gc.enable()
