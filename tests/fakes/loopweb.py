"""Loopback test web: one raw-asyncio HTTP/1.1 server answering on many loopback addresses.

Every address (127.0.0.2, 127.0.0.3, ...) is a distinct "host" listening on the same port; the
host of a request is the local address the connection arrived on, never the Host header.
Behaviour is chosen by the path (the part after the listed prefix is free, so many distinct URLs
share a behaviour, e.g. ``/ok/article-123``):

==================================  ===========================================================
``/``                               home page (200) on every host
``/ok/...``                         200 HTML page, ``<title>``/``<h1>`` derived from the path
``/status/<code>/...``              that status with a small HTML body (200..999, e.g. 999)
``/delay/<ms>/...``                 wait ``ms`` more, then 200
``/hang/...``                       never answer (until the client leaves or the server stops)
``/reset/...``                      abort the connection with a TCP RST, no answer
``/close/...``                      close the connection cleanly, no answer
``/trickle/...``                    200 + headers at once, then one body byte per interval
``/redirect/<n>/...``               n 302 hops (``/redirect/<n-1>/...``), then ``/ok/...``
``/redirect-to?url=U&code=301``     redirect to any URL ``U`` (default code 302)
``/loop/...``                       ``.../a`` <-> ``.../b`` endless redirect loop
``/gone-home/[301|302/]...``        redirect to ``/`` (soft 404), default 301
``/soft404/...``                    200 "Page Not Found" page
``/cloudflare/...``                 403 Cloudflare challenge (``cf-mitigated: challenge``)
``/ratelimit/<times>/<ra>/...``     first ``times`` requests to the exact target: 429 with
                                    ``Retry-After: <ra>`` (``-`` none, ``date[N]`` HTTP-date
                                    N s ahead, default 1), then 200
``/flaky/<n>/<mode>/...``           first n requests to the exact target fail (``503`` or any
                                    status >= 400, ``reset``, ``close``, ``hang``), then 200
``/head-405|403|404/...``           HEAD answers that status, GET answers 200
``/gzip/...``                       small gzip-encoded page
``/gzip-bomb/...``                  ``Content-Encoding: gzip, gzip`` of 256 MiB zeros (~700 B)
``/big/<bytes>/...``                200 with a body of that size, streamed (``?type=`` sets the
                                    content type)
``/big-headers/...``                200 with ~200 KiB of response headers
``/no-content-length/...``          200, body delimited by connection close
``/echo/...``                       200 JSON describing the request (method, headers, host)
anything else                       404 (or the host mode's fallback)
==================================  ===========================================================

Every response waits ``latency_ms`` first (constructor, per host via ``host_latency_ms``, or per
request via the ``latency_ms`` query parameter / ``X-Loopweb-Latency-Ms`` header).
Flaky hosts (``host_failure_rate={addr: p}``): each request to such a host answers 503 with
probability ``p``, before anything else (published pages included); the draw is a hash of
(``failure_seed``, host, target, nth request to that target), so a run that sends the same
requests meets the same failures, and ``reset_counters`` starts the sequence over.
Host modes (``host_modes={addr: mode}``, see ``HOST_MODES``): ``soft404``, ``home-redirect``,
``down`` (address reserved but not listening: connection refused), ``site`` (a real site: see
below). ``web.take_down(host)`` makes a listening host refuse connections from then on.

Published pages: ``web.publish(host, paths)`` registers exact targets (path + query, compared
percent-decoded) that answer 200 with a page titled from the path, on any host and before
its mode. Publishing on a host without a mode puts it in ``site`` mode, where ``/ok/...`` no
longer answers everything: only published targets and ``/`` exist, every other path is 404,
and the rest of the grammar (``/status/...``, ``/hang/...``, ``/redirect/<n>/x`` → ``/ok/x``,
which must then be published...) keeps working, so a site can mix behaviours.
``web.publish(host, paths, Page(size=..., content_type=..., title=...))`` gives pages a
realistic size (the body is exactly ``size`` bytes) or makes them PDFs (no title);
``Page(body=b"...")`` serves exactly that body (with ``content_type``), e.g. a page built by
``tests.fakes.article_pages``.
``web.alias(host, target, "/status/410/x")`` serves a realistic URL as any grammar path
(``/hang/x``, ``/cloudflare/x``, ``/gone-home/x``...); aliases come before published pages.

Real-world sites (``LoopWeb(sites={addr: Site(...)})`` or ``web.set_site``), for the shapes of
``shared/REALWORLD.md``. Every page of a site shares its chrome (header, navigation, footer),
so pages differ by title and main text. Order: HEAD lie, alias, ``/`` (the site's home),
published page, path grammar, then the unknown path's section mode:

- titles: ``Site(titles="slug")`` (the default) titles a published page from its last
  segment (``/politics/senate-probe-into-fund-12`` → "Senate probe into fund | Name");
  ``titles="id"`` gives a headline that shares no word with the URL (``/article?id=123``,
  ``/2024/05/12/123456``); ``titles="path"`` keeps the plain loopweb title.
- ``Site(sections={"news": MODE}, unknown=MODE)``: what an unknown ``/<section>/<anything>``
  (``sections``) or any other unknown path (``unknown``) answers:
  ``404`` (default); ``cms`` 200 with *another* article, title and body from a hash of the
  path (every slug differs, as CMSs that ignore the slug); ``not-found`` a 200 "not found"
  page in the site's one shape (``NOT_FOUND_SHAPES``: "Page Not Found", "404", "Error",
  "Sorry, we couldn't find that page", "Page not found – Name", "Oops! That page can’t be
  found.", or the site name as title with a "not found" ``<h1>``; some echo the path, so two
  answers differ byte for byte but not in shape; ``Site(not_found_shape=i)`` picks one, else
  the address does); ``generic`` the home page byte for byte (home title, no "not found"
  words: only a content-comparing probe tells); ``home`` a 301 to ``/``.
- ``Site(wall="/cloudflare")``: a bot wall over the whole host, probes included (every
  request is served as that grammar prefix + its path; ``/status/999`` for LinkedIn's).
- ``Site(head=200)``: HEAD answers 200 for every path while GET tells the truth; ``head=403``,
  ``405``, ``501`` (or ``404``) answer that to every HEAD. HEAD answers keep the connection.

TLS: ``LoopWeb(ssl_context=make_tls().context)`` serves every host over TLS (``https://``
URLs); ``make_tls(names, ips)`` makes a throwaway CA (trustme), a certificate for ``names``
(default ``*.bench.test``) and optionally one for IP addresses (served to clients that send
no SNI), and writes the CA's PEM for clients (``Tls.ca_pem``). ``tls_delay_ms`` waits before
each handshake, standing in for its round trips. Accounting per host: TCP connections
accepted (``connections_by_host``), TLS handshakes completed (``handshakes_by_host``) and
failed (``tls_failures_by_host``), requests per method (``requests_by_method_by_host``).
Connections are kept alive (HTTP/1.1 with a Content-Length, HEAD answers included) until the
client closes them.

Run standalone: ``python -m tests.fakes.loopweb --hosts 5 --latency-ms 20``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import email.utils
import errno
import functools
import gzip
import hashlib
import html
import ipaddress
import itertools
import json
import random
import shutil
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Literal, NamedTuple
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = [
    "HOST_MODES",
    "LOGGED_HEADERS",
    "NOT_FOUND_SHAPES",
    "Action",
    "HostMode",
    "LogEntry",
    "LoopWeb",
    "Page",
    "Request",
    "Response",
    "SectionMode",
    "Site",
    "Stats",
    "Tls",
    "gzip_bomb",
    "loopback_addresses",
    "make_tls",
]

LOGGED_HEADERS = (
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "host",
    "range",
    "referer",
    "if-none-match",
    "if-modified-since",
)
"""Request headers copied into the request log."""

_CHUNK = 64 * 1024
_MAX_BODY = 1 << 20
_BIND_ATTEMPTS = 50
_TRICKLE_LENGTH = 1_000_000
_REASONS = {999: "Request denied"}


def loopback_addresses(count: int, first: str = "127.0.0.2") -> list[str]:
    """Return ``count`` distinct 127/8 addresses from ``first``, skipping .0/.255 last octets."""
    out: list[str] = []
    cur = int(ipaddress.IPv4Address(first))
    end = int(ipaddress.IPv4Address("127.255.255.254"))
    while len(out) < count:
        if cur > end:
            raise ValueError(f"not enough loopback addresses for {count} hosts")
        if cur & 0xFF not in (0, 255):
            out.append(str(ipaddress.IPv4Address(cur)))
        cur += 1
    return out


@functools.cache
def gzip_bomb(size: int = 256 << 20) -> bytes:
    """Return gzip(gzip(``size`` zero bytes)), built without materialising the zeros.

    Deflate output after a full flush does not depend on earlier input, so one compressed
    1 MiB block of zeros is repeated; only the CRC needs a pass over the data.
    """
    block = 1 << 20
    full, tail = divmod(size, block)
    zeros = bytes(block)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    parts = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", unit * full]
    parts.append(comp.compress(bytes(tail)) + comp.flush())
    crc = 0
    for _ in range(full):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(tail), crc)
    parts.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return gzip.compress(b"".join(parts), compresslevel=9, mtime=0)


# --------------------------------------------------------------------------- data types


@dataclass(slots=True)
class Request:
    """A parsed request as seen by route handlers."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    version: str
    headers: dict[str, str]
    host: str
    conn_id: int
    time: float
    nth: int = 0
    """How many requests (any method, this one included) hit this exact host + target."""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def keep_alive(self) -> bool:
        """Whether the client allows the connection to persist."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass(slots=True)
class Response:
    """A response to write; ``stream`` (with optional ``length``) replaces ``body``."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterable[bytes] | None = None
    length: int | None = None
    """Content-Length of ``stream``; None means close-delimited."""
    delay: float = 0.0
    """Seconds to wait (on top of the latency) before answering."""


