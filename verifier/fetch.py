"""I/O: one HTTP exchange at a time, politely, safely, with foreign errors translated once.

- One ``httpx.AsyncClient`` per run (connection reuse), ``trust_env=False`` so proxy
  variables cannot route around the network policy, redirects not followed here.
- Politeness: a global limiter (fair by host backlog) and a gate per host (at most
  ``per_host`` in flight, ``min_host_interval`` between starts, a pause after a 429).
- Safety: the network policy sits in the transport's network backend; bodies are read raw,
  at most ``max_body_bytes``, and inflated here under the same cap; every exchange has a
  total deadline, because httpx's read timeout never fires on a server that trickles.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import ssl
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx

from verifier.answers import Failure, Response
from verifier.bodies import content_codings, decode_bounded
from verifier.config import HttpSettings
from verifier.errors import (
    DnsNotFoundError,
    DnsTemporaryError,
    InvalidHostError,
    NetworkPolicyError,
)
from verifier.netpolicy import NetworkPolicy, Resolver, VettingBackend
from verifier.pacing import Pacer
from verifier.streams import AsyncioBackend
from verifier.urls import host_problem, shown_url


class FetchError(Exception):
    """A request that produced no usable response, already translated to a ``Failure``."""

    def __init__(self, failure: Failure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail


class StopRequested(Exception):
    """The run is stopping: this request was not sent (nothing is concluded about the URL)."""


@dataclass(slots=True)
class UrlBudget:
    """The time one URL may take from its first request on: every attempt, redirect hop and
    backoff included. The clock starts when the first request is admitted, so waiting for a
    free slot behind other hosts never counts against the URL."""

    seconds: float
    deadline: float | None = None

    def start(self) -> float:
        """Seconds left (starting the clock on first use)."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        return self.deadline - now

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def spent_after(self, seconds: float) -> bool:
        return self.deadline is not None and time.monotonic() + seconds >= self.deadline


CURRENT_BUDGET: ContextVar[UrlBudget | None] = ContextVar("verifier_url_budget", default=None)
"""The budget of the URL being checked in this task (set by the checker, read per request)."""


class VettedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose network backend enforces the policy.

    httpx exposes no network-backend option, so the pool is rebuilt with the same limits.
    """

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    def is_idle(self) -> bool:
        """No request in flight or queued: the shard can be closed without harm."""
        pool = self._pool
        assert isinstance(pool, httpcore.AsyncConnectionPool)
        return not pool._requests and all(  # httpcore has no public check
            connection.is_idle() or connection.is_closed() for connection in pool.connections
        )


SWEEP_EVERY = 32
"""New pools between two sweeps for idle pools to close (a sweep visits every pool)."""


class ShardedTransport(httpx.AsyncBaseTransport):
    """One keep-alive connection pool per origin instead of one big pool.

    httpcore's pool scans every connection for every queued request, which costs
    O(connections × requests): with a thousand hosts it dominated the run's CPU time. The
    global cap is the ``FairLimiter``'s job and the host cap the ``HostGate``'s, so each pool
    holds at most ``per_host`` connections. A pool is never closed while ``busy(host)`` says
    its host has work left (closing it would cost every later request a new TCP and TLS
    handshake); idle pools of hosts without work (redirect targets, finished hosts) beyond
    ``max_idle`` are closed, least recently used first, to bound open sockets.
    """

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        per_host: int,
        *,
        busy: Callable[[str], bool] = lambda host: False,
        max_idle: int = 256,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._backend = backend
        self._limits = httpx.Limits(
            max_connections=per_host, max_keepalive_connections=per_host, keepalive_expiry=30.0
        )
        self._shards: OrderedDict[tuple[bytes, bytes, int | None], VettedTransport] = OrderedDict()
        self._busy = busy
        self._max_idle = max_idle
        # loading CAs is slow: once per run
        self._ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._starting: Counter[tuple[bytes, bytes, int | None]] = Counter()
        self._created = 0
        self._closing: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        shard = self._shards.get(key)
        if shard is None:
            shard = VettedTransport(self._backend, self._limits, self._ssl_context)
            self._shards[key] = shard
            self._created += 1
            if self._created % SWEEP_EVERY == 0:  # new pools are what add sockets
                for victim in self._pop_idle_shards():
                    # In a task of its own: a cancelled request must not leave it half done.
                    closing = asyncio.create_task(victim.aclose())
                    self._closing.add(closing)
                    closing.add_done_callback(self._closing.discard)
        else:
            self._shards.move_to_end(key)
        self._starting[key] += 1  # until the pool has taken the request, it looks idle
        try:
            return await shard.handle_async_request(request)
        finally:
            self._starting[key] -= 1

    def _pop_idle_shards(self) -> list[VettedTransport]:
        """Take the least recently used idle pools of hosts without work out (synchronously,
        so no request can pick one up meanwhile) until at most ``max_idle`` such remain."""
        victims: list[VettedTransport] = []
        if len(self._shards) <= self._max_idle:
            return victims
        closable = [
            key
            for key in list(self._shards)[:-1]
            if not self._starting[key]
            and not self._busy(key[1].decode("ascii"))
            and self._shards[key].is_idle()
        ]
        for key in closable[: max(0, len(closable) - self._max_idle)]:
            victims.append(self._shards.pop(key))
            del self._starting[key]
        return victims

    async def aclose(self) -> None:
        """Close every pool; cancellation-safe (the closing goes on in its own tasks)."""
        shards, self._shards = list(self._shards.values()), OrderedDict()
        closing = [*self._closing, *(asyncio.ensure_future(s.aclose()) for s in shards)]
        await asyncio.shield(asyncio.gather(*closing, return_exceptions=True))


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The system's certificate authorities (certifi's, as httpx uses), plus ``ca_file``'s."""
    context = httpx.create_ssl_context(trust_env=False)
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


class FairLimiter:
    """A counting limiter whose waiters are served by priority (lowest first), then FIFO.

    The checker passes ``-backlog of the host``, so the hosts with the most work left get
    free slots first: the slowest host, which bounds the run, never waits behind quick ones.
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, priority: float = 0.0) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over as we were cancelled
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


class HostGate:
    """Per-host politeness: a concurrency cap, request starts paced at one per interval,
    and a pause that a 429 imposes on the whole host.

    Starts keep the interval's schedule: one that a busy event loop ran late lets the next
    follow sooner, but never closer than half an interval (``Pacer`` tolerance), so the host
    sees the configured rate, not a rate that the checker's own delays keep lowering."""

    def __init__(self, per_host: int, min_interval: float) -> None:
        self._slots = asyncio.Semaphore(per_host)
        self._starts = Pacer(1, min_interval, tolerance=min_interval / 2)
        self.backlog = 0

    def pause(self, seconds: float) -> None:
        self._starts.cool_down(seconds)

    async def enter(self) -> None:
        """Wait for this host's next start time, then take a slot and the start together
        (``leave`` gives the slot back). A slot is never held while waiting for the start
        time: with ``per_host`` slots and a latency near ``per_host × min_interval``, that
        wait would otherwise keep the host below its interval rate."""
        while True:
            await self._starts.due()
            await self._slots.acquire()
            if self._starts.take():
                return
            self._slots.release()  # another request took this start: wait for the next

    def leave(self) -> None:
        self._slots.release()


