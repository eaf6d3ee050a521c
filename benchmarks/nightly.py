"""Time ``verifier run`` on the real corpus against the loopback web: a first night and an
incremental second night, with wall time, peak memory and requests served.

    python -m benchmarks.nightly [--latency-ms 50] [--dead-share 0.02]

Every corpus URL is mapped onto the loopback web (each real host its own 127.x address,
paths kept); a share of them answers 404. ``verifier run`` runs as its own process (its
peak RSS is read from ``wait4``); the loopback web runs in a thread of this process.
Archiving is off (it has its own benchmark, ``benchmarks.archive``).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.fakes.loopweb import LoopWeb
from tests.nightly_support import CORPUS, copy_corpus_to_loopback, publish_all

NIGHTS = ("2026-11-20T03:00:00+00:00", "2026-11-21T03:00:00+00:00")


def run_night(root: Path, now: str) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MiB, exit code, and the run's summary line."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "verifier", "--config", "config.toml", "run", "--now", now],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "CI": "true"},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss / 1024, process.returncode, output.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--dead-share", type=float, default=0.02)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LoopWeb(hosts=1200, latency_ms=args.latency_ms).running_in_thread() as web,
    ):
        root = Path(tmp)
        mapping, _ = copy_corpus_to_loopback(root / "events", web.port)
        publish_all(web, mapping)
        dead = random.Random(7).sample(
            sorted(mapping.values()), int(len(mapping) * args.dead_share)
        )
        for url in dead:
            parts = urlsplit(url)
            web.unpublish(
                parts.hostname or "", [parts.path + (f"?{parts.query}" if parts.query else "")]
            )
        (root / "config.toml").write_text(
            '[paths]\nevents = "events"\nreports = "reports"\n'
            '[security]\nallowed_networks = ["127.0.0.0/8"]\n'
            '[wayback]\nenabled = false\n[history]\npath = "history.sqlite3"\n'
        )
        print(
            f"corpus: {CORPUS} → {len(mapping)} URLs on the loopback web "
            f"({args.latency_ms:g} ms latency, {len(dead)} answering 404)"
        )
        print(f"{'night':<14} {'wall s':>8} {'peak MiB':>9} {'requests':>9} exit  summary")
        for label, now in zip(("first", "incremental"), NIGHTS, strict=True):
            web.reset_counters()
            wall, peak, code, line = run_night(root, now)
            print(
                f"{label:<14} {wall:>8.1f} {peak:>9.0f} {web.total_requests:>9} {code:>4}  {line}"
            )


if __name__ == "__main__":
    main()
