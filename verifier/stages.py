"""The pipeline's stages, which every command composes:

select files → load (and validate) → rules → check sources (liveness, and archiving beside
it) → fold the results into event reports. Writing the reports folder is the nightly run's
last stage (``verifier.reports.nightly``).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from verifier.archive.archiver import (
    Archiver,
    ArchiveRun,
    ArchiveStore,
    ArchiveTask,
    MemoryArchiveStore,
)
from verifier.archive.verdict_board import VerdictBoard
from verifier.archive.wayback import wayback_client
from verifier.archive.wayback_links import is_wayback_url
from verifier.citation.captures import CaptureWant
from verifier.citation.judge import CitationCheck
from verifier.citation.stage import capture_wants
from verifier.config import CitationSettings, Settings, SourcesSettings
from verifier.events.discover import changed_event_files, events_folder_of, find_event_files
from verifier.events.parse import DEFAULT_LIMITS, Skipped, load_event_file
from verifier.events.rules import RuleContext, check_rules, declared_tier
from verifier.models import (
    ArchiveInfo,
    EventReport,
    EventSummary,
    LoadedEvent,
    Observation,
    SourceReport,
    Status,
    Verdict,
    result_of,
)
from verifier.outcomes import CouldNotCheck, Shortfall
from verifier.reports.fold import Judge, fold_sources
from verifier.reports.selection import ignored_in, without_rules
from verifier.urls import is_web_url, normalize_url
from verifier.web.liveness import Clock, LinkChecker, ProbeCache, utc_now
from verifier.web.pacing import Schedule

# -- select ---------------------------------------------------------------------------------


def display_path(path: Path) -> str:
    """The path as reports show it: relative to the working folder when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def select_files(
    settings: Settings, paths: Sequence[Path] = (), changed_since: str | None = None
) -> list[Path]:
    """The event files a command covers: changed since a ref, given paths, or the events folder."""
    roots = list(paths) or [settings.resolve(settings.paths.events)]
    if changed_since is not None:
        changed: list[Path] = []
        for root in roots:
            changed.extend(
                changed_event_files(changed_since, root if root.is_dir() else root.parent)
            )
        return sorted(set(changed))
    return find_event_files(roots)


# -- load and rules -------------------------------------------------------------------------


@dataclass(slots=True)
class Events:
    """The events of one command after loading and the tier rules."""

    ctx: RuleContext
    loaded: list[LoadedEvent] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    offline: list[EventReport] = field(default_factory=list)  # one per loaded event
    sources: SourcesSettings = field(default_factory=SourcesSettings)

    def urls(self) -> list[str]:
        """Every distinct checkable source URL, normalised, in first-cited order (those
        ``[sources]`` excludes left out)."""
        return [url for url in web_urls(self.loaded) if not self.sources.excludes(url)]

    def archive_tasks(self) -> list[ArchiveTask]:
        return [
            task
            for task in archive_tasks(self.ctx, self.loaded)
            if not self.sources.excludes(task.url)
        ]

    def fold(
        self,
        observations: Mapping[str, Observation],
        archive: Mapping[str, ArchiveInfo],
        *,
        statuses: Mapping[str, Status] | None = None,
        judge: Judge | None = None,
        citation: CitationCheck | None = None,
    ) -> list[EventReport]:
        """The offline reports with what was observed of each source folded in."""
        return [
            fold_sources(
                self.ctx,
                item,
                report,
                observations,
                archive,
                statuses=statuses,
                judge=judge,
                citation=citation,
            )
            for item, report in zip(self.loaded, self.offline, strict=True)
        ]

    def capture_wants(
        self,
        observations: Mapping[str, Observation],
        archive: Mapping[str, ArchiveInfo],
        settings: CitationSettings,
    ) -> list[CaptureWant]:
        """The sources whose citation verdict waits on a capture from the cited time."""
        return capture_wants(self.loaded, observations, archive, settings)


def load_all(
    files: Sequence[Path], settings: Settings | None = None
) -> tuple[list[LoadedEvent], list[Skipped]]:
    """Load every file under ``settings.limits``, none read through a link out of the events
    folder (without settings: the default limits, and each file's own folder)."""
    limits = settings.limits if settings is not None else DEFAULT_LIMITS
    events = settings.resolve(settings.paths.events) if settings is not None else None
    loaded: list[LoadedEvent] = []
    skipped: list[Skipped] = []
    for path in files:
        folder = events_folder_of(path, events)
        outcome = load_event_file(path, display_path(path), limits, folder)
        if isinstance(outcome, Skipped):
            skipped.append(outcome)
        else:
            loaded.append(outcome)
    return loaded, skipped


