"""The sections of ``config.toml`` as typed, validated models, every default in one place.

``verifier.config`` assembles them into ``Settings`` and loads the file; import them from
there. The commented ``config.toml`` at the repository root mirrors these defaults key by
key (``tests/test_config.py`` keeps the two in step).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from verifier.registry_defaults import DEFAULT_TIER1, DEFAULT_TIER2, DEFAULT_TIER3
from verifier.urls import host_of, under_domain

SeverityName = Literal["error", "warning", "off"]


class Section(BaseModel):
    """A table of ``config.toml``: unknown keys are an error; values are frozen."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class PathsSettings(Section):
    events: Path = Path("events")
    reports: Path = Path("reports")
    baseline: Path = Path("verifier-baseline.json")
    """Findings recorded by ``verifier baseline``; ``check`` leaves them out when it exists."""


class LimitsSettings(Section):
    """What one event file may cost to load; a file over a limit is a located error, alone.

    Real events are under 10 KB. Built YAML costs some 75 times its text in memory, so
    the front matter (all of a JSON event) has the tighter cap; nesting and value counts are
    capped in ``verifier.events.yaml_compose`` (``MAX_DEPTH``, ``MAX_NODES``).
    """

    max_file_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    max_front_matter_bytes: Annotated[int, Field(ge=1024)] = 262_144


class RetrySettings(Section):
    """Retry policy as data. attempts = 3 means the first request and 2 retries."""

    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    backoff_base: Annotated[float, Field(ge=0)] = 0.5
    backoff_max: Annotated[float, Field(ge=0)] = 8.0
    jitter: Annotated[float, Field(ge=0)] = 0.25
    retry_statuses: tuple[int, ...] = (408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524)
    retry_after_cap: Annotated[float, Field(ge=0)] = 60.0
    host_pause_after_429: Annotated[float, Field(ge=0)] = 5.0


class HttpSettings(Section):
    user_agent: str = (
        "verifier/0.1 (source checker for evidence-based timelines; "
        "+https://github.com/verifier-project/verifier)"
    )
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    read_timeout: Annotated[float, Field(gt=0)] = 15.0
    attempt_deadline: Annotated[float, Field(gt=0)] = 30.0
    url_deadline: Annotated[float, Field(gt=0)] = 120.0
    max_concurrency: Annotated[int, Field(ge=1)] = 128
    per_host: Annotated[int, Field(ge=1)] = 4
    min_host_interval: Annotated[float, Field(ge=0)] = 0.05
    max_redirects: Annotated[int, Field(ge=0)] = 10
    max_body_bytes: Annotated[int, Field(ge=1024)] = 65_536
    drain_bytes: Annotated[int, Field(ge=0)] = 262_144
    soft404_probe: bool = True
    probe_cache_days: Annotated[float, Field(ge=0)] = 30.0
    head_first_hosts: tuple[str, ...] = ()
    ca_file: Path | None = None
    retry: RetrySettings = RetrySettings()
    resolve: dict[str, str] = Field(default_factory=dict)


class SecuritySettings(Section):
    allow_private_networks: bool = False
    allowed_networks: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _networks_parse(self) -> SecuritySettings:
        for network in self.allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"allowed_networks: {exc}") from exc
        return self


class OutageSettings(Section):
    """When most hosts fail at the connection level, the network (not the web) is down."""

    canary_urls: tuple[str, ...] = ()
    min_hosts: Annotated[int, Field(ge=1)] = 5
    host_failure_ratio: Annotated[float, Field(gt=0, le=1)] = 0.8
    reference_host: str = "web.archive.org"


