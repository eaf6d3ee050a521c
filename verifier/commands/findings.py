"""Which findings a check reports and fails on: ``--select``/``--ignore``, and the baseline
(``verifier baseline`` records today's findings; ``check`` then reports only new ones)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from verifier.config import Settings
from verifier.config_ref import git_show
from verifier.models import EventReport
from verifier.reports.baseline import new_findings, parse_baseline, write_baseline
from verifier.reports.selection import selected


def baseline_path(settings: Settings) -> Path:
    return settings.resolve(settings.paths.baseline)


def read_baseline(settings: Settings, ref: str | None = None) -> Counter[str] | None:
    """The recorded findings, or None without a baseline; with ``ref``, the baseline as that
    ref has it (a pull request cannot hide its own findings by editing the file)."""
    path = baseline_path(settings)
    if ref is not None:
        content = git_show(ref, path.parent, path.name)
        return None if content is None else parse_baseline(content.decode(), f"{path} at {ref}")
    if not path.is_file():
        return None
    return parse_baseline(path.read_text(encoding="utf-8"), str(path))


def narrowed(
    reports: Sequence[EventReport],
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    baseline: Counter[str] | None = None,
) -> list[EventReport]:
    """``reports`` with only the selected rules' findings, less those the baseline holds."""
    kept = selected(reports, select, ignore)
    return new_findings(kept, baseline) if baseline is not None else kept


def record_baseline(settings: Settings, reports: Sequence[EventReport]) -> tuple[Path, int]:
    """Write the baseline of ``reports``; its path and the number of findings recorded."""
    path = baseline_path(settings)
    return path, write_baseline(path, reports)
