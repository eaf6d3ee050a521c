"""Settings: ``config.toml`` → typed, validated settings; unknown keys are an error, so a
typo never silently falls back to a default.

The sections and their defaults are ``verifier.config_sections`` (every name is importable
from here too); this module assembles them into ``Settings``, reads the TOML files (the
config and ``registry.file``) and turns what is wrong in them into one ``ConfigError``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from verifier.config_sections import (
    CitationSettings,
    HistorySettings,
    HttpSettings,
    LimitsSettings,
    OutageSettings,
    PathsSettings,
    RegistrySettings,
    RetrySettings,
    RuleSeverities,
    RulesSettings,
    ScheduleSettings,
    Section,
    SecuritySettings,
    SeverityName,
    SourcesSettings,
    WaybackSettings,
    WorkersSettings,
)
from verifier.errors import ConfigError
from verifier.events.registry import DomainRegistry
from verifier.registry_defaults import DEFAULT_TIER1, DEFAULT_TIER2, DEFAULT_TIER3

__all__ = [
    "DEFAULT_TIER1",
    "DEFAULT_TIER2",
    "DEFAULT_TIER3",
    "CitationSettings",
    "HistorySettings",
    "HttpSettings",
    "LimitsSettings",
    "OutageSettings",
    "PathsSettings",
    "RegistrySettings",
    "RetrySettings",
    "RuleSeverities",
    "RulesSettings",
    "ScheduleSettings",
    "SecuritySettings",
    "Settings",
    "SeverityName",
    "SourcesSettings",
    "WaybackSettings",
    "WorkersSettings",
    "load_settings",
]


class Settings(Section):
    paths: PathsSettings = PathsSettings()
    limits: LimitsSettings = LimitsSettings()
    rules: RulesSettings = RulesSettings()
    registry: RegistrySettings = RegistrySettings()
    http: HttpSettings = HttpSettings()
    security: SecuritySettings = SecuritySettings()
    outage: OutageSettings = OutageSettings()
    wayback: WaybackSettings = WaybackSettings()
    history: HistorySettings = HistorySettings()
    schedule: ScheduleSettings = ScheduleSettings()
    citation: CitationSettings = CitationSettings()
    sources: SourcesSettings = SourcesSettings()
    workers: WorkersSettings = WorkersSettings()
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _registry_file_exists(self) -> Settings:
        path = self.registry.file
        if path is not None and not self.resolve(path).is_file():
            raise ValueError(f"registry.file {path} does not exist")
        return self

    def resolve(self, path: Path) -> Path:
        """Relative paths in the config are relative to the config file's folder."""
        return path if path.is_absolute() else self.base_dir / path

    def domain_registry(self) -> DomainRegistry:
        tiers: dict[int, list[str]] = {
            1: list(self.registry.tier1),
            2: list(self.registry.tier2),
            3: list(self.registry.tier3),
        }
        if self.registry.file is not None:
            extra = _read_toml(self.resolve(self.registry.file))
            for tier in (1, 2, 3):
                values = extra.get(f"tier{tier}", [])
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    raise ConfigError(f"{self.registry.file}: tier{tier} must be a list of hosts")
                tiers[tier].extend(values)
        return DomainRegistry(tiers)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


CONFIG_NAMES = ("verifier.toml", "pyproject.toml", "config.toml")
"""Where settings are looked for, in each folder from the working one up to the
repository's root: our own file, ``[tool.verifier]`` in ``pyproject.toml``, then a
``config.toml`` whose tables are all ours (a Hugo or Jekyll site's own is not)."""


def _section_names() -> frozenset[str]:
    return frozenset(name for name in Settings.model_fields if name != "base_dir")


def settings_table(name: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The verifier's settings in a parsed file called ``name``, or None when it holds none."""
    if name == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("verifier") if isinstance(tool, dict) else None
        return table if isinstance(table, dict) else None
    if name == "config.toml" and (not data or not set(data) <= _section_names()):
        return None  # another program's config.toml (a static site's, say)
    return data


def find_config(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest configuration from ``start`` (the working folder) up to the repository
    root (the folder holding ``.git``) or the filesystem's root, with its settings table."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_NAMES:
            path = candidate / name
            if path.is_file():
                table = settings_table(name, _read_toml(path))
                if table is not None:
                    return path, table
        if (candidate / ".git").exists():
            break
    return None


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (a ``verifier.toml``/``config.toml``, or a ``pyproject.toml``'s
    ``[tool.verifier]``); without one, the nearest found (``find_config``), else defaults."""
    if path is None:
        found = find_config()
        if found is None:
            return Settings()
        path, data = found
    else:
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            data = settings_table(path.name, data) or {}
    return settings_from(data, path)


def settings_from(data: dict[str, Any], path: Path) -> Settings:
    """Validated settings from one parsed table; errors name ``path``."""
    try:
        return Settings.model_validate({**data, "base_dir": path.parent})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
