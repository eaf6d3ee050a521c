"""Pure: fold what the checks found (observations, archive records) into event reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from verifier.archive.capture_choice import cited_period
from verifier.citation.findings import citation_violations
from verifier.citation.judge import CitationCheck
from verifier.events.rules import RuleContext, verdict_violations
from verifier.history.status import decide_status
from verifier.models import (
    ArchiveInfo,
    ArchiveState,
    CitationInfo,
    Event,
    EventReport,
    LoadedEvent,
    Observation,
    Severity,
    Source,
    Violation,
    result_of,
)
from verifier.reports.selection import ignored_in, without_rules
from verifier.urls import normalize_url

Judge = Callable[[RuleContext, LoadedEvent, Mapping[int, Observation]], list[Violation]]
"""Turns the checked sources of an event into violations (nightly rules, or the PR gate's)."""


def archive_key(url: str, archive_url: str | None, cited_day: str | None = None) -> str:
    """The key archive records are kept under (see ``ArchiveTask.key``): per URL and claimed
    archive link; without a link, per URL and the last day of the cited period (the capture
    chosen depends on nothing else, so a URL cited under two dates gets two lookups)."""
    normal = normalize_url(url)
    claimed = (archive_url or "").strip()
    if claimed:
        return f"{normal} {claimed}"
    return f"{normal} @{cited_day}" if cited_day else normal


def cited_day(source_date: object, event_date: object) -> str | None:
    """The last day (ISO) of the period a source's date names, else its event's date."""
    period = cited_period(source_date, event_date)
    return None if period is None else period[1].date().isoformat()


def source_archive_key(source: Source, event: Event) -> str:
    return archive_key(source.url, source.archive_url, cited_day(source.date, event.date))


def archive_violations(
    ctx: RuleContext, loaded: LoadedEvent, records: Mapping[int, ArchiveInfo]
) -> list[Violation]:
    """A fabricated archive link is an error; an imprecise one (Wayback resolves it to a good
    capture at another timestamp) and a real capture of an error page are warnings."""
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
        elif info.state is ArchiveState.IMPRECISE:
            rule, message = (
                "archive-imprecise",
                f"archive_url names no capture at its timestamp: {info.detail}",
            )
            if info.resolved_url:
                message += f" (use {info.resolved_url})"
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
    citation: CitationCheck | None = None,
) -> EventReport:
    """Each source's observation, archive record and (with ``citation``) citation verdict
    into the event's report, with the violations they bring; ``statuses`` (from history)
    override the one-night status."""
    if loaded.event is None:
        return report
    checked: dict[int, Observation] = {}
    archived: dict[int, ArchiveInfo] = {}
    cited: dict[int, CitationInfo] = {}
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
        key = source_archive_key(source, loaded.event) if source.url else ""
        record = archive.get(key) if source.url else None
        if record is not None:
            archived[source_report.index] = record
            update["archive"] = record
        info = citation.judge(source, observation, key) if citation is not None else None
        if info is not None:
            cited[source_report.index] = info
            update["citation"] = info
        sources.append(source_report.model_copy(update=update) if update else source_report)
    violations = [
        *report.violations,
        *(judge or verdict_violations)(ctx, loaded, checked),
        *archive_violations(ctx, loaded, archived),
        *citation_violations(ctx, loaded, cited),
    ]
    folded = report.model_copy(
        update={"sources": sources, "violations": violations, "result": result_of(violations)}
    )
    return without_rules(folded, ignored_in(loaded.raw))
