"""The nightly ``index.html``: one self-contained page for maintainers — what the run did,
the summary, the status chart with the nights lost, and a searchable, filterable, sortable
table of every source that opens on the problems.

Everything from the data is escaped: text placed in HTML goes through ``html.escape``; the
rows travel as JSON in a ``<script type="application/json">`` block with ``<``, ``>``, ``&``
and U+2028/9 escaped, and the page's script builds the table with ``textContent`` only.
The page template (CSS and JS) is the package data file ``report.html`` beside this module.

The page's state (search, filters, sort) lives in the URL's fragment, so a view can be
bookmarked or sent (``index.html#status=broken&host=example.org``); the summary's chips set
the filters.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any

from verifier.models import CitationVerdict, EventReport, Result, SourceReport, Verdict
from verifier.reports.formats.chart import (
    OTHER_COLORS,
    STATUS_COLORS,
    STATUS_ORDER,
    RunPoint,
    chart_svg,
    ordered,
)
from verifier.urls import host_of

CITATION_ORDER = (
    CitationVerdict.WRONG_PAGE,
    CitationVerdict.GENERIC_PAGE,
    CitationVerdict.DATE_MISMATCH,
    CitationVerdict.DRIFTED,
    CitationVerdict.UNVERIFIABLE,
    CitationVerdict.MATCHES,
)
"""The citation filter's order: findings first."""

CHIP_FILTERS = {
    "statuses": "status",
    "results": "result",
    "verdicts": "verdict",
    "tiers": "tier",
    "failing_hosts": "host",
    "violations_by_rule": "rule",
}
"""Summary entries whose chips filter the table: the summary key → the row field."""

_SAFE_HREF = re.compile(r"(?i:https?)://[^\s/?#@]")
_SURROGATE = re.compile("[\ud800-\udfff]")
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
class RunFacts:
    """What the Run card says: when, how long, how much was checked, and the outcome."""

    finished_at: datetime
    seconds: float | None = None
    checked: int | None = None
    """URLs checked by the run, those checked before a restart included."""
    due: int | None = None
    urls: int | None = None
    state: str = "complete"
    resumed: bool = False
    broken: int | None = None
    broken_new: int | None = None


def safe_href(url: str | None) -> str | None:
    """``url`` if it may become a link (http or https with a host, no spaces), else None."""
    if not url or not _SAFE_HREF.match(url) or _CONTROL.search(url):
        return None
    return url


def script_json(value: Any) -> str:
    """JSON that can sit inside ``<script>``: no ``</script>``, no HTML or JS line breakers."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = _SURROGATE.sub("\ufffd", text)  # a lone one (JSON "\ud800") cannot be UTF-8
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], text)


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
        "host": host_of(source.url),
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
        "rule": sorted(
            {
                violation.rule
                for violation in report.violations
                if violation.source_index in (None, source.index)
            }
        ),
    }


def _citation_label(source: SourceReport) -> str:
    citation = source.citation
    if citation is None:
        return ""
    if citation.reason is not None:
        return f"{citation.verdict.value}: {citation.reason.value}"
    return citation.verdict.value


def _display(value: Any) -> str:
    """A value as a reader reads it: ``yes``/``no``, grouped digits; never a Python repr."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {_display(item)}" for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_display(item) for item in value)
    return str(value)


def _chips(counts: Mapping[str, Any], field: str | None = None) -> str:
    """One chip per entry; with ``field``, each is a button that filters the table on it."""
    if not counts:
        return '<span class="muted">none</span>'
    chips = []
    for key, value in counts.items():
        name, count = escape(str(key)), escape(_display(value))
        if field is None:
            chips.append(f'<span class="chip" data-v="{name}">{name} <b>{count}</b></span>')
            continue
        target = "" if field == "tier" and key == "unknown" else str(key)
        chips.append(
            f'<button type="button" class="chip" data-v="{name}" data-filter="{field}" '
            f'data-value="{escape(target)}" aria-pressed="false" '
            f'title="Show only these sources">{name} <b>{count}</b></button>'
        )
    return "".join(chips)


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _moment(moment: datetime) -> str:
    if moment.tzinfo is not None and moment.utcoffset() == timedelta(0):
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"{moment:%Y-%m-%d %H:%M %z}".strip()


