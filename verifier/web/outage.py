"""Outage detection: is the network itself down, rather than the sources?

An outage needs positive evidence: hosts known to answer (the history saw them alive, or
they are canaries) failing at the connection level. A host whose name does not exist
(NXDOMAIN) proves the opposite — a resolver answered — so a pull request citing only
mistyped domains is judged, not excused; unless the resolver denies a name that certainly
exists too (``outage.reference_host``: a sinkholed or broken resolver). Without any
known-good host (a fresh machine, a first run), only every host failing at the connection
level means an outage.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection, Iterable

from verifier.models import Observation
from verifier.urls import request_host
from verifier.web.answers import Failure

OUTAGE_FAILURES = frozenset({Failure.DNS_TEMPORARY, Failure.REFUSED, Failure.CONNECT})
"""Failures that say nothing about the page and that a network outage produces."""


def is_outage_failure(observation: Observation) -> bool:
    return observation.failure in OUTAGE_FAILURES


class OutageWatch:
    """Decides whether the network itself is down.

    It trips early (once enough evidence is in), so a run during an outage stops quickly
    instead of retrying thousands of URLs into the void.
    """

    def __init__(
        self,
        min_hosts: int,
        ratio: float,
        hosts: Iterable[str],
        known_good: Collection[str] = (),
    ) -> None:
        self._min_hosts = min_hosts
        self._ratio = ratio
        self._hosts = set(hosts)
        self._known_good = {host for host in self._hosts if host in known_good}
        self._host_ok: dict[str, bool] = {}
        self._http_answers = 0
        self._not_found = 0
        self.tripped = asyncio.Event()

    def record(self, host: str, observation: Observation) -> None:
        self._hosts.add(host)
        answered = not is_outage_failure(observation)
        self._host_ok[host] = self._host_ok.get(host, False) or answered
        if observation.http_status is not None:
            self._http_answers += 1
        elif observation.failure is Failure.DNS_NOT_FOUND:
            self._not_found += 1
        if self.verdict() is not None:
            self.tripped.set()

    def only_names_not_found(self) -> bool:
        """No host answered HTTP and some names were "not found": believable only if the
        resolver still knows a name that certainly exists (see ``check_all``)."""
        return self._http_answers == 0 and self._not_found > 0

    def verdict(self) -> str | None:
        """Known-good hosts failing (at least ``min_hosts`` of them, or all when fewer are
        in the run) while ``ratio`` of every host heard from fails; with no known-good host,
        every host of the run failing (at least one)."""
        seen = len(self._host_ok)
        failed = sum(1 for ok in self._host_ok.values() if not ok)
        if seen == 0 or failed / seen < self._ratio:
            return None
        if self._known_good:
            failed_good = sum(1 for h in self._known_good if self._host_ok.get(h) is False)
            if failed_good < min(self._min_hosts, len(self._known_good)):
                return None
            evidence = f"{failed_good} hosts known to answer among them"
        else:
            if failed < seen or seen < min(self._min_hosts, len(self._hosts)):
                return None
            evidence = "no host answered"
        return (
            f"network outage: {failed} of {seen} hosts failed at the connection level "
            f"({evidence}); no source was judged"
        )


def answering_hosts(observations: Iterable[Observation], since: dt.datetime) -> set[str]:
    """Hosts that answered HTTP (any status) since ``since``: the outage watch's evidence."""
    return {
        request_host(observation.url)
        for observation in observations
        if observation.http_status is not None and observation.checked_at >= since
    }
