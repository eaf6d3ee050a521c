"""The Wayback budgets shared through a PostgreSQL history (``verifier.history.wayback_pace``):
bookings from separate connections keep one schedule per account and family, a 429 cools
every process down, and two clients on one account stay within the account's limit where
two clients pacing alone exceed it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.wayback import Capture, FakeWayback, FakeWaybackConfig, serve_fake_wayback, ts_of
from tests.nightly_support import TickingClock
from verifier.archive.wayback import WaybackClient
from verifier.config import SecuritySettings, WaybackSettings
from verifier.errors import WaybackUnavailable
from verifier.history.postgres import PostgresEngine
from verifier.history.store import MIGRATIONS, History, SQLiteHistory
from verifier.history.wayback_pace import PaceBook, shared_pace
from verifier.web.pacing import Schedule

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
LOOPBACK = SecuritySettings(allowed_networks=("127.0.0.0/8",))


@pytest.fixture
def books(postgres_url: str) -> Iterator[Callable[[], PaceBook]]:
    """Open a schedule book on a connection of its own (as another process would)."""
    with contextlib.ExitStack() as opened:

        def book() -> PaceBook:
            store = opened.enter_context(History(PostgresEngine(postgres_url, MIGRATIONS)))
            found = shared_pace(store)
            assert found is not None
            return found

        yield book


def test_a_sqlite_history_paces_in_memory(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "history.sqlite3") as store:
        assert shared_pace(store) is None


@pytest.mark.postgres
def test_bookings_from_two_connections_keep_one_schedule(books: Callable[[], PaceBook]) -> None:
    first, second = books(), books()
    waits = [
        first.book("key-a/cdx", 10.0),
        second.book("key-a/cdx", 10.0),
        first.book("key-a/cdx", 10.0),
    ]
    assert waits[0] == 0.0
    assert waits[1] == pytest.approx(10.0, abs=1.0)
    assert waits[2] == pytest.approx(20.0, abs=1.0)
    assert second.book("key-a/save", 10.0) == 0.0, "each family has its own schedule"
    assert second.book("anonymous/cdx", 10.0) == 0.0, "each account has its own"


@pytest.mark.postgres
def test_a_cool_down_holds_every_process(books: Callable[[], PaceBook]) -> None:
    first, second = books(), books()
    first.cool_down("key-a/cdx", 60.0)
    assert second.book("key-a/cdx", 1.0) == pytest.approx(60.0, abs=1.0)
    first.cool_down("key-a/cdx", 5.0)  # a shorter cool-down never brings the schedule back
    assert first.book("key-a/cdx", 1.0) == pytest.approx(61.0, abs=1.0)


async def lookups(
    base: str, schedules: list[Schedule | None], per_client: int
) -> list[WaybackClient]:
    """``per_client`` CDX lookups from each of two clients at once, one per schedule."""
    settings = WaybackSettings(
        cdx_url=f"{base}/cdx/search/cdx",
        rate_window=1.0,
        cdx_per_window=8,  # each client alone keeps to 8 a second
        cooldown_after_429=0.2,
        attempts=1,
    )
    environ = {"WAYBACK_ACCESS_KEY": "access", "WAYBACK_SECRET_KEY": "secret"}
    clients = [
        WaybackClient(settings, "verifier-test", environ=environ, security=LOOPBACK, schedule=s)
        for s in schedules
    ]

    async def ask(client: WaybackClient) -> None:
        for n in range(per_client):
            with contextlib.suppress(WaybackUnavailable):  # rate-limited: counted, and on
                await client.cdx(f"https://example.org/story-{n}")

    try:
        await asyncio.gather(*(ask(client) for client in clients))
    finally:
        for client in clients:
            await client.aclose()
    return clients


@pytest.mark.postgres
@pytest.mark.parametrize("shared", [True, False])
async def test_two_clients_on_one_account_keep_its_limit(
    books: Callable[[], PaceBook], shared: bool
) -> None:
    """The fake allows 10 CDX lookups a second from this address (10 a fake minute at 60
    fake seconds a second); two clients of 8 a second each exceed it unless they share."""
    fake = FakeWayback(
        FakeWaybackConfig(rate_limits={"cdx": 10}, escalate_families=frozenset()),
        TickingClock(NOW, 60.0),
    )
    fake.add_captures(*(Capture(f"https://example.org/story-{n}", ts_of(NOW)) for n in range(12)))
    schedules: list[Schedule | None] = [books(), books()] if shared else [None, None]
    with serve_fake_wayback(fake) as base:
        clients = await lookups(base, schedules, per_client=12)
    limited = sum(client.counts["cdx-429"] for client in clients)
    if shared:
        assert limited == 0, "sharing one schedule, the clients keep the account's limit"
        assert len(fake.requests("cdx")) == 24
    else:
        assert limited > 0, "the control: pacing alone, two clients exceed it"
