"""The history's per-URL state table: each URL's newest settled observation and its streak of
failures (``status.UrlState``), advanced with every observation that becomes history.

Planning and reports read one row per URL from it; nothing rereads the observations, so a
night's cost does not grow with the history's age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from verifier.history.engine import Sql, rows_for_keys
from verifier.history.status import UrlState, advance, state_of
from verifier.models import Observation, Verdict

TABLE = """
    CREATE TABLE url_state (
        url TEXT PRIMARY KEY,          -- normalised URL
        observation_id INTEGER NOT NULL REFERENCES observations(id),  -- the newest settled
        checked_at TEXT NOT NULL,
        verdict TEXT NOT NULL,
        streak INTEGER NOT NULL,       -- failing checks since the last success
        streak_since TEXT              -- the first of them
    )
"""

OBSERVATION_COLUMNS = (
    "o.url, o.checked_at, o.verdict, o.http_status, o.final_url, o.attempts, o.detail, o.failure"
)


def migrate(db: Sql) -> None:
    """Migration 5: the table, filled from the observations already stored."""
    db.execute(TABLE)
    urls = [row[0] for row in db.execute("SELECT DISTINCT url FROM observations")]
    for url in urls:
        rebuild(db, url)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def settled(db: Sql, observation_id: int, observation: Observation) -> None:
    """Observation ``observation_id`` became history: advance its URL's state (or rebuild
    it, when an older observation arrives after a newer one)."""
    current = db.execute(
        "SELECT checked_at, verdict, streak, streak_since FROM url_state WHERE url = ?",
        (observation.url,),
    ).fetchone()
    state = _state(current) if current else None
    if state is not None and observation.checked_at < state.checked_at:
        rebuild(db, observation.url)
        return
    _write(db, observation.url, observation_id, advance(state, observation))


def rebuild(db: Sql, url: str) -> None:
    """A URL's state from all of its settled observations."""
    rows = db.execute(
        f"SELECT o.id, {OBSERVATION_COLUMNS} FROM observations o "
        "WHERE o.url = ? AND o.provisional = 0 ORDER BY o.checked_at, o.id",
        (url,),
    ).fetchall()
    if not rows:
        db.execute("DELETE FROM url_state WHERE url = ?", (url,))
        return
    state = state_of(observation(row[1:]) for row in rows)
    assert state is not None
    _write(db, url, rows[-1][0], state)


def states(db: Sql, urls: Iterable[str]) -> dict[str, UrlState]:
    return {
        row[0]: _state(row[1:])
        for row in rows_for_keys(
            db,
            "SELECT url, checked_at, verdict, streak, streak_since FROM url_state "
            "WHERE url IN ({keys})",
            urls,
        )
    }


def latest(db: Sql, urls: Iterable[str]) -> dict[str, Observation]:
    """Each URL's newest settled observation."""
    return {
        row[0]: observation(row)
        for row in rows_for_keys(
            db,
            f"SELECT {OBSERVATION_COLUMNS} FROM url_state s "
            "JOIN observations o ON o.id = s.observation_id WHERE s.url IN ({keys})",
            urls,
        )
    }


def observation(row: Sequence[Any]) -> Observation:
    return Observation(
        url=row[0],
        checked_at=dt.datetime.fromisoformat(row[1]),
        verdict=row[2],
        http_status=row[3],
        final_url=row[4],
        attempts=row[5],
        detail=row[6],
        failure=row[7],
    )


def _state(row: Sequence[Any]) -> UrlState:
    checked_at = dt.datetime.fromisoformat(row[0])
    return UrlState(checked_at, Verdict(row[1]), int(row[2]), _when(row[3]))


def _write(db: Sql, url: str, observation_id: int, state: UrlState) -> None:
    db.execute(
        "INSERT INTO url_state (url, observation_id, checked_at, verdict, streak, streak_since) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET "
        "observation_id = excluded.observation_id, checked_at = excluded.checked_at, "
        "verdict = excluded.verdict, streak = excluded.streak, "
        "streak_since = excluded.streak_since",
        (
            url,
            observation_id,
            _iso(state.checked_at),
            state.verdict.value,
            state.streak,
            _iso(state.streak_since) if state.streak_since else None,
        ),
    )
