"""I/O: write the reports folder atomically, with safe file names, pruning deleted events."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

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


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_reports(folder: Path, files: Mapping[str, str], event_files: Mapping[str, str]) -> None:
    """Write top-level ``files`` and per-event ``event_files`` (by safe name + suffix), and
    remove per-event reports of events that no longer exist."""
    root = folder.resolve()
    events = root / "events"
    for name, text in files.items():
        atomic_write(_inside(root, name), text)
    for name, text in event_files.items():
        atomic_write(_inside(events, name), text)
    if events.is_dir():
        for old in events.iterdir():
            if old.is_file() and old.name not in event_files and old.suffix in (".json", ".md"):
                old.unlink()


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"refusing to write {name!r} outside {root}")
    return path
