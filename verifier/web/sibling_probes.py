"""I/O: the soft-404 probe — what a random path beside a page answers.

One probe per section (first path segment) with ``SECTION_PROBE_MIN`` or more URLs in the
run, else one per host; shared by every page that needs it, and kept in the probe cache
between runs. So a site that answers every path with the same page is caught, for a
fraction of a request per URL (almost none once the cache holds the answers).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from verifier.web.answers import Outcome
from verifier.web.soft404 import ProbeFacts, probe_facts
from verifier.web.url_budget import CURRENT_BUDGET, UrlBudget

Follow = Callable[[str, str], Awaitable[Outcome]]
"""One attempt at a URL (URL, method), redirects followed: ``RedirectFollower.follow``."""

SECTION_PROBE_MIN = 3
"""URLs a run must check in one section before the section gets its own soft-404 probe
(on the real corpus: 314 sections, +0.06 requests per URL)."""

SECTION_PROBES_PER_HOST = 4
"""At most this many sections of one host get their own probe (its biggest ones): on the
busiest host every extra request lengthens the whole run by one politeness interval."""


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


def section_of(url: str) -> tuple[str, str] | None:
    """(origin, first path segment) of a URL at least two segments deep."""
    parts = urlsplit(url)
    segments = [part for part in parts.path.split("/") if part]
    return (f"{parts.scheme}://{parts.netloc}", segments[0]) if len(segments) > 1 else None


class SiblingProbes:
    """The run's probes: planned from the URLs to check, sent once, shared, cached."""

    def __init__(
        self,
        follow: Follow,
        cache: ProbeCache,
        clock: Callable[[], dt.datetime],
        *,
        cache_days: float,
        url_deadline: float,
    ) -> None:
        self._follow = follow
        self._cache = cache
        self._clock = clock
        self._cache_days = cache_days
        self._url_deadline = url_deadline
        self._tasks: dict[str, asyncio.Task[ProbeFacts | None]] = {}
        self._sizes: Counter[tuple[str, str]] = Counter()
        self._probed: set[tuple[str, str]] = set()
        self.sent = 0

    def plan(self, urls: Iterable[str]) -> None:
        """Count the URLs to check by section: the biggest sections get probes of their own."""
        for url in urls:
            section = section_of(url)
            if section is not None:
                self._sizes[section] += 1
        self._probed = probed_sections(self._sizes)

    def tasks(self) -> list[asyncio.Task[ProbeFacts | None]]:
        """The probes asked so far (running or done)."""
        return list(self._tasks.values())

    async def within(self, page_url: str, budget: UrlBudget) -> ProbeFacts | None:
        """The probe for ``page_url``, waited for no longer than the page's own deadline
        allows (the probe goes on for the other pages that share it)."""
        try:
            async with asyncio.timeout(budget.remaining()):
                return await self.probe(page_url)
        except TimeoutError:
            return None

    async def probe(self, page_url: str) -> ProbeFacts | None:
        """What a random path beside the page answers: in its section when the section is
        probed, else at the site's root; from the cache while fresh there."""
        parts = urlsplit(page_url)
        section = section_of(page_url)
        big = section in self._probed
        prefix = f"/{section[1]}/" if big and section is not None else "/"
        key = f"{parts.scheme}://{parts.netloc}{prefix}"
        task = self._tasks.get(key)
        if task is None:
            cached = self._cache.get_probe(key)
            if cached is not None and cached.is_fresh(self._clock(), self._cache_days):
                return cached
            probe_url = urlunsplit(
                (parts.scheme, parts.netloc, f"{prefix}{secrets.token_hex(10)}", "", "")
            )
            task = self._tasks[key] = asyncio.create_task(self._probe_once(key, probe_url))
        return await asyncio.shield(task)

    async def _probe_once(self, key: str, url: str) -> ProbeFacts | None:
        """One GET, no retries: a probe that fails simply proves nothing (and is not kept)."""
        CURRENT_BUDGET.set(UrlBudget(self._url_deadline))  # this task's own context
        self.sent += 1
        outcome = await self._follow(url, "GET")
        if outcome.failure is not None or outcome.response is None:
            return None
        facts = probe_facts(outcome.response, self._clock())
        self._cache.put_probe(key, facts)
        return facts
