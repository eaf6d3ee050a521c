"""A strict YAML front-matter handler for python-frontmatter.

python-frontmatter's default handler silently returns empty metadata when the closing
``---`` is missing or the YAML is not a mapping, accepts duplicate keys, turns ``yes``/``no``
into booleans (YAML 1.1) and reports no line numbers. This handler:

- composes the node graph with PyYAML's safe composer (the C one when available) and builds
  values itself, so no tag can construct a Python object (``!!python/...`` is an error);
- resolves plain scalars the YAML 1.2 core way: only ``true``/``false`` are booleans, dates
  stay text;
- refuses duplicate keys and documents that are not a mapping;
- bounds alias expansion, so a "billion laughs" document fails fast instead of exploding;
- records the 1-based line of every node, keyed by its path (``("sources", 0, "url")``).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from verifier.errors import EventLoadError

try:  # the C composer is several times faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_KIND_TAGS = {
    yaml.ScalarNode: "tag:yaml.org,2002:str",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
    yaml.MappingNode: "tag:yaml.org,2002:map",
}


class _Loader(_BaseLoader):
    """Composes only. Plain scalars are resolved by ``_scalar`` (YAML 1.2 core), so PyYAML's
    YAML 1.1 implicit resolvers — the slowest part of composing — are skipped."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        return _KIND_TAGS[kind]


Path_ = tuple[str | int, ...]

MAX_NODES = 100_000
"""Nodes built per document, aliases expanded: far above any real event, far below a bomb."""

_BOUNDARY = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_STR_TAG = "tag:yaml.org,2002:str"
_KNOWN_TAGS = frozenset(
    {
        _STR_TAG,
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:timestamp",
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:seq",
    }
)


class StrictYAMLHandler(YAMLHandler):
    """Front-matter handler that fails loudly and remembers line numbers.

    One instance per document: after ``load`` the node lines are in ``self.lines``.
    ``line_offset`` is the file line of the opening ``---`` minus one.
    """

    def __init__(self, line_offset: int = 0) -> None:
        super().__init__(fm_boundary=_BOUNDARY)
        self.line_offset = line_offset
        self.lines: dict[Path_, int] = {}
        self._nodes = 0

    def split(self, text: str) -> tuple[str, str]:
        """Split off the front matter; a missing closing ``---`` is an error, not "no metadata"."""
        opening = _BOUNDARY.match(text)
        if opening is None:
            raise EventLoadError("front matter must start with a '---' line", line=self._abs(1))
        closing = _BOUNDARY.search(text, opening.end())
        if closing is None:
            raise EventLoadError(
                "front matter is not closed: no second '---' line", line=self._abs(1)
            )
        # the front matter keeps the opening line's newline, so YAML line n is file line n
        return text[opening.end() : closing.start()], text[closing.end() :]

    def load(self, fm: str, **kwargs: object) -> dict[str, Any]:
        self._nodes = 0
        self.lines = {}
        try:
            node = yaml.compose(fm, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = self._abs(mark.line + 1) if mark else None
            problem = exc.problem or exc.context or "invalid YAML"
            raise EventLoadError(f"invalid YAML: {problem}", line=line) from exc
        except yaml.YAMLError as exc:
            raise EventLoadError(f"invalid YAML: {exc}") from exc
        if node is None:
            raise EventLoadError("front matter is empty", line=self._abs(1))
        if not isinstance(node, yaml.MappingNode):
            raise EventLoadError(
                "front matter must be a mapping of fields, not a "
                + ("list" if isinstance(node, yaml.SequenceNode) else "single value"),
                line=self._line(node),
            )
        self.lines[()] = self._line(node)
        value = self._build(node, ())
        assert isinstance(value, dict)
        return value

    def _abs(self, line: int) -> int:
        return line + self.line_offset

    def _line(self, node: yaml.Node) -> int:
        return self._abs(node.start_mark.line + 1)

    def _build(self, node: yaml.Node, path: Path_) -> Any:
        """Build the value of ``node``; lines of keys and items are recorded by the parent."""
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise EventLoadError(
                f"front matter expands to more than {MAX_NODES} values (alias bomb?)",
                line=self._line(node),
            )
        if node.tag not in _KNOWN_TAGS:
            raise EventLoadError(f"unsupported YAML tag {node.tag!r}", line=self._line(node))
        kind = type(node)
        if kind is yaml.ScalarNode:
            return _scalar(node)  # type: ignore[arg-type]
        offset = self.line_offset + 1
        lines = self.lines
        if kind is yaml.SequenceNode:
            items = []
            for index, item in enumerate(node.value):
                item_path = (*path, index)
                lines[item_path] = item.start_mark.line + offset
                items.append(self._build(item, item_path))
            return items
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode or key_node.tag not in _KNOWN_TAGS:
                raise EventLoadError("a mapping key must be plain text", line=self._line(key_node))
            key = str(key_node.value)
            if key in result:
                raise EventLoadError(f"duplicate key {key!r}", line=self._line(key_node))
            key_path = (*path, key)
            lines[key_path] = key_node.start_mark.line + offset
            result[key] = self._build(value_node, key_path)
        return result


def _scalar(node: yaml.ScalarNode) -> Any:
    """Resolve a scalar the YAML 1.2 core way; quoted scalars are always text."""
    text: str = node.value
    if node.style:
        return text  # quoted, literal or folded: text as written
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
