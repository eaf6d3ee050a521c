"""Markdown renderers: one event's report, and ``broken-links.md`` for maintainers.

Everything from events or responses is escaped: Markdown punctuation is backslash-escaped
and ``<``/``>``/``&`` become entities, so a title cannot inject HTML or break a table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from verifier.models import CITATION_FINDINGS, EventReport, SourceReport

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md(text: object) -> str:
    """Escape untrusted text for Markdown (tables included): one line, no HTML."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", value)


def md_link(label: object, url: str | None) -> str:
    """A link only for http(s) URLs without characters that could end it early."""
    if url and re.fullmatch(r"https?://[^\s<>()\[\]`]+", url):
        return f"[{md(label)}](<{url}>)"
    return md(label)


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "—"


def render_event_markdown(report: EventReport) -> str:
    event = report.event
    lines = [
        f"# {md(event.title or event.id)}",
        "",
        f"`{md(event.file)}` · {md(event.date or 'no date')} · importance "
        f"{event.importance if event.importance is not None else '—'} · **{report.result.value}**",
        "",
    ]
    if report.sources:
        lines += [
            "| # | source | tier | verdict | status | archive | citation |",
            "|---|---|---|---|---|---|---|",
        ]
        for source in report.sources:
            lines.append(
                f"| {source.index} | {md_link(source.publisher or source.url, source.url)} | "
                f"{source.effective_tier or '—'} | "
                f"{source.verdict.value if source.verdict else '—'} | "
                f"{source.status.value} | {_archive_cell(source)} | {_citation_cell(source)} |"
            )
        lines.append("")
    if report.violations:
        lines.append("## Violations")
        lines.append("")
        for violation in report.violations:
            where = f"line {violation.line}" if violation.line else "file"
            lines.append(
                f"- **{md(violation.rule)}** ({violation.severity.value}, {where}): "
                f"{md(violation.message)}"
            )
        lines.append("")
    return "\n".join(lines)


def _archive_cell(source: SourceReport) -> str:
    archive = source.archive
    if archive is None:
        return "—"
    label = archive.state.value + (" (suggested)" if archive.suggested else "")
    target = {"fabricated": archive.nearest_url, "imprecise": archive.resolved_url}
    return md_link(label, target.get(archive.state.value, archive.url))


def _citation_cell(source: SourceReport) -> str:
    """The citation verdict, with the page's title beside it when it is not the one cited."""
    citation = source.citation
    if citation is None:
        return "—"
    label = citation.verdict.value
    if citation.reason is not None:
        label += f" ({citation.reason.value})"
    elif citation.verdict.value != "matches" and citation.seen.title:
        label += f": page shows “{citation.seen.title}”"
    return md(label)


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """One broken source, as a maintainer needs it to fix it."""

    report: EventReport
    source: SourceReport
    since: dt.datetime | None
    new: bool


def render_broken_links(
    links: Sequence[BrokenLink],
    generated_at: dt.datetime,
    reports: Sequence[EventReport] = (),
) -> str:
    """Broken sources grouped by event, new breakage since the last run first; then the
    sources of ``reports`` whose URL answers with another page than the one cited."""
    events = {link.report.event.id for link in links}
    new = [link for link in links if link.new]
    lines = [
        "# Broken links",
        "",
        f"Generated {generated_at:%Y-%m-%d %H:%M} UTC · {len(links)} broken "
        f"source{'s' if len(links) != 1 else ''} in {len(events)} "
        f"event{'s' if len(events) != 1 else ''} · {len(new)} new since the last run.",
        "",
    ]
    wrong = _wrong_pages(reports)
    if not links:
        lines += ["Nothing is broken. 🎉", "", *wrong]
        return "\n".join(lines).rstrip("\n") + "\n"
    for heading, group in (
        ("New since the last run", new),
        ("Still broken", [link for link in links if not link.new]),
    ):
        if not group:
            continue
        lines += [f"## {heading}", ""]
        by_event: dict[str, list[BrokenLink]] = {}
        for link in group:
            by_event.setdefault(link.report.event.id, []).append(link)
        for items in by_event.values():
            event = items[0].report.event
            lines += [
                f"### {md(event.title or event.id)}",
                "",
                f"`{md(event.file)}`",
                "",
                "| source | broken since | last result | suggested replacement | line |",
                "|---|---|---|---|---|",
            ]
            for link in items:
                source = link.source
                last = f"{source.verdict.value if source.verdict else '?'}"
                if source.http_status:
                    last += f" (HTTP {source.http_status})"
                elif source.detail:
                    last += f": {source.detail}"
                archive = source.archive
                replacement = (
                    md_link(archive.timestamp or "capture", archive.url)
                    if archive is not None and archive.url and archive.state.value != "fabricated"
                    else "none found"
                )
                lines.append(
                    f"| {md_link(source.url, source.url)} | {_when(link.since)} | {md(last)} | "
                    f"{replacement} | {source.line or '—'} |"
                )
            lines.append("")
    lines += wrong
    return "\n".join(lines).rstrip("\n") + "\n"


def _wrong_pages(reports: Sequence[EventReport]) -> list[str]:
    """The section of sources that answer, alive, with another page than the one cited."""
    rows = [
        (report, source)
        for report in reports
        for source in report.sources
        if source.citation is not None and source.citation.verdict in CITATION_FINDINGS
    ]
    if not rows:
        return []
    lines = [
        "## Wrong pages",
        "",
        f"{len(rows)} source{'s' if len(rows) != 1 else ''} answer with another page than "
        "the one cited (fix the URL, or cite the archived page).",
        "",
        "| event | source | cited title | the page shows | verdict | line |",
        "|---|---|---|---|---|---|",
    ]
    for report, source in rows:
        citation = source.citation
        assert citation is not None
        lines.append(
            f"| `{md(report.event.file)}` | {md_link(source.url, source.url)} | "
            f"{md(citation.cited.title or '—')} | {md(citation.seen.title or '—')} | "
            f"{citation.verdict.value} | {source.line or '—'} |"
        )
    lines.append("")
    return lines
