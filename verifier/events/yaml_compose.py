"""YAML composition, for every reader of event YAML: one loader, resolver and set of limits.

``strict_yaml`` (front matter → values, for ``parse``) uses ``compose_values``;
``archive_splices`` (where ``archive_url`` goes in the text) uses ``compose_mapping``,
``mapping_items`` and ``node_text``. Both get:

- PyYAML's C parser and composer when available (else the Python ones); either marks every
  event and node with its character offset (``mark.index``) and 0-based line;
- a string-only resolver: no tag is guessed (a scalar node is its text as written) and no
  constructor runs, so no tag builds an object; ``compose_values`` resolves plain scalars
  the YAML 1.2 core way (only ``true``/``false`` are booleans, dates stay text) and refuses
  unknown tags (``!!python/...``);
- duplicate keys refused; at most ``MAX_NODES`` values (aliases expanded) and ``MAX_DEPTH``
  levels: ``compose_values`` counts them as the events arrive, so a deep or "billion
  laughs" document fails before it is built; ``node_text`` as it reads the node graph
  (where an alias is the anchored node itself, not a copy, so the graph stays small);
- every failure an ``EventLoadError`` (``EventLimitError`` for a limit), with its line.
"""

from __future__ import annotations

import copy
import re
import sys
from dataclasses import dataclass
from typing import Any

import yaml

from verifier.errors import EventLimitError, EventLoadError

try:  # the C parser and composer are several times faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

Path_ = tuple[str | int, ...]

MAX_NODES = 100_000
"""Values per document, aliases expanded: far above any real event, far below a bomb."""

MAX_DEPTH = 100
"""Levels of nested mappings and lists (the front matter itself is level 1). Real events
use 3; refused well before Python's recursion limit (1,000), which a validator or renderer
walking a deeper value would hit, stopping the whole run."""

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_STR_TAG = "tag:yaml.org,2002:str"
_KNOWN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


