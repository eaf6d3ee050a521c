"""A year of nights against the history store: what a night's history work costs as the
history ages, how many URLs come due each night, and how big the file gets.

    python -m benchmarks.history_year [--urls 5500] [--nights 365] [--seed 7] [--spread 0.5]

Each night does the history part of ``verifier run`` with the shipped defaults: read every
URL's state and latest observation, decide statuses and what is due (``history.plan``),
store one observation per checked URL as the checker does (one transaction each), read the
states and latest observations again for the reports, and prune (``lookback_days``). The
checks themselves are drawn (seeded): most pages stay alive, a share dies for good, a
share is flaky. Prints nights 1–10 and every 30th night, the busiest night after the first
TTL, and the store's size at the end; then one more night that rechecks every URL (``--full``)
on the year-old store, the like-for-like comparison with night 1 (also a check of every URL,
on an empty store). ``--spread 0`` shows the weekly spike without the TTL spread.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from verifier.config import Settings
from verifier.config_sections import HistorySettings
from verifier.history.plan import due_urls, statuses_of
from verifier.history.store import RunState, SQLiteHistory
from verifier.models import Observation, Verdict

START = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class Night:
    number: int
    due: int
    seconds: float


def draw_verdict(url_fate: float, draw: random.Random, day: int) -> Verdict:
    if url_fate < 0.03 and day > 20:  # dies for good after three weeks
        return Verdict.DEAD
    if url_fate < 0.06:  # flaky
        return draw.choice((Verdict.ALIVE, Verdict.UNREACHABLE, Verdict.ALIVE))
    if url_fate < 0.07:
        return Verdict.BLOCKED
    return Verdict.ALIVE


def one_night(
    store: SQLiteHistory,
    settings: Settings,
    urls: list[str],
    *,
    fates: dict[str, float],
    draw: random.Random,
    day: int,
    full: bool = False,
) -> Night:
    now = START + dt.timedelta(days=day)
    started = time.perf_counter()
    run, _ = store.start_run(now)
    statuses = statuses_of(store.states(urls), settings)
    latest = store.latest(urls, pages=False)
    due = due_urls(urls, latest, statuses, settings, now, full=full, done=set())
    drawn = 0.0
    for n, url in enumerate(due):
        before = time.perf_counter()
        verdict = draw_verdict(fates[url], draw, day)
        checked = now + dt.timedelta(seconds=n * 0.05)
        observation = Observation(url=url, verdict=verdict, checked_at=checked)
        drawn += time.perf_counter() - before
        store.record(run.id, [observation])
    statuses_of(store.states(urls), settings)
    store.latest(urls)
    store.prune(now - dt.timedelta(days=settings.history.lookback_days))
    store.finish_run(run.id, RunState.COMPLETE, now, {"due": len(due)})
    return Night(day + 1, len(due), time.perf_counter() - started - drawn)


def per_due_url_ms(nights: list[Night]) -> float:
    """Median milliseconds of history work per due URL, over the nights with any due."""
    return statistics.median(n.seconds / n.due * 1000 for n in nights if n.due)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=5500)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spread", type=float, default=HistorySettings().ok_ttl_spread)
    args = parser.parse_args()
    draw = random.Random(args.seed)
    urls = [f"https://h{n % 1163}.example/story/{n}" for n in range(args.urls)]
    fates = {url: draw.random() for url in urls}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        settings = Settings(history=HistorySettings(path=path, ok_ttl_spread=args.spread))
        nights: list[Night] = []
        with SQLiteHistory(path) as store:
            print(f"{args.urls} URLs, {args.nights} nights, spread {args.spread}, seed {args.seed}")
            print(f"{'night':>5} {'due':>6} {'history s':>10}")
            for day in range(args.nights):
                night = one_night(store, settings, urls, fates=fates, draw=draw, day=day)
                nights.append(night)
                if night.number <= 10 or night.number % 30 == 0 or night.number == args.nights:
                    print(f"{night.number:>5} {night.due:>6} {night.seconds:>10.3f}", flush=True)
            full = one_night(
                store, settings, urls, fates=fates, draw=draw, day=args.nights, full=True
            )
            rows = store._db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    settled = nights[14:]
    busiest = max(settled, key=lambda n: n.due)
    per_url = [n.seconds / max(n.due, 1) * 1000 for n in settled]
    early = [n.seconds for n in nights[1:31]]
    late = [n.seconds for n in nights[-30:]]
    print(
        f"after night 14: due per night median {statistics.median(n.due for n in settled):.0f}, "
        f"busiest {busiest.due} (night {busiest.number}); history ms per due URL median "
        f"{statistics.median(per_url):.2f}"
    )
    print(
        f"history seconds per night: night 1 {nights[0].seconds:.2f}, nights 2-31 median "
        f"{statistics.median(early):.3f}, last 30 median {statistics.median(late):.3f}"
    )
    print(
        f"every URL rechecked after the year (night {full.number}): {full.seconds:.2f} s "
        f"= {full.seconds / nights[0].seconds:.2f} x night 1; small nights: 2-31 median per due "
        f"URL {per_due_url_ms(nights[1:31]):.3f} ms, last 30 {per_due_url_ms(nights[-30:]):.3f} ms"
    )
    print(
        f"store at the end (after night {full.number}): {rows} observations, "
        f"{size / 2**20:.1f} MiB (with WAL)"
    )


if __name__ == "__main__":
    main()
