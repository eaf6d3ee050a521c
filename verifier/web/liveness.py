"""I/O: check many URLs — each once, spread across hosts, retried, classified.

Work is spread across hosts (per-host workers keep every host busy in parallel, the busiest
first), a stop sends no new request, and a run in which hosts known to answer fail at the
connection level is reported as a network outage, not as dead links. One URL's check is
``verifier.web.url_check``'s (retries: ``verifier.web.retry``; redirects:
``verifier.web.redirects``; the soft-404 probe: ``verifier.web.sibling_probes``); single
requests are ``verifier.web.fetch``'s.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from verifier.config import Settings
from verifier.errors import DnsNotFoundError, DnsTemporaryError, RunStopping
from verifier.models import Observation, Verdict
from verifier.urls import normalize_url, request_host
from verifier.web.fetch import Fetcher
from verifier.web.gc_tuning import collector_set_for_a_run
from verifier.web.netpolicy import NetworkPolicy, Resolver
from verifier.web.outage import OutageWatch
from verifier.web.redirects import RedirectFollower
from verifier.web.sibling_probes import MemoryProbeCache, ProbeCache, SiblingProbes
from verifier.web.url_check import Clock, PageHook, UrlChecker, utc_now

__all__ = [
    "CheckRun",
    "Clock",
    "LinkChecker",
    "MemoryProbeCache",
    "PageHook",
    "ProbeCache",
    "utc_now",
    "workers_for",
]


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
        policy = NetworkPolicy.build(
            settings.security.allow_private_networks, settings.security.allowed_networks
        )
        self._resolver = resolver or Resolver(
            self._http.resolve, timeout=self._http.connect_timeout
        )
        ca_file = settings.resolve(self._http.ca_file) if self._http.ca_file else None
        self.fetcher = Fetcher(self._http, policy, transport, self._resolver, ca_file)
        follow = RedirectFollower(self.fetcher.exchange, self._http.max_redirects).follow
        self._probes = SiblingProbes(
            follow,
            probe_cache or MemoryProbeCache(),
            clock,
            cache_days=self._http.probe_cache_days,
            url_deadline=self._http.url_deadline,
        )
        self._urls = UrlChecker(
            self._http,
            self.fetcher,
            follow,
            self._probes,
            clock=clock,
            on_page=on_page,
            read_pages=settings.citation.enabled,
            accept=frozenset(settings.sources.accept),
        )

    @property
    def probes_sent(self) -> int:
        return self._probes.sent

    async def __aenter__(self) -> LinkChecker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._probes.tasks():
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
        with collector_set_for_a_run():
            return await self._check_all(urls, on_result, stop, known_good_hosts, seen)

    async def _check_all(
        self,
        urls: Iterable[str],
        on_result: Callable[[Observation], None] | None,
        stop: asyncio.Event | None,
        known_good_hosts: Collection[str],
        seen: Iterable[Observation],
    ) -> CheckRun:
        by_host: dict[str, list[str]] = defaultdict(list)
        for url in dict.fromkeys(normalize_url(u) for u in urls):
            by_host[request_host(url)].append(url)
        self._probes.plan(url for url_list in by_host.values() for url in url_list)
        run = CheckRun()
        outage = OutageWatch(
            self._settings.outage.min_hosts,
            self._settings.outage.host_failure_ratio,
            by_host,
            known_good_hosts,
        )
        for observation in seen:
            outage.record(request_host(observation.url), observation)
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
                except RunStopping:
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
            self.stop_requests([*workers, *self._probes.tasks()])
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
        except RunStopping:
            return None  # stopped before the run began: nothing is judged either way
        if all(o.verdict in (Verdict.UNREACHABLE, Verdict.DEAD) for o in observations):
            details = "; ".join(f"{o.url}: {o.detail}" for o in observations)
            return f"every canary URL failed ({details})"
        return None

    # -- one URL ---------------------------------------------------------------------------

    async def check(self, url: str) -> Observation:
        """Check one URL through retries, redirects and, when needed, the soft-404 probe."""
        return await self._urls.check(url)


URLS_PER_WORKER = 4
"""A host gets one worker (one connection, most of the time) per this many URLs, up to
``per_host``: a second TLS handshake for a host with two URLs costs more than it saves."""


def workers_for(urls: int, per_host: int) -> int:
    return max(1, min(per_host, math.ceil(urls / URLS_PER_WORKER)))
