"""What the history keeps: raw observations only as long as they can decide something.

A URL's status and whether it is due read its state row (``url_state``: its latest
observation and streak of failures), never the old observations: those are kept for
``lookback_days`` (for whoever reads the history by hand), then a nightly run drops them,
keeping each URL's latest whatever its age. A year of nights stays a bounded file.
"""

from __future__ import annotations

import datetime as dt

from verifier.history.engine import Sql

MIGRATION = """
    CREATE INDEX observations_by_time ON observations (checked_at);
    CREATE INDEX url_state_by_observation ON url_state (observation_id);
"""
"""Migration 6: the prune finds old observations by time, and deleting one checks the state
table's reference to it by index (without these a night's prune scanned the observations
once and ``url_state`` once per deleted row: half a second a night after the first
``lookback_days``)."""


def prune_observations(db: Sql, before: dt.datetime) -> int:
    """Delete settled observations checked before ``before``, except each URL's latest;
    returns how many (inside the caller's transaction)."""
    cursor = db.execute(
        "DELETE FROM observations WHERE provisional = 0 AND checked_at < ? "
        "AND id NOT IN (SELECT observation_id FROM url_state)",
        (before.astimezone(dt.UTC).isoformat(),),
    )
    return cursor.rowcount
