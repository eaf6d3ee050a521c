"""What the history keeps: raw observations only as long as they can decide something.

A URL's status reads the observations of the last ``lookback_days``; whether it is due reads
its latest one. Older observations decide nothing, so a nightly run drops them, keeping
each URL's latest whatever its age: a year of nights stays a bounded file.
"""

from __future__ import annotations

import datetime as dt
import sqlite3


def prune_observations(db: sqlite3.Connection, before: dt.datetime) -> int:
    """Delete settled observations checked before ``before``, except each URL's latest;
    returns how many (inside the caller's transaction)."""
    cursor = db.execute(
        "DELETE FROM observations WHERE provisional = 0 AND checked_at < ? AND id NOT IN ("
        " SELECT o.id FROM observations o WHERE o.provisional = 0 AND o.checked_at = ("
        "  SELECT MAX(checked_at) FROM observations WHERE url = o.url AND provisional = 0))",
        (before.astimezone(dt.UTC).isoformat(),),
    )
    return cursor.rowcount
