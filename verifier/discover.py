"""I/O: which event files exist — a whole folder, given paths, or those changed since a git ref."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from verifier.errors import UsageError

EVENT_SUFFIXES = frozenset({".md", ".json"})


def find_event_files(paths: Iterable[Path]) -> list[Path]:
    """Event candidates under ``paths`` (folders are walked), sorted, each listed once."""
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
    pull request branched off are not the pull request's.
    """
    root = _git(["rev-parse", "--show-toplevel"], cwd=within).strip()
    output = _git(
        ["diff", "--name-only", "-z", "--diff-filter=ACMR", f"{ref}...HEAD", "--", "."],
        cwd=within,
    )
    changed = [Path(root) / name for name in output.split("\0") if name]
    within_abs = within.resolve()
    return sorted(
        path
        for path in changed
        if path.suffix.lower() in EVENT_SUFFIXES and path.resolve().is_relative_to(within_abs)
    )


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
        message = completed.stderr.strip().splitlines()[-1:] or ["failed"]
        raise UsageError(f"git {' '.join(args[:2])}: {message[0]}")
    return completed.stdout
