"""I/O: replace a file atomically; a reader sees the old bytes or the new, never half of either.

Every file the verifier writes in place goes through ``write_atomically`` (the reports,
``verifier.reports.writer``; event files, ``verifier.archive.writeback``), which guarantees:

- the temporary file is beside the target, so the rename is atomic, and named
  ``.<name>.<8 hex>.tmp``: hidden, so never taken for an event (``discover`` skips hidden
  files) nor served as a report, and recognisable as a leftover (``TEMPORARY``);
- it is created ``O_EXCL`` (never through a file or link planted under its name) with
  ``0666`` less the umask, as any tool creates files, so a web server running as another
  user can serve the reports (``mkstemp``'s ``0600`` could not be read); a target that
  exists keeps its mode;
- its data is fsynced before the rename and the folder after it (where the platform
  allows), so a crash leaves the old file or the new one, never an empty one;
- ``before_replace`` runs just before the rename: the caller's last chance to refuse;
- on any failure the temporary file is removed and the target is untouched.

A process killed mid-write leaves its temporary file; ``remove_stale_temporaries`` clears a
folder of them (for a caller that knows no other writer is in flight there).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

TEMPORARY = re.compile(r"\A\..+\.[a-z0-9_]{8}\.tmp\Z")
"""Temporary names: ``.<name>.<8 random>.tmp`` (8 hex digits; earlier versions used
``mkstemp``, whose 8 random characters are ``[a-z0-9_]``)."""

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


class TemporaryFileError(OSError):
    """The temporary file could not be created beside the target; nothing was written."""


def write_atomically(
    path: Path,
    data: bytes,
    *,
    before_replace: Callable[[], None] | None = None,
    sync_folder: bool = True,
) -> None:
    """Replace ``path`` with ``data`` atomically (see the module docstring).

    ``before_replace`` may raise to refuse the write. ``sync_folder=False`` leaves the
    folder's fsync to the caller (``fsync_folder``), once for many files. Raises
    ``TemporaryFileError`` if the temporary file cannot be created, any other ``OSError``
    if it cannot be written or renamed.
    """
    try:
        mode = _existing_mode(path)
        handle, temporary = _create_temporary(path)
    except OSError as exc:
        raise TemporaryFileError(exc.errno, exc.strerror, exc.filename) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            if mode is not None:
                os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if sync_folder:
        fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable; not every platform or filesystem allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the regular files of ``folder`` (not below it) named as ``write_atomically``
    names its temporary files; returns them. A missing folder has none."""
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


def _existing_mode(path: Path) -> int | None:
    """The permission bits of the regular file at ``path``; None for a new file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def _create_temporary(path: Path) -> tuple[int, Path]:
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, _CREATE, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))