class TextLoader(_BaseLoader):
    """The one PyYAML loader: parses and composes only, every implicit tag ``str``."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        return _STR_TAG


def is_null(text: str) -> bool:
    """A plain scalar with this text reads as null."""
    return text in _NULLS


# --- limits and duplicate keys: the same errors for both readers ------------------------


def _too_deep(subject: str) -> str:
    return f"{subject} is nested deeper than {MAX_DEPTH} levels"


def _too_many(subject: str, alias: bool, line: int | None) -> EventLimitError:
    return EventLimitError(
        f"{subject} expands to more than {MAX_NODES:,} values"
        + (" (alias bomb?)" if alias else ""),
        line=line,
    )


def _duplicate(key: str, line: int | None) -> EventLoadError:
    return EventLoadError(f"duplicate key {key!r}", line=line)


# --- values: front matter → plain data and the line of every node ------------------------


def compose_values(
    text: str, line_offset: int = 0, subject: str = "front matter"
) -> tuple[dict[str, Any], dict[Path_, int]]:
    """The document as plain data, and the 1-based line of every node by its path
    (``("sources", 0, "url")``); ``line_offset`` is added to every line. ``subject`` is
    named in errors ("front matter", "JSON")."""
    builder = _Builder(line_offset, subject)
    try:
        value = builder.build(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "maximum nesting depth" in problem:  # libyaml's own cap (1,000 levels)
            raise EventLimitError(_too_deep(subject), line=line) from exc
        raise EventLoadError(f"invalid YAML: {problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise EventLoadError(f"invalid YAML: {exc}") from exc
    return value, builder.lines


@dataclass(slots=True)
class _Open:
    """A sequence or mapping being built: where it sits, and what it has cost so far."""

    value: list[Any] | dict[str, Any]
    path: Path_
    anchor: str | None
    first_log: int  # index in the line log of its first descendant
    first_node: int  # node count before it
    key: str | None = None  # a mapping's key whose value comes next
    height: int = 1  # levels of containers, itself included


@dataclass(frozen=True, slots=True)
class _Anchor:
    """An anchored value, so each alias of it costs its full size and depth again."""

    value: Any
    nodes: int
    height: int
    lines: tuple[tuple[Path_, int], ...]  # descendants' lines, paths relative to the anchor


class _Builder:
    """Builds a document's values from PyYAML's event stream, one event at a time.

    No recursion and no node graph: depth and value count are checked as each event arrives,
    so a deep or huge document is refused before it is built (the libyaml parser itself
    streams, and reads no further than the refused event).
    """

    def __init__(self, line_offset: int, subject: str) -> None:
        self._offset = line_offset + 1  # marks count lines from 0
        self._subject = subject
        self._log: list[tuple[Path_, int]] = []
        self._anchors: dict[str, _Anchor] = {}
        self._stack: list[_Open] = []
        self._nodes = 0
        self._root: dict[str, Any] | None = None

    @property
    def lines(self) -> dict[Path_, int]:
        return dict(self._log)

    def build(self, text: str) -> dict[str, Any]:
        parser = TextLoader(text)
        try:
            self._read(parser)
        finally:
            parser.dispose()
        if self._root is None:
            raise EventLoadError("front matter is empty", line=self._offset)
        return self._root

    def _read(self, parser: TextLoader) -> None:
        documents = 0
        feed = self._feed
        while (event := parser.get_event()) is not None:
            kind = type(event)
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise EventLoadError(
                        "invalid YAML: more than one document", line=self._line(event)
                    )
            elif kind is yaml.StreamEndEvent:
                return
            elif kind is not yaml.StreamStartEvent and kind is not yaml.DocumentEndEvent:
                feed(event)

    def _feed(self, event: yaml.Event) -> None:
        if not self._stack:
            self._start_root(event)
            return
        top = self._stack[-1]
        if type(top.value) is dict and top.key is None and type(event) is not yaml.MappingEndEvent:
            self._key(event, top)
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar(event, top)
        elif isinstance(event, yaml.CollectionEndEvent):
            self._end()
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event, top)
        elif isinstance(event, yaml.CollectionStartEvent):
            self._start(event)
        else:  # pragma: no cover - the parser emits no other event inside a document
            raise EventLoadError(f"invalid YAML: unexpected {type(event).__name__}")

    def _start_root(self, event: yaml.Event) -> None:
        if not isinstance(event, yaml.MappingStartEvent):
            kind = "list" if isinstance(event, yaml.SequenceStartEvent) else "single value"
            raise EventLoadError(
                f"front matter must be a mapping of fields, not a {kind}", line=self._line(event)
            )
        self._log.append(((), self._line(event)))
        self._start(event)

    def _key(self, event: yaml.Event, top: _Open) -> None:
        if not isinstance(event, yaml.ScalarEvent) or not _known(event.tag):
            raise EventLoadError("a mapping key must be plain text", line=self._line(event))
        key = str(event.value)
        if key in top.value:
            raise _duplicate(key, self._line(event))
        self._log.append(((*top.path, key), self._line(event)))
        top.key = key
        if event.anchor is not None:
            self._anchors[event.anchor] = _Anchor(key, 1, 0, ())

    def _child_path(self, event: yaml.Event, top: _Open) -> Path_:
        """The path of the node that starts with ``event``; a list item's line is logged here
        (a mapping value's line is its key's, logged with the key)."""
        if type(top.value) is list:
            path = (*top.path, len(top.value))
            self._log.append((path, self._line(event)))
            return path
        assert top.key is not None
        return (*top.path, top.key)

    @staticmethod
    def _place(value: Any, top: _Open) -> None:
        if type(top.value) is list:
            top.value.append(value)
        else:
            assert top.key is not None
            top.value[top.key] = value  # type: ignore[call-overload]
            top.key = None

    def _scalar(self, event: yaml.ScalarEvent, top: _Open) -> None:
        self._count(1, event)
        if event.tag is not None:
            self._check_tag(event)
        line = self._line(event)
        if type(top.value) is list:
            self._log.append(((*top.path, len(top.value)), line))
        value = _scalar(event.value, event.style, line)
        if event.anchor is not None:
            self._anchors[event.anchor] = _Anchor(value, 1, 0, ())
        self._place(value, top)

    def _start(self, event: yaml.CollectionStartEvent) -> None:
        first_node = self._nodes
        self._count(1, event)
        self._check_tag(event)
        if len(self._stack) >= MAX_DEPTH:
            raise EventLimitError(_too_deep(self._subject), line=self._line(event))
        path = self._child_path(event, self._stack[-1]) if self._stack else ()
        value: list[Any] | dict[str, Any] = [] if type(event) is yaml.SequenceStartEvent else {}
        self._stack.append(_Open(value, path, event.anchor, len(self._log), first_node))

    def _end(self) -> None:
        done = self._stack.pop()
        if done.anchor is not None:
            cut = len(done.path)
            lines = tuple((path[cut:], line) for path, line in self._log[done.first_log :])
            nodes = self._nodes - done.first_node
            self._anchors[done.anchor] = _Anchor(done.value, nodes, done.height, lines)
        if not self._stack:
            assert type(done.value) is dict
            self._root = done.value
            return
        parent = self._stack[-1]
        parent.height = max(parent.height, done.height + 1)
        self._place(done.value, parent)

    def _alias(self, event: yaml.AliasEvent, top: _Open) -> None:
        anchor = self._anchors.get(event.anchor or "")
        if anchor is None:
            raise EventLoadError(
                f"alias *{event.anchor} names no anchor defined before it", line=self._line(event)
            )
        self._count(anchor.nodes, event)
        if len(self._stack) + anchor.height > MAX_DEPTH:
            raise EventLimitError(_too_deep(self._subject), line=self._line(event))
        path = self._child_path(event, top)
        self._log.extend(((*path, *rest), line) for rest, line in anchor.lines)
        top.height = max(top.height, anchor.height + 1)
        self._place(copy.deepcopy(anchor.value) if anchor.height else anchor.value, top)

    def _count(self, nodes: int, event: yaml.Event) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _too_many(self._subject, type(event) is yaml.AliasEvent, self._line(event))

    def _check_tag(self, event: yaml.NodeEvent) -> None:
        tag = getattr(event, "tag", None)
        if not _known(tag):
            raise EventLoadError(f"unsupported YAML tag {tag!r}", line=self._line(event))

    def _line(self, event: yaml.Event) -> int:
        mark = event.start_mark
        return (mark.line if mark is not None else 0) + self._offset


def _known(tag: str | None) -> bool:
    """No tag, the non-specific ``!``, or a core-schema tag: values are built as plain data."""
    return tag is None or tag == "!" or tag in _KNOWN_TAGS


def _scalar(text: str, style: str | None, line: int) -> Any:
    """Resolve a scalar the YAML 1.2 core way; quoted scalars are always text."""
    if style:
        return text  # quoted, literal or folded: text as written
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        return parse_int(text, line)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def parse_int(text: str, line: int | None = None) -> int:
    """``int(text)``, or a located error where Python refuses to convert that many digits
    (``sys.get_int_max_str_digits()``, 4,300 by default: quadratic time beyond)."""
    try:
        return int(text)
    except ValueError as exc:
        raise EventLimitError(
            f"an integer of {len(text.lstrip('+-')):,} digits is too long"
            f" (at most {sys.get_int_max_str_digits():,})",
            line=line,
        ) from exc


# --- nodes: where each value sits in the text ----------------------------------------------


def compose_mapping(text: str, subject: str = "front matter") -> yaml.MappingNode:
    """The document's node graph, every mark an offset into ``text``; it must be a mapping.

    Scalars are text as written (``node.value``), tags unresolved; values are not built, so
    the limits apply when they are read (``node_text``)."""
    loader = TextLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise EventLoadError(f"invalid YAML {subject}: {exc}") from exc
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        raise EventLoadError(f"{subject} is not a mapping")
    return root


def mapping_items(mapping: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Key text → (key node, value node); a repeated key is ambiguous, so refused."""
    items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in mapping.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        name = str(key.value)
        if name in items:
            raise _duplicate(name, key.start_mark.line + 1)
        items[name] = (key, value)
    return items


def node_text(root: yaml.Node, subject: str = "front matter") -> Any:
    """Nodes as nested dicts, lists and scalar texts, aliases expanded: compares content,
    ignores styling. At most ``MAX_NODES`` nodes (keys count too) and ``MAX_DEPTH`` levels,
    so a recursive alias (PyYAML composes one) is refused as too deep."""
    budget = [MAX_NODES]

    def walk(node: yaml.Node, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _too_many(subject, False, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return node.value
        if depth >= MAX_DEPTH:
            raise EventLimitError(_too_deep(subject), line=node.start_mark.line + 1)
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, depth + 1) for item in node.value]
        return {str(walk(key, depth + 1)): walk(value, depth + 1) for key, value in node.value}

    return walk(root, 0)
