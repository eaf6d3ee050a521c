"""I/O: the heads of Wayback captures from the time a source was cited.

When a live page does not match its citation, the capture from the cited time tells a page
that changed since (it matched then: ``drifted``) from a wrong URL. The capture is the one
the archive stage found or verified for the source; without one, a CDX lookup finds the
last good capture before the cited date. Each head is one ``id_`` replay request, paced
with the archive's replay budget, at most ``capture_reads_per_run`` a run, and kept in the
history for good (a capture never changes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from verifier.archive.capture_choice import ReplayKind
from verifier.archive.wayback import WaybackClient
from verifier.archive.wayback_data import Capture, timestamp_datetime, timestamp_of
from verifier.citation.extract import page_facts
from verifier.citation.judge import CaptureHead
from verifier.config_sections import CitationSettings
from verifier.errors import ArchiveError, RunStopping, WaybackBlocked
from verifier.models import ArchiveInfo, ArchiveState

MAX_ARCHIVED_REDIRECTS = 3
"""Archived redirects followed from a capture to the page it led to."""


class CaptureHeads(Protocol):
    """Where capture heads are kept between runs (the history store is one)."""

    def get_capture_head(self, capture: str) -> CaptureHead | None: ...
    def put_capture_head(self, head: CaptureHead, now: dt.datetime) -> None: ...


class MemoryCaptureHeads:
    """Capture heads for one run (when there is no history)."""

    def __init__(self) -> None:
        self._heads: dict[str, CaptureHead] = {}

    def get_capture_head(self, capture: str) -> CaptureHead | None:
        return self._heads.get(capture)

    def put_capture_head(self, head: CaptureHead, now: dt.datetime) -> None:
        self._heads[head.url] = head


@dataclass(frozen=True, slots=True)
class CaptureWant:
    """A source whose verdict waits on a capture: under ``key`` (its archive key), the URL,
    the end of the cited period, and what the archive stage knows of it."""

    key: str
    url: str
    cited_end: dt.datetime
    record: ArchiveInfo | None
    generic: bool = False
    """The live page is the site's generic page (read last: a home page or a section front
    is rarely an article that changed)."""


def known_capture(want: CaptureWant, after_days: int) -> str | None:
    """The timestamp of the archive record's capture when it shows the page as cited (taken
    no later than ``after_days`` after the cited period); None when there is none."""
    record = want.record
    if record is None or record.state not in (ArchiveState.EXISTING, ArchiveState.IMPRECISE):
        return None
    if record.captured_status is not None and not 200 <= record.captured_status < 300:
        return None
    latest = want.cited_end + dt.timedelta(days=after_days)
    for timestamp in (record.resolved_timestamp, record.timestamp):
        if timestamp and len(timestamp) == 14 and timestamp_datetime(timestamp) <= latest:
            return timestamp
    return None


def reading_order(wants: Sequence[CaptureWant], after_days: int) -> list[CaptureWant]:
    """Cheapest and likeliest first, so a run's budget goes furthest: captures the archive
    stage already names (one replay each, or none when kept) before those a CDX lookup must
    find; articles before generic pages."""
    return sorted(wants, key=lambda want: (known_capture(want, after_days) is None, want.generic))


class CaptureReader:
    """Reads capture heads for one run within its budget."""

    def __init__(
        self,
        settings: CitationSettings,
        wayback: WaybackClient,
        store: CaptureHeads,
        *,
        replay_url: str,
        keep: int,
        clock: Callable[[], dt.datetime],
        stop: asyncio.Event | None = None,
    ) -> None:
        self._settings = settings
        self._wayback = wayback
        self._store = store
        self._replay_url = replay_url.rstrip("/")
        self._keep = keep
        self._clock = clock
        self._stop = stop
        self.reads = 0
        self.notices: list[str] = []

    async def read(self, wants: Sequence[CaptureWant]) -> dict[str, CaptureHead]:
        """Capture heads by ``CaptureWant.key``, from the store or read now while the run's
        budget lasts; an archive that fails ends the reading (what was read is kept)."""
        heads: dict[str, CaptureHead] = {}
        for want in reading_order(wants, self._settings.capture_after_days):
            if self._stop is not None and self._stop.is_set():
                break
            try:
                head = await self._head_for(want)
            except RunStopping:
                break
            except WaybackBlocked:
                continue  # about this one URL: excluded, or no request can name it
            except ArchiveError as exc:
                self.notices.append(f"citation check: capture heads not read ({exc})")
                break
            if head is not None:
                heads[want.key] = head
        return heads

    async def _head_for(self, want: CaptureWant) -> CaptureHead | None:
        timestamp = known_capture(want, self._settings.capture_after_days)
        if timestamp is not None:
            cached = self._store.get_capture_head(self._link(timestamp, want.url))
            if cached is not None:
                return cached
        if self.reads >= self._settings.capture_reads_per_run:
            return None
        if timestamp is None:
            latest = want.cited_end + dt.timedelta(days=self._settings.capture_after_days)
            self.reads += 1
            capture: Capture | None = await self._wayback.last_good(
                want.url, before=timestamp_of(latest)
            )
            if capture is None:
                return None
            timestamp = capture.timestamp
            cached = self._store.get_capture_head(self._link(timestamp, want.url))
            if cached is not None:
                return cached
        head = await self._read_head(timestamp, want.url)
        self._store.put_capture_head(head, self._clock())
        return head

    async def _read_head(self, timestamp: str, url: str) -> CaptureHead:
        """The capture's head, through archived redirects to the page they led to."""
        link = self._link(timestamp, url)
        target_ts, target = timestamp, url
        for _ in range(MAX_ARCHIVED_REDIRECTS + 1):
            self.reads += 1
            answer, body = await self._wayback.replay_head(target_ts, target, self._keep)
            if answer.kind is not ReplayKind.MEMENTO:
                return CaptureHead(link, None)
            if 300 <= answer.status < 400 and answer.location_url:
                target_ts = answer.location_ts or target_ts
                target = answer.location_url
                continue
            if not 200 <= answer.status < 300:
                return CaptureHead(link, None)
            return CaptureHead(link, page_facts(body, target))
        return CaptureHead(link, None)

    def _link(self, timestamp: str, url: str) -> str:
        return f"{self._replay_url}/{timestamp}/{url}"
