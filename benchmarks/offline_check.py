"""Time ``verifier check --offline`` over the real corpus: median wall time of several runs.

    python -m benchmarks.offline_check [--runs 7] [--corpus PATH]

Each run is a fresh ``verifier`` process (interpreter start and imports included), as a CI
gate would pay it. Prints every run, the median, and the event counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/kleptocracy-timeline/events"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "events"
        shutil.copytree(args.corpus, corpus)
        command = [
            sys.executable,
            "-m",
            "verifier",
            "check",
            "--offline",
            "--format",
            "json",
            str(corpus),
        ]
        times = []
        output = ""
        for _ in range(args.runs):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            output = done.stdout
        summary = json.loads(output)["summary"]
    print("runs (s):", " ".join(f"{t:.3f}" for t in times))
    print(f"median wall time: {statistics.median(times):.3f} s over {summary['events']} events")
    print("results:", summary["results"])
    top = list(summary["violations_by_rule"].items())[:6]
    print("most common violations:", ", ".join(f"{rule} {n}" for rule, n in top))


if __name__ == "__main__":
    main()
