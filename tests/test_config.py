"""Configuration: the commented config.toml mirrors the defaults; bad values are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from verifier.config import Settings, load_settings
from verifier.errors import ConfigError
from verifier.events.gate import NEW_SOURCE_DEAD, NEW_SOURCE_UNAVAILABLE
from verifier.events.rules import RULES

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_config_toml_equals_the_built_in_defaults() -> None:
    """Key by key, but for the events folder: the repository's own points at its bundled
    examples, a timeline's default is ``events/``."""
    shipped = load_settings(ROOT / "config.toml").model_dump()
    defaults = Settings(base_dir=ROOT).model_dump()
    assert shipped["paths"].pop("events") == Path("examples/events")
    assert defaults["paths"].pop("events") == Path("events")
    assert shipped == defaults


def test_every_rule_severity_is_documented_in_config_toml() -> None:
    text = (ROOT / "config.toml").read_text()
    for name in Settings().rules.severity.model_dump(by_alias=True):
        assert f"\n{name} = " in text, name


def readme_rule_defaults() -> dict[str, str]:
    """Rule → default severity, from the rules table of the README's "Tier rules" section
    (``| `a` / `b` | error / warning |``; one severity for several rules applies to each)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Tier rules") :]
    section = section[: section.index("\n## ", 1)]
    defaults: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`([a-z0-9-]+)`", cells[0])
        if len(cells) < 3 or not names:
            continue
        severities = [severity.strip() for severity in cells[1].split("/")]
        if len(severities) == 1:
            severities *= len(names)
        defaults.update(zip(names, severities, strict=True))
    return defaults


def test_every_rule_is_in_the_readme_rules_table_with_its_default() -> None:
    assert readme_rule_defaults() == Settings().rules.severity.model_dump(by_alias=True)


def test_every_rule_the_code_applies_has_a_configured_severity() -> None:
    configured = Settings().rules.severity.model_dump(by_alias=True)
    offline = {name for name, _ in RULES}
    gate = {NEW_SOURCE_DEAD, NEW_SOURCE_UNAVAILABLE}
    assert offline | gate | {"schema", "source-dead", "source-unavailable"} <= set(configured)


def test_gate_rule_severities_are_configurable(settings_from: Callable[[str], Settings]) -> None:
    settings = settings_from('[rules.severity]\nnew-source-dead = "off"\n')
    severities = settings.rules.severity.model_dump(by_alias=True)
    assert (severities["new-source-dead"], severities["new-source-unavailable"]) == (
        "off",
        "warning",
    )
    with pytest.raises(ConfigError, match="new-source-unavailable"):
        settings_from('[rules.severity]\nnew-source-unavailable = "fatal"\n')


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
