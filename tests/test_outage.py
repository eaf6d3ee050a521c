"""Outage detection from connection-level failures."""

from __future__ import annotations

import datetime as dt

from verifier.classify import Failure
from verifier.models import Observation, Verdict
from verifier.outage import OutageWatch

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def failed(url: str, failure: Failure | None) -> Observation:
    verdict = Verdict.UNREACHABLE if failure is not None else Verdict.DEAD
    return Observation(
        url=url, verdict=verdict, checked_at=NOW, failure=failure.value if failure else None
    )


def watch(hosts: int) -> OutageWatch:
    return OutageWatch(5, 0.8, {f"h{n}": [f"u{n}"] for n in range(hosts)})


async def test_most_hosts_failing_to_connect_is_an_outage() -> None:
    outage = watch(10)
    for n in range(5):
        outage.record(f"h{n}", failed(f"u{n}", Failure.REFUSED))
    assert outage.verdict() is not None
    assert outage.tripped.is_set()


async def test_dead_pages_are_not_an_outage() -> None:
    outage = watch(10)
    for n in range(6):
        outage.record(f"h{n}", failed(f"u{n}", None))  # 404s: the network works
    assert outage.verdict() is None


async def test_a_small_run_is_an_outage_only_when_every_host_failed() -> None:
    outage = watch(2)
    outage.record("h0", failed("u0", Failure.DNS_NOT_FOUND))
    assert outage.verdict() is None  # h1 not seen yet
    outage.record("h1", failed("u1", Failure.DNS_TEMPORARY))
    assert outage.verdict() is not None
    mixed = watch(2)
    mixed.record("h0", failed("u0", Failure.REFUSED))
    mixed.record("h1", failed("u1", None))
    assert mixed.verdict() is None
