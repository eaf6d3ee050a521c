"""The nightly run: load → rules → check due URLs (with history) → archive → reports.

Resumable: observations are stored as they arrive (unique per run and URL; connection-level
failures provisionally, until the run has ruled out an outage), so a run killed halfway
continues where it stopped on the next start, nothing lost or counted twice. A lock keeps
two runs from overlapping. Setting ``stop`` (SIGTERM) starts no new request, lets requests
in flight finish, writes what is known and marks the run interrupted; a cancelled run is
marked interrupted too. During a network outage no observation is kept, the reports are
left as they were and the run is recorded with the state ``outage``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from verifier.config import Settings
from verifier.discover import find_event_files
from verifier.fold import fold_sources
from verifier.formats.markdown import BrokenLink, render_broken_links, render_event_markdown
from verifier.history import SQLiteHistory
from verifier.liveness import utc_now
from verifier.lock import RunLock
from verifier.models import SCHEMA_VERSION, EventReport, Observation, Status, Verdict
from verifier.online import RunEvidence, archive_tasks, check_sources
from verifier.outage import answering_hosts, is_outage_failure
from verifier.parse import Skipped
from verifier.pipeline import load_all, offline_report, web_urls
from verifier.report_writer import safe_name, write_reports
from verifier.rules import RuleContext
from verifier.status import decide_status, failing_since, is_due
from verifier.summary import summarize
from verifier.urls import host_of, normalize_url

ReportExtras = Callable[
    [Sequence[EventReport], dict[str, Any], SQLiteHistory, dt.datetime], dict[str, str]
]


@dataclass(slots=True)
class RunOutcome:
    reports: list[EventReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    state: str = "complete"  # complete | interrupted | outage
    outage: str | None = None
    archive_down: str | None = None
    notices: list[str] = field(default_factory=list)
    run_id: int = 0
    resumed: bool = False
    figures: dict[str, Any] = field(default_factory=dict)


async def nightly_run(
    settings: Settings,
    *,
    full: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
    transport: httpx.AsyncBaseTransport | None = None,
    wayback_transport: httpx.AsyncBaseTransport | None = None,
    stop: asyncio.Event | None = None,
    on_result: Callable[[Observation], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    extra_reports: ReportExtras | None = None,
) -> RunOutcome:
    """One night's work; ``full`` rechecks every URL whatever its TTL."""
    started = time.monotonic()
    now = clock()
    event_paths = find_event_files([settings.resolve(settings.paths.events)])
    loaded, skipped = load_all(event_paths, settings)
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    offline = [offline_report(ctx, item) for item in loaded]
    history_settings = settings.history
    store_path = settings.resolve(history_settings.path)
    with RunLock(store_path.with_name(store_path.name + ".lock")):
        store = SQLiteHistory(store_path)
        try:
            run, resumed = store.start_run(now)
            urls = web_urls(loaded)
            since = now - dt.timedelta(days=history_settings.lookback_days)
            before = statuses_of(store.histories(urls, since), settings)
            latest = store.latest(urls)
            seen = store.run_observations(run.id) if resumed else []
            done = {observation.url for observation in seen}
            due = due_urls(urls, latest, before, settings, now, full=full, done=done)
            good_hosts = answering_hosts(latest.values(), since)
            due += outage_witnesses(
                due,
                urls,
                latest,
                good_hosts=good_hosts,
                min_hosts=settings.outage.min_hosts,
                done=done,
            )
            if on_start is not None:
                on_start(len(due))

            def observed(observation: Observation) -> None:
                # Connection-level failures are provisional until the run rules out an
                # outage; stored at once all the same, so a killed run loses none.
                store.record(run.id, [observation], provisional=is_outage_failure(observation))
                if on_result is not None:
                    on_result(observation)

            tasks = archive_tasks(ctx, loaded)
            evidence = RunEvidence(
                verdicts={url: observation.verdict for url, observation in latest.items()},
                good_hosts=frozenset(good_hosts),
                seen=seen,
            )
            try:
                sources = await check_sources(
                    settings,
                    due,
                    tasks,
                    transport=transport,
                    wayback_transport=wayback_transport,
                    archive_store=store,
                    probe_cache=store,
                    on_result=observed,
                    stop=stop,
                    clock=clock,
                    evidence=evidence,
                )
            except asyncio.CancelledError:
                store.finish_run(run.id, "interrupted", clock(), {"cancelled": True})
                raise
            outcome = RunOutcome(
                skipped=skipped, run_id=run.id, resumed=resumed, outage=sources.outage
            )
            if sources.archive is not None:
                outcome.notices.extend(sources.archive.notices)
                outcome.archive_down = sources.archive.archive_down
            outcome.figures = {
                "urls": len(urls),
                "due": len(due) + len(done),
                "resumed_with": len(done),
                "checked": len(sources.observations),
                "requests": sources.requests_sent,
            }
            if sources.outage is not None:
                outcome.state = "outage"
                outcome.reports = offline
                store.settle_provisional(run.id, keep=False)
                store.finish_run(run.id, "outage", clock(), outcome.figures)
                return outcome
            store.settle_provisional(run.id, keep=True)
            outcome.state = "interrupted" if stop is not None and stop.is_set() else "complete"
            after_histories = store.histories(urls, since)
            after = statuses_of(after_histories, settings)
            observations = store.latest(urls)
            archive = {
                task.key: info for task in tasks if (info := store.get(task.key)) is not None
            }
            outcome.reports = [
                fold_sources(ctx, item, report, observations, archive, statuses=after)
                for item, report in zip(loaded, offline, strict=True)
            ]
            outcome.figures["wall_seconds"] = round(time.monotonic() - started, 2)
            broken = broken_links(outcome.reports, after_histories, before, after)
            summary = run_summary(outcome, broken, clock())
            outcome.figures["statuses"] = summary["statuses"]
            files = {
                "summary.json": _json(summary),
                "broken-links.md": render_broken_links(broken, clock()),
            }
            if extra_reports is not None:
                files.update(extra_reports(outcome.reports, summary, store, clock()))
            write_reports(
                settings.resolve(settings.paths.reports), files, event_files(outcome.reports)
            )
            store.finish_run(run.id, outcome.state, clock(), outcome.figures)
            return outcome
        finally:
            store.close()


