"""``--format github``: GitHub Actions workflow commands, one annotation per violation.

Event titles, messages and paths come from strangers, so every value is escaped the way the
runner unescapes it (actions/toolkit ``command.ts``): data escapes ``%``, CR and LF;
properties also escape ``:`` and ``,``. Nothing untrusted can end the command early or start
a new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from verifier.formats.text import summary_line
from verifier.models import EventReport, Severity
from verifier.summary import Summary


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, *, file: str, line: int | None, title: str) -> str:
    properties = [f"file={escape_property(file)}"]
    if line is not None:
        properties.append(f"line={line}")
    properties.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(properties)}::{escape_data(message)}"


def render_github(reports: Sequence[EventReport], summary: Summary) -> str:
    lines: list[str] = []
    for report in reports:
        for violation in report.violations:
            level = "error" if violation.severity is Severity.ERROR else "warning"
            lines.append(
                annotation(
                    level,
                    violation.message,
                    file=report.event.file,
                    line=violation.line,
                    title=f"{violation.rule} ({report.event.id})",
                )
            )
    lines.append(escape_data(summary_line(summary)))
    return "\n".join(lines) + "\n"
