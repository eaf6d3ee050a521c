"""Liveness v2 against real loopback servers: one GET per URL, connections reused (and
closed beyond the drain budget), soft 404s from titles and from a content-comparing probe,
the probe cache across runs, hosts whose HEAD lies, TLS."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tests.fakes.loopweb import LoopWeb, Page, Site, make_tls
from tests.test_liveness import fast_settings
from verifier.history.store import SQLiteHistory
from verifier.models import Verdict
from verifier.web.answers import Response
from verifier.web.liveness import LinkChecker, MemoryProbeCache

SLUGS = [f"/politics/senate-probe-into-fund-{word}" for word in ("alpha", "bravo", "charlie")]
"""Article URLs whose titles (``Site(titles="slug")``) repeat their words."""


async def run(web: LoopWeb, urls: list[str], **options: Any) -> dict[str, Verdict]:
    cache = options.pop("probe_cache", None)
    async with LinkChecker(fast_settings(**options), probe_cache=cache) as checker:
        checked = await checker.check_all(urls)
    return {url: checked.observations[url].verdict for url in urls}


async def test_one_connection_serves_every_page_of_a_host() -> None:
    paths = [f"/news/story-{n}" for n in range(12)]
    async with LoopWeb(hosts=1) as web:
        web.publish(0, paths)
        verdicts = await run(web, [web.url(0, p) for p in paths], per_host=1)
        connections = web.connections_by_host[web.addr(0)]
        requests = web.total_requests
    assert set(verdicts.values()) == {Verdict.ALIVE}
    assert requests >= 12
    assert connections == 1


async def test_connections_stay_within_per_host_on_a_busy_host() -> None:
    paths = [f"/news/story-{n}" for n in range(40)]
    async with LoopWeb(hosts=1, latency_ms=20) as web:
        web.publish(0, paths)
        await run(web, [web.url(0, p) for p in paths], per_host=4)
        connections = web.connections_by_host[web.addr(0)]
    assert connections <= 4


async def test_bodies_within_the_drain_budget_keep_the_connection_longer_ones_close_it() -> None:
    small = [f"/reports/drained-{n}" for n in range(4)]
    large = [f"/reports/huge-{n}" for n in range(4)]
    async with LoopWeb(hosts=2) as web:
        web.publish(0, small, Page(size=200_000))  # 64 KiB kept + 136 KiB drained
        web.publish(1, large, Page(size=900_000))  # beyond 64 KiB + 256 KiB: abandoned
        urls = [web.url(0, p) for p in small] + [web.url(1, p) for p in large]
        verdicts = await run(web, urls, per_host=1, soft404_probe=False)
        connections = web.connections_by_host
    assert set(verdicts.values()) == {Verdict.ALIVE}
    assert connections[web.addr(0)] == 1
    assert connections[web.addr(1)] == 4


async def test_a_page_hands_its_first_bytes_to_the_page_hook() -> None:
    seen: dict[str, Response] = {}
    async with LoopWeb(hosts=1) as web:
        web.publish(0, ["/reports/long-read"], Page(size=150_000))
        url = web.url(0, "/reports/long-read")
        async with LinkChecker(fast_settings(), on_page=seen.setdefault) as checker:
            await checker.check_all([url])
    body = seen[url].body
    assert len(body) == 65_536  # max_body_bytes of the decoded page, no more
    assert b"<title>" in body[:2048]


async def test_cms_section_answering_every_slug_with_another_article_is_honest() -> None:
    async with LoopWeb(hosts=1) as web:
        web.set_site(0, Site(name="Daily", titles="id", sections={"politics": "cms"}))
        paths = ["/politics/2024/05/123456", "/politics/2024/06/654321", "/politics/2023/01/777"]
        web.publish(0, paths)
        verdicts = await run(web, [web.url(0, p) for p in paths])
        probes = [e for e in web.log if e.target.startswith("/politics/") and e.target not in paths]
    assert set(verdicts.values()) == {Verdict.ALIVE}
    assert len(probes) == 1  # titles share no word with the URL: one probe for the section


async def test_a_host_answering_every_path_with_its_home_page_is_caught_by_the_probe() -> None:
    async with LoopWeb(hosts=1) as web:
        web.set_site(0, Site(name="Gazette", titles="id", unknown="generic"))
        gone = [web.url(0, f"/archive/{n}") for n in (101, 102, 103)]
        verdicts = await run(web, gone)
    assert set(verdicts.values()) == {Verdict.SOFT_DEAD}


async def test_not_found_shapes_in_single_url_sections_are_soft_dead_with_one_get() -> None:
    async with LoopWeb(hosts=9) as web:
        urls = []
        for shape in range(9):
            web.set_site(shape, Site(name=f"Site {shape}", unknown="not-found",
                                     not_found_shape=shape))  # fmt: skip
            urls.append(web.url(shape, f"/section{shape}/a-missing-story-{shape}"))
        verdicts = await run(web, urls)
        methods = {e.method for e in web.log}
    assert verdicts == dict.fromkeys(urls, Verdict.SOFT_DEAD)
    assert methods == {"GET"}


async def test_hosts_whose_head_lies_are_judged_by_get() -> None:
    async with LoopWeb(hosts=2) as web:
        web.set_site(0, Site(name="Liar", head=200, unknown="not-found", not_found_shape=0))
        web.set_site(1, Site(name="Refuser", head=405))
        web.publish(1, SLUGS)
        urls = [web.url(0, "/news/a-story-that-is-gone")] + [web.url(1, p) for p in SLUGS]
        verdicts = await run(web, urls)
        heads = web.count(method="HEAD")
    assert verdicts[urls[0]] is Verdict.SOFT_DEAD
    assert {verdicts[u] for u in urls[1:]} == {Verdict.ALIVE}
    assert heads == 0


async def test_the_probe_cache_spares_the_second_run_its_probes(tmp_path: Path) -> None:
    paths = ["/world/2024/05/123456", "/world/2024/06/654321", "/world/2023/01/777"]
    async with LoopWeb(hosts=1) as web:
        web.set_site(0, Site(name="Daily", titles="id", sections={"world": "cms"}))
        web.publish(0, paths)
        urls = [web.url(0, p) for p in paths]
        store = SQLiteHistory(tmp_path / "history.sqlite3")
        try:
            first = await run(web, urls, probe_cache=store)
            first_requests = web.total_requests
            web.reset_counters()
            second = await run(web, urls, probe_cache=store)
            second_requests = web.total_requests
        finally:
            store.close()
        reopened = SQLiteHistory(tmp_path / "history.sqlite3")
        try:
            kept = reopened.get_probe(f"{web.base_url(0)}/world/")
        finally:
            reopened.close()
    assert first == second == dict.fromkeys(urls, Verdict.ALIVE)
    assert first_requests == 4  # three pages and one probe
    assert second_requests == 3  # the probe's answer came from the history
    assert kept is not None and kept.status == 200


async def test_a_stale_probe_is_asked_again() -> None:
    paths = ["/world/2024/05/123456", "/world/2024/06/654321", "/world/2023/01/777"]
    cache = MemoryProbeCache()
    async with LoopWeb(hosts=1) as web:
        web.set_site(0, Site(name="Daily", titles="id", sections={"world": "cms"}))
        web.publish(0, paths)
        urls = [web.url(0, p) for p in paths]
        await run(web, urls, probe_cache=cache)
        web.reset_counters()
        await run(web, urls, probe_cache=cache, probe_cache_days=0.0)
        requests = web.total_requests
    assert requests == 4


async def test_https_pages_share_one_handshake_per_connection(tmp_path: Path) -> None:
    tls = make_tls(("*.bench.test",), directory=tmp_path)
    paths = [f"/news/story-{n}" for n in range(8)]
    async with LoopWeb(hosts=1, ssl_context=tls.context) as web:
        web.publish(0, paths)
        urls = [f"https://h1.bench.test:{web.port}{p}" for p in paths]
        verdicts = await run(
            web, urls, per_host=2, ca_file=tls.ca_pem, resolve={"h1.bench.test": web.addr(0)}
        )
        handshakes = web.stats().handshakes_by_host.get(web.addr(0), 0)
    assert set(verdicts.values()) == {Verdict.ALIVE}
    assert 1 <= handshakes <= 2


async def test_starts_on_one_host_keep_the_interval_and_the_cap() -> None:
    paths = [f"/news/story-{n}" for n in range(16)]
    async with LoopWeb(hosts=1, latency_ms=150) as web:
        web.publish(0, paths)
        await run(web, [web.url(0, p) for p in paths], per_host=4, min_host_interval=0.05)
        arrivals = sorted(entry.time for entry in web.log)
        inflight = web.max_inflight(0)
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(arrivals) >= 16
    # starts keep the interval's schedule: a late one may be followed half an interval
    # sooner, never more; none comes early overall. The server stamps arrivals, not starts:
    # a new connection's handshake or a busy CI machine moves a stamp by some milliseconds
    # (the exact schedule is tests/test_pacing.py's, on a fake clock). Unpaced, four
    # requests would arrive together and the fifth one latency (150 ms) after the first.
    jitter = 0.02
    assert min(gaps) >= 0.025 - jitter
    for i, j in itertools.combinations(range(len(arrivals)), 2):
        assert arrivals[j] - arrivals[i] >= (j - i) * 0.05 - 0.025 - jitter
    assert inflight <= 4
