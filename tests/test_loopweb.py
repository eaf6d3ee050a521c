"""Tests of the loopback test web (tests/fakes/loopweb.py) itself."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import re
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.loopweb import LoopWeb, Page, loopback_addresses

ROOT = Path(__file__).resolve().parents[1]
MODES = {"127.0.0.5": "soft404", "127.0.0.6": "home-redirect", "127.0.0.7": "down"}


@pytest.fixture
async def web() -> AsyncIterator[LoopWeb]:
    async with LoopWeb(6, host_modes=MODES, trickle_interval=0.05) as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=3, trust_env=False) as c:
        yield c


def _title(text: str) -> str:
    m = re.search(r"<title>(.*?)</title>", text)
    assert m is not None, text
    return m.group(1)


def _read_only(seconds: float) -> httpx.Timeout:
    """A short read timeout with a generous connect: a loaded machine may be slow to accept."""
    return httpx.Timeout(10.0, read=seconds)


async def _until(predicate, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_loopback_addresses_skip_broadcast_octets() -> None:
    addrs = loopback_addresses(300)
    assert addrs[0] == "127.0.0.2"
    assert len(set(addrs)) == 300
    assert "127.0.0.255" not in addrs
    assert "127.0.1.0" not in addrs
    assert addrs[253] == "127.0.1.1"


async def test_hosts_share_port_and_are_told_apart_by_local_address(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    assert web.hosts[:3] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    ports = {httpx.URL(web.url(i, "/")).port for i in range(len(web.hosts))}
    assert ports == {web.port}
    for i in range(3):
        r = await client.get(web.url(i, "/"), headers={"Host": "example.com"})
        assert r.status_code == 200
        assert web.hosts[i] in _title(r.text)
    await client.get(web.url(1, "/ok/x"))
    assert web.requests_by_host == {"127.0.0.2": 1, "127.0.0.3": 2, "127.0.0.4": 1}
    assert web.total_requests == 4
    assert web.count(1, "/ok/x", "GET") == 1


async def test_ok_pages_derive_title_and_h1_from_path(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    a = await client.get(web.url(0, "/ok/article-123"))
    b = await client.get(web.url(0, "/ok/news/article-124"))
    assert a.status_code == b.status_code == 200
    assert a.headers["content-type"].startswith("text/html")
    assert _title(a.text) == "Article 123"
    assert "<h1>Article 123</h1>" in a.text
    assert _title(b.text) == "News / Article 124"
    assert a.content != b.content


async def test_max_inflight_counts_concurrent_requests_per_host(web: LoopWeb) -> None:
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(timeout=3, limits=limits) as c:
        reqs = [c.get(web.url(0, f"/delay/200/p{i}")) for i in range(6)]
        reqs.append(c.get(web.url(1, "/ok/other")))
        rs = await asyncio.gather(*reqs)
    assert [r.status_code for r in rs] == [200] * 7
    assert web.max_inflight(0) == 6
    assert web.max_inflight_by_host["127.0.0.3"] == 1
    assert web.stats().inflight_by_host == {}

    web.reset_counters()
    async with httpx.AsyncClient(timeout=3, limits=httpx.Limits(max_connections=2)) as c:
        await asyncio.gather(*(c.get(web.url(0, f"/delay/50/q{i}")) for i in range(6)))
    assert web.max_inflight(0) == 2
    assert web.requests_by_host == {"127.0.0.2": 6}


async def test_keep_alive_and_request_log(web: LoopWeb) -> None:
    async with httpx.AsyncClient(headers={"User-Agent": "verifier-test/1"}) as c:
        for i in range(5):
            assert (await c.get(web.url(2, f"/ok/{i}"))).status_code == 200
        assert (await c.head(web.url(2, "/ok/head"))).status_code == 200
    assert web.connections_by_host == {"127.0.0.4": 1}
    log = web.log
    assert [e.target for e in log] == [*(f"/ok/{i}" for i in range(5)), "/ok/head"]
    assert {e.conn_id for e in log} == {log[0].conn_id}
    assert all(e.headers["user-agent"] == "verifier-test/1" for e in log)
    assert log[-1].method == "HEAD"
    assert web.requests_by_key[("HEAD", "127.0.0.4", "/ok/head")] == 1


async def test_flaky_fails_n_times_then_ok(web: LoopWeb, client: httpx.AsyncClient) -> None:
    url = web.url(0, "/flaky/2/503/a")
    assert [(await client.get(url)).status_code for _ in range(4)] == [503, 503, 200, 200]
    assert web.count(0, "/flaky/2/503/a") == 4

    url = web.url(0, "/flaky/1/reset/b")
    with pytest.raises(httpx.ReadError):
        await client.get(url)
    assert (await client.get(url)).status_code == 200

    url = web.url(0, "/flaky/1/close/c")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(url)
    assert (await client.get(url)).status_code == 200

    web.reset_counters()  # per-target state starts over
    assert (await client.get(web.url(0, "/flaky/2/503/a"))).status_code == 503


async def test_ratelimit_retry_after_forms(web: LoopWeb, client: httpx.AsyncClient) -> None:
    url = web.url(0, "/ratelimit/2/7/x")
    first, second, third = [await client.get(url) for _ in range(3)]
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "7"
    assert "retry-after" not in third.headers
    assert len(web.intervals(0, "/ratelimit/2/7/x")) == 2

    r = await client.get(web.url(0, "/ratelimit/1/-/y"))
    assert r.status_code == 429
    assert "retry-after" not in r.headers

    r = await client.get(web.url(0, "/ratelimit/1/date5/z"))
    when = email.utils.parsedate_to_datetime(r.headers["retry-after"]).timestamp()
    assert 3 <= when - time.time() <= 6


async def test_redirect_chain_and_cross_host(web: LoopWeb, client: httpx.AsyncClient) -> None:
    r = await client.get(web.url(0, "/redirect/3/a?q=1"), follow_redirects=True)
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [302, 302, 302]
    assert r.url == web.url(0, "/ok/a?q=1")

    r = await client.get(web.redirect_url(web.url(1, "/ok/there"), 301), follow_redirects=True)
    assert [h.status_code for h in r.history] == [301]
    assert r.url == web.url(1, "/ok/there")
    assert web.count(1, "/ok/there") == 1

    r = await client.get(web.url(0, "/gone-home/old"), follow_redirects=True)
    assert [h.status_code for h in r.history] == [301]
    assert r.url.path == "/"


async def test_redirect_loop_never_ends(web: LoopWeb) -> None:
    async with httpx.AsyncClient(max_redirects=5) as c:
        with pytest.raises(httpx.TooManyRedirects):
            await c.get(web.url(0, "/loop/a"), follow_redirects=True)
    assert [e.target for e in web.log] == ["/loop/a", "/loop/b"] * 3


async def test_reset_and_close_raise_client_errors(web: LoopWeb, client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadError):
        await client.get(web.url(0, "/reset/x"))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await client.get(web.url(0, "/close/x"))
    with pytest.raises(httpx.ConnectError):
        await client.get(web.url("127.0.0.7", "/"))
    assert web.total_requests == 2


async def test_hang_times_out_and_ends_when_client_leaves(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await client.get(web.url(0, "/hang/x"), timeout=_read_only(0.2))
    assert time.monotonic() - start < 10.0  # the client's timeout ended it, not the server
    assert web.max_inflight(0) == 1
    await _until(lambda: web.stats().inflight_by_host == {}, seconds=10.0)

    with pytest.raises(httpx.ReadTimeout):  # a 30 s delay ends as soon as the client leaves
        await client.get(web.url(0, "/delay/30000/x"), timeout=_read_only(0.1))
    await _until(lambda: web.stats().inflight_by_host == {}, seconds=10.0)


async def test_trickle_sends_headers_then_slow_body(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    start = time.monotonic()
    async with client.stream("GET", web.url(0, "/trickle/x")) as r:
        assert r.status_code == 200
        assert time.monotonic() - start < 0.5
        got = b""
        async for chunk in r.aiter_raw():
            got += chunk
            if len(got) >= 3:
                break
    assert got[:3] == b"..."
    assert time.monotonic() - start >= 0.1
    await _until(lambda: web.stats().inflight_by_host == {})


async def test_gzip_bomb_is_small_on_the_wire(web: LoopWeb, client: httpx.AsyncClient) -> None:
    async with client.stream("GET", web.url(0, "/gzip-bomb/x")) as r:
        assert r.headers["content-encoding"] == "gzip, gzip"
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
    assert len(raw) < 4096
    inner = gzip.decompress(raw)
    assert inner[:2] == b"\x1f\x8b"
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    total, data = 0, inner
    for _ in range(64):  # 16 MiB at a time; 256 MiB in all
        out = d.decompress(data, 16 << 20)
        assert out.count(0) == len(out)
        total += len(out)
        data = d.unconsumed_tail
        if d.eof:
            break
    assert d.eof
    assert total == 256 << 20

    r = await client.get(web.url(0, "/gzip/page"))
    assert r.headers["content-encoding"] == "gzip"
    assert _title(r.text) == "Page"


async def test_head_quirks_and_status_pages(web: LoopWeb, client: httpx.AsyncClient) -> None:
    for code in (405, 403, 404):
        url = web.url(0, f"/head-{code}/x")
        assert (await client.head(url)).status_code == code
        assert (await client.get(url)).status_code == 200
    for code in (401, 404, 410, 500, 503):
        r = await client.get(web.url(0, f"/status/{code}/x"))
        assert r.status_code == code
        assert _title(r.text).startswith(str(code))
    assert (await client.get(web.url(0, "/status/204/x"))).content == b""
    r = await client.get(web.url(0, "/status/999/x"))
    assert r.status_code == 999
    r = await client.get(web.url(0, "/cloudflare/x"))
    assert r.status_code == 403
    assert r.headers["cf-mitigated"] == "challenge"
    assert r.headers["server"] == "cloudflare"
    assert _title(r.text) == "Just a moment..."
    r = await client.get(web.url(0, "/soft404/x"))
    assert r.status_code == 200
    assert _title(r.text) == "Page Not Found"
    assert "<h1>Sorry, that page does not exist</h1>" in r.text
    assert (await client.get(web.url(0, "/no-such-thing"))).status_code == 404
    assert web.errors == []


async def test_host_modes(web: LoopWeb, client: httpx.AsyncClient) -> None:
    soft = "127.0.0.5"
    a = await client.get(web.url(soft, "/missing/one"))
    b = await client.get(web.url(soft, "/status/404/two"))
    assert a.status_code == b.status_code == 200
    assert a.content == b.content
    home = await client.get(web.url(soft, "/"))
    assert home.content != a.content

    redir = "127.0.0.6"
    r = await client.get(web.url(redir, "/unknown/page"))
    assert r.status_code == 301
    assert r.headers["location"] == "/"
    assert (await client.get(web.url(redir, "/ok/known"))).status_code == 200
    assert (await client.get(web.url(redir, "/status/410/x"))).status_code == 410


async def test_big_bodies_and_headers(web: LoopWeb, client: httpx.AsyncClient) -> None:
    r = await client.get(web.url(0, "/big/1000000/x"))
    assert len(r.content) == 1_000_000
    h = await client.head(web.url(0, "/big/5000000/x"))
    assert h.headers["content-length"] == "5000000"
    assert h.content == b""

    r = await client.get(web.url(0, "/no-content-length/x"))
    assert r.status_code == 200
    assert "content-length" not in r.headers
    assert r.text.rstrip().endswith("</html>")

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(web.url(0, "/big-headers/x"))
    reader, writer = await asyncio.open_connection(web.hosts[0], web.port, limit=1 << 20)
    try:
        writer.write(b"GET /big-headers/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()
        await writer.wait_closed()
    assert len(head) > 200 * 1024


async def test_oversized_request_headers_get_431(web: LoopWeb) -> None:
    reader, writer = await asyncio.open_connection(web.hosts[0], web.port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
        status = await asyncio.wait_for(reader.readline(), 2)
    finally:
        writer.close()
        await writer.wait_closed()
    assert status.startswith(b"HTTP/1.1 431 ")


async def test_latency_and_per_request_override() -> None:
    async with LoopWeb(1, latency_ms=150) as web, httpx.AsyncClient() as c:
        start = time.monotonic()
        await c.get(web.url(0, "/ok/slow"))
        assert time.monotonic() - start >= 0.15
        start = time.monotonic()
        await c.get(web.url(0, "/ok/fast?latency_ms=0"))
        assert time.monotonic() - start < 0.15


async def test_two_hundred_hosts() -> None:
    async with LoopWeb(200) as web, httpx.AsyncClient(limits=httpx.Limits(max_connections=50)) as c:
        rs = await asyncio.gather(*(c.get(web.url(i, f"/ok/{i}")) for i in range(200)))
    assert all(r.status_code == 200 for r in rs)
    assert len(web.requests_by_host) == 200
    assert set(web.requests_by_host.values()) == {1}


async def test_stop_drops_hanging_connections() -> None:
    web = LoopWeb(1)
    await web.start()
    async with httpx.AsyncClient(timeout=5) as c:
        task = asyncio.ensure_future(c.get(web.url(0, "/hang/x")))
        await _until(lambda: web.total_requests == 1)
        start = time.monotonic()
        await web.stop()
        with pytest.raises(httpx.RemoteProtocolError):
            await task
        assert time.monotonic() - start < 1.0
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as c:
            await c.get(web.url(0, "/"))


def test_thread_mode_serves_sync_clients_and_stops_cleanly() -> None:
    errors: list[BaseException] = []

    def hang(url: str) -> None:
        try:
            httpx.get(url, timeout=5)
        except httpx.HTTPError as exc:
            errors.append(exc)

    with LoopWeb(2, latency_ms=1).running_in_thread() as web:
        assert httpx.get(web.url(1, "/ok/sync")).status_code == 200
        hanger = threading.Thread(target=hang, args=(web.url(0, "/hang/x"),))
        hanger.start()
        deadline = time.monotonic() + 2
        while web.total_requests < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert web.total_requests == 2
        start = time.monotonic()
    hanger.join(3)
    assert not hanger.is_alive()
    assert time.monotonic() - start < 2
    assert len(errors) == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(web.url(1, "/"))


def test_cli_prints_base_urls() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.loopweb", "--hosts", "2", "--duration", "10"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        urls = [proc.stdout.readline().strip() for _ in range(2)]
        assert [httpx.URL(u).host for u in urls] == ["127.0.0.2", "127.0.0.3"]
        assert httpx.get(urls[1] + "ok/cli").status_code == 200
        proc.terminate()
        _, err = proc.communicate(timeout=5)
        assert "served 1 requests" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)


def test_down_host_refuses_connections() -> None:
    with LoopWeb(2, host_modes={"127.0.0.3": "down"}).running_in_thread() as web:
        sock = socket.socket()
        try:
            with pytest.raises(ConnectionRefusedError):
                sock.connect((web.hosts[1], web.port))
        finally:
            sock.close()


async def test_site_mode_serves_only_published_pages(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    site, redir = web.hosts[0], "127.0.0.6"
    web.publish(site, ["/news/a-story", "/article?id=7", "/caf%C3%A9", "ok/target"])
    web.publish(redir, ["/kept/page"])
    assert web.host_modes[site] == "site"
    assert web.host_modes[redir] == "home-redirect"
    assert web.is_published(site, "/café")

    r = await client.get(web.url(site, "/news/a-story"))
    assert r.status_code == 200
    assert _title(r.text) == "News / A story"
    assert (await client.head(web.url(site, "/news/a-story"))).status_code == 200
    assert _title((await client.get(web.url(site, "/article?id=7"))).text) == "Article (id=7)"
    assert (await client.get(web.url(site, "/café"))).status_code == 200
    assert (await client.get(web.url(site, "/"))).status_code == 200
    for missing in ("/news/other", "/article?id=8", "/article", "/ok/anything", "/ok"):
        assert (await client.get(web.url(site, missing))).status_code == 404, missing

    # the behaviour grammar still works beside the published pages
    assert (await client.get(web.url(site, "/status/410/x"))).status_code == 410
    assert (await client.get(web.url(site, "/cloudflare/x"))).status_code == 403
    r = await client.get(web.url(site, "/redirect/2/target"), follow_redirects=True)
    assert (r.status_code, len(r.history)) == (200, 2)
    r = await client.get(web.url(site, "/redirect/1/unpublished"), follow_redirects=True)
    assert r.status_code == 404
    assert (await client.get(web.url(site, "/flaky/1/503/f"))).status_code == 503
    assert (await client.get(web.url(site, "/flaky/1/503/f"))).status_code == 200

    # published pages on a moded host; other hosts keep answering /ok/ as before
    assert (await client.get(web.url(redir, "/kept/page"))).status_code == 200
    assert (await client.get(web.url(redir, "/gone/page"))).status_code == 301
    assert (await client.get(web.url(1, "/ok/anything"))).status_code == 200
    with pytest.raises(ValueError, match="unknown host"):
        web.publish("127.0.0.99", ["/x"])
    assert web.errors == []


async def test_flaky_host_fails_a_seeded_share_of_requests(client: httpx.AsyncClient) -> None:
    async def statuses(seed: int) -> list[int]:
        async with LoopWeb(2, host_failure_rate={"127.0.0.2": 0.3}, failure_seed=seed) as web:
            web.publish(0, ["/page"])
            codes = [(await client.get(web.url(0, "/page"))).status_code for _ in range(200)]
            assert (await client.get(web.url(1, "/ok/steady"))).status_code == 200
            web.reset_counters()  # the sequence starts over
            again = [(await client.get(web.url(0, "/page"))).status_code for _ in range(200)]
            assert again == codes
            return codes

    first = await statuses(seed=1)
    assert set(first) == {200, 503}
    assert 30 <= first.count(503) <= 90  # about 30 %
    assert await statuses(seed=1) == first
    assert await statuses(seed=2) != first


def test_take_down_makes_one_host_refuse_connections() -> None:
    with LoopWeb(2).running_in_thread() as web, httpx.Client(timeout=3, trust_env=False) as c:
        assert c.get(web.url(0, "/ok/a")).status_code == 200  # a kept-alive connection
        web.take_down(0)
        with pytest.raises(httpx.TransportError):  # the kept-alive connection was dropped
            c.get(web.url(0, "/ok/a"))
        with pytest.raises(httpx.ConnectError):  # and a new one is refused
            c.get(web.url(0, "/ok/a"))
        assert c.get(web.url(1, "/ok/b")).status_code == 200
        with pytest.raises(ValueError, match="not listening"):
            web.take_down(0)


async def test_published_page_with_body_is_served_byte_for_byte(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Exact | Site</title></head><body>x</body></html>"
    web.publish(0, ["/2024/05/12/exact-story", "/"], Page(body=page))
    web.publish(0, ["/feed.json"], Page(body=b'{"items": []}', content_type="application/json"))
    r = await client.get(web.url(0, "/2024/05/12/exact-story"))
    assert (r.status_code, r.content) == (200, page)
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-length"] == str(len(page))
    assert (await client.get(web.url(0, "/"))).content == page  # no Site: "/" is publishable
    r = await client.get(web.url(0, "/feed.json"))
    assert (r.content, r.headers["content-type"]) == (b'{"items": []}', "application/json")
    head = await client.head(web.url(0, "/2024/05/12/exact-story"))
    assert (head.status_code, head.content) == (200, b"")
    assert (await client.get(web.url(0, "/2024/05/12/other-story"))).status_code == 404
