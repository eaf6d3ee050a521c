"""Pure: where each source's ``archive_url`` goes in an event file's text, and the edit.

Event files are written by people and by other tools; re-dumping them would reorder keys,
requote values and churn every diff. So edits are textual splices, placed by the positions
the parsers report (YAML node marks from ``verifier.events.yaml_compose``, JSON value offsets),
never by regexes over the file, and each edited document is parsed again and must equal the
original plus the new values. Writing the result safely is ``verifier.archive.writeback``'s job.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from verifier.errors import EventLoadError, VerifierError
from verifier.events.yaml_compose import compose_mapping, is_null, mapping_items, node_text

ARCHIVE_KEY = "archive_url"


@dataclass(frozen=True, slots=True)
class ArchiveEdit:
    """Set the ``archive_url`` of ``sources[source_index]``, whose ``url`` must be ``url``."""

    source_index: int
    url: str
    archive_url: str
    why: str = "filled in"
    """What the edit does, for the summary: ``filled in``, ``fabricated fixed``, ``made exact``."""


class WriteBackError(VerifierError):
    """An edit cannot be applied safely; nothing was written."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def apply_edits(text: str, edits: Sequence[ArchiveEdit], suffix: str) -> str:
    """Return ``text`` with the edits applied; ``suffix`` ``.json`` means JSON, else front matter.

    Pure. Raises ``WriteBackError`` if a source is missing, its URL differs from the edit's,
    or the result would not parse to the original content plus the new ``archive_url`` values.
    """
    indexes = [edit.source_index for edit in edits]
    if len(set(indexes)) != len(indexes):
        raise WriteBackError("two edits for the same source")
    if not edits:
        return text
    try:
        if suffix.lower() == ".json":
            splices, check = _json_splices(text, edits), _check_json
        else:
            splices, check = _yaml_splices(text, edits), _check_yaml
        result = _splice(text, splices)
        if result != text:
            check(text, result, edits)
    except EventLoadError as exc:  # the YAML composer's refusals (duplicate key, limits…)
        raise WriteBackError(exc.message) from exc
    return result


# --- splicing ---------------------------------------------------------------------------

_Splice = tuple[int, int, str]
"""Replace ``text[start:end]`` with the string."""


def _splice(text: str, splices: list[_Splice]) -> str:
    parts: list[str] = []
    position = 0
    for start, end, new in sorted(splices):
        if start < position:
            raise WriteBackError("overlapping edits")  # pragma: no cover - one per source
        parts += [text[position:start], new]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _line_end(text: str, newline_at: int) -> str:
    return "\r\n" if newline_at > 0 and text[newline_at - 1] == "\r" else "\n"


def _expected(original: Any, edits: Sequence[ArchiveEdit]) -> Any:
    expected = copy.deepcopy(original)
    for edit in edits:
        expected["sources"][edit.source_index][ARCHIVE_KEY] = edit.archive_url
    return expected


# --- YAML front matter ------------------------------------------------------------------

_OPENING = re.compile(r"---[ \t]*\r?$", re.MULTILINE)
_CLOSING = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
"""Starts with a scheme: can never resolve to a number, bool, null or date."""
_FLOW_INDICATORS = frozenset(",[]{}")
_UNQUOTABLE = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")
"""What a one-line single-quoted YAML scalar cannot hold: controls, tabs, line breaks."""


def _front_matter(text: str) -> tuple[int, int]:
    """Offsets of the YAML between the ``---`` lines, found as ``verifier.events.parse``
    finds it."""
    start = 1 if text.startswith("\ufeff") else 0
    start += len(text[start:]) - len(text[start:].lstrip())
    opening = _OPENING.match(text, start)
    closing = _CLOSING.search(text, opening.end()) if opening else None
    if opening is None or closing is None:
        raise WriteBackError("no YAML front matter between '---' lines")
    return opening.end(), closing.start()


def _front_matter_nodes(text: str) -> tuple[int, yaml.MappingNode]:
    """Where the front matter starts, and its node graph (marks: offsets from that start)."""
    base, end = _front_matter(text)
    return base, compose_mapping(text[base:end])


