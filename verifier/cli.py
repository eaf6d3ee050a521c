"""The command line: parse arguments, call one library function, render, exit with a code."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path

from verifier import __version__
from verifier.config import load_settings
from verifier.errors import ConfigError, UsageError
from verifier.formats.github import render_github
from verifier.formats.json_format import render_json
from verifier.formats.text import render_text
from verifier.models import Result
from verifier.pipeline import CheckOutcome, check_offline, check_online
from verifier.progress import ProgressReporter, show_progress
from verifier.summary import summarize


class ExitCode(IntEnum):
    """Exit codes of ``verifier check`` and ``verifier run`` (DESIGN.md contract)."""

    PASSED = 0
    FAILED = 1
    USAGE = 2
    COULD_NOT_CHECK = 3


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
            "Exit 0 pass, 1 fail, 2 usage error, 3 could not check (network outage)."
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
        choices=("text", "json", "github"),
        default="text",
        help="output format (default: text)",
    )
    check.add_argument(
        "--verbose", "-v", action="store_true", help="text format: list passing events too"
    )
    return parser


def exit_code_for(outcome: CheckOutcome) -> ExitCode:
    """A failed event fails the check, even during an outage (the offline rules still hold);
    otherwise an outage means the check could not be done."""
    if any(report.result is Result.FAIL for report in outcome.reports):
        return ExitCode.FAILED
    if outcome.outage is not None or outcome.archive_down is not None:
        return ExitCode.COULD_NOT_CHECK
    return ExitCode.PASSED


def run_check(args: argparse.Namespace) -> ExitCode:
    settings = load_settings(args.config)
    if args.offline:
        outcome = check_offline(settings, args.paths, args.changed_since)
    else:
        with ProgressReporter(enabled=show_progress()) as progress:
            outcome = asyncio.run(
                check_online(
                    settings,
                    args.paths,
                    args.changed_since,
                    on_start=progress.start,
                    on_result=progress.advance,
                )
            )
        if outcome.outage is not None:
            print(f"verifier: could not check sources: {outcome.outage}", file=sys.stderr)
        for notice in outcome.notices:
            print(f"verifier: {notice}", file=sys.stderr)
    summary = summarize(
        outcome.reports,
        skipped=len(outcome.skipped),
        could_not_check=outcome.outage or outcome.archive_down,
    )
    if args.format == "json":
        sys.stdout.write(render_json(outcome.reports, summary))
    elif args.format == "github":
        sys.stdout.write(render_github(outcome.reports, summary))
    else:
        for skipped in outcome.skipped:
            print(f"note: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
        sys.stdout.write(render_text(outcome.reports, summary, verbose=args.verbose))
    return exit_code_for(outcome)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"check": run_check}
    try:
        return commands[args.command](args)
    except (ConfigError, UsageError) as exc:
        print(f"verifier: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
