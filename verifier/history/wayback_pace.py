"""The Wayback Machine's per-minute budgets shared by every process of a PostgreSQL history.

The service's limits are per account (per address, anonymously), not per process: two
``verifier`` processes on one account, each keeping to 24 CDX lookups a minute, would send
48. On a PostgreSQL history the schedule of each endpoint family is a row — when its next
request may start — and a process books a start by moving the row on one interval: the
schedule ``verifier.web.pacing.Pacer`` keeps in memory, kept on the server's clock (machines
need not agree on time). A 429 moves the row past the cool-down, for everyone. A process
holds at most one booking per family at a time (``BookedPacer``), so a stopped process
wastes at most one start.

The account's daily capture cap needs no row: the service counts it (``/save/status/user``)
and refuses a capture over it with an answer the saver stops on.

The table belongs to this module, not to the history's migrations (SQLite histories, one
process at a time, pace in memory): it is created, if missing, by whoever paces first.
"""

from __future__ import annotations

from verifier.history.engine import Sql
from verifier.history.postgres import PostgresEngine

_SCHEMA_KEY = 0x7665726966690004

SCHEMA = """
    CREATE TABLE IF NOT EXISTS wayback_pace (
        key TEXT PRIMARY KEY,           -- account and endpoint family: anonymous/cdx
        next_at TIMESTAMPTZ NOT NULL    -- when the family's next request may start
    )
"""


class PaceBook:
    """The shared schedules (``verifier.web.pacing.Schedule``), keyed by account and family
    (``WaybackClient`` names them), on one PostgreSQL connection (autocommit)."""

    def __init__(self, engine: PostgresEngine) -> None:
        self._db: Sql = engine.sql
        with engine.transaction() as sql:
            sql.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_KEY,))
            sql.execute(SCHEMA)

    def book(self, key: str, interval: float) -> float:
        (wait,) = self._db.execute(
            "INSERT INTO wayback_pace (key, next_at) "
            "VALUES (?, clock_timestamp() + make_interval(secs => ?)) "
            "ON CONFLICT (key) DO UPDATE SET next_at = "
            "GREATEST(wayback_pace.next_at, clock_timestamp()) + make_interval(secs => ?) "
            "RETURNING EXTRACT(EPOCH FROM next_at - clock_timestamp())",
            (key, interval, interval),
        ).fetchone()
        return max(0.0, float(wait) - interval)

    def cool_down(self, key: str, seconds: float) -> None:
        self._db.execute(
            "INSERT INTO wayback_pace (key, next_at) "
            "VALUES (?, clock_timestamp() + make_interval(secs => ?)) "
            "ON CONFLICT (key) DO UPDATE SET next_at = "
            "GREATEST(wayback_pace.next_at, excluded.next_at)",
            (key, seconds),
        )


def shared_pace(store: object) -> PaceBook | None:
    """The shared schedules of ``store``'s history when it is a PostgreSQL one (else None:
    a SQLite history is one process's, which paces in memory)."""
    engine = getattr(store, "engine", None)
    return PaceBook(engine) if isinstance(engine, PostgresEngine) else None
