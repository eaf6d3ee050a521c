"""The HTML report's status chart: one bar per run (sources by status), the lost nights
(outages, interruptions, nights without a run) marked, as inline SVG."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from itertools import pairwise

from verifier.models import Status

STATUS_ORDER = [status.value for status in Status]
STATUS_COLORS = {
    "ok": "#2f855a",
    "suspect": "#d69e2e",
    "broken": "#c53030",
    "blocked": "#6b46c1",
    "unknown": "#8a94a6",
}
OTHER_COLORS = ["#2b6cb0", "#b7791f", "#319795", "#97266d", "#4a5568"]
LOST = {
    "outage": ("#c53030", "outage: the network was down, nothing was judged"),
    "missing": ("#8a94a6", "no run that night"),
    "interrupted": ("#d69e2e", "interrupted: stopped before the end"),
}
"""How the chart marks the nights that were lost, and what its tooltip says."""


@dataclass(frozen=True, slots=True)
class RunPoint:
    """One run for the chart: when it started, how many sources had each status, and how
    it ended (``complete``, ``interrupted``, ``outage``; ``missing`` for a night without a
    run, see ``with_missing_nights``)."""

    started_at: datetime
    counts: Mapping[str, int]
    state: str = "complete"
    finished_at: datetime | None = None


def ordered(keys: set[str], order: Sequence[str]) -> list[str]:
    known = [key for key in order if key in keys]
    return known + sorted(key for key in keys if key not in order)


def _nice_step(top: int) -> int:
    raw = max(top / 5, 1.0)
    magnitude: int = 10 ** (len(str(int(raw))) - 1)
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def with_missing_nights(points: Sequence[RunPoint]) -> list[RunPoint]:
    """``points`` in time order, with a ``missing`` point for each night without a run
    between the first and the last: a day (in the runs' time zone) on which no run started
    or was still going. Runs are nightly by default; when they are spaced wider (the median
    of 3+ gaps over a day and a half: a weekly schedule), a gap holds as many missing points
    as runs its length says were missed."""
    runs = sorted(points, key=lambda point: point.started_at)
    if len(runs) < 2:
        return runs
    gaps = [after.started_at - before.started_at for before, after in pairwise(runs)]
    spacing = sorted(gaps)[len(gaps) // 2] if len(gaps) >= 3 else timedelta(days=1)
    daily = spacing <= timedelta(days=1.5)
    filled: list[RunPoint] = []
    for before, after in pairwise(runs):
        filled.append(before)
        if daily:
            ended = max(before.started_at, before.finished_at or before.started_at)
            day = ended.date() + timedelta(days=1)
            while day < after.started_at.date():
                moment = datetime.combine(day, before.started_at.timetz())
                filled.append(RunPoint(moment, {}, "missing"))
                day += timedelta(days=1)
        elif (gap := after.started_at - before.started_at) > spacing * 1.5:
            for k in range(1, round(gap / spacing)):
                filled.append(RunPoint(before.started_at + spacing * k, {}, "missing"))
    filled.append(runs[-1])
    return filled


def lost_note(runs: Sequence[RunPoint]) -> str:
    lost = Counter(run.state for run in runs if run.state in LOST)
    if not lost:
        return ""
    words = {
        "outage": ("outage", "outages"),
        "missing": ("night without a run", "nights without a run"),
        "interrupted": ("interrupted run", "interrupted runs"),
    }
    parts = [f"{lost[state]} {words[state][lost[state] != 1]}" for state in LOST if lost[state]]
    return f'<p class="lost-note" id="lost">Lost: {escape(" · ".join(parts))}.</p>'


def chart_svg(history: Sequence[RunPoint], colors: Mapping[str, str]) -> str:
    """Stacked bars: one per run, one segment per status, with a ``<title>`` tooltip each."""
    if not history:
        return '<p class="muted">No run history yet.</p>'
    runs = with_missing_nights(history)
    width, height, left, right, top, bottom = 1280, 230, 44, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(1, *(sum(run.counts.values()) for run in runs))
    step = _nice_step(peak)
    y_max = -(-peak // step) * step
    slot = plot_w / len(runs)
    bar = max(min(slot * 0.72, 48.0), 1.0)
    same_day = len({run.started_at.date() for run in runs}) < len(runs)
    label_fmt = "%m-%d %H:%M" if same_day else "%Y-%m-%d"
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMid meet" '
        'role="img" aria-label="Sources per status, per run">'
    ]
    for tick in range(0, y_max + 1, step):
        y = top + plot_h - tick / y_max * plot_h
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'class="grid"/><text x="{left - 6}" y="{y + 4:.1f}" class="ytick">'
            f"{tick}</text>"
        )
    label_every = max(1, -(-len(runs) // 8))
    for i, run in enumerate(runs):
        x = left + i * slot + (slot - bar) / 2
        y = float(top + plot_h)
        when = run.started_at.date().isoformat() if run.state == "missing" else None
        tip = [when or run.started_at.isoformat(timespec="minutes")]
        parts.append(f'<g data-state="{escape(run.state)}">')
        if run.state in ("outage", "missing"):
            color, meaning = LOST[run.state]
            tip.append(meaning)
            parts.append(
                f'<rect class="lost" x="{x:.1f}" y="{top}" width="{bar:.1f}" '
                f'height="{plot_h}" fill="{color}" fill-opacity="0.18" stroke="{color}" '
                'stroke-dasharray="4 3"/>'
            )
        elif run.state == "interrupted":
            tip.append(LOST[run.state][1])
        for status in ordered(set(run.counts), STATUS_ORDER):
            count = run.counts[status]
            tip.append(f"{status}: {count}")
            if count <= 0:
                continue
            seg = count / y_max * plot_h
            y -= seg
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{seg:.1f}" '
                f'fill="{colors[status]}"/>'
            )
        if run.state == "interrupted":
            color = LOST[run.state][0]
            parts.append(
                f'<rect class="lost" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{top + plot_h - y:.1f}" fill="none" stroke="{color}" '
                'stroke-width="2" stroke-dasharray="4 3"/>'
            )
        parts.append(f"<title>{escape(chr(10).join(tip))}</title></g>")
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 8}" class="xtick">'
                f"{escape(run.started_at.strftime(label_fmt))}</text>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{colors[status]}"></i>{escape(status)}</span>'
        for status in colors
    )
    states = {run.state for run in runs}
    legend += "".join(
        f'<span><i class="lost" style="border-color:{color}"></i>'
        f"{escape(meaning.split(':')[0])}</span>"
        for state, (color, meaning) in LOST.items()
        if state in states
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>' + lost_note(runs)
