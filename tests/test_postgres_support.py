"""The PostgreSQL test fixtures give a real server: an empty database per test, dropped after,
and the row locking the workers claim work with (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import psycopg
import pytest

from tests.postgres_support import PostgresServer

SEEN: list[str] = []
"""The databases of the earlier ``test_each_test_gets_its_own_database`` runs."""


def test_a_fresh_empty_database(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        (name,) = conn.execute("SELECT current_database()").fetchone() or ("",)
        assert name.startswith("verifier_test_")
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO notes (body) VALUES (%s), (%s)", ("one", "two"))
    with psycopg.connect(postgres_url) as conn:  # committed: a new connection reads them back
        rows = conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
    assert rows == [(1, "one"), (2, "two")]


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_its_own_database(
    postgres_server: PostgresServer, postgres_url: str, run: int
) -> None:
    with psycopg.connect(postgres_url) as conn:
        (name,) = conn.execute("SELECT current_database()").fetchone() or ("",)
        # Nothing left by another test (each creates this table).
        conn.execute("CREATE TABLE marker (run int NOT NULL)")
        conn.execute("INSERT INTO marker VALUES (%s)", (run,))
    assert name not in SEEN
    with postgres_server.connect() as admin:
        existing = {row[0] for row in admin.execute("SELECT datname FROM pg_database")}
    assert name in existing
    assert not existing.intersection(SEEN)  # the earlier tests' databases were dropped
    SEEN.append(name)


def test_skip_locked_passes_over_a_claimed_row(postgres_url: str) -> None:
    claim = "SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    with psycopg.connect(postgres_url) as setup:
        setup.execute("CREATE TABLE jobs (id int PRIMARY KEY)")
        setup.execute("INSERT INTO jobs SELECT generate_series(1, 3)")
    with psycopg.connect(postgres_url) as first, psycopg.connect(postgres_url) as second:
        assert first.execute(claim).fetchone() == (1,)  # first's transaction holds row 1
        assert second.execute(claim).fetchone() == (2,)  # ... so second skips it
        with pytest.raises(psycopg.errors.LockNotAvailable):
            second.execute("SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT")
        second.rollback()
        first.commit()  # row 1 released
        assert second.execute(claim).fetchone() == (1,)
        second.rollback()
