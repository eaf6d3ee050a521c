"""``--format html``: one self-contained page for maintainers — summary, status chart, and a
searchable, filterable, sortable table of every source.

Everything from the data is escaped: text placed in HTML goes through ``html.escape``; the
rows travel as JSON in a ``<script type="application/json">`` block with ``<``, ``>``, ``&``
and U+2028/9 escaped, and the page's script builds the table with ``textContent`` only.
The page template (CSS and JS) is the package data file ``report.html`` beside this module.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from verifier.models import CitationVerdict, EventReport, Result, SourceReport, Status, Verdict

CITATION_ORDER = (
    CitationVerdict.WRONG_PAGE,
    CitationVerdict.GENERIC_PAGE,
    CitationVerdict.DATE_MISMATCH,
    CitationVerdict.DRIFTED,
    CitationVerdict.UNVERIFIABLE,
    CitationVerdict.MATCHES,
)
"""The citation filter's order: findings first."""

STATUS_ORDER = [status.value for status in Status]
STATUS_COLORS = {
    "ok": "#2f855a",
    "suspect": "#d69e2e",
    "broken": "#c53030",
    "blocked": "#6b46c1",
    "unknown": "#8a94a6",
}
OTHER_COLORS = ["#2b6cb0", "#b7791f", "#319795", "#97266d", "#4a5568"]

_SAFE_HREF = re.compile(r"(?i:https?)://[^\s/?#@]")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


@dataclass(frozen=True, slots=True)
class RunPoint:
    """One past run for the chart: when it started, and how many sources had each status."""

    started_at: datetime
    counts: Mapping[str, int]


def safe_href(url: str | None) -> str | None:
    """``url`` if it may become a link (http or https with a host, no spaces), else None."""
    if not url or not _SAFE_HREF.match(url) or _CONTROL.search(url):
        return None
    return url


def script_json(value: Any) -> str:
    """JSON that can sit inside ``<script>``: no ``</script>``, no HTML or JS line breakers."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], text)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _row(report: EventReport, source: SourceReport) -> dict[str, Any]:
    archive = source.archive
    tier = source.effective_tier if source.effective_tier is not None else source.tier
    return {
        "event": report.event.title or "",
        "event_id": report.event.id,
        "result": report.result.value,
        "file": report.event.file,
        "line": source.line,
        "tier": _text(tier),
        "publisher": source.publisher or "",
        "host": _host(source.url),
        "url": source.url,
        "href": safe_href(source.url),
        "final_url": source.final_url if source.final_url != source.url else None,
        "verdict": source.verdict.value if source.verdict else "",
        "status": source.status.value,
        "http": source.http_status,
        "attempts": source.attempts,
        "checked_at": source.checked_at.isoformat() if source.checked_at else None,
        "detail": source.detail or "",
        "archive": archive.state.value if archive else "",
        "archive_href": safe_href(archive.url) if archive else None,
        "archive_ts": archive.timestamp if archive else None,
        "archive_note": (archive.detail or "") if archive else "",
        "suggested": bool(archive and archive.suggested),
        "nearest_href": safe_href(archive.nearest_url or archive.resolved_url) if archive else None,
        "citation": _citation_label(source),
        "citation_seen": (
            source.citation.seen.title
            if source.citation and source.citation.verdict is not CitationVerdict.MATCHES
            else None
        ),
        "citation_detail": source.citation.detail if source.citation else "",
    }


def _citation_label(source: SourceReport) -> str:
    citation = source.citation
    if citation is None:
        return ""
    if citation.reason is not None:
        return f"{citation.verdict.value}: {citation.reason.value}"
    return citation.verdict.value


def _ordered(keys: set[str], order: Sequence[str]) -> list[str]:
    known = [key for key in order if key in keys]
    return known + sorted(key for key in keys if key not in order)


def _chips(counts: Mapping[str, Any]) -> str:
    if not counts:
        return '<span class="muted">none</span>'
    return "".join(
        f'<span class="chip" data-v="{escape(str(key))}">'
        f"{escape(str(key))} <b>{escape(str(value))}</b></span>"
        for key, value in counts.items()
    )


def _summary_html(summary: Mapping[str, Any], statuses: Mapping[str, int]) -> str:
    """Cards: the sources by status of this report, then every entry of ``summary``."""
    cards = [f'<div class="card wide"><h3>Sources by status</h3><p>{_chips(statuses)}</p></div>']
    for key, value in summary.items():
        if value is None or value == "":
            continue
        label = escape(str(key).replace("_", " ").capitalize())
        if isinstance(value, Mapping):
            cards.append(f'<div class="card wide"><h3>{label}</h3><p>{_chips(value)}</p></div>')
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
            big = "big" if isinstance(value, int | float) and not isinstance(value, bool) else ""
            cards.append(
                f'<div class="card"><h3>{label}</h3><p class="{big}">{escape(shown)}</p></div>'
            )
    return "".join(cards)


def _nice_step(top: int) -> int:
    raw = max(top / 5, 1.0)
    magnitude: int = 10 ** (len(str(int(raw))) - 1)
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _chart_svg(history: Sequence[RunPoint], colors: Mapping[str, str]) -> str:
    """Stacked bars: one per run, one segment per status, with a ``<title>`` tooltip each."""
    if not history:
        return '<p class="muted">No run history yet.</p>'
    runs = sorted(history, key=lambda run: run.started_at)
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
        tip = [run.started_at.isoformat(timespec="minutes")]
        parts.append("<g>")
        for status in _ordered(set(run.counts), STATUS_ORDER):
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
    return "".join(parts) + f'<div class="legend">{legend}</div>'


@cache
def _template() -> str:
    return files("verifier.reports.formats").joinpath("report.html").read_text(encoding="utf-8")


def render_html(
    reports: Sequence[EventReport],
    summary: Mapping[str, Any],
    history: Sequence[RunPoint],
    generated_at: datetime,
) -> str:
    """The whole report page as one self-contained HTML document."""
    rows = [_row(report, source) for report in reports for source in report.sources]
    statuses: Counter[str] = Counter(row["status"] for row in rows)
    by_status = {status: statuses[status] for status in _ordered(set(statuses), STATUS_ORDER)}
    in_history = {status for run in history for status in run.counts}
    chart_keys = _ordered(in_history | set(STATUS_ORDER), STATUS_ORDER)
    others = iter(OTHER_COLORS * (len(chart_keys) // len(OTHER_COLORS) + 1))
    colors = {key: STATUS_COLORS.get(key) or next(others) for key in chart_keys}
    data = {
        "rows": rows,
        "rank": {
            "status": ["broken", "suspect", "blocked", "unknown", "ok"],
            "verdict": [verdict.value for verdict in Verdict],
            "result": [Result.FAIL.value, Result.WARN.value, Result.PASS.value],
            "citation": [verdict.value for verdict in CITATION_ORDER],
        },
    }
    stamp = generated_at.isoformat(timespec="seconds")
    values = {
        "GENERATED": escape(stamp),
        "COUNTS": escape(f"{len(rows):,} sources in {len(reports):,} events"),
        "SUMMARY": _summary_html(summary, by_status),
        "CHART": _chart_svg(history, colors),
        "DATA": script_json(data),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _template())
