"""I/O: is a claimed ``archive_url`` a real capture of the cited URL?

The capture must exist at that timestamp for that URL (CDX, nearest capture) → ``existing``
(with its archived status: an archived redirect is followed through replay) or
``imprecise`` (Wayback serves another good capture for it) or ``fabricated`` (naming the
nearest real capture). What each answer means is decided in ``archive_decisions``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import assert_never

from verifier.archive.capture_choice import judge_link, nearest
from verifier.archive.decisions import (
    ArchivedRedirect,
    AskIndex,
    CaptureOfAnotherUrl,
    ExactCapture,
    Fabricated,
    HopStep,
    IndexUnsure,
    NotChecked,
    NotIndexedYet,
    NotWayback,
    ResolvedElsewhere,
    hop_step,
    link_check,
    link_finding,
    wants_nearest_good,
)
from verifier.archive.tasks import replay_link
from verifier.archive.wayback import WaybackClient
from verifier.archive.wayback_data import Capture
from verifier.archive.wayback_links import WaybackLink
from verifier.config import WaybackSettings
from verifier.models import ArchiveInfo, ArchiveState
from verifier.urls import shown_url

ARCHIVED_HOPS = 4
"""Replays followed from an archived redirect to the page it leads to."""


class LinkVerifier:
    """Checks claimed archive links against the index (and replay, for redirects)."""

    def __init__(
        self,
        settings: WaybackSettings,
        client: WaybackClient,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock

    async def verify(self, url: str, archive_url: str) -> ArchiveInfo:
        """Is ``archive_url`` a capture of ``url``, and which one does Wayback serve for it?

        Exact timestamp of a capture → ``existing`` (an error page's capture is flagged);
        a timestamp (partial, calendar or off) that Wayback resolves to a good capture of
        the same URL → ``imprecise``, with that capture; anything else → ``fabricated``,
        with the nearest good capture — unless the claim is younger than the index lag."""
        now = self._clock()
        base = ArchiveInfo(state=ArchiveState.FABRICATED, url=archive_url, checked_at=now)
        match link_check(archive_url, url):
            case NotChecked(archive=name):
                return base.model_copy(
                    update={
                        "state": ArchiveState.UNVERIFIED,
                        "detail": f"a link to another archive ({name}): not checked",
                    }
                )
            case NotWayback():
                return base.model_copy(update={"detail": "not a Wayback capture URL"})
            case CaptureOfAnotherUrl(link=link):
                base = base.model_copy(update={"timestamp": link.timestamp or None})
                # suggest a capture of the cited URL
                own = await self._client.closest(url, link.moment, good_only=True)
                return base.model_copy(
                    update={
                        "detail": f"a capture of another URL ({shown_url(link.original)})",
                        "nearest_url": self._link_to(nearest(own, link.moment)),
                    }
                )
            case AskIndex(link=link):
                base = base.model_copy(update={"timestamp": link.timestamp or None})
                return await self._judged(url, link, base, now)
            case unreachable:
                assert_never(unreachable)

    async def _judged(
        self, url: str, link: WaybackLink, base: ArchiveInfo, now: dt.datetime
    ) -> ArchiveInfo:
        """A link to the cited URL, judged by the index rows nearest its moment."""
        rows = await self._client.closest(link.original, link.moment)
        verdict = judge_link(link, url, rows)
        if wants_nearest_good(verdict, rows):
            good = await self._client.closest(link.original, link.moment, good_only=True)
            verdict = replace(verdict, nearest_good=nearest(good, link.moment))
        match link_finding(link, verdict, self._settings, now):
            case ExactCapture(capture=capture, detail=detail):
                return base.model_copy(
                    update={
                        "state": ArchiveState.EXISTING,
                        "captured_status": capture.status,
                        "detail": detail,
                    }
                )
            case ArchivedRedirect(capture=capture):
                status, way = await self._where_it_leads(capture)
                return base.model_copy(
                    update={
                        "state": ArchiveState.EXISTING,
                        "captured_status": status,
                        "detail": way,
                    }
                )
            case ResolvedElsewhere(capture=capture):
                return base.model_copy(
                    update={
                        "state": ArchiveState.IMPRECISE,
                        "captured_status": capture.status,
                        "resolved_url": self._link_to(capture),
                        "resolved_timestamp": capture.timestamp,
                        "detail": verdict.detail,
                    }
                )
            case IndexUnsure():
                return base.model_copy(
                    update={"state": ArchiveState.UNVERIFIED, "detail": verdict.detail}
                )
            case NotIndexedYet():
                return base.model_copy(
                    update={
                        "state": ArchiveState.UNVERIFIED,
                        "detail": f"not in the index yet ({verdict.detail}); the claim is "
                        f"younger than the index lag allowance, so it is checked again next run",
                    }
                )
            case Fabricated():
                return base.model_copy(
                    update={
                        "nearest_url": self._link_to(verdict.nearest_good),
                        "detail": verdict.detail,
                    }
                )
            case unreachable:
                assert_never(unreachable)

    def _link_to(self, capture: Capture | None) -> str | None:
        return replay_link(capture, self._settings)

    async def _where_it_leads(self, capture: Capture) -> tuple[int | None, str]:
        """An archived redirect, followed through replay as a reader's browser would (at
        most ``ARCHIVED_HOPS`` hops): the status of the capture it ends on, and the way."""
        timestamp, url, status = capture.timestamp, capture.original, capture.status
        hops: list[str] = []
        for _ in range(ARCHIVED_HOPS):
            answer = await self._client.replay(timestamp, url)
            location = answer.location_url or ""  # named whenever the step follows it
            match hop_step(answer):
                case HopStep.ARRIVED:
                    status = answer.status
                    break
                case HopStep.NOT_ARCHIVED:
                    way = " → ".join(shown_url(hop) for hop in hops) or shown_url(url)
                    return status, f"an archived redirect to {way}, which is not archived there"
                case HopStep.FOLLOW_REDIRECT:
                    status = answer.status
                    hops.append(location)
                case HopStep.FOLLOW_WAYBACK:
                    pass  # Wayback's own redirect to the nearest capture: no hop of the page
            timestamp = answer.location_ts or timestamp
            url = location
        way = " → ".join(shown_url(hop) for hop in hops) or shown_url(url)
        return status, f"an archived redirect to {way}; the capture there answers HTTP {status}"
