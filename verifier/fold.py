"""Pure: fold what the checks found (observations, archive records) into event reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from verifier.models import (
    ArchiveInfo,
    ArchiveState,
    EventReport,
    LoadedEvent,
    Observation,
    Severity,
    Violation,
    result_of,
)
from verifier.rules import RuleContext, verdict_violations
from verifier.status import decide_status
from verifier.urls import normalize_url

Judge = Callable[[RuleContext, LoadedEvent, Mapping[int, Observation]], list[Violation]]
"""Turns the checked sources of an event into violations (nightly rules, or the PR gate's)."""


def archive_key(url: str, archive_url: str | None) -> str:
    """The key archive records are kept under (see ``ArchiveTask.key``)."""
    normal = normalize_url(url)
    claimed = (archive_url or "").strip()
    return f"{normal} {claimed}" if claimed else normal


def archive_violations(
    ctx: RuleContext, loaded: LoadedEvent, records: Mapping[int, ArchiveInfo]
) -> list[Violation]:
    """A fabricated archive link is an error; a real capture of an error page, a warning."""
    violations = []
    for index, info in sorted(records.items()):
        line = loaded.line_of("sources", index, "archive_url")
        if info.state is ArchiveState.FABRICATED:
            rule, message = (
                "archive-fabricated",
                f"archive_url is not a real capture: {info.detail}",
            )
            if info.nearest_url:
                message += f" (use {info.nearest_url})"
        elif (
            info.state is ArchiveState.EXISTING
            and info.captured_status is not None
            and not (200 <= info.captured_status < 300)
            and not info.suggested
        ):
            rule, message = (
                "archive-error-capture",
                f"archive_url captured HTTP {info.captured_status}",
            )
        else:
            continue
        severity = ctx.severities[rule]
        if severity != "off":
            violations.append(
                Violation(
                    rule=rule,
                    severity=Severity(severity),
                    message=message,
                    source_index=index,
                    line=line,
                )
            )
    return violations


def fold_sources(
    ctx: RuleContext,
    loaded: LoadedEvent,
    report: EventReport,
    observations: Mapping[str, Observation],
    archive: Mapping[str, ArchiveInfo],
    *,
    statuses: Mapping[str, object] | None = None,
    judge: Judge | None = None,
) -> EventReport:
    """Each source's observation and archive record into the event's report, with the
    violations they bring; ``statuses`` (from history) override the one-night status."""
    if loaded.event is None:
        return report
    checked: dict[int, Observation] = {}
    archived: dict[int, ArchiveInfo] = {}
    sources = []
    for source_report, source in zip(report.sources, loaded.event.sources, strict=True):
        update: dict[str, object] = {}
        observation = observations.get(normalize_url(source.url)) if source.url else None
        if observation is not None:
            checked[source_report.index] = observation
            status = (statuses or {}).get(observation.url) or decide_status([observation])
            update.update(
                verdict=observation.verdict,
                status=status,
                http_status=observation.http_status,
                final_url=observation.final_url,
                attempts=observation.attempts,
                checked_at=observation.checked_at,
                detail=observation.detail,
            )
        record = archive.get(archive_key(source.url, source.archive_url)) if source.url else None
        if record is not None:
            archived[source_report.index] = record
            update["archive"] = record
        sources.append(source_report.model_copy(update=update) if update else source_report)
    violations = [
        *report.violations,
        *(judge or verdict_violations)(ctx, loaded, checked),
        *archive_violations(ctx, loaded, archived),
    ]
    return report.model_copy(
        update={"sources": sources, "violations": violations, "result": result_of(violations)}
    )
