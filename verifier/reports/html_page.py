"""Glue: the HTML page of the nightly reports, with the history's chart of status over time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from verifier.history.store import SQLiteHistory
from verifier.models import EventReport
from verifier.reports.formats.html import RunPoint, render_html


def html_reports(
    reports: Sequence[EventReport],
    summary: dict[str, Any],
    store: SQLiteHistory,
    now: dt.datetime,
) -> dict[str, str]:
    """``index.html``: every source, searchable; the chart shows source statuses per run
    (earlier finished runs from the history, then this one)."""
    points = [RunPoint(run.started_at, counts) for run, counts in store.status_history()]
    points.append(RunPoint(now, summary.get("statuses", {})))
    shown = {key: value for key, value in summary.items() if key not in HIDDEN and value}
    if isinstance(shown.get("failing_hosts"), dict):  # the table below has every host
        shown["failing_hosts"] = dict(list(shown["failing_hosts"].items())[:12])
    return {"index.html": render_html(reports, shown, points, now)}


HIDDEN = frozenset({"schema_version", "generated_at", "statuses"})
"""Summary keys the page shows elsewhere (header, chart, status card) or that mean nothing
to a reader."""
