"""``check --statistics``: the count of findings per rule, the most frequent first (as
``ruff --statistics`` prints them), for a first look at a messy corpus."""

from __future__ import annotations

from collections.abc import Sequence


def render_statistics(counts: Sequence[tuple[int, str, str]]) -> str:
    """One line per rule: count, severity, rule; then the total."""
    if not counts:
        return "no findings\n"
    width = len(str(max(n for n, _, _ in counts)))
    lines = [f"{n:>{width}}  {severity:<7}  {rule}" for n, rule, severity in counts]
    total = sum(n for n, _, _ in counts)
    lines.append(f"{total:>{width}}  total")
    return "\n".join(lines) + "\n"
