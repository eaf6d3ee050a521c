"""Configuration: the commented config.toml mirrors the defaults; bad values are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from verifier.config import Settings, load_settings
from verifier.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_toml_equals_the_built_in_defaults() -> None:
    shipped = load_settings(ROOT / "config.toml")
    assert shipped.model_dump() == Settings(base_dir=ROOT).model_dump()


def test_every_rule_severity_is_documented_in_config_toml() -> None:
    text = (ROOT / "config.toml").read_text()
    for name in Settings().rules.severity.model_dump(by_alias=True):
        assert f"\n{name} = " in text, name


def test_unknown_key_is_an_error(settings_from: Callable[[str], Settings]) -> None:
    with pytest.raises(ConfigError, match="tresholds"):
        settings_from("[rules]\ntresholds = 1\n")


def test_invalid_severity_is_an_error(settings_from: Callable[[str], Settings]) -> None:
    with pytest.raises(ConfigError, match="duplicate-url"):
        settings_from('[rules.severity]\nduplicate-url = "fatal"\n')


def test_invalid_toml_is_an_error(settings_from: Callable[[str], Settings]) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        settings_from("[rules\n")


def test_registry_file_adds_hosts(settings_from, tmp_path: Path) -> None:
    (tmp_path / "extra.toml").write_text('tier1 = ["example-court.org"]\n')
    settings = settings_from('[registry]\nfile = "extra.toml"\n')
    registry = settings.domain_registry()
    assert registry.tier_of("www.example-court.org") == 1
    assert registry.tier_of("nytimes.com") == 2


def test_missing_registry_file_is_an_error(settings_from) -> None:
    with pytest.raises(ConfigError, match=r"registry\.file"):
        settings_from('[registry]\nfile = "nope.toml"\n')
