"""Connection pools under the network policy: one keep-alive pool per origin, idle ones closed.

The policy sits in the pools' network backend (``VettingBackend``), so no connection, to the
first host or to a redirect's target, can reach an address the policy refuses.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter, OrderedDict
from collections.abc import Callable
from pathlib import Path

import httpcore
import httpx

from verifier.web.netpolicy import NetworkPolicy, Resolver, VettingBackend
from verifier.web.streams import AsyncioBackend


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


def policy_transport(
    policy: NetworkPolicy,
    resolver: Resolver,
    *,
    limits: httpx.Limits | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> VettedTransport:
    """One connection pool under ``policy``, for clients that talk to a few fixed hosts (the
    Wayback Machine's endpoints): the same backend as the checker's, so an endpoint set to
    a loopback or metadata address is refused as a source URL would be."""
    backend = VettingBackend(policy, resolver, AsyncioBackend())
    return VettedTransport(
        backend,
        limits or httpx.Limits(max_connections=100, max_keepalive_connections=20),
        ssl_context,
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
