"""I/O: which event files exist — a whole folder, given paths, or those changed since a git ref."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from verifier.errors import UsageError

EVENT_SUFFIXES = frozenset({".md", ".json"})


def leaves_folder(path: Path, folder: Path) -> bool:
    """True when ``path``, every symlink followed, is not inside ``folder``.

    The one containment test: reading (``parse.load_event_file``), writing back
    (``writeback``) and the pull-request gate's file list all use it, so a link a stranger
    commits (``events/x.md -> /proc/self/environ``) is never read or written through.
    """
    real = Path(os.path.realpath(path))
    return not real.is_relative_to(os.path.realpath(folder))


def events_folder_of(path: Path, events: Path | None) -> Path:
    """The folder ``path`` must stay inside: the events folder when ``path`` is in it (as
    written, before links), else the file's own folder."""
    if events is not None and Path(os.path.abspath(path)).is_relative_to(os.path.abspath(events)):
        return events
    return path.parent


def find_event_files(paths: Iterable[Path]) -> list[Path]:
    """Event candidates under ``paths`` (folders are walked), sorted, each listed once.

    Symlinks are listed as found (linked folders are not walked): loading decides whether a
    link stays inside the events folder, so one that leaves it is reported, not read.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in candidate.relative_to(path).parts)
                wanted = candidate.suffix.lower() in EVENT_SUFFIXES and not hidden
                if wanted and candidate.is_file():
                    found.setdefault(candidate, None)
        elif path.is_file():
            found.setdefault(path, None)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(found)


def changed_event_files(ref: str, within: Path) -> list[Path]:
    """Event files added, modified, copied or renamed in ``git diff REF...HEAD`` under ``within``.

    ``REF...HEAD`` diffs against the merge base, so changes on the base branch since the
    pull request branched off are not the pull request's. A changed symlink is listed like
    any file: loading refuses it, with a located error, if it leaves the folder.
    """
    root = _git(["rev-parse", "--show-toplevel"], cwd=within).strip()
    output = _git(
        ["diff", "--name-only", "-z", "--diff-filter=ACMR", f"{ref}...HEAD", "--", "."],
        cwd=within,
    )
    changed = [Path(root) / name for name in output.split("\0") if name]
    return sorted(path for path in changed if path.suffix.lower() in EVENT_SUFFIXES)


def base_versions(ref: str, files: list[Path]) -> dict[Path, bytes | None]:
    """Each changed file's content at the merge base of ``ref`` and HEAD (following renames),
    or None for a file the pull request added."""
    if not files:
        return {}
    cwd = files[0].parent
    root = Path(_git(["rev-parse", "--show-toplevel"], cwd=cwd).strip()).resolve()
    base = _git(["merge-base", ref, "HEAD"], cwd=cwd).strip()
    output = _git(["diff", "--name-status", "-z", "-M", f"{base}", "HEAD", "--"], cwd=root)
    fields = output.split("\0")
    old_path: dict[Path, str] = {}
    index = 0
    while index < len(fields) - 1:
        status = fields[index]
        if status.startswith(("R", "C")):
            old_path[(root / fields[index + 2]).resolve()] = fields[index + 1]
            index += 3
        else:
            if status.startswith("M"):
                old_path[(root / fields[index + 1]).resolve()] = fields[index + 1]
            index += 2
    versions: dict[Path, bytes | None] = {}
    for path in files:
        old = old_path.get(path.resolve())
        versions[path] = None if old is None else _git_bytes(["show", f"{base}:{old}"], root)
    return versions


def _git_bytes(args: list[str], cwd: Path) -> bytes:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, check=False, timeout=60
    )
    if completed.returncode != 0:
        raise UsageError(f"git {' '.join(args[:2])}: {completed.stderr.decode(errors='replace')}")
    return completed.stdout


def _git(args: list[str], cwd: Path) -> str:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError as exc:
        raise UsageError("--changed-since needs git, which is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise UsageError(f"git {' '.join(args)} timed out") from exc
    if completed.returncode != 0:
        message = (completed.stderr.strip().splitlines()[-1:] or ["failed"])[0]
        raise UsageError(f"git {' '.join(args[:2])}: {message}{_history_hint(message)}")
    return completed.stdout


SHALLOW_SIGNS = ("no merge base", "bad revision", "unknown revision", "not a valid object name")


def _history_hint(message: str) -> str:
    """What to do when the checkout lacks the history the gate compares with."""
    if not any(sign in message for sign in SHALLOW_SIGNS):
        return ""
    return (
        " (the checkout lacks the base branch or its history: fetch it, e.g. "
        "actions/checkout with fetch-depth: 0, or git fetch --unshallow origin <base>)"
    )
