"""Event file text → ``LoadedEvent`` (valid or located errors) or ``Skipped`` (not an event).

Pure apart from ``load_event_file``, which only reads bytes. One bad file never stops the
others: every failure becomes a ``schema``/``load`` violation on that file's result —
including hostile ones: a link out of the events folder, a file or front matter over the
``[limits]``, nesting deeper than ``MAX_DEPTH``, an integer Python will not convert.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import frontmatter
from pydantic import ValidationError

from verifier.config import LimitsSettings
from verifier.errors import EventLimitError, EventLoadError
from verifier.events.discover import leaves_folder
from verifier.events.strict_yaml import StrictYAMLHandler, check_size
from verifier.events.yaml_compose import MAX_DEPTH, parse_int
from verifier.models import Event, LoadedEvent, Severity, Violation

EVENT_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
"""A file whose name carries a date is meant to be an event, so its problems are errors."""

DEFAULT_LIMITS = LimitsSettings()

NOT_EVENTS = frozenset({"readme", "changelog", "contributing", "license", "code_of_conduct"})


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file under the events folder that is not an event, and why."""

    path: str
    reason: str


def is_event_name(stem: str) -> bool:
    return stem.lower() not in NOT_EVENTS and EVENT_NAME.search(stem) is not None


def load_event_file(
    path: Path,
    display: str | None = None,
    limits: LimitsSettings = DEFAULT_LIMITS,
    folder: Path | None = None,
) -> LoadedEvent | Skipped:
    """Read and parse one file; ``display`` is the path shown in reports (default: ``path``).

    ``path`` is read only if it stays inside ``folder`` (default: its own folder) once
    symlinks are followed, and only up to ``limits.max_file_bytes``.
    """
    shown = display if display is not None else str(path)
    try:
        data = read_event_bytes(path, folder if folder is not None else path.parent, limits)
    except EventLoadError as exc:
        return _failed(shown, path.stem, "load", exc.message, exc.line)
    outcome = parse_event_bytes(data, shown, path.stem, path.suffix.lower(), limits)
    if isinstance(outcome, LoadedEvent):
        outcome.sha256 = hashlib.sha256(data).hexdigest()
    return outcome


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
"""No link at the final component (it was resolved just before), and never block on a FIFO."""


def read_event_bytes(path: Path, folder: Path, limits: LimitsSettings) -> bytes:
    """The file's bytes, or ``EventLoadError`` if it leaves ``folder``, is not a regular file
    or is larger than ``limits.max_file_bytes`` (checked before reading, and while reading)."""
    if leaves_folder(path, folder):
        raise EventLoadError("symlink leaves the events folder; not read")
    cap = limits.max_file_bytes
    try:
        fd = os.open(os.path.realpath(path), _OPEN_FLAGS | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise EventLoadError("cannot read file: not a regular file")
            data = _read_at_most(handle, cap + 1, info.st_size + 1) if info.st_size <= cap else b""
    except OSError as exc:
        raise EventLoadError(f"cannot read file: {exc.strerror}") from exc
    if info.st_size > cap or len(data) > cap:
        size = max(info.st_size, len(data))
        raise EventLimitError(
            f"file is {size:,} bytes, over the limit of {cap:,} (limits.max_file_bytes)"
        )
    return data


def _read_at_most(handle: BinaryIO, limit: int, expected: int) -> bytes:
    """Up to ``limit`` bytes; a read asks for ``expected`` first (a read allocates what it
    asks for, so never the whole cap), then 1 MiB at a time if the file grew."""
    chunks: list[bytes] = []
    total = 0
    want = min(limit, expected)
    while total < limit and (chunk := handle.read(want)):
        chunks.append(chunk)
        total += len(chunk)
        want = min(limit - total, 1 << 20)
    return b"".join(chunks)


def parse_event_bytes(
    data: bytes,
    display: str,
    stem: str,
    suffix: str,
    limits: LimitsSettings = DEFAULT_LIMITS,
) -> LoadedEvent | Skipped:
    """Decode and parse one event file's bytes."""
    if stem.lower() in NOT_EVENTS:
        return Skipped(display, "documentation, not an event")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _failed(display, stem, "load", f"not valid UTF-8 text ({exc.reason})", line)
    if suffix == ".json":
        return _parse_json(text, display, stem, limits.max_front_matter_bytes)
    return _parse_markdown(text, display, stem, limits.max_front_matter_bytes)


def _parse_markdown(text: str, display: str, stem: str, max_fm: int) -> LoadedEvent | Skipped:
    body = text.lstrip()
    if not body.startswith("---"):
        if not is_event_name(stem):
            return Skipped(display, "no front matter and not an event file name")
        message = "file is empty" if not body else "no YAML front matter (expected '---' first)"
        return _failed(display, stem, "load", message, 1)
    offset = text[: len(text) - len(body)].count("\n")
    handler = StrictYAMLHandler(line_offset=offset, max_bytes=max_fm)
    try:
        post = frontmatter.loads(body, handler=handler)
    except EventLoadError as exc:
        return _failed(display, stem, "load", exc.message, exc.line)
    return _validate(dict(post.metadata), handler.lines, display, stem)


def _parse_json(text: str, display: str, stem: str, max_bytes: int) -> LoadedEvent | Skipped:
    if not text.strip():
        if not is_event_name(stem):
            return Skipped(display, "empty and not an event file name")
        return _failed(display, stem, "load", "file is empty", 1)
    try:
        check_size(text, max_bytes, "a JSON event", None)
        lines = _json_lines(text)
        raw = _without_surrogates(_decode_json(text))
    except json.JSONDecodeError as exc:
        return _failed(display, stem, "load", f"invalid JSON: {exc.msg}", exc.lineno)
    except _DuplicateKeyError as exc:
        return _failed(display, stem, "load", f"duplicate key {exc.args[0]!r}", None)
    except EventLoadError as exc:
        return _failed(display, stem, "load", exc.message, exc.line)
    if not isinstance(raw, dict):
        return _failed(display, stem, "load", "a JSON event must be an object", 1)
    return _validate(raw, lines, display, stem)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(value: Any) -> Any:
    """JSON's ``\\ud800`` escapes decode to lone surrogates, which no report can encode:
    each becomes U+FFFD, as a decoder does with bytes it cannot read."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _decode_json(text: str) -> Any:
    """``json.loads`` made safe for any text: too deep is refused before decoding (the
    decoder recurses), a too-long integer while decoding."""
    line = _json_too_deep(text)
    if line is not None:
        raise EventLimitError(f"JSON is nested deeper than {MAX_DEPTH} levels", line=line)
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_int=parse_int)


_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\.?)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)
"""A string (possessive, so linear even unterminated) or a bracket: brackets in strings skip."""


def _json_too_deep(text: str) -> int | None:
    """The line where JSON nesting first passes ``MAX_DEPTH``, or None. One linear scan,
    skipped when there are too few brackets to get that deep."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif char in "]}":
            depth -= 1
    return None


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
    """Line numbers of a JSON document's nodes, read by the YAML parser (JSON is YAML flow).

    Best effort: the values come from ``json``; if the parser disagrees, lines are omitted.
    A limit it hits (depth, values, a long integer) holds for the JSON too, and is raised
    with its line.
    """
    handler = StrictYAMLHandler(subject="JSON")
    try:
        handler.load(text)
    except EventLimitError:
        raise
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
