"""Orchestration only: select files → load → rules → (checks) → event reports."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verifier.config import Settings
from verifier.discover import changed_event_files, events_folder_of, find_event_files
from verifier.models import (
    EventReport,
    EventSummary,
    LoadedEvent,
    SourceReport,
    result_of,
)
from verifier.parse import DEFAULT_LIMITS, Skipped, load_event_file
from verifier.rules import RuleContext, check_rules, declared_tier
from verifier.urls import is_web_url, normalize_url


@dataclass(slots=True)
class CheckOutcome:
    reports: list[EventReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    outage: str | None = None
    urls_checked: int = 0
    requests_sent: int = 0
    notices: list[str] = field(default_factory=list)
    archive_down: str | None = None


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


def check_offline(
    settings: Settings, paths: Sequence[Path] = (), changed_since: str | None = None
) -> CheckOutcome:
    """Load the selected events and apply the tier rules; no network."""
    files = select_files(settings, paths, changed_since)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    workers = min(os.cpu_count() or 1, 4)
    if len(files) < PARALLEL_FROM or workers < 2 or "fork" not in mp.get_all_start_methods():
        return _check_chunk(ctx, settings, files)
    chunks = [files[start::workers] for start in range(workers)]
    global _FORKED_CONTEXT  # noqa: PLW0603 - inherited by the forked workers, never pickled
    _FORKED_CONTEXT = ctx, settings
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_check_forked_chunk, chunks)
    finally:
        _FORKED_CONTEXT = None
    order = {display_path(path): position for position, path in enumerate(files)}
    reports = sorted(
        (report for part in parts for report in part.reports),
        key=lambda report: order[report.event.file],
    )
    return CheckOutcome(reports, [s for part in parts for s in part.skipped])


PARALLEL_FROM = 400
"""Above this many files the offline check parses on every core (a forked pool costs ~50 ms)."""


_FORKED_CONTEXT: tuple[RuleContext, Settings] | None = None


def _check_forked_chunk(files: Sequence[Path]) -> CheckOutcome:
    assert _FORKED_CONTEXT is not None
    return _check_chunk(*_FORKED_CONTEXT, files=files)


def _check_chunk(ctx: RuleContext, settings: Settings, files: Sequence[Path]) -> CheckOutcome:
    loaded, skipped = load_all(files, settings)
    return CheckOutcome([offline_report(ctx, item) for item in loaded], skipped)
