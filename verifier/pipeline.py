"""Orchestration only: select files → load → rules → (checks) → event reports."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from verifier.config import Settings
from verifier.discover import changed_event_files, find_event_files
from verifier.liveness import LinkChecker
from verifier.models import (
    EventReport,
    EventSummary,
    LoadedEvent,
    Observation,
    SourceReport,
    result_of,
)
from verifier.parse import Skipped, load_event_file
from verifier.rules import RuleContext, check_rules, declared_tier, verdict_violations
from verifier.status import decide_status
from verifier.urls import is_web_url, normalize_url


@dataclass(slots=True)
class CheckOutcome:
    reports: list[EventReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    outage: str | None = None
    urls_checked: int = 0
    requests_sent: int = 0


def display_path(path: Path) -> str:
    """The path as reports show it: relative to the working folder when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def select_files(
    settings: Settings, paths: Sequence[Path], changed_since: str | None
) -> list[Path]:
    """The event files a check covers: changed since a ref, given paths, or the events folder."""
    roots = list(paths) or [settings.resolve(settings.paths.events)]
    if changed_since is not None:
        changed: list[Path] = []
        for root in roots:
            changed.extend(
                changed_event_files(changed_since, root if root.is_dir() else root.parent)
            )
        return sorted(set(changed))
    return find_event_files(roots)


def load_all(files: Sequence[Path]) -> tuple[list[LoadedEvent], list[Skipped]]:
    loaded: list[LoadedEvent] = []
    skipped: list[Skipped] = []
    for path in files:
        outcome = load_event_file(path, display_path(path))
        (skipped if isinstance(outcome, Skipped) else loaded).append(outcome)  # type: ignore[arg-type]
    return loaded, skipped


def source_reports(ctx: RuleContext, loaded: LoadedEvent) -> list[SourceReport]:
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


def offline_report(ctx: RuleContext, loaded: LoadedEvent) -> EventReport:
    violations = check_rules(ctx, loaded)
    return EventReport(
        event=event_summary(loaded),
        result=result_of(violations),
        sources=source_reports(ctx, loaded),
        violations=violations,
    )


def web_urls(loaded: Sequence[LoadedEvent]) -> list[str]:
    """Every distinct checkable source URL, normalised, in first-cited order."""
    urls: dict[str, None] = {}
    for item in loaded:
        if item.event is not None:
            for source in item.event.sources:
                if is_web_url(source.url):
                    urls.setdefault(normalize_url(source.url), None)
    return list(urls)


def fold_observations(
    ctx: RuleContext,
    loaded: LoadedEvent,
    report: EventReport,
    observations: Mapping[str, Observation],
) -> EventReport:
    """Put each source's observation into the event's report, with the violations it brings."""
    if loaded.event is None:
        return report
    checked: dict[int, Observation] = {}
    sources = []
    for source_report, source in zip(report.sources, loaded.event.sources, strict=True):
        observation = observations.get(normalize_url(source.url)) if source.url else None
        if observation is None:
            sources.append(source_report)
            continue
        checked[source_report.index] = observation
        sources.append(
            source_report.model_copy(
                update={
                    "verdict": observation.verdict,
                    "status": decide_status([observation]),
                    "http_status": observation.http_status,
                    "final_url": observation.final_url,
                    "attempts": observation.attempts,
                    "checked_at": observation.checked_at,
                    "detail": observation.detail,
                }
            )
        )
    violations = [*report.violations, *verdict_violations(ctx, loaded, checked)]
    return report.model_copy(
        update={"sources": sources, "violations": violations, "result": result_of(violations)}
    )


async def check_online(
    settings: Settings,
    paths: Sequence[Path] = (),
    changed_since: str | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_result: Callable[[Observation], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> CheckOutcome:
    """Tier rules, then every distinct source URL checked once and folded into the reports.

    During a network outage nothing is judged: the reports carry the offline results and
    ``outage`` says why the sources could not be checked.
    """
    files = select_files(settings, paths, changed_since)
    loaded, skipped = load_all(files)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    reports = [offline_report(ctx, item) for item in loaded]
    urls = web_urls(loaded)
    if on_start is not None:
        on_start(len(urls))
    async with LinkChecker(settings, transport=transport) as checker:
        run = await checker.check_all(urls, on_result=on_result)
    outcome = CheckOutcome(reports, skipped, run.outage, len(urls), run.requests_sent)
    if run.outage is None:
        outcome.reports = [
            fold_observations(ctx, item, report, run.observations)
            for item, report in zip(loaded, reports, strict=True)
        ]
    return outcome


def check_offline(
    settings: Settings, paths: Sequence[Path] = (), changed_since: str | None = None
) -> CheckOutcome:
    """Load the selected events and apply the tier rules; no network."""
    files = select_files(settings, paths, changed_since)
    loaded, skipped = load_all(files)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    return CheckOutcome([offline_report(ctx, item) for item in loaded], skipped)