def _yaml_splices(text: str, edits: Sequence[ArchiveEdit]) -> list[_Splice]:
    base, root = _front_matter_nodes(text)
    sources = mapping_items(root).get("sources")
    if sources is None or not isinstance(sources[1], yaml.SequenceNode):
        raise WriteBackError("front matter has no 'sources' list")
    splices: list[_Splice] = []
    for edit in edits:
        source = _nth(sources[1].value, edit)
        if not isinstance(source, yaml.MappingNode):
            raise WriteBackError(f"sources[{edit.source_index}] is not a mapping")
        splice = _yaml_splice(text, base, source, edit)
        if splice is not None:
            splices.append(splice)
    return splices


def _nth(items: list[Any], edit: ArchiveEdit) -> Any:
    if not 0 <= edit.source_index < len(items):
        raise WriteBackError(f"no sources[{edit.source_index}]: the file has {len(items)}")
    return items[edit.source_index]


def _url_mismatch(edit: ArchiveEdit, found: object) -> WriteBackError:
    return WriteBackError(
        f"sources[{edit.source_index}].url is {found!r}, expected {edit.url!r}: "
        "the file changed since it was checked"
    )


def _yaml_splice(
    text: str, base: int, source: yaml.MappingNode, edit: ArchiveEdit
) -> _Splice | None:
    items = mapping_items(source)
    flow = bool(source.flow_style)
    url = items.get("url")
    found = url[1].value if url is not None and isinstance(url[1], yaml.ScalarNode) else None
    if not found or found != edit.url:
        raise _url_mismatch(edit, found)
    assert url is not None
    scalar = _yaml_scalar(edit.archive_url, flow)
    current = items.get(ARCHIVE_KEY)
    if current is not None:
        key, value = current
        if not isinstance(value, yaml.ScalarNode):
            raise WriteBackError(f"sources[{edit.source_index}].{ARCHIVE_KEY} is not a value")
        if value.value == edit.archive_url and (value.style or not is_null(value.value)):
            return None
        start = base + value.start_mark.index
        stop = _content_end(text, start, base + value.end_mark.index)
        if start == stop:  # empty value: its mark may already sit on the next line
            colon = text.find(":", base + key.end_mark.index)
            return colon + 1, colon + 1, " " + scalar
        return start, stop, scalar  # a multi-line old value collapses to this one line
    url_key, url_value = url
    url_end = _content_end(text, base + url_value.start_mark.index, base + url_value.end_mark.index)
    if flow:
        return url_end, url_end, f", {ARCHIVE_KEY}: {scalar}"
    newline = text.find("\n", url_end)
    tail = text[url_end:newline].strip()
    if newline < 0 or (tail and not tail.startswith("#")):
        raise WriteBackError(f"sources[{edit.source_index}]: cannot place a line after its url")
    key_start = base + url_key.start_mark.index
    indent = key_start - (text.rfind("\n", 0, key_start) + 1)
    line = f"{' ' * indent}{ARCHIVE_KEY}: {scalar}{_line_end(text, newline)}"
    return newline + 1, newline + 1, line


def _content_end(text: str, start: int, end: int) -> int:
    """End of a scalar without the line breaks a block scalar's end mark includes."""
    return start + len(text[start:end].rstrip())


def _yaml_scalar(value: str, flow: bool) -> str:
    """Plain when that reads back as the same text, else single-quoted."""
    if _UNQUOTABLE.search(value):
        raise WriteBackError(f"archive URL {value!r} holds control or line-break characters")
    plain = (
        _PLAIN_URL.fullmatch(value) is not None
        and not value.endswith(":")
        and not (flow and _FLOW_INDICATORS.intersection(value))
    )
    return value if plain else "'" + value.replace("'", "''") + "'"


def _yaml_data(text: str) -> Any:
    return node_text(_front_matter_nodes(text)[1])


def _check_yaml(old: str, new: str, edits: Sequence[ArchiveEdit]) -> None:
    if _yaml_data(new) != _expected(_yaml_data(old), edits):
        raise WriteBackError("the edited front matter would not read back as intended")


# --- JSON -------------------------------------------------------------------------------

_JSON_SPACE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class _Member:
    """One ``"key": value`` of a JSON object, by offsets into the text."""

    key: str
    key_start: int
    key_end: int
    value_start: int
    value_end: int


