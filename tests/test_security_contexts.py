"""Strangers' data in every context it reaches: the Wayback client under the network policy,
and report formats that carry ids, titles, URLs and messages (JUnit XML, GitHub workflow
commands, a terminal) whatever characters they hold."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import xmlschema

from tests.fakes.wayback import FakeClock, FakeWayback, FakeWaybackConfig, serve_fake_wayback
from verifier.archive.archiver import Archiver, ArchiveTask, MemoryArchiveStore
from verifier.archive.wayback import WaybackClient
from verifier.config import SecuritySettings, WaybackSettings
from verifier.errors import WaybackUnavailable
from verifier.models import (
    ArchiveState,
    EventReport,
    EventSummary,
    Result,
    Severity,
    Verdict,
    Violation,
)
from verifier.reports.formats.github import KEPT, annotation, render_github
from verifier.reports.formats.junit import render_junit, xml_safe
from verifier.reports.formats.text import (
    archive_summary_line,
    render_text,
    terminal_safe,
)
from verifier.reports.summary import summarize
from verifier.web.netpolicy import Resolver
from verifier.web.streams import AsyncioBackend

URL = "https://news.example.org/2021/02/03/story"
NOW = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
XSD = Path(__file__).parent / "data" / "junit.xsd"

HOSTILE = (
    "".join(chr(code) for code in range(32))  # every C0 control, NUL and ESC among them
    + "\x7f"
    + "".join(chr(code) for code in range(0x80, 0xA0))  # C1: \x9b is a CSI
    + "\x1b[2J\x1b]0;owned\x07\x9b31m"  # clear screen, set the window title, C1 CSI
    + "\ud800\udfff"  # lone surrogates (YAML and JSON escapes can produce them)
    + "\ufffe\uffff"
    + "]]><![CDATA[<x>&amp;</x>"
    + "%0A%25:,\r\n::error::forged"
    + "\u202e\u2028"
)


# -- the Wayback client goes through the network policy -------------------------------------


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Whatever the policy decides, no test connection leaves loopback: the backend below
    the policy refuses any other address (and records what was asked)."""
    asked: list[str] = []
    connect = AsyncioBackend.connect_tcp

    async def guarded(self: AsyncioBackend, host: str, port: int, *args: Any, **kw: Any) -> Any:
        asked.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"a test tried to connect to {host}")
        return await connect(self, host, port, *args, **kw)

    monkeypatch.setattr(AsyncioBackend, "connect_tcp", guarded)
    return asked


def _fake() -> FakeWayback:
    limits = dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))
    fake = FakeWayback(FakeWaybackConfig(rate_limits=limits), FakeClock(NOW))
    fake.add_capture(URL, "20210203101010")
    return fake


def _settings(base: str) -> WaybackSettings:
    return WaybackSettings(
        cdx_url=f"{base}/cdx/search/cdx",
        save_url=f"{base}/save",
        status_url=f"{base}/save/status",
        replay_url=f"{base}/web",
        rate_window=1.0,
        cdx_per_window=500,
        attempts=2,
        timeout=5.0,
    )


async def test_wayback_on_loopback_is_refused_by_the_default_policy(
    loopback_only: list[str],
) -> None:
    fake = _fake()
    with serve_fake_wayback(fake) as base:
        client = WaybackClient(_settings(base), "verifier-test", environ={})
        try:
            with pytest.raises(WaybackUnavailable) as refused:
                await client.cdx(URL)
            with pytest.raises(WaybackUnavailable, match="network policy"):
                await client.replay("20210203101010", URL)
        finally:
            await client.aclose()
    message = str(refused.value)
    assert f"the cdx endpoint '{base}/cdx/search/cdx' is refused by the network policy" in message
    assert "127.0.0.1: a loopback address" in message
    assert "news.example.org" not in message  # the endpoint is shown, not the query
    assert fake.requests() == []
    assert client.counts["cdx"] == 1  # refused at once: a configuration fact is not retried


