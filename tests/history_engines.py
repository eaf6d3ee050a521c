"""``open_store``: the history store tests run once per engine, SQLite and PostgreSQL (a
pytest plugin, loaded by ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from verifier.history.postgres import PostgresEngine
from verifier.history.store import MIGRATIONS, History, SQLiteHistory

OpenStore = Callable[[], History]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Opens the test's history (the same one each call, as a reopened file would be)."""
    if request.param == "sqlite":
        path = tmp_path / "h.sqlite3"
        return lambda: SQLiteHistory(path)
    url: str = request.getfixturevalue("postgres_url")
    return lambda: History(PostgresEngine(url, MIGRATIONS))
