"""What the history store needs from a database engine, and the embedded one, SQLite.

The store's SQL is written once, with ``?`` placeholders, in the dialect SQLite and
PostgreSQL share (``INSERT … ON CONFLICT``, ``RETURNING``, ISO-8601 text for times, which
sorts as time does). An engine runs it: a connection (``Sql``), transactions, its own
numbered migrations, and the lock that keeps two nightly runs from overlapping.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from verifier.history.lock import RunLock


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...
    @property
    def rowcount(self) -> int: ...


class Sql(Protocol):
    """A connection that runs the store's SQL (``?`` placeholders)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...


Migration = str | Callable[[Sql], None]
"""A script of statements separated by ``;``, or a function given the connection (inside
the migration's transaction)."""


class Engine(Protocol):
    sql: Sql
    migrations: Sequence[Migration]
    skip_locked: str
    """What makes a ``SELECT`` of queue rows skip those other transactions hold ("" where a
    write transaction holds the whole database)."""

    def transaction(self) -> contextlib.AbstractContextManager[Sql]: ...
    def schema_version(self) -> int: ...
    def migrate(self) -> None: ...
    def run_lock(self) -> contextlib.AbstractContextManager[object]: ...
    def close(self) -> None: ...


_CHUNK = 500
"""Keys per ``IN (…)`` list: far below SQLite's and psycopg's parameter limits."""


def rows_for_keys(sql: Sql, query: str, keys: Iterable[Any]) -> Iterator[Any]:
    """The rows of ``query`` for ``keys``: its ``{keys}`` becomes an ``IN`` list of
    placeholders, ``_CHUNK`` keys at a time (so the table is read by index, never scanned,
    however big it grows)."""
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        yield from sql.execute(query.format(keys=", ".join("?" * len(chunk))), chunk)


def run_script(sql: Sql, script: Migration) -> None:
    if callable(script):
        script(sql)
        return
    for statement in script.split(";"):
        if statement.strip():
            sql.execute(statement)


class SQLiteEngine:
    """One SQLite file in WAL mode (readers never block the nightly writer); the schema
    version is ``PRAGMA user_version``; the run lock an OS lock on a file beside it."""

    skip_locked = ""

    def __init__(self, path: Path, migrations: Sequence[Migration]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.migrations = migrations
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.sql: Sql = self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Sql]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error), in autocommit mode."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        version = self.schema_version()
        for number, script in enumerate(self.migrations[version:], start=version + 1):
            with self.transaction() as sql:
                run_script(sql, script)
                sql.execute(f"PRAGMA user_version = {number}")

    def run_lock(self) -> RunLock:
        return RunLock(self.path.with_name(self.path.name + ".lock"))

    def close(self) -> None:
        self._db.close()