@pytest.mark.parametrize(
    "security",
    [
        SecuritySettings(allow_private_networks=True),
        SecuritySettings(allowed_networks=("127.0.0.1/32",)),
    ],
)
async def test_wayback_on_loopback_is_reached_when_configured(
    security: SecuritySettings, loopback_only: list[str]
) -> None:
    fake = _fake()
    with serve_fake_wayback(fake) as base:
        client = WaybackClient(_settings(base), "verifier-test", environ={}, security=security)
        try:
            [capture] = await client.cdx(URL)
        finally:
            await client.aclose()
    assert capture.timestamp == "20210203101010"
    assert [r.family for r in fake.requests()] == ["cdx"]
    assert set(loopback_only) == {"127.0.0.1"}


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "metadata.google.internal", "[::ffff:169.254.169.254]"]
)
async def test_wayback_on_a_metadata_address_is_refused_even_with_private_allowed(
    host: str, loopback_only: list[str]
) -> None:
    client = WaybackClient(
        _settings(f"http://{host}"),
        "verifier-test",
        environ={},
        security=SecuritySettings(allow_private_networks=True),
        resolver=Resolver({"metadata.google.internal": "169.254.169.254"}),
    )
    try:
        with pytest.raises(WaybackUnavailable, match="cloud metadata address"):
            await client.cdx(URL)
    finally:
        await client.aclose()
    assert loopback_only == []  # refused before any connection was attempted


async def test_archiver_records_a_refused_wayback_as_unverified(loopback_only: list[str]) -> None:
    fake = _fake()
    with serve_fake_wayback(fake) as base:
        settings = _settings(base)
        client = WaybackClient(settings, "verifier-test", environ={})
        archiver = Archiver(settings, client, MemoryArchiveStore(), clock=lambda: NOW)

        async def alive(_url: str) -> Verdict:
            return Verdict.ALIVE

        try:
            run = await archiver.run([ArchiveTask(URL)], alive)
        finally:
            await client.aclose()
    [info] = run.records.values()
    assert info.state is ArchiveState.UNVERIFIED
    assert "network policy" in (info.detail or "")
    assert fake.requests() == []


# -- hostile reports --------------------------------------------------------------------------


def _report(text: str, result: Result = Result.FAIL) -> EventReport:
    return EventReport(
        event=EventSummary(
            id=f"2021-02-03--{text}", file=f"events/{text}.md", title=text, date="2021-02-03"
        ),
        result=result,
        violations=[
            Violation(rule="tier-valid", severity=Severity.ERROR, message=text, line=3),
            Violation(rule=f"rule{text}", severity=Severity.ERROR, message=f"url {text}"),
            Violation(rule="citation-date", severity=Severity.WARNING, message=text, line=9),
        ],
    )


def _hostile_reports() -> list[EventReport]:
    return [_report(HOSTILE), _report("plain", Result.PASS), _report(HOSTILE[::-1])]


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def test_junit_of_hostile_reports_is_well_formed_and_valid(
    junit_schema: xmlschema.XMLSchema,
) -> None:
    reports = _hostile_reports()
    out = render_junit(reports, summarize(reports, could_not_check=HOSTILE))
    out.encode("utf-8")  # no lone surrogate left to break the write
    junit_schema.validate(out)
    root = ElementTree.fromstring(out.split("?>", 1)[1])
    [failure, *_] = root.iter("failure")
    assert failure.get("message") == xml_safe(HOSTILE)
    assert "\\x00" in (failure.get("message") or "")
    assert "]]><![CDATA[<x>&amp;</x>" in (failure.get("message") or "")  # markup stays text
    [suite] = root.iter("testsuite")
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "2"


def test_junit_keeps_ordinary_text_as_it_is(junit_schema: xmlschema.XMLSchema) -> None:
    text = "Café “Mass Surveillance” <b>&amp; ]]> 😀\ttab"
    out = render_junit([_report(text)], summarize([_report(text)]))
    junit_schema.validate(out)
    case = ElementTree.fromstring(out.split("?>", 1)[1]).find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == f"2021-02-03--{text}"
    assert case.get("classname") == f"events/{text}.md"


