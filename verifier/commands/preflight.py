"""Preflight: before any request or event file is read, check that the command can keep what
it learns — the reports folder and the history database can be written.

Found after the run instead, an unwritable reports folder costs a night of requests and ends
in a traceback. Each check tries what the command will do (create a file in the folder, open
the database read-write) rather than trusting permission bits (``os.access``), which say
nothing about read-only mounts and everything-goes for root. Nothing is created but a probe
file, removed at once; missing folders are judged by the nearest folder that exists, where
the command's ``mkdir`` would create them.

A path of the wrong kind is a configuration mistake (``PathKindError``, exit 2); a path of the
right kind that the machine refuses is "could not run" (``CannotWriteError``, exit 3).
"""

from __future__ import annotations

import enum
import os
import stat
from pathlib import Path

from verifier.config import Settings
from verifier.errors import CannotWriteError, PathKindError
from verifier.history.store import history_url

SQLITE_HEADER = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html#the_database_header
SQLITE_SIBLINGS = ("-wal", "-shm", "-journal")  # created beside the database: the folder is written


class HistoryUse(enum.Enum):
    """What a command does with the history database."""

    NONE = "none"  # the offline check
    IF_PRESENT = "if-present"  # the PR gate: reads (and may migrate) it, never creates it
    STORE = "store"  # check, archive: open or create it (archive knowledge)
    LOCKED = "locked"  # run, schedule: also take the run lock, ``<path>.lock``


def preflight(
    settings: Settings,
    *,
    reports: bool,
    history: HistoryUse,
    log_file: Path | None = None,
) -> None:
    """Raise ``PathKindError`` or ``CannotWriteError`` unless every path the command writes
    is usable: the reports folder (and its ``events/``), the history database with its
    lock and SQLite's siblings, and a log file."""
    if reports:
        folder = settings.resolve(settings.paths.reports)
        writable_folder(folder, "paths.reports")
        writable_folder(folder / "events", "paths.reports")
    database = settings.resolve(settings.history.path)
    if history_url(settings) is not None:
        history = HistoryUse.NONE  # a PostgreSQL history: the server says (ConfigError)
    if history is HistoryUse.IF_PRESENT and not _exists(database, "history.path"):
        history = HistoryUse.NONE
    if history is not HistoryUse.NONE:
        writable_file(database, "history.path", header=SQLITE_HEADER)
        siblings = [database.name + suffix for suffix in SQLITE_SIBLINGS]
        if history is HistoryUse.LOCKED:
            siblings.append(database.name + ".lock")
        for name in siblings:
            _usable_file(database.with_name(name), "history.path", header=None)
    if log_file is not None:
        writable_file(log_file, "the log file")


def writable_folder(folder: Path, key: str, target: Path | None = None) -> None:
    """``folder`` exists as a folder we can create files in, or can be made with ``mkdir -p``
    (``target``, the file to be made there, names it in messages)."""
    named = target or folder
    existing = folder
    while not _exists(existing, key):
        if existing.parent == existing:  # e.g. the working folder was deleted
            raise CannotWriteError(f"cannot write {key} {named}: no folder above it exists")
        existing = existing.parent
    if not existing.is_dir():
        if existing == folder:
            raise PathKindError(f"{key}: {folder} is a file, not a folder")
        raise PathKindError(f"{key}: {existing} is a file, so {folder} cannot be a folder")
    probe = existing / f".verifier-preflight.{os.urandom(4).hex()}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        probe.unlink()
    except OSError as exc:
        message = f"cannot write {key} {named}: {existing}: {exc.strerror}"
        raise CannotWriteError(message) from exc


def writable_file(path: Path, key: str, header: bytes | None = None) -> None:
    """``path`` can be created in a writable folder, or is a regular file we can open
    read-write (starting with ``header``, unless empty)."""
    writable_folder(path.parent, key, target=path)
    _usable_file(path, key, header)


def _usable_file(path: Path, key: str, header: bytes | None) -> None:
    if not _exists(path, key):
        return
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise PathKindError(f"{key}: {path} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise PathKindError(f"{key}: {path} is not a regular file")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            start = os.read(fd, len(header)) if header is not None else b""
        finally:
            os.close(fd)
    except OSError as exc:
        raise CannotWriteError(f"cannot write {key} {path}: {exc.strerror}") from exc
    if header is not None and start and start != header:
        raise PathKindError(f"{key}: {path} is not a SQLite database")


def _exists(path: Path, key: str) -> bool:
    """Whether ``path`` exists; a missing one (or one under a file) does not, a path we may
    not even look at is refused."""
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if path.is_symlink():
            raise PathKindError(f"{key}: {path} is a broken symbolic link") from None
        return False
    except OSError as exc:
        raise CannotWriteError(f"cannot write {key} {path}: {exc.strerror}") from exc
    return True
