"""I/O: one HTTP exchange at a time, politely, safely, with foreign errors translated once.

- One transport per run (connection reuse: ``verifier.web.transport``), no proxy variables read
  (they could route around the network policy), redirects not followed here.
- Politeness (``verifier.web.politeness``): a global limiter, fair by host backlog, and a gate
  per host (at most ``per_host`` in flight, ``min_host_interval`` between starts, a pause
  after a 429).
- Safety: the network policy sits in the transport's network backend; bodies are read raw,
  at most ``max_body_bytes``, and inflated under the same cap (``verifier.web.body_reader``);
  every exchange has a total deadline, because httpx's read timeout never fires on a server
  that trickles, and no more than the URL's own budget (``verifier.web.url_budget``) allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from pathlib import Path
from typing import Any, Protocol

import httpx

from verifier.config import HttpSettings
from verifier.errors import FetchError, RunStopping
from verifier.urls import host_problem, shown_url
from verifier.web.answers import Failure, Response
from verifier.web.body_reader import read_answer
from verifier.web.fetch_errors import translate
from verifier.web.netpolicy import NetworkPolicy, Resolver, VettingBackend
from verifier.web.politeness import FairLimiter, HostGate
from verifier.web.streams import AsyncioBackend
from verifier.web.transport import ShardedTransport, tls_context
from verifier.web.url_budget import CURRENT_BUDGET


class HostGuard(Protocol):
    """Politeness beyond this process: leave to send to a host (workers hold a token per
    host, so no two of them send to one host at once)."""

    async def enter(self, host: str) -> None:
        """Wait until this process may send to ``host`` (``RunStopping``: it may not)."""

    def leave(self, host: str) -> None:
        """A request that ``enter`` let through has ended."""


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
        self.guard: HostGuard | None = None

    def stop_with(self, stop: asyncio.Event | None) -> None:
        """Also stop (at once, before any further request) when ``stop`` is set."""
        self._run_stop = stop

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set() or (self._run_stop is not None and self._run_stop.is_set())

    @stopping.setter
    def stopping(self, value: bool) -> None:
        """Once set, no request is sent any more (``exchange`` raises ``RunStopping``)."""
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
            raise RunStopping(url)
        if self.guard is not None:
            await self.guard.enter(host)
            try:
                return await self._exchange(request, method, url, host)
            finally:
                self.guard.leave(host)
        return await self._exchange(request, method, url, host)

    async def _exchange(self, request: httpx.Request, method: str, url: str, host: str) -> Response:
        gate = self.gate(host)
        await gate.enter()
        try:
            await self._limiter.acquire(self._priority(gate))
            try:
                if self.stopping:
                    raise RunStopping(url)
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
            except (FetchError, RunStopping):
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
        return await read_answer(
            method, str(request.url), response, self._http.max_body_bytes, self._http.drain_bytes
        )
