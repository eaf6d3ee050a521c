"""A night's work queue in the PostgreSQL history: the due URLs of a run, grouped by
registrable domain, which workers lease.

A lease is a row: which worker holds the domain and until when (the server's clock, so
machines need not agree on time). Workers take free or expired rows with
``FOR UPDATE SKIP LOCKED`` (two workers never wait on, nor take, the same row), renew what
they hold with a heartbeat, and store each result only while they still hold its domain
(``record``: the observation and, with a domain's last URL, the lease's release commit
together). A worker that dies stops renewing: its domains expire and another takes them,
with the URLs it had not stored yet.

The tables belong to the queue, not to the history's migrations: they are created (if
missing) by whoever uses the queue first, under an advisory lock.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from verifier.errors import ConfigError
from verifier.history.postgres import PostgresEngine
from verifier.history.store import History
from verifier.models import FAILING_VERDICTS, Observation
from verifier.urls import request_host
from verifier.workers.domains import registrable_domain

_SCHEMA_KEY = 0x7665726966690003
_FAILING = sorted(verdict.value for verdict in FAILING_VERDICTS)
_CANDIDATES = 256
"""Rows one lease call locks while it picks (others skip them meanwhile, for a moment)."""

SCHEMA = """
    CREATE TABLE IF NOT EXISTS work_domains (
        run_id BIGINT NOT NULL,
        domain TEXT NOT NULL,
        urls INTEGER NOT NULL,
        worker TEXT,                    -- who holds the lease, if anyone
        expires_at TIMESTAMPTZ,         -- when it lapses unless renewed
        done BOOLEAN NOT NULL DEFAULT false,
        PRIMARY KEY (run_id, domain)
    );
    CREATE TABLE IF NOT EXISTS work_urls (
        run_id BIGINT NOT NULL,
        url TEXT NOT NULL,
        domain TEXT NOT NULL,
        PRIMARY KEY (run_id, url)
    );
    CREATE INDEX IF NOT EXISTS work_urls_by_domain ON work_urls (run_id, domain);
    CREATE TABLE IF NOT EXISTS work_flags (
        run_id BIGINT NOT NULL,
        worker TEXT NOT NULL,
        outage TEXT NOT NULL,           -- a worker saw the network down
        PRIMARY KEY (run_id, worker)
    );
    CREATE TABLE IF NOT EXISTS host_tokens (
        host TEXT PRIMARY KEY,          -- the one worker that may send requests to it
        worker TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    )
