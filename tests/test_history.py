"""The SQLite history store: migrations, runs, observations, archive records."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from tests.history_engines import OpenStore
from verifier.history.store import MIGRATIONS, SQLiteHistory
from verifier.models import ArchiveInfo, ArchiveState, Observation, Verdict

T0 = dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)


def observation(url: str, day: float, verdict: Verdict = Verdict.ALIVE) -> Observation:
    return Observation(url=url, verdict=verdict, checked_at=T0 + dt.timedelta(days=day))


def test_a_new_store_is_migrated_to_the_latest_schema(tmp_path: Path) -> None:
    store = SQLiteHistory(tmp_path / "h.sqlite3")
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    with sqlite3.connect(tmp_path / "h.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_unfinished_run_is_resumed_and_a_finished_one_is_not(open_store: OpenStore) -> None:
    store = open_store()
    first, resumed = store.start_run(T0)
    assert not resumed
    again, resumed = store.start_run(T0 + dt.timedelta(hours=1))
    assert resumed
    assert again.id == first.id
    store.finish_run(first.id, "complete", T0, {"statuses": {"ok": 3}})
    third, resumed = store.start_run(T0 + dt.timedelta(days=1))
    assert not resumed
    assert third.id != first.id
    assert [(run.id, counts) for run, counts in store.status_history()] == [(first.id, {"ok": 3})]
    assert store.last_successful_run() is not None
    store.close()


def test_a_url_is_recorded_once_per_run(open_store: OpenStore) -> None:
    store = open_store()
    run, _ = store.start_run(T0)
    store.record(run.id, [observation("https://a/", 0)])
    store.record(run.id, [observation("https://a/", 0, Verdict.DEAD)])  # a resumed run
    assert store.observed_in_run(run.id) == {"https://a/"}
    assert store.latest(["https://a/"])["https://a/"].verdict is Verdict.ALIVE
    store.close()


def test_histories_and_latest(open_store: OpenStore) -> None:
    store = open_store()
    for day in range(3):
        run, _ = store.start_run(T0 + dt.timedelta(days=day))
        store.record(run.id, [observation("https://a/", day, Verdict.DEAD)])
        store.finish_run(run.id, "complete", T0, {})
    histories = store.histories(["https://a/", "https://b/"], T0 + dt.timedelta(days=1))
    assert [o.checked_at.day for o in histories["https://a/"]] == [2, 3]
    assert "https://b/" not in histories
    assert store.latest(["https://a/"])["https://a/"].checked_at.day == 3
    store.close()


def test_archive_records_round_trip(open_store: OpenStore) -> None:
    store = open_store()
    info = ArchiveInfo(
        state=ArchiveState.EXISTING,
        url="https://web.archive.org/web/1/x",
        timestamp="20200101000000",
        checked_at=T0,
    )
    store.put("https://x/", info)
    store.put("https://x/", info.model_copy(update={"captured_status": 200}))
    assert store.get("https://x/") == info.model_copy(update={"captured_status": 200})
    assert store.get("https://y/") is None
    store.close()
