"""The command line's grammar: every command, option and its help (``verifier --help``)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from verifier import __version__


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
        help=(
            "configuration file (default: the nearest verifier.toml, [tool.verifier] in "
            "pyproject.toml, or a config.toml of ours, from here up to the repository root)"
        ),
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
    _findings_options(check)
    check.add_argument(
        "--config-from-ref",
        metavar="GIT_REF",
        help=(
            "read the configuration (and baseline) as GIT_REF has it, e.g. the base branch: "
            "a pull request cannot steer its own gate"
        ),
    )
    check.add_argument(
        "--statistics", action="store_true", help="print only the count of findings per rule"
    )
    check.add_argument(
        "--dump", action="store_true", help="print the URLs that would be checked; send nothing"
    )
    check.add_argument(
        "--no-baseline", action="store_true", help="report the findings the baseline holds too"
    )

    baseline = commands.add_parser(
        "baseline",
        help="record today's findings: check then fails only on new ones",
        description=(
            "Record every finding of the selected events in the baseline file ([paths] "
            "baseline, verifier-baseline.json): later checks leave them out and fail only on "
            "new findings. Offline (the tier rules) unless --online."
        ),
    )
    baseline.add_argument("paths", nargs="*", type=Path, help="event files or folders")
    baseline.add_argument(
        "--online", action="store_true", help="check the sources too and record their findings"
    )
    _findings_options(baseline)
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
    run.add_argument(
        "--workers",
        type=_positive,
        default=0,
        metavar="N",
        help="share the checks among N local worker processes (a PostgreSQL history)",
    )
    worker = commands.add_parser(
        "worker",
        help="check a share of the running night's URLs (a PostgreSQL history)",
        description=(
            "Lease domains of the night that `verifier run` started in the PostgreSQL history "
            "and check their URLs; start any number, on any machine. A dead worker's domains "
            "pass to the others once its leases lapse ([workers] lease_seconds)."
        ),
    )
    worker.add_argument(
        "--once", action="store_true", help="exit when no run has work left (else keep polling)"
    )
    worker.add_argument("--settings-file", type=Path, help=argparse.SUPPRESS)  # from run
    worker.add_argument("--now", type=_moment, help=argparse.SUPPRESS)
    worker.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # from run: end with it

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


def _rules(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _findings_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--select",
        type=_rules,
        action="extend",
        default=[],
        metavar="RULES",
        help=(
            "only these rules (comma-separated; a prefix such as 'archive' covers archive-*; "
            "'online' the rules of checked sources, 'offline' the others)"
        ),
    )
    command.add_argument(
        "--ignore",
        type=_rules,
        action="extend",
        default=[],
        metavar="RULES",
        help="not these rules (comma-separated; prefixes as for --select)",
    )


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {number}")
    return number
