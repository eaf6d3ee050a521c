"""``--format text``: what a person reads — problems grouped by file, then one summary line.

Event files, titles, URLs and messages come from strangers, and a terminal obeys what it
is sent (ESC and CSI sequences move the cursor, rewrite lines, set the window title; a C1
``\x9b`` is a CSI on some terminals; BEL rings): every line is passed through
``terminal_safe`` once, as it is rendered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.models import EventReport, Result
from verifier.reports.summary import Summary

if TYPE_CHECKING:
    from verifier.outcomes import RunOutcome


def terminal_safe(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable (C0 and C1 controls, DEL, lone
    surrogates, bidi overrides, line separators…) but those in ``keep`` written the way
    Python writes it in a literal (``\x1b``, ``\x9b``, ``\ud800``): visible, inert."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in keep else repr(ch)[1:-1] for ch in text)


_COLOURS = {"error": "\x1b[31m", "warning": "\x1b[33m", "fail": "\x1b[1;31m", "warn": "\x1b[1;33m"}
_RESET = "\x1b[0m"


def render_text(
    reports: Sequence[EventReport], summary: Summary, verbose: bool = False, colour: bool = False
) -> str:
    """Per event with findings: its file and result, then one ``path:line:col: severity rule
    message`` line per finding (clickable in editors and terminals; the verifier locates
    findings by line, so the column is 1). ``colour`` marks severities for a terminal."""

    def paint(word: str) -> str:
        return f"{_COLOURS[word]}{word}{_RESET}" if colour and word in _COLOURS else word

    lines: list[str] = []
    for report in reports:
        if report.result is Result.PASS and not verbose:
            continue
        path = terminal_safe(report.event.file)
        lines.append(f"{path}  [{paint(report.result.value)}]")
        for violation in sorted(report.violations, key=lambda v: (v.line or 0, v.rule)):
            where = f"{path}:{violation.line}:1:" if violation.line is not None else f"{path}:"
            severity = violation.severity.value
            pad = " " * (len("warning") - len(severity))
            lines.append(
                f"{where} {paint(severity)}{pad} {terminal_safe(violation.rule)}  "
                f"{terminal_safe(violation.message)}"
            )
    lines.append(terminal_safe(summary_line(summary)))
    return "".join(line + "\n" for line in lines)


def summary_line(summary: Summary) -> str:
    """The totals in one line, unescaped (each format escapes it for its own context)."""
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
    return terminal_safe(
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
    return terminal_safe(line)
