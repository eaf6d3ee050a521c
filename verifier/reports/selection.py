"""Pure: which findings a command reports — rules selected or ignored on the command line, a
per-event ``verifier-ignore`` in front matter, and counts per rule (``--statistics``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from verifier.models import EventReport, Violation, result_of

IGNORE_KEY = "verifier-ignore"
"""Front-matter key: rule names this event does not report (``verifier-ignore: [tier-missing]``)."""


def ignored_in(raw: dict[str, Any]) -> frozenset[str]:
    """The rule names an event's front matter ignores (a name, or a list of names)."""
    value = raw.get(IGNORE_KEY)
    if isinstance(value, str):
        return frozenset({value.strip()})
    if isinstance(value, list):
        return frozenset(item.strip() for item in value if isinstance(item, str))
    return frozenset()


def without_rules(report: EventReport, rules: Collection[str]) -> EventReport:
    """``report`` without the violations of ``rules``, its result recomputed."""
    if not rules or not any(v.rule in rules for v in report.violations):
        return report
    return _keeping(report, [v for v in report.violations if v.rule not in rules])


def selected(
    reports: Iterable[EventReport], select: Collection[str] = (), ignore: Collection[str] = ()
) -> list[EventReport]:
    """Only the violations of ``select`` (every rule when empty), none of ``ignore``; a rule
    named by its prefix (``citation``, ``archive-``) covers every rule it starts."""

    def wanted(rule: str) -> bool:
        if select and not any(covers(name, rule) for name in select):
            return False
        return not any(covers(name, rule) for name in ignore)

    result = []
    for report in reports:
        kept = [v for v in report.violations if wanted(v.rule)]
        result.append(report if len(kept) == len(report.violations) else _keeping(report, kept))
    return result


ONLINE_FAMILIES = ("source", "archive", "new-source", "citation-mismatch", "citation-date")
"""The rules only a check that reads the sources can break (``--select online``); every
other rule is an offline one (``--select offline``), the tier rules and ``citation-url-date``."""


def covers(name: str, rule: str) -> bool:
    """Whether the rule name, prefix or group ``name`` covers ``rule``."""
    name = name.strip()
    if name == "online":
        return any(covers(family, rule) for family in ONLINE_FAMILIES)
    if name == "offline":
        return not covers("online", rule)
    return rule == name or (rule.startswith(name.rstrip("-") + "-") if name else False)


def _keeping(report: EventReport, violations: list[Violation]) -> EventReport:
    return report.model_copy(update={"violations": violations, "result": result_of(violations)})


def rule_statistics(reports: Sequence[EventReport]) -> list[tuple[int, str, str]]:
    """(count, rule, severity) of every violation, the most frequent first."""
    counts = Counter(
        (violation.rule, violation.severity.value)
        for report in reports
        for violation in report.violations
    )
    return sorted(
        ((n, rule, severity) for (rule, severity), n in counts.items()),
        key=lambda item: (-item[0], item[1]),
    )
