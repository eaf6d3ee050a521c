"""The baseline: today's findings recorded, so that ``check`` fails only on new ones.

A messy corpus cannot be fixed in a day; ``verifier baseline`` writes what every event
violates now, and later checks leave those findings out. A finding is known by its event's
id, its rule and its source's URL (or the event as a whole), never by line or message, so
edits elsewhere in a file do not make old findings new; the same finding twice in one event
is counted, so a second copy is new.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from verifier.atomic import write_atomically
from verifier.errors import ConfigError
from verifier.models import EventReport, Violation, result_of
from verifier.urls import normalize_url

BASELINE_VERSION = 1


def fingerprint(report: EventReport, violation: Violation) -> str:
    source = ""
    index = violation.source_index
    if index is not None and 0 <= index < len(report.sources):
        url = report.sources[index].url
        source = normalize_url(url) if url else f"#{index}"
    return f"{report.event.id}|{violation.rule}|{source}"


def findings_of(reports: Iterable[EventReport]) -> Counter[str]:
    return Counter(fingerprint(r, v) for r in reports for v in r.violations)


def baseline_text(reports: Sequence[EventReport]) -> str:
    counts = findings_of(reports)
    return (
        json.dumps(
            {"version": BASELINE_VERSION, "findings": dict(sorted(counts.items()))},
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )


def write_baseline(path: Path, reports: Sequence[EventReport]) -> int:
    """Record the findings of ``reports`` at ``path``; returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, baseline_text(reports).encode())
    return sum(findings_of(reports).values())


def parse_baseline(text: str, where: str) -> Counter[str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not a baseline (invalid JSON: {exc})") from exc
    findings = data.get("findings") if isinstance(data, dict) else None
    if data.get("version") != BASELINE_VERSION or not isinstance(findings, dict):
        raise ConfigError(f"{where}: not a verifier baseline (version {BASELINE_VERSION})")
    return Counter({str(k): int(v) for k, v in findings.items() if isinstance(v, int)})


def new_findings(reports: Sequence[EventReport], baseline: Counter[str]) -> list[EventReport]:
    """``reports`` without the findings the baseline holds (each as many times as recorded)."""
    left = Counter(baseline)
    result = []
    for report in reports:
        kept = []
        for violation in report.violations:
            key = fingerprint(report, violation)
            if left[key] > 0:
                left[key] -= 1
            else:
                kept.append(violation)
        if len(kept) == len(report.violations):
            result.append(report)
        else:
            result.append(report.model_copy(update={"violations": kept, "result": result_of(kept)}))
    return result
