"""The link checker against the loopback test web: verdicts, retries, politeness, policy."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from tests.fakes.loopweb import LoopWeb
from verifier.config import HttpSettings, OutageSettings, RetrySettings, SecuritySettings, Settings
from verifier.errors import FetchError
from verifier.models import Verdict
from verifier.web.answers import Failure
from verifier.web.liveness import LinkChecker


def fast_settings(
    allow_private: bool = True, allowed_networks: tuple[str, ...] = (), **http: Any
) -> Settings:
    retry = RetrySettings(
        backoff_base=0.01,
        jitter=0.0,
        retry_after_cap=3.0,
        host_pause_after_429=0.2,
        **http.pop("retry", {}),
    )
    options: dict[str, Any] = {
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "attempt_deadline": 1.0,
        "min_host_interval": 0.0,
        "retry": retry,
    }
    options.update(http)
    return Settings(
        http=HttpSettings(**options),
        security=SecuritySettings(
            allow_private_networks=allow_private, allowed_networks=allowed_networks
        ),
    )


async def check(web: LoopWeb, paths: list[str], settings: Settings | None = None, host: int = 0):
    urls = [web.url(host, path) for path in paths]
    async with LinkChecker(settings or fast_settings()) as checker:
        run = await checker.check_all(urls)
    return {path: run.observations[url] for path, url in zip(paths, urls, strict=True)}, run


CAUSES = {
    "/ok/article-1": Verdict.ALIVE,
    "/redirect/3/article-2": Verdict.ALIVE,
    "/head-405/article-3": Verdict.ALIVE,
    "/head-404/article-4": Verdict.ALIVE,
    "/gzip/article-5": Verdict.ALIVE,
    "/status/404/gone": Verdict.DEAD,
    "/status/410/gone": Verdict.DEAD,
    "/loop/x": Verdict.DEAD,
    "/gone-home/section/story": Verdict.SOFT_DEAD,
    "/cloudflare/story": Verdict.BLOCKED,
    "/status/999/profile": Verdict.BLOCKED,
    "/status/403/story": Verdict.BLOCKED,
    "/status/500/story": Verdict.UNREACHABLE,
    "/reset/story": Verdict.UNREACHABLE,
    "/close/story": Verdict.UNREACHABLE,
    "/big-headers/story": Verdict.UNREACHABLE,
}


async def test_each_verdict_arises_from_its_cause() -> None:
    async with LoopWeb(hosts=1) as web:
        observations, _ = await check(web, list(CAUSES))
    verdicts = {path: observation.verdict for path, observation in observations.items()}
    assert verdicts == CAUSES
    assert "redirect loop" in observations["/loop/x"].detail
    assert observations["/redirect/3/article-2"].redirects[-1].endswith("/ok/article-2")


async def test_a_site_answering_200_to_everything_makes_pages_soft_dead() -> None:
    async with LoopWeb(hosts=2, host_modes={"127.0.0.3": "soft404"}) as web:
        observations, _ = await check(web, ["/news/2024/some-story"], host=1)
    observation = observations["/news/2024/some-story"]
    assert observation.verdict is Verdict.SOFT_DEAD
    assert "random path" in observation.detail


async def test_a_section_answering_200_not_found_is_caught_by_the_pages_own_title() -> None:
    paths = ["/soft404/2024/story-a", "/soft404/2024/story-b", "/soft404/2025/story-c"]
    async with LoopWeb(hosts=1) as web:
        observations, _ = await check(web, [*paths, "/ok/senate-probe-into-fund"])
        methods = {e.method for e in web.log}
        requests = web.total_requests
    assert {observations[p].verdict for p in paths} == {Verdict.SOFT_DEAD}
    assert all("Page Not Found" in observations[p].detail for p in paths)
    assert observations["/ok/senate-probe-into-fund"].verdict is Verdict.ALIVE
    assert methods == {"GET"}
    # One GET each and no probe: three titles say "not found", the fourth repeats its slug.
    assert requests == 4


async def test_hosts_configured_for_head_are_asked_head_first_and_get_confirms() -> None:
    paths = ["/status/404/x", "/big/5000/report?type=application/pdf", "/ok/some-article"]
    async with LoopWeb(hosts=1) as web:
        settings = fast_settings(head_first_hosts=("127.0.0.2",))
        observations, _ = await check(web, paths, settings)
        counts = {(e.method, e.target) for e in web.log}
        gets = web.count(method="GET")
    assert observations["/status/404/x"].verdict is Verdict.DEAD
    assert ("HEAD", "/status/404/x") in counts and ("GET", "/status/404/x") in counts
    pdf = "/big/5000/report?type=application/pdf"
    assert observations[pdf].verdict is Verdict.ALIVE
    assert ("GET", pdf) not in counts  # not HTML: HEAD's 200 is enough
    assert ("GET", "/ok/some-article") in counts  # HTML: only the body can say "not found"
    assert gets == 2


async def test_flaky_url_is_retried_until_it_answers() -> None:
    async with LoopWeb(hosts=1) as web:
        observations, _ = await check(web, ["/flaky/2/503/a", "/flaky/1/reset/b"])
        assert web.count(target="/flaky/2/503/a") == 3
    assert observations["/flaky/2/503/a"].verdict is Verdict.ALIVE
    assert observations["/flaky/2/503/a"].attempts == 3
    assert observations["/flaky/1/reset/b"].verdict is Verdict.ALIVE


async def test_retries_stop_at_the_configured_attempts() -> None:
    async with LoopWeb(hosts=1) as web:
        observations, _ = await check(web, ["/flaky/9/503/a"], fast_settings(retry={"attempts": 2}))
        assert web.count(target="/flaky/9/503/a") == 2
    assert observations["/flaky/9/503/a"].verdict is Verdict.UNREACHABLE


async def test_not_found_is_asked_once_with_get_and_not_retried() -> None:
    async with LoopWeb(hosts=1) as web:
        await check(web, ["/status/404/x"])
        assert web.count(target="/status/404/x", method="HEAD") == 0
        assert web.count(target="/status/404/x", method="GET") == 1


async def test_hanging_url_costs_exactly_the_configured_attempts() -> None:
    async with LoopWeb(hosts=1) as web:
        observations, _ = await check(web, ["/hang/x"], fast_settings(attempt_deadline=0.3))
        assert web.count(target="/hang/x") == 3
    assert observations["/hang/x"].verdict is Verdict.UNREACHABLE
    assert observations["/hang/x"].failure is Failure.TIMEOUT


async def test_retry_after_is_honoured_and_pauses_the_host() -> None:
    async with LoopWeb(hosts=1) as web:
        observations, _ = await check(web, ["/ratelimit/1/1/a"])
        gaps = web.intervals(0, "/ratelimit/1/1/a")
    assert observations["/ratelimit/1/1/a"].verdict is Verdict.ALIVE
    assert gaps
    assert gaps[0] >= 0.9


async def test_429_that_outlasts_retries_is_blocked() -> None:
    async with LoopWeb(hosts=1) as web:
        observations, _ = await check(web, ["/ratelimit/9/-/a"])
    assert observations["/ratelimit/9/-/a"].verdict is Verdict.BLOCKED


async def test_per_host_cap_is_never_exceeded() -> None:
    async with LoopWeb(hosts=2, latency_ms=30) as web:
        paths = [f"/delay/20/page-{n}" for n in range(24)]
        urls = [web.url(0, p) for p in paths] + [web.url(1, p) for p in paths]
        async with LinkChecker(fast_settings(per_host=3)) as checker:
            run = await checker.check_all(urls)
        assert all(o.verdict is Verdict.ALIVE for o in run.observations.values())
        assert max(web.max_inflight_by_host.values()) == 3


async def test_each_url_is_checked_once_however_it_is_written() -> None:
    async with LoopWeb(hosts=1) as web:
        url = web.url(0, "/status/410/x")
        variants = [url, url + "#section", url.replace("http://", "HTTP://")]
        async with LinkChecker(fast_settings()) as checker:
            run = await checker.check_all(variants)
        assert len(run.observations) == 1
        assert web.count(target="/status/410/x") == 1


async def test_user_agent_is_honest() -> None:
    async with LoopWeb(hosts=1) as web:
        await check(web, ["/ok/ua"])
        agents = {entry.headers.get("user-agent") for entry in web.log}
    assert agents == {HttpSettings().user_agent}


async def test_private_targets_are_refused_also_behind_a_redirect() -> None:
    async with LoopWeb(hosts=2) as web:
        settings = fast_settings(allow_private=False, allowed_networks=("127.0.0.2/32",))
        hidden = web.url(1, "/ok/secret")
        numeric = hidden.replace("127.0.0.3", str(0x7F000003))
        paths = [f"/redirect-to?url={hidden}", "/ok/public"]
        observations, _ = await check(web, paths, settings)
        async with LinkChecker(settings) as checker:
            direct = await checker.check_all([hidden, numeric])
        assert web.requests_by_host.get("127.0.0.3", 0) == 0
    assert observations["/ok/public"].verdict is Verdict.ALIVE
    assert observations[paths[0]].verdict is Verdict.INVALID
    assert "loopback" in observations[paths[0]].detail
    assert {o.verdict for o in direct.observations.values()} == {Verdict.INVALID}
    assert all(o.attempts == 1 for o in direct.observations.values())


async def test_gzip_bomb_is_inflated_only_up_to_the_cap() -> None:
    async with LoopWeb(hosts=1) as web:
        settings = fast_settings(soft404_probe=False)
        async with LinkChecker(settings) as checker:
            tracemalloc.start()
            response = await checker.fetcher.exchange("GET", web.url(0, "/gzip-bomb/x"))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    assert response.status == 200
    assert len(response.body) == settings.http.max_body_bytes
    assert peak < 16 << 20


async def test_trickling_server_hits_the_total_deadline() -> None:
    settings = fast_settings(attempt_deadline=0.5, read_timeout=5)
    async with LoopWeb(hosts=1, trickle_interval=0.2) as web, LinkChecker(settings) as checker:
        with pytest.raises(FetchError) as caught:
            await checker.fetcher.exchange("GET", web.url(0, "/trickle/x"))
    assert caught.value.failure is Failure.TIMEOUT


async def test_network_outage_judges_nothing() -> None:
    down = [f"127.0.0.{n}" for n in range(2, 8)]
    async with LoopWeb(hosts=6, host_modes=dict.fromkeys(down, "down")) as web:
        urls = [web.url(n, f"/ok/{n}") for n in range(6)]
        settings = fast_settings().model_copy(update={"outage": OutageSettings(min_hosts=5)})
        async with LinkChecker(settings) as checker:
            run = await checker.check_all(urls)
    assert run.outage is not None
    assert "6 of 6 hosts" in run.outage or "5 of 5 hosts" in run.outage


async def test_one_dead_host_is_not_an_outage() -> None:
    async with LoopWeb(hosts=6, host_modes={"127.0.0.7": "down"}) as web:
        urls = [web.url(n, f"/ok/{n}") for n in range(6)]
        settings = fast_settings().model_copy(update={"outage": OutageSettings(min_hosts=5)})
        async with LinkChecker(settings) as checker:
            run = await checker.check_all(urls)
    assert run.outage is None
    verdicts = sorted(o.verdict.value for o in run.observations.values())
    assert verdicts == ["alive"] * 5 + ["unreachable"]


async def test_a_redirect_to_a_malformed_url_is_invalid_not_a_crash() -> None:
    async with LoopWeb(hosts=1) as web:
        paths = ["/redirect-to?url=http%3A%2F%2F%5B%3A%3A1%2F", "/ok/fine"]
        observations, _ = await check(web, paths, fast_settings())
    assert observations[paths[0]].verdict is Verdict.INVALID
    assert "redirect to a malformed URL" in observations[paths[0]].detail
    assert observations["/ok/fine"].verdict is Verdict.ALIVE
