"""The time one URL may take: every attempt, redirect hop and backoff of its check share it."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class UrlBudget:
    """The time one URL may take from its first request on: every attempt, redirect hop and
    backoff included. The clock starts when the first request is admitted, so waiting for a
    free slot behind other hosts never counts against the URL."""

    seconds: float
    deadline: float | None = None

    def start(self) -> float:
        """Seconds left (starting the clock on first use)."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        return self.deadline - now

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def spent_after(self, seconds: float) -> bool:
        """Would the deadline have passed ``seconds`` from now (never, before the start)?"""
        return self.deadline is not None and time.monotonic() + seconds >= self.deadline


CURRENT_BUDGET: ContextVar[UrlBudget | None] = ContextVar("verifier_url_budget", default=None)
"""The budget of the URL being checked in this task (set by the checker, read per request)."""