def _skip_space(text: str, position: int) -> int:
    match = _JSON_SPACE.match(text, position)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _json_value(text: str, position: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, position)
    except json.JSONDecodeError as exc:
        raise WriteBackError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc


def _json_container(text: str, position: int, opening: str) -> tuple[list[_Member], int]:
    """Members (objects) or item spans as members with key "" (arrays), and the end offset."""
    closing = "}" if opening == "{" else "]"
    if text[position : position + 1] != opening:
        raise WriteBackError(f"expected {opening!r} at offset {position}")
    members: list[_Member] = []
    position = _skip_space(text, position + 1)
    if text[position : position + 1] == closing:
        return members, position + 1
    while True:
        key, key_start, key_end = "", position, position
        if opening == "{":
            if text[position : position + 1] != '"':
                raise WriteBackError(f"expected a JSON key at offset {position}")
            key, key_end = _json_value(text, position)
            position = _skip_space(text, key_end)
            if text[position : position + 1] != ":":
                raise WriteBackError(f"expected ':' at offset {position}")
            position = _skip_space(text, position + 1)
        _, value_end = _json_value(text, position)
        members.append(_Member(key, key_start, key_end, position, value_end))
        position = _skip_space(text, value_end)
        separator = text[position : position + 1]
        if separator == closing:
            return members, position + 1
        if separator != ",":
            raise WriteBackError(f"expected ',' or {closing!r} at offset {position}")
        position = _skip_space(text, position + 1)


def _json_members(text: str, position: int) -> dict[str, _Member]:
    members: dict[str, _Member] = {}
    for member in _json_container(text, position, "{")[0]:
        if member.key in members:
            raise WriteBackError(f"duplicate key {member.key!r}")
        members[member.key] = member
    return members


def _json_splices(text: str, edits: Sequence[ArchiveEdit]) -> list[_Splice]:
    start = _skip_space(text, 1 if text.startswith("\ufeff") else 0)
    sources = _json_members(text, start).get("sources")
    if sources is None or text[sources.value_start] != "[":
        raise WriteBackError("the event has no 'sources' list")
    items = _json_container(text, sources.value_start, "[")[0]
    splices: list[_Splice] = []
    for edit in edits:
        item = _nth(items, edit)
        if text[item.value_start] != "{":
            raise WriteBackError(f"sources[{edit.source_index}] is not an object")
        splice = _json_splice(text, _json_members(text, item.value_start), edit)
        if splice is not None:
            splices.append(splice)
    return splices


def _json_splice(text: str, members: dict[str, _Member], edit: ArchiveEdit) -> _Splice | None:
    url = members.get("url")
    found = json.loads(text[url.value_start : url.value_end]) if url else None
    if not found or found != edit.url:
        raise _url_mismatch(edit, found)
    assert url is not None
    value = json.dumps(edit.archive_url, ensure_ascii=text.isascii())
    current = members.get(ARCHIVE_KEY)
    if current is not None:
        if json.loads(text[current.value_start : current.value_end]) == edit.archive_url:
            return None
        return current.value_start, current.value_end, value
    member = f'"{ARCHIVE_KEY}"{text[url.key_end : url.value_start]}{value}'
    line_start = text.rfind("\n", 0, url.key_start) + 1
    indent = text[line_start : url.key_start]
    newline = text.find("\n", url.value_end)
    after = text[url.value_end : newline if newline >= 0 else len(text)].strip()
    own_line = not indent.strip() and newline >= 0
    if own_line and after == ",":  # "url": "…",⏎ → the new member on the next line
        return newline + 1, newline + 1, f"{indent}{member},{_line_end(text, newline)}"
    if own_line:  # url is the last member: the new member on a line before it
        return line_start, line_start, f"{indent}{member},{_line_end(text, newline)}"
    return url.key_start, url.key_start, f"{member}, "  # compact object: same line


def _check_json(old: str, new: str, edits: Sequence[ArchiveEdit]) -> None:
    try:
        data = json.loads(new.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:  # pragma: no cover - the splices keep JSON valid
        raise WriteBackError(f"the edited JSON would not parse: {exc.msg}") from exc
    if data != _expected(json.loads(old.removeprefix("\ufeff")), edits):
        raise WriteBackError("the edited JSON would not read back as intended")
