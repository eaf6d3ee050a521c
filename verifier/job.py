"""The nightly job: one plain async function, called by ``verifier run`` and the scheduler.

It turns SIGTERM/SIGINT into a graceful stop (requests in flight finish, what is known is
written, the run is marked interrupted and resumes on the next start) and logs the run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections.abc import Callable

from verifier.config import Settings
from verifier.liveness import utc_now
from verifier.models import Observation
from verifier.nightly import RunOutcome, nightly_run
from verifier.report_html import html_reports
from verifier.runlog import LOGGER, event


async def nightly_job(
    settings: Settings,
    *,
    full: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
    stop: asyncio.Event | None = None,
    on_result: Callable[[Observation], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    handle_signals: bool = True,
) -> RunOutcome:
    """Run one night; SIGTERM or SIGINT set ``stop`` while it runs (unless the caller, e.g.
    the scheduler daemon, handles signals itself)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT) if handle_signals else ():
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue  # started under nohup or in the background: leave it ignored
        try:
            loop.add_signal_handler(signum, _stopper(stop, signum))
            installed.append(signum)
        except (RuntimeError, NotImplementedError, ValueError):
            pass  # not the main thread, or no signals on this platform
    event("run started", full=full)
    try:
        outcome = await nightly_run(
            settings,
            full=full,
            clock=clock,
            stop=stop,
            on_result=on_result,
            on_start=on_start,
            extra_reports=html_reports,
        )
    except Exception:
        LOGGER.exception("run crashed")
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
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


def _stopper(stop: asyncio.Event, signum: int) -> Callable[[], None]:
    def handler() -> None:
        event("stop requested", signal=signal.Signals(signum).name)
        stop.set()

    return handler
