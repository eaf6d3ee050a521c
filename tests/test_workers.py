"""Workers sharing a night through PostgreSQL: leases, fencing, host tokens, a run with
worker processes whose reports are a single run's, and a worker killed mid-domain."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes.loopweb import LoopWeb
from tests.nightly_support import group_alive, run_settings
from tests.test_postgres_history import comparable, write_events
from verifier.commands.run import nightly_run
from verifier.config import Settings
from verifier.config_sections import HistorySettings, WorkersSettings
from verifier.errors import ConfigError, RunStopping
from verifier.history.postgres import PostgresEngine
from verifier.history.store import MIGRATIONS, History, RunState, SQLiteHistory
from verifier.models import Observation, Verdict
from verifier.workers.coordinator import settings_file
from verifier.workers.domains import registrable_domain
from verifier.workers.parent import stop_when_orphaned
from verifier.workers.queue import WorkQueue
from verifier.workers.tokens import TokenGuard
from verifier.workers.worker import work

NIGHT_0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def open_pg(url: str) -> History:
    return History(PostgresEngine(url, MIGRATIONS))


def seen(url: str) -> Observation:
    return Observation(url=url, verdict=Verdict.ALIVE, checked_at=NIGHT_0)


def test_registrable_domains_group_a_sites_hosts() -> None:
    assert registrable_domain("www.bbc.co.uk") == registrable_domain("news.bbc.co.uk")
    assert registrable_domain("www.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("127.0.0.5") == "127.0.0.5"
    assert registrable_domain("h1.bench.test") != registrable_domain("h2.bench.test")


def test_the_queue_needs_a_postgresql_history(tmp_path: Path) -> None:
    with SQLiteHistory(tmp_path / "h.sqlite3") as store, pytest.raises(ConfigError, match="url"):
        WorkQueue(store)


def test_two_workers_never_lease_the_same_domain(postgres_url: str) -> None:
    urls = [f"https://s{n % 7}.example{n % 5}.com/{n}" for n in range(60)]
    with open_pg(postgres_url) as store:
        run, _ = store.start_run(NIGHT_0)
        queue = WorkQueue(store)
        assert queue.publish(run.id, urls) == 5
        assert queue.publish(run.id, urls) == 5  # again after a restart: nothing twice
        first = queue.lease(run.id, "a", max_urls=20, ttl=30)
        second = queue.lease(run.id, "b", max_urls=1000, ttl=30)
        third = queue.lease(run.id, "c", max_urls=1000, ttl=30)
    a, b = {lease.domain for lease in first}, {lease.domain for lease in second}
    assert a and b and not a & b
    assert len(a | b) == 5
    assert third == []
    assert all(0 < lease.seconds_left <= 30 for lease in first)


def test_a_result_is_stored_only_while_the_lease_holds(postgres_url: str) -> None:
    urls = ["https://a.example.com/1", "https://a.example.com/2"]
    with open_pg(postgres_url) as store:
        run, _ = store.start_run(NIGHT_0)
        queue = WorkQueue(store)
        queue.publish(run.id, urls)
        [lease] = queue.lease(run.id, "a", max_urls=10, ttl=0.3)
        assert queue.record(run.id, "a", lease.domain, seen(urls[0]), provisional=False, last=False)
        time.sleep(0.4)  # the lease lapses: "b" takes the domain over
        assert queue.renew(run.id, "a", 30) == set()
        [taken] = queue.lease(run.id, "b", max_urls=10, ttl=30)
        assert taken.domain == lease.domain
        assert queue.urls_left(run.id, [taken.domain]) == [urls[1]]
        assert not queue.record(
            run.id, "a", lease.domain, seen(urls[1]), provisional=False, last=True
        )
        assert queue.record(run.id, "b", taken.domain, seen(urls[1]), provisional=False, last=True)
        assert queue.domains_left(run.id) == 0
        assert store.observed_in_run(run.id) == set(urls)


async def test_a_host_token_keeps_a_second_worker_waiting(postgres_url: str) -> None:
    with open_pg(postgres_url) as one, open_pg(postgres_url) as two:
        first = TokenGuard(WorkQueue(one), "a", ttl=30, margin=1, poll=0.05)
        second = TokenGuard(WorkQueue(two), "b", ttl=30, margin=1, poll=0.05)
        await first.enter("h.example.com")
        waiting = asyncio.create_task(second.enter("h.example.com"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        first.leave("h.example.com")
        first.release()
        await asyncio.wait_for(waiting, 5)
        assert second.waits >= 1
        second.lost_domains.add("example.com")
        with pytest.raises(RunStopping):
            await second.enter("www.example.com")


async def until(condition: Callable[[], bool], *, seconds: float) -> None:
    """Poll ``condition`` (a database count: nothing to await) until true, for ``seconds``
    at most."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (the condition is another process's writes)
            await asyncio.sleep(0.05)