def statuses_of(histories: dict[str, list[Observation]], settings: Settings) -> dict[str, Status]:
    h = settings.history
    return {
        url: decide_status(history, h.broken_after_failures, h.broken_after_days)
        for url, history in histories.items()
    }


def due_urls(
    urls: Sequence[str],
    latest: dict[str, Observation],
    statuses: dict[str, Status],
    settings: Settings,
    now: dt.datetime,
    *,
    full: bool,
    done: set[str],
) -> list[str]:
    """URLs to check tonight: new ones first, then failing, then the longest unchecked."""
    ok_ttl = dt.timedelta(days=settings.history.ok_ttl_days)
    failing_ttl = dt.timedelta(hours=settings.history.failing_ttl_hours)
    due = [
        url
        for url in urls
        if url not in done
        and (
            full
            or is_due(latest.get(url), statuses.get(url, Status.UNKNOWN), now, ok_ttl, failing_ttl)
        )
    ]

    def order(url: str) -> tuple[int, dt.datetime]:
        last = latest.get(url)
        if last is None:
            return 0, now
        failing = statuses.get(url) in (Status.SUSPECT, Status.BROKEN)
        return (1 if failing else 2), last.checked_at

    return sorted(due, key=order)


def outage_witnesses(
    due: Sequence[str],
    urls: Sequence[str],
    latest: dict[str, Observation],
    *,
    good_hosts: set[str],
    min_hosts: int,
    done: set[str],
) -> list[str]:
    """Known-good URLs on other hosts, checked too when fewer than ``min_hosts`` hosts known
    to answer are due tonight: without them a few dead hosts could not be told from a
    network outage (their results are real observations)."""
    hosts = {host for url in due if (host := host_of(url)) in good_hosts}
    extra: list[str] = []
    alive = sorted(
        (
            url
            for url in urls
            if url not in done and (o := latest.get(url)) is not None and o.verdict is Verdict.ALIVE
        ),
        key=lambda url: latest[url].checked_at,
    )
    for url in alive:
        if len(hosts) >= min_hosts:
            break
        host = host_of(url)
        if host not in hosts and host in good_hosts and url not in due:
            hosts.add(host)
            extra.append(url)
    return extra


def broken_links(
    reports: Sequence[EventReport],
    histories: dict[str, list[Observation]],
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
                        failing_since(histories.get(key, [])),
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


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
