"""Five nights of ``verifier run`` with the shipped defaults, and ``verifier schedule``
stopped by SIGTERM: wall time, requests and peak RSS of each process, requests started after
each signal and the time from the signal to the exit.

    python -m benchmarks.nights [--seed 7] [--latency 0] [--stride 1] [--timeout 240]

The scenario is the acceptance test's (``tests/test_five_nights.py``, ``tests.nightly_support
.Nights``): every corpus URL on the loopback web (each real host its own 127.x address; a
share answering 404, soft-404 and home-redirect sites, flaky and slow hosts, all drawn from
``--seed``), the fake Wayback over a socket with captures for about 60 % of the URLs and
Save Page Now keys set, and the shipped config.toml with only the overrides listed in
``Nights.deviations`` (folders, loopback allowed, the fake's endpoints, Wayback time scaled
by ``NIGHT_SCALE``). Nights: 1 everything due; 2 and 3 incremental (a page dies, one
recovers, a new event); 4 a batch of events, SIGKILL mid-check, restart; 5 another batch,
SIGTERM mid-archive. ``--latency`` adds that many ms to every loopback host. ``--stride N``
keeps every N-th event file (the acceptance test keeps all of them; the schedule part uses a
quarter). Each process has a hard timeout: a hang shows as ``HUNG``, never as a hang.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from tests.nightly_support import (
    FIGURES_HEADER,
    IN_FLIGHT_SLACK,
    NIGHT_SCALE,
    Nights,
    NightsOptions,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="draws of the web and the archive")
    parser.add_argument("--latency", type=float, default=0.0, help="ms added to every host")
    parser.add_argument("--stride", type=int, default=1, help="keep every N-th event file")
    parser.add_argument("--timeout", type=float, default=240.0, help="s before a run is hung")
    args = parser.parse_args()
    options = NightsOptions(
        stride=args.stride, seed=args.seed, latency_ms=args.latency, timeout=args.timeout
    )
    with tempfile.TemporaryDirectory() as tmp:
        with Nights(Path(tmp) / "nights", options) as nights:
            print(
                f"corpus: {len(nights.base_urls)} URLs on night 1, batches of "
                f"{' and '.join(str(len(b)) for b in nights.batch_urls)} new URLs on nights 4 "
                f"and 5; Wayback time scaled by {NIGHT_SCALE:.5f}; seed {args.seed}, "
                f"+{args.latency:g} ms latency"
            )
            print(FIGURES_HEADER, flush=True)
            for step in (nights.first_night, nights.second_night, nights.third_night):
                print(step().figures(), flush=True)
                if nights.nights[-1].process.timed_out:
                    print(nights.nights[-1].diagnosis())
                    return
            killed, after_kill, restart = nights.killed_night()
            print(
                killed.figures()
                + f"; web requests {IN_FLIGHT_SLACK}-2 s after the kill: {after_kill}"
            )
            print(restart.figures(), flush=True)
            run = nights.summary()["run"]
            print(f"{'':<20} restart: resumed {run['resumed']}, with {run['resumed_with']} URLs")
            print(nights.stopped_night().figures(), flush=True)
            print(f"{'':<20} runs table: {[state for _, state, _ in nights.runs()]}")
            second = nights.nights[1]
            print(
                f"night-2 wall time with Wayback on: {second.process.wall:.1f} s "
                f"(time budget {nights.deviations()['wayback']['time_budget']:g} s)"
            )
        quarter = dataclasses.replace(options, stride=4 * args.stride)
        with Nights(Path(tmp) / "schedule", quarter, schedule=True) as nights:
            print(nights.scheduled_stop().figures())
            print(f"{'':<20} runs table: {[state for _, state, _ in nights.runs()]}")


if __name__ == "__main__":
    main()