OUTCOMES = {
    "complete": "every URL due was checked",
    "interrupted": "stopped before the end; the next run resumes it",
    "outage": "the network was down: nothing was judged",
}


def _run_card(run: RunFacts) -> str:
    """When the run finished, how long it took, how much it checked, how it ended."""
    facts = [("When", escape(_moment(run.finished_at)))]
    if run.seconds is not None:
        facts.append(("Took", escape(_duration(run.seconds))))
    if run.checked is not None:
        checked = f"{run.checked:,} URL{'s' if run.checked != 1 else ''}"
        if run.due is not None and run.due != run.checked:
            checked += f" of {run.due:,} due"
        if run.urls is not None:
            checked += f" ({run.urls:,} cited in all)"
        facts.append(("Checked", escape(checked)))
    outcome = f'<span class="badge" data-v="{escape(run.state)}">{escape(run.state)}</span> '
    notes = [OUTCOMES.get(run.state, "")]
    if run.resumed:
        notes.append("resumed a run stopped earlier")
    if run.broken is not None:
        broken = f"{run.broken:,} broken source{'s' if run.broken != 1 else ''}"
        if run.broken_new:
            broken += f" ({run.broken_new:,} new)"
        notes.append(broken)
    outcome += escape("; ".join(note for note in notes if note))
    facts.append(("Outcome", outcome))
    rows = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)
    return f'<div class="card run" id="run"><h3>Run</h3><dl>{rows}</dl></div>'


def _summary_html(
    summary: Mapping[str, Any], statuses: Mapping[str, int], run: RunFacts | None = None
) -> str:
    """Cards: the run, the sources by status of this report, then every entry of
    ``summary``; the chips of ``CHIP_FILTERS`` filter the table."""
    cards = [] if run is None else [_run_card(run)]
    cards.append(
        '<div class="card wide"><h3>Sources by status</h3>'
        f"<p>{_chips(statuses, 'status')}</p></div>"
    )
    for key, value in summary.items():
        if value is None or value == "" or key == "statuses":
            continue
        label = escape(str(key).replace("_", " ").capitalize())
        if isinstance(value, Mapping):
            chips = _chips(value, CHIP_FILTERS.get(key))
            cards.append(f'<div class="card wide"><h3>{label}</h3><p>{chips}</p></div>')
        elif isinstance(value, list | tuple):
            items = "".join(f"<li>{escape(_display(item))}</li>" for item in value)
            cards.append(f'<div class="card wide"><h3>{label}</h3><ul>{items}</ul></div>')
        else:
            big = "big" if isinstance(value, int | float) and not isinstance(value, bool) else ""
            cards.append(
                f'<div class="card"><h3>{label}</h3>'
                f'<p class="{big}">{escape(_display(value))}</p></div>'
            )
    return "".join(cards)


@cache
def _template() -> str:
    return files("verifier.reports.formats").joinpath("report.html").read_text(encoding="utf-8")


def render_html(
    reports: Sequence[EventReport],
    summary: Mapping[str, Any],
    history: Sequence[RunPoint],
    generated_at: datetime,
    run: RunFacts | None = None,
) -> str:
    """The whole report page as one self-contained HTML document; ``run`` fills the Run
    card."""
    rows = [_row(report, source) for report in reports for source in report.sources]
    statuses: Counter[str] = Counter(row["status"] for row in rows)
    by_status = {status: statuses[status] for status in ordered(set(statuses), STATUS_ORDER)}
    in_history = {status for run in history for status in run.counts}
    chart_keys = ordered(in_history | set(STATUS_ORDER), STATUS_ORDER)
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
        "SUMMARY": _summary_html(summary, by_status, run),
        "CHART": chart_svg(history, colors),
        "DATA": script_json(data),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _template())
