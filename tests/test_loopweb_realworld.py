"""Tests of the loopback web's real-world shapes: TLS, HEAD liars, CMS sections, soft 404s."""

from __future__ import annotations

import asyncio
import html
import re
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fakes.loopweb import NOT_FOUND_SHAPES, LoopWeb, Page, Site, Tls, make_tls

NAME = "h0001.bench.test"
NEWS, LIAR, CLOSED, GENERIC, HOME = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"
PLAIN, PLAIN2 = "127.0.0.7", "127.0.0.8"
SITES = {
    NEWS: Site(
        name="Daily Bugle",
        sections={"politics": "cms", "world": "not-found", "local": "404"},
        unknown="404",
        not_found_shape=4,
    ),
    LIAR: Site(name="Liar Times", head=200, sections={"gone": "not-found"}),
    CLOSED: Site(name="Closed Post", head=405),
    GENERIC: Site(name="Generic Herald", unknown="generic", sections={"news": "generic"}),
    HOME: Site(name="Home Gazette", unknown="home", titles="id"),
}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(("*.bench.test",), ips=[NEWS], directory=tmp_path_factory.mktemp("ca"))


@pytest.fixture
async def web(tls: Tls) -> AsyncIterator[LoopWeb]:
    async with LoopWeb(7, ssl_context=tls.context, sites=SITES) as server:
        yield server


@pytest.fixture
async def client(tls: Tls) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5, trust_env=False, verify=_trust(tls)) as c:
        yield c


def _trust(tls: Tls) -> ssl.SSLContext:
    """A client context trusting the throwaway CA only."""
    return ssl.create_default_context(cafile=str(tls.ca_pem))


def _sni(name: str = NAME) -> dict[str, object]:
    """Request extensions that make httpx verify the certificate for ``name``."""
    return {"sni_hostname": name}


def _title(text: str) -> str:
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    assert m is not None, text[:300]
    return html.unescape(m.group(1))


def _h1(text: str) -> str:
    m = re.search(r"<h1>(.*?)</h1>", text, re.S)
    assert m is not None, text[:300]
    return html.unescape(m.group(1))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


# ------------------------------------------------------------------------------------- TLS


