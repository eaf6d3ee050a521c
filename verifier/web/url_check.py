"""I/O: check one URL and say what it is (an ``Observation``).

One GET (HEAD first only on hosts configured so), redirects followed by hand, retried under
the policy of ``verifier.web.retry``; then, for an HTML page that neither says "not found" nor
corroborates its URL, the sibling probe (``verifier.web.sibling_probes``). The verdict comes
from ``classify``; one URL gets at most ``url_deadline`` seconds; ``on_page`` sees every
final response with its first bytes.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable

from tenacity import RetryCallState

from verifier.citation.extract import page_facts
from verifier.citation.facts import PageFacts
from verifier.config import HttpSettings
from verifier.models import Observation, Verdict
from verifier.urls import request_host, under_domain
from verifier.web.answers import Failure, Outcome, Response
from verifier.web.classify import classify
from verifier.web.fetch import Fetcher
from verifier.web.retry import attempt_response, host_pause, url_retrying, wall_clock
from verifier.web.sibling_probes import Follow, SiblingProbes
from verifier.web.soft404 import ProbeFacts, needs_probe, soft404_sign
from verifier.web.url_budget import CURRENT_BUDGET, UrlBudget

HEAD_FALLBACK_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 410, 501, 999})
"""HEAD answers that GET must confirm (on hosts asked with HEAD first): servers often refuse
or botch HEAD (RFC 9110 §9.3.2 makes it optional), and a page is never called dead on the
word of HEAD alone."""

Clock = Callable[[], dt.datetime]
PageHook = Callable[[str, Response], None]
"""Called with a checked URL and its final response (status, headers, first decoded bytes)."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def head_refused(outcome: Outcome) -> bool:
    """A HEAD answer that GET must confirm before anything is concluded."""
    if outcome.failure is not None:
        return outcome.failure is Failure.PROTOCOL
    return outcome.status in HEAD_FALLBACK_STATUSES


class Attempts:
    """One URL's attempts, as the retry loop calls them.

    The first asks with ``method``; when that is a HEAD the host refuses (405, 404, 403…),
    GET asks right after, in the same attempt (while the URL's budget lasts): a refused
    HEAD costs no retry, and a page is never judged on HEAD's word alone. Every later
    attempt asks with GET. ``sent`` counts the request chains sent.
    """

    def __init__(self, follow: Follow, url: str, method: str, budget: UrlBudget) -> None:
        self._follow = follow
        self._url = url
        self._method = method
        self._budget = budget
        self.sent = 0

    async def __call__(self) -> Outcome:
        method, self._method = self._method, "GET"
        outcome = await self._ask(method)
        if method == "HEAD" and head_refused(outcome) and not self._budget.spent_after(0.0):
            outcome = await self._ask("GET")
        return outcome

    async def _ask(self, method: str) -> Outcome:
        outcome = await self._follow(self._url, method)
        self.sent += 1
        return outcome


class UrlChecker:
    """Checks single URLs with the run's fetcher and probes."""

    def __init__(
        self,
        http: HttpSettings,
        fetcher: Fetcher,
        follow: Follow,
        probes: SiblingProbes,
        *,
        clock: Clock = utc_now,
        on_page: PageHook | None = None,
        read_pages: bool = True,
        accept: frozenset[int] = frozenset(),
    ) -> None:
        self._http = http
        self._read_pages = read_pages
        self._accept = accept
        self._fetcher = fetcher
        self._follow = follow
        self._probes = probes
        self._clock = clock
        self._on_page = on_page
        self._random = random.Random()

    async def check(self, url: str) -> Observation:
        """Check one URL through retries, redirects and, when needed, the soft-404 probe."""
        started = time.monotonic()
        checked_at = self._clock()
        first = "HEAD" if self._head_first(request_host(url)) else "GET"
        budget = UrlBudget(self._http.url_deadline)
        token = CURRENT_BUDGET.set(budget)
        try:
            outcome, attempts = await self._with_retries(url, first, budget)
            sibling: ProbeFacts | None = None
            wants_probe = self._http.soft404_probe and _wants_probe(outcome)
            if wants_probe and outcome.response and outcome.response.method == "HEAD":
                # an HTML page on a HEAD-first host: only its body can tell
                outcome, more = await self._with_retries(url, "GET", budget)
                attempts += more
                wants_probe = _wants_probe(outcome)
            if wants_probe and outcome.response is not None:
                sibling = await self._probes.within(outcome.response.url, budget)
        finally:
            CURRENT_BUDGET.reset(token)
        verdict, detail = classify(outcome, sibling, self._accept)
        response = outcome.response
        if response is not None and self._on_page is not None:
            self._on_page(url, response)
        page = None
        if verdict is Verdict.ALIVE and self._read_pages and response is not None:
            page = _page_of(response, sibling)
        return Observation(
            url=url,
            verdict=verdict,
            http_status=response.status if response is not None else None,
            final_url=response.url if response is not None else None,
            attempts=attempts,
            checked_at=checked_at,
            detail=detail,
            redirects=list(outcome.chain[1:]),
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            failure=outcome.failure,
            page=page,
        )

    def _head_first(self, host: str) -> bool:
        return any(under_domain(host, name) for name in self._http.head_first_hosts)

    async def _with_retries(self, url: str, method: str, budget: UrlBudget) -> tuple[Outcome, int]:
        """The attempts at ``url`` under the retry policy: the last outcome, and the number
        of request chains sent. A URL that hangs costs exactly ``attempts`` timeouts."""
        attempts = Attempts(self._follow, url, method, budget)
        retrying = url_retrying(
            self._http.retry, budget, self._random, sleep=self._fetcher.nap, after=self._pause_host
        )
        outcome: Outcome = await retrying(attempts)
        return outcome, attempts.sent

    def _pause_host(self, retry_state: RetryCallState) -> None:
        """A 429 to be tried again pauses its whole host (``host_pause``)."""
        response = attempt_response(retry_state)
        if response is None:
            return
        pause = host_pause(self._http.retry, response, wall_clock())
        if pause is not None:
            self._fetcher.gate(request_host(response.url)).pause(pause)


def _page_of(response: Response, sibling: ProbeFacts | None) -> PageFacts | None:
    """What a live page says about itself (for the citation check), from the same GET."""
    if response.method != "GET":
        return None
    facts = page_facts(response.body, response.url, response.headers.get("content-type"))
    if facts is not None and sibling is not None and sibling.title:
        facts.probe_title = sibling.title
    return facts


def _wants_probe(outcome: Outcome) -> bool:
    """A 2xx HTML page that neither says "not found" nor corroborates its URL."""
    return needs_probe(outcome) and soft404_sign(outcome) is None
