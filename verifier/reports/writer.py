"""I/O: write the reports folder atomically, with safe file names, pruning deleted events.

Each file is replaced by ``verifier.atomic.write_atomically``: a new one is created as any
tool creates files, ``0666`` less the umask, so a web server running as another user can
serve the folder; one that exists keeps its mode. A run killed while writing leaves
``.<name>.<random>.tmp`` files behind; the next ``write_reports`` removes them (its callers
hold the run lock, so no other writer's file is in flight). Failures of the machine
(permission, read-only or full disk) become ``CannotWriteError``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from verifier.atomic import fsync_folder, remove_stale_temporaries, write_atomically
from verifier.errors import CannotWriteError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(event_id: str) -> str:
    """A file name for ``event_id`` that cannot leave the reports folder.

    Unsafe characters become ``_``; when that changes the id (or it is empty, dotted or very
    long) a short hash keeps distinct ids distinct.
    """
    name = _UNSAFE.sub("_", event_id).strip("._")[:120]
    if name != event_id or not name:
        digest = hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        name = f"{name or 'event'}-{digest}"
    return name


def atomic_write(path: Path, text: str, *, sync_folder: bool = True) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically: never a half file.
    Missing folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode("utf-8"), sync_folder=sync_folder)


def write_reports(folder: Path, files: Mapping[str, str], event_files: Mapping[str, str]) -> None:
    """Write top-level ``files`` and per-event ``event_files`` (by safe name + suffix), and
    remove per-event reports of events that no longer exist and temporary files that a
    killed run left. Each folder is fsynced once, after its last rename."""
    root = folder.resolve()
    events = root / "events"
    written: set[Path] = set()
    try:
        remove_stale_temporaries(root)
        remove_stale_temporaries(events)
        for base, named in ((root, files), (events, event_files)):
            for name, text in named.items():
                path = _inside(base, name)
                atomic_write(path, text, sync_folder=False)
                written.add(path.parent)
        if events.is_dir():
            for old in events.iterdir():
                if old.is_file() and old.name not in event_files and old.suffix in (".json", ".md"):
                    old.unlink()
                    written.add(events)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        raise CannotWriteError(
            f"cannot write the reports in {root}: {exc.strerror or exc}{where}"
        ) from exc
    for changed in written:
        fsync_folder(changed)


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"refusing to write {name!r} outside {root}")
    return path