def test_the_schema_refuses_what_it_should(junit_schema: xmlschema.XMLSchema) -> None:
    """The schema is not a rubber stamp: a failure without its message is invalid."""
    bad = '<testsuites><testsuite name="e" tests="1" failures="1" errors="0">'
    bad += '<testcase name="x" classname="y"><failure type="t">z</failure></testcase>'
    bad += "</testsuite></testsuites>"
    assert not junit_schema.is_valid(bad)


def _runner_unescape_property(value: str) -> str:
    """How the runner reads a property back (actions/runner ``ActionCommand``)."""
    for token, code in (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")):
        value = value.replace(code, token)
    return value


def _runner_unescape_data(value: str) -> str:
    for token, code in (("\r", "%0D"), ("\n", "%0A"), ("%", "%25")):
        value = value.replace(code, token)
    return value


def _parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command split the way the runner splits it: ``::name props::data``."""
    assert line.startswith("::")
    end = line.index("::", 2)
    name, _, props = line[2:end].partition(" ")
    properties = dict(pair.split("=", 1) for pair in props.split(",") if pair)
    return name, properties, line[end + 2 :]


def test_github_annotation_of_hostile_text_reads_back_as_its_visible_form() -> None:
    line = annotation("error", HOSTILE, file=f"events/{HOSTILE}.md", line=3, title=HOSTILE)
    assert "\n" not in line and "\r" not in line
    line.encode("utf-8")
    assert not re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u202e]", line)
    name, properties, data = _parse_command(line)
    assert name == "error"
    assert set(properties) == {"file", "line", "title"}
    assert _runner_unescape_property(properties["file"]) == terminal_safe(
        f"events/{HOSTILE}.md", KEPT
    )
    assert _runner_unescape_property(properties["title"]) == terminal_safe(HOSTILE, KEPT)
    assert _runner_unescape_data(data) == terminal_safe(HOSTILE, KEPT)
    assert "\\x1b[2J" in data and "\\x9b31m" in data and "\\ud800" in data


def test_github_escapes_are_applied_once() -> None:
    line = annotation("warning", "%0A 50%", file="a.md", line=None, title="t")
    assert line == "::warning file=a.md,title=t::%250A 50%25"
    assert annotation("error", "\\x1b", file="a.md", line=1, title="t").endswith("::\\x1b")


def test_github_output_has_no_command_but_its_own() -> None:
    reports = _hostile_reports()
    out = render_github(reports, summarize(reports, could_not_check=HOSTILE))
    out.encode("utf-8")
    lines = out.splitlines()
    token = next(line for line in lines if line.startswith("::stop-commands::")).split("::")[2]
    inside = False
    for line in lines:
        if line.startswith("::stop-commands::"):
            inside = True
        elif line == f"::{token}::":
            inside = False
        elif not inside:
            assert _parse_command(line)[0] in {"error", "warning"}
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", out)
    assert "COULD NOT CHECK: " + terminal_safe(HOSTILE) in out


def test_text_output_shows_terminal_escapes_instead_of_obeying_them() -> None:
    reports = _hostile_reports()
    out = render_text(reports, summarize(reports, could_not_check=HOSTILE))
    out.encode("utf-8")
    assert all(line.isprintable() for line in out.splitlines())
    assert out.count("\n") == len(out.splitlines())  # no line break of a stranger's
    assert "\\x1b[2J\\x1b]0;owned\\x07\\x9b31m" in out
    assert "COULD NOT CHECK: " + terminal_safe(HOSTILE) in out


def test_text_escape_is_done_once() -> None:
    assert terminal_safe("already \\x1b visible") == "already \\x1b visible"
    assert terminal_safe(terminal_safe(HOSTILE)) == terminal_safe(HOSTILE)
    assert terminal_safe("Café “quotes” 😀") == "Café “quotes” 😀"


def test_archive_summary_line_shows_escapes() -> None:
    line = archive_summary_line(["existing"], 1, {"\x1b[2Jwhy": 1}, None)
    assert line.isprintable()
    assert "\\x1b[2Jwhy" in line
