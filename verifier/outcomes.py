"""What a command hands back to the CLI: the event reports, and what it could not check.

"Could not check" is one value (``CouldNotCheck``) whatever the cause — the network was
down, the archive could not be asked, the run was stopped — so the CLI maps outcomes to
exit codes in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from verifier.events.parse import Skipped
from verifier.history.store import RunState
from verifier.models import EventReport, Result


class Shortfall(StrEnum):
    """Why some of the work could not be done."""

    OUTAGE = "outage"  # the network was down: no source was judged
    ARCHIVE_DOWN = "archive down"  # the Wayback Machine could not be asked
    INTERRUPTED = "interrupted"  # stopped before the end: the next start resumes


@dataclass(frozen=True, slots=True)
class CouldNotCheck:
    shortfall: Shortfall
    detail: str

    @property
    def message(self) -> str:
        """The line the CLI prints."""
        if self.shortfall is Shortfall.OUTAGE:
            return f"could not check sources: {self.detail}"
        if self.shortfall is Shortfall.ARCHIVE_DOWN:
            return f"could not check archives: {self.detail}"
        return f"run interrupted; {self.detail}"


def detail_of(could_not_check: Sequence[CouldNotCheck], shortfall: Shortfall) -> str | None:
    """The detail of the first ``shortfall`` among ``could_not_check``, or None."""
    return next((c.detail for c in could_not_check if c.shortfall is shortfall), None)


@dataclass(slots=True)
class CheckOutcome:
    """``verifier check``: a report per event, and what could not be checked."""

    reports: list[EventReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    could_not_check: list[CouldNotCheck] = field(default_factory=list)
    urls_checked: int = 0
    requests_sent: int = 0
    notices: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(report.result is Result.FAIL for report in self.reports)

    @property
    def outage(self) -> str | None:
        return detail_of(self.could_not_check, Shortfall.OUTAGE)

    @property
    def archive_down(self) -> str | None:
        return detail_of(self.could_not_check, Shortfall.ARCHIVE_DOWN)


@dataclass(slots=True)
class RunOutcome(CheckOutcome):
    """``verifier run``: a check with history, its run's record and figures."""

    state: RunState = RunState.COMPLETE
    run_id: int = 0
    resumed: bool = False
    figures: dict[str, Any] = field(default_factory=dict)
