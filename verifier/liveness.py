"""I/O: check many URLs — each once, spread across hosts, retried, classified.

For one URL: one GET (HEAD first only on hosts configured so), following redirects by hand
(each hop vetted and gated), reading the first bytes of the page once; retries by tenacity
with the policy from config; then, for an HTML page that neither says "not found" nor
corroborates its URL, a random-sibling probe (one per section with 3+ URLs in the run, else
one per host; shared, and kept in the probe cache between runs), so a site that answers every
path with the same page is caught. The verdict comes from ``classify``; one URL gets at most
``url_deadline`` seconds; ``on_page`` sees every final response with its first bytes.
For many URLs: work is spread across hosts, a stop sends no new request, and a run in which
hosts known to answer fail at the connection level is reported as a network outage, not as
dead links.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_result

from verifier.answers import Failure, Outcome, Response
from verifier.classify import classify, retry_after_seconds, should_retry
from verifier.config import Settings
from verifier.errors import DnsNotFoundError, DnsTemporaryError
from verifier.fetch import CURRENT_BUDGET, Fetcher, FetchError, StopRequested, UrlBudget
from verifier.models import Observation, Verdict
from verifier.netpolicy import NetworkPolicy, Resolver
from verifier.outage import OutageWatch
from verifier.soft404 import ProbeFacts, needs_probe, probe_facts, soft404_sign
from verifier.urls import join_url, normalize_url, shown_url

HEAD_FALLBACK_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 410, 501, 999})
"""HEAD answers that GET must confirm (on hosts asked with HEAD first): servers often refuse
or botch HEAD (RFC 9110 §9.3.2 makes it optional), and a page is never called dead on the
word of HEAD alone."""

Clock = Callable[[], dt.datetime]
PageHook = Callable[[str, Response], None]
"""Called with a checked URL and its final response (status, headers, first decoded bytes)."""


class ProbeCache(Protocol):
    """Where probe answers are kept between runs (the history store is one)."""

    def get_probe(self, key: str) -> ProbeFacts | None: ...
    def put_probe(self, key: str, facts: ProbeFacts) -> None: ...


class MemoryProbeCache:
    """A probe cache that lasts as long as the object (the default: one run)."""

    def __init__(self) -> None:
        self._facts: dict[str, ProbeFacts] = {}

    def get_probe(self, key: str) -> ProbeFacts | None:
        return self._facts.get(key)

    def put_probe(self, key: str, facts: ProbeFacts) -> None:
        self._facts[key] = facts


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(slots=True)
class CheckRun:
    """Observations by normalised URL, and the outage verdict on the run as a whole."""

    observations: dict[str, Observation] = field(default_factory=dict)
    outage: str | None = None
    requests_sent: int = 0


class LinkChecker:
    """Checks URLs with one client for the run. Use ``async with``."""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        clock: Clock = utc_now,
        *,
        probe_cache: ProbeCache | None = None,
        on_page: PageHook | None = None,
    ) -> None:
        self._settings = settings
        self._http = settings.http
        self._retry_statuses = frozenset(self._http.retry.retry_statuses)
        policy = NetworkPolicy.build(
            settings.security.allow_private_networks, settings.security.allowed_networks
        )
        self._resolver = resolver or Resolver(
            self._http.resolve, timeout=self._http.connect_timeout
        )
        ca_file = settings.resolve(self._http.ca_file) if self._http.ca_file else None
        self.fetcher = Fetcher(self._http, policy, transport, self._resolver, ca_file)
        self._clock = clock
        self._probe_cache: ProbeCache = probe_cache or MemoryProbeCache()
        self._on_page = on_page
        self._probes: dict[str, asyncio.Task[ProbeFacts | None]] = {}
        self._sections: Counter[tuple[str, str]] = Counter()
        self._probed_sections: set[tuple[str, str]] = set()
        self._random = random.Random()
        self.probes_sent = 0

    async def __aenter__(self) -> LinkChecker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._probes.values():
            task.cancel()
        await self.fetcher.aclose()

    # -- many URLs -------------------------------------------------------------------------

    async def check_all(
        self,
        urls: Iterable[str],
        on_result: Callable[[Observation], None] | None = None,
        stop: asyncio.Event | None = None,
        known_good_hosts: Collection[str] = (),
        seen: Iterable[Observation] = (),
    ) -> CheckRun:
        """Check each distinct URL once; per-host workers keep every host busy in parallel.

        When ``stop`` is set, no new request starts: requests in flight finish (and are
        recorded), everything waiting is cancelled. ``known_good_hosts`` (hosts the history
        saw answer) and ``seen`` (what this run already observed before a restart) are the
        outage watch's evidence.
        """
        by_host: dict[str, list[str]] = defaultdict(list)
        for url in dict.fromkeys(normalize_url(u) for u in urls):
            by_host[_host(url)].append(url)
        for url_list in by_host.values():
            for url in url_list:
                parts = urlsplit(url)
                section = _section(parts.scheme, parts.netloc, parts.path)
                if section is not None:
                    self._sections[section] += 1
        self._probed_sections = probed_sections(self._sections)
        run = CheckRun()
        outage = OutageWatch(
            self._settings.outage.min_hosts,
            self._settings.outage.host_failure_ratio,
            by_host,
            known_good_hosts,
        )
        for observation in seen:
            outage.record(_host(observation.url), observation)
        self.fetcher.stop_with(stop)
        canary_failure = await self._check_canaries()
        if canary_failure is not None:
            run.outage = canary_failure
            return run

        async def worker(host: str, queue: list[str]) -> None:
            gate = self.fetcher.gate(host)
            while queue and not self.fetcher.stopping:
                url = queue.pop()
                try:
                    observation = await self.check(url)
                except StopRequested:
                    return
                gate.backlog -= 1
                run.observations[observation.url] = observation
                outage.record(host, observation)
                if on_result is not None:
                    on_result(observation)

        workers: list[asyncio.Task[None]] = []
        for host, host_urls in sorted(by_host.items(), key=lambda item: -len(item[1])):
            self.fetcher.gate(host).backlog = len(host_urls)
            queue = list(reversed(host_urls))
            for _ in range(workers_for(len(host_urls), self._http.per_host)):
                workers.append(asyncio.create_task(worker(host, queue)))
        everything: asyncio.Future[list[Any]] = asyncio.gather(*workers, return_exceptions=True)
        tripped = asyncio.ensure_future(outage.tripped.wait())
        waits: list[asyncio.Future[Any]] = [everything, tripped]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            for task in workers:  # this run is cancelled: so are its workers, at once
                task.cancel()
            raise
        finally:
            for waiting in waits[1:]:
                waiting.cancel()
        if not everything.done():  # stopped, or the network is down: wind down now
            self.stop_requests([*workers, *self._probes.values()])
        results = await everything
        for result in results:
            if isinstance(result, Exception):
                raise result  # a worker's bug surfaces here, never silently
        run.outage = outage.verdict() or await self._resolver_denies_everything(outage)
        run.requests_sent += self.fetcher.requests_sent
        return run

    async def _resolver_denies_everything(self, outage: OutageWatch) -> str | None:
        """When no host answered and names were "not found", ask the resolver for a name
        that certainly exists: not found either means the resolver, not the sources, fails."""
        reference = self._settings.outage.reference_host
        if not reference or not outage.only_names_not_found():
            return None
        try:
            await self._resolver.resolve(reference, 443)
        except (DnsNotFoundError, DnsTemporaryError) as exc:
            return (
                f"network outage: no host answered and the resolver fails for {reference} "
                f"too ({exc}); no source was judged"
            )
        return None

    def stop_requests(self, tasks: Iterable[asyncio.Task[Any]]) -> None:
        """No new request from now on: tasks waiting (for a host slot, a backoff, a probe)
        are cancelled; tasks with a request in flight finish it, then stop."""
        self.fetcher.stopping = True
        for task in tasks:
            if not self.fetcher.is_sending(task):
                task.cancel()

    async def _check_canaries(self) -> str | None:
        canaries = self._settings.outage.canary_urls
        if not canaries:
            return None
        try:
            observations = await asyncio.gather(*(self.check(url) for url in canaries))
        except StopRequested:
            return None  # stopped before the run began: nothing is judged either way
        if all(o.verdict in (Verdict.UNREACHABLE, Verdict.DEAD) for o in observations):
            details = "; ".join(f"{o.url}: {o.detail}" for o in observations)
            return f"every canary URL failed ({details})"
        return None

    # -- one URL ---------------------------------------------------------------------------

    async def check(self, url: str) -> Observation:
        """Check one URL through retries, redirects and, when needed, the soft-404 probe."""
        started = time.monotonic()
        checked_at = self._clock()
        host = _host(url)
        first = "HEAD" if self._head_first(host) else "GET"
        budget = UrlBudget(self._http.url_deadline)
        token = CURRENT_BUDGET.set(budget)
        try:
            outcome, attempts = await self._with_retries(url, first)
            sibling: ProbeFacts | None = None
            wants_probe = self._http.soft404_probe and _wants_probe(outcome)
            if wants_probe and outcome.response and outcome.response.method == "HEAD":
                # an HTML page on a HEAD-first host: only its body can tell
                outcome, more = await self._with_retries(url, "GET")
                attempts += more
                wants_probe = _wants_probe(outcome)
            if wants_probe and outcome.response is not None:
                sibling = await self._probe_within(outcome.response.url, budget)
        finally:
            CURRENT_BUDGET.reset(token)
        verdict, detail = classify(outcome, sibling)
        response = outcome.response
        if response is not None and self._on_page is not None:
            self._on_page(url, response)
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
            failure=outcome.failure.value if outcome.failure is not None else None,
        )

    def _head_first(self, host: str) -> bool:
        return any(
            host == name or host.endswith(f".{name}") for name in self._http.head_first_hosts
        )

    async def _with_retries(self, url: str, method: str) -> tuple[Outcome, int]:
        """Attempts of ``_follow`` under the retry policy; returns the last outcome and the
        number of requests chains sent.

        A HEAD that is refused (405, 404, 403…) switches to GET at once, without using up a
        retry; after any failed HEAD, retries use GET. So a URL that hangs costs exactly
        ``attempts`` timeouts, and a page is never judged on HEAD's word alone.
        """
        policy = self._http.retry
        state = _AttemptState(method)

        def decide(outcome: Outcome) -> bool:
            state.sent += 1
            state.free_switch = False
            if state.method == "HEAD" and _head_refused(outcome):
                state.method = "GET"
                state.free_switch = True
                return True
            state.counted += 1
            if should_retry(outcome, self._retry_statuses):
                state.method = "GET"
                return True
            return False

        def wait(retry_state: RetryCallState) -> float:
            if state.free_switch:
                return 0.0
            outcome = retry_state.outcome.result() if retry_state.outcome is not None else None
            response = outcome.response if isinstance(outcome, Outcome) else None
            return self._backoff(state.counted, response)

        def give_up(retry_state: RetryCallState) -> bool:
            budget = CURRENT_BUDGET.get()
            if budget is not None and budget.spent_after(retry_state.upcoming_sleep):
                return True  # the URL's deadline would pass before the next attempt
            return state.counted >= policy.attempts and not state.free_switch

        retrying = AsyncRetrying(
            stop=give_up,
            wait=wait,
            sleep=self.fetcher.nap,
            retry=retry_if_result(decide),
            retry_error_callback=lambda rs: rs.outcome.result() if rs.outcome else None,
        )
        outcome: Outcome | None = None
        async for attempt in retrying:
            with attempt:
                outcome = await self._follow(url, state.method)
            if attempt.retry_state.outcome is None or not attempt.retry_state.outcome.failed:
                attempt.retry_state.set_result(outcome)
        assert outcome is not None
        return outcome, state.sent

    def _backoff(self, retries_used: int, response: Response | None) -> float:
        """Exponential backoff with jitter; ``Retry-After`` honoured up to a cap; a 429
        pauses the whole host."""
        policy = self._http.retry
        backoff = min(policy.backoff_max, policy.backoff_base * 2.0 ** (retries_used - 1))
        backoff += self._random.uniform(0, policy.jitter)
        if response is None:
            return backoff
        retry_after = retry_after_seconds(response.headers, dt.datetime.now(dt.UTC))
        if response.status == 429:
            pause = retry_after if retry_after is not None else policy.host_pause_after_429
            pause = min(policy.retry_after_cap, pause)
            self.fetcher.gate(_host(response.url)).pause(pause)
            return max(backoff, pause)
        if retry_after is not None:
            return min(policy.retry_after_cap, max(backoff, retry_after))
        return backoff

    async def _follow(self, url: str, method: str) -> Outcome:
        """One attempt: request, following redirects by hand so every hop is recorded."""
        chain = [url]
        current = url
        for _ in range(self._http.max_redirects + 1):
            try:
                response = await self.fetcher.exchange(method, current)
            except FetchError as exc:
                return Outcome(url, None, exc.failure, exc.detail, tuple(chain))
            location = response.headers.get("location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                return Outcome(url, response, chain=tuple(chain))
            joined = join_url(current, location)
            if joined is None:
                return Outcome(
                    url,
                    response,
                    Failure.BAD_URL,
                    f"redirect to a malformed URL: {shown_url(location)}",
                    tuple(chain),
                )
            target = normalize_url(joined)
            if target in chain:
                return Outcome(
                    url,
                    response,
                    Failure.REDIRECT_LOOP,
                    f"redirect loop: {' → '.join([*chain[chain.index(target) :], target])}",
                    tuple(chain),
                )
            chain.append(target)
            current = target
        return Outcome(
            url,
            None,
            Failure.TOO_MANY_REDIRECTS,
            f"more than {self._http.max_redirects} redirects",
            tuple(chain),
        )

    async def _probe(self, page_url: str) -> ProbeFacts | None:
        """What a random path beside the page answers, shared and cached: in its section
        (first path segment) when this run checks at least ``SECTION_PROBE_MIN`` URLs there,
        else at the site's root — so a site that answers 200 "not found" in one section is
        caught, and the probes cost a fraction of a request per URL (almost none once the
        cache holds them)."""
        parts = urlsplit(page_url)
        section = _section(parts.scheme, parts.netloc, parts.path)
        big = section in self._probed_sections
        prefix = f"/{section[1]}/" if big and section is not None else "/"
        key = f"{parts.scheme}://{parts.netloc}{prefix}"
        task = self._probes.get(key)
        if task is None:
            cached = self._probe_cache.get_probe(key)
            if cached is not None and cached.is_fresh(self._clock(), self._http.probe_cache_days):
                return cached
            probe_url = urlunsplit(
                (parts.scheme, parts.netloc, f"{prefix}{secrets.token_hex(10)}", "", "")
            )
            task = self._probes[key] = asyncio.create_task(self._probe_once(key, probe_url))
        return await asyncio.shield(task)

    async def _probe_within(self, page_url: str, budget: UrlBudget) -> ProbeFacts | None:
        """The sibling probe, waited for no longer than the page's own deadline allows
        (the probe goes on for the other pages that share it)."""
        try:
            async with asyncio.timeout(budget.remaining()):
                return await self._probe(page_url)
        except TimeoutError:
            return None

    async def _probe_once(self, key: str, url: str) -> ProbeFacts | None:
        """One GET, no retries: a probe that fails simply proves nothing (and is not kept)."""
        CURRENT_BUDGET.set(UrlBudget(self._http.url_deadline))  # this task's own context
        self.probes_sent += 1
        outcome = await self._follow(url, "GET")
        if outcome.failure is not None or outcome.response is None:
            return None
        facts = probe_facts(outcome.response, self._clock())
        self._probe_cache.put_probe(key, facts)
        return facts


URLS_PER_WORKER = 4
"""A host gets one worker (one connection, most of the time) per this many URLs, up to
``per_host``: a second TLS handshake for a host with two URLs costs more than it saves."""


def workers_for(urls: int, per_host: int) -> int:
    return max(1, min(per_host, math.ceil(urls / URLS_PER_WORKER)))


SECTION_PROBE_MIN = 3
"""URLs a run must check in one section before the section gets its own soft-404 probe
(on the real corpus: 314 sections, +0.06 requests per URL)."""


SECTION_PROBES_PER_HOST = 4
"""At most this many sections of one host get their own probe (its biggest ones): on the
busiest host every extra request lengthens the whole run by one politeness interval."""


def probed_sections(sizes: Counter[tuple[str, str]]) -> set[tuple[str, str]]:
    """The sections that get their own soft-404 probe."""
    by_origin: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (origin, segment), size in sizes.items():
        if size >= SECTION_PROBE_MIN:
            by_origin[origin].append((size, segment))
    return {
        (origin, segment)
        for origin, ranked in by_origin.items()
        for _, segment in sorted(ranked, reverse=True)[:SECTION_PROBES_PER_HOST]
    }


def _section(scheme: str, netloc: str, path: str) -> tuple[str, str] | None:
    """(origin, first path segment) of a URL at least two segments deep."""
    segments = [part for part in path.split("/") if part]
    return (f"{scheme}://{netloc}", segments[0]) if len(segments) > 1 else None


@dataclass(slots=True)
class _AttemptState:
    method: str
    sent: int = 0
    counted: int = 0
    free_switch: bool = False


def _wants_probe(outcome: Outcome) -> bool:
    """A 2xx HTML page that neither says "not found" nor corroborates its URL."""
    return needs_probe(outcome) and soft404_sign(outcome) is None


def _head_refused(outcome: Outcome) -> bool:
    """A HEAD answer that GET must confirm before anything is concluded."""
    if outcome.failure is not None:
        return outcome.failure is Failure.PROTOCOL
    return outcome.status in HEAD_FALLBACK_STATUSES


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""
