"""Progress of a long check on a terminal (rich): checked of total, rate, time left and the
failures so far. Shown when stderr is a terminal — also when stdout is redirected to a
file — and never in CI (``CI=true``, as every CI service sets it)."""

from __future__ import annotations

import os
import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from verifier.models import FAILING_VERDICTS, Observation


def in_ci(environ: dict[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in ("", "0", "false", "no")


def show_progress() -> bool:
    return sys.stderr.isatty() and not in_ci()


class ProgressReporter:
    """Counts checked URLs and failing ones; a no-op when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("checking sources"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("[red]{task.fields[failing]} failing"),
                console=Console(stderr=True),
                transient=True,
            )
        self._task: TaskID | None = None
        self.checked = 0
        self.failing = 0

    def __enter__(self) -> ProgressReporter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("check", total=total, rate="", failing=0)

    def advance(self, observation: Observation) -> None:
        self.checked += 1
        if observation.verdict in FAILING_VERDICTS:
            self.failing += 1
        self._show()

    def counts(self, checked: int, failing: int) -> None:
        """Set the counts at once (results that worker processes stored)."""
        self.checked, self.failing = checked, failing
        self._show()

    def _show(self) -> None:
        if self._progress is not None and self._task is not None:
            elapsed = self._progress.tasks[0].elapsed or 0.0
            rate = f"{self.checked / elapsed:.1f} URL/s" if elapsed > 1 else ""
            self._progress.update(
                self._task, completed=self.checked, rate=rate, failing=self.failing
            )
