"""I/O: write archive URLs back into event files, touching nothing but the ``archive_url`` lines.

The edit itself (where each value goes, and that the result reads back as intended) is
``verifier.archive.splices.apply_edits``; this module reads the file and writes the result
safely. Writes are atomic (``verifier.atomic``: hidden temp file in the same folder, fsync,
``os.replace``, mode kept, folder fsync) and refused when the file's bytes no longer hash
to what the caller read, or when the path, links followed, leaves the events folder
(checked on reading and again just before the rename, which replaces the link's target
and never writes through a link).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from verifier.archive.splices import ARCHIVE_KEY, ArchiveEdit, WriteBackError, apply_edits
from verifier.atomic import TemporaryFileError, write_atomically
from verifier.events.discover import leaves_folder

__all__ = [
    "ARCHIVE_KEY",
    "ArchiveEdit",
    "FileChangedError",
    "WriteBackError",
    "apply_edits",
    "sha256_hex",
    "write_archive_urls",
]


class FileChangedError(WriteBackError):
    """The file's bytes differ from those the edits were planned on: re-read and re-plan."""


def sha256_hex(data: bytes) -> str:
    """The digest ``write_archive_urls`` expects: hex SHA-256 of the file's bytes."""
    return hashlib.sha256(data).hexdigest()


def write_archive_urls(
    path: Path, edits: Sequence[ArchiveEdit], expected_sha256: str, folder: Path | None = None
) -> bool:
    """Apply ``edits`` to the file atomically; True if it changed.

    ``expected_sha256`` is ``sha256_hex`` of the bytes the caller read. The file is checked
    against it on reading and again just before the replace, so a concurrent edit is never
    overwritten (short of one landing in the microseconds between that check and the rename).
    A symlink is kept and its target edited, only if the target is inside ``folder`` (the
    events folder; default: the file's own folder).
    """
    folder = folder if folder is not None else path.parent
    try:
        target = _inside(path, folder)
        data = _read(target)
        if sha256_hex(data) != expected_sha256:
            raise FileChangedError("file changed since it was read; not written")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WriteBackError(f"not valid UTF-8 ({exc.reason})") from exc
        new_text = apply_edits(text, edits, target.suffix)
        if new_text == text:
            return False
        _replace(target, new_text.encode("utf-8"), expected_sha256, (path, folder))
    except WriteBackError as exc:
        if exc.path is not None:
            raise
        raise type(exc)(exc.message, path) from exc
    return True


def _inside(path: Path, folder: Path) -> Path:
    """The real file ``path`` names, refused if it leaves ``folder``."""
    if leaves_folder(path, folder):
        raise WriteBackError("symlink leaves the events folder; not written")
    return Path(os.path.realpath(path))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WriteBackError(f"cannot read file: {exc.strerror}") from exc


def _replace(path: Path, data: bytes, expected_sha256: str, named: tuple[Path, Path]) -> None:
    """Replace ``path`` atomically, after a last check that nothing changed meanwhile.

    ``named`` is the path as given and its folder: just before the rename it must still
    lead to ``path`` (no link swapped in meanwhile), and ``path`` must not be a link itself.
    """

    def unchanged() -> None:
        if sha256_hex(_read(path)) != expected_sha256:
            raise FileChangedError("file changed while the edit was being written; not written")
        if _inside(*named) != path or path.is_symlink():
            raise FileChangedError("file was replaced by a link while being edited; not written")

    try:
        write_atomically(path, data, before_replace=unchanged)
    except TemporaryFileError as exc:
        raise WriteBackError(f"cannot create a temporary file: {exc.strerror}") from exc
    except OSError as exc:
        raise WriteBackError(f"cannot write file: {exc.strerror}") from exc
