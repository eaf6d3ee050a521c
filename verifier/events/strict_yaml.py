"""A strict YAML front-matter handler for python-frontmatter.

python-frontmatter's default handler silently returns empty metadata when the closing
``---`` is missing or the YAML is not a mapping, accepts duplicate keys, turns ``yes``/``no``
into booleans (YAML 1.1) and reports no line numbers. This handler splits the front matter
off strictly (both ``---`` lines, a size cap) and has ``verifier.events.yaml_compose`` build it:
no tag can construct a Python object, plain scalars resolve the YAML 1.2 core way,
duplicate keys and non-mappings are refused, size, nesting depth and alias expansion are
bounded while the events arrive, and the 1-based line of every node is recorded, keyed by
its path (``("sources", 0, "url")``).
"""

from __future__ import annotations

import re
from typing import Any

from frontmatter.default_handlers import YAMLHandler

from verifier.errors import EventLimitError, EventLoadError
from verifier.events.yaml_compose import Path_, compose_values

_BOUNDARY = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


class StrictYAMLHandler(YAMLHandler):
    """Front-matter handler that fails loudly and remembers line numbers.

    One instance per document: after ``load`` the node lines are in ``self.lines``.
    ``line_offset`` is the file line of the opening ``---`` minus one; front matter longer
    than ``max_bytes`` (UTF-8) is refused before it is parsed.
    """

    def __init__(
        self, line_offset: int = 0, max_bytes: int | None = None, subject: str = "front matter"
    ) -> None:
        super().__init__(fm_boundary=_BOUNDARY)
        self.line_offset = line_offset
        self.max_bytes = max_bytes
        self.subject = subject  # named in limit errors: "front matter", "JSON"
        self.lines: dict[Path_, int] = {}

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
        fm = text[opening.end() : closing.start()]
        check_size(fm, self.max_bytes, "front matter", self._abs(1))
        return fm, text[closing.end() :]

    def load(self, fm: str, **kwargs: object) -> dict[str, Any]:
        self.lines = {}
        value, self.lines = compose_values(fm, self.line_offset, self.subject)
        return value

    def _abs(self, line: int) -> int:
        return line + self.line_offset


def check_size(text: str, max_bytes: int | None, what: str, line: int | None) -> None:
    """Refuse ``text`` (``what``: "front matter", "a JSON event") over ``max_bytes`` of UTF-8."""
    if max_bytes is None or len(text) * 4 <= max_bytes:  # a character is at most 4 bytes
        return
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise EventLimitError(
            f"{what} is {size:,} bytes, over the limit of {max_bytes:,}"
            " (limits.max_front_matter_bytes)",
            line=line,
        )