class WaybackSettings(Section):
    """The Wayback Machine: endpoints (a local fake can stand in), budgets and patience.

    Budgets are per ``rate_window`` seconds (60: per minute), set below the service's limits
    (CDX allows about 30 a minute in 2026; Save Page Now about 12 captures a minute).
    """

    enabled: bool = True
    cdx_url: str = "https://web.archive.org/cdx/search/cdx"
    replay_url: str = "https://web.archive.org/web"
    """How capture links are written (``<replay_url>/<timestamp>/<url>``)."""
    replay_request_url: str = ""
    """Where replay requests go (following archived redirects); empty: ``replay_url``."""
    save_url: str = "https://web.archive.org/save"
    status_url: str = "https://web.archive.org/save/status"
    access_key_env: str = "WAYBACK_ACCESS_KEY"
    secret_key_env: str = "WAYBACK_SECRET_KEY"
    rate_window: Annotated[float, Field(gt=0)] = 60.0
    cdx_per_window: Annotated[int, Field(ge=1)] = 24
    save_per_window: Annotated[int, Field(ge=1)] = 11
    status_per_window: Annotated[int, Field(ge=1)] = 60
    replay_per_window: Annotated[int, Field(ge=1)] = 300
    max_sessions: Annotated[int, Field(ge=1)] = 5
    workers: Annotated[int, Field(ge=1)] = 4
    cooldown_after_429: Annotated[float, Field(ge=0)] = 60.0
    timeout: Annotated[float, Field(gt=0)] = 30.0
    attempts: Annotated[int, Field(ge=1)] = 3
    save_if_no_capture_within_days: Annotated[int, Field(ge=0)] = 365
    recheck_days: Annotated[float, Field(ge=0)] = 30.0
    poll_interval: Annotated[float, Field(gt=0)] = 5.0
    poll_timeout: Annotated[float, Field(gt=0)] = 180.0
    index_lag_hours: Annotated[float, Field(ge=0)] = 48.0
    """A claimed capture younger than this that the index does not hold is not called
    fabricated (new captures reach the index hours late): it is verified again next run."""
    time_budget: Annotated[float, Field(gt=0)] = 1800.0


class HistorySettings(Section):
    """When a failing URL becomes ``broken``, and when a URL is due for a new check."""

    broken_after_failures: Annotated[int, Field(ge=1)] = 3
    broken_after_days: Annotated[float, Field(ge=0)] = 3.0
    ok_ttl_days: Annotated[float, Field(ge=0)] = 7.0
    ok_ttl_spread: Annotated[float, Field(ge=0, le=1)] = 0.5
    failing_ttl_hours: Annotated[float, Field(ge=0)] = 20.0
    lookback_days: Annotated[int, Field(ge=1)] = 90
    path: Path = Path(".verifier/history.sqlite3")
    url: str | None = None
    """A PostgreSQL history (``postgresql://…``) instead of the SQLite file; better given as
    ``$VERIFIER_HISTORY_URL`` when it holds a password."""


class WorkersSettings(Section):
    """``verifier worker`` processes sharing a night through a PostgreSQL history: how long
    a domain's lease and a host's token hold unrenewed (so how soon a dead worker's domains
    pass to another), how often they are renewed, and how much one lease call takes."""

    lease_seconds: Annotated[float, Field(gt=0)] = 60.0
    heartbeat_seconds: Annotated[float, Field(gt=0)] = 5.0
    batch_urls: Annotated[int, Field(ge=1)] = 2000
    token_idle_seconds: Annotated[float, Field(ge=0)] = 2.0
    poll_seconds: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> WorkersSettings:
        if self.heartbeat_seconds * 3 > self.lease_seconds:
            raise ValueError("workers.heartbeat_seconds must be at most a third of lease_seconds")
        return self


