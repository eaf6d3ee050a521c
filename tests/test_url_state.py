"""The per-URL state the history keeps beside its observations: the newest settled check
and the streak of failures, which is all a night reads to decide statuses and what is due."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

import pytest

from tests.history_engines import OpenStore
from verifier.history.status import UrlState, is_due, state_of, status_of
from verifier.history.store import History, RunState, SQLiteHistory
from verifier.models import Observation, Status, Verdict

T0 = dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)
URL = "https://a.example/story"


def seen(day: float, verdict: Verdict, url: str = URL) -> Observation:
    return Observation(url=url, verdict=verdict, checked_at=T0 + dt.timedelta(days=day))


def night(store: History, observations: list[Observation], *, provisional: bool = False) -> int:
    """A run that records ``observations``; finished, unless they are provisional (the caller
    settles them and finishes it)."""
    run, _ = store.start_run(observations[0].checked_at)
    store.record(run.id, observations, provisional=provisional)
    if not provisional:
        store.finish_run(run.id, RunState.COMPLETE, observations[0].checked_at, {})
    return run.id


def test_the_streak_counts_failures_since_the_last_success(open_store: OpenStore) -> None:
    with open_store() as store:
        night(store, [seen(0, Verdict.ALIVE)])
        night(store, [seen(1, Verdict.DEAD)])
        night(store, [seen(2, Verdict.BLOCKED)])  # a bot wall neither counts nor ends it
        night(store, [seen(3, Verdict.UNREACHABLE)])
        state = store.states([URL])[URL]
        assert state == UrlState(
            T0 + dt.timedelta(days=3), Verdict.UNREACHABLE, 2, T0 + dt.timedelta(days=1)
        )
        night(store, [seen(4, Verdict.DEAD)])
        assert status_of(store.states([URL])[URL]) is Status.BROKEN  # 3 failures over 3 days
        night(store, [seen(5, Verdict.ALIVE)])
        assert store.states([URL])[URL] == UrlState(T0 + dt.timedelta(days=5), Verdict.ALIVE)


def test_provisional_failures_count_only_once_settled(open_store: OpenStore) -> None:
    with open_store() as store:
        night(store, [seen(0, Verdict.ALIVE)])
        kept = night(store, [seen(1, Verdict.UNREACHABLE)], provisional=True)
        assert store.states([URL])[URL].verdict is Verdict.ALIVE
        assert store.latest([URL])[URL].verdict is Verdict.ALIVE
        store.settle_provisional(kept, keep=True)
        assert store.states([URL])[URL].streak == 1
        assert store.latest([URL])[URL].verdict is Verdict.UNREACHABLE
        store.finish_run(kept, RunState.COMPLETE, T0, {})
        outage = night(store, [seen(2, Verdict.UNREACHABLE)], provisional=True)
        store.settle_provisional(outage, keep=False)  # an outage: never history
        store.finish_run(outage, RunState.OUTAGE, T0, {})
        assert store.states([URL])[URL].checked_at == T0 + dt.timedelta(days=1)


def test_an_older_observation_arriving_late_rebuilds_the_state(open_store: OpenStore) -> None:
    with open_store() as store:
        night(store, [seen(2, Verdict.DEAD)])
        night(store, [seen(1, Verdict.DEAD)])
        night(store, [seen(0, Verdict.ALIVE)])
        state = store.states([URL])[URL]
        assert (state.checked_at, state.streak, state.streak_since) == (
            T0 + dt.timedelta(days=2),
            2,
            T0 + dt.timedelta(days=1),
        )
        assert store.latest([URL])[URL].checked_at == T0 + dt.timedelta(days=2)


@pytest.mark.parametrize("seed", range(5))
def test_the_kept_state_is_the_state_of_the_whole_history(open_store: OpenStore, seed: int) -> None:
    draw = random.Random(seed)
    urls = [f"https://h{n}.example/" for n in range(6)]
    history: list[Observation] = []
    with open_store() as store:
        for day in range(40):
            batch = [
                seen(day + draw.random() / 2, draw.choice(list(Verdict)), url)
                for url in urls
                if draw.random() < 0.6
            ]
            if not batch:
                continue
            provisional = draw.random() < 0.2
            run = night(store, batch, provisional=provisional)
            keep = not provisional or draw.random() < 0.7
            if provisional:
                store.settle_provisional(run, keep=keep)
                store.finish_run(run, RunState.COMPLETE, batch[0].checked_at, {})
            if keep:
                history.extend(batch)
            if draw.random() < 0.2:
                store.prune(T0 + dt.timedelta(days=day - 10))
        states = store.states(urls)
    for url in urls:
        assert states.get(url) == state_of(o for o in history if o.url == url)


def test_a_history_of_schema_4_gains_its_states_on_open(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with SQLiteHistory(path) as store:
        night(store, [seen(0, Verdict.ALIVE)])
        night(store, [seen(1, Verdict.DEAD), seen(1, Verdict.ALIVE, "https://b.example/")])
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE url_state")
        db.execute("DROP INDEX observations_by_time")
        db.execute("PRAGMA user_version = 4")
    with SQLiteHistory(path) as store:
        assert store.schema_version == 6
        states = store.states([URL, "https://b.example/"])
    assert states[URL].streak == 1
    assert states["https://b.example/"].verdict is Verdict.ALIVE


def test_ok_rechecks_spread_over_the_nights_after_the_ttl() -> None:
    week, night_ttl = dt.timedelta(days=7), dt.timedelta(hours=20)
    checks = [seen(0, Verdict.ALIVE, f"https://h{n}.example/") for n in range(2000)]
    first_due: list[int] = []
    for check in checks:
        day = next(
            day
            for day in range(30)
            if is_due(check, Status.OK, T0 + dt.timedelta(days=day), week, night_ttl, spread=0.5)
        )
        first_due.append(day)
        again = is_due(check, Status.OK, T0 + dt.timedelta(days=day), week, night_ttl, spread=0.5)
        assert again  # the same answer every time it is asked
    assert min(first_due) >= 7  # never before the TTL...
    assert max(first_due) <= 11  # ... and at most half a TTL later
    busiest = max(first_due.count(day) for day in set(first_due))
    assert busiest < len(checks) / 3  # one night's URLs come due over several nights
    without = {
        next(
            d for d in range(30) if is_due(c, Status.OK, T0 + dt.timedelta(days=d), week, night_ttl)
        )
        for c in checks
    }
    assert without == {7}
