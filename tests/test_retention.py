"""The history keeps raw observations only while they can decide something."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.history_engines import OpenStore
from verifier.history.store import History, RunState, SQLiteHistory
from verifier.models import Observation, Verdict

DAY0 = dt.datetime(2026, 1, 1, 3, tzinfo=dt.UTC)


def observe(store: History, url: str, day: int, verdict: Verdict = Verdict.ALIVE) -> None:
    run, _ = store.start_run(DAY0 + dt.timedelta(days=day))
    when = DAY0 + dt.timedelta(days=day)
    store.record(run.id, [Observation(url=url, verdict=verdict, checked_at=when)])
    store.finish_run(run.id, RunState.COMPLETE, when, {})


def test_old_observations_go_but_each_urls_latest_stays(open_store: OpenStore) -> None:
    with open_store() as store:
        for day in range(0, 200, 10):
            observe(store, "https://a.example/often", day)
        observe(store, "https://a.example/once", 5, Verdict.DEAD)
        cutoff = DAY0 + dt.timedelta(days=200 - 90)
        before = store.histories(["https://a.example/often"], cutoff)
        pruned = store.prune(cutoff)
        assert pruned == 11  # days 0..100 of "often"; "once" is its own latest
        assert store.histories(["https://a.example/often"], cutoff) == before
        latest = store.latest(["https://a.example/often", "https://a.example/once"])
        assert latest["https://a.example/once"].verdict is Verdict.DEAD
        assert latest["https://a.example/often"].checked_at == DAY0 + dt.timedelta(days=190)
        assert store.prune(cutoff) == 0


def test_a_year_of_nights_keeps_a_bounded_number_of_rows(open_store: OpenStore) -> None:
    urls = [f"https://a.example/{n}" for n in range(50)]
    with open_store() as store:
        for day in range(365):
            run, _ = store.start_run(DAY0 + dt.timedelta(days=day))
            when = DAY0 + dt.timedelta(days=day)
            store.record(
                run.id, [Observation(url=u, verdict=Verdict.ALIVE, checked_at=when) for u in urls]
            )
            store.finish_run(run.id, RunState.COMPLETE, when, {})
            store.prune(when - dt.timedelta(days=30))
        rows = store._db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    assert rows == 50 * 31  # 30 days of lookback and the night itself, never the whole year


def test_the_prune_reads_old_observations_and_their_references_by_index(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite3") as store:
        plans = [
            " ".join(str(row[-1]) for row in store._db.execute(f"EXPLAIN QUERY PLAN {query}"))
            for query in (
                "DELETE FROM observations WHERE provisional = 0 AND checked_at < '2026' "
                "AND id NOT IN (SELECT observation_id FROM url_state)",
                # what deleting one observation asks of the table that references it
                "SELECT 1 FROM url_state WHERE observation_id = 7",
            )
        ]
    assert "observations_by_time" in plans[0]
    assert "url_state_by_observation" in plans[1]
