"""Glue: the HTML page of the nightly reports, with the history's chart of status over time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from verifier.history.store import History, RunRecord, RunState
from verifier.models import EventReport
from verifier.reports.formats.chart import RunPoint
from verifier.reports.formats.html import RunFacts, render_html


def html_reports(
    reports: Sequence[EventReport],
    summary: dict[str, Any],
    store: History,
    now: dt.datetime,
) -> dict[str, str]:
    """``index.html``: every source, searchable; the Run card says what this run did, and the
    chart shows source statuses per run (every earlier run from the history, outages and
    interrupted runs marked, then this one)."""
    run = summary.get("run")
    if not isinstance(run, dict):
        run = {}
    runs = store.runs()
    points = run_points(runs, store.status_history(), current=run.get("id"))
    started = next((record.started_at for record in runs if record.id == run.get("id")), now)
    state = str(run.get("state") or RunState.COMPLETE)
    points.append(RunPoint(started, summary.get("statuses", {}), state))
    shown = {key: value for key, value in summary.items() if key not in HIDDEN and value}
    if isinstance(shown.get("failing_hosts"), dict):  # the table below has every host
        shown["failing_hosts"] = dict(list(shown["failing_hosts"].items())[:12])
    facts = run_facts(run, summary, now)
    return {"index.html": render_html(reports, shown, points, now, facts)}


HIDDEN = frozenset({"schema_version", "generated_at", "statuses", "run", "broken", "broken_new"})
"""Summary keys the page shows elsewhere (header, chart, status and Run cards) or that mean
nothing to a reader."""


def run_points(
    runs: Sequence[RunRecord],
    statuses: Sequence[tuple[RunRecord, dict[str, int]]],
    current: object = None,
) -> list[RunPoint]:
    """Every finished run of ``runs`` but ``current`` (by id), with its totals of source
    statuses from ``statuses`` when it stored them (an outage judged nothing)."""
    counts = {run.id: totals for run, totals in statuses}
    return [
        RunPoint(run.started_at, counts.get(run.id, {}), run.state.value, run.finished_at)
        for run in runs
        if run.id != current and run.state is not RunState.RUNNING
    ]


def run_facts(run: Mapping[str, Any], summary: Mapping[str, Any], now: dt.datetime) -> RunFacts:
    """The Run card's facts from ``summary.json``'s ``run`` figures: no ids, no paths."""

    def number(key: str, within: Mapping[str, Any] = run) -> int | None:
        value = within.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    checked, before = number("checked"), number("resumed_with")
    seconds = run.get("wall_seconds")
    return RunFacts(
        finished_at=now,
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
        checked=None if checked is None else checked + (before or 0),
        due=number("due"),
        urls=number("urls"),
        state=str(run.get("state") or "complete"),
        resumed=run.get("resumed") is True,
        broken=number("broken", summary),
        broken_new=number("broken_new", summary),
    )
