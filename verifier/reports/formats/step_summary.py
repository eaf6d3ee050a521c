"""The Markdown job summary for ``$GITHUB_STEP_SUMMARY``: every problem, under 1 MiB."""

from __future__ import annotations

from collections.abc import Sequence

from verifier.models import EventReport, Result
from verifier.reports.formats.markdown import md
from verifier.reports.formats.text import summary_line
from verifier.reports.summary import Summary

LIMIT_BYTES = 1_000_000  # GitHub refuses step summaries over 1 MiB
FOLD_AFTER = 20


def render_step_summary(reports: Sequence[EventReport], summary: Summary) -> str:
    """Failing events first; long lists folded in ``<details>``; cut before the size limit."""
    head = ["## verifier", "", md(summary_line(summary)), ""]
    problem_reports = sorted(
        (r for r in reports if r.result is not Result.PASS),
        key=lambda r: (r.result is not Result.FAIL, r.event.file),
    )
    rows = []
    for report in problem_reports:
        for violation in report.violations:
            where = (
                f"{md(report.event.file)}:{violation.line}"
                if violation.line
                else md(report.event.file)
            )
            rows.append(
                f"| {violation.severity.value} | `{where}` | {md(violation.rule)} | "
                f"{md(violation.message)} |"
            )
    if not rows:
        return "\n".join([*head, "No problems found."]) + "\n"
    table = ["| severity | where | rule | message |", "|---|---|---|---|"]
    body = [*table, *rows[:FOLD_AFTER]]
    if len(rows) > FOLD_AFTER:
        body += [
            "",
            f"<details><summary>{len(rows) - FOLD_AFTER} more</summary>",
            "",
            *table,
            *rows[FOLD_AFTER:],
            "",
            "</details>",
        ]
    text = "\n".join([*head, *body]) + "\n"
    encoded = text.encode("utf-8")
    if len(encoded) <= LIMIT_BYTES:
        return text
    cut = encoded[: LIMIT_BYTES - 200].decode("utf-8", "ignore").rsplit("\n", 1)[0]
    return cut + "\n\n</details>\n\n*(truncated: the summary limit is 1 MiB)*\n"
