"""The citation check's stage of a run: which sources wait on a capture from the cited time
(their live page does not match), and reading those captures' heads with the run's Wayback
client, under the network policy and the archive's budget."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import httpx

from verifier.archive.capture_choice import cited_period
from verifier.archive.wayback import wayback_client
from verifier.archive.wayback_links import is_wayback_url
from verifier.citation.captures import CaptureHeads, CaptureReader, CaptureWant
from verifier.citation.judge import CaptureHead, needs_capture
from verifier.citation.matching import is_generic_title
from verifier.config import CitationSettings, Settings
from verifier.models import ArchiveInfo, LoadedEvent, Observation
from verifier.reports.fold import source_archive_key
from verifier.urls import host_of, is_web_url, normalize_url
from verifier.web.pacing import Schedule
from verifier.web.url_check import Clock, utc_now


def capture_wants(
    loaded: Sequence[LoadedEvent],
    observations: Mapping[str, Observation],
    archive: Mapping[str, ArchiveInfo],
    settings: CitationSettings,
) -> list[CaptureWant]:
    """The sources whose citation verdict waits on a capture from the cited time (the
    live page does not match), one per archive key."""
    wants: dict[str, CaptureWant] = {}
    for item in loaded:
        if item.event is None:
            continue
        for source in item.event.sources:
            if not is_web_url(source.url) or is_wayback_url(source.url):
                continue
            observation = observations.get(normalize_url(source.url))
            period = cited_period(source.date, item.event.date)
            if period is None or not needs_capture(source, observation, settings):
                continue
            assert observation is not None and observation.page is not None
            key = source_archive_key(source, item.event)
            generic = is_generic_title(
                observation.page, host_of(observation.final_url or observation.url)
            )
            wants.setdefault(
                key,
                CaptureWant(key, normalize_url(source.url), period[1], archive.get(key), generic),
            )
    return list(wants.values())


async def read_captures(
    settings: Settings,
    wants: Sequence[CaptureWant],
    store: CaptureHeads,
    *,
    wayback_transport: httpx.AsyncBaseTransport | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock = utc_now,
    wayback_schedule: Schedule | None = None,
) -> tuple[dict[str, CaptureHead], list[str]]:
    """The heads of the captures ``wants`` need (kept ones from ``store``, the rest read now
    within the run's budget), by archive key; and notices for the run's outcome."""
    if not wants or not settings.citation.enabled or not settings.wayback.enabled:
        return {}, []
    wayback = wayback_client(settings, wayback_transport, stop=stop, schedule=wayback_schedule)
    reader = CaptureReader(
        settings.citation,
        wayback,
        store,
        replay_url=settings.wayback.replay_url,
        keep=settings.http.max_body_bytes,
        clock=clock,
        stop=stop,
    )
    try:
        heads = await reader.read(wants)
    finally:
        await wayback.aclose()
    return heads, reader.notices