def worker_settings(root: Path, postgres_url: str, **workers: float) -> Settings:
    settings = run_settings(root, root / "events", per_host=1, min_host_interval=0.0)
    options = {"lease_seconds": 3.0, "heartbeat_seconds": 0.5, "poll_seconds": 0.1, **workers}
    return settings.model_copy(
        update={
            "history": HistorySettings(url=postgres_url, path=root / "unused.sqlite3"),
            "workers": WorkersSettings(**options),  # type: ignore[arg-type]
        }
    )


async def test_a_night_with_worker_processes_reports_as_a_single_run(
    postgres_url: str, tmp_path: Path
) -> None:
    async with LoopWeb(hosts=8) as web:
        urls = [web.url(n % 8, f"/ok/story-{n}") for n in range(40)]
        urls += [web.url(n % 8, f"/status/404/gone-{n}") for n in range(5)]
        single_root, shared_root = tmp_path / "single", tmp_path / "shared"
        for root in (single_root, shared_root):
            write_events(root / "events", urls)
        single = run_settings(single_root, single_root / "events", per_host=1)
        shared = worker_settings(shared_root, postgres_url)
        for night in range(4):
            when = NIGHT_0 + dt.timedelta(days=night * 1.5)
            alone = await nightly_run(single, clock=lambda when=when: when)
            web.reset_counters()
            counts: list[tuple[int, int]] = []
            together = await nightly_run(
                shared,
                clock=lambda when=when: when,
                workers=3,
                on_counts=lambda checked, failing, heard=counts: heard.append((checked, failing)),
            )
            assert together.state == alone.state == "complete"
            assert together.figures["checked"] == alone.figures["checked"]
            # progress, as the workers store results: it ends at what the run checked
            assert counts == sorted(counts), "counts only grow"
            assert counts[-1][0] == together.figures["checked"]
            if night == 0:
                assert counts[-1] == (45, 5)  # the five gone pages fail
            assert max(web.max_inflight_by_host.values(), default=0) <= 1
    assert comparable(shared_root / "reports") == comparable(single_root / "reports")


async def test_a_killed_workers_domains_pass_to_another(postgres_url: str, tmp_path: Path) -> None:
    """Kill one of two workers mid-domain: every URL is stored exactly once, the survivor
    takes the dead worker's domains once its leases lapse, and no host ever has two
    requests in flight (so never one from each worker)."""
    hosts = 4
    async with LoopWeb(hosts=hosts, latency_ms=60) as web:
        urls = [web.url(n % hosts, f"/ok/story-{n}") for n in range(120)]
        write_events(tmp_path / "events", urls)
        settings = worker_settings(tmp_path, postgres_url, batch_urls=30)
        with open_pg(postgres_url) as store:
            run, _ = store.start_run(NIGHT_0)
            queue = WorkQueue(store)
            assert queue.publish(run.id, urls) == hosts
            with settings_file(settings) as path:
                command = [sys.executable, "-m", "verifier", "worker", "--once"]
                command += ["--settings-file", str(path), "--now", NIGHT_0.isoformat()]
                victim = await asyncio.create_subprocess_exec(
                    *command, stdout=asyncio.subprocess.DEVNULL
                )
                await until(lambda: len(store.observed_in_run(run.id)) >= 10, seconds=60)
                survivor = await asyncio.create_subprocess_exec(
                    *command, stdout=asyncio.subprocess.PIPE
                )
                await asyncio.sleep(0.3)
                stored_before = len(store.observed_in_run(run.id))
                os.kill(victim.pid, signal.SIGKILL)
                killed_at = time.monotonic()
                await victim.wait()
                assert 10 <= stored_before < len(urls)  # killed mid-night, mid-domain
                out, _ = await asyncio.wait_for(survivor.communicate(), 120)
                finished = time.monotonic()
            assert survivor.returncode == 0, out
            observations = store._db.execute(
                "SELECT url, COUNT(*) FROM observations WHERE run_id = ? GROUP BY url", (run.id,)
            ).fetchall()
            assert queue.domains_left(run.id) == 0
            store.finish_run(run.id, RunState.COMPLETE, NIGHT_0, {})
        assert {url for url, _ in observations} == set(urls)
        assert {count for _, count in observations} == {1}
        assert max(web.max_inflight_by_host.values()) == 1
        assert finished - killed_at >= settings.workers.lease_seconds * 0.9  # after the lapse


