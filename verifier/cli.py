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

from verifier import __version__
from verifier.commands.check import check_offline
from verifier.commands.preflight import HistoryUse, preflight
from verifier.config import load_settings
from verifier.errors import (
    CannotWriteError,
    ConfigError,
    RunLockedError,
    UsageError,
    VerifierError,
)
from verifier.outcomes import CouldNotCheck, Shortfall
from verifier.reports.formats.github import render_github
from verifier.reports.formats.json_format import render_json
from verifier.reports.formats.junit import render_junit
from verifier.reports.formats.step_summary import render_step_summary
from verifier.reports.formats.text import archive_summary_line, render_text, run_summary_line
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verifier",
        description="Verify the sources of timeline events: tier rules, liveness, archives.",
    )
    parser.add_argument("--version", action="version", version=f"verifier {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="configuration file (default: ./config.toml when present)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="check events (tier rules; sources too unless --offline)",
        description=(
            "Check events: the tier rules, then (unless --offline) every source URL. "
            "Exit 0 pass, 1 fail, 2 usage or configuration error, 3 could not check "
            "(network outage, archive unreachable, history not writable), 130 Ctrl-C."
        ),
    )
    check.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="event files or folders (default: the configured events folder)",
    )
    check.add_argument(
        "--changed-since",
        metavar="GIT_REF",
        help="only event files added or modified in GIT_REF...HEAD",
    )
    check.add_argument(
        "--offline", action="store_true", help="apply the tier rules only; send no request"
    )
    check.add_argument(
        "--format",
        choices=("text", "json", "github", "junit"),
        default="text",
        help="output format (default: text)",
    )
    check.add_argument(
        "--verbose", "-v", action="store_true", help="text format: list passing events too"
    )
    run = commands.add_parser(
        "run",
        help="the nightly job: check due sources with history, archive, write reports",
        description=(
            "The nightly run: every event, the URLs due for a check (new, failing, or past "
            "their TTL), archiving, history, and the reports folder. Resumes a run that was "
            "killed. Exit 0 done, 1 an event fails, 2 usage or configuration error, 3 could "
            "not check or run (outage, archive unreachable, interrupted, not writable)."
        ),
    )
    run.add_argument("--full", action="store_true", help="recheck every URL, whatever its TTL")
    run.add_argument("--log-file", type=Path, help="append the run's log here as JSON lines")
    run.add_argument("--now", type=_moment, help=argparse.SUPPRESS)  # replay a night in tests

    commands.add_parser(
        "schedule",
        help="daemon: run the nightly job on the configured schedule until stopped",
        description=(
            "Run the nightly job on the [schedule] of the configuration (cron fields, time "
            "zone). A missed night runs once at start; SIGTERM lets the current run reach a "
            "checkpoint, then exits (the next start resumes it)."
        ),
    )

    archive = commands.add_parser(
        "archive",
        help="check sources and their archive links; with --write, fix the event files",
        description=(
            "Check the selected events' sources and archive state (fabricated links, missing "
            "captures). With --write, insert or fix archive_url lines in the event files — "
            "nothing else in them changes."
        ),
    )
    archive.add_argument("paths", nargs="*", type=Path, help="event files or folders")
    archive.add_argument(
        "--write", action="store_true", help="write archive_url fixes into the event files"
    )
    return parser


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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
        print(f"verifier: {item.message}", file=sys.stderr)


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


def run_check(args: argparse.Namespace) -> ExitCode:
    settings = load_settings(args.config)
    if not args.offline:
        from verifier.commands.check import check_changed, check_online
        from verifier.commands.progress import ProgressReporter, show_progress

        # Online checks keep archive knowledge in the history; the gate only reads it.
        gate = args.changed_since is not None
        preflight(
            settings, reports=False, history=HistoryUse.IF_PRESENT if gate else HistoryUse.STORE
        )
    if args.offline:
        outcome = check_offline(settings, args.paths, args.changed_since)
    elif args.changed_since is not None:
        outcome = run_async(check_changed(settings, args.paths, args.changed_since))
    else:
        with ProgressReporter(enabled=show_progress()) as progress:
            outcome = run_async(
                check_online(
                    settings,
                    args.paths,
                    args.changed_since,
                    on_start=progress.start,
                    on_result=progress.advance,
                )
            )
        for notice in outcome.notices:
            print(f"verifier: {notice}", file=sys.stderr)
    say_could_not_check(outcome)
    summary = summarize(
        outcome.reports,
        skipped=len(outcome.skipped),
        could_not_check=outcome.outage or outcome.archive_down,
    )
    if args.format == "json":
        sys.stdout.write(render_json(outcome.reports, summary))
    elif args.format == "github":
        sys.stdout.write(render_github(outcome.reports, summary))
    elif args.format == "junit":
        sys.stdout.write(render_junit(outcome.reports, summary))
    else:
        for skipped in outcome.skipped:
            print(f"note: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
        sys.stdout.write(render_text(outcome.reports, summary, verbose=args.verbose))
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as stream:
            stream.write(render_step_summary(outcome.reports, summary))
    return exit_code_for(outcome)


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
                )
            )
    finally:
        if handler is not None:
            LOGGER.removeHandler(handler)
            handler.close()
    for notice in outcome.notices:
        print(f"verifier: {notice}", file=sys.stderr)
    print(run_summary_line(outcome, settings.resolve(settings.paths.reports)))
    say_could_not_check(outcome)
    return exit_code_for(outcome)


def run_archive(args: argparse.Namespace) -> ExitCode:
    from verifier.commands.archive import archive_events

    settings = load_settings(args.config)
    preflight(settings, reports=False, history=HistoryUse.STORE)
    result = run_async(archive_events(settings, args.paths, write=args.write))
    for notice in result.notices:
        print(f"verifier: {notice}", file=sys.stderr)
    for path, error in result.errors:
        print(f"verifier: {path}: {error}", file=sys.stderr)
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
        "schedule": run_schedule,
    }
    try:
        args = build_parser().parse_args(argv)
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("verifier: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except (ConfigError, UsageError) as exc:
        print(f"verifier: error: {exc}", file=sys.stderr)
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
