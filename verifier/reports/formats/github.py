"""``--format github``: GitHub Actions workflow commands, one annotation per violation.

Event titles, messages and paths come from strangers, so every value is escaped the way the
runner unescapes it (actions/toolkit ``command.ts``): data escapes ``%``, CR and LF;
properties also escape ``:`` and ``,``. Before that, once, in ``annotation``, the characters
a log viewer could obey or that UTF-8 cannot carry (ESC, BEL, C1 controls, lone
surrogates: ``text.terminal_safe``) are made visible, CR, LF and TAB kept for the command
escapes to carry. GitHub shows at most 10 error and 10 warning
annotations per step, so the rest are counted in a line wrapped in ``::stop-commands::``
(nothing echoed inside can become a command) and listed in the job summary.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from verifier.models import EventReport, Severity
from verifier.reports.formats.text import summary_line, terminal_safe
from verifier.reports.summary import Summary

ANNOTATION_LIMIT = 10
KEPT = "\r\n\t"
"""Controls left to the workflow-command escapes (CR, LF) or harmless (TAB)."""


def escape_data(text: str) -> str:
    """A command's data as the runner reads it back: ``%`` first, then CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: the data escapes, and ``:`` and ``,`` that would end it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, *, file: str, line: int | None, title: str) -> str:
    properties = [f"file={escape_property(terminal_safe(file, KEPT))}"]
    if line is not None:
        properties.append(f"line={line}")
    properties.append(f"title={escape_property(terminal_safe(title, KEPT))}")
    return f"::{level} {','.join(properties)}::{escape_data(terminal_safe(message, KEPT))}"


def render_github(reports: Sequence[EventReport], summary: Summary) -> str:
    lines: list[str] = []
    shown = {"error": 0, "warning": 0}
    hidden = {"error": 0, "warning": 0}
    for report in reports:
        for violation in report.violations:
            level = "error" if violation.severity is Severity.ERROR else "warning"
            if shown[level] >= ANNOTATION_LIMIT:
                hidden[level] += 1
                continue
            shown[level] += 1
            lines.append(
                annotation(
                    level,
                    violation.message,
                    file=report.event.file,
                    line=violation.line,
                    title=f"{violation.rule} ({report.event.id})",
                )
            )
    token = secrets.token_hex(16)
    lines.append(f"::stop-commands::{token}")
    if hidden["error"] or hidden["warning"]:
        lines.append(
            f"{hidden['error']} more errors and {hidden['warning']} more warnings "
            "are listed in the job summary"
        )
    lines.append(terminal_safe(summary_line(summary)))
    lines.append(f"::{token}::")
    return "\n".join(lines) + "\n"
