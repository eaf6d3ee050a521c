"""Pure retry decisions, in tenacity's own terms: what is tried again, how long to wait, when
to give up. Nothing here sends a request or sleeps: the link checker (``verifier.web.url_check``)
and the Wayback client (``WaybackClient._request``) run these loops with their own sleep.

- A URL's check: transient failures and retryable statuses are tried again, ``attempts`` in
  all, after an exponential backoff with jitter; ``Retry-After`` is honoured up to
  ``retry_after_cap``, a 429 pauses its host as long, and no wait may outlast the URL's
  deadline (the last outcome then stands).
- The archive: 5xx answers, network errors and the service's own 429 are tried again,
  ``interval × attempt`` apart (after a 429 the family's pacer cools down instead); when the
  attempts are spent, ``WaybackUnavailable`` says what went wrong last.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, NoReturn, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    after_nothing,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from verifier.config import RetrySettings
from verifier.errors import WaybackUnavailable
from verifier.web.answers import Failure, Outcome, Response
from verifier.web.url_budget import UrlBudget

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], dt.datetime]
AfterHook = Callable[[RetryCallState], None]

RETRYABLE_FAILURES = frozenset(
    {
        Failure.DNS_TEMPORARY,
        Failure.REFUSED,
        Failure.CONNECT,
        Failure.TIMEOUT,
        Failure.RESET,
        Failure.PROTOCOL,
    }
)
"""Failures that may pass: a later attempt can succeed."""


def wall_clock() -> dt.datetime:
    """Now, in UTC, to the microsecond (what an HTTP-date ``Retry-After`` is measured from)."""
    return dt.datetime.now(dt.UTC)


# -- what is retried ---------------------------------------------------------------------------


def should_retry(outcome: Outcome, retry_statuses: frozenset[int]) -> bool:
    """Transient failures and retryable statuses (408, 429, 5xx…) are tried again."""
    if outcome.failure is not None:
        return outcome.failure in RETRYABLE_FAILURES
    return outcome.status in retry_statuses


def archive_rate_limited(response: httpx.Response) -> bool:
    """The archive's own 429 (an archived 429, replayed, carries ``Memento-Datetime``)."""
    return response.status_code == 429 and "memento-datetime" not in response.headers


def archive_should_retry(response: httpx.Response) -> bool:
    """The archive's own 429 and its 5xx answers are tried again; anything else is an answer."""
    return archive_rate_limited(response) or response.status_code >= 500


# -- how long to wait --------------------------------------------------------------------------


