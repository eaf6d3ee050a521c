"""The citation check end to end: ``verifier run`` on event files against the loopback web
and the fake Wayback Machine, each verdict read back from the reports the run writes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from tests.fakes.loopweb import LoopWeb, Page
from tests.fakes.wayback import FakeClock, FakeWayback, FakeWaybackConfig
from tests.nightly_support import run_settings
from verifier.cli import main
from verifier.commands.run import nightly_run
from verifier.config import Settings, WaybackSettings
from verifier.reports.html_page import html_reports

NIGHT = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
SITE = "Harbour Courier"


def article(title: str, published: str, *, suffix: bool = True) -> bytes:
    """A news page's head as many CMSs write it: site suffix, Open Graph, JSON-LD."""
    shown = f"{title} | {SITE}" if suffix else title
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{shown}</title>"
        f"<meta property='og:site_name' content='{SITE}'>"
        f"<meta property='og:title' content='{title}'>"
        "<script type='application/ld+json'>"
        f'{{"@type": "NewsArticle", "headline": "{title}", "datePublished": "{published}",'
        f' "publisher": {{"name": "{SITE}"}}}}'
        "</script></head><body><header>Harbour Courier · Politics · World</header>"
        f"<h1>{title}</h1><p>{'The council met again on Tuesday. ' * 40}</p></body></html>"
    ).encode()


PAGES = {
    "/politics/senate-passes-pension-bill": article(
        "Senate passes the harbour pension bill", "2021-02-03T10:00:00Z"
    ),
    "/politics/tram-plan": article("Council delays railway vote again", "2021-02-01T09:00:00Z"),
    "/politics/railway-vote": article("Council delays railway vote again", "2021-02-01T09:00:00Z"),
    "/politics/old-story": article("Mayor opens the new ferry terminal", "2017-05-02T09:00:00Z"),
    "/politics": (
        f"<html><head><title>Politics | {SITE}</title>"
        f"<meta property='og:site_name' content='{SITE}'></head>"
        "<body><h1>Politics</h1><ul><li>Story one</li><li>Story two</li></ul></body></html>"
    ).encode(),
    "/app/story": (
        b"<html><head><title></title><script src='/bundle.js'></script></head>"
        b"<body><div id='root'></div><script>window.boot()</script></body></html>"
    ),
}
PENSION = "Senate passes the harbour pension bill"
CITED = [
    # (path, cited title, date, expected verdict)
    ("/politics/senate-passes-pension-bill", "Senate passes harbour pension bill", "2021-02-03",
     "matches"),
    ("/politics/tram-plan", "Mayor unveils the harbour tram plan", "2021-02-03", "drifted"),
    ("/politics/railway-vote", PENSION, "2021-02-03", "wrong-page"),
    ("/politics", PENSION, "2021-02-03", "generic-page"),
    ("/politics/old-story", "Mayor opens the new ferry terminal", "2021-02-03", "date-mismatch"),
    ("/app/story", PENSION, "2021-02-03", "unverifiable"),
]  # fmt: skip


def _event_files(folder: Path, web: LoopWeb) -> None:
    folder.mkdir()
    sources = "".join(
        f"- url: {web.url(0, path)}\n  title: {title}\n  publisher: {SITE}\n"
        f"  date: '{date}'\n  tier: 2\n"
        for path, title, date, _ in CITED
    )
    (folder / "2021-02-03--harbour.md").write_text(
        "---\nid: 2021-02-03--harbour\ndate: '2021-02-03'\ntitle: Harbour votes\n"
        f"importance: 5\nsources:\n{sources}---\nBody.\n"
    )


def _settings(tmp_path: Path) -> Settings:
    return run_settings(tmp_path, tmp_path / "events").model_copy(
        update={
            "wayback": WaybackSettings(
                cdx_url="https://wayback.test/cdx/search/cdx",
                replay_url="https://wayback.test/web",
                rate_window=1.0,
                cdx_per_window=100,
                replay_per_window=100,
                save_if_no_capture_within_days=36500,
            )
        }
    )


def _fake_wayback(web: LoopWeb) -> FakeWayback:
    fake = FakeWayback(
        FakeWaybackConfig(rate_limits=dict.fromkeys(("cdx", "spn_status", "spn_user", "replay"))),
        FakeClock(NIGHT),
    )
    for path, *_ in CITED:
        fake.add_capture(web.url(0, path), "20210101000000", body=PAGES.get(path, b""))
    # the tram-plan page said something else when it was cited
    fake.add_capture(
        web.url(0, "/politics/tram-plan"),
        "20210202000000",
        body=article("Mayor unveils the harbour tram plan", "2021-02-02T08:00:00Z"),
    )
    return fake


