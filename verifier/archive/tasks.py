"""The archiver's public data: a task, what a run learnt, where the knowledge is kept, and
how records name a capture."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from verifier.archive.capture_choice import cited_period
from verifier.archive.wayback_data import Capture, looks_fabricated
from verifier.archive.wayback_links import WaybackLink, parse_archive_link
from verifier.config import WaybackSettings
from verifier.models import ArchiveInfo, ArchiveState, Verdict
from verifier.reports.fold import archive_key, cited_day

VerdictOf = Callable[[str], Awaitable[Verdict | None]]
"""The liveness verdict of a source URL, once the liveness checks reach it (None: none)."""


@dataclass(frozen=True, slots=True)
class ArchiveTask:
    """One distinct source URL to preserve; ``url`` is the normalised key. ``source_date``
    (else ``event_date``) names the cited period: the citation's capture is the good one
    closest before its end."""

    url: str
    archive_url: str | None = None
    source_date: str | None = None
    tier: int | None = None
    event_date: str | None = None

    @property
    def key(self) -> str:
        """Records are kept per URL and claimed archive link, or per URL and cited day."""
        return archive_key(self.url, self.archive_url, cited_day(self.source_date, self.event_date))

    @property
    def period(self) -> tuple[dt.datetime, dt.datetime] | None:
        return cited_period(self.source_date, self.event_date)

    def priority(self, known: ArchiveInfo | None) -> tuple[int, ...]:
        link = parse_archive_link(self.archive_url) if self.archive_url else None
        suspicious = self.archive_url is not None and (
            not isinstance(link, WaybackLink) or not link.exact or looks_fabricated(link.timestamp)
        )
        previously_bad = known is not None and (
            known.suggested
            or known.state
            in (ArchiveState.FABRICATED, ArchiveState.IMPRECISE, ArchiveState.PENDING)
        )
        return (
            0 if suspicious else 1,
            0 if previously_bad else 1,
            0 if known is None else 1,
            self.tier or 9,
        )


class ArchiveStore(Protocol):
    """What the archiver knows, by normalised URL (kept in the history database)."""

    def get(self, url: str) -> ArchiveInfo | None: ...

    def put(self, url: str, info: ArchiveInfo) -> None: ...


@dataclass(slots=True)
class MemoryArchiveStore:
    records: dict[str, ArchiveInfo] = field(default_factory=dict)

    def get(self, url: str) -> ArchiveInfo | None:
        return self.records.get(url)

    def put(self, url: str, info: ArchiveInfo) -> None:
        self.records[url] = info


@dataclass(slots=True)
class ArchiveRun:
    records: dict[str, ArchiveInfo] = field(default_factory=dict)
    remaining: int = 0
    notices: list[str] = field(default_factory=list)
    archive_down: str | None = None


def replay_link(capture: Capture | None, settings: WaybackSettings) -> str | None:
    """The replay link of a capture, as links are written into event files."""
    return None if capture is None else capture.replay_url(settings.replay_url)