def retry_after_seconds(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (RFC 9110 §10.2.3: delay-seconds or HTTP-date)."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_seconds(policy: RetrySettings, attempts_made: int, jitter: float = 0.0) -> float:
    """Exponential backoff after ``attempts_made`` attempts: ``backoff_base × 2^(n-1)``, at
    most ``backoff_max``, plus ``jitter`` (drawn by the caller from ``[0, policy.jitter]``)."""
    exponential = policy.backoff_base * 2.0 ** (attempts_made - 1)
    return min(policy.backoff_max, exponential) + jitter


def host_pause(policy: RetrySettings, response: Response, now: dt.datetime) -> float | None:
    """How long a 429 pauses its whole host: ``Retry-After``, else ``host_pause_after_429``,
    at most ``retry_after_cap``; None for any other answer."""
    if response.status != 429:
        return None
    retry_after = retry_after_seconds(response.headers, now)
    pause = retry_after if retry_after is not None else policy.host_pause_after_429
    return min(policy.retry_after_cap, pause)


def retry_wait(
    policy: RetrySettings,
    attempts_made: int,
    response: Response | None,
    now: dt.datetime,
    jitter: float = 0.0,
) -> float:
    """The wait before the next attempt at a URL: the backoff, or longer when the server
    asks (a 429's host pause; ``Retry-After``, up to ``retry_after_cap``)."""
    backoff = backoff_seconds(policy, attempts_made, jitter)
    if response is None:
        return backoff
    pause = host_pause(policy, response, now)
    if pause is not None:
        return max(backoff, pause)
    retry_after = retry_after_seconds(response.headers, now)
    if retry_after is not None:
        return min(policy.retry_after_cap, max(backoff, retry_after))
    return backoff


def second_look_wait(policy: RetrySettings, doubtful: int, outage: bool) -> float | None:
    """The pull-request gate's one more try at sources that answered blocked, unreachable or
    invalid: after the longest backoff (a brief outage or a rate limit has passed by then);
    None when there is nothing to ask again, or the network itself was down."""
    if doubtful == 0 or outage:
        return None
    return policy.backoff_max


def archive_cool_down(headers: Mapping[str, str], default: float, now: dt.datetime) -> float:
    """How long the archive's 429 cools its endpoint family down: ``Retry-After``, else
    ``default``."""
    wait = retry_after_seconds(headers, now)
    return wait if wait is not None else default


def attempt_result(retry_state: RetryCallState) -> Any:
    """What the last attempt returned (None when it raised, or before any attempt)."""
    outcome = retry_state.outcome
    if outcome is None or outcome.failed:
        return None
    return outcome.result()


def attempt_response(retry_state: RetryCallState) -> Response | None:
    """The final response of the last attempt at a URL, if it had one."""
    outcome = attempt_result(retry_state)
    return outcome.response if isinstance(outcome, Outcome) else None


class Backoff(wait_base):
    """``retry_wait`` for tenacity, after the attempts made so far, with jitter from ``rng``."""

    def __init__(self, policy: RetrySettings, rng: random.Random, now: Now = wall_clock) -> None:
        self._policy = policy
        self._rng = rng
        self._now = now

    def __call__(self, retry_state: RetryCallState) -> float:
        jitter = self._rng.uniform(0, self._policy.jitter)
        response = attempt_response(retry_state)
        return retry_wait(self._policy, retry_state.attempt_number, response, self._now(), jitter)


class PacedWait(wait_base):
    """The archive's wait: ``interval × attempt`` after a 5xx or a network error; none after
    its own 429 (the family's pacer, cooled down, is the wait)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval

    def __call__(self, retry_state: RetryCallState) -> float:
        response = attempt_result(retry_state)
        if isinstance(response, httpx.Response) and archive_rate_limited(response):
            return 0.0
        return self._interval * retry_state.attempt_number


# -- when to give up ---------------------------------------------------------------------------


class BudgetSpent(stop_base):
    """Stop when the URL's deadline would pass before the next attempt (after the wait)."""

    def __init__(self, budget: UrlBudget) -> None:
        self._budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._budget.spent_after(retry_state.upcoming_sleep)


def last_result(retry_state: RetryCallState) -> Any:
    """Give up with what the last attempt returned."""
    assert retry_state.outcome is not None
    return retry_state.outcome.result()


def archive_problem(retry_state: RetryCallState) -> str:
    """What went wrong with the archive's last attempt, in words."""
    outcome = retry_state.outcome
    assert outcome is not None
    if outcome.failed:
        error = outcome.exception()
        return f"{type(error).__name__}: {error}"
    response: httpx.Response = outcome.result()
    if archive_rate_limited(response):
        return "HTTP 429 Too Many Requests"
    return f"HTTP {response.status_code}"


def _archive_unavailable(what: str, retry_state: RetryCallState) -> NoReturn:
    raise WaybackUnavailable(f"{what}: {archive_problem(retry_state)}")


# -- the loops ---------------------------------------------------------------------------------


class FreedLoop(AsyncRetrying):
    """tenacity's loop, whose iteration state is dropped when a call ends.

    tenacity keeps a loop's own bound methods in that state: a reference cycle, so a finished
    loop (~30 objects) waited for the cyclic collector. A night's ~5,000 of them grew the
    oldest generation, whose full collections paused the event loop 0.1–0.3 s at a time."""

    async def __call__(  # type: ignore[override]
        self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any
    ) -> T:
        try:
            result: T = await super().__call__(fn, *args, **kwargs)
            return result
        finally:
            self.iter_state.reset()


def url_retrying(
    policy: RetrySettings,
    budget: UrlBudget,
    rng: random.Random,
    *,
    sleep: Sleep,
    after: AfterHook | None = None,
    now: Now = wall_clock,
) -> FreedLoop:
    """The loop of one URL's attempts (each returns an ``Outcome``): retried while
    ``should_retry``, ``Backoff`` apart, at most ``policy.attempts`` and never past
    ``budget``; when it gives up, the last outcome stands. ``after`` sees each attempt that
    is to be tried again (the checker pauses a 429's host there)."""
    statuses = frozenset(policy.retry_statuses)
    return FreedLoop(
        retry=retry_if_result(partial(should_retry, retry_statuses=statuses)),
        wait=Backoff(policy, rng, now),
        stop=stop_after_attempt(policy.attempts) | BudgetSpent(budget),
        sleep=sleep,
        after=after or after_nothing,
        retry_error_callback=last_result,
    )


def archive_retrying(attempts: int, interval: float, what: str, *, sleep: Sleep) -> FreedLoop:
    """The loop of one archive request (each attempt returns an ``httpx.Response``): network
    errors and ``archive_should_retry`` answers are tried again, ``PacedWait`` apart, at most
    ``attempts``; then ``WaybackUnavailable("<what>: <last problem>")``."""
    return FreedLoop(
        retry=retry_if_exception_type(httpx.HTTPError) | retry_if_result(archive_should_retry),
        wait=PacedWait(interval),
        stop=stop_after_attempt(attempts),
        sleep=sleep,
        retry_error_callback=partial(_archive_unavailable, what),
    )
