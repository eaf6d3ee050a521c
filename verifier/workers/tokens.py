"""Per-host tokens for a worker's requests: a host's requests come from one worker at a time,
whether the worker leased the host's domain or only follows a redirect (or sends a soft-404
probe) to it.

A token is held from the first request to a host until the worker releases it (its domain
done, or idle for a while) or it lapses unrenewed (the worker died). Before each request the
guard checks the token's time left on the local clock, counted from before the server
granted it, so a worker cut off from the database stops sending before anyone else may
start: a request starts only with ``margin`` seconds of token left (at least one request's
deadline). While a host's token is held elsewhere, one of the worker's requests to it asks
the database again every ``poll`` seconds; the others wait for that one.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Collection

from verifier.errors import RunStopping
from verifier.workers.domains import registrable_domain
from verifier.workers.queue import WorkQueue


class TokenGuard:
    """``HostGuard`` of one worker (``Fetcher.guard``)."""

    def __init__(
        self, queue: WorkQueue, worker: str, *, ttl: float, margin: float, poll: float = 0.25
    ) -> None:
        if ttl <= margin:
            raise ValueError(f"a token of {ttl:g} s can never leave a margin of {margin:g} s")
        self._queue = queue
        self._worker = worker
        self._ttl = ttl
        self._margin = margin
        self._poll = poll
        self._until: dict[str, float] = {}  # host -> local deadline of its token
        self._in_flight: Counter[str] = Counter()
        self._last_used: dict[str, float] = {}
        self._asking: dict[str, asyncio.Lock] = {}
        self.lost_domains: set[str] = set()
        """Domains whose lease was lost: their hosts are not sent to any more."""
        self.waits = 0

    async def enter(self, host: str) -> None:
        if not self._holds(host):
            async with self._asking.setdefault(host, asyncio.Lock()):
                while not self._holds(host):
                    asked = time.monotonic()
                    seconds = self._queue.take_host(host, self._worker, self._ttl)
                    if seconds is not None and seconds > self._margin:
                        self._until[host] = asked + seconds
                        break
                    self.waits += 1
                    await asyncio.sleep(self._poll)  # another worker is sending to it
        self._in_flight[host] += 1
        self._last_used[host] = time.monotonic()

    def _holds(self, host: str) -> bool:
        """The token is held with a request's margin left (raises once the domain is lost)."""
        if registrable_domain(host) in self.lost_domains:
            raise RunStopping(host)
        return self._until.get(host, 0.0) - time.monotonic() > self._margin

    def leave(self, host: str) -> None:
        self._in_flight[host] -= 1
        self._last_used[host] = time.monotonic()

    def renew(self) -> None:
        """Extend every token held (the heartbeat); a token found lapsed is dropped."""
        asked = time.monotonic()
        left = self._queue.renew_hosts(self._worker, sorted(self._until), self._ttl)
        self._until = {host: asked + seconds for host, seconds in left.items()}

    def release_idle(self, idle: float, *, keep: Collection[str] = ()) -> None:
        """Give back tokens of hosts not sent to for ``idle`` seconds, outside the ``keep``
        domains (those the worker is still checking)."""
        now = time.monotonic()
        idle_hosts = [
            host
            for host in self._until
            if self._in_flight[host] == 0
            and now - self._last_used.get(host, 0.0) >= idle
            and registrable_domain(host) not in keep
        ]
        self.release(idle_hosts)

    def release(self, hosts: list[str] | None = None) -> None:
        """Give back ``hosts``' tokens (all when None) that no request is using."""
        chosen = list(self._until) if hosts is None else hosts
        free = [host for host in chosen if self._in_flight[host] == 0]
        self._queue.release_hosts(self._worker, free)
        for host in free:
            self._until.pop(host, None)
            if host in self._asking and not self._asking[host].locked():
                del self._asking[host]
