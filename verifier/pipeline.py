"""Orchestration only: select files → load → rules → (checks) → event reports."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verifier.config import Settings
from verifier.discover import changed_event_files, find_event_files
from verifier.models import EventReport, EventSummary, LoadedEvent, SourceReport, result_of
from verifier.parse import Skipped, load_event_file
from verifier.rules import RuleContext, check_rules, declared_tier


@dataclass(slots=True)
class CheckOutcome:
    reports: list[EventReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


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


def check_offline(
    settings: Settings, paths: Sequence[Path] = (), changed_since: str | None = None
) -> CheckOutcome:
    """Load the selected events and apply the tier rules; no network."""
    files = select_files(settings, paths, changed_since)
    loaded, skipped = load_all(files)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    return CheckOutcome([offline_report(ctx, item) for item in loaded], skipped)
