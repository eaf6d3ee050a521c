"""``--format text``: what a person reads — problems grouped by file, then one summary line."""

from __future__ import annotations

from collections.abc import Sequence

from verifier.models import EventReport, Result
from verifier.summary import Summary


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
