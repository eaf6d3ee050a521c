"""I/O: write the reports folder atomically, with safe file names, pruning deleted events.

Files are created as any tool creates them, ``0666`` less the umask, so a web server running
as another user can serve the folder (``mkstemp``'s ``0600`` could not be read). A run killed
while writing leaves ``.<name>.<random>.tmp`` files behind; the next ``write_reports`` removes
them (its callers hold the run lock, so no other writer's file is in flight). Failures of the
machine (permission, read-only or full disk) become ``CannotWriteError``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from verifier.errors import CannotWriteError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
TEMPORARY = re.compile(r"\A\..+\.[a-z0-9_]{8}\.tmp\Z")
"""``atomic_write``'s temporary names: ``.<name>.<8 random>.tmp`` (8 hex digits; earlier
versions used ``mkstemp``, whose 8 random characters are ``[a-z0-9_]``)."""
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


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
    """Write ``text`` to ``path`` via a temporary file and a rename: never a half file.
    The file gets ``0666`` less the umask (the kernel applies it to ``os.open``'s mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_temporary(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _create_temporary(path: Path) -> tuple[int, Path]:
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, _CREATE, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def write_reports(folder: Path, files: Mapping[str, str], event_files: Mapping[str, str]) -> None:
    """Write top-level ``files`` and per-event ``event_files`` (by safe name + suffix), and
    remove per-event reports of events that no longer exist and temporary files that a
    killed run left."""
    root = folder.resolve()
    events = root / "events"
    try:
        remove_stale_temporaries(root)
        remove_stale_temporaries(events)
        for name, text in files.items():
            atomic_write(_inside(root, name), text)
        for name, text in event_files.items():
            atomic_write(_inside(events, name), text)
        if events.is_dir():
            for old in events.iterdir():
                if old.is_file() and old.name not in event_files and old.suffix in (".json", ".md"):
                    old.unlink()
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        raise CannotWriteError(
            f"cannot write the reports in {root}: {exc.strerror or exc}{where}"
        ) from exc


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the regular files of ``folder`` (not below it) named as ``atomic_write`` names
    its temporary files; returns them. A missing folder has none."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        if TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"refusing to write {name!r} outside {root}")
    return path