def load_events(settings: Settings, files: Sequence[Path], *, parallel: bool = False) -> Events:
    """Load ``files`` and apply the tier rules; with ``parallel``, on every core when there
    are many files (a forked pool: call it only where no event loop or thread runs)."""
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    workers = min(os.cpu_count() or 1, 4)
    if (
        not parallel
        or len(files) < PARALLEL_FROM
        or workers < 2
        or "fork" not in mp.get_all_start_methods()
    ):
        return _load_chunk(ctx, settings, files)
    chunks = [files[start::workers] for start in range(workers)]
    global _FORKED_CONTEXT  # noqa: PLW0603 - inherited by the forked workers, never pickled
    _FORKED_CONTEXT = ctx, settings
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_load_forked_chunk, chunks)
    finally:
        _FORKED_CONTEXT = None
    order = {display_path(path): position for position, path in enumerate(files)}
    pairs = sorted(
        (pair for loaded, _, offline in parts for pair in zip(loaded, offline, strict=True)),
        key=lambda pair: order[pair[0].path],
    )
    return Events(
        ctx,
        [item for item, _ in pairs],
        [skipped for _, part_skipped, _ in parts for skipped in part_skipped],
        [report for _, report in pairs],
        settings.sources,
    )


PARALLEL_FROM = 400
"""Above this many files loading runs on every core (a forked pool costs ~50 ms)."""


_FORKED_CONTEXT: tuple[RuleContext, Settings] | None = None


def _load_forked_chunk(
    files: Sequence[Path],
) -> tuple[list[LoadedEvent], list[Skipped], list[EventReport]]:
    """One worker's part; the rule context stays behind (it is not picklable)."""
    assert _FORKED_CONTEXT is not None
    part = _load_chunk(*_FORKED_CONTEXT, files=files)
    return part.loaded, part.skipped, part.offline


def _load_chunk(ctx: RuleContext, settings: Settings, files: Sequence[Path]) -> Events:
    loaded, skipped = load_all(files, settings)
    offline = [offline_report(ctx, item) for item in loaded]
    return Events(ctx, loaded, skipped, offline, settings.sources)


def offline_report(ctx: RuleContext, loaded: LoadedEvent) -> EventReport:
    """The event's report under the tier rules alone."""
    violations = check_rules(ctx, loaded)
    report = EventReport(
        event=event_summary(loaded),
        result=result_of(violations),
        sources=_source_reports(ctx, loaded),
        violations=violations,
    )
    return without_rules(report, ignored_in(loaded.raw))


def event_summary(loaded: LoadedEvent) -> EventSummary:
    event = loaded.event
    if event is not None:
        return EventSummary(
            id=event.id,
            file=loaded.path,
            title=event.title,
            date=event.date,
            importance=event.importance,
        )
    raw = loaded.raw
    return EventSummary(
        id=raw["id"] if isinstance(raw.get("id"), str) else loaded.stem,
        file=loaded.path,
        title=raw["title"] if isinstance(raw.get("title"), str) else None,
        date=raw["date"] if isinstance(raw.get("date"), str) else None,
    )


def _source_reports(ctx: RuleContext, loaded: LoadedEvent) -> list[SourceReport]:
    if loaded.event is None:
        return []
    return [
        SourceReport(
            index=index,
            url=source.url,
            tier=source.tier if declared_tier(source) is not None else None,
            effective_tier=ctx.effective_tier(source),
            publisher=source.publisher,
            line=loaded.line_of("sources", index),
        )
        for index, source in enumerate(loaded.event.sources)
    ]


def web_urls(loaded: Sequence[LoadedEvent]) -> list[str]:
    """Every distinct checkable source URL, normalised, in first-cited order."""
    urls: dict[str, None] = {}
    for item in loaded:
        if item.event is not None:
            for source in item.event.sources:
                if is_web_url(source.url):
                    urls.setdefault(normalize_url(source.url), None)
    return list(urls)


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


# -- check sources: liveness, and archiving beside it ----------------------------------------


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

    def could_not_check(self) -> list[CouldNotCheck]:
        """What this run could not check: no source (the network), or the archive."""
        if self.outage is not None:
            return [CouldNotCheck(Shortfall.OUTAGE, self.outage)]
        if self.archive is not None and self.archive.archive_down is not None:
            return [CouldNotCheck(Shortfall.ARCHIVE_DOWN, self.archive.archive_down)]
        return []


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
    wayback_schedule: Schedule | None = None,
) -> SourcesRun:
    """Liveness of ``urls`` and, beside it on its own queue, the archive ``tasks``.

    ``stop`` ends both promptly (no new request; in-flight ones finish). ``evidence`` is
    what the history knows: verdicts of URLs not checked now (for the archiver), hosts
    known to answer and this run's earlier observations (for the outage watch).
    ``wayback_schedule`` shares the Wayback budgets with other processes.
    """
    evidence = evidence or RunEvidence()
    urls = [normalize_url(url) for url in urls]
    board = VerdictBoard(urls, evidence.verdicts)

    def observed(observation: Observation) -> None:
        board.post(observation)
        if on_result is not None:
            on_result(observation)

    tasks = tasks if settings.wayback.enabled else []
    wayback = wayback_client(settings, wayback_transport, stop=stop, schedule=wayback_schedule)
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
