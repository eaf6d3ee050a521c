"""The history store: URLs, every observation, archive records and runs.

One store (``History``) over two engines (``history.engine``): SQLite, one file whose path
is in config (the default), and PostgreSQL (``history.postgres``) for several machines.
Schema changes are numbered migrations applied in order on open, the same list for both.
``open_history`` opens what the config names.

Observations are unique per (run, URL): a run killed halfway and resumed never counts a
URL twice. Observations made during a detected network outage are never kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, Self

from verifier.citation.judge import CaptureHead
from verifier.config import Settings
from verifier.history import pages, retention, url_state
from verifier.history.engine import Engine, Migration, Sql, SQLiteEngine
from verifier.history.pages import attach_pages
from verifier.history.status import UrlState
from verifier.history.url_state import OBSERVATION_COLUMNS, observation
from verifier.models import ArchiveInfo, Observation
from verifier.web.soft404 import ProbeFacts

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the first schema
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        state TEXT NOT NULL,           -- running | complete | interrupted | outage
        summary TEXT                   -- JSON figures of the run
    );
    CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        url TEXT NOT NULL,
        checked_at TEXT NOT NULL,
        verdict TEXT NOT NULL,
        http_status INTEGER,
        final_url TEXT,
        attempts INTEGER NOT NULL,
        detail TEXT NOT NULL,
        failure TEXT,
        UNIQUE (run_id, url)
    );
    CREATE INDEX observations_by_url ON observations (url, checked_at);
    CREATE TABLE archive (
        key TEXT PRIMARY KEY,          -- normalised URL, or URL + claimed archive link
        record TEXT NOT NULL,          -- ArchiveInfo as JSON
        updated_at TEXT NOT NULL
    );
    """,
    # 2: connection-level failures are kept, provisionally, until the run rules out an
    # outage (so a killed run loses none of them), and only then count as history
    """
    ALTER TABLE observations ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: what a random sibling path answered, per site section (the soft-404 probe), so a
    # later run need not ask again
    """
    CREATE TABLE probes (
        key TEXT PRIMARY KEY,          -- origin + section prefix, e.g. https://host/news/
        status INTEGER NOT NULL,
        url TEXT NOT NULL,             -- where the probe ended (after redirects)
        title TEXT,
        fingerprint TEXT NOT NULL,     -- JSON list of shingle hashes
        checked_at TEXT NOT NULL
    );
    """,
    # 4: what each live page says about itself (title, site name, dates) and the heads of
    # Wayback captures read, for the citation check
    pages.MIGRATION,
    # 5: each URL's newest settled observation and streak of failures, so a night reads one
    # row per URL instead of the whole history
    url_state.migrate,
    # 6: indexes for the nightly prune
    retention.MIGRATION,
)


class RunState(StrEnum):
    """Where a run stands (the ``runs.state`` column)."""

    RUNNING = "running"
    COMPLETE = "complete"  # every due URL checked, reports written
    INTERRUPTED = "interrupted"  # stopped or killed: the next start resumes it
    OUTAGE = "outage"  # the network was down: nothing judged, reports left as they were


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    started_at: dt.datetime
    state: RunState
    finished_at: dt.datetime | None = None


class HistoryStore(Protocol):
    """What the pipeline needs from a history engine."""

    def start_run(self, now: dt.datetime) -> tuple[RunRecord, bool]: ...
    def finish_run(
        self, run_id: int, state: RunState, now: dt.datetime, summary: dict[str, Any]
    ) -> None: ...
    def record(self, run_id: int, observations: Iterable[Observation]) -> None: ...
    def observed_in_run(self, run_id: int) -> set[str]: ...
    def histories(
        self, urls: Iterable[str], since: dt.datetime
    ) -> dict[str, list[Observation]]: ...
    def latest(self, urls: Iterable[str], *, pages: bool = True) -> dict[str, Observation]: ...
    def states(self, urls: Iterable[str]) -> dict[str, UrlState]: ...
    def last_successful_run(self) -> RunRecord | None: ...
    def runs(self) -> list[RunRecord]: ...
    def get(self, url: str) -> ArchiveInfo | None: ...
    def put(self, url: str, info: ArchiveInfo) -> None: ...
    def get_probe(self, key: str) -> ProbeFacts | None: ...
    def put_probe(self, key: str, facts: ProbeFacts) -> None: ...
    def close(self) -> None: ...


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


HISTORY_URL_VARIABLE = "VERIFIER_HISTORY_URL"
"""Where a PostgreSQL history's URL may come from instead of the config file (it may hold a
password)."""


def history_url(settings: Settings) -> str | None:
    """The PostgreSQL URL the settings (or the environment) name, or None for SQLite."""
    return settings.history.url or os.environ.get(HISTORY_URL_VARIABLE) or None


def history_exists(settings: Settings) -> bool:
    """Whether there is a history to read (a PostgreSQL one always is)."""
    return history_url(settings) is not None or settings.resolve(settings.history.path).is_file()


def open_history(settings: Settings) -> History:
    """The history the settings name: PostgreSQL when a URL is set, else the SQLite file."""
    url = history_url(settings)
    if url is not None:
        from verifier.history.postgres import PostgresEngine  # noqa: PLC0415 (optional psycopg)

        return History(PostgresEngine(url, MIGRATIONS))
    return SQLiteHistory(settings.resolve(settings.history.path))


class History:
    """``HistoryStore`` on an engine (``SQLiteHistory``: on one SQLite file)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._db = engine.sql
        engine.migrate()

    def _transaction(self) -> contextlib.AbstractContextManager[Sql]:
        return self._engine.transaction()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def schema_version(self) -> int:
        return self._engine.schema_version()

    def run_lock(self) -> contextlib.AbstractContextManager[object]:
        """Held while a nightly run works: a second run is refused (``RunLockedError``)."""
        return self._engine.run_lock()

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, now: dt.datetime) -> tuple[RunRecord, bool]:
        """A new run, or the run left ``running``/``interrupted`` by a crash (resumed=True)."""
        row = self._db.execute(
            "SELECT id, started_at, state FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is not None and row[2] in ("running", "interrupted"):
            with self._transaction():
                self._db.execute("UPDATE runs SET state = 'running' WHERE id = ?", (row[0],))
            return RunRecord(row[0], _when(row[1]), RunState.RUNNING), True
        with self._transaction():
            (run_id,) = self._db.execute(
                "INSERT INTO runs (started_at, state) VALUES (?, 'running') RETURNING id",
                (_iso(now),),
            ).fetchone()
        return RunRecord(int(run_id), now, RunState.RUNNING), False

    def finish_run(
        self, run_id: int, state: RunState, now: dt.datetime, summary: dict[str, Any]
    ) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET state = ?, finished_at = ?, summary = ? WHERE id = ?",
                (state, _iso(now), json.dumps(summary), run_id),
            )

    def runs(self) -> list[RunRecord]:
        return [
            RunRecord(row[0], _when(row[1]), RunState(row[2]), _when(row[3]) if row[3] else None)
            for row in self._db.execute(
                "SELECT id, started_at, state, finished_at FROM runs ORDER BY id"
            )
        ]

    def last_successful_run(self) -> RunRecord | None:
        complete = [run for run in self.runs() if run.state is RunState.COMPLETE]
        return complete[-1] if complete else None

    # -- observations ----------------------------------------------------------------------

    def record(
        self, run_id: int, observations: Iterable[Observation], *, provisional: bool = False
    ) -> None:
        """Store observations of a run; a URL already observed in this run is kept as is.

        ``provisional`` ones (connection-level failures, until the run has ruled out a
        network outage) count as done for a resumed run but are not history yet:
        ``settle_provisional`` keeps or drops them. Page facts are kept beside them.
        """
        observations = list(observations)
        with self._transaction():
            for o in observations:
                inserted = self._db.execute(
                    "INSERT INTO observations (run_id, url, checked_at, verdict, "
                    "http_status, final_url, attempts, detail, failure, provisional) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (run_id, url) DO NOTHING RETURNING id",
                    (
                        run_id,
                        o.url,
                        _iso(o.checked_at),
                        o.verdict.value,
                        o.http_status,
                        o.final_url,
                        o.attempts,
                        o.detail,
                        o.failure,
                        int(provisional),
                    ),
                ).fetchone()
                if inserted is not None and not provisional:
                    url_state.settled(self._db, int(inserted[0]), o)
            pages.put_pages(self._db, observations)

    def settle_provisional(self, run_id: int, *, keep: bool) -> None:
        """The run ruled out an outage (``keep``: they become history) or found one (they
        are forgotten: nothing observed during an outage is stored)."""
        with self._transaction():
            if keep:
                rows = self._db.execute(
                    f"SELECT o.id, {OBSERVATION_COLUMNS} FROM observations o "
                    "WHERE o.run_id = ? AND o.provisional = 1 ORDER BY o.checked_at",
                    (run_id,),
                ).fetchall()
                self._db.execute(
                    "UPDATE observations SET provisional = 0 WHERE run_id = ? AND provisional = 1",
                    (run_id,),
                )
                for row in rows:
                    url_state.settled(self._db, row[0], observation(row[1:]))
            else:
                self._db.execute(
                    "DELETE FROM observations WHERE run_id = ? AND provisional = 1", (run_id,)
                )

    def prune(self, before: dt.datetime) -> int:
        """Drop observations that can no longer decide a status (``retention``)."""
        with self._transaction():
            return retention.prune_observations(self._db, before)

    def run_observations(self, run_id: int) -> list[Observation]:
        """Everything a run has observed so far, provisional included (a resumed run's
        outage watch starts from it)."""
        return [
            observation(row)
            for row in self._db.execute(
                "SELECT url, checked_at, verdict, http_status, final_url, attempts, detail, "
                "failure FROM observations WHERE run_id = ?",
                (run_id,),
            )
        ]

    def observed_in_run(self, run_id: int) -> set[str]:
        return {
            row[0]
            for row in self._db.execute("SELECT url FROM observations WHERE run_id = ?", (run_id,))
        }

    def histories(self, urls: Iterable[str], since: dt.datetime) -> dict[str, list[Observation]]:
        """Observations of ``urls`` since ``since``, oldest first."""
        wanted = set(urls)
        result: dict[str, list[Observation]] = defaultdict(list)
        for row in self._db.execute(
            "SELECT url, checked_at, verdict, http_status, final_url, attempts, detail, failure "
            "FROM observations WHERE checked_at >= ? AND provisional = 0 ORDER BY checked_at",
            (_iso(since),),
        ):
            if row[0] in wanted:
                result[row[0]].append(observation(row))
        return dict(result)

    def latest(self, urls: Iterable[str], *, pages: bool = True) -> dict[str, Observation]:
        """The newest observation of each of ``urls`` that has one, with the page facts read
        with it (``pages=False``: without, for planning that never reads them)."""
        result = url_state.latest(self._db, urls)
        if pages:
            attach_pages(self._db, result)
        return result

    def states(self, urls: Iterable[str]) -> dict[str, UrlState]:
        """What decides each URL's status (its newest check, its streak of failures)."""
        return url_state.states(self._db, urls)

    def status_history(self) -> list[tuple[RunRecord, dict[str, int]]]:
        """Each finished run's totals of source statuses (from its stored figures), for the
        chart of status over time."""
        points = []
        for run_id, started_at, state, summary in self._db.execute(
            "SELECT id, started_at, state, summary FROM runs ORDER BY id"
        ):
            figures = json.loads(summary) if summary else {}
            statuses = figures.get("statuses") if isinstance(figures, dict) else None
            if state in (RunState.COMPLETE, RunState.INTERRUPTED) and isinstance(statuses, dict):
                points.append((RunRecord(run_id, _when(started_at), RunState(state)), statuses))
        return points

    # -- archive records (the ``ArchiveStore`` protocol) -----------------------------------

    def get(self, url: str) -> ArchiveInfo | None:
        row = self._db.execute("SELECT record FROM archive WHERE key = ?", (url,)).fetchone()
        return ArchiveInfo.model_validate_json(row[0]) if row else None

    def put(self, url: str, info: ArchiveInfo) -> None:
        now = _iso(dt.datetime.now(dt.UTC))
        with self._transaction():
            self._db.execute(
                "INSERT INTO archive (key, record, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET record = excluded.record, "
                "updated_at = excluded.updated_at",
                (url, info.model_dump_json(), now),
            )

    # -- heads of Wayback captures (the citation check's ``CaptureHeads`` protocol) -----------

    def get_capture_head(self, capture: str) -> CaptureHead | None:
        return pages.get_capture_head(self._db, capture)

    def put_capture_head(self, head: CaptureHead, now: dt.datetime) -> None:
        with self._transaction():
            pages.put_capture_head(self._db, head, now)

    # -- soft-404 probes (the checker's ``ProbeCache`` protocol) ---------------------------

    def get_probe(self, key: str) -> ProbeFacts | None:
        row = self._db.execute(
            "SELECT status, url, title, fingerprint, checked_at FROM probes WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        status, url, title, fingerprint, checked_at = row
        return ProbeFacts(status, url, title, tuple(json.loads(fingerprint)), _when(checked_at))

    def put_probe(self, key: str, facts: ProbeFacts) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO probes (key, status, url, title, fingerprint, checked_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "status = excluded.status, url = excluded.url, title = excluded.title, "
                "fingerprint = excluded.fingerprint, checked_at = excluded.checked_at",
                (
                    key,
                    facts.status,
                    facts.url,
                    facts.title,
                    json.dumps(list(facts.fingerprint)),
                    _iso(facts.checked_at),
                ),
            )


class SQLiteHistory(History):
    """The history in one SQLite file (WAL)."""

    def __init__(self, path: Path) -> None:
        super().__init__(SQLiteEngine(path, MIGRATIONS))
