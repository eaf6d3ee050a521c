"""Orchestration of the online stages: liveness beside archiving, the full check, the gate."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from verifier.archive import Archiver, ArchiveRun, ArchiveStore, ArchiveTask, MemoryArchiveStore
from verifier.config import Settings
from verifier.discover import base_versions
from verifier.fold import fold_sources
from verifier.gate import GATE_WARN, base_urls, gate_violations, new_source_urls
from verifier.history import SQLiteHistory
from verifier.liveness import Clock, LinkChecker, ProbeCache, utc_now
from verifier.models import LoadedEvent, Observation, Verdict
from verifier.outage import answering_hosts
from verifier.pipeline import (
    CheckOutcome,
    display_path,
    load_all,
    offline_report,
    select_files,
    web_urls,
)
from verifier.rules import RuleContext
from verifier.urls import is_web_url, normalize_url
from verifier.wayback import WaybackClient
from verifier.wayback_links import is_wayback_url


def archive_tasks(ctx: RuleContext, loaded: Sequence[LoadedEvent]) -> list[ArchiveTask]:
    """One task per distinct (URL, archive_url) pair — without an archive_url, per URL and
    cited day — with the best tier citing it. A source that is itself a Wayback capture is
    already archived: it is neither looked up nor submitted for capture."""
    tasks: dict[str, ArchiveTask] = {}
    for item in loaded:
        if item.event is None:
            continue
        for source in item.event.sources:
            if not is_web_url(source.url) or is_wayback_url(source.url):
                continue
            task = ArchiveTask(
                normalize_url(source.url),
                (source.archive_url or "").strip() or None,
                source.date,
                ctx.effective_tier(source),
                item.event.date,
            )
            known = tasks.get(task.key)
            if known is None or (task.tier or 9) < (known.tier or 9):
                tasks[task.key] = task
    return list(tasks.values())


class VerdictBoard:
    """Verdicts as liveness produces them, awaited by the archiver (which needs to know
    whether a source is alive before capturing it, or dead before offering a replacement).

    Only URLs checked in this run are waited for; any other URL is answered at once with
    what the history last saw (``known``), or None. After ``close`` every wait, present or
    future, is answered: a URL left unchecked (stop, outage) gets None.
    """

    def __init__(self, checking: Iterable[str], known: Mapping[str, Verdict] | None = None):
        self._checking = set(checking)
        self._known = dict(known or {})
        self._futures: dict[str, asyncio.Future[Verdict | None]] = {}
        self._closed = False

    def _future(self, url: str) -> asyncio.Future[Verdict | None]:
        future = self._futures.get(url)
        if future is None:
            future = self._futures[url] = asyncio.get_running_loop().create_future()
        return future

    def post(self, observation: Observation) -> None:
        future = self._future(observation.url)
        if not future.done():
            future.set_result(observation.verdict)

    def has_verdict(self, url: str) -> bool:
        """Would ``verdict_of`` answer ``url`` without waiting?"""
        if self._closed or url not in self._checking:
            return True
        future = self._futures.get(url)
        return future is not None and future.done()

    async def verdict_of(self, url: str) -> Verdict | None:
        future = self._futures.get(url)
        if future is not None and future.done():
            return future.result()
        if url not in self._checking:
            return self._known.get(url)
        if self._closed:
            return None
        return await self._future(url)

    def close(self) -> None:
        """No more verdicts will come (run over, stopped, or an outage)."""
        self._closed = True
        for future in self._futures.values():
            if not future.done():
                future.set_result(None)


@dataclass(frozen=True, slots=True)
class RunEvidence:
    """What the history knows before a run (see ``check_sources``)."""

    verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    good_hosts: frozenset[str] = frozenset()
    seen: Sequence[Observation] = ()


@dataclass(slots=True)
class SourcesRun:
    observations: dict[str, Observation] = field(default_factory=dict)
    archive: ArchiveRun | None = None
    outage: str | None = None
    requests_sent: int = 0


async def check_sources(
    settings: Settings,
    urls: Sequence[str],
    tasks: Sequence[ArchiveTask],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    wayback_transport: httpx.AsyncBaseTransport | None = None,
    archive_store: ArchiveStore | None = None,
    probe_cache: ProbeCache | None = None,
    on_result: Callable[[Observation], None] | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock = utc_now,
    evidence: RunEvidence | None = None,
) -> SourcesRun:
    """Liveness of ``urls`` and, beside it on its own queue, the archive ``tasks``.

    ``stop`` ends both promptly (no new request; in-flight ones finish). ``evidence`` is
    what the history knows: verdicts of URLs not checked now (for the archiver), hosts
    known to answer and this run's earlier observations (for the outage watch).
    """
    evidence = evidence or RunEvidence()
    urls = [normalize_url(url) for url in urls]
    board = VerdictBoard(urls, evidence.verdicts)

    def observed(observation: Observation) -> None:
        board.post(observation)
        if on_result is not None:
            on_result(observation)

    tasks = tasks if settings.wayback.enabled else []
    wayback = WaybackClient(
        settings.wayback, settings.http.user_agent, wayback_transport, stop=stop
    )
    archiver = Archiver(
        settings.wayback, wayback, archive_store or MemoryArchiveStore(), clock, stop=stop
    )
    try:
        async with LinkChecker(
            settings, transport=transport, clock=clock, probe_cache=probe_cache
        ) as checker:
            archiving = asyncio.create_task(
                archiver.run(tasks, board.verdict_of, board.has_verdict)
            )
            try:
                run = await checker.check_all(
                    urls,
                    on_result=observed,
                    stop=stop,
                    known_good_hosts=evidence.good_hosts,
                    seen=evidence.seen,
                )
            except BaseException:
                archiving.cancel()
                raise
            finally:
                board.close()
            archive_run: ArchiveRun | None = None
            if run.outage is not None:
                archiving.cancel()  # without a network there is nothing to archive either
                with contextlib.suppress(asyncio.CancelledError):
                    await archiving
            else:
                archive_run = await archiving
    finally:
        await wayback.aclose()
    return SourcesRun(
        run.observations, archive_run if tasks else None, run.outage, run.requests_sent
    )


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
    ``outage`` says why the sources could not be checked.
    """
    files = select_files(settings, paths, changed_since)
    loaded, skipped = load_all(files, settings)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    reports = [offline_report(ctx, item) for item in loaded]
    if on_start is not None:
        on_start(len(web_urls(loaded)))
    store = SQLiteHistory(settings.resolve(settings.history.path))  # archive knowledge persists
    try:
        urls = web_urls(loaded)
        since = utc_now() - dt.timedelta(days=settings.history.lookback_days)
        good_hosts = frozenset(answering_hosts(store.latest(urls).values(), since))
        sources = await check_sources(
            settings,
            urls,
            archive_tasks(ctx, loaded),
            transport=transport,
            wayback_transport=wayback_transport,
            archive_store=store,
            probe_cache=store,
            on_result=on_result,
            evidence=RunEvidence(good_hosts=good_hosts),
        )
    finally:
        store.close()
    outcome = CheckOutcome(
        reports, skipped, sources.outage, len(sources.observations), sources.requests_sent
    )
    if sources.archive is not None:
        outcome.notices.extend(sources.archive.notices)
        outcome.archive_down = sources.archive.archive_down
    if sources.outage is None:
        archive = sources.archive.records if sources.archive is not None else {}
        outcome.reports = [
            fold_sources(ctx, item, report, sources.observations, archive)
            for item, report in zip(loaded, reports, strict=True)
        ]
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
    loaded, skipped = load_all(files, settings)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    reports = [offline_report(ctx, item) for item in loaded]
    base = {
        display_path(path): base_urls(content, path)
        for path, content in base_versions(ref, files).items()
    }
    new = new_source_urls(loaded, base)
    known = recently_alive(settings, new, clock())
    to_check = [url for url in new if url not in known]
    sources = await check_sources(settings, to_check, [], transport=transport, clock=clock)
    observations = {**known, **sources.observations}
    doubtful = [u for u, o in sources.observations.items() if o.verdict in GATE_WARN]
    if doubtful and sources.outage is None:
        await asyncio.sleep(settings.http.retry.backoff_max)
        second = await check_sources(settings, doubtful, [], transport=transport, clock=clock)
        if second.outage is None:
            observations.update(second.observations)
    outcome = CheckOutcome(reports, skipped, sources.outage, len(to_check), sources.requests_sent)
    if sources.outage is None:
        outcome.reports = [
            fold_sources(ctx, item, report, observations, {}, judge=gate_violations)
            for item, report in zip(loaded, reports, strict=True)
        ]
    return outcome


def recently_alive(
    settings: Settings, urls: Sequence[str], now: dt.datetime
) -> dict[str, Observation]:
    """Observations of ``urls`` that the history (if any) saw alive within a day."""
    path = settings.resolve(settings.history.path)
    if not urls or not path.is_file():
        return {}
    store = SQLiteHistory(path)
    try:
        latest = store.latest(urls)
    finally:
        store.close()
    return {
        url: observation
        for url, observation in latest.items()
        if observation.verdict is Verdict.ALIVE
        and now - observation.checked_at <= dt.timedelta(days=1)
    }
