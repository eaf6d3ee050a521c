"""The one data model: events as read, and what the verifier says about them.

Input models (``Event``, ``Source``) accept the real world: unknown fields are kept, the
older ``outlet:`` is read as ``publisher:``, and values the rules judge (``tier``, ``url``,
``date``) are kept as given so that a rule — not a parse failure — reports them.
Output models mirror the JSON contract of DESIGN.md (``schema_version`` 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from verifier.citation.facts import PageFacts
from verifier.web.answers import Failure

SCHEMA_VERSION = 1


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Result(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


class Verdict(StrEnum):
    """The outcome of one check of one URL (DESIGN.md vocabulary)."""

    ALIVE = "alive"
    DEAD = "dead"
    SOFT_DEAD = "soft-dead"
    BLOCKED = "blocked"
    UNREACHABLE = "unreachable"
    INVALID = "invalid"


DEAD_VERDICTS = frozenset({Verdict.DEAD, Verdict.SOFT_DEAD})
"""The page is gone."""
UNAVAILABLE_VERDICTS = frozenset({Verdict.BLOCKED, Verdict.UNREACHABLE, Verdict.INVALID})
"""The page could not be read this time; that says nothing yet about the page."""
FAILING_VERDICTS = DEAD_VERDICTS | {Verdict.UNREACHABLE, Verdict.INVALID}
"""What counts toward a URL's streak of failures (a bot wall, ``blocked``, does not)."""


class Status(StrEnum):
    """A URL's standing, decided from its history of observations."""

    OK = "ok"
    SUSPECT = "suspect"
    BROKEN = "broken"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


class ArchiveState(StrEnum):
    EXISTING = "existing"
    SAVED = "saved"
    PENDING = "pending"
    FAILED = "failed"
    MISSING = "missing"
    UNVERIFIED = "unverified"
    FABRICATED = "fabricated"
    IMPRECISE = "imprecise"
    """The link's timestamp names no capture, but Wayback resolves it to a good capture of
    the same URL (``resolved_url``): a warning, fixed by writing the exact timestamp."""


def _as_text(value: Any) -> Any:
    """Dates written unquoted, or numbers where text belongs, become text."""
    if isinstance(value, dt.date | int | float) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return value


class Source(BaseModel):
    """One cited source. ``url`` may be empty or malformed: the rules say so."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    url: str = ""
    title: str | None = None
    publisher: str | None = Field(
        default=None, validation_alias=AliasChoices("publisher", "outlet")
    )
    date: str | None = None
    tier: Any = None
    archive_url: str | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _url_text(cls, value: Any) -> Any:
        return "" if value is None else _as_text(value)

    @field_validator("title", "publisher", "date", "archive_url", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _as_text(value)


class Event(BaseModel):
    """One timeline event: frontmatter fields the verifier relies on, the rest kept."""

    model_config = ConfigDict(extra="allow")

    id: str
    date: str
    title: str
    importance: int | None = None
    tags: list[Any] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)

    @field_validator("id", "date", "title", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _as_text(value)


class Violation(BaseModel):
    rule: str
    severity: Severity
    message: str
    source_index: int | None = None
    line: int | None = None


@dataclass(slots=True)
class LoadedEvent:
    """An event file after loading: the event (when valid) and where each field sits."""

    path: str
    stem: str
    event: Event | None
    raw: dict[str, Any] = field(default_factory=dict)
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)
    load_violations: list[Violation] = field(default_factory=list)
    sha256: str = ""
    """Digest of the bytes as read, so a later write-back can refuse a changed file."""

    def line_of(self, *loc: str | int) -> int | None:
        """The line of the deepest known node on the path ``loc``."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


