"""The command line: parse arguments, call one library function, render, exit with a code.

The network stack (httpx, the Wayback client, the scheduler) is imported inside the commands
that use it, so ``verifier check --offline`` — the pre-commit and CI gate path — starts fast.
Every command that writes checks its paths first (``verifier.commands.preflight``), before
any request; every failure an operator can meet ends as one line on stderr and an
``ExitCode``, never a traceback (a traceback is a bug).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import sqlite3
import sys
from collections.abc import Coroutine, Sequence
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from verifier.cli_parser import build_parser
from verifier.commands.check import check_offline
from verifier.commands.findings import narrowed, read_baseline, record_baseline
from verifier.commands.preflight import HistoryUse, preflight
from verifier.config import Settings, load_settings
from verifier.errors import (
    CannotWriteError,
    ConfigError,
    RunLockedError,
    UsageError,
    VerifierError,
)
from verifier.outcomes import CheckOutcome, CouldNotCheck, Shortfall
from verifier.reports.formats.github import render_github
from verifier.reports.formats.json_format import render_json
from verifier.reports.formats.junit import render_junit
from verifier.reports.formats.statistics import render_statistics
from verifier.reports.formats.step_summary import render_step_summary
from verifier.reports.formats.text import (
    archive_summary_line,
    render_text,
    run_summary_line,
    terminal_safe,
)
from verifier.reports.selection import rule_statistics
from verifier.reports.summary import summarize

if TYPE_CHECKING:
    import asyncio


T = TypeVar("T")


class ExitCode(IntEnum):
    """Exit codes of every command (0–3: the DESIGN.md contract)."""

    PASSED = 0
    FAILED = 1  # an event fails — only that
    USAGE = 2  # the command line or the configuration (a path of the wrong kind included)
    COULD_NOT_CHECK = 3  # could not run or check: outage, archive down, unwritable, locked
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, the shell's convention


class Outcome(Protocol):
    """What every command returns: did an event (or a write) fail, and what went unchecked."""

    @property
    def failed(self) -> bool: ...

    @property
    def could_not_check(self) -> list[CouldNotCheck]: ...


def exit_code_for(outcome: Outcome) -> ExitCode:
    """An interrupted run is no verdict on the events; a failed event fails the check, even
    during an outage (the offline rules still hold); otherwise anything left unchecked
    (outage, archive down) means the check could not be done."""
    shortfalls = {item.shortfall for item in outcome.could_not_check}
    if Shortfall.INTERRUPTED in shortfalls:
        return ExitCode.COULD_NOT_CHECK
    if outcome.failed:
        return ExitCode.FAILED
    return ExitCode.COULD_NOT_CHECK if shortfalls else ExitCode.PASSED


def say_could_not_check(outcome: Outcome) -> None:
    for item in outcome.could_not_check:
        print(terminal_safe(f"verifier: {item.message}"), file=sys.stderr)


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, where Ctrl-C cancels every task, not only the main one (a worker
    waiting on a slow server would hold the process until its deadline), then raises
    ``KeyboardInterrupt``; a second Ctrl-C raises it at once. Commands that stop gracefully
    on SIGINT (``run``, ``schedule``) install their own handler over this one."""
    import asyncio

    interrupts = 0

    def on_interrupt(loop: asyncio.AbstractEventLoop) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        for task in asyncio.all_tasks(loop):
            task.cancel()

    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        # Like asyncio's own handler: only where Ctrl-C raises KeyboardInterrupt now (not in
        # a thread, nor where SIGINT is ignored, as for ``nohup`` and background jobs).
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGINT, on_interrupt, loop)
        try:
            result = runner.run(main)
        except asyncio.CancelledError:
            if interrupts:
                raise KeyboardInterrupt from None
            raise
        if interrupts:  # a task swallowed the cancellation: the user still asked to stop
            raise KeyboardInterrupt
        return result


def _settings_for(args: argparse.Namespace) -> Settings:
    ref = getattr(args, "config_from_ref", None)
    if ref:
        from verifier.config_ref import load_settings_at_ref

        return load_settings_at_ref(ref, args.config)
    return load_settings(args.config)


