"""Big runs split their hosts over a second checker process."""

from __future__ import annotations

from tests.fakes.loopweb import LoopWeb
from tests.test_liveness import fast_settings
from verifier import liveness
from verifier.liveness import LinkChecker
from verifier.models import Verdict
from verifier.shard import ShardProcess, split_hosts


def test_split_keeps_the_busiest_hosts_here_with_about_a_third_of_the_urls() -> None:
    by_host = {"big": ["u"] * 40, "mid": ["u"] * 20, **{f"h{n}": ["u"] * 2 for n in range(30)}}
    here, there = split_hosts(by_host)
    assert here[0] == "big"
    assert set(here) | set(there) == set(by_host)
    assert not set(here) & set(there)
    assert sum(len(by_host[h]) for h in here) <= 0.35 * 120 + 40


async def test_a_big_run_uses_a_second_process_and_loses_nothing(monkeypatch) -> None:
    started: list[ShardProcess] = []
    original = ShardProcess.start

    def spy(self: ShardProcess) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(ShardProcess, "start", spy)
    monkeypatch.setattr(liveness, "SHARD_FROM_URLS", 10)
    async with LoopWeb(hosts=8, latency_ms=20) as web:
        urls = [web.url(n % 8, f"/ok/page-{n}") for n in range(60)]
        urls += [web.url(3, "/status/404/gone")]
        async with LinkChecker(fast_settings(per_host=2)) as checker:
            run = await checker.check_all(urls)
        served = web.total_requests
        assert max(web.max_inflight_by_host.values()) <= 2
    assert len(started) == 1
    assert len(run.observations) == 61
    assert run.requests_sent == served
    verdicts = [o.verdict for o in run.observations.values()]
    assert verdicts.count(Verdict.ALIVE) == 60
    assert verdicts.count(Verdict.DEAD) == 1


async def test_one_process_when_configured(monkeypatch) -> None:
    monkeypatch.setattr(liveness, "SHARD_FROM_URLS", 1)
    started: list[ShardProcess] = []
    monkeypatch.setattr(ShardProcess, "start", started.append)
    async with LoopWeb(hosts=2) as web:
        urls = [web.url(n % 2, f"/ok/p{n}") for n in range(6)]
        async with LinkChecker(fast_settings(processes=1)) as checker:
            run = await checker.check_all(urls)
    assert not started
    assert len(run.observations) == 6
