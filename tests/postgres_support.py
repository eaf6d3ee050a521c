"""A real PostgreSQL server for the tests (a pytest plugin, loaded by ``tests/conftest.py``).

The server is ``$VERIFIER_TEST_POSTGRES`` (a ``postgresql://`` URL; ``.ci/run`` sets it from
``.ci/postgres``), else a throwaway cluster started by ``.ci/postgres`` for the test session
when this machine has the PostgreSQL server binaries. Tests take ``postgres_url``, the URL of a
fresh empty database of their own, or carry ``@pytest.mark.postgres`` (added to every test that
uses the fixtures): without a server they skip on a workstation and fail in CI (``CI`` set)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import TupleRow

REPO = Path(__file__).resolve().parents[1]
START_SCRIPT = REPO / ".ci" / "postgres"
ENV_URL = "VERIFIER_TEST_POSTGRES"
FIXTURES = frozenset({"postgres_server", "postgres_url"})


@dataclass(frozen=True)
class PostgresServer:
    """A running server: ``url`` reaches its ``postgres`` database as a superuser."""

    url: str

    def connect(self) -> psycopg.Connection[TupleRow]:
        """An autocommit connection to the server's own database (for CREATE DATABASE)."""
        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def database_url(self, name: str) -> str:
        """The URL of database ``name`` on this server."""
        return urlsplit(self.url)._replace(path=f"/{name}").geturl()


def server_bindir() -> Path | None:
    """Where ``pg_ctl`` and ``initdb`` are (the same choice as ``.ci/postgres``), or None."""
    ctl, initdb = shutil.which("pg_ctl"), shutil.which("initdb")
    if ctl and initdb:
        return Path(ctl).resolve().parent
    found = [
        path
        for path in Path("/usr/lib/postgresql").glob("*/bin")
        if (path / "pg_ctl").is_file() and (path / "initdb").is_file()
    ]
    return max(found, key=lambda path: _version_key(path.parent.name), default=None)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def postgres_missing() -> str | None:
    """Why no server can be had, or None when ``$VERIFIER_TEST_POSTGRES`` or binaries exist."""
    if os.environ.get(ENV_URL) or server_bindir() is not None:
        return None
    return (
        f"no PostgreSQL server: set {ENV_URL} to a server URL, or install the server "
        "(pg_ctl, initdb) so the tests start one"
    )


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it in CI: a CI run never passes without the postgres tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the postgres tests", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the server fixtures are ``postgres`` tests (so ``-m`` selects them)."""
    for item in items:
        if FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.postgres`` tests need a server: skip without one, fail in CI."""
    if item.get_closest_marker("postgres") is None:
        return
    missing = postgres_missing()
    if missing is not None:
        unavailable(missing)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_owner(command: list[str]) -> list[str]:
    """``command`` run as the cluster's owner: postgres when we are root (see .ci/postgres)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[PostgresServer]:
    """A cluster that ``.ci/postgres`` starts in a temp dir on a free port; removed after."""
    folder = Path(tempfile.mkdtemp(prefix="verifier-pg-"))
    data = folder / "data"
    try:
        for _attempt in range(3):  # a free port can be taken before the server binds it
            started = subprocess.run(
                [str(START_SCRIPT), str(folder)],
                env={**os.environ, "VERIFIER_PG_PORT": str(_free_port())},
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            if started.returncode == 0:
                break
        else:
            pytest.fail(f".ci/postgres did not start a server:\n{started.stderr}", pytrace=False)
        yield PostgresServer(started.stdout.strip().splitlines()[-1])
    finally:
        stopped = None
        if (data / "postmaster.pid").exists():
            stop = [str(bindir / "pg_ctl"), "-D", str(data), "-s", "-w", "stop", "-m", "immediate"]
            stopped = subprocess.run(
                _as_owner(stop), capture_output=True, text=True, timeout=60, check=False
            )
        shutil.rmtree(folder, ignore_errors=True)
        if stopped is not None and stopped.returncode != 0:
            pytest.fail(f"pg_ctl stop failed in {data}:\n{stopped.stderr}", pytrace=False)


def _check_reachable(server: PostgresServer) -> None:
    """A server named by ``$VERIFIER_TEST_POSTGRES`` must answer: fail (never skip) if not."""
    if urlsplit(server.url).scheme not in {"postgresql", "postgres"}:
        pytest.fail(f"{ENV_URL} is not a postgresql:// URL: {server.url}", pytrace=False)
    try:
        with server.connect() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(f"{ENV_URL}={server.url} does not answer: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's server: ``$VERIFIER_TEST_POSTGRES``, else a throwaway cluster."""
    url = os.environ.get(ENV_URL)
    if url:
        server = PostgresServer(url)
        _check_reachable(server)
        yield server
        return
    bindir = server_bindir()
    if bindir is None:
        unavailable(postgres_missing() or "no PostgreSQL server binaries")
    with throwaway_cluster(bindir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database (from template0), dropped after the test."""
    name = f"verifier_test_{secrets.token_hex(8)}"
    with postgres_server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield postgres_server.database_url(name)
    finally:
        with postgres_server.connect() as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))
