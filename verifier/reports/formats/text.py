"""``--format text``: what a person reads — problems grouped by file, then one summary line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.models import EventReport, Result
from verifier.reports.summary import Summary

if TYPE_CHECKING:
    from verifier.outcomes import RunOutcome


def _clean(text: str) -> str:
    """Terminal-safe: control characters (escape sequences from strangers) made visible."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def render_text(reports: Sequence[EventReport], summary: Summary, verbose: bool = False) -> str:
    lines: list[str] = []
    for report in reports:
        if report.result is Result.PASS and not verbose:
            continue
        lines.append(f"{_clean(report.event.file)}  [{report.result.value}]")
        for violation in sorted(report.violations, key=lambda v: (v.line or 0, v.rule)):
            where = f"{violation.line}:" if violation.line is not None else "-:"
            lines.append(
                f"  {where:<6} {violation.severity.value:<7} {violation.rule:<22} "
                f"{_clean(violation.message)}"
            )
    lines.append(summary_line(summary))
    return "\n".join(lines) + "\n"


def summary_line(summary: Summary) -> str:
    results = summary.results
    line = (
        f"{summary.events} event{'s' if summary.events != 1 else ''}: "
        f"{results.get('pass', 0)} pass, {results.get('warn', 0)} warn, "
        f"{results.get('fail', 0)} fail"
    )
    if summary.skipped_files:
        plural = "s" if summary.skipped_files > 1 else ""
        line += f" ({summary.skipped_files} non-event file{plural} skipped)"
    if summary.verdicts:
        line += "; sources: " + ", ".join(
            f"{n} {verdict}" for verdict, n in summary.verdicts.items()
        )
    if summary.could_not_check:
        line += f"; COULD NOT CHECK: {summary.could_not_check}"
    return line


def run_summary_line(outcome: RunOutcome, reports: Path) -> str:
    """``verifier run``'s one line: the run, its events, URLs and source statuses."""
    figures = outcome.figures
    statuses = Counter(s.status.value for r in outcome.reports for s in r.sources)
    results = Counter(r.result.value for r in outcome.reports)
    return (
        f"run {outcome.run_id} {outcome.state}{' (resumed)' if outcome.resumed else ''}: "
        f"{len(outcome.reports)} events ({results['pass']} pass, {results['warn']} warn, "
        f"{results['fail']} fail); {figures.get('urls', 0)} URLs, {figures.get('due', 0)} due, "
        f"{figures.get('checked', 0)} checked with {figures.get('requests', 0)} requests "
        f"in {figures.get('wall_seconds', 0)} s; sources: "
        + ", ".join(f"{n} {status}" for status, n in statuses.most_common())
        + f"; reports in {reports}"
    )


def archive_summary_line(
    states: Sequence[str], edits: int, reasons: Mapping[str, int], written: int | None
) -> str:
    """``verifier archive``'s one line: archive records by state, and the edits planned
    (``written``: files written, None without ``--write``)."""
    counts = Counter(states)
    line = (
        f"archive: {sum(counts.values())} archive records ("
        + ", ".join(f"{n} {state}" for state, n in counts.most_common())
        + f"); {edits} archive_url edits planned"
        + (f", {written} files written" if written is not None else " (use --write)")
    )
    if reasons:
        ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        line += " (" + ", ".join(f"{n} {why}" for why, n in ordered) + ")"
    return line
