"""I/O: which capture a source without an ``archive_url`` should cite.

The 2xx capture closest before the end of the cited period, else the closest after
(InternetArchiveBot's rule) → ``existing`` or ``missing``; a dead source gets its last good
capture as the suggested replacement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from verifier.archive.decisions import earlier_capture_due
from verifier.archive.tasks import ArchiveTask, replay_link
from verifier.archive.wayback import WaybackClient
from verifier.archive.wayback_data import Capture, timestamp_of
from verifier.config import WaybackSettings
from verifier.models import ArchiveInfo, ArchiveState


class CaptureLookup:
    """Looks up the captures a citation can use."""

    def __init__(
        self,
        settings: WaybackSettings,
        client: WaybackClient,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock

    async def lookup(self, task: ArchiveTask) -> tuple[ArchiveInfo, Capture | None]:
        """The citation's capture — the good one closest before the end of the cited period
        (the source's date, else the event's), else the first after — and the newest good
        capture, which decides whether a new one is due."""
        now = self._clock()
        latest = await self._client.last_good(task.url)
        if latest is None:
            return ArchiveInfo(state=ArchiveState.MISSING, checked_at=now), None
        chosen: Capture | None = latest
        end = earlier_capture_due(latest, task.period)
        if end is not None:
            chosen = await self._client.last_good(
                task.url, before=end
            ) or await self._client.first_good_after(task.url, end)
        chosen = chosen or latest
        info = ArchiveInfo(
            state=ArchiveState.EXISTING,
            url=replay_link(chosen, self._settings),
            timestamp=chosen.timestamp,
            captured_status=chosen.status,
            checked_at=now,
        )
        if latest.timestamp != chosen.timestamp:
            info = info.model_copy(
                update={
                    "latest_url": replay_link(latest, self._settings),
                    "latest_timestamp": latest.timestamp,
                }
            )
        return info, latest

    async def replacement(self, task: ArchiveTask) -> ArchiveInfo:
        """For a dead source: the last good capture before it died, offered as replacement."""
        capture = await self._client.last_good(task.url, before=timestamp_of(self._clock()))
        if capture is None:
            return ArchiveInfo(
                state=ArchiveState.MISSING,
                checked_at=self._clock(),
                detail="the source is dead and the Wayback Machine has no good capture",
            )
        return ArchiveInfo(
            state=ArchiveState.EXISTING,
            url=replay_link(capture, self._settings),
            timestamp=capture.timestamp,
            captured_status=capture.status,
            suggested=True,
            checked_at=self._clock(),
            detail="last good capture: the suggested replacement",
        )
