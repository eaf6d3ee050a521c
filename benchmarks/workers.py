"""Workers on PostgreSQL: throughput, politeness across workers, and takeover after a kill.

    python -m benchmarks.workers [--urls 100000] [--hosts 500] [--workers 1 2 4]
                                 [--latency-ms 20] [--lease-seconds 60] [--no-kill]

One night per worker count, each on a fresh database: the coordinator of
``verifier run --workers N`` (``run_workers``: queue the URLs by registrable domain, start N
``verifier worker --once`` processes, replace one that dies) checks every URL against the
loopback web (its own process, counting requests in flight per host at the server). The
shipped ``[http]`` and ``[workers]`` settings apply (``--lease-seconds`` aside); archiving is
the coordinator's job after the checks and is left out. With two or more workers, one is
SIGKILLed once 30 % of the URLs are stored: the takeover is the time from the kill until
another worker has leased all of the dead one's unfinished domains, and until it stored the
first result on them.

Needs PostgreSQL: ``$VERIFIER_BENCH_POSTGRES`` (a postgresql:// URL whose user may create
databases), else a throwaway cluster started with ``.ci/postgres`` on port 55433 (stopped
at the end). Prints, per worker count: wall, URLs/s, workers' CPU per URL, database
transactions per URL, the most requests in flight on one host, and the takeover.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.liveness import Scenario, WebProcess
from tests.fakes.loopweb import loopback_addresses
from verifier.config import Settings
from verifier.config_sections import (
    HistorySettings,
    SecuritySettings,
    WaybackSettings,
    WorkersSettings,
)
from verifier.history.store import History, RunState, open_history
from verifier.workers.coordinator import run_workers

ROOT = Path(__file__).resolve().parent.parent
RUN_LIMIT = 1800.0
"""Seconds after which a night is abandoned (the benchmark fails rather than hangs)."""
KILL_AT = 0.3


@dataclass
class Night:
    workers: int
    wall: float
    stored: int
    once_each: bool
    requests: int
    cpu: float
    transactions: int
    max_inflight: int
    web_cpu: float
    takeover: str = "—"
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL URL: ``$VERIFIER_BENCH_POSTGRES``, or a throwaway cluster."""
    given = os.environ.get("VERIFIER_BENCH_POSTGRES")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="verifier-bench-pg.")
    os.chmod(folder, 0o755)
    script = str(ROOT / ".ci" / "postgres")
    env = {**os.environ, "VERIFIER_PG_PORT": os.environ.get("VERIFIER_PG_PORT", "55433")}
    url = subprocess.run(
        [script, folder], check=True, capture_output=True, text=True, env=env, timeout=300
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([script, "--stop", folder], check=False, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server: str, name: str) -> str:
    """Drop and create database ``name`` on ``server``; its URL."""
    import psycopg  # noqa: PLC0415 (an optional dependency)

    with psycopg.connect(server, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def web_of(hosts: list[str], latency_ms: float) -> Scenario:
    """The loopback web: every host answers its paths by the loopweb grammar."""
    return Scenario("workers", hosts, {}, {}, latency_ms, Settings(), [], wall_target=0.0)


def night_urls(hosts: list[str], urls: int, port: int, seed: int) -> list[str]:
    """``urls`` URLs dealt over ``hosts`` (uneven, as sites are), 3 % of them gone."""
    draw = random.Random(seed)
    weights = [1.0 / (rank + 1) ** 0.5 for rank in range(len(hosts))]
    chosen = draw.choices(hosts, weights, k=urls)
    return [
        f"http://{host}:{port}/status/404/gone-{n}"
        if draw.random() < 0.03
        else f"http://{host}:{port}/ok/story-{n}"
        for n, host in enumerate(chosen)
    ]


def settings_for(database: str, folder: Path, lease_seconds: float) -> Settings:
    workers = WorkersSettings(lease_seconds=lease_seconds, heartbeat_seconds=lease_seconds / 12)
    return Settings(
        security=SecuritySettings(allowed_networks=("127.0.0.0/8",)),
        wayback=WaybackSettings(enabled=False),
        history=HistorySettings(url=database, path=folder / "unused.sqlite3"),
        workers=workers,
        base_dir=folder,
    )


def _pid(worker: str) -> int:
    return int(worker.rsplit(":", 1)[1])


async def kill_one(store: History, run_id: int, total: int, out: list[str]) -> None:
    """Once ``KILL_AT`` of the URLs are stored, SIGKILL a worker holding domains; then time
    until others hold all of its unfinished domains, and until one stores a result there."""
    db = store.engine.sql  # type: ignore[attr-defined]
    while True:
        (stored,) = db.execute(
            "SELECT COUNT(*) FROM observations WHERE run_id = ?", (run_id,)
        ).fetchone()
        if stored >= KILL_AT * total:
            break
        await asyncio.sleep(0.1)
    rows = db.execute(
        "SELECT worker, domain FROM work_domains WHERE run_id = ? AND NOT done "
        "AND worker IS NOT NULL ORDER BY worker",
        (run_id,),
    ).fetchall()
    if not rows:
        out.append("no worker held a domain at the kill")
        return
    victim = rows[0][0]
    domains = [domain for worker, domain in rows if worker == victim]

    def stored_there() -> int:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM observations o JOIN work_urls w "
            "ON w.run_id = o.run_id AND w.url = o.url WHERE o.run_id = ? AND w.domain = ANY(?)",
            (run_id, domains),
        ).fetchone()
        return int(count)

    os.kill(_pid(victim), signal.SIGKILL)
    killed = time.monotonic()
    await asyncio.sleep(0.5)  # a commit the worker sent before it died may still land
    at_kill = stored_there()
    leased_by_others = first_result = None
    while (leased_by_others is None or first_result is None) and (
        time.monotonic() - killed < RUN_LIMIT
    ):
        await asyncio.sleep(0.1)
        (still,) = db.execute(
            "SELECT COUNT(*) FROM work_domains WHERE run_id = ? AND domain = ANY(?) "
            "AND NOT done AND (worker IS NULL OR worker = ?)",
            (run_id, domains, victim),
        ).fetchone()
        if leased_by_others is None and still == 0:
            leased_by_others = time.monotonic() - killed
        if first_result is None and stored_there() > at_kill:
            first_result = time.monotonic() - killed
    out.append(
        f"killed a worker holding {len(domains)} domains: others held them all after "
        f"{_seconds(leased_by_others)}, first result there after {_seconds(first_result)}"
    )


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def transactions(database: str) -> int:
    import psycopg  # noqa: PLC0415

    name = database.rsplit("/", 1)[1]
    with psycopg.connect(database, autocommit=True) as db:
        row = db.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


async def one_night(
    server: str, web: WebProcess, urls: list[str], workers: int, args: argparse.Namespace
) -> Night:
    database = fresh_database(server, f"verifier_bench_{workers}")
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(database, Path(folder), args.lease_seconds)
        web.reset()
        notes: list[str] = []
        with open_history(settings) as store:
            run, _ = store.start_run(dt.datetime.now(dt.UTC))
            before_tx = transactions(database)
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            killer = (
                asyncio.create_task(kill_one(store, run.id, len(urls), notes))
                if workers > 1 and args.kill
                else None
            )
            async with asyncio.timeout(RUN_LIMIT):
                outage, figures = await run_workers(
                    settings, store, run.id, urls, workers=workers, stop=asyncio.Event()
                )
            wall = time.perf_counter() - started
            if killer is not None:
                await asyncio.wait_for(killer, 60)
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            tx = transactions(database) - before_tx
            counts = store.engine.sql.execute(  # type: ignore[attr-defined]
                "SELECT COUNT(*), MAX(n) FROM (SELECT url, COUNT(*) AS n FROM observations "
                "WHERE run_id = ? GROUP BY url) AS per_url",
                (run.id,),
            ).fetchone()
            store.finish_run(run.id, RunState.COMPLETE, dt.datetime.now(dt.UTC), {})
        if outage is not None:
            notes.append(f"outage reported: {outage}")
        notes.append(
            "workers' figures: "
            + "; ".join(
                ", ".join(f"{k} {v}" for k, v in f.items() if v) or "none (killed)" for f in figures
            )
        )
        stats = web.stats()
        cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
            cpu_before.ru_utime + cpu_before.ru_stime
        )
        return Night(
            workers,
            wall,
            int(counts[0]),
            int(counts[0]) == len(set(urls)) and counts[1] == 1,
            sum(int(f.get("requests", 0)) for f in figures),
            cpu,
            tx,
            max(stats.max_inflight.values(), default=0),
            stats.cpu,
            notes=notes,
        )


