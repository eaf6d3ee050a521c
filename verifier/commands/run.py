"""``verifier run`` (and each night of ``verifier schedule``): load → rules → check the due
URLs with history → archive → fold → write the reports folder.

Resumable: observations are stored as they arrive (unique per run and URL; connection-level
failures provisionally, until the run has ruled out an outage), so a run killed halfway
continues where it stopped on the next start, nothing lost or counted twice. A lock keeps
two runs from overlapping. SIGTERM/SIGINT (or ``stop``) start no new request, let requests
in flight finish, write what is known and mark the run interrupted; a cancelled run is
marked interrupted too. During a network outage no observation is kept, the reports are
left as they were and the run is recorded with the state ``outage``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from verifier.citation.judge import CitationCheck
from verifier.citation.stage import read_captures
from verifier.commands.runlog import LOGGER, event
from verifier.config import Settings
from verifier.history.plan import due_urls, outage_witnesses, statuses_of
from verifier.history.store import History, RunState, open_history
from verifier.history.wayback_pace import shared_pace
from verifier.models import EventReport, Observation
from verifier.outcomes import CouldNotCheck, RunOutcome, Shortfall
from verifier.reports.formats.markdown import render_broken_links
from verifier.reports.html_page import html_reports
from verifier.reports.nightly import broken_links, event_files, json_text, run_summary
from verifier.reports.writer import write_reports
from verifier.stages import (
    RunEvidence,
    check_sources,
    load_events,
    select_files,
)
from verifier.web.liveness import utc_now
from verifier.web.outage import answering_hosts, is_outage_failure
from verifier.workers.coordinator import check_with_workers

ReportExtras = Callable[
    [Sequence[EventReport], dict[str, Any], History, dt.datetime], dict[str, str]
]


async def nightly_job(
    settings: Settings,
    *,
    full: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
    stop: asyncio.Event | None = None,
    on_result: Callable[[Observation], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_counts: Callable[[int, int], None] | None = None,
    handle_signals: bool = True,
    workers: int = 0,
) -> RunOutcome:
    """One night, logged, with the HTML page; SIGTERM or SIGINT set ``stop`` while it runs
    (unless the caller, e.g. the scheduler daemon, handles signals itself)."""
    stop = stop or asyncio.Event()
    with stop_on_signals(stop) if handle_signals else contextlib.nullcontext():
        event("run started", full=full)
        try:
            outcome = await nightly_run(
                settings,
                full=full,
                clock=clock,
                stop=stop,
                on_result=on_result,
                on_start=on_start,
                on_counts=on_counts,
                extra_reports=html_reports,
                workers=workers,
            )
        except Exception:
            LOGGER.exception("run crashed")
            raise
    event(
        "run finished",
        state=outcome.state,
        run_id=outcome.run_id,
        resumed=outcome.resumed,
        outage=outcome.outage,
        notices=outcome.notices,
        **outcome.figures,
    )
    return outcome


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
    on_counts: Callable[[int, int], None] | None = None,
    extra_reports: ReportExtras | None = None,
    workers: int = 0,
) -> RunOutcome:
    """One night's work; ``full`` rechecks every URL whatever its TTL; ``workers`` processes
    share the checks (a PostgreSQL history: ``verifier.workers``). Progress: ``on_start``
    with the number due, then ``on_result`` with each observation or, from workers,
    ``on_counts`` with how many are checked and failing so far."""
    started = time.monotonic()
    now = clock()
    events = load_events(settings, select_files(settings))
    with open_history(settings) as store, store.run_lock():
        run, resumed = store.start_run(now)
        urls = events.urls()
        since = now - dt.timedelta(days=settings.history.lookback_days)
        before = statuses_of(store.states(urls), settings)
        latest = store.latest(urls, pages=False)  # planning: no page facts needed
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

        tasks = events.archive_tasks()
        evidence = RunEvidence(
            verdicts={url: observation.verdict for url, observation in latest.items()},
            good_hosts=frozenset(good_hosts),
            seen=seen,
        )
        schedule = shared_pace(store)
        try:
            if workers:
                sources = await check_with_workers(
                    settings,
                    store,
                    run.id,
                    due,
                    tasks,
                    workers=workers,
                    stop=stop or asyncio.Event(),
                    clock=clock,
                    now=None if clock is utc_now else now,  # a replayed night: its time
                    evidence=evidence,
                    wayback_transport=wayback_transport,
                    wayback_schedule=schedule,
                    on_counts=on_counts,
                )
            else:
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
                    wayback_schedule=schedule,
                )
        except asyncio.CancelledError:
            store.finish_run(run.id, RunState.INTERRUPTED, clock(), {"cancelled": True})
            raise
        outcome = RunOutcome(
            skipped=events.skipped,
            could_not_check=sources.could_not_check(),
            run_id=run.id,
            resumed=resumed,
        )
        if sources.archive is not None:
            outcome.notices.extend(sources.archive.notices)
        outcome.figures = {
            "urls": len(urls),
            "due": len(due) + len(done),
            "resumed_with": len(done),
            "checked": len(sources.observations),
            "requests": sources.requests_sent,
        }
        if sources.outage is not None:
            outcome.state = RunState.OUTAGE
            outcome.reports = events.offline
            store.settle_provisional(run.id, keep=False)
            store.finish_run(run.id, outcome.state, clock(), outcome.figures)
            return outcome
        store.settle_provisional(run.id, keep=True)
        if stop is not None and stop.is_set():
            outcome.state = RunState.INTERRUPTED
            outcome.could_not_check.append(
                CouldNotCheck(Shortfall.INTERRUPTED, "the next start resumes it")
            )
        states = store.states(urls)
        after = statuses_of(states, settings)
        archive = {task.key: info for task in tasks if (info := store.get(task.key)) is not None}
        latest = store.latest(urls)
        citation = None
        if settings.citation.enabled:
            wants = events.capture_wants(latest, archive, settings.citation)
            heads, notices = await read_captures(
                settings,
                wants,
                store,
                wayback_transport=wayback_transport,
                stop=stop,
                clock=clock,
                wayback_schedule=schedule,
            )
            outcome.notices.extend(notices)
            citation = CitationCheck(settings.citation, heads)
        outcome.reports = events.fold(latest, archive, statuses=after, citation=citation)
        outcome.figures["wall_seconds"] = round(time.monotonic() - started, 2)
        broken = broken_links(outcome.reports, states, before, after)
        summary = run_summary(outcome, broken, clock())
        outcome.figures["statuses"] = summary["statuses"]
        files = {
            "summary.json": json_text(summary),
            "broken-links.md": render_broken_links(
                broken, clock(), outcome.reports, folder=settings.resolve(settings.paths.reports)
            ),
        }
        if extra_reports is not None:
            files.update(extra_reports(outcome.reports, summary, store, clock()))
        write_reports(settings.resolve(settings.paths.reports), files, event_files(outcome.reports))
        outcome.figures["pruned"] = store.prune(since)
        store.finish_run(run.id, outcome.state, clock(), outcome.figures)
        return outcome


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """While inside: SIGTERM and SIGINT set ``stop`` (where they are not ignored)."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue  # started under nohup or in the background: leave it ignored
        try:
            loop.add_signal_handler(signum, _stopping, stop, signum)
            installed.append(signum)
        except (RuntimeError, NotImplementedError, ValueError):
            pass  # not the main thread, or no signals on this platform
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _stopping(stop: asyncio.Event, signum: signal.Signals) -> None:
    event("stop requested", signal=signum.name)
    stop.set()
