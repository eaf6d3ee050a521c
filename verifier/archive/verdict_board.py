"""Verdicts as liveness produces them, awaited by the archiver beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from verifier.models import Observation, Verdict


class VerdictBoard:
    """Verdicts as liveness produces them, awaited by the archiver (which needs to know
    whether a source is alive before capturing it, or dead before offering a replacement).

    Only URLs checked in this run are waited for; any other URL is answered at once with
    what the history last saw (``known``), or None. After ``close`` every wait, present or
    future, is answered: a URL left unchecked (stop, outage) gets None.
    """

    def __init__(self, checking: Iterable[str], known: Mapping[str, Verdict] | None = None):
        self._checking = set(checking)
        self._known = dict(known or {})
        self._futures: dict[str, asyncio.Future[Verdict | None]] = {}
        self._closed = False

    def _future(self, url: str) -> asyncio.Future[Verdict | None]:
        future = self._futures.get(url)
        if future is None:
            future = self._futures[url] = asyncio.get_running_loop().create_future()
        return future

    def post(self, observation: Observation) -> None:
        future = self._future(observation.url)
        if not future.done():
            future.set_result(observation.verdict)

    def has_verdict(self, url: str) -> bool:
        """Would ``verdict_of`` answer ``url`` without waiting?"""
        if self._closed or url not in self._checking:
            return True
        future = self._futures.get(url)
        return future is not None and future.done()

    async def verdict_of(self, url: str) -> Verdict | None:
        future = self._futures.get(url)
        if future is not None and future.done():
            return future.result()
        if url not in self._checking:
            return self._known.get(url)
        if self._closed:
            return None
        return await self._future(url)

    def close(self) -> None:
        """No more verdicts will come (run over, stopped, or an outage)."""
        self._closed = True
        for future in self._futures.values():
            if not future.done():
                future.set_result(None)
