"""Load hostile event files, each in a fresh process: peak RSS, wall time and the outcome.

    python -m benchmarks.hostile_load [--mb 100] [--memory-limit-mb 8192]

Generates, in a temporary folder: a ``--mb`` MB Markdown event whose front matter is one
long YAML list, the same as a JSON event, events nested 1,000 deep (JSON, YAML flow) and
an event with a 5,000-digit integer. Each is loaded by ``verifier.events.parse.load_event_file``
in its own child process — once with the shipped limits, and the big files once more with
the size limits lifted, which shows the node count refusing the list while it is composed.
Peak RSS comes from ``os.wait4`` (that child's own ``ru_maxrss``). Children run under an
address-space limit, so a loader that explodes fails with MemoryError instead of taking the
machine with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CHILD = """
import sys
from pathlib import Path
from verifier.events.parse import load_event_file
kwargs = {}
if sys.argv[2] == "lifted":
    from verifier.config import LimitsSettings
    kwargs["limits"] = LimitsSettings(max_file_bytes=2**40, max_front_matter_bytes=2**40)
outcome = load_event_file(Path(sys.argv[1]), **kwargs)
problems = getattr(outcome, "load_violations", [])
print(problems[0].message[:110] if problems else type(outcome).__name__ + ": no load error")
"""

HEADER = "---\nid: 2024-01-01--hostile\ndate: '2024-01-01'\ntitle: hostile\nitems:\n"


def _yaml_list(path: Path, size: int) -> None:
    with path.open("w") as handle:
        handle.write(HEADER)
        line = "- x\n" * 4096
        for _ in range(size // len(line)):
            handle.write(line)
        handle.write("---\nbody\n")


def _json_list(path: Path, size: int) -> None:
    with path.open("w") as handle:
        handle.write('{"id": "2024-01-01--hostile", "date": "2024-01-01", "items": [0')
        chunk = ",1" * 4096
        for _ in range(size // len(chunk)):
            handle.write(chunk)
        handle.write("]}\n")


def _small(text: str) -> Callable[[Path, int], None]:
    return lambda path, _size: path.write_text(text)


DEEP = 1_000
CASES: list[tuple[str, Callable[[Path, int], None], bool]] = [
    ("yaml-list.md", _yaml_list, True),
    ("json-list.json", _json_list, True),
    ("nested.json", _small('{"id": "x", "v": ' + "[" * DEEP + "]" * DEEP + "}"), False),
    ("nested-flow.md", _small(HEADER + "v: " + "[" * DEEP + "]" * DEEP + "\n---\n"), False),
    (
        "big-int.md",
        _small(HEADER.replace("items:\n", "importance: " + "9" * 5000 + "\n---\n")),
        False,
    ),
]


def _run(path: Path, mode: str, memory_limit: int) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, and the child's one-line outcome (or its error)."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=limit_memory,  # noqa: PLW1509 - no threads here
    )
    assert child.stdout is not None and child.stderr is not None
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    outcome = out.strip() or (err.strip().splitlines() or ["(no output)"])[-1][:110]
    return elapsed, usage.ru_maxrss / 1024, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the big files")
    parser.add_argument("--memory-limit-mb", type=int, default=8192)
    args = parser.parse_args()
    size = args.mb * 1_000_000
    print(f"{'file':<16} {'limits':<8} {'MB':>7} {'peak RSS MB':>12} {'s':>7}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, big in CASES:
            path = Path(tmp) / name
            make(path, size)
            megabytes = path.stat().st_size / 1_000_000
            for mode in ("shipped", "lifted") if big else ("shipped",):
                elapsed, rss, outcome = _run(path, mode, args.memory_limit_mb * 2**20)
                print(
                    f"{name:<16} {mode:<8} {megabytes:7.1f} {rss:12.0f} {elapsed:7.2f}  {outcome}"
                )
            path.unlink()


if __name__ == "__main__":
    main()
