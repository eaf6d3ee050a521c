"""Pure tier rules: a loaded event → violations. Thresholds and severities come from config.

Defaults follow the timeline project's contribution guide: tier 1 = court records,
government and official documents, academic research; tier 2 = major newspapers, wire
services, investigative outlets, established NGOs; tier 3 = opinion, partisan, social media.
"Minimum 2 credible sources (tier 1 or 2); target 3 from different outlets."
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from verifier.archive.wayback_links import WaybackLink, parse_archive_link, same_capture_target
from verifier.citation.matching import days_apart
from verifier.citation.url_dates import url_date
from verifier.config import RulesSettings
from verifier.events.registry import DomainRegistry
from verifier.models import (
    DEAD_VERDICTS,
    UNAVAILABLE_VERDICTS,
    Event,
    LoadedEvent,
    Observation,
    Severity,
    Source,
    Violation,
)
from verifier.urls import host_of, is_web_url, normalize_url, shown_url, url_problem

VALID_TIERS = (1, 2, 3)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's raw outcome, before config gives it a severity."""

    rule: str
    message: str
    line: int | None = None
    source_index: int | None = None


@dataclass(frozen=True, slots=True)
class RuleContext:
    settings: RulesSettings
    registry: DomainRegistry
    severities: dict[str, str]

    @classmethod
    def build(cls, settings: RulesSettings, registry: DomainRegistry) -> RuleContext:
        return cls(settings, registry, settings.severity.model_dump(by_alias=True))

    def effective_tier(self, source: Source) -> int | None:
        """The declared tier when valid, else (for legacy sources) the registry's tier."""
        declared = declared_tier(source)
        if declared is not None:
            return declared
        if source.tier is None and self.settings.infer_missing_tier and is_web_url(source.url):
            return self.registry.tier_of(host_of(source.url))
        return None


Rule = Callable[[RuleContext, LoadedEvent, Event], Iterator[Finding]]


def declared_tier(source: Source) -> int | None:
    tier = source.tier
    if isinstance(tier, int) and not isinstance(tier, bool) and tier in VALID_TIERS:
        return tier
    return None


def _sources_line(loaded: LoadedEvent) -> int | None:
    return loaded.line_of("sources") or 1