class SourcesSettings(Section):
    """Which sources are checked, and which answers count as alive (as lychee's
    ``exclude``/``accept``): for sites known to refuse scripts, intranet links, and the like."""

    exclude: tuple[str, ...] = ()
    """Regular expressions searched in each URL: a matching source is neither checked nor
    archived (the offline rules still apply)."""
    exclude_hosts: tuple[str, ...] = ()
    """Hosts whose URLs (their subdomains' too) are neither checked nor archived."""
    accept: tuple[Annotated[int, Field(ge=100, le=999)], ...] = ()
    """HTTP statuses that count as ``alive`` (e.g. 403 for a site that refuses every script)."""

    @model_validator(mode="after")
    def _patterns_compile(self) -> SourcesSettings:
        for pattern in self.exclude:
            try:
                re.compile(pattern)
            except re.error as exc:
                message = f"exclude pattern {pattern!r} is not a regular expression: {exc}"
                raise ValueError(message) from exc
        return self

    def excludes(self, url: str) -> bool:
        """Whether ``url`` is left out of checking and archiving."""
        if self.exclude and any(_compiled(p).search(url) for p in self.exclude):
            return True
        if self.exclude_hosts:
            host = host_of(url)
            return any(under_domain(host, name) for name in self.exclude_hosts)
        return False


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class CitationSettings(Section):
    """Is the live page the page cited? Thresholds of the citation check
    (``verifier.citation``), which reads the liveness GET's first bytes: no extra request to
    the live site; a Wayback capture's head only when the live page does not match."""

    enabled: bool = True
    title_match: Annotated[float, Field(ge=0, le=100)] = 80.0
    """The least title similarity (0-100, token-set ratio gated by shared words) that is a
    match."""
    date_tolerance_days: Annotated[int, Field(ge=0)] = 3
    """A page date this close to the cited date agrees with it."""
    date_mismatch_days: Annotated[int, Field(ge=0)] = 30
    """A page date further than this from the cited date is a finding (``citation-date``)."""
    capture_reads_per_run: Annotated[int, Field(ge=0)] = 200
    """At most this many Wayback capture heads read per run to tell a page changed since it
    was cited from a wrong URL (each is one replay request, paced with the archive's
    budget; a capture read once is kept for good)."""
    capture_after_days: Annotated[int, Field(ge=0)] = 7
    """A capture taken up to this many days after the cited date still shows the page as
    cited; later ones may show it changed already, so they are not read."""
    publisher_aliases: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "Associated Press": ("AP", "AP News"),
            "The New York Times": ("NYT", "NY Times", "New York Times"),
            "The Washington Post": ("WaPo", "Washington Post"),
            "The Wall Street Journal": ("WSJ", "Wall Street Journal"),
            "National Public Radio": ("NPR",),
            "British Broadcasting Corporation": ("BBC", "BBC News"),
            "Cable News Network": ("CNN",),
            "Financial Times": ("FT",),
            "Los Angeles Times": ("LA Times", "LAT"),
        }
    )
    """Other names of a publisher (acronyms of several words are also found without a
    list: "New York Times" reads as "NYT")."""


class ScheduleSettings(Section):
    """When ``verifier schedule`` runs the nightly job: cron fields, in ``timezone``.

    ``day_of_week`` takes cron numbers (0 or 7 = Sunday) or names (``mon-fri``).
    """

    second: str = "0"
    minute: str = "0"
    hour: str = "3"
    day: str = "*"
    month: str = "*"
    day_of_week: str = "*"
    timezone: str = "UTC"
    misfire_grace_hours: Annotated[float, Field(gt=0)] = 6.0
    stop_grace_seconds: Annotated[float, Field(gt=0)] = 60.0


class RuleSeverities(Section):
    """The severity of each rule, by the name its violations carry; ``off`` disables it.

    The offline rules (``verifier.events.rules.RULES``, and ``schema`` for what fails to validate),
    the checked sources' (``source-*``), the archive records' (``archive-*``) and the
    pull-request gate's (``new-source-*``, ``verifier.events.gate``), all applied the same way."""

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
    source_dead: SeverityName = Field("error", alias="source-dead")
    source_unavailable: SeverityName = Field("warning", alias="source-unavailable")
    archive_fabricated: SeverityName = Field("error", alias="archive-fabricated")
    archive_error_capture: SeverityName = Field("warning", alias="archive-error-capture")
    archive_imprecise: SeverityName = Field("warning", alias="archive-imprecise")
    new_source_dead: SeverityName = Field("error", alias="new-source-dead")
    new_source_unavailable: SeverityName = Field("warning", alias="new-source-unavailable")
    citation_mismatch: SeverityName = Field("warning", alias="citation-mismatch")
    citation_date: SeverityName = Field("warning", alias="citation-date")
    citation_url_date: SeverityName = Field("warning", alias="citation-url-date")


class RulesSettings(Section):
    min_credible_sources: Annotated[int, Field(ge=0)] = 2
    credible_max_tier: Annotated[int, Field(ge=1, le=3)] = 2
    high_importance: Annotated[int, Field(ge=0)] = 8
    min_publishers: Annotated[int, Field(ge=0)] = 2
    infer_missing_tier: bool = True
    archive_hosts: tuple[str, ...] = ("web.archive.org", "wayback.archive.org")
    severity: RuleSeverities = RuleSeverities()


class RegistrySettings(Section):
    """Domain → tier. ``file`` names an extra TOML file with the same three keys, added on top."""

    tier1: tuple[str, ...] = DEFAULT_TIER1
    tier2: tuple[str, ...] = DEFAULT_TIER2
    tier3: tuple[str, ...] = DEFAULT_TIER3
    file: Path | None = None
