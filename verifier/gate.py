"""Pure: which sources a pull request introduced, and how the gate judges them.

Fair to contributors: only sources that are new, or whose URL changed, in the files the
pull request touched are checked; old breakage elsewhere is never the pull request's fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from verifier.models import LoadedEvent, Observation, Severity, Verdict, Violation
from verifier.parse import parse_event_bytes
from verifier.rules import RuleContext
from verifier.urls import is_web_url, normalize_url

GATE_FAIL = frozenset({Verdict.DEAD, Verdict.SOFT_DEAD})
GATE_WARN = frozenset({Verdict.BLOCKED, Verdict.UNREACHABLE, Verdict.INVALID})


def base_urls(content: bytes | None, path: Path) -> set[str]:
    """Normalised source URLs of a file's base version (empty for a new file)."""
    if content is None:
        return set()
    loaded = parse_event_bytes(content, str(path), path.stem, path.suffix.lower())
    event = getattr(loaded, "event", None)
    if event is None:
        return set()
    return {normalize_url(source.url) for source in event.sources if is_web_url(source.url)}


def new_source_urls(loaded: Sequence[LoadedEvent], base: Mapping[str, set[str]]) -> list[str]:
    """URLs cited by the changed events that their base versions did not cite."""
    urls: dict[str, None] = {}
    for item in loaded:
        known = base.get(item.path, set())
        if item.event is None:
            continue
        for source in item.event.sources:
            if is_web_url(source.url) and normalize_url(source.url) not in known:
                urls.setdefault(normalize_url(source.url), None)
    return list(urls)


def gate_violations(
    ctx: RuleContext, loaded: LoadedEvent, checked: Mapping[int, Observation]
) -> list[Violation]:
    """A new source that is dead fails the gate; blocked or unreachable only warns.
    (``checked`` holds only the new sources: the others were never requested.)"""
    violations = []
    for index, observation in sorted(checked.items()):
        line = loaded.line_of("sources", index, "url")
        if observation.verdict in GATE_FAIL:
            violations.append(
                Violation(
                    rule="new-source-dead",
                    severity=Severity.ERROR,
                    source_index=index,
                    line=line,
                    message=f"new source is {observation.verdict.value}: {observation.detail}",
                )
            )
        elif observation.verdict in GATE_WARN:
            violations.append(
                Violation(
                    rule="new-source-unavailable",
                    severity=Severity.WARNING,
                    source_index=index,
                    line=line,
                    message=f"new source is {observation.verdict.value} "
                    f"(not the contributor's fault if it is a bot wall): {observation.detail}",
                )
            )
    return violations
