"""What more checker processes would buy: a liveness scenario split by host over N processes.

    python -m benchmarks.liveness_processes [--scenario realworld|corpus|synthetic]
                                            [--processes 1 2 4]

Each process runs its own ``LinkChecker`` over a share of the hosts (hosts dealt out by URL
count, largest first, so a host is in exactly one process and politeness holds), all at
once against the same loopback web (its own process, as in ``benchmarks.liveness``). This
measures the ceiling of a multi-process checker: no result streaming, stop handling, shared
outage watch or shared probe cache — the costs a real one would add.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from collections import defaultdict
from multiprocessing.queues import Queue
from typing import Any

from benchmarks import liveness as bench
from verifier.config import Settings
from verifier.web.liveness import LinkChecker

RUN_LIMIT = 600.0
"""Seconds after which a process's check is abandoned."""


def _check(settings: Settings, urls: list[str], results: Queue[Any]) -> None:
    """Child process: check ``urls``; put (wall s, CPU s, observations, requests)."""
    started, cpu = time.perf_counter(), time.process_time()

    async def run() -> tuple[int, int]:
        async with asyncio.timeout(RUN_LIMIT), LinkChecker(settings) as checker:
            checked = await checker.check_all(urls)
        return len(checked.observations), checked.requests_sent

    observations, requests = asyncio.run(run())
    results.put((time.perf_counter() - started, time.process_time() - cpu, observations, requests))


def _deal(groups: int, by_host: dict[str, list[str]]) -> list[list[str]]:
    """Hosts dealt to the least loaded group, largest host first."""
    shares: list[list[str]] = [[] for _ in range(groups)]
    load = [0] * groups
    for _, urls in sorted(by_host.items(), key=lambda item: -len(item[1])):
        least = load.index(min(load))
        shares[least].extend(urls)
        load[least] += len(urls)
    return shares


def measure(scenario: bench.Scenario, processes: int, web: bench.WebProcess) -> str:
    web.reset()
    by_host: dict[str, list[str]] = defaultdict(list)
    for case in scenario.cases:
        by_host[case.host].append(bench._url(scenario, case, web.port))
    context = multiprocessing.get_context("fork")
    results: Queue[Any] = context.Queue()
    started = time.perf_counter()
    children = [
        context.Process(target=_check, args=(scenario.settings, share, results), daemon=True)
        for share in _deal(processes, by_host)
    ]
    for child in children:
        child.start()
    figures = [results.get(timeout=RUN_LIMIT + 60) for _ in children]
    for child in children:
        child.join(30)
    wall = time.perf_counter() - started
    tls = scenario.tls_delay_ms / 1000 if scenario.tls is not None else 0.0
    bound = bench.politeness_bound(scenario.cases, bench.CAP, bench.INTERVAL, tls).seconds
    cpu = sum(f[1] for f in figures)
    each = ", ".join(f"{f[0]:.1f} s/{f[1]:.1f} s CPU/{f[3]} requests" for f in figures)
    return (
        f"{processes} process(es): wall {wall:6.2f} s = {wall / bound:.2f} × bound {bound:.2f} s; "
        f"checker CPU {cpu:.1f} s, web CPU {web.stats().cpu:.1f} s; each: {each}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", choices=("realworld", "corpus", "synthetic"),
                        default="realworld")  # fmt: skip
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.scenario == "realworld":
        root = bench.DEFAULT_CORPUS if bench.DEFAULT_CORPUS.is_dir() else None
        scenario = bench.realworld_scenario(root, seed=args.seed)
    elif args.scenario == "corpus":
        scenario = bench.corpus_scenario(bench.DEFAULT_CORPUS)
    else:
        scenario = bench.synthetic_scenario(args.seed)
    print(f"{scenario.name}: {len(scenario.cases)} URLs on {len(scenario.hosts)} hosts")
    with bench.WebProcess(scenario) as web:
        for processes in args.processes:
            print(measure(scenario, processes, web), flush=True)


if __name__ == "__main__":
    main()