def _checked(
    args: argparse.Namespace, settings: Settings, *, offline: bool, changed_since: str | None
) -> CheckOutcome:
    """The check the arguments ask for: offline rules, the online check, or the PR gate."""
    if offline:
        outcome = check_offline(settings, args.paths, changed_since)
    else:
        from verifier.commands.check import check_changed, check_online
        from verifier.commands.progress import ProgressReporter, show_progress

        # Online checks keep archive knowledge in the history; the gate only reads it.
        gate = changed_since is not None
        preflight(
            settings, reports=False, history=HistoryUse.IF_PRESENT if gate else HistoryUse.STORE
        )
        if changed_since is not None:
            outcome = run_async(check_changed(settings, args.paths, changed_since))
        else:
            with ProgressReporter(enabled=show_progress()) as progress:
                outcome = run_async(
                    check_online(
                        settings,
                        args.paths,
                        on_start=progress.start,
                        on_result=progress.advance,
                    )
                )
        for notice in outcome.notices:
            print(terminal_safe(f"verifier: {notice}"), file=sys.stderr)
    if changed_since is None and not outcome.reports and not outcome.skipped:
        where = ", ".join(map(str, args.paths)) or str(settings.resolve(settings.paths.events))
        raise UsageError(f"no event files in {where}")
    return outcome


def run_check(args: argparse.Namespace) -> ExitCode:
    settings = _settings_for(args)
    if args.dump:
        return _dump(settings, args.paths, args.changed_since)
    outcome = _checked(args, settings, offline=args.offline, changed_since=args.changed_since)
    say_could_not_check(outcome)
    baseline = None if args.no_baseline else read_baseline(settings, args.config_from_ref)
    outcome.reports = narrowed(
        outcome.reports, select=args.select, ignore=args.ignore, baseline=baseline
    )
    summary = summarize(
        outcome.reports,
        skipped=len(outcome.skipped),
        could_not_check=outcome.outage or outcome.archive_down,
    )
    if args.statistics:
        sys.stdout.write(render_statistics(rule_statistics(outcome.reports)))
    elif args.format == "json":
        sys.stdout.write(render_json(outcome.reports, summary))
    elif args.format == "github":
        sys.stdout.write(render_github(outcome.reports, summary))
    elif args.format == "junit":
        sys.stdout.write(render_junit(outcome.reports, summary))
    else:
        for skipped in outcome.skipped:
            print(terminal_safe(f"note: skipped {skipped.path}: {skipped.reason}"), file=sys.stderr)
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        sys.stdout.write(render_text(outcome.reports, summary, verbose=args.verbose, colour=colour))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as stream:
            stream.write(render_step_summary(outcome.reports, summary))
    return exit_code_for(outcome)


def _dump(settings: Settings, paths: Sequence[Path], changed_since: str | None) -> ExitCode:
    """The URLs a check would request, one per line, in first-cited order; nothing is sent."""
    from verifier.stages import load_events, select_files

    events = load_events(settings, select_files(settings, paths, changed_since))
    for url in events.urls():
        print(url)
    return ExitCode.PASSED


def run_baseline(args: argparse.Namespace) -> ExitCode:
    settings = load_settings(args.config)
    outcome = _checked(args, settings, offline=not args.online, changed_since=None)
    say_could_not_check(outcome)
    if outcome.could_not_check:
        return exit_code_for(outcome)  # a baseline of an outage would record nothing true
    reports = narrowed(outcome.reports, select=args.select, ignore=args.ignore)
    path, count = record_baseline(settings, reports)
    events = sum(1 for report in reports if report.violations)
    print(f"recorded {count} finding{'s' if count != 1 else ''} in {events} events to {path}")
    return ExitCode.PASSED


def run_nightly(args: argparse.Namespace) -> ExitCode:
    from verifier.commands.progress import ProgressReporter, show_progress
    from verifier.commands.run import nightly_job
    from verifier.commands.runlog import LOGGER, log_to_file
    from verifier.web.liveness import utc_now

    settings = load_settings(args.config)
    preflight(settings, reports=True, history=HistoryUse.LOCKED, log_file=args.log_file)
    handler = log_to_file(args.log_file) if args.log_file else None
    fixed: dt.datetime | None = args.now
    clock = (lambda: fixed) if fixed is not None else utc_now
    try:
        with ProgressReporter(enabled=show_progress()) as progress:
            outcome = run_async(
                nightly_job(
                    settings,
                    full=args.full,
                    clock=clock,
                    on_start=progress.start,
                    on_result=progress.advance,
                    on_counts=progress.counts,
                    workers=args.workers,
                )
            )
    finally:
        if handler is not None:
            LOGGER.removeHandler(handler)
            handler.close()
    for notice in outcome.notices:
        print(terminal_safe(f"verifier: {notice}"), file=sys.stderr)
    print(run_summary_line(outcome, settings.resolve(settings.paths.reports)))
    say_could_not_check(outcome)
    return exit_code_for(outcome)


