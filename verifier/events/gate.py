"""Pure: which sources a pull request introduced, and how the gate judges them.

Fair to contributors: only sources that are new, or whose URL changed, in the files the
pull request touched are checked; old breakage elsewhere is never the pull request's fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from verifier.events.parse import parse_event_bytes
from verifier.events.rules import Finding, RuleContext, judged
from verifier.models import DEAD_VERDICTS, UNAVAILABLE_VERDICTS, LoadedEvent, Observation, Violation
from verifier.urls import is_web_url, normalize_url

# The gate's rules; their severities are set in ``[rules.severity]`` like every rule's.
NEW_SOURCE_DEAD = "new-source-dead"
"""The rule a new source that is dead or soft-dead breaks (``error`` by default)."""
NEW_SOURCE_UNAVAILABLE = "new-source-unavailable"
"""The rule a new source that is blocked, unreachable or refused breaks (``warning`` by
default: a bot wall is not the contributor's fault)."""

GATE_WARN = UNAVAILABLE_VERDICTS
"""Verdicts ``new-source-unavailable`` reports: worth a second try before they count."""


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
    """The gate rules on the new sources, with their configured severities (by default a
    dead one fails the gate, a blocked or unreachable one only warns). ``checked`` holds
    only the new sources: the others were never requested."""
    findings = []
    for index, observation in sorted(checked.items()):
        line = loaded.line_of("sources", index, "url")
        verdict = observation.verdict
        if verdict in DEAD_VERDICTS:
            message = f"new source is {verdict.value}: {observation.detail}"
            findings.append(Finding(NEW_SOURCE_DEAD, message, line, index))
        elif verdict in UNAVAILABLE_VERDICTS:
            message = (
                f"new source is {verdict.value} "
                f"(not the contributor's fault if it is a bot wall): {observation.detail}"
            )
            findings.append(Finding(NEW_SOURCE_UNAVAILABLE, message, line, index))
    return judged(ctx, findings)