async def test_tls_counts_connections_and_handshakes_and_keeps_alive(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    assert web.url(5, "/").startswith("https://127.0.0.7:")
    for i in range(5):
        r = await client.get(web.url(5, f"/ok/{i}"), extensions=_sni())
        assert r.status_code == 200
    r = await client.head(web.url(5, "/ok/head"), extensions=_sni())
    assert r.status_code == 200
    r = await client.get(web.url(6, "/ok/x"), extensions=_sni("h0002.bench.test"))
    assert r.status_code == 200
    assert web.connections_by_host == {PLAIN: 1, PLAIN2: 1}
    assert web.handshakes_by_host == {PLAIN: 1, PLAIN2: 1}
    assert web.requests_by_method_by_host == {PLAIN: {"GET": 5, "HEAD": 1}, PLAIN2: {"GET": 1}}
    stats = web.stats()
    assert stats.handshakes_by_host == {PLAIN: 1, PLAIN2: 1}
    assert stats.requests_by_method_by_host[PLAIN]["HEAD"] == 1
    assert stats.tls_failures_by_host == {}
    web.reset_counters()
    assert web.handshakes_by_host == {}
    assert web.requests_by_method_by_host == {}


async def test_tls_new_connection_costs_a_new_handshake(web: LoopWeb, tls: Tls) -> None:
    for _ in range(3):
        async with httpx.AsyncClient(verify=_trust(tls), trust_env=False) as c:
            assert (await c.get(web.url(5, "/ok/a"), extensions=_sni())).status_code == 200
    assert web.connections_by_host == {PLAIN: 3}
    assert web.handshakes_by_host == {PLAIN: 3}


async def test_client_without_the_ca_fails_the_handshake(web: LoopWeb) -> None:
    async with httpx.AsyncClient(trust_env=False) as c:  # system CAs only
        with pytest.raises(httpx.ConnectError):
            await c.get(web.url(0, "/ok/a"), extensions=_sni())
    await _until(lambda: web.tls_failures_by_host.get(NEWS) == 1)
    assert web.connections_by_host == {NEWS: 1}
    assert web.handshakes_by_host == {}
    assert web.total_requests == 0


async def test_wildcard_certificate_does_not_cover_other_names(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    with pytest.raises(httpx.ConnectError):
        await client.get(web.url(5, "/ok/a"), extensions=_sni("h1.other.test"))
    with pytest.raises(httpx.ConnectError):  # a wildcard covers one label only
        await client.get(web.url(5, "/ok/a"), extensions=_sni("a.h1.bench.test"))
    await _until(lambda: web.tls_failures_by_host.get(PLAIN) == 2)


async def test_ip_certificate_for_clients_that_send_no_server_name(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    web.publish(NEWS, ["/by-ip"])
    r = await client.get(web.url(0, "/by-ip"))  # no SNI: the IP certificate
    assert r.status_code == 200
    with pytest.raises(httpx.ConnectError):  # 127.0.0.7 is not in the IP certificate
        await client.get(web.url(5, "/ok/by-ip"))


def test_tls_in_thread_mode_with_sync_client(tls: Tls) -> None:
    with (
        LoopWeb(2, ssl_context=tls.context, tls_delay_ms=50).running_in_thread() as web,
        httpx.Client(verify=_trust(tls), trust_env=False) as c,
    ):
        r = c.get(web.url(0, "/ok/sync"), extensions=_sni())
        assert r.status_code == 200
        assert _title(r.text) == "Sync"
        assert web.handshakes_by_host == {NEWS: 1}


async def test_grammar_survives_tls(web: LoopWeb, client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadError):
        await client.get(web.url(5, "/reset/x"), extensions=_sni())
    r = await client.get(web.url(5, "/big/300000/x"), extensions=_sni())
    assert len(r.content) == 300_000
    r = await client.get(web.url(5, "/status/999/x"), extensions=_sni())
    assert r.status_code == 999


# ------------------------------------------------------------------------------ HEAD liars


async def test_head_liar_answers_200_to_head_while_get_says_404(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    web.publish(LIAR, ["/news/real-story"])
    for path in ("/news/real-story", "/news/no-such-story", "/gone/old-story"):
        assert (await client.head(web.url(LIAR, path), extensions=_sni())).status_code == 200
    assert (
        await client.get(web.url(LIAR, "/news/real-story"), extensions=_sni())
    ).status_code == 200
    r = await client.get(web.url(LIAR, "/news/no-such-story"), extensions=_sni())
    assert r.status_code == 404
    r = await client.get(web.url(LIAR, "/gone/old-story"), extensions=_sni())
    assert r.status_code == 200
    assert "not found" in (_title(r.text) + _h1(r.text)).lower()
    assert web.connections_by_host == {LIAR: 1}  # HEAD answers kept the connection
    assert web.requests_by_method_by_host[LIAR] == {"HEAD": 3, "GET": 3}


@pytest.mark.parametrize("status", [403, 404, 405, 501])
async def test_head_refused_regardless_keeps_the_connection(status: int, tls: Tls) -> None:
    sites = {NEWS: Site(name="Refuser", head=status)}
    async with (
        LoopWeb(1, ssl_context=tls.context, sites=sites) as web,
        httpx.AsyncClient(verify=_trust(tls), trust_env=False) as c,
    ):
        web.publish(0, ["/a/published"])
        for path in ("/a/published", "/", "/a/missing"):
            r = await c.head(web.url(0, path), extensions=_sni())
            assert r.status_code == status
            assert r.headers["connection"] == "keep-alive"
            assert r.content == b""
        if status == 405:
            assert "GET" in r.headers["allow"]
        assert (await c.get(web.url(0, "/a/published"), extensions=_sni())).status_code == 200
        assert web.connections_by_host == {NEWS: 1}


async def test_head_keeps_the_connection_on_ordinary_pages(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    for path in ("/ok/a", "/status/404/b", "/gone-home/c", "/big/400000/d", "/ok/e"):
        r = await client.head(web.url(5, path), extensions=_sni())
        assert r.headers["connection"] == "keep-alive", path
    assert web.connections_by_host == {"127.0.0.7": 1}


# ------------------------------------------------------------------------------------- CMS


async def test_cms_section_serves_a_different_article_per_slug(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    cited = "/politics/senate-probe-into-fund-2231"
    web.publish(NEWS, [cited])
    pages = {}
    for path in (cited, "/politics/3f9a0c11d2", "/politics/7be02d44aa", "/politics/x/y"):
        r = await client.get(web.url(NEWS, path), extensions=_sni())
        assert r.status_code == 200, path
        pages[path] = r.text
    assert _title(pages[cited]) == "Senate probe into fund | Daily Bugle"
    titles = {_title(t) for t in pages.values()}
    assert len(titles) == 4  # every slug a different article
    bodies = {re.sub(r"<title>.*?</title>", "", t) for t in pages.values()}
    assert len(bodies) == 4
    for path, text in pages.items():
        assert "not found" not in text.lower(), path
        assert "Daily Bugle" in _title(text)
    again = await client.get(web.url(NEWS, "/politics/3f9a0c11d2"), extensions=_sni())
    assert again.text == pages["/politics/3f9a0c11d2"]  # the same slug, the same article
    # other sections of the site keep their own modes; a root-level unknown is a 404
    assert (await client.get(web.url(NEWS, "/local/x"), extensions=_sni())).status_code == 404
    assert (await client.get(web.url(NEWS, "/politics"), extensions=_sni())).status_code == 404


# ------------------------------------------------------------------------- not found, 200


@pytest.mark.parametrize("shape", range(len(NOT_FOUND_SHAPES)))
async def test_not_found_shapes(shape: int, tls: Tls) -> None:
    sites = {NEWS: Site(name="Example Post", unknown="not-found", not_found_shape=shape)}
    async with (
        LoopWeb(1, ssl_context=tls.context, sites=sites) as web,
        httpx.AsyncClient(verify=_trust(tls), trust_env=False) as c,
    ):
        web.publish(0, ["/news/kept"])
        a = await c.get(web.url(0, "/news/lost-story-1"), extensions=_sni())
        b = await c.get(web.url(0, "/abc123def"), extensions=_sni())
        kept = await c.get(web.url(0, "/news/kept"), extensions=_sni())
    title, heading, text = NOT_FOUND_SHAPES[shape]
    assert a.status_code == b.status_code == kept.status_code == 200
    assert _title(a.text) == _title(b.text) == title.format(site="Example Post", path="")
    assert _h1(a.text) == heading.format(site="Example Post", path="")
    said = (_title(a.text) + " " + _h1(a.text)).lower()
    assert any(
        w in said for w in ("not found", "404", "error", "couldn", "can’t be found", "exist")
    )
    if "{path}" in text:  # echoes the path: bytes differ, the rest of the page does not
        assert "/news/lost-story-1" in a.text
        assert a.content != b.content
        assert a.text.replace("/news/lost-story-1", "") == b.text.replace("/abc123def", "")
    else:
        assert a.content == b.content
    assert "not found" not in _title(kept.text).lower()


def test_not_found_shapes_cover_the_real_world_titles() -> None:
    titles = {t.format(site="S", path="") for t, _, _ in NOT_FOUND_SHAPES}
    assert {"Page Not Found", "404", "Error", "Sorry, we couldn't find that page"} <= titles
    assert "Page not found – S" in titles
    assert "Oops! That page can’t be found." in titles  # curly apostrophe
    generic = [h for t, h, _ in NOT_FOUND_SHAPES if t == "{site}"]
    assert generic and all("not found" in h.lower() or "exist" in h for h in generic)


async def test_not_found_section_with_a_single_cited_url(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    r = await client.get(web.url(NEWS, "/world/only-cited-story"), extensions=_sni())
    probe = await client.get(web.url(NEWS, "/world/5c0ffee5"), extensions=_sni())
    assert r.status_code == probe.status_code == 200
    assert _title(r.text) == _title(probe.text) == "Page not found – Daily Bugle"
    assert "/world/only-cited-story" in r.text
    assert r.content != probe.content


async def test_generic_host_answers_every_unknown_path_with_the_home_page(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    web.publish(GENERIC, ["/news/real-article"])
    home = await client.get(web.url(GENERIC, "/"), extensions=_sni())
    assert _title(home.text) == "Generic Herald"
    for path in ("/news/lost-article", "/news/0badc0de", "/zz9", "/2020/01/02/9"):
        r = await client.get(web.url(GENERIC, path), extensions=_sni())
        assert r.status_code == 200
        assert r.content == home.content, path
    assert not _words(home.text) & {"found", "error", "sorry", "oops", "exist"}
    real = await client.get(web.url(GENERIC, "/news/real-article"), extensions=_sni())
    assert _title(real.text) == "Real article | Generic Herald"


async def test_home_host_redirects_unknown_paths_home(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    web.publish(HOME, ["/2024/05/12/123456"])
    r = await client.get(web.url(HOME, "/news/deep/lost"), extensions=_sni())
    assert r.status_code == 301
    assert r.headers["location"] == "/"
    kept = await client.get(web.url(HOME, "/2024/05/12/123456"), extensions=_sni())
    assert kept.status_code == 200
    assert _title(kept.text).endswith(" | Home Gazette")


# ------------------------------------------------------------------------- pages and titles


async def test_page_sizes_and_content_types(web: LoopWeb, client: httpx.AsyncClient) -> None:
    web.publish(NEWS, ["/local/long-read"], Page(size=150_000))
    web.publish(NEWS, ["/local/huge-read"], Page(size=300 * 1024))
    web.publish(NEWS, ["/reports/annual.pdf"], Page(size=40_000, content_type="application/pdf"))
    web.publish(NEWS, ["/local/short"])
    r = await client.get(web.url(NEWS, "/local/long-read"), extensions=_sni())
    assert len(r.content) == 150_000
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.index("<title>") < 1024  # the title is near the top, within any read cap
    assert r.text.rstrip().endswith("</html>")
    assert _title(r.text) == "Long read | Daily Bugle"
    r = await client.get(web.url(NEWS, "/local/huge-read"), extensions=_sni())
    assert len(r.content) == 300 * 1024
    r = await client.get(web.url(NEWS, "/reports/annual.pdf"), extensions=_sni())
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert len(r.content) == 40_000
    assert b"<title>" not in r.content
    r = await client.get(web.url(NEWS, "/local/short"), extensions=_sni())
    assert 2_000 < len(r.content) < 16_000
    assert web.connections_by_host == {NEWS: 1}  # every body read to its end: one connection


async def test_title_styles(web: LoopWeb, client: httpx.AsyncClient) -> None:
    web.publish(NEWS, ["/local/mayor-opens-harbour-tunnel.html", "/local/2024-05-12-9"])
    web.publish(HOME, ["/article?id=123", "/2024/05/12/123456"])
    r = await client.get(web.url(NEWS, "/local/mayor-opens-harbour-tunnel.html"), extensions=_sni())
    assert _title(r.text) == "Mayor opens harbour tunnel | Daily Bugle"
    r = await client.get(web.url(NEWS, "/local/2024-05-12-9"), extensions=_sni())
    assert _title(r.text).endswith(" | Daily Bugle")  # no words in the slug: a headline
    for target in ("/article?id=123", "/2024/05/12/123456"):
        r = await client.get(web.url(HOME, target), extensions=_sni())
        title = _title(r.text)
        assert title.endswith(" | Home Gazette")
        assert not _words(title.removesuffix(" | Home Gazette")) & _words(target), title
    web.publish(NEWS, ["/local/titled"], Page(title="A title of its own"))
    r = await client.get(web.url(NEWS, "/local/titled"), extensions=_sni())
    assert _title(r.text) == "A title of its own"


async def test_alias_puts_a_behaviour_at_a_realistic_url(
    web: LoopWeb, client: httpx.AsyncClient
) -> None:
    web.publish(NEWS, ["/local/withdrawn-story"])
    web.alias(NEWS, "/local/withdrawn-story", "/status/410/x")
    web.alias(NEWS, "/local/walled", "/cloudflare/x")
    web.alias(NEWS, "/local/moved", "/gone-home/x")
    r = await client.get(web.url(NEWS, "/local/withdrawn-story"), extensions=_sni())
    assert r.status_code == 410  # aliases come before published pages
    r = await client.get(web.url(NEWS, "/local/walled"), extensions=_sni())
    assert r.status_code == 403
    assert r.headers["cf-mitigated"] == "challenge"
    r = await client.get(web.url(NEWS, "/local/moved"), extensions=_sni())
    assert (r.status_code, r.headers["location"]) == (301, "/")
    assert web.count(NEWS, "/local/walled", "GET") == 1  # counted under the cited target


async def test_walled_site_walls_every_path(tls: Tls) -> None:
    sites = {NEWS: Site(wall="/cloudflare"), LIAR: Site(wall="/status/999")}
    async with (
        LoopWeb(2, ssl_context=tls.context, sites=sites) as web,
        httpx.AsyncClient(verify=_trust(tls), trust_env=False) as c,
    ):
        web.publish(NEWS, ["/news/published"])
        for path in ("/news/published", "/news/0a1b2c3d", "/"):
            r = await c.get(web.url(NEWS, path), extensions=_sni())
            assert (r.status_code, r.headers["cf-mitigated"]) == (403, "challenge")
        assert (await c.head(web.url(NEWS, "/x"), extensions=_sni())).status_code == 403
        assert (await c.get(web.url(LIAR, "/in/someone"), extensions=_sni())).status_code == 999


async def test_answer_lag_says_how_late_the_web_itself_was(tls: Tls) -> None:
    async with (
        LoopWeb(1, latency_ms=30, ssl_context=tls.context) as web,
        httpx.AsyncClient(verify=_trust(tls), trust_env=False) as c,
    ):
        for i in range(5):
            await c.get(web.url(0, f"/delay/20/{i}"), extensions=_sni())
        lag = web.stats().answer_lag
    assert lag["n"] == 5
    assert -0.005 < lag["p50"] <= lag["p99"] <= lag["max"] < 0.5  # latency and delay excluded
    web.reset_counters()
    assert web.stats().answer_lag == {}


def test_site_rejects_unknown_section_modes() -> None:
    with pytest.raises(ValueError, match="section mode"):
        LoopWeb(1, sites={NEWS: Site(sections={"a": "bogus"})})  # type: ignore[dict-item]


def test_plain_http_pages_are_unchanged() -> None:
    web = LoopWeb(1)
    assert web.scheme == "http"
    assert web.base_url(0).startswith("http://127.0.0.2:")


async def _until(predicate, seconds: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