def run_worker(args: argparse.Namespace) -> ExitCode:
    from verifier.commands.worker import figures_line, worker_job
    from verifier.web.liveness import utc_now
    from verifier.workers.coordinator import read_settings_file

    settings = read_settings_file(args.settings_file) if args.settings_file else None
    settings = settings or load_settings(args.config)
    fixed: dt.datetime | None = args.now
    clock = (lambda: fixed) if fixed is not None else utc_now
    figures = run_async(worker_job(settings, once=args.once, clock=clock, parent=args.parent))
    print(figures_line(figures), flush=True)
    return ExitCode.COULD_NOT_CHECK if figures.outage else ExitCode.PASSED


def run_archive(args: argparse.Namespace) -> ExitCode:
    from verifier.commands.archive import archive_events

    settings = load_settings(args.config)
    preflight(settings, reports=False, history=HistoryUse.STORE)
    result = run_async(archive_events(settings, args.paths, write=args.write))
    for notice in result.notices:
        print(terminal_safe(f"verifier: {notice}"), file=sys.stderr)
    for path, error in result.errors:
        print(terminal_safe(f"verifier: {path}: {error}"), file=sys.stderr)
    say_could_not_check(result)
    written = result.files_written if args.write else None
    print(archive_summary_line(result.states, result.edits, result.edit_reasons, written))
    return exit_code_for(result)


def run_schedule(args: argparse.Namespace) -> ExitCode:
    from verifier.commands.run import nightly_job
    from verifier.commands.runlog import LOGGER, log_to_file
    from verifier.commands.schedule import Daemon

    settings = load_settings(args.config)
    log_file = settings.resolve(settings.paths.reports) / "verifier.log"
    preflight(settings, reports=True, history=HistoryUse.LOCKED, log_file=log_file)
    handler = log_to_file(log_file)

    async def job(stop: asyncio.Event) -> object:
        outcome = await nightly_job(settings, stop=stop, handle_signals=False)
        print(run_summary_line(outcome, settings.resolve(settings.paths.reports)), flush=True)
        return outcome

    try:
        run_async(Daemon(settings, job).serve())
    finally:
        LOGGER.removeHandler(handler)
        handler.close()
    return ExitCode.PASSED


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; whatever an operator can meet becomes one line on stderr and a code."""
    commands = {
        "check": run_check,
        "run": run_nightly,
        "archive": run_archive,
        "baseline": run_baseline,
        "schedule": run_schedule,
        "worker": run_worker,
    }
    try:
        args = build_parser().parse_args(argv)
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("verifier: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except (ConfigError, UsageError) as exc:
        print(terminal_safe(f"verifier: error: {exc}"), file=sys.stderr)
        return ExitCode.USAGE
    except (RunLockedError, CannotWriteError) as exc:
        print(f"verifier: {exc}", file=sys.stderr)
        return ExitCode.COULD_NOT_CHECK
    except VerifierError as exc:  # e.g. the archive could not be asked: resumable
        print(f"verifier: could not finish: {exc}", file=sys.stderr)
        return ExitCode.COULD_NOT_CHECK
    except OSError as exc:  # the machine, not the events: disk full, permission, I/O error
        print(f"verifier: could not finish: {describe_os_error(exc)}", file=sys.stderr)
        return ExitCode.COULD_NOT_CHECK
    except sqlite3.OperationalError as exc:  # the history store: disk full, read-only, locked
        print(f"verifier: could not finish: history store: {exc}", file=sys.stderr)
        return ExitCode.COULD_NOT_CHECK


def describe_os_error(exc: OSError) -> str:
    """``strerror: filename`` (``-> filename2``), or the error's own text."""
    if not exc.strerror:
        return str(exc) or type(exc).__name__
    where = f": {exc.filename}" if exc.filename is not None else ""
    if exc.filename2 is not None:
        where += f" -> {exc.filename2}"
    return f"{exc.strerror}{where}"
