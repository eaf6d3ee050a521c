"""``verifier check``: the tier rules offline, the full online check, and the pull-request gate."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from verifier.citation.judge import CitationCheck
from verifier.citation.stage import read_captures
from verifier.config import Settings
from verifier.events.discover import base_versions
from verifier.events.gate import GATE_WARN, base_urls, gate_violations, new_source_urls
from verifier.history.store import history_exists, open_history
from verifier.models import Observation, Verdict
from verifier.outcomes import CheckOutcome
from verifier.stages import (
    RunEvidence,
    check_sources,
    display_path,
    load_events,
    select_files,
)
from verifier.web.liveness import Clock, utc_now
from verifier.web.outage import answering_hosts
from verifier.web.retry import second_look_wait


def check_offline(
    settings: Settings, paths: Sequence[Path] = (), changed_since: str | None = None
) -> CheckOutcome:
    """Load the selected events and apply the tier rules; no network."""
    events = load_events(settings, select_files(settings, paths, changed_since), parallel=True)
    return CheckOutcome(events.offline, events.skipped)


async def check_online(
    settings: Settings,
    paths: Sequence[Path] = (),
    changed_since: str | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    wayback_transport: httpx.AsyncBaseTransport | None = None,
    on_result: Callable[[Observation], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> CheckOutcome:
    """Tier rules, then every distinct source URL checked once (and archived) and folded
    into the reports.

    During a network outage nothing is judged: the reports carry the offline results and
    the outcome says why the sources could not be checked.
    """
    events = load_events(settings, select_files(settings, paths, changed_since))
    urls = events.urls()
    if on_start is not None:
        on_start(len(urls))
    # archive knowledge and soft-404 probes persist in the history
    with open_history(settings) as store:
        since = utc_now() - dt.timedelta(days=settings.history.lookback_days)
        good_hosts = frozenset(answering_hosts(store.latest(urls, pages=False).values(), since))
        sources = await check_sources(
            settings,
            urls,
            events.archive_tasks(),
            transport=transport,
            wayback_transport=wayback_transport,
            archive_store=store,
            probe_cache=store,
            on_result=on_result,
            evidence=RunEvidence(good_hosts=good_hosts),
        )
        outcome = CheckOutcome(
            events.offline,
            events.skipped,
            sources.could_not_check(),
            len(sources.observations),
            sources.requests_sent,
        )
        if sources.archive is not None:
            outcome.notices.extend(sources.archive.notices)
        if sources.outage is None:
            archive = sources.archive.records if sources.archive is not None else {}
            citation = None
            if settings.citation.enabled:
                wants = events.capture_wants(sources.observations, archive, settings.citation)
                heads, notices = await read_captures(
                    settings, wants, store, wayback_transport=wayback_transport
                )
                outcome.notices.extend(notices)
                citation = CitationCheck(settings.citation, heads)
            outcome.reports = events.fold(sources.observations, archive, citation=citation)
    return outcome


async def check_changed(
    settings: Settings,
    paths: Sequence[Path],
    ref: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = utc_now,
) -> CheckOutcome:
    """The pull-request gate: tier rules on the changed events, and reachability of the
    sources they newly cite. A source the history saw alive within a day is not requested
    again; blocked or unreachable answers get one more try before they warn."""
    files = select_files(settings, paths, ref)
    events = load_events(settings, files)
    base = {
        display_path(path): base_urls(content, path)
        for path, content in base_versions(ref, files).items()
    }
    new = new_source_urls(events.loaded, base)
    known = recently_alive(settings, new, clock())
    to_check = [url for url in new if url not in known]
    sources = await check_sources(settings, to_check, [], transport=transport, clock=clock)
    observations = {**known, **sources.observations}
    doubtful = [u for u, o in sources.observations.items() if o.verdict in GATE_WARN]
    wait = second_look_wait(settings.http.retry, len(doubtful), sources.outage is not None)
    if wait is not None:
        await asyncio.sleep(wait)
        second = await check_sources(settings, doubtful, [], transport=transport, clock=clock)
        if second.outage is None:
            observations.update(second.observations)
    outcome = CheckOutcome(
        events.offline,
        events.skipped,
        sources.could_not_check(),
        len(to_check),
        sources.requests_sent,
    )
    if sources.outage is None:
        citation = CitationCheck(settings.citation) if settings.citation.enabled else None
        outcome.reports = events.fold(observations, {}, judge=gate_violations, citation=citation)
    return outcome


def recently_alive(
    settings: Settings, urls: Sequence[str], now: dt.datetime
) -> dict[str, Observation]:
    """Observations of ``urls`` that the history (if any) saw alive within a day."""
    if not urls or not history_exists(settings):
        return {}
    with open_history(settings) as store:
        latest = store.latest(urls)
    return {
        url: observation
        for url, observation in latest.items()
        if observation.verdict is Verdict.ALIVE
        and now - observation.checked_at <= dt.timedelta(days=1)
    }
