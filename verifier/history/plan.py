"""Pure decisions of the nightly run: each URL's status from its history, which URLs are due
tonight, and which known-good URLs witness the network when few hosts are due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from verifier.config import Settings
from verifier.history.status import UrlState, is_due, status_of
from verifier.models import Observation, Status, Verdict
from verifier.urls import request_host


def statuses_of(states: dict[str, UrlState], settings: Settings) -> dict[str, Status]:
    h = settings.history
    return {
        url: status_of(state, h.broken_after_failures, h.broken_after_days)
        for url, state in states.items()
    }


def due_urls(
    urls: Sequence[str],
    latest: dict[str, Observation],
    statuses: dict[str, Status],
    settings: Settings,
    now: dt.datetime,
    *,
    full: bool,
    done: set[str],
) -> list[str]:
    """URLs to check tonight: new ones first, then failing, then the longest unchecked."""
    ok_ttl = dt.timedelta(days=settings.history.ok_ttl_days)
    failing_ttl = dt.timedelta(hours=settings.history.failing_ttl_hours)
    spread = settings.history.ok_ttl_spread
    due = [
        url
        for url in urls
        if url not in done
        and (
            full
            or is_due(
                latest.get(url),
                statuses.get(url, Status.UNKNOWN),
                now,
                ok_ttl,
                failing_ttl,
                spread=spread,
            )
        )
    ]

    def order(url: str) -> tuple[int, dt.datetime]:
        last = latest.get(url)
        if last is None:
            return 0, now
        failing = statuses.get(url) in (Status.SUSPECT, Status.BROKEN)
        return (1 if failing else 2), last.checked_at

    return sorted(due, key=order)


def outage_witnesses(
    due: Sequence[str],
    urls: Sequence[str],
    latest: dict[str, Observation],
    *,
    good_hosts: set[str],
    min_hosts: int,
    done: set[str],
) -> list[str]:
    """Known-good URLs on other hosts, checked too when fewer than ``min_hosts`` hosts known
    to answer are due tonight: without them a few dead hosts could not be told from a
    network outage (their results are real observations)."""
    hosts = {host for url in due if (host := request_host(url)) in good_hosts}
    extra: list[str] = []
    alive = sorted(
        (
            url
            for url in urls
            if url not in done and (o := latest.get(url)) is not None and o.verdict is Verdict.ALIVE
        ),
        key=lambda url: latest[url].checked_at,
    )
    for url in alive:
        if len(hosts) >= min_hosts:
            break
        host = request_host(url)
        if host not in hosts and host in good_hosts and url not in due:
            hosts.add(host)
            extra.append(url)
    return extra
