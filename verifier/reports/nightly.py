"""The nightly run's last stage: the reports folder (``summary.json``, ``broken-links.md``,
a JSON and a Markdown report per event, and extras such as the HTML page), written at once."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from verifier.history.status import UrlState
from verifier.models import SCHEMA_VERSION, EventReport, Status
from verifier.outcomes import RunOutcome
from verifier.reports.formats.markdown import BrokenLink, render_event_markdown
from verifier.reports.summary import summarize
from verifier.reports.writer import safe_name
from verifier.urls import host_of, normalize_url


def broken_links(
    reports: Sequence[EventReport],
    states: dict[str, UrlState],
    before: dict[str, Status],
    after: dict[str, Status],
) -> list[BrokenLink]:
    links = []
    for report in reports:
        for source in report.sources:
            key = normalize_url(source.url) if source.url else ""
            if after.get(key) is Status.BROKEN:
                links.append(
                    BrokenLink(
                        report,
                        source,
                        state.streak_since if (state := states.get(key)) else None,
                        new=before.get(key) is not Status.BROKEN,
                    )
                )
    links.sort(key=lambda link: (not link.new, link.report.event.id, link.source.index))
    return links


def run_summary(
    outcome: RunOutcome, broken: Sequence[BrokenLink], now: dt.datetime
) -> dict[str, Any]:
    """``summary.json``: totals per verdict, status, tier, rule and host, and the run's figures."""
    base = summarize(outcome.reports, skipped=len(outcome.skipped)).model_dump(mode="json")
    sources = [source for report in outcome.reports for source in report.sources]
    statuses = Counter(source.status.value for source in sources)
    tiers = Counter(str(source.effective_tier or "unknown") for source in sources)
    hosts = Counter(
        host_of(source.url)
        for source in sources
        if source.status in (Status.BROKEN, Status.SUSPECT)
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": now.isoformat(),
        "run": {
            "id": outcome.run_id,
            "state": outcome.state,
            "resumed": outcome.resumed,
            **outcome.figures,
        },
        **base,
        "statuses": dict(statuses.most_common()),
        "tiers": dict(sorted(tiers.items())),
        "failing_hosts": dict(hosts.most_common(50)),
        "broken": len(broken),
        "broken_new": sum(1 for link in broken if link.new),
        "notices": outcome.notices,
    }


def event_files(reports: Sequence[EventReport]) -> dict[str, str]:
    files: dict[str, str] = {}
    for report in reports:
        name = safe_name(report.event.id)
        if f"{name}.json" in files:  # two files claim one id: keep both reports
            name = safe_name(f"{report.event.id} {report.event.file}")
        files[f"{name}.json"] = report.model_dump_json(indent=2) + "\n"
        files[f"{name}.md"] = render_event_markdown(report)
    return files


def json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