def print_night(night: Night, urls: int) -> None:
    print(
        f"{night.workers:>7} {night.wall:>7.1f} {urls / night.wall:>7.0f} "
        f"{night.cpu / urls * 1000:>10.2f} {night.transactions / urls:>8.2f} "
        f"{night.max_inflight:>11} {night.web_cpu:>8.1f} "
        f"{'yes' if night.once_each else 'NO':>9}",
        flush=True,
    )
    for note in night.notes:
        print(f"        {note}", flush=True)


async def main_async(args: argparse.Namespace) -> None:
    hosts = loopback_addresses(args.hosts)
    with postgres_server() as server, WebProcess(web_of(hosts, args.latency_ms)) as web:
        urls = night_urls(hosts, args.urls, web.port, args.seed)
        defaults = Settings().http
        print(
            f"{args.urls} URLs on {args.hosts} hosts ({args.latency_ms:g} ms), per_host "
            f"{defaults.per_host}, min_host_interval {defaults.min_host_interval} s, "
            f"max_concurrency {defaults.max_concurrency} per worker, "
            f"lease {args.lease_seconds:g} s, "
            f"{os.cpu_count()} cores (the web and PostgreSQL share them)"
        )
        print(
            f"{'workers':>7} {'wall s':>7} {'URLs/s':>7} {'CPU ms/URL':>10} {'tx/URL':>8} "
            f"{'max/host':>11} {'web CPU':>8} {'once each':>9}"
        )
        for workers in args.workers:
            night = await one_night(server, web, urls, workers, args)
            print_night(night, args.urls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--lease-seconds", type=float, default=WorkersSettings().lease_seconds)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-kill", dest="kill", action="store_false")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
