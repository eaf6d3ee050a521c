"""``verifier archive``: archive state of the selected events' sources, and the write-back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verifier.archive_edits import planned_edits
from verifier.config import Settings
from verifier.discover import events_folder_of
from verifier.history import SQLiteHistory
from verifier.online import archive_tasks, check_sources
from verifier.pipeline import load_all, select_files, web_urls
from verifier.rules import RuleContext
from verifier.writeback import WriteBackError, write_archive_urls


@dataclass(slots=True)
class ArchiveResult:
    states: list[str] = field(default_factory=list)
    edits: int = 0
    edit_reasons: Counter[str] = field(default_factory=Counter)
    files_written: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    archive_down: str | None = None


async def archive_events(
    settings: Settings, paths: Sequence[Path], *, write: bool = False
) -> ArchiveResult:
    """Check sources and archives (knowledge kept in the history store); with ``write``,
    insert or fix ``archive_url`` lines. A file changed since it was read is left alone."""
    loaded, _ = load_all(select_files(settings, paths, None), settings)
    events = settings.resolve(settings.paths.events)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    store = SQLiteHistory(settings.resolve(settings.history.path))
    try:
        sources = await check_sources(
            settings,
            web_urls(loaded),
            archive_tasks(ctx, loaded),
            archive_store=store,
            probe_cache=store,
        )
    finally:
        store.close()
    result = ArchiveResult()
    if sources.outage is not None:
        result.archive_down = sources.outage
        return result
    if sources.archive is None:
        result.notices.append("archiving is disabled ([wayback] enabled = false)")
        return result
    records = sources.archive.records
    result.states = [info.state.value for info in records.values()]
    result.notices.extend(sources.archive.notices)
    result.archive_down = sources.archive.archive_down
    for item in loaded:
        edits = planned_edits(item, records)
        result.edits += len(edits)
        result.edit_reasons.update(edit.why for edit in edits)
        if not (write and edits):
            continue
        path = Path(item.path)
        try:
            if write_archive_urls(path, edits, item.sha256, events_folder_of(path, events)):
                result.files_written += 1
        except WriteBackError as exc:
            result.errors.append((item.path, exc.message))
    return result
