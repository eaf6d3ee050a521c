"""Settings: ``config.toml`` → typed, validated settings, every default in one place.

The commented ``config.toml`` at the repository root mirrors these defaults key by key
(``tests/test_config.py`` keeps the two in step). Unknown keys are an error, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from verifier.errors import ConfigError
from verifier.registry import DomainRegistry

SeverityName = Literal["error", "warning", "off"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class PathsSettings(_Section):
    events: Path = Path("examples/events")
    reports: Path = Path("reports")


class RuleSeverities(_Section):
    """The severity of each rule; ``off`` disables it."""

    source_required: SeverityName = Field("error", alias="source-required")
    url_valid: SeverityName = Field("error", alias="url-valid")
    tier_valid: SeverityName = Field("error", alias="tier-valid")
    tier_missing: SeverityName = Field("warning", alias="tier-missing")
    min_credible_sources: SeverityName = Field("error", alias="min-credible-sources")
    high_importance_tier1: SeverityName = Field("error", alias="high-importance-tier1")
    publisher_diversity: SeverityName = Field("warning", alias="publisher-diversity")
    duplicate_url: SeverityName = Field("warning", alias="duplicate-url")
    id_matches_file: SeverityName = Field("error", alias="id-matches-file")
    id_date_prefix: SeverityName = Field("error", alias="id-date-prefix")
    date_valid: SeverityName = Field("error", alias="date-valid")
    tier_registry: SeverityName = Field("warning", alias="tier-registry")
    archive_url_format: SeverityName = Field("error", alias="archive-url-format")
    schema_: SeverityName = Field("error", alias="schema")


class RulesSettings(_Section):
    min_credible_sources: Annotated[int, Field(ge=0)] = 2
    credible_max_tier: Annotated[int, Field(ge=1, le=3)] = 2
    high_importance: Annotated[int, Field(ge=0)] = 8
    min_publishers: Annotated[int, Field(ge=0)] = 2
    infer_missing_tier: bool = True
    archive_hosts: tuple[str, ...] = ("web.archive.org", "wayback.archive.org")
    severity: RuleSeverities = RuleSeverities()


DEFAULT_TIER1: tuple[str, ...] = (
    # government and official documents
    "gov",
    "mil",
    "gc.ca",
    "canada.ca",
    "gov.uk",
    "parliament.uk",
    "europa.eu",
    "int",
    "gov.au",
    "govt.nz",
    "un.org",
    "imf.org",
    "worldbank.org",
    "oecd.org",
    "bis.org",
    # courts and primary legal texts
    "courtlistener.com",
    "supreme.justia.com",
    "law.cornell.edu",
    "oyez.org",
    # academic research
    "edu",
    "ac.uk",
    "jstor.org",
    "doi.org",
    "ssrn.com",
    "nber.org",
    "arxiv.org",
    "pubmed.ncbi.nlm.nih.gov",
    "nature.com",
    "science.org",
)
DEFAULT_TIER2: tuple[str, ...] = (
    # wire services and major newspapers / broadcasters
    "apnews.com",
    "ap.org",
    "reuters.com",
    "afp.com",
    "upi.com",
    "bloomberg.com",
    "bloomberglaw.com",
    "nytimes.com",
    "washingtonpost.com",
    "wsj.com",
    "ft.com",
    "economist.com",
    "latimes.com",
    "usatoday.com",
    "bostonglobe.com",
    "chicagotribune.com",
    "miamiherald.com",
    "seattletimes.com",
    "texastribune.org",
    "theguardian.com",
    "bbc.com",
    "bbc.co.uk",
    "cbc.ca",
    "npr.org",
    "pbs.org",
    "cnn.com",
    "nbcnews.com",
    "cbsnews.com",
    "abcnews.go.com",
    "cnbc.com",
    "msnbc.com",
    "foxnews.com",
    "foxbusiness.com",
    "time.com",
    "newsweek.com",
    "fortune.com",
    "forbes.com",
    "axios.com",
    "politico.com",
    "thehill.com",
    "rollcall.com",
    "theatlantic.com",
    "newyorker.com",
    "aljazeera.com",
    "themoscowtimes.com",
    "kyivindependent.com",
    "timesofisrael.com",
    "wired.com",
    "techcrunch.com",
    "statnews.com",
    "govexec.com",
    "federalnewsnetwork.com",
    "fedscoop.com",
    "nextgov.com",
    "defenseone.com",
    "courthousenews.com",
    "scotusblog.com",
    "lawfaremedia.org",
    "justsecurity.org",
    # investigative outlets, fact-checkers and established NGOs
    "propublica.org",
    "icij.org",
    "theintercept.com",
    "publicintegrity.org",
    "opensecrets.org",
    "pogo.org",
    "citizensforethics.org",
    "brennancenter.org",
    "aclu.org",
    "eff.org",
    "splcenter.org",
    "politifact.com",
    "factcheck.org",
    "occrp.org",
    "transparency.org",
    "hrw.org",
    "amnesty.org",
)
DEFAULT_TIER3: tuple[str, ...] = (
    # opinion, self-published, social media and wikis: need corroboration
    "substack.com",
    "medium.com",
    "blogspot.com",
    "wordpress.com",
    "tumblr.com",
    "twitter.com",
    "x.com",
    "facebook.com",
    "instagram.com",
    "threads.net",
    "bsky.app",
    "youtube.com",
    "youtu.be",
    "tiktok.com",
    "reddit.com",
    "truthsocial.com",
    "t.me",
    "wikipedia.org",
    "sourcewatch.org",
    "influencewatch.org",
    "dailykos.com",
    "breitbart.com",
    "thegatewaypundit.com",
    "newsmax.com",
    "dailywire.com",
    "rawstory.com",
    "commondreams.org",
    "truthout.org",
    "amazon.com",
)


class RegistrySettings(_Section):
    """Domain → tier. ``file`` names an extra TOML file with the same three keys, added on top."""

    tier1: tuple[str, ...] = DEFAULT_TIER1
    tier2: tuple[str, ...] = DEFAULT_TIER2
    tier3: tuple[str, ...] = DEFAULT_TIER3
    file: Path | None = None


class Settings(_Section):
    paths: PathsSettings = PathsSettings()
    rules: RulesSettings = RulesSettings()
    registry: RegistrySettings = RegistrySettings()
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


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from ``path``, or ``./config.toml`` when present, else the defaults."""
    if path is None:
        default = Path("config.toml")
        if not default.is_file():
            return Settings()
        path = default
    data = _read_toml(path)
    try:
        return Settings.model_validate({**data, "base_dir": path.parent})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