class Fetcher:
    """Sends single requests (no redirects followed) under the politeness and safety rules."""

    def __init__(
        self,
        http: HttpSettings,
        policy: NetworkPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self._http = http
        if transport is None:
            backend = VettingBackend(
                policy,
                resolver or Resolver(http.resolve, timeout=http.connect_timeout),
                AsyncioBackend(),
            )
            transport = ShardedTransport(
                backend,
                http.per_host,
                busy=self.has_work,
                ssl_context=tls_context(ca_file),
            )
        self._transport = transport
        self._timeout = httpx.Timeout(
            connect=http.connect_timeout,
            read=http.read_timeout,
            write=http.read_timeout,
            pool=None,
        ).as_dict()
        self._headers = httpx.Headers(
            {
                "User-Agent": http.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Encoding": "gzip, deflate",
            }
        )
        self._limiter = FairLimiter(http.max_concurrency)
        self._gates: dict[str, HostGate] = {}
        self._stopped = asyncio.Event()
        self._run_stop: asyncio.Event | None = None
        self._sending: set[asyncio.Task[Any]] = set()
        self.requests_sent = 0

    def stop_with(self, stop: asyncio.Event | None) -> None:
        """Also stop (at once, before any further request) when ``stop`` is set."""
        self._run_stop = stop

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set() or (self._run_stop is not None and self._run_stop.is_set())

    @stopping.setter
    def stopping(self, value: bool) -> None:
        """Once set, no request is sent any more (``exchange`` raises ``StopRequested``)."""
        if value:
            self._stopped.set()

    def is_sending(self, task: asyncio.Task[Any]) -> bool:
        """Has ``task`` a request on the wire right now?"""
        return task in self._sending

    async def nap(self, seconds: float) -> None:
        """Sleep, unless the run stops first (retry backoffs use this)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopped.wait()

    def has_work(self, host: str) -> bool:
        """Has ``host`` URLs left to check in this run (its connections are worth keeping)?"""
        gate = self._gates.get(host)
        return gate is not None and gate.backlog > 0

    def gate(self, host: str) -> HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = HostGate(self._http.per_host, self._http.min_host_interval)
        return gate

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def exchange(self, method: str, url: str) -> Response:
        """One request; the body (GET only) is read raw and decoded under the byte cap."""
        try:
            request = httpx.Request(
                method, url, headers=self._headers, extensions={"timeout": self._timeout}
            )
            host = request.url.host  # decodes ``xn--`` labels: may raise idna.IDNAError
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise FetchError(Failure.BAD_URL, f"malformed URL: {exc}") from exc
        if request.url.scheme not in ("http", "https"):
            raise FetchError(Failure.BAD_URL, f"not an http(s) URL: {shown_url(url)}")
        problem = host_problem(request.url.raw_host.decode("ascii"))
        if problem is not None:  # the resolver's IDNA codec would raise UnicodeError on it
            raise FetchError(Failure.BAD_URL, problem)
        if self.stopping:
            raise StopRequested(url)
        gate = self.gate(host)
        await gate.enter()
        try:
            await self._limiter.acquire(self._priority(gate))
            try:
                if self.stopping:
                    raise StopRequested(url)
                limit, why = self._time_limit()
                self.requests_sent += 1
                task = asyncio.current_task()
                assert task is not None
                self._sending.add(task)
                try:
                    async with asyncio.timeout(limit):
                        return await self._send(request, method)
                finally:
                    self._sending.discard(task)
            except TimeoutError as exc:
                raise FetchError(Failure.TIMEOUT, f"no complete answer within {why}") from exc
            except (FetchError, StopRequested):
                raise
            except Exception as exc:
                raise translate(exc) from exc
            finally:
                self._limiter.release()
        finally:
            gate.leave()

    @staticmethod
    def _priority(gate: HostGate) -> float:
        """Who gets the next free slot (lowest first): a URL already begun (a retry, a
        redirect hop, its probe) before any new one, since it alone can stretch the run by
        whole timeouts; then the hosts with the most work left."""
        budget = CURRENT_BUDGET.get()
        if budget is not None and budget.deadline is not None:
            return -math.inf
        return -gate.backlog

    def _time_limit(self) -> tuple[float, str]:
        """This request's deadline: ``attempt_deadline``, or what is left of the URL's
        ``url_deadline`` if less (nothing left: a timeout without sending)."""
        attempt = self._http.attempt_deadline
        budget = CURRENT_BUDGET.get()
        if budget is None:
            return attempt, f"{attempt:g} s"
        left = budget.start()
        if left <= 0:
            raise FetchError(
                Failure.TIMEOUT, f"no verdict within the URL's deadline of {budget.seconds:g} s"
            )
        if left < attempt:
            return left, f"the URL's deadline of {budget.seconds:g} s"
        return attempt, f"{attempt:g} s"

    async def _send(self, request: httpx.Request, method: str) -> Response:
        """Straight to the transport: the client's cookie, auth and redirect machinery has
        nothing to do here and cost a sixth of the CPU per request."""
        response = await self._transport.handle_async_request(request)
        try:
            raw = await self._read_head_of_body(response)
            headers = response.headers  # case-insensitive, as classify expects
            body = decode_bounded(
                raw, content_codings(headers.get("content-encoding")), self._http.max_body_bytes
            )
            return Response(method, str(request.url), response.status_code, headers, body)
        finally:
            await response.aclose()

    async def _read_head_of_body(self, response: httpx.Response) -> bytes:
        """The first ``max_body_bytes`` of the body as sent (still content-encoded); the rest
        is read and discarded up to ``drain_bytes`` more, so that the connection goes back to
        the pool. A longer body is abandoned, which closes the connection (HTTP/1.1 has no
        other way to stop a response). HEAD answers are read too: their end is what frees
        the connection."""
        keep = self._http.max_body_bytes
        limit = keep + self._http.drain_bytes
        chunks: list[bytes] = []
        kept = size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if kept < keep:
                chunks.append(chunk)
                kept += len(chunk)
            if size > limit:
                break
        return b"".join(chunks)[:keep]


def translate(exc: BaseException) -> FetchError:
    """Map httpx/httpcore/OS errors to the checker's failures, once, most specific first."""
    chain = _cause_chain(exc)
    for error in chain:
        if isinstance(error, NetworkPolicyError):
            return FetchError(Failure.POLICY, str(error))
        if isinstance(error, DnsNotFoundError):
            return FetchError(Failure.DNS_NOT_FOUND, str(error))
        if isinstance(error, DnsTemporaryError):
            return FetchError(Failure.DNS_TEMPORARY, str(error))
        if isinstance(error, ssl.SSLError | ssl.CertificateError):
            return FetchError(
                Failure.TLS, f"TLS failure: {getattr(error, 'reason', None) or error}"
            )
        if isinstance(error, ConnectionRefusedError):
            return FetchError(Failure.REFUSED, "connection refused")
        if isinstance(error, ConnectionResetError):
            return FetchError(Failure.RESET, "connection reset by peer")
        if isinstance(error, InvalidHostError):
            return FetchError(Failure.BAD_URL, str(error))
        if isinstance(error, UnicodeError) and not isinstance(error, UnicodeDecodeError):
            # The IDNA codec (resolver, TLS server name) refusing a host name: a fact about
            # the URL, not the network.
            return FetchError(Failure.BAD_URL, f"host name cannot be encoded: {error}")
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(Failure.TIMEOUT, f"timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "refused" in text.lower():
            return FetchError(Failure.REFUSED, "connection refused")
        if "ssl" in text.lower() or "certificate" in text.lower():
            return FetchError(Failure.TLS, f"TLS failure: {text}")
        return FetchError(Failure.CONNECT, f"cannot connect: {text or type(exc).__name__}")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return FetchError(Failure.RESET, f"connection lost: {exc or type(exc).__name__}")
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc)
        if "disconnected" in text.lower():
            return FetchError(Failure.RESET, "server closed the connection without answering")
        return FetchError(Failure.PROTOCOL, f"invalid HTTP answer: {text}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return FetchError(Failure.BAD_URL, str(exc))
    if isinstance(exc, httpx.HTTPError | OSError):
        return FetchError(Failure.CONNECT, f"{type(exc).__name__}: {exc}")
    raise exc


def _cause_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
