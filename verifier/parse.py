"""Event file text → ``LoadedEvent`` (valid or located errors) or ``Skipped`` (not an event).

Pure apart from ``load_event_file``, which only reads bytes. One bad file never stops the
others: every failure becomes a ``schema``/``load`` violation on that file's result.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
from pydantic import ValidationError

from verifier.errors import EventLoadError
from verifier.models import Event, LoadedEvent, Severity, Violation
from verifier.strict_yaml import StrictYAMLHandler

EVENT_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
"""A file whose name carries a date is meant to be an event, so its problems are errors."""

NOT_EVENTS = frozenset({"readme", "changelog", "contributing", "license", "code_of_conduct"})


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file under the events folder that is not an event, and why."""

    path: str
    reason: str


def is_event_name(stem: str) -> bool:
    return stem.lower() not in NOT_EVENTS and EVENT_NAME.search(stem) is not None


def load_event_file(path: Path, display: str | None = None) -> LoadedEvent | Skipped:
    """Read and parse one file; ``display`` is the path shown in reports (default: ``path``)."""
    shown = display if display is not None else str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _failed(shown, path.stem, "load", f"cannot read file: {exc.strerror}", None)
    outcome = parse_event_bytes(data, shown, path.stem, path.suffix.lower())
    if isinstance(outcome, LoadedEvent):
        outcome.sha256 = hashlib.sha256(data).hexdigest()
    return outcome


def parse_event_bytes(data: bytes, display: str, stem: str, suffix: str) -> LoadedEvent | Skipped:
    """Decode and parse one event file's bytes."""
    if stem.lower() in NOT_EVENTS:
        return Skipped(display, "documentation, not an event")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _failed(display, stem, "load", f"not valid UTF-8 text ({exc.reason})", line)
    if suffix == ".json":
        return _parse_json(text, display, stem)
    return _parse_markdown(text, display, stem)


def _parse_markdown(text: str, display: str, stem: str) -> LoadedEvent | Skipped:
    body = text.lstrip()
    if not body.startswith("---"):
        if not is_event_name(stem):
            return Skipped(display, "no front matter and not an event file name")
        message = "file is empty" if not body else "no YAML front matter (expected '---' first)"
        return _failed(display, stem, "load", message, 1)
    offset = text[: len(text) - len(body)].count("\n")
    handler = StrictYAMLHandler(line_offset=offset)
    try:
        post = frontmatter.loads(body, handler=handler)
    except EventLoadError as exc:
        return _failed(display, stem, "load", exc.message, exc.line)
    return _validate(dict(post.metadata), handler.lines, display, stem)


def _parse_json(text: str, display: str, stem: str) -> LoadedEvent | Skipped:
    if not text.strip():
        if not is_event_name(stem):
            return Skipped(display, "empty and not an event file name")
        return _failed(display, stem, "load", "file is empty", 1)
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        return _failed(display, stem, "load", f"invalid JSON: {exc.msg}", exc.lineno)
    except _DuplicateKeyError as exc:
        return _failed(display, stem, "load", f"duplicate key {exc.args[0]!r}", None)
    if not isinstance(raw, dict):
        return _failed(display, stem, "load", "a JSON event must be an object", 1)
    return _validate(raw, _json_lines(text), display, stem)


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _json_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Line numbers of a JSON document's nodes, read by the YAML composer (JSON is YAML flow).

    Best effort: the values come from ``json``; if the composer disagrees, lines are omitted.
    """
    handler = StrictYAMLHandler()
    try:
        handler.load(text)
    except EventLoadError:
        return {}
    return handler.lines


def _validate(
    raw: dict[str, Any], lines: dict[tuple[str | int, ...], int], display: str, stem: str
) -> LoadedEvent:
    loaded = LoadedEvent(path=display, stem=stem, event=None, raw=raw, lines=lines)
    try:
        loaded.event = Event.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            where = ".".join(str(part) for part in loc) or "front matter"
            loaded.load_violations.append(
                Violation(
                    rule="schema",
                    severity=Severity.ERROR,
                    message=f"{where}: {error['msg']}",
                    source_index=loc[1]
                    if len(loc) > 1 and loc[0] == "sources" and isinstance(loc[1], int)
                    else None,
                    line=loaded.line_of(*loc),
                )
            )
    return loaded


def _failed(display: str, stem: str, rule: str, message: str, line: int | None) -> LoadedEvent:
    violation = Violation(rule=rule, severity=Severity.ERROR, message=message, line=line)
    return LoadedEvent(path=display, stem=stem, event=None, load_violations=[violation])