class ArchiveInfo(BaseModel):
    """What the Wayback Machine holds for one source (the ``archive`` block of the contract)."""

    state: ArchiveState
    url: str | None = None
    timestamp: str | None = None
    captured_status: int | None = None
    detail: str | None = None
    nearest_url: str | None = None
    """For a fabricated link: the nearest real capture, to replace it with."""
    suggested: bool = False
    """True when ``url`` is offered as the replacement for a dead source."""
    job_id: str | None = None
    checked_at: dt.datetime | None = None
    resolved_url: str | None = None
    """For a claimed link: the capture Wayback actually serves for it (exact timestamp)."""
    resolved_timestamp: str | None = None
    latest_url: str | None = None
    """The newest good capture (a refresh made or found by Save Page Now), when it is not
    ``url``: ``url`` stays the citation's capture, the closest before the source's date."""
    latest_timestamp: str | None = None


class CitationVerdict(StrEnum):
    """Is the live page the page cited? (the ``citation`` block of a source)."""

    MATCHES = "matches"
    DRIFTED = "drifted"
    """The page does not match now, but its capture from the cited date did: it changed."""
    WRONG_PAGE = "wrong-page"
    """Another page: the live page does not match, and no capture shows that it ever did."""
    GENERIC_PAGE = "generic-page"
    """The site's home page or a section front, not an article."""
    DATE_MISMATCH = "date-mismatch"
    """The page matches, but its date is far from the cited date."""
    UNVERIFIABLE = "unverifiable"
    """The page cannot say what it is (see ``CitationInfo.reason``)."""


CITATION_FINDINGS = frozenset({CitationVerdict.WRONG_PAGE, CitationVerdict.GENERIC_PAGE})
"""Citations that point at another page than the one cited."""


class Unverifiable(StrEnum):
    """Why a live page's citation cannot be checked."""

    BLOCKED = "blocked"
    NOT_HTML = "not-html"
    NO_METADATA = "no-metadata"
    SCRIPT_SHELL = "script-shell"
    CONSENT_WALL = "consent-wall"
    NO_CITED_TITLE = "no-cited-title"


class Citing(BaseModel):
    """What a citation says, or what a page shows, side by side in a report."""

    title: str | None = None
    publisher: str | None = None
    date: str | None = None


class CitationInfo(BaseModel):
    """The ``citation`` block of one source: what was cited beside what was seen."""

    verdict: CitationVerdict
    reason: Unverifiable | None = None
    detail: str = ""
    cited: Citing
    seen: Citing
    title_score: float | None = None
    publisher_matches: bool | None = None
    capture_url: str | None = None
    """The Wayback capture read to tell a changed page from a wrong one."""
    capture_title: str | None = None


class Observation(BaseModel):
    """One check of one URL at one time."""

    url: str
    verdict: Verdict
    http_status: int | None = None
    final_url: str | None = None
    attempts: int = 0
    checked_at: dt.datetime
    detail: str = ""
    redirects: list[str] = Field(default_factory=list)
    elapsed_ms: float | None = None
    failure: Failure | None = None
    """The transport failure behind a verdict, if any (in JSON: its value, ``"timeout"``…)."""
    page: PageFacts | None = None
    """What the page says about itself (title, site name, dates), read from the same GET."""


class SourceReport(BaseModel):
    index: int
    url: str
    tier: Any = None
    effective_tier: int | None = None
    publisher: str | None = None
    line: int | None = None
    verdict: Verdict | None = None
    status: Status = Status.UNKNOWN
    http_status: int | None = None
    final_url: str | None = None
    attempts: int = 0
    checked_at: dt.datetime | None = None
    detail: str | None = None
    archive: ArchiveInfo | None = None
    citation: CitationInfo | None = None


class EventSummary(BaseModel):
    id: str
    file: str
    title: str | None = None
    date: str | None = None
    importance: int | None = None


class EventReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    event: EventSummary
    result: Result
    sources: list[SourceReport] = Field(default_factory=list)
    violations: list[Violation] = Field(default_factory=list)


def result_of(violations: list[Violation]) -> Result:
    """fail on any error, warn on any warning, else pass."""
    severities = {violation.severity for violation in violations}
    if Severity.ERROR in severities:
        return Result.FAIL
    if Severity.WARNING in severities:
        return Result.WARN
    return Result.PASS
