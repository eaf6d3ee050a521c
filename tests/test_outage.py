"""Outage detection from connection-level failures."""

from __future__ import annotations

import datetime as dt

from verifier.models import Observation, Verdict
from verifier.urls import request_host
from verifier.web.answers import Failure
from verifier.web.outage import OutageWatch, answering_hosts

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def failed(url: str, failure: Failure | None) -> Observation:
    verdict = Verdict.UNREACHABLE if failure is not None else Verdict.DEAD
    return Observation(url=url, verdict=verdict, checked_at=NOW, failure=failure)


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
    outage.record("h0", failed("u0", Failure.REFUSED))
    assert outage.verdict() is None  # h1 not seen yet
    outage.record("h1", failed("u1", Failure.DNS_TEMPORARY))
    assert outage.verdict() is not None
    mixed = watch(2)
    mixed.record("h0", failed("u0", Failure.REFUSED))
    mixed.record("h1", failed("u1", None))
    assert mixed.verdict() is None


async def test_names_that_do_not_exist_prove_the_network_is_up() -> None:
    outage = watch(3)  # a pull request citing three mistyped domains
    for n in range(3):
        outage.record(f"h{n}", failed(f"u{n}", Failure.DNS_NOT_FOUND))
    assert outage.verdict() is None
    assert not outage.tripped.is_set()


async def test_hosts_not_known_to_answer_are_no_evidence_when_known_good_ones_answer() -> None:
    """A restarted night: only dead hosts were left due, plus known-good witnesses."""
    dead = [f"dead{n}" for n in range(6)]
    witnesses = [f"good{n}" for n in range(5)]
    outage = OutageWatch(5, 0.8, [*dead, *witnesses], known_good=witnesses)
    for host in dead:
        outage.record(host, failed(f"https://{host}/", Failure.REFUSED))
    assert outage.verdict() is None  # no known-good host has failed yet
    for host in witnesses:
        outage.record(host, failed(f"https://{host}/", None))
    assert outage.verdict() is None


async def test_known_good_hosts_failing_to_connect_is_an_outage() -> None:
    good = [f"good{n}" for n in range(8)]
    outage = OutageWatch(5, 0.8, [*good, "new"], known_good=good)
    outage.record("new", failed("https://new/", Failure.REFUSED))
    for host in good[:4]:
        outage.record(host, failed(f"https://{host}/", Failure.CONNECT))
    assert outage.verdict() is None  # 4 known-good failures: not yet min_hosts
    outage.record(good[4], failed("https://good4/", Failure.DNS_TEMPORARY))
    assert outage.verdict() is not None
    assert "known to answer" in (outage.verdict() or "")


async def test_hosts_that_answered_last_night_are_known_good_under_their_own_names() -> None:
    """The watch names hosts as requests go to them (``www.`` kept); the history's evidence
    must use the same names, or no ``www.`` host would ever count as known to answer."""
    urls = [f"https://www.site{n}.example/page" for n in range(6)]
    last_night = [
        Observation(url=url, verdict=Verdict.ALIVE, checked_at=NOW, http_status=200) for url in urls
    ]
    good = answering_hosts(last_night, NOW - dt.timedelta(days=1))
    assert good == {request_host(url) for url in urls}
    outage = OutageWatch(5, 0.8, [request_host(url) for url in urls], known_good=good)
    for url in urls[:5]:
        outage.record(request_host(url), failed(url, Failure.CONNECT))
    assert "known to answer" in (outage.verdict() or "")