async def test_each_citation_verdict_from_one_nightly_run(tmp_path: Path) -> None:
    async with LoopWeb(hosts=1) as web:
        for path, body in PAGES.items():
            web.publish(0, [path], Page(body=body))
        _event_files(tmp_path / "events", web)
        fake = _fake_wayback(web)
        settings = _settings(tmp_path)
        outcome = await nightly_run(
            settings,
            clock=lambda: NIGHT,
            extra_reports=html_reports,
            wayback_transport=httpx.ASGITransport(app=fake.app),
        )
        replays_first = len(fake.requests("replay"))
        requests_first = web.total_requests
        again = await nightly_run(
            settings,
            clock=lambda: NIGHT + dt.timedelta(days=1),
            extra_reports=html_reports,
            wayback_transport=httpx.ASGITransport(app=fake.app),
        )
        replays_second = len(fake.requests("replay")) - replays_first
        requests_second = web.total_requests - requests_first
    [report] = outcome.reports
    verdicts = [s.citation.verdict.value if s.citation else None for s in report.sources]
    assert verdicts == [expected for *_, expected in CITED]
    drifted = report.sources[1].citation
    assert drifted is not None and drifted.capture_title == "Mayor unveils the harbour tram plan"
    assert drifted.seen.title == "Council delays railway vote again"
    unverifiable = report.sources[5].citation
    assert unverifiable is not None and unverifiable.reason is not None
    assert unverifiable.reason.value == "script-shell"
    # the warnings sit on the sources' title: and date: lines
    text = (tmp_path / "events" / "2021-02-03--harbour.md").read_text().splitlines()
    by_rule = {(v.rule, v.source_index): v for v in report.violations}
    mismatch = by_rule[("citation-mismatch", 2)]
    assert mismatch.severity.value == "warning"
    assert mismatch.line is not None and text[mismatch.line - 1].strip().startswith("title:")
    assert ("citation-mismatch", 3) in by_rule
    dated = by_rule[("citation-date", 4)]
    assert dated.line is not None and text[dated.line - 1].strip().startswith("date:")
    assert not any(
        v.rule.startswith("citation") and v.source_index in (0, 1, 5) for v in report.violations
    )
    # what the run wrote: the contract's citation block, the wrong pages, the HTML filter
    written = json.loads((tmp_path / "reports" / "events" / "2021-02-03--harbour.json").read_text())
    block = written["sources"][2]["citation"]
    assert block["verdict"] == "wrong-page"
    assert block["cited"]["title"] == "Senate passes the harbour pension bill"
    assert block["seen"]["title"] == "Council delays railway vote again"
    broken = (tmp_path / "reports" / "broken-links.md").read_text()
    assert "## Wrong pages" in broken and "Council delays railway vote again" in broken
    assert 'data-field="citation"' in (tmp_path / "reports" / "index.html").read_text()
    # a second night reads no capture again: the history keeps them
    [second] = again.reports
    assert [s.citation.verdict.value if s.citation else None for s in second.sources] == verdicts
    assert replays_first > 0
    assert replays_second == 0
    # nothing was due (at most a witness for the outage watch): verdicts from the history
    assert requests_second < len(CITED)


def test_the_offline_url_date_rule_follows_its_configured_severity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "2021-02-03--e.md").write_text(
        "---\nid: 2021-02-03--e\ndate: '2021-02-03'\ntitle: T\nsources:\n"
        "- url: https://a.example/2020/01/05/story\n  title: A story\n  date: '2021-02-03'\n"
        "  publisher: A\n  tier: 1\n---\n"
    )
    config = tmp_path / "config.toml"
    rules: dict[str, list[tuple[str, str, int | None]]] = {}
    for severity in ("error", "off"):
        config.write_text(
            f'[paths]\nevents = "events"\n[rules.severity]\ncitation-url-date = "{severity}"\n'
        )
        main(["--config", str(config), "check", "--offline", "--format", "json"])
        [event] = json.loads(capsys.readouterr().out)["events"]
        rules[severity] = [
            (v["rule"], v["severity"], v["line"])
            for v in event["violations"]
            if v["rule"] == "citation-url-date"
        ]
    assert rules["error"] == [("citation-url-date", "error", 8)]
    assert rules["off"] == []