"""


@dataclass(frozen=True, slots=True)
class Lease:
    domain: str
    urls: int
    seconds_left: float
    """How long the lease holds from when it was taken (the server's count)."""


class WorkQueue:
    """The queue over a history's PostgreSQL engine."""

    def __init__(self, store: History) -> None:
        if not isinstance(store.engine, PostgresEngine):
            raise ConfigError(
                "workers share a night through a PostgreSQL history: set [history] url "
                "(or $VERIFIER_HISTORY_URL) to a postgresql:// URL"
            )
        self._store = store
        self._engine = store.engine
        self._db = store.engine.sql
        with self._engine.transaction() as sql:
            sql.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_KEY,))
            for statement in SCHEMA.split(";"):
                sql.execute(statement)

    # -- the coordinator -------------------------------------------------------------------

    def publish(self, run_id: int, urls: Iterable[str]) -> int:
        """Queue ``urls`` for run ``run_id`` (again after a restart: nothing twice); returns
        how many domains have work."""
        by_domain: dict[str, list[str]] = defaultdict(list)
        for url in dict.fromkeys(urls):
            by_domain[registrable_domain(request_host(url))].append(url)
        with self._engine.transaction() as sql:
            sql.executemany(
                "INSERT INTO work_urls (run_id, url, domain) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(run_id, url, domain) for domain, urls in by_domain.items() for url in urls],
            )
            sql.executemany(
                "INSERT INTO work_domains (run_id, domain, urls) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(run_id, domain, len(urls)) for domain, urls in by_domain.items()],
            )
        return len(by_domain)

    def domains_left(self, run_id: int) -> int:
        (left,) = self._db.execute(
            "SELECT COUNT(*) FROM work_domains WHERE run_id = ? AND NOT done", (run_id,)
        ).fetchone()
        return int(left)

    def results(self, run_id: int) -> tuple[int, int]:
        """How many observations the run holds, and how many of them failed."""
        checked, failed = self._db.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE verdict = ANY(?)) FROM observations "
            "WHERE run_id = ?",
            (_FAILING, run_id),
        ).fetchone()
        return int(checked), int(failed)

    def outage(self, run_id: int) -> str | None:
        row = self._db.execute(
            "SELECT outage FROM work_flags WHERE run_id = ? ORDER BY worker LIMIT 1", (run_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def close_run(self, run_id: int) -> None:
        """The run is over (finished, or an outage): nothing more is leased or stored."""
        with self._engine.transaction() as sql:
            sql.execute(
                "UPDATE work_domains SET done = true, worker = NULL WHERE run_id = ?", (run_id,)
            )

    def forget(self, before_run: int) -> None:
        """Drop the queue rows of runs before ``before_run``."""
        with self._engine.transaction() as sql:
            sql.execute("DELETE FROM work_urls WHERE run_id < ?", (before_run,))
            sql.execute("DELETE FROM work_domains WHERE run_id < ?", (before_run,))
            sql.execute("DELETE FROM work_flags WHERE run_id < ?", (before_run,))

    # -- a worker ----------------------------------------------------------------------------

    def open_run(self) -> int | None:
        """The newest run still running with domains not done, if any."""
        row = self._db.execute(
            "SELECT r.id FROM runs r WHERE r.state = 'running' AND EXISTS ("
            " SELECT 1 FROM work_domains d WHERE d.run_id = r.id AND NOT d.done) "
            "ORDER BY r.id DESC LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else None

    def lease(self, run_id: int, worker: str, *, max_urls: int, ttl: float) -> list[Lease]:
        """Free or lapsed domains of the run, the biggest first, up to about ``max_urls``
        URLs (at least one domain, whatever its size)."""
        rows = self._db.execute(
            "WITH free AS ("
            " SELECT domain, urls FROM work_domains WHERE run_id = ? AND NOT done"
            " AND (worker IS NULL OR expires_at < clock_timestamp())"
            " ORDER BY urls DESC, domain LIMIT ? FOR UPDATE SKIP LOCKED"
            "), ranked AS ("
            " SELECT domain, SUM(urls) OVER (ORDER BY urls DESC, domain) - urls AS before"
            " FROM free"
            ") UPDATE work_domains d SET worker = ?, "
            "expires_at = clock_timestamp() + make_interval(secs => ?) "
            "FROM ranked WHERE d.run_id = ? AND d.domain = ranked.domain AND ranked.before < ? "
            "RETURNING d.domain, d.urls, "
            "EXTRACT(EPOCH FROM d.expires_at - clock_timestamp())",
            (run_id, _CANDIDATES, worker, ttl, run_id, max_urls),
        ).fetchall()
        return [Lease(domain, int(urls), float(left)) for domain, urls, left in rows]

    def renew(self, run_id: int, worker: str, ttl: float) -> set[str]:
        """Extend the worker's unexpired leases; returns the domains it still holds."""
        rows = self._db.execute(
            "UPDATE work_domains SET expires_at = clock_timestamp() + make_interval(secs => ?) "
            "WHERE run_id = ? AND worker = ? AND NOT done AND expires_at > clock_timestamp() "
            "RETURNING domain",
            (ttl, run_id, worker),
        ).fetchall()
        return {row[0] for row in rows}

    def urls_left(self, run_id: int, domains: Sequence[str]) -> list[str]:
        """The URLs of ``domains`` that the run has not stored yet."""
        if not domains:
            return []
        return [
            row[0]
            for row in self._db.execute(
                "SELECT w.url FROM work_urls w WHERE w.run_id = ? AND w.domain = ANY(?) "
                "AND NOT EXISTS (SELECT 1 FROM observations o "
                "  WHERE o.run_id = w.run_id AND o.url = w.url) ORDER BY w.url",
                (run_id, list(domains)),
            )
        ]

    def record(
        self,
        run_id: int,
        worker: str,
        domain: str,
        observation: Observation,
        *,
        provisional: bool,
        last: bool,
    ) -> bool:
        """Store ``observation`` if the worker still holds ``domain`` (and, when it is the
        domain's ``last`` URL, mark the domain done in the same transaction); False when the
        lease was lost, and nothing is stored."""
        with self._engine.transaction() as sql:
            held = sql.execute(
                "SELECT 1 FROM work_domains WHERE run_id = ? AND domain = ? AND worker = ? "
                "AND NOT done AND expires_at > clock_timestamp() FOR UPDATE",
                (run_id, domain, worker),
            ).fetchone()
            if held is None:
                return False
            self._store.record(run_id, [observation], provisional=provisional)
            if last:
                sql.execute(
                    "UPDATE work_domains SET done = true, worker = NULL "
                    "WHERE run_id = ? AND domain = ?",
                    (run_id, domain),
                )
        return True

    def finish_domain(self, run_id: int, worker: str, domain: str) -> None:
        """Nothing of ``domain`` was left to check (all stored before the lease)."""
        with self._engine.transaction() as sql:
            sql.execute(
                "UPDATE work_domains SET done = true, worker = NULL "
                "WHERE run_id = ? AND domain = ? AND worker = ?",
                (run_id, domain, worker),
            )

    def give_back(self, run_id: int, worker: str) -> None:
        """Release the worker's unfinished leases now (a worker stopping on purpose), so
        others need not wait for them to lapse."""
        with self._engine.transaction() as sql:
            sql.execute(
                "UPDATE work_domains SET worker = NULL, expires_at = NULL "
                "WHERE run_id = ? AND worker = ? AND NOT done",
                (run_id, worker),
            )

    def flag_outage(self, run_id: int, worker: str, reason: str) -> None:
        with self._engine.transaction() as sql:
            sql.execute(
                "INSERT INTO work_flags (run_id, worker, outage) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (run_id, worker, reason),
            )

    # -- host tokens -----------------------------------------------------------------------

    def take_host(self, host: str, worker: str, ttl: float) -> float | None:
        """The token for ``host`` (free, lapsed, or the worker's own, renewed): seconds it
        holds, or None while another worker holds it."""
        row = self._db.execute(
            "INSERT INTO host_tokens (host, worker, expires_at) "
            "VALUES (?, ?, clock_timestamp() + make_interval(secs => ?)) "
            "ON CONFLICT (host) DO UPDATE SET worker = excluded.worker, "
            "expires_at = excluded.expires_at "
            "WHERE host_tokens.worker = excluded.worker "
            "OR host_tokens.expires_at < clock_timestamp() "
            "RETURNING EXTRACT(EPOCH FROM expires_at - clock_timestamp())",
            (host, worker, ttl),
        ).fetchone()
        return float(row[0]) if row else None

    def renew_hosts(self, worker: str, hosts: Sequence[str], ttl: float) -> dict[str, float]:
        """Extend the worker's unexpired tokens among ``hosts``: seconds each now holds."""
        if not hosts:
            return {}
        rows = self._db.execute(
            "UPDATE host_tokens SET expires_at = clock_timestamp() + make_interval(secs => ?) "
            "WHERE worker = ? AND host = ANY(?) AND expires_at > clock_timestamp() "
            "RETURNING host, EXTRACT(EPOCH FROM expires_at - clock_timestamp())",
            (ttl, worker, list(hosts)),
        ).fetchall()
        return {host: float(left) for host, left in rows}

    def release_hosts(self, worker: str, hosts: Sequence[str]) -> None:
        if hosts:
            self._db.execute(
                "DELETE FROM host_tokens WHERE worker = ? AND host = ANY(?)",
                (worker, list(hosts)),
            )

    def server_now(self) -> dt.datetime:
        (now,) = self._db.execute("SELECT clock_timestamp()").fetchone()
        return now  # type: ignore[no-any-return]