@dataclass(frozen=True, slots=True)
class Action:
    """A non-response behaviour."""

    kind: Literal["hang", "reset", "close", "trickle"]


Reply = Response | Action
Route = Callable[["LoopWeb", Request, list[str]], Awaitable[Reply | None]]


@dataclass(frozen=True, slots=True)
class HostMode:
    """Per-host behaviour: ``override`` runs before the path grammar, ``fallback`` after an
    unknown path; either may return None to pass. ``listen=False`` leaves the host down."""

    override: Callable[[LoopWeb, Request], Reply | None] | None = None
    fallback: Callable[[LoopWeb, Request], Reply | None] | None = None
    listen: bool = True


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One logged request; ``time`` is ``time.monotonic()`` when its headers were read."""

    time: float
    host: str
    method: str
    target: str
    headers: dict[str, str]
    conn_id: int


@dataclass(frozen=True, slots=True)
class Stats:
    """A consistent snapshot of the server-side accounting."""

    total_requests: int
    requests_by_host: dict[str, int]
    requests_by_key: dict[tuple[str, str, str], int]
    """(method, host, target) -> count."""
    requests_by_target: dict[tuple[str, str], int]
    """(host, target) -> count, all methods."""
    inflight_by_host: dict[str, int]
    max_inflight_by_host: dict[str, int]
    connections_by_host: dict[str, int]
    """TCP connections accepted."""
    log: list[LogEntry]
    errors: list[str]
    requests_by_method_by_host: dict[str, Counter[str]] = field(default_factory=dict)
    """host -> Counter of request methods."""
    handshakes_by_host: dict[str, int] = field(default_factory=dict)
    """TLS handshakes completed (TLS webs only)."""
    tls_failures_by_host: dict[str, int] = field(default_factory=dict)
    """TLS handshakes that failed (the client refused the certificate, left, timed out)."""
    answer_lag: dict[str, float] = field(default_factory=dict)
    """How late the web was ready to answer beyond its intended latency, in seconds (``n``,
    ``mean``, ``p50``, ``p99``, ``max``): large values mean the fake web, not the client,
    set the pace."""


def _lag_summary(lags: list[float]) -> dict[str, float]:
    if not lags:
        return {}
    ordered = sorted(lags)
    n = len(ordered)
    return {
        "n": float(n),
        "mean": sum(ordered) / n,
        "p50": ordered[n // 2],
        "p99": ordered[min(n - 1, int(n * 0.99))],
        "max": ordered[-1],
    }


class _Accounting:
    """Counters guarded by a lock so other threads can read them."""

    def __init__(self, log_limit: int) -> None:
        self.lock = threading.Lock()
        self.log_limit = log_limit
        self.inflight: Counter[str] = Counter()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.by_host: Counter[str] = Counter()
            self.by_key: Counter[tuple[str, str, str]] = Counter()
            self.by_target: Counter[tuple[str, str]] = Counter()
            self.times: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
            self.max_inflight: Counter[str] = Counter(+self.inflight)
            self.connections: Counter[str] = Counter()
            self.handshakes: Counter[str] = Counter()
            self.tls_failures: Counter[str] = Counter()
            self.by_method: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self.lags: list[float] = []
            self.log: deque[LogEntry] = deque(maxlen=self.log_limit)
            self.errors: list[str] = []

    def begin(self, req: Request) -> int:
        entry = LogEntry(
            req.time,
            req.host,
            req.method,
            req.target,
            {k: req.headers[k] for k in LOGGED_HEADERS if k in req.headers},
            req.conn_id,
        )
        with self.lock:
            self.total += 1
            self.by_host[req.host] += 1
            self.by_key[req.method, req.host, req.target] += 1
            self.by_target[req.host, req.target] += 1
            self.by_method[req.host][req.method] += 1
            self.times[req.host, req.target].append(req.time)
            self.log.append(entry)
            n = self.inflight[req.host] = self.inflight[req.host] + 1
            self.max_inflight[req.host] = max(self.max_inflight[req.host], n)
            return self.by_target[req.host, req.target]

    def lag(self, seconds: float) -> None:
        with self.lock:
            if len(self.lags) < 1_000_000:
                self.lags.append(seconds)

    def end(self, host: str) -> None:
        with self.lock:
            self.inflight[host] -= 1

    def snapshot(self) -> Stats:
        with self.lock:
            return Stats(
                self.total,
                dict(self.by_host),
                dict(self.by_key),
                dict(self.by_target),
                dict(+self.inflight),
                dict(self.max_inflight),
                dict(self.connections),
                list(self.log),
                list(self.errors),
                {host: Counter(c) for host, c in self.by_method.items()},
                dict(self.handshakes),
                dict(self.tls_failures),
                _lag_summary(self.lags),
            )


# --------------------------------------------------------------------------- pages


def _reason(status: int) -> str:
    if status in _REASONS:
        return _REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _humanize(segments: list[str]) -> str:
    words = [unquote(s).replace("-", " ").replace("_", " ").strip() for s in segments]
    words = [w[:1].upper() + w[1:] for w in words if w]
    return " / ".join(words)


def served_title(url: str) -> str | None:
    """The title loopweb serves for ``url`` on a host without a site: an ``/ok/...`` page's
    or a published page's (so a test event can cite the page it links to); None for other
    paths of the grammar, and URLs that do not parse."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[0] == "ok":
        return _humanize(segments[1:]) or "OK"
    return None


def html_page(
    title: str, heading: str, text: str, *, extra_head: str = "", links: Iterable[str] = ()
) -> bytes:
    """Render a small realistic HTML page."""
    e = html.escape
    items = "".join(f'<li><a href="{e(u)}">{e(u)}</a></li>' for u in links)
    nav = f"<nav><ul>{items}</ul></nav>" if items else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n"
        f'<meta name="description" content="{e(text[:150])}">\n'
        f'<meta property="og:title" content="{e(title)}">\n{extra_head}</head>\n'
        f'<body>\n<header><a href="/">Loopweb</a></header>\n<main>\n<h1>{e(heading)}</h1>\n'
        f"<p>{e(text)}</p>\n{nav}\n</main>\n<footer>Served by loopweb.</footer>\n</body>\n</html>\n"
    ).encode()


def _html(status: int, body: bytes, *headers: tuple[str, str]) -> Response:
    return Response(status, body, [("Content-Type", "text/html; charset=utf-8"), *headers])


