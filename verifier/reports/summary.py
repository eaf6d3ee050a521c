"""Pure: event reports → the totals every output format ends with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from verifier.models import EventReport, Result


class Summary(BaseModel):
    events: int
    results: dict[str, int]
    violations_by_rule: dict[str, int] = Field(default_factory=dict)
    verdicts: dict[str, int] = Field(default_factory=dict)
    skipped_files: int = 0
    could_not_check: str | None = None


def summarize(
    reports: Sequence[EventReport], skipped: int = 0, could_not_check: str | None = None
) -> Summary:
    results = Counter(report.result.value for report in reports)
    rules = Counter(violation.rule for report in reports for violation in report.violations)
    verdicts = Counter(
        source.verdict.value
        for report in reports
        for source in report.sources
        if source.verdict is not None
    )
    return Summary(
        events=len(reports),
        results={result.value: results.get(result.value, 0) for result in Result},
        violations_by_rule=dict(rules.most_common()),
        verdicts=dict(verdicts.most_common()),
        skipped_files=skipped,
        could_not_check=could_not_check,
    )