def source_required(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    if not any(source.url.strip() for source in event.sources):
        yield Finding(
            "source-required", "the event cites no source with a URL", _sources_line(loaded)
        )


def url_valid(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    for index, source in enumerate(event.sources):
        url = source.url.strip()
        if not url:
            yield Finding(
                "url-valid",
                "source has an empty URL",
                loaded.line_of("sources", index, "url"),
                index,
            )
        elif (problem := url_problem(url)) is not None:
            yield Finding(
                "url-valid",
                f"URL cannot be checked ({problem}): {shown_url(url)}",
                loaded.line_of("sources", index, "url"),
                index,
            )


def tier_valid(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    for index, source in enumerate(event.sources):
        if source.tier is not None and declared_tier(source) is None:
            yield Finding(
                "tier-valid",
                f"tier must be 1, 2 or 3, not {source.tier!r}",
                loaded.line_of("sources", index, "tier"),
                index,
            )


def tier_missing(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    missing = [index for index, source in enumerate(event.sources) if source.tier is None]
    if missing:
        count = len(missing)
        numbers = ", ".join(str(index) for index in missing)
        yield Finding(
            "tier-missing",
            f"{count} source{'s' if count > 1 else ''} without a tier (legacy format): #{numbers}",
            loaded.line_of("sources", missing[0]),
        )


def min_credible_sources(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    limit = ctx.settings.credible_max_tier
    credible = {
        normalize_url(source.url)
        for source in event.sources
        if is_web_url(source.url)
        and (tier := ctx.effective_tier(source)) is not None
        and tier <= limit
    }
    wanted = ctx.settings.min_credible_sources
    if len(credible) < wanted:
        yield Finding(
            "min-credible-sources",
            f"{len(credible)} distinct credible (tier 1–{limit}) source"
            f"{'' if len(credible) == 1 else 's'}; at least {wanted} required",
            _sources_line(loaded),
        )


def high_importance_tier1(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    threshold = ctx.settings.high_importance
    if event.importance is None or event.importance < threshold:
        return
    if not any(ctx.effective_tier(source) == 1 for source in event.sources):
        yield Finding(
            "high-importance-tier1",
            f"importance {event.importance} (≥ {threshold}) needs at least one tier-1 source",
            loaded.line_of("importance"),
        )


def publisher_diversity(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    publishers = {
        (source.publisher or host_of(source.url)).strip().casefold()
        for source in event.sources
        if source.url.strip()
    }
    publishers.discard("")
    wanted = ctx.settings.min_publishers
    if event.sources and len(publishers) < wanted:
        yield Finding(
            "publisher-diversity",
            f"sources come from {len(publishers)} distinct publisher"
            f"{'' if len(publishers) == 1 else 's'}; at least {wanted} wanted",
            _sources_line(loaded),
        )


def duplicate_url(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    first_seen: dict[str, int] = {}
    for index, source in enumerate(event.sources):
        if not source.url.strip():
            continue
        key = normalize_url(source.url)
        if key in first_seen:
            yield Finding(
                "duplicate-url",
                f"same URL as source #{first_seen[key]}",
                loaded.line_of("sources", index, "url"),
                index,
            )
        else:
            first_seen[key] = index


def id_matches_file(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    if event.id != loaded.stem:
        yield Finding(
            "id-matches-file",
            f"id {event.id!r} differs from the file name {loaded.stem!r}",
            loaded.line_of("id"),
        )


def id_date_prefix(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    if not event.id.startswith(event.date):
        yield Finding(
            "id-date-prefix",
            f"id does not start with the event date {event.date!r}",
            loaded.line_of("id"),
        )


def date_valid(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    if not parse_date(event.date):
        yield Finding(
            "date-valid",
            f"date {event.date!r} is not a real YYYY-MM-DD date",
            loaded.line_of("date"),
        )


def parse_date(text: str) -> dt.date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def tier_registry(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    for index, source in enumerate(event.sources):
        declared = declared_tier(source)
        if declared is None or not is_web_url(source.url):
            continue
        host = host_of(source.url)
        allowed = ctx.registry.tier_of(host)
        if allowed is not None and declared < allowed:
            yield Finding(
                "tier-registry",
                f"declared tier {declared}, but {host} is a tier-{allowed} source in the registry",
                loaded.line_of("sources", index, "tier"),
                index,
            )


def archive_url_format(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    """An ``archive_url`` must be an archive link (Wayback, or another archive) and, for a
    Wayback one, of the source's own URL as the index compares URLs (SURT). Whether its
    timestamp names a capture (partial timestamps and calendar links are resolved by
    Wayback) is for the online check."""
    for index, source in enumerate(event.sources):
        archive = (source.archive_url or "").strip()
        if not archive:
            continue
        line = loaded.line_of("sources", index, "archive_url")
        link = parse_archive_link(archive, ctx.settings.archive_hosts)
        if (problem := url_problem(archive)) is not None:
            yield Finding(
                "archive-url-format", f"archive_url cannot be checked ({problem})", line, index
            )
        elif link is None:
            yield Finding(
                "archive-url-format",
                "archive_url is not an archive link (…/web/<timestamp>/<url>, or another "
                "archive's)",
                line,
                index,
            )
        elif (
            isinstance(link, WaybackLink)
            and source.url.strip()
            and not same_capture_target(link.original, source.url)
        ):
            yield Finding(
                "archive-url-format",
                "archive_url is a capture of a different URL than the source's",
                line,
                index,
            )


URL_DATE_TOLERANCE_DAYS = 3
"""A source date this close to the date in its URL agrees with it (time zones, late edits)."""


def citation_url_date(ctx: RuleContext, loaded: LoadedEvent, event: Event) -> Iterator[Finding]:
    """A source's date should be the date its URL carries (``/2021/02/03/``): a date far from
    it is often the event's date copied into the citation."""
    for index, source in enumerate(event.sources):
        in_url = url_date(source.url) if is_web_url(source.url) else None
        apart = days_apart(source.date, in_url)
        if apart is None or in_url is None or apart <= URL_DATE_TOLERANCE_DAYS:
            continue
        copied = " (it is the event's date)" if source.date == event.date else ""
        yield Finding(
            "citation-url-date",
            f"source date {source.date} is {apart} days from the date in its URL "
            f"({in_url.isoformat()}){copied}",
            loaded.line_of("sources", index, "date"),
            index,
        )


RULES: tuple[tuple[str, Rule], ...] = (
    ("source-required", source_required),
    ("url-valid", url_valid),
    ("tier-valid", tier_valid),
    ("tier-missing", tier_missing),
    ("min-credible-sources", min_credible_sources),
    ("high-importance-tier1", high_importance_tier1),
    ("publisher-diversity", publisher_diversity),
    ("duplicate-url", duplicate_url),
    ("id-matches-file", id_matches_file),
    ("id-date-prefix", id_date_prefix),
    ("date-valid", date_valid),
    ("tier-registry", tier_registry),
    ("archive-url-format", archive_url_format),
    ("citation-url-date", citation_url_date),
)
"""Every offline rule, by the name its findings carry and config uses (the checked sources'
rules are ``verdict_violations``'s, the archive's ``verifier.reports.fold``'s, the gate's
``verifier.events.gate``'s; all have their severity in ``[rules.severity]``)."""


def verdict_violations(
    ctx: RuleContext, loaded: LoadedEvent, verdicts: Mapping[int, Observation]
) -> list[Violation]:
    """Violations from the checked sources (``verdicts`` by source index).

    A credible (tier 1–2) source that is dead with no archive link is an error: the claim
    has lost its evidence. A dead source with an archive link, or a dead tier-3 source, is a
    warning; blocked or unreachable is a warning (not evidence of death).
    """
    event = loaded.event
    if event is None:
        return []
    findings: list[Finding] = []
    for index, observation in sorted(verdicts.items()):
        source = event.sources[index]
        line = loaded.line_of("sources", index, "url")
        what = f"source is {observation.verdict.value}: {observation.detail}"
        if observation.verdict in DEAD_VERDICTS:
            tier = ctx.effective_tier(source)
            archived = bool((source.archive_url or "").strip())
            if archived:
                findings.append(
                    Finding("source-unavailable", what + " (archive_url kept)", line, index)
                )
            elif tier is not None and tier <= ctx.settings.credible_max_tier:
                findings.append(
                    Finding("source-dead", what + " and has no archive_url", line, index)
                )
            else:
                findings.append(Finding("source-unavailable", what, line, index))
        elif observation.verdict in UNAVAILABLE_VERDICTS:
            findings.append(Finding("source-unavailable", what, line, index))
    return judged(ctx, findings)


def judged(ctx: RuleContext, findings: Iterable[Finding]) -> list[Violation]:
    """Findings as violations of their configured severity; a rule set to ``off`` reports
    nothing. Every rule's findings pass here: the offline rules, the checked sources' and the
    pull-request gate's (``verifier.events.gate``)."""
    return [
        Violation(
            rule=f.rule,
            severity=Severity(ctx.severities[f.rule]),
            message=f.message,
            source_index=f.source_index,
            line=f.line,
        )
        for f in findings
        if ctx.severities[f.rule] != "off"
    ]


def check_rules(ctx: RuleContext, loaded: LoadedEvent) -> list[Violation]:
    """Every violation of ``loaded``: its load/schema errors, else the configured rules."""
    severities = ctx.severities
    violations = [
        violation
        for violation in loaded.load_violations
        if severities.get(violation.rule, "error") != "off"
    ]
    if loaded.event is None:
        return violations
    for name, rule in RULES:
        if severities[name] != "off":
            violations += judged(ctx, rule(ctx, loaded, loaded.event))
    return violations
