"""One worker: lease domains of the open run, check their URLs, store each result while the
lease holds, and take over what a dead worker's lapsed leases leave.

A worker checks with the nightly run's own checker (the same politeness per host, retries,
soft-404 probes, outage watch), with two things added: every request first takes its host's
token (``tokens``), and every result is stored through the queue, fenced by the lease. A
heartbeat renews leases and tokens; a lease found lost stops the worker sending to that
domain at once (a request in flight may end, its result is not stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import socket
from collections import Counter
from collections.abc import Callable

import httpx

from verifier.config import Settings
from verifier.history.store import History, open_history
from verifier.models import Observation
from verifier.pause import stopped_within
from verifier.urls import request_host
from verifier.web.liveness import LinkChecker, utc_now
from verifier.web.outage import answering_hosts, is_outage_failure
from verifier.workers.domains import registrable_domain
from verifier.workers.queue import WorkQueue
from verifier.workers.tokens import TokenGuard


def worker_name() -> str:
    """Unique among live workers: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclasses.dataclass
class WorkerFigures:
    domains: int = 0
    checked: int = 0
    lost: int = 0
    """Results not stored because the lease had passed to another worker."""
    requests: int = 0
    token_waits: int = 0
    outage: str | None = None


def domain_of(url: str) -> str:
    return registrable_domain(request_host(url))


async def work(
    settings: Settings,
    *,
    once: bool,
    stop: asyncio.Event,
    clock: Callable[[], dt.datetime] = utc_now,
    name: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> WorkerFigures:
    """Work until ``stop``; with ``once``, also until no run has work left."""
    with open_history(settings) as store:
        worker = Worker(settings, store, name or worker_name(), clock=clock, stop=stop)
        async with LinkChecker(
            settings, transport=transport, clock=clock, probe_cache=store
        ) as checker:
            return await worker.serve(checker, once=once)


class Worker:
    """The lease → check → store loop of one worker process."""

    def __init__(
        self,
        settings: Settings,
        store: History,
        name: str,
        *,
        clock: Callable[[], dt.datetime],
        stop: asyncio.Event,
    ) -> None:
        self._settings = settings
        self._options = settings.workers
        self._store = store
        self._queue = WorkQueue(store)
        self.name = name
        self._clock = clock
        self._stop = stop
        # a request starts only with a whole attempt and a heartbeat of its token left; the
        # heartbeat renews tokens, so two missed beats leave a beat to spare (with the shipped
        # 30 s attempts, 5 s beats and 60 s leases a dead worker's tokens lapse before its
        # leases do: the lease decides the takeover)
        margin = settings.http.attempt_deadline + self._options.heartbeat_seconds
        ttl = margin + 3 * self._options.heartbeat_seconds
        self._guard = TokenGuard(self._queue, name, ttl=ttl, margin=margin)
        self._run_id: int | None = None
        self._domains: set[str] = set()  # leased and not finished yet
        self._in_hand = 0  # URLs leased and not checked yet
        self.figures = WorkerFigures()

    async def serve(self, checker: LinkChecker, *, once: bool) -> WorkerFigures:
        """Keep about ``batch_urls`` URLs in hand, each lease checked beside the others: lease
        more whenever half are checked, or while too few domains are leased to fill
        ``max_concurrency`` at ``per_host`` each (a domain bigger than the batch never
        leaves the worker on one host)."""
        checker.fetcher.guard = self._guard
        beat = asyncio.create_task(self._heartbeat())
        checks: set[asyncio.Task[None]] = set()
        try:
            while not self._stop.is_set():
                if self._room() and self._lease(checker, checks):
                    continue
                if once and not checks and self._queue.open_run() is None:
                    break
                if checks:
                    done, _ = await asyncio.wait(checks, timeout=self._options.poll_seconds)
                    for task in done:
                        checks.discard(task)
                        task.result()  # a check's bug surfaces here
                else:  # no run yet, or others hold the rest: wait to take over what lapses
                    await stopped_within(self._stop, self._options.poll_seconds)
        finally:
            if checks:  # an error: the other checks wind down
                self._stop.set()
            for result in await asyncio.gather(*checks, return_exceptions=True):
                if isinstance(result, Exception):
                    raise result
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            if self._run_id is not None:
                self._queue.give_back(self._run_id, self.name)
            self._guard.release()
        self.figures.requests = checker.fetcher.requests_sent
        self.figures.token_waits = self._guard.waits
        return self.figures

    def _room(self) -> int:
        """How many URLs the next lease may bring (0: none now)."""
        batch = self._options.batch_urls
        if self._in_hand <= batch // 2:
            return batch - self._in_hand
        http = self._settings.http
        return int(len(self._domains) < -(-http.max_concurrency // http.per_host))

    def _lease(self, checker: LinkChecker, checks: set[asyncio.Task[None]]) -> bool:
        """Lease domains of the open run up to the batch size and start checking their URLs
        not stored yet; False when there were none to lease."""
        run_id = self._queue.open_run()
        if run_id is None or (checks and run_id != self._run_id):
            return False  # a newer run starts once this one's checks are over
        leases = self._queue.lease(
            run_id,
            self.name,
            max_urls=self._room(),
            ttl=self._options.lease_seconds,
        )
        if not leases:
            return False
        domains = {lease.domain for lease in leases}
        self._run_id = run_id
        self._domains |= domains
        self._guard.lost_domains -= domains
        self.figures.domains += len(leases)
        urls = self._queue.urls_left(run_id, sorted(domains))
        for domain in domains - {domain_of(url) for url in urls}:
            self._queue.finish_domain(run_id, self.name, domain)  # stored by an earlier holder
            self._domains.discard(domain)
        if urls:
            self._in_hand += len(urls)
            checks.add(asyncio.create_task(self._check(checker, run_id, urls)))
        return True

    async def _check(self, checker: LinkChecker, run_id: int, urls: list[str]) -> None:
        """Check leased URLs, storing each result while its domain's lease holds."""
        left = Counter(domain_of(url) for url in urls)
        since = self._clock() - dt.timedelta(days=self._settings.history.lookback_days)
        good_hosts = answering_hosts(self._store.latest(urls, pages=False).values(), since)

        def observed(observation: Observation) -> None:
            domain = domain_of(observation.url)
            left[domain] -= 1
            self._in_hand -= 1
            stored = self._queue.record(
                run_id,
                self.name,
                domain,
                observation,
                provisional=is_outage_failure(observation),
                last=left[domain] == 0,
            )
            if not stored:
                self.figures.lost += 1
                self._guard.lost_domains.add(domain)
                return
            self.figures.checked += 1
            if left[domain] == 0:
                self._domains.discard(domain)

        try:
            run = await checker.check_all(
                urls, on_result=observed, stop=self._stop, known_good_hosts=good_hosts
            )
        finally:
            self._in_hand -= sum(left.values())  # stopped before these were checked
        if run.outage is not None:
            self.figures.outage = run.outage
            self._queue.flag_outage(run_id, self.name, run.outage)
            self._stop.set()  # the network is down: nothing more is judged

    async def _heartbeat(self) -> None:
        """Renew leases and tokens; a lease not renewed is lost (stop sending to it)."""
        options = self._options
        while True:
            await asyncio.sleep(options.heartbeat_seconds)
            if self._run_id is not None and self._domains:
                held = self._queue.renew(self._run_id, self.name, options.lease_seconds)
                self._guard.lost_domains |= self._domains - held
            self._guard.renew()
            keep = self._domains - self._guard.lost_domains
            self._guard.release_idle(options.token_idle_seconds, keep=keep)
