"""``verifier archive``: archive state of the selected events' sources, and the write-back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verifier.archive.edits import planned_edits
from verifier.archive.writeback import WriteBackError, write_archive_urls
from verifier.config import Settings
from verifier.events.discover import events_folder_of
from verifier.history.store import open_history
from verifier.history.wayback_pace import shared_pace
from verifier.outcomes import CouldNotCheck
from verifier.stages import check_sources, load_events, select_files


@dataclass(slots=True)
class ArchiveResult:
    states: list[str] = field(default_factory=list)
    edits: int = 0
    edit_reasons: Counter[str] = field(default_factory=Counter)
    files_written: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    could_not_check: list[CouldNotCheck] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A file could not be written back."""
        return bool(self.errors)


async def archive_events(
    settings: Settings, paths: Sequence[Path], *, write: bool = False
) -> ArchiveResult:
    """Check sources and archives (knowledge kept in the history store); with ``write``,
    insert or fix ``archive_url`` lines. A file changed since it was read is left alone."""
    events = load_events(settings, select_files(settings, paths))
    folder = settings.resolve(settings.paths.events)
    with open_history(settings) as store:
        sources = await check_sources(
            settings,
            events.urls(),
            events.archive_tasks(),
            archive_store=store,
            probe_cache=store,
            wayback_schedule=shared_pace(store),
        )
    result = ArchiveResult(could_not_check=sources.could_not_check())
    if sources.outage is not None:
        return result
    if sources.archive is None:
        result.notices.append("archiving is disabled ([wayback] enabled = false)")
        return result
    records = sources.archive.records
    result.states = [info.state.value for info in records.values()]
    result.notices.extend(sources.archive.notices)
    for item in events.loaded:
        edits = planned_edits(item, records)
        result.edits += len(edits)
        result.edit_reasons.update(edit.why for edit in edits)
        if not (write and edits):
            continue
        path = Path(item.path)
        try:
            if write_archive_urls(path, edits, item.sha256, events_folder_of(path, folder)):
                result.files_written += 1
        except WriteBackError as exc:
            result.errors.append((item.path, exc.message))
    return result
