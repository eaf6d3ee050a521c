"""Pure: which ``archive_url`` edits the archive records justify, per event file."""

from __future__ import annotations

from verifier.archive.writeback import ArchiveEdit
from verifier.models import ArchiveInfo, ArchiveState, LoadedEvent
from verifier.reports.fold import source_archive_key

WRITABLE = frozenset({ArchiveState.EXISTING, ArchiveState.SAVED})


def planned_edits(loaded: LoadedEvent, records: dict[str, ArchiveInfo]) -> list[ArchiveEdit]:
    """Fix fabricated links with the nearest real capture and imprecise ones with the exact
    capture Wayback resolves them to; fill in missing links with a real 2xx capture (the
    citation's: closest before the cited date; for a dead source, its last good one).
    Nothing else is touched."""
    if loaded.event is None:
        return []
    edits = []
    for index, source in enumerate(loaded.event.sources):
        if not source.url.strip():
            continue
        record = records.get(source_archive_key(source, loaded.event))
        if record is None:
            continue
        claimed = (source.archive_url or "").strip()
        if claimed and record.state is ArchiveState.FABRICATED and record.nearest_url:
            edits.append(ArchiveEdit(index, source.url, record.nearest_url, "fabricated fixed"))
        elif claimed and record.state is ArchiveState.IMPRECISE and record.resolved_url:
            edits.append(ArchiveEdit(index, source.url, record.resolved_url, "made exact"))
        elif (
            not claimed
            and record.state in WRITABLE
            and record.url
            and (record.captured_status is None or 200 <= record.captured_status < 300)
        ):
            edits.append(ArchiveEdit(index, source.url, record.url))
    return edits
