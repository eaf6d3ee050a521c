"""Outage detection: is the network itself down, rather than the sources?"""

from __future__ import annotations

import asyncio

from verifier.classify import CONNECTION_LEVEL
from verifier.models import Observation


class OutageWatch:
    """Decides whether the network itself is down: most hosts failing at connection level.

    It trips early (after ``min_hosts`` hosts have answers), so a run during an outage
    stops quickly instead of retrying thousands of URLs into the void.
    """

    def __init__(self, min_hosts: int, ratio: float, by_host: dict[str, list[str]]) -> None:
        self._min_hosts = min_hosts
        self._total_hosts = len(by_host)
        self._ratio = ratio
        self._host_ok: dict[str, bool] = {}
        self.tripped = asyncio.Event()

    def record(self, host: str, observation: Observation) -> None:
        connection_failure = observation.failure in {f.value for f in CONNECTION_LEVEL}
        self._host_ok[host] = self._host_ok.get(host, False) or not connection_failure
        if self.verdict() is not None:
            self.tripped.set()

    def verdict(self) -> str | None:
        """With enough hosts, a ratio of connection-level failures means an outage; with
        fewer hosts than ``min_hosts`` (a pull request's few new URLs), only all of them
        failing so does — a contributor is never blamed for the network."""
        seen = len(self._host_ok)
        failed = sum(1 for ok in self._host_ok.values() if not ok)
        if self._total_hosts < self._min_hosts:
            if seen == 0 or seen < self._total_hosts or failed < seen:
                return None
        elif seen < self._min_hosts or failed / seen < self._ratio:
            return None
        return (
            f"network outage: {failed} of {seen} hosts failed at the connection level "
            "(DNS or connect); no source was judged"
        )
