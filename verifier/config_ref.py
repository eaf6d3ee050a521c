"""The configuration as a git ref has it, for the pull-request gate.

A pull request may change any file, the configuration included: read from the PR's own
checkout, it could allow private networks or turn rules off. ``--config-from-ref REF`` reads
the configuration (and the registry file it names) as ``REF`` — the base branch — has it.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from verifier.config import CONFIG_NAMES, Settings, settings_from, settings_table
from verifier.errors import ConfigError, UsageError


def git_show(ref: str, folder: Path, name: str) -> bytes | None:
    """The bytes of ``name`` (relative to ``folder``) at ``ref``, or None when it is not there."""
    if ref.startswith("-"):
        raise UsageError(f"not a git ref: {ref!r}")
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "show", f"{ref}:./{PurePosixPath(name)}"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot run git to read the configuration at {ref}: {exc}") from exc
    if done.returncode == 0:
        return done.stdout
    error = done.stderr.decode("utf-8", "replace")
    if "does not exist" in error or "exists on disk, but not in" in error:
        return None
    raise UsageError(f"cannot read the configuration at {ref}: {error.strip()}")


def load_settings_at_ref(ref: str, path: Path | None = None) -> Settings:
    """Settings from ``path`` (or the first of ``CONFIG_NAMES`` in the working folder) as it
    is at ``ref``; the defaults when ``ref`` has none."""
    folder = (path.parent if path is not None else Path.cwd()).resolve()
    names = (path.name,) if path is not None else CONFIG_NAMES
    for name in names:
        content = git_show(ref, folder, name)
        if content is None:
            continue
        try:
            data = tomllib.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{name} at {ref}: invalid TOML: {exc}") from exc
        table = settings_table(name, data)
        if table is None:
            continue
        return settings_from(_registry_at_ref(table, ref, folder), folder / name)
    return Settings(base_dir=folder)


def _registry_at_ref(table: dict[str, Any], ref: str, folder: Path) -> dict[str, Any]:
    """``table`` with its ``registry.file`` replaced by a copy of that file as ``ref`` has it."""
    registry = table.get("registry")
    if not isinstance(registry, dict) or not isinstance(registry.get("file"), str):
        return table
    content = git_show(ref, folder, registry["file"])
    if content is None:
        raise ConfigError(f"registry.file {registry['file']} does not exist at {ref}")
    copy = _scratch() / "registry.toml"
    copy.write_bytes(content)
    return {**table, "registry": {**registry, "file": str(copy)}}


def _scratch() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="verifier-ref-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