def test_killing_a_run_with_workers_stops_its_workers_too(
    postgres_url: str, tmp_path: Path
) -> None:
    """SIGKILL ``verifier run --workers 2`` mid-check: its workers notice their parent is
    gone, stop sending, give their leases back and exit (nothing of the killed run lives on,
    and a restart need not wait for leases to lapse)."""
    with LoopWeb(hosts=4, latency_ms=200).running_in_thread() as web:
        events = tmp_path / "events"
        events.mkdir()
        for n in range(20):
            sources = "".join(
                f"- url: {web.url(k % 4, f'/ok/e{n}-s{k}')}\n  publisher: P{k}\n  tier: 2\n"
                for k in range(8)
            )
            (events / f"2021-03-{n + 1:02d}--e{n}.md").write_text(
                f"---\nid: 2021-03-{n + 1:02d}--e{n}\ndate: '2021-03-{n + 1:02d}'\n"
                f"title: Event {n}\nsources:\n{sources}---\n"
            )
        config = tmp_path / "config.toml"
        config.write_text(
            f'[paths]\nevents = "events"\nreports = "reports"\n[history]\nurl = "{postgres_url}"\n'
            '[wayback]\nenabled = false\n[security]\nallowed_networks = ["127.0.0.0/8"]\n'
            "[http]\nper_host = 1\n"
        )
        command = [sys.executable, "-m", "verifier", "--config", str(config), "run"]
        run = subprocess.Popen(
            [*command, "--workers", "2", "--now", NIGHT_0.isoformat()],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        with open_pg(postgres_url) as store:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                runs = store.runs()
                if runs and len(store.observed_in_run(runs[-1].id)) >= 10:
                    break
                time.sleep(0.05)
            else:
                run.kill()
                pytest.fail("the run stored nothing within 60 s")
            run.kill()
            run.wait()
            killed_at = time.monotonic()
            while time.monotonic() - killed_at < 20 and group_alive(run.pid):
                time.sleep(0.05)
            gone_after = time.monotonic() - killed_at
            if group_alive(run.pid):
                os.killpg(run.pid, signal.SIGKILL)
            stored = len(store.observed_in_run(runs[-1].id))
            held = store._db.execute(
                "SELECT COUNT(*) FROM work_domains WHERE run_id = ? AND worker IS NOT NULL",
                (runs[-1].id,),
            ).fetchone()[0]
        assert gone_after < 3, f"the workers outlived the run by {gone_after:.1f} s"
        assert stored < 160, "killed mid-check"
        assert held == 0, "a stopping worker gives its leases back"


async def test_a_domain_bigger_than_the_batch_does_not_hold_up_the_others(
    postgres_url: str, tmp_path: Path
) -> None:
    """One worker, a batch of 20 URLs, a slow host with 60 URLs and two with 8: the small
    domains are leased beside the big one and done long before it."""
    async with LoopWeb(hosts=3, latency_ms=40) as web:
        urls = [web.url(0, f"/ok/big-{n}") for n in range(60)]
        urls += [web.url(site, f"/ok/small-{n}") for site in (1, 2) for n in range(8)]
        settings = worker_settings(tmp_path, postgres_url, batch_urls=20)
        with open_pg(postgres_url) as store:
            run, _ = store.start_run(NIGHT_0)
            queue = WorkQueue(store)
            assert queue.publish(run.id, urls) == 3
            working = asyncio.create_task(
                work(settings, once=True, stop=asyncio.Event(), clock=lambda: NIGHT_0)
            )
            await until(lambda: queue.domains_left(run.id) <= 1, seconds=60)
            big_stored = sum(1 for url in store.observed_in_run(run.id) if "/big-" in url)
            figures = await asyncio.wait_for(working, 60)
    assert big_stored < 40, "the small domains waited for the big one"
    assert figures.checked == len(urls)
    assert figures.domains == 3


async def test_a_worker_stops_the_moment_its_stdin_pipe_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run holds the write end of a worker's stdin: when the run dies, the worker reads
    end-of-file and stops at once, not at its next look at the parent process (which here
    never sees a change: the parent given is this process's real parent)."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb", buffering=0) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        stop = asyncio.Event()
        watch = asyncio.create_task(stop_when_orphaned(os.getppid(), stop))
        await asyncio.sleep(0.3)  # longer than a look at the parent
        assert not stop.is_set()
        os.close(write_end)
        await asyncio.wait_for(stop.wait(), 5)
        await asyncio.wait_for(watch, 5)