def _status_page(status: int, req: Request) -> Response:
    phrase = _reason(status)
    body = html_page(f"{status} {phrase}", phrase, f"{req.method} {req.path} -> {status}.")
    return _html(status, body)


def _redirect(location: str, code: int = 302) -> Response:
    body = html_page(_reason(code), _reason(code), f"Moved to {location}.", links=[location])
    return _html(code, body, ("Location", location))


def _with_query(path: str, req: Request) -> str:
    query = urlsplit(req.target).query
    return f"{path}?{query}" if query else path


# --------------------------------------------------------------------------- routes


async def _r_home(web: LoopWeb, req: Request, args: list[str]) -> Reply | None:
    if args and args != [""]:
        return None
    links = ["/ok/about", "/ok/contact", "/ok/news/latest"]
    return _html(
        200,
        html_page(
            f"Loopweb {req.host}",
            f"Welcome to {req.host}",
            "The home page of a loopback test site.",
            links=links,
        ),
    )


async def _r_ok(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    title = _humanize(args) or "OK"
    canonical = f'<link rel="canonical" href="{web.base_url(req.host)}{req.path}">\n'
    text = f"This is the page at {req.path} on {req.host}. It exists and answers 200."
    return _html(200, html_page(title, title, text, extra_head=canonical))


async def _r_status(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    code = _int(args, 0)
    if code is None or not 200 <= code <= 999:
        return _status_page(400, req)
    if code in (204, 304):
        return Response(code)
    if code == 999:
        body = (
            b"<html><head><script>window.onload=function(){window.location.href="
            b"'https://www.linkedin.com/authwall';}</script></head><body></body></html>"
        )
        return _html(999, body)
    resp = _status_page(code, req)
    if code == 401:
        resp.headers.append(("WWW-Authenticate", 'Basic realm="loopweb"'))
    if code == 405:
        resp.headers.append(("Allow", "GET"))
    location = req.arg("location")
    if location:
        resp.headers.append(("Location", location))
    return resp


async def _r_delay(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    ms = _float(args, 0)
    if ms is None or ms < 0:
        return _status_page(400, req)
    resp = await _r_ok(web, req, args[1:])
    assert isinstance(resp, Response)
    resp.delay = ms / 1000
    return resp


def _action(kind: Literal["hang", "reset", "close", "trickle"]) -> Route:
    async def route(web: LoopWeb, req: Request, args: list[str]) -> Reply:
        return Action(kind)

    return route


async def _r_redirect(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    n = _int(args, 0)
    if n is None or n < 0:
        return _status_page(400, req)
    tail = "/".join(args[1:])
    if n == 0:
        return await _r_ok(web, req, args[1:])
    nxt = f"/redirect/{n - 1}/{tail}" if n > 1 else f"/ok/{tail}"
    return _redirect(_with_query(nxt, req), _int([req.arg("code", "302") or ""], 0) or 302)


async def _r_redirect_to(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    url = req.arg("url")
    code = _int([req.arg("code", "302") or ""], 0)
    if not url or code is None:
        return _status_page(400, req)
    return _redirect(url, code)


async def _r_loop(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    base = [a for a in args if a]
    if base and base[-1] in ("a", "b"):
        nxt = [*base[:-1], "b" if base[-1] == "a" else "a"]
    else:
        nxt = [*base, "a"]
    return _redirect("/loop/" + "/".join(nxt))


async def _r_gone_home(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    code = 302 if args[:1] == ["302"] else 301
    return _redirect("/", code)


async def _r_soft404(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    return _html(
        200,
        html_page(
            "Page Not Found",
            "Sorry, that page does not exist",
            "The page you requested could not be found.",
            links=["/"],
        ),
    )


async def _r_cloudflare(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    body = (
        b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        b'<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
        b"<h1>Checking if the site connection is secure</h1><noscript>Enable JavaScript and "
        b"cookies to continue</noscript><script>window._cf_chl_opt={cType:'managed'};</script>"
        b"</div></body></html>"
    )
    return _html(
        403,
        body,
        ("Server", "cloudflare"),
        ("cf-mitigated", "challenge"),
        ("cf-ray", f"{req.conn_id:016x}-LHR"),
        ("Cache-Control", "no-store"),
    )


async def _r_ratelimit(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    times = _int(args, 0)
    spec = args[1] if len(args) > 1 else "-"
    if times is None:
        return _status_page(400, req)
    if req.nth > times:
        return await _r_ok(web, req, args[2:])
    resp = _status_page(429, req)
    if spec.startswith("date"):
        try:
            ahead = float(spec[4:] or 1)
        except ValueError:
            return _status_page(400, req)
        resp.headers.append(
            ("Retry-After", email.utils.formatdate(time.time() + ahead, usegmt=True))
        )
    elif spec != "-":
        resp.headers.append(("Retry-After", spec))
    return resp


_FLAKY_ACTIONS = {kind: Action(kind) for kind in ("reset", "close", "hang")}


async def _r_flaky(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    n = _int(args, 0)
    mode = args[1] if len(args) > 1 else "503"
    if n is None:
        return _status_page(400, req)
    if req.nth > n:
        return await _r_ok(web, req, args[2:])
    if mode in _FLAKY_ACTIONS:
        return _FLAKY_ACTIONS[mode]
    code = _int([mode], 0)
    if code is None or not 400 <= code <= 999:
        return _status_page(400, req)
    return _status_page(code, req)


def _head_only(code: int) -> Route:
    async def route(web: LoopWeb, req: Request, args: list[str]) -> Reply:
        if req.method == "HEAD":
            resp = _status_page(code, req)
            if code == 405:
                resp.headers.append(("Allow", "GET"))
            return resp
        return await _r_ok(web, req, args)

    return route


async def _r_gzip(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    page = (await _r_ok(web, req, args)).body  # type: ignore[union-attr]
    return _html(
        200, gzip.compress(page, mtime=0), ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")
    )


async def _r_gzip_bomb(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    return _html(200, gzip_bomb(web.bomb_size), ("Content-Encoding", "gzip, gzip"))


def _big_stream(size: int) -> Iterator[bytes]:
    head = b"<!DOCTYPE html><html><head><title>Big page</title></head><body>\n"
    filler = b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n"
    chunk = (head + filler * (_CHUNK // len(filler) + 1))[:_CHUNK]
    rest = (filler * (_CHUNK // len(filler) + 1))[:_CHUNK]
    sent = 0
    while sent < size:
        piece = chunk if sent == 0 else rest
        piece = piece[: size - sent]
        sent += len(piece)
        yield piece


async def _r_big(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    size = _int(args, 0)
    if size is None or size < 0:
        return _status_page(400, req)
    ctype = req.arg("type") or "text/html; charset=utf-8"
    return Response(200, headers=[("Content-Type", ctype)], stream=_big_stream(size), length=size)


async def _r_big_headers(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    resp = await _r_ok(web, req, args)
    assert isinstance(resp, Response)
    resp.headers.extend((f"X-Filler-{i:03d}", "h" * 1024) for i in range(200))
    return resp


async def _r_no_content_length(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    resp = await _r_ok(web, req, args)
    assert isinstance(resp, Response)
    return Response(200, headers=resp.headers, stream=[resp.body], length=None)


async def _r_echo(web: LoopWeb, req: Request, args: list[str]) -> Reply:
    data = {
        "method": req.method,
        "target": req.target,
        "host": req.host,
        "conn_id": req.conn_id,
        "nth": req.nth,
        "headers": req.headers,
    }
    return Response(200, json.dumps(data).encode(), [("Content-Type", "application/json")])


ROUTES: dict[str, Route] = {
    "": _r_home,
    "ok": _r_ok,
    "status": _r_status,
    "delay": _r_delay,
    "hang": _action("hang"),
    "reset": _action("reset"),
    "close": _action("close"),
    "trickle": _action("trickle"),
    "redirect": _r_redirect,
    "redirect-to": _r_redirect_to,
    "loop": _r_loop,
    "gone-home": _r_gone_home,
    "soft404": _r_soft404,
    "cloudflare": _r_cloudflare,
    "ratelimit": _r_ratelimit,
    "flaky": _r_flaky,
    "head-405": _head_only(405),
    "head-403": _head_only(403),
    "head-404": _head_only(404),
    "gzip": _r_gzip,
    "gzip-bomb": _r_gzip_bomb,
    "big": _r_big,
    "big-headers": _r_big_headers,
    "no-content-length": _r_no_content_length,
    "echo": _r_echo,
}
"""First path segment -> handler. Handlers get the remaining segments."""


def _int(args: list[str], i: int) -> int | None:
    try:
        return int(args[i])
    except (IndexError, ValueError):
        return None


def _float(args: list[str], i: int) -> float | None:
    try:
        return float(args[i])
    except (IndexError, ValueError):
        return None


def _soft404_mode(web: LoopWeb, req: Request) -> Reply | None:
    if req.path == "/":
        return None
    title = f"Welcome to {req.host}"
    return _html(
        200, html_page(title, title, "Browse our content from the home page.", links=["/"])
    )


def _home_redirect_mode(web: LoopWeb, req: Request) -> Reply | None:
    return _redirect("/", 301)


def _site_mode(web: LoopWeb, req: Request) -> Reply | None:
    if req.path == "/ok" or req.path.startswith("/ok/"):
        return _status_page(404, req)  # only published pages exist
    return None


def _aliased(req: Request, to: str) -> Request:
    split = urlsplit(to)
    return replace(
        req,
        target=to,
        path=split.path or "/",
        query=parse_qs(split.query, keep_blank_values=True),
    )


def _published_page(web: LoopWeb, req: Request) -> Response:
    site = web.site_of(req.host)
    page = web.page_of(req.host, req.target)
    if page is not None and page.body is not None:
        return Response(200, page.body, [("Content-Type", page.content_type)])
    if site is not None or page is not None:
        return _article_page(web, req, site or Site(titles="path"), page or Page())
    segments = [s for s in req.path.split("/") if s]
    query = urlsplit(req.target).query
    title = _humanize(segments) or f"Home of {req.host}"
    if query:
        title += f" ({unquote(query)})"
    canonical = f'<link rel="canonical" href="{web.base_url(req.host)}{req.target}">\n'
    text = f"This is the published page {req.target} on {req.host}."
    return _html(200, html_page(title, title, text, extra_head=canonical))


def _draw(seed: int, host: str, target: str, nth: int) -> float:
    """A uniform number in [0, 1) fixed by its arguments (flaky hosts)."""
    digest = hashlib.blake2b(f"{seed} {host} {target} {nth}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _target_key(target: str) -> str:
    """Compare targets percent-decoded (and raw non-ASCII bytes read as UTF-8)."""
    with contextlib.suppress(UnicodeError):
        target = target.encode("latin-1").decode("utf-8")
    return unquote(target)


# --------------------------------------------------------------------------- real-world sites

SectionMode = Literal["404", "cms", "not-found", "generic", "home"]
"""What an unknown path in a section (or on the whole host) answers on a ``Site``:

``404``        a real 404 (the default)
``cms``        200 with *another* article, different per slug (a CMS ignoring the slug)
``not-found``  200 "not found" page in the site's shape (see ``NOT_FOUND_SHAPES``)
``generic``    200 with the home page, byte for byte (no "not found" words anywhere)
``home``       301 to ``/``
"""

_SECTION_MODES = frozenset(("404", "cms", "not-found", "generic", "home"))


@dataclass(frozen=True, slots=True)
class Site:
    """How a host behaves like a real site (``LoopWeb(sites={addr: Site(...)})``).

    ``sections`` maps a first path segment to a ``SectionMode`` for unknown paths
    ``/<section>/<anything>``; other unknown paths (root-level ones included) answer
    ``unknown``. Published pages and the path grammar come first, so a site mixes them.
    """

    name: str = ""
    """Site name, used in titles (``"Senate probe | Name"``); default ``Site <addr>``."""
    titles: Literal["path", "slug", "id"] = "slug"
    """Published page titles: ``slug`` repeats the last segment's words + `` | Name``
    (``/politics/senate-probe-into-fund`` → ``Senate probe into fund | Name``); ``id`` is a
    headline that shares no word with the URL (``/article?id=123``, ``/2024/05/12/123456``);
    ``path`` is the plain loopweb title (path segments humanised)."""
    unknown: SectionMode = "404"
    sections: Mapping[str, SectionMode] = field(default_factory=dict)
    not_found_shape: int | None = None
    """Index into ``NOT_FOUND_SHAPES``; None picks one from the host address."""
    head: int | None = None
    """HEAD answers this status for every path whatever GET says (200, 403, 404, 405, 501)."""
    wall: str | None = None
    """A bot wall over the whole host: every request (probes too) is served as this grammar
    prefix + its path, e.g. ``/cloudflare`` (a challenge) or ``/status/999``."""

    def mode_for(self, path: str) -> SectionMode:
        """The mode of an unknown ``path`` on this site."""
        segments = [s for s in path.split("/") if s]
        if len(segments) > 1:
            return self.sections.get(segments[0], self.unknown)
        return self.unknown


@dataclass(frozen=True, slots=True)
class Page:
    """A published page's shape (``web.publish(host, paths, Page(...))``)."""

    size: int | None = None
    """Body bytes exactly (filled with paragraphs); None: a small page of a few KiB."""
    content_type: str = "text/html; charset=utf-8"
    """``application/pdf`` serves a PDF-looking body without a title."""
    title: str | None = None
    """None: from the path and the site's title style."""
    body: bytes | None = None
    """Serve exactly these bytes (with ``content_type``); ``size`` and ``title`` are then
    ignored. On a host with a ``Site``, ``/`` stays the site's home page."""


NOT_FOUND_SHAPES: tuple[tuple[str, str, str], ...] = (
    ("Page Not Found", "Page Not Found", "The page you requested ({path}) could not be found."),
    ("404", "404", "Nothing to see here."),
    ("Error", "Error", "We could not find {path} on this server."),
    ("Sorry, we couldn't find that page", "Sorry, we couldn't find that page",
     "Try the search box or start again from the home page."),
    ("Page not found – {site}", "Page not found", "Nothing lives at {path} any more."),
    ("Oops! That page can’t be found.", "Oops! That page can’t be found.",
     "It looks like nothing was found at this location. Maybe try a search?"),
    ("{site}", "Page not found", "The address {path} does not match any page on {site}."),
    ("{site}", "404 - File or directory not found.",
     "The resource you are looking for might have been removed, had its name changed, or is "
     "temporarily unavailable."),
    ("{site}", "Sorry, the page you were looking for doesn't exist", "You asked for {path}."),
)  # fmt: skip
"""(title, first heading, text) of 200 "not found" pages; ``{site}`` is the site name and
``{path}`` the requested path (echoed, so two such pages differ byte for byte)."""

_HEADLINE_WORDS = (
    "minister", "council", "harbour", "election", "pension", "railway", "mayor", "summit",
    "budget", "inquiry", "tariff", "port", "energy", "charity", "treasury", "regulator",
    "merger", "verdict", "customs", "mining", "festival", "hospital", "airline", "tunnel",
    "weather", "museum", "campus", "stadium", "refinery", "pipeline", "satellite", "vaccine",
)  # fmt: skip
_PROSE_WORDS = (
    "the", "a", "of", "and", "to", "in", "said", "officials", "documents", "reviewed", "by",
    "which", "was", "were", "according", "people", "familiar", "with", "matter", "records",
    "show", "that", "last", "year", "company", "payments", "through", "accounts", "held",
    "abroad", "spokesperson", "declined", "comment", "statement", "later", "added", "it",
    "has", "not", "been", "previously", "reported", "investigators", "agency", "filed",
)  # fmt: skip


def _seeded(*parts: object) -> random.Random:
    digest = hashlib.blake2b(" ".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@functools.cache
def _paragraph_pool() -> tuple[str, ...]:
    rng = random.Random(20240512)
    pool = []
    for _ in range(97):
        words = rng.choices(_PROSE_WORDS, k=rng.randint(40, 90))
        sentence = " ".join(words)
        pool.append(f"<p>{sentence[:1].upper()}{sentence[1:]}.</p>\n")
    return tuple(pool)


def _paragraphs(rng: random.Random, size: int) -> str:
    """Prose of about ``size`` characters, chosen by ``rng``."""
    pool, out, total = _paragraph_pool(), [], 0
    while total < size:
        piece = rng.choice(pool)
        out.append(piece)
        total += len(piece)
    return "".join(out)


def _headline(rng: random.Random) -> str:
    words = rng.sample(_HEADLINE_WORDS, rng.randint(3, 5))
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _site_name(site: Site, host: str) -> str:
    return site.name or f"Site {host}"


def _site_html(
    req: Request, site: Site, title: str, heading: str, main: str, *, canonical: str = ""
) -> str:
    """A page in the site's chrome: the same header, navigation and footer on every page."""
    e = html.escape
    name = _site_name(site, req.host)
    sections = sorted(site.sections) or ["news"]
    nav = "".join(f'<li><a href="/{e(s)}/">{e(s.title())}</a></li>' for s in sections)
    rng = _seeded("chrome", req.host, name)
    footer = "".join(f'<li><a href="/about/{i}">{e(_headline(rng))}</a></li>' for i in range(24))
    link = f'<link rel="canonical" href="{e(canonical)}">\n' if canonical else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta property="og:site_name" content="{e(name)}">\n{link}'
        '<link rel="stylesheet" href="/static/site.css">\n</head>\n<body>\n'
        f'<header><a class="logo" href="/">{e(name)}</a><nav><ul>{nav}</ul></nav></header>\n'
        f"<main>\n<h1>{e(heading)}</h1>\n{main}</main>\n"
        f"<footer><ul>{footer}</ul><p>© {e(name)}</p></footer>\n</body>\n</html>\n"
    )


def _slug_words(segments: list[str]) -> str:
    """``senate-probe-into-fund-123.html`` → ``Senate probe into fund`` ('' if no words)."""
    last = unquote(segments[-1]) if segments else ""
    for ext in (".html", ".htm", ".php", ".aspx", ".shtml"):
        last = last.removesuffix(ext)
    words = [w for w in last.replace("_", "-").split("-") if w and not w.isdigit()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _site_home(web: LoopWeb, req: Request, site: Site) -> Response:
    """The home page; also what a ``generic`` section answers, identical for every path."""
    name = _site_name(site, req.host)
    rng = _seeded("home", req.host, name)
    teasers = "".join(
        f"<article><h2>{html.escape(_headline(rng))}</h2></article>\n" for _ in range(12)
    )
    body = _site_html(req, site, name, name, teasers + _paragraphs(rng, 3000))
    return _html(200, body.encode())


def _cms_page(web: LoopWeb, req: Request, site: Site) -> Response:
    """Some other article: title and body follow from the path, so every slug differs."""
    rng = _seeded("cms", req.host, req.path)
    title = _headline(rng)
    main = f'<p class="byline">By {html.escape(_headline(rng))}</p>\n'
    main += _paragraphs(rng, rng.randint(2_000, 20_000))
    page = _site_html(req, site, f"{title} | {_site_name(site, req.host)}", title, main)
    return _html(200, page.encode())


def _not_found_page(web: LoopWeb, req: Request, site: Site) -> Response:
    """A 200 "not found" page in the site's one shape (it echoes the path in some shapes)."""
    shape = site.not_found_shape
    if shape is None:
        shape = _seeded("shape", req.host).randrange(len(NOT_FOUND_SHAPES))
    title, heading, text = NOT_FOUND_SHAPES[shape % len(NOT_FOUND_SHAPES)]
    values = {"site": _site_name(site, req.host), "path": unquote(req.path)}
    main = f"<p>{html.escape(text.format(**values))}</p>\n"
    main += '<form action="/search"><input name="q"><button>Search</button></form>\n'
    page = _site_html(req, site, title.format(**values), heading.format(**values), main)
    return _html(200, page.encode())


def _site_unknown(web: LoopWeb, req: Request, site: Site) -> Reply | None:
    mode = site.mode_for(req.path)
    if mode == "cms":
        return _cms_page(web, req, site)
    if mode == "not-found":
        return _not_found_page(web, req, site)
    if mode == "generic":
        return _site_home(web, req, site)
    if mode == "home":
        return _redirect("/", 301)
    return None


def _head_lie(status: int, web: LoopWeb, req: Request, site: Site) -> Response:
    if status == 200:
        return _site_home(web, req, site)  # HEAD: the headers of some page, no body sent
    resp = _status_page(status, req)
    if status == 405:
        resp.headers.append(("Allow", "GET, POST"))
    return resp


def _sized(prefix: str, filler: str, suffix: str, size: int) -> bytes:
    head, tail = prefix.encode(), suffix.encode()
    room = size - len(head) - len(tail)
    if room <= 0:
        return (head + tail)[:size]
    body = filler.encode()
    while len(body) < room:
        body += body
    return head + body[:room] + tail


def _pdf(rng: random.Random, size: int) -> bytes:
    head = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    stream = "2 0 obj\n<< /Length 0 >>\nstream\n" + _paragraphs(rng, min(size, 4096))
    return _sized(head, stream, "\nendstream\nendobj\n%%EOF\n", max(size, 200))


def _article_page(web: LoopWeb, req: Request, site: Site, page: Page) -> Response:
    """A published page of a site: title by the site's style, body of ``page.size``."""
    segments = [s for s in req.path.split("/") if s]
    rng = _seeded("article", req.host, req.target)
    if page.content_type.startswith("application/pdf"):
        return Response(200, _pdf(rng, page.size or 30_000), [("Content-Type", page.content_type)])
    name = _site_name(site, req.host)
    if page.title is not None:
        title = heading = page.title
    elif site.titles == "path":
        query = urlsplit(req.target).query
        heading = _humanize(segments) or f"Home of {req.host}"
        title = heading + (f" ({unquote(query)})" if query else "")
    else:
        heading = (_slug_words(segments) if site.titles == "slug" else "") or _headline(rng)
        title = f"{heading} | {name}"
    main = f'<p class="byline">By {html.escape(_headline(rng))}</p>\n'
    canonical = web.base_url(req.host) + req.target
    if page.size is None:
        text = _site_html(
            req, site, title, heading, main + _paragraphs(rng, 2500), canonical=canonical
        )
        return _html(200, text.encode())
    full = _site_html(req, site, title, heading, main + "\x00", canonical=canonical)
    prefix, _, suffix = full.partition("\x00")
    body = _sized(prefix, _paragraphs(rng, min(page.size, 32_768)), suffix, page.size)
    return Response(200, body, [("Content-Type", page.content_type)])


# --------------------------------------------------------------------------- TLS


class Tls(NamedTuple):
    """A throwaway CA's server context and the CA certificate (PEM) clients must trust."""

    context: ssl.SSLContext
    ca_pem: Path


def make_tls(
    names: Iterable[str] = ("*.bench.test",),
    ips: Iterable[str] = (),
    directory: Path | None = None,
) -> Tls:
    """A server context with a certificate for ``names`` (wildcards allowed) signed by a new
    CA, and the CA's PEM (written to ``directory``, default a new temporary folder).

    With ``ips``, a client that sends no server name (one connecting to an IP address) gets a
    second certificate listing those addresses (and ``names``), chosen by an SNI callback,
    so named clients keep a small certificate.
    """
    import trustme  # noqa: PLC0415 (a dev dependency; plain-HTTP users need not have it)

    ca = trustme.CA(organization_name="loopweb throwaway CA")
    names, ips = list(names), list(ips)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.set_alpn_protocols(["http/1.1"])
    ca.issue_cert(*names).configure_cert(context)
    if ips:
        by_ip = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        by_ip.set_alpn_protocols(["http/1.1"])
        ca.issue_cert(*ips, *names).configure_cert(by_ip)

        def pick(
            conn: ssl.SSLSocket | ssl.SSLObject, server_name: str | None, _: ssl.SSLContext
        ) -> None:
            if server_name is None or _is_ip(server_name):
                conn.context = by_ip

        context.sni_callback = pick
    folder = directory
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="loopweb-ca-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    pem = folder / "loopweb-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return Tls(context, pem)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


HOST_MODES: dict[str, HostMode] = {
    "normal": HostMode(),
    "soft404": HostMode(override=_soft404_mode),
    "home-redirect": HostMode(fallback=_home_redirect_mode),
    "down": HostMode(listen=False),
    "site": HostMode(override=_site_mode),
}
"""Host mode name -> behaviour; add entries here for new modes."""


# --------------------------------------------------------------------------- server


class _PausedProtocol(asyncio.StreamReaderProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()
        super().connection_made(transport)


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class LoopWeb:
    """HTTP/1.1 server on many loopback addresses sharing one port; see the module docstring."""

    def __init__(
        self,
        hosts: int | list[str] = 3,
        port: int = 0,
        latency_ms: float = 0,
        host_modes: dict[str, str] | None = None,
        *,
        host_latency_ms: dict[str, float] | None = None,
        host_failure_rate: dict[str, float] | None = None,
        failure_seed: int = 0,
        trickle_interval: float = 1.0,
        header_limit: int = 64 * 1024,
        bomb_size: int = 256 << 20,
        log_limit: int = 100_000,
        backlog: int = 1024,
        ssl_context: ssl.SSLContext | None = None,
        tls_delay_ms: float = 0,
        sites: Mapping[str, Site] | None = None,
    ) -> None:
        self.hosts: list[str] = loopback_addresses(hosts) if isinstance(hosts, int) else list(hosts)
        if not self.hosts:
            raise ValueError("need at least one host")
        for addr in self.hosts:
            if not ipaddress.IPv4Address(addr).is_loopback:
                raise ValueError(f"{addr} is not a loopback address")
        self.host_modes = dict(host_modes or {})
        for addr, mode in self.host_modes.items():
            if mode not in HOST_MODES:
                raise ValueError(f"unknown host mode {mode!r} (have {sorted(HOST_MODES)})")
            if addr not in self.hosts:
                raise ValueError(f"host mode for unknown host {addr}")
        self.port = port
        self.latency_ms = latency_ms
        self.host_latency_ms = dict(host_latency_ms or {})
        self.host_failure_rate = dict(host_failure_rate or {})
        self.failure_seed = failure_seed
        self.trickle_interval = trickle_interval
        self.header_limit = header_limit
        self.bomb_size = bomb_size
        self.backlog = backlog
        self.ssl_context = ssl_context
        self.tls_delay_ms = tls_delay_ms
        self._requested_port = port
        self._published: dict[str, set[str]] = defaultdict(set)
        self._pages: dict[str, dict[str, Page]] = defaultdict(dict)
        self._aliases: dict[str, dict[str, str]] = defaultdict(dict)
        self._sites: dict[str, Site] = {}
        for addr, site in (sites or {}).items():
            self.set_site(addr, site)
        self._acct = _Accounting(log_limit)
        self._conn_ids = itertools.count(1)
        self._servers: list[asyncio.Server] = []
        self._server_of: dict[str, asyncio.Server] = {}
        self._reserved: list[socket.socket] = []
        self._conns: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_stop: asyncio.Event | None = None
        self._thread_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<LoopWeb {len(self.hosts)} hosts port={self.port}>"

    # ---------------------------------------------------------------- addressing

    def addr(self, host: int | str) -> str:
        """Address of host index ``host`` (or ``host`` itself if it is an address)."""
        return self.hosts[host] if isinstance(host, int) else host

    @property
    def scheme(self) -> str:
        """``https`` when the web serves TLS, else ``http``."""
        return "http" if self.ssl_context is None else "https"

    def base_url(self, host: int | str = 0) -> str:
        """``http://ADDR:PORT`` (``https://`` with TLS) of a host."""
        return f"{self.scheme}://{self.addr(host)}:{self.port}"

    def url(self, host: int | str = 0, path: str = "/") -> str:
        """Absolute URL of ``path`` (may carry a query) on a host."""
        return self.base_url(host) + (path if path.startswith("/") else "/" + path)

    def redirect_url(self, to: str, code: int = 302, host: int | str = 0) -> str:
        """URL on ``host`` that redirects to ``to`` with ``code``."""
        return self.url(host, f"/redirect-to?url={quote(to, safe='')}&code={code}")

    def mode_of(self, host: str) -> HostMode:
        """The HostMode of an address."""
        return HOST_MODES[self.host_modes.get(host, "normal")]

    def publish(self, host: int | str, paths: Iterable[str], page: Page | None = None) -> None:
        """Make exact targets (path + query) on ``host`` answer 200 with a page titled from
        the path; a host without a mode becomes a ``site``, where unpublished paths are 404.
        ``page`` sets the pages' size, content type or title."""
        addr = self._known(host)
        self.host_modes.setdefault(addr, "site")
        for path in paths:
            key = _target_key(path if path.startswith("/") else "/" + path)
            self._published[addr].add(key)
            if page is not None:
                self._pages[addr][key] = page
            else:
                self._pages[addr].pop(key, None)

    def alias(self, host: int | str, target: str, to: str) -> None:
        """Serve the exact ``target`` on ``host`` as the grammar path ``to`` (for example
        ``/status/410/x``, ``/hang/x``, ``/cloudflare/x``, ``/gone-home/x``), so a
        behaviour can sit at a realistic URL. Aliases come before published pages."""
        addr = self._known(host)
        key = _target_key(target if target.startswith("/") else "/" + target)
        self._aliases[addr][key] = to if to.startswith("/") else "/" + to

    def set_site(self, host: int | str, site: Site) -> None:
        """Make ``host`` a real-world ``Site`` (a host without a mode becomes a ``site``)."""
        addr = self._known(host)
        for mode in (site.unknown, *site.sections.values()):
            if mode not in _SECTION_MODES:
                raise ValueError(f"unknown section mode {mode!r} (have {sorted(_SECTION_MODES)})")
        self.host_modes.setdefault(addr, "site")
        self._sites[addr] = site

    def page_of(self, host: int | str, target: str) -> Page | None:
        """The ``Page`` a published target was given, if any."""
        pages = self._pages.get(self.addr(host))
        return pages.get(_target_key(target)) if pages else None

    def site_of(self, host: int | str) -> Site | None:
        """The ``Site`` of a host, if it has one."""
        return self._sites.get(self.addr(host))

    def _known(self, host: int | str) -> str:
        addr = self.addr(host)
        if addr not in self.hosts:
            raise ValueError(f"unknown host {addr}")
        return addr

    def unpublish(self, host: int | str, paths: Iterable[str]) -> None:
        """Take published targets down again: they answer 404 from now on."""
        published = self._published.get(self.addr(host), set())
        for path in paths:
            published.discard(_target_key(path if path.startswith("/") else "/" + path))

    def is_published(self, host: int | str, target: str) -> bool:
        """Whether ``target`` (path + query) is a published page of ``host``."""
        return _target_key(target) in self._published.get(self.addr(host), ())

    # ---------------------------------------------------------------- accounting

    def stats(self) -> Stats:
        """Consistent snapshot of all counters (safe from any thread)."""
        return self._acct.snapshot()

    @property
    def total_requests(self) -> int:
        """Requests received since start / the last reset."""
        with self._acct.lock:
            return self._acct.total

    @property
    def requests_by_host(self) -> dict[str, int]:
        """Address -> request count."""
        a = self._acct
        with a.lock:
            return dict(a.by_host)

    @property
    def requests_by_key(self) -> dict[tuple[str, str, str], int]:
        """(method, address, target) -> request count."""
        a = self._acct
        with a.lock:
            return dict(a.by_key)

    @property
    def max_inflight_by_host(self) -> dict[str, int]:
        """Address -> most requests ever in flight at once."""
        a = self._acct
        with a.lock:
            return dict(a.max_inflight)

    @property
    def inflight_by_host(self) -> dict[str, int]:
        """Address -> requests in flight right now (hosts with none are left out)."""
        a = self._acct
        with a.lock:
            return dict(+a.inflight)

    @property
    def connections_by_host(self) -> dict[str, int]:
        """Address -> TCP connections accepted."""
        a = self._acct
        with a.lock:
            return dict(a.connections)

    @property
    def handshakes_by_host(self) -> dict[str, int]:
        """Address -> TLS handshakes completed (empty without TLS)."""
        a = self._acct
        with a.lock:
            return dict(a.handshakes)

    @property
    def tls_failures_by_host(self) -> dict[str, int]:
        """Address -> TLS handshakes that failed (certificate refused, client gone...)."""
        a = self._acct
        with a.lock:
            return dict(a.tls_failures)

    @property
    def requests_by_method_by_host(self) -> dict[str, Counter[str]]:
        """Address -> Counter of request methods."""
        a = self._acct
        with a.lock:
            return {host: Counter(c) for host, c in a.by_method.items()}

    @property
    def log(self) -> list[LogEntry]:
        """Request log (oldest first, bounded by ``log_limit``)."""
        a = self._acct
        with a.lock:
            return list(a.log)

    @property
    def errors(self) -> list[str]:
        """Internal handler errors (answered 500); should stay empty."""
        a = self._acct
        with a.lock:
            return list(a.errors)

    def count(
        self, host: int | str | None = None, target: str | None = None, method: str | None = None
    ) -> int:
        """Requests matching host, exact target (path + query) and method; None matches all."""
        h = None if host is None else self.addr(host)
        with self._acct.lock:
            return sum(
                n
                for (m, hh, t), n in self._acct.by_key.items()
                if (h is None or hh == h)
                and (target is None or t == target)
                and (method is None or m == method)
            )

    def max_inflight(self, host: int | str) -> int:
        """Most requests ever in flight at once on one host."""
        with self._acct.lock:
            return self._acct.max_inflight[self.addr(host)]

    def request_times(self, host: int | str, target: str) -> list[float]:
        """``time.monotonic()`` of each request to host + exact target."""
        with self._acct.lock:
            return list(self._acct.times.get((self.addr(host), target), []))

    def intervals(self, host: int | str, target: str) -> list[float]:
        """Seconds between successive requests to host + exact target (Retry-After checks)."""
        t = self.request_times(host, target)
        return [b - a for a, b in itertools.pairwise(t)]

    def reset_counters(self) -> None:
        """Clear counters, log and per-target state (flaky/ratelimit start over)."""
        self._acct.reset()

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> LoopWeb:
        """Bind every host on one port and start serving in the running loop."""
        if self._servers:
            raise RuntimeError("already started")
        self._loop = asyncio.get_running_loop()
        self._closing = False
        socks = self._bind_all()
        try:
            for addr, sock in socks.items():
                if self.mode_of(addr).listen:
                    if self.ssl_context is None:
                        server = await asyncio.start_server(
                            self._on_connect,
                            sock=sock,
                            limit=self.header_limit,
                            backlog=self.backlog,
                        )
                    else:
                        server = await self._loop.create_server(
                            self._paused_protocol, sock=sock, backlog=self.backlog
                        )
                    self._servers.append(server)
                    self._server_of[addr] = server
                else:
                    self._reserved.append(sock)
        except BaseException:
            await self.stop()
            for sock in socks.values():
                sock.close()
            raise
        return self

    def _bind_all(self) -> dict[str, socket.socket]:
        last: OSError | None = None
        for _ in range(_BIND_ATTEMPTS):
            port = self._requested_port
            socks: dict[str, socket.socket] = {}
            try:
                for addr in self.hosts:
                    # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted sockets
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                    socks[addr] = sock
                    if self.mode_of(addr).listen:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((addr, port))
                    port = sock.getsockname()[1]
                for addr, sock in socks.items():
                    if self.mode_of(addr).listen:
                        sock.listen(self.backlog)
                    sock.setblocking(False)
            except OSError as exc:
                for sock in socks.values():
                    sock.close()
                if exc.errno != errno.EADDRINUSE or self._requested_port:
                    raise
                last = exc
                continue
            self.port = port
            return socks
        raise RuntimeError(f"no common free port for {len(self.hosts)} hosts") from last

    async def stop(self) -> None:
        """Stop listening and drop every connection, hanging ones included."""
        self._closing = True
        servers, self._servers = self._servers, []
        self._server_of = {}
        for server in servers:
            server.close()
        for _ in range(3):  # let just-accepted connections start and notice _closing
            await asyncio.sleep(0)
        conns = list(self._conns.items())
        for task, writer in conns:
            writer.transport.abort()
            task.cancel()
        await asyncio.gather(*(t for t, _ in conns), return_exceptions=True)
        for server in servers:
            await server.wait_closed()
        for sock in self._reserved:
            sock.close()
        self._reserved = []
        for _ in range(3):  # let aborted transports run connection_lost
            await asyncio.sleep(0)

    def take_down(self, host: int | str) -> None:
        """Stop listening on one host from now on (connections refused, as a site whose
        server is down) and drop its open connections. Safe from any thread."""
        addr = self.addr(host)
        loop = self._loop
        if loop is None or addr not in self._server_of:
            raise ValueError(f"{addr} is not listening")

        def close() -> None:
            server = self._server_of.pop(addr, None)
            if server is not None:
                server.close()
            for writer in list(self._conns.values()):
                if writer.get_extra_info("sockname")[0] == addr:
                    writer.transport.abort()

        if self._thread is not None and threading.current_thread() is not self._thread:
            done = threading.Event()

            def close_and_tell() -> None:
                close()
                done.set()

            loop.call_soon_threadsafe(close_and_tell)
            if not done.wait(10):
                raise RuntimeError("loopweb thread did not take the host down in time")
        else:
            close()

    async def __aenter__(self) -> LoopWeb:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 10.0) -> LoopWeb:
        """Serve from a daemon thread with its own event loop; returns once listening."""
        if self._thread is not None:
            raise RuntimeError("already running in a thread")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name="loopweb", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("loopweb thread did not start in time")
        if self._thread_error is not None:
            self._thread.join(timeout)
            self._thread = None
            error, self._thread_error = self._thread_error, None
            raise error
        return self

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop a server started with start_in_thread and join its thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, event = self._loop, self._thread_stop
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(event.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("loopweb thread did not stop in time")
        error, self._thread_error = self._thread_error, None
        if error is not None:
            raise error

    @contextlib.contextmanager
    def running_in_thread(self, timeout: float = 10.0) -> Iterator[LoopWeb]:
        """``with LoopWeb(...).running_in_thread() as web:`` for sync code."""
        self.start_in_thread(timeout)
        try:
            yield self
        finally:
            self.stop_thread(timeout)

    def _thread_main(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._thread_stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                self._thread_error = exc
                return
            finally:
                ready.set()
            try:
                await self._thread_stop.wait()
            finally:
                await self.stop()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._thread_error = exc
            ready.set()

    # ---------------------------------------------------------------- connections

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._closing:
            writer.transport.abort()
            return
        host: str = writer.get_extra_info("sockname")[0]
        conn_id = next(self._conn_ids)
        self._conns[task] = writer
        with self._acct.lock:
            self._acct.connections[host] += 1
        try:
            if self.ssl_context is not None and not await self._handshake(writer, host):
                return
            while not self._closing:
                try:
                    req = await self._read_head(reader, host, conn_id)
                except _BadRequest as bad:
                    await self._send_bare(writer, bad.status)
                    break
                if req is None:
                    break
                req.nth = self._acct.begin(req)
                try:
                    keep = await self._serve(req, reader, writer)
                finally:
                    self._acct.end(host)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # stop(): the transport is already aborted; end quietly
        finally:
            self._conns.pop(task, None)
            if not writer.is_closing():
                writer.close()

    def _paused_protocol(self) -> asyncio.StreamReaderProtocol:
        """A stream protocol that stops reading as soon as the connection is made, so the
        ClientHello stays in the socket for the TLS upgrade (``_handshake``) to read."""
        return _PausedProtocol(asyncio.StreamReader(limit=self.header_limit), self._on_connect)

    async def _handshake(self, writer: asyncio.StreamWriter, host: str) -> bool:
        """Upgrade an accepted connection to TLS (after ``tls_delay_ms``, standing in for the
        handshake's round trips); counts completed and failed handshakes."""
        assert self.ssl_context is not None
        if self.tls_delay_ms > 0:
            await asyncio.sleep(self.tls_delay_ms / 1000)
        try:
            await writer.start_tls(self.ssl_context, ssl_handshake_timeout=30)
        except (ssl.SSLError, OSError, TimeoutError):
            with self._acct.lock:
                self._acct.tls_failures[host] += 1
            writer.transport.abort()
            return False
        with self._acct.lock:
            self._acct.handshakes[host] += 1
        return True

    async def _read_head(
        self, reader: asyncio.StreamReader, host: str, conn_id: int
    ) -> Request | None:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError:
            raise _BadRequest(431) from None
        lines = raw.decode("latin-1").lstrip("\r\n").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400)
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(400)
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        split = urlsplit(target)
        path = split.path or "/"
        if split.scheme:  # absolute-form
            target = path + (f"?{split.query}" if split.query else "")
        return Request(
            method.upper(),
            target,
            path,
            parse_qs(split.query, keep_blank_values=True),
            version,
            headers,
            host,
            conn_id,
            time.monotonic(),
        )

    async def _read_body(self, req: Request, reader: asyncio.StreamReader) -> None:
        if "chunked" in req.headers.get("transfer-encoding", "").lower():
            total = 0
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                total += size
                if total > _MAX_BODY:
                    raise _BadRequest(413)
                await reader.readexactly(size + 2)
                if size == 0:
                    return
        length = int(req.headers.get("content-length", "0") or 0)
        if length > _MAX_BODY or length < 0:
            raise _BadRequest(413)
        if length:
            await reader.readexactly(length)

    def _latency_for(self, req: Request) -> float:
        override = req.arg("latency_ms") or req.headers.get("x-loopweb-latency-ms")
        if override is not None:
            with contextlib.suppress(ValueError):
                return float(override) / 1000
        return self.host_latency_ms.get(req.host, self.latency_ms) / 1000

    async def _serve(
        self, req: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        try:
            await self._read_body(req, reader)
        except (_BadRequest, ValueError, asyncio.LimitOverrunError) as exc:
            await self._send_bare(writer, exc.status if isinstance(exc, _BadRequest) else 400)
            return False
        latency = self._latency_for(req)
        if await _sleep_unless_gone(reader, writer, latency):
            return False
        try:
            reply = await self._dispatch(req)
        except Exception as exc:
            with self._acct.lock:
                self._acct.errors.append(f"{req.method} {req.target}: {exc!r}")
            await self._send_bare(writer, 500)
            return False
        if isinstance(reply, Response):
            if await _sleep_unless_gone(reader, writer, reply.delay):
                return False
            self._acct.lag(time.monotonic() - req.time - latency - reply.delay)
            return await self._send(req, writer, reply)
        return await self._act(reply, req, reader, writer)

    async def _dispatch(self, req: Request) -> Reply:
        rate = self.host_failure_rate.get(req.host)
        if rate and _draw(self.failure_seed, req.host, req.target, req.nth) < rate:
            return _status_page(503, req)
        site = self._sites.get(req.host)
        if site is not None and site.wall is not None:
            walled = _aliased(req, site.wall.rstrip("/") + req.path)
            return await self._route(walled) or _status_page(403, req)
        if site is not None and site.head is not None and req.method == "HEAD":
            return _head_lie(site.head, self, req, site)
        key = _target_key(req.target)
        to = self._aliases[req.host].get(key) if req.host in self._aliases else None
        if to is not None:
            return await self._route(_aliased(req, to)) or _status_page(404, req)
        if site is not None and req.path == "/":
            return _site_home(self, req, site)
        published = self._published.get(req.host)
        if published and key in published:
            return _published_page(self, req)
        mode = self.mode_of(req.host)
        if mode.override is not None:
            reply = mode.override(self, req)
            if reply is not None:
                return reply
        found = await self._route(req)
        if found is not None:
            return found
        if site is not None:
            reply = _site_unknown(self, req, site)
            if reply is not None:
                return reply
        if mode.fallback is not None:
            reply = mode.fallback(self, req)
            if reply is not None:
                return reply
        return _status_page(404, req)

    async def _route(self, req: Request) -> Reply | None:
        first, _, rest = req.path.lstrip("/").partition("/")
        route = ROUTES.get(first)
        if route is None:
            return None
        return await route(self, req, rest.split("/") if rest else [])

    async def _act(
        self,
        action: Action,
        req: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if action.kind == "hang":
            await _until_disconnect(reader, None)
        elif action.kind == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif action.kind == "close":
            writer.close()
        else:  # trickle
            headers = [("Content-Type", "text/html; charset=utf-8")]
            writer.write(_head_bytes(200, headers, _TRICKLE_LENGTH, keep=True))
            await writer.drain()
            if req.method == "HEAD":
                return req.keep_alive
            for _ in range(_TRICKLE_LENGTH):
                if await _until_disconnect(reader, self.trickle_interval):
                    break
                writer.write(b".")
                await writer.drain()
        return False

    async def _send(self, req: Request, writer: asyncio.StreamWriter, resp: Response) -> bool:
        no_body = resp.status in (204, 304)
        length: int | None = None if no_body else len(resp.body)
        if resp.stream is not None:
            length = resp.length
        keep = req.keep_alive and (length is not None or no_body)
        head = _head_bytes(resp.status, resp.headers, length, keep)
        if req.method == "HEAD" or no_body:
            writer.write(head)
        elif resp.stream is None:
            writer.write(head + resp.body)  # one segment: no delayed-ACK stalls
        else:
            writer.write(head)
            for chunk in resp.stream:
                writer.write(chunk)
                await writer.drain()
        await writer.drain()
        return keep

    async def _send_bare(self, writer: asyncio.StreamWriter, status: int) -> None:
        body = f"{status} {_reason(status)}\n".encode()
        writer.write(_head_bytes(status, [("Content-Type", "text/plain")], len(body), False) + body)
        await writer.drain()


def _head_bytes(
    status: int, headers: list[tuple[str, str]], length: int | None, keep: bool
) -> bytes:
    names = {k.lower() for k, _ in headers}
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
    if "server" not in names:
        lines.append("Server: loopweb")
    lines.extend(f"{k}: {v}" for k, v in headers)
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append(f"Connection: {'keep-alive' if keep else 'close'}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _sleep_unless_gone(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seconds: float
) -> bool:
    """Sleep ``seconds`` without consuming input; True (early) if the peer went away."""
    deadline = time.monotonic() + seconds
    while True:
        if reader.at_eof() or reader.exception() is not None or writer.is_closing():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, 0.05))


async def _until_disconnect(reader: asyncio.StreamReader, patience: float | None) -> bool:
    """Discard input until EOF; True if the peer went away within ``patience`` seconds."""
    try:
        async with asyncio.timeout(patience):
            while await reader.read(_CHUNK):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tests.fakes.loopweb",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--hosts", type=int, default=3, help="number of loopback hosts")
    p.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    p.add_argument("--latency-ms", type=float, default=0, help="latency before every response")
    p.add_argument(
        "--mode",
        action="append",
        default=[],
        metavar="ADDR=MODE",
        help=f"host mode, one of {sorted(HOST_MODES)}; repeatable",
    )
    p.add_argument("--trickle-interval", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=0, help="stop after N seconds (0: never)")
    return p.parse_args(argv)


async def _cli(args: argparse.Namespace) -> None:
    modes = dict(m.split("=", 1) for m in args.mode)
    web = LoopWeb(
        args.hosts, args.port, args.latency_ms, modes, trickle_interval=args.trickle_interval
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with web:
        for addr in web.hosts:
            mode = web.host_modes.get(addr)
            print(web.url(addr, "/") + (f"  [{mode}]" if mode else ""), flush=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.duration or None):
                await stop.wait()
    s = web.stats()
    print(f"served {s.total_requests} requests on {len(s.requests_by_host)} hosts", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Run the server standalone, printing one base URL per host."""
    asyncio.run(_cli(_parse_args(argv)))


if __name__ == "__main__":
    main()
