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

Run standalone: ``python -m tests.fakes.loopweb --hosts 5 --latency-ms 20``.
"""

from __future__ import annotations

import argparse
import asyncio
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
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = [
    "HOST_MODES",
    "LOGGED_HEADERS",
    "Action",
    "HostMode",
    "LogEntry",
    "LoopWeb",
    "Request",
    "Response",
    "Stats",
    "gzip_bomb",
    "loopback_addresses",
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
    log: list[LogEntry]
    errors: list[str]


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
            self.times[req.host, req.target].append(req.time)
            self.log.append(entry)
            n = self.inflight[req.host] = self.inflight[req.host] + 1
            self.max_inflight[req.host] = max(self.max_inflight[req.host], n)
            return self.by_target[req.host, req.target]

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
    canonical = f'<link rel="canonical" href="http://{req.host}:{web.port}{req.path}">\n'
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


def _published_page(web: LoopWeb, req: Request) -> Response:
    segments = [s for s in req.path.split("/") if s]
    query = urlsplit(req.target).query
    title = _humanize(segments) or f"Home of {req.host}"
    if query:
        title += f" ({unquote(query)})"
    canonical = f'<link rel="canonical" href="http://{req.host}:{web.port}{req.target}">\n'
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


HOST_MODES: dict[str, HostMode] = {
    "normal": HostMode(),
    "soft404": HostMode(override=_soft404_mode),
    "home-redirect": HostMode(fallback=_home_redirect_mode),
    "down": HostMode(listen=False),
    "site": HostMode(override=_site_mode),
}
"""Host mode name -> behaviour; add entries here for new modes."""


# --------------------------------------------------------------------------- server


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
        self._requested_port = port
        self._published: dict[str, set[str]] = defaultdict(set)
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

    def base_url(self, host: int | str = 0) -> str:
        """``http://ADDR:PORT`` of a host."""
        return f"http://{self.addr(host)}:{self.port}"

    def url(self, host: int | str = 0, path: str = "/") -> str:
        """Absolute URL of ``path`` (may carry a query) on a host."""
        return self.base_url(host) + (path if path.startswith("/") else "/" + path)

    def redirect_url(self, to: str, code: int = 302, host: int | str = 0) -> str:
        """URL on ``host`` that redirects to ``to`` with ``code``."""
        return self.url(host, f"/redirect-to?url={quote(to, safe='')}&code={code}")

    def mode_of(self, host: str) -> HostMode:
        """The HostMode of an address."""
        return HOST_MODES[self.host_modes.get(host, "normal")]

    def publish(self, host: int | str, paths: Iterable[str]) -> None:
        """Make exact targets (path + query) on ``host`` answer 200 with a page titled from
        the path; a host without a mode becomes a ``site``, where unpublished paths are 404."""
        addr = self.addr(host)
        if addr not in self.hosts:
            raise ValueError(f"unknown host {addr}")
        self.host_modes.setdefault(addr, "site")
        for path in paths:
            self._published[addr].add(_target_key(path if path.startswith("/") else "/" + path))

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
                    server = await asyncio.start_server(
                        self._on_connect, sock=sock, limit=self.header_limit, backlog=self.backlog
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
        if await _sleep_unless_gone(reader, writer, self._latency_for(req)):
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
            return await self._send(req, writer, reply)
        return await self._act(reply, req, reader, writer)

    async def _dispatch(self, req: Request) -> Reply:
        rate = self.host_failure_rate.get(req.host)
        if rate and _draw(self.failure_seed, req.host, req.target, req.nth) < rate:
            return _status_page(503, req)
        published = self._published.get(req.host)
        if published and _target_key(req.target) in published:
            return _published_page(self, req)
        mode = self.mode_of(req.host)
        if mode.override is not None:
            reply = mode.override(self, req)
            if reply is not None:
                return reply
        first, _, rest = req.path.lstrip("/").partition("/")
        route = ROUTES.get(first)
        if route is not None:
            found = await route(self, req, rest.split("/") if rest else [])
            if found is not None:
                return found
        if mode.fallback is not None:
            reply = mode.fallback(self, req)
            if reply is not None:
                return reply
        return _status_page(404, req)

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
