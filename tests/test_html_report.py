"""The HTML report: pure checks of what the page contains, then the page driven in Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from verifier.history.store import RunState, SQLiteHistory
from verifier.models import (
    ArchiveInfo,
    ArchiveState,
    EventReport,
    EventSummary,
    Result,
    Severity,
    SourceReport,
    Status,
    Verdict,
    Violation,
)
from verifier.reports.formats.chart import RunPoint, with_missing_nights
from verifier.reports.formats.html import render_html, safe_href, script_json
from verifier.reports.html_page import html_reports, run_facts
from verifier.reports.summary import summarize

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script> & </script><b>bold</b>\u2028"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

STATUS_OF = {
    Verdict.ALIVE: Status.OK,
    Verdict.DEAD: Status.BROKEN,
    Verdict.SOFT_DEAD: Status.SUSPECT,
    Verdict.BLOCKED: Status.BLOCKED,
    Verdict.UNREACHABLE: Status.UNKNOWN,
}
HOSTS = ["apnews.com", "www.justice.gov", "www.reuters.com", "example.org", "nytimes.com"]
PUBLISHERS = ["Associated Press", "Department of Justice", "Reuters", "Example", "NYT"]


def source(i: int, verdict: Verdict, **extra: Any) -> SourceReport:
    host = HOSTS[i % len(HOSTS)]
    fields: dict[str, Any] = {
        "index": i % 4,
        "url": f"https://{host}/story/{i}",
        "tier": 1 + i % 3,
        "effective_tier": 1 + i % 3,
        "publisher": PUBLISHERS[i % len(PUBLISHERS)],
        "line": 8 + 3 * (i % 4),
        "verdict": verdict,
        "status": STATUS_OF[verdict],
        "http_status": {Verdict.ALIVE: 200, Verdict.DEAD: 404, Verdict.BLOCKED: 403}.get(verdict),
        "attempts": 1,
        "checked_at": NOW - timedelta(minutes=i),
        "detail": "" if verdict is Verdict.ALIVE else f"{verdict.value} on check {i}",
    }
    if verdict is Verdict.DEAD:
        fields["archive"] = ArchiveInfo(
            state=ArchiveState.EXISTING,
            url=f"https://web.archive.org/web/20200101000000/https://{host}/story/{i}",
            timestamp="20200101000000",
            captured_status=200,
            suggested=True,
        )
    elif verdict is Verdict.ALIVE:
        fields["archive"] = ArchiveInfo(
            state=ArchiveState.SAVED,
            timestamp="20240506070809",
            url=f"https://web.archive.org/web/2024/{host}/{i}",
        )
    return SourceReport(**{**fields, **extra})


def make_reports(events: int = 10) -> list[EventReport]:
    """``events`` events of 4 sources each; the first is hostile, the second has a bad link."""
    verdicts = [
        Verdict.ALIVE,
        Verdict.ALIVE,
        Verdict.DEAD,
        Verdict.SOFT_DEAD,
        Verdict.BLOCKED,
        Verdict.UNREACHABLE,
    ]
    reports = []
    for e in range(events):
        sources = [source(e * 4 + k, verdicts[(e * 4 + k) % len(verdicts)]) for k in range(4)]
        title = f"Event number {e}: a hearing on the matter"
        if e == 0:
            title = HOSTILE
            sources[0] = sources[0].model_copy(
                update={"detail": "</script><img src=x onerror=alert(2)>"}
            )
        if e == 1:
            sources[1] = sources[1].model_copy(update={"url": "javascript:alert(3)//x"})
            sources[2] = sources[2].model_copy(
                update={
                    "archive": ArchiveInfo(
                        state=ArchiveState.FABRICATED,
                        url="data:text/html,<b>x</b>",
                        nearest_url="JAVASCRIPT:alert(4)",
                    )
                }
            )
        worst = {s.status for s in sources}
        result = (
            Result.FAIL
            if Status.BROKEN in worst
            else (Result.WARN if Status.SUSPECT in worst else Result.PASS)
        )
        violations = [
            Violation(
                rule="source-dead",
                severity=Severity.ERROR,
                message="dead",
                source_index=s.index,
                line=s.line,
            )
            for s in sources
            if s.status is Status.BROKEN
        ]
        if e % 3 == 0:
            violations.append(
                Violation(rule="publisher-diversity", severity=Severity.WARNING, message="one")
            )
        reports.append(
            EventReport(
                violations=violations,
                event=EventSummary(
                    id=f"2021-02-{e + 1:02d}--event-{e}",
                    file=f"events/event-{e}.md",
                    title=title,
                    date="2021-02-03",
                    importance=5,
                ),
                result=result,
                sources=sources,
            )
        )
    return reports


def make_history(runs: int = 14) -> list[RunPoint]:
    start = NOW - timedelta(days=runs)
    return [
        RunPoint(
            started_at=start + timedelta(days=d),
            counts={
                "ok": 24 + d % 3,
                "suspect": 3 + d % 4,
                "broken": 2 + d // 4,
                "blocked": 3,
                "unknown": 4 - d % 3,
            },
        )
        for d in range(runs)
    ]


def render(events: int = 10) -> str:
    reports = make_reports(events)
    return render_html(reports, summarize(reports).model_dump(), make_history(), NOW)


def embedded(page: str) -> tuple[str, dict[str, Any]]:
    """The page without its data block, and the data block parsed."""
    match = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.DOTALL
    )
    assert match
    return page[: match.start()] + page[match.end() :], json.loads(match.group(1))


# --- pure ---------------------------------------------------------------------------------------


def test_page_makes_no_external_requests() -> None:
    page = render()
    rest, data = embedded(page)
    assert len(data["rows"]) == 40
    assert "default-src 'none'" in page
    lowered = rest.lower()
    for banned in (
        "http://",
        "https://",
        "<script src",
        "<link",
        "@import",
        "url(",
        "src=",
        "<iframe",
        "<object",
        "<embed",
        "<base",
    ):
        assert banned not in lowered, banned


def test_hostile_text_is_escaped_in_data_and_html() -> None:
    page = render()
    _, data = embedded(page)
    assert data["rows"][0]["event"] == HOSTILE
    assert "<script>alert(1)" not in page
    assert "<img" not in page
    # exactly the two script blocks of the template close in the page
    assert page.lower().count("</script") == 2
    assert "\u2028" not in page and "\u2029" not in page
    assert script_json({"t": "</script>&\u2029"}) == '{"t":"\\u003c/script\\u003e\\u0026\\u2029"}'


def test_only_http_urls_become_links() -> None:
    _, data = embedded(render())
    bad = data["rows"][5]
    assert bad["url"] == "javascript:alert(3)//x" and bad["href"] is None
    fabricated = data["rows"][6]
    assert fabricated["archive_href"] is None and fabricated["nearest_href"] is None
    assert data["rows"][2]["archive_href"].startswith("https://web.archive.org/")
    for url in (
        "javascript:alert(1)",
        " https://x.org",
        "https:x.org",
        "data:,x",
        "ftp://x",
        "https://x.org/\nfoo",
        "https://@evil",
        "",
        None,
    ):
        assert safe_href(url) is None, url
    assert safe_href("HTTPS://Example.org/a?b#c") == "HTTPS://Example.org/a?b#c"


def test_summary_and_chart_are_rendered_in_html() -> None:
    page = render()
    assert "Sources by status" in page and "Violations by rule" in page
    assert page.count("<rect ") >= 14 * 5
    assert "2024-05-05" in page
    empty = render_html([], {"events": 0}, [], NOW)
    assert "No run history yet." in empty
    _, data = embedded(empty)
    assert data["rows"] == []


def chips(page: str, field: str) -> dict[str, str]:
    """The filtering chips of ``field``: their label → the value they filter on."""
    return dict(
        re.findall(
            rf'<button type="button" class="chip" data-v="([^"]*)" data-filter="{field}" '
            r'data-value="([^"]*)"',
            page,
        )
    )


def test_summary_chips_are_buttons_that_name_the_table_values() -> None:
    reports = make_reports()
    summary = summarize(reports).model_dump() | {
        "tiers": {"1": 3, "unknown": 2},
        "failing_hosts": {"justice.gov": 3},
    }
    page = render_html(reports, summary, [], NOW)
    _, data = embedded(page)
    assert set(chips(page, "status")) == {r["status"] for r in data["rows"]}
    assert chips(page, "verdict")["dead"] == "dead"
    assert chips(page, "result") == {"pass": "pass", "warn": "warn", "fail": "fail"}
    assert chips(page, "tier") == {"1": "1", "unknown": ""}  # rows without a tier have ""
    assert chips(page, "rule") == {
        "source-dead": "source-dead",
        "publisher-diversity": "publisher-diversity",
    }
    # a host is named as summary.json's failing_hosts names it: no www.
    assert chips(page, "host") == {"justice.gov": "justice.gov"}
    assert {r["host"] for r in data["rows"]} >= {"justice.gov", "reuters.com", "apnews.com"}
    # a source row carries the rules its event breaks there (its own, and the event's)
    first = data["rows"][0]
    assert first["rule"] == ["publisher-diversity"]
    assert "source-dead" in data["rows"][2]["rule"]


def nightly_summary(**run: Any) -> dict[str, Any]:
    """``summary.json`` as ``run_summary`` writes it."""
    return {
        "schema_version": 1,
        "generated_at": NOW.isoformat(),
        "run": {
            "id": 3,
            "state": "complete",
            "resumed": False,
            "urls": 5678,
            "due": 1300,
            "resumed_with": 0,
            "checked": 1300,
            "requests": 1544,
            "wall_seconds": 252.4,
            **run,
        },
        "events": 10,
        "results": {"pass": 4, "warn": 3, "fail": 3},
        "statuses": {"ok": 30, "broken": 5},
        "broken": 5,
        "broken_new": 2,
        "could_not_check": None,
        "notices": ["Save Page Now skipped: set WAYBACK_ACCESS_KEY"],
    }


def run_card(page: str) -> str:
    match = re.search(r'<div class="card run" id="run">(.*?)</div>', page, re.DOTALL)
    assert match, "no Run card"
    return re.sub(r"<[^>]+>", " ", match.group(1))


def test_the_run_card_says_when_how_long_how_many_and_the_outcome(tmp_path: Path) -> None:
    store_path = tmp_path / "history.sqlite3"
    with SQLiteHistory(store_path) as store:
        for night in range(2):
            run, _ = store.start_run(NOW - timedelta(days=2 - night))
            store.finish_run(run.id, RunState.COMPLETE, NOW, {"statuses": {"ok": 35}})
        current, _ = store.start_run(NOW - timedelta(minutes=5))
        summary = nightly_summary(id=current.id)
        page = html_reports(make_reports(), summary, store, NOW)["index.html"]
    card = " ".join(run_card(page).split())
    assert "When 2024-05-06 07:08 UTC" in card
    assert "Took 4 min 12 s" in card
    assert "Checked 1,300 URLs (5,678 cited in all)" in card
    assert "Outcome complete every URL due was checked; 5 broken sources (2 new)" in card
    # no internals anywhere in the summary: no run id, no reprs, no history path
    cards = page[page.index('<section class="cards"') : page.index("</section>")]
    for internal in (
        "False",
        "None",
        "resumed_with",
        "wall_seconds",
        "requests",
        f"id <b>{current.id}</b>",
        str(store_path),
        "{",
        "Broken new",
    ):
        assert internal not in cards, internal
    assert "Save Page Now skipped" in cards  # notices are for the maintainer

    interrupted = nightly_summary(state="interrupted", resumed=True, checked=200, resumed_with=900)
    facts = run_facts(interrupted["run"], {"broken": 1}, NOW)
    resumed = " ".join(run_card(render_html([], {}, [], NOW, facts)).split())
    assert "Checked 1,100 URLs of 1,300 due" in resumed
    assert "interrupted stopped before the end; the next run resumes it" in resumed
    assert "resumed a run stopped earlier" in resumed


def test_lost_nights_are_marked_on_the_status_chart(tmp_path: Path) -> None:
    """An outage night, a night without any run, and this run interrupted: each is marked
    (a bar of its own, a tooltip, the legend, one line under the chart)."""
    night = NOW.replace(hour=3, minute=0, second=0) - timedelta(days=4)
    with SQLiteHistory(tmp_path / "history.sqlite3") as store:
        first, _ = store.start_run(night)
        store.finish_run(first.id, RunState.COMPLETE, night, {"statuses": {"ok": 30, "broken": 2}})
        outage, _ = store.start_run(night + timedelta(days=1))
        store.finish_run(outage.id, RunState.OUTAGE, night + timedelta(days=1), {"urls": 32})
        # no run on night + 2 days
        current, _ = store.start_run(night + timedelta(days=3))
        summary = nightly_summary(id=current.id, state="interrupted")
        page = html_reports(make_reports(), summary, store, NOW)["index.html"]
    states = re.findall(r'<g data-state="([a-z]+)">', page)
    assert states == ["complete", "outage", "missing", "interrupted"]
    assert "outage: the network was down, nothing was judged" in page
    assert f"{(night + timedelta(days=2)).date().isoformat()}\nno run that night" in page
    assert "Lost: 1 outage · 1 night without a run · 1 interrupted run." in page
    assert page.count('class="lost"') >= 3


def test_missing_nights_follow_the_runs_cadence() -> None:
    start = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    day = timedelta(days=1)

    def states(*offsets: timedelta, finished: dict[int, timedelta] | None = None) -> list[str]:
        points = [
            RunPoint(start + at, {"ok": 1}, finished_at=start + (finished or {}).get(i, at))
            for i, at in enumerate(offsets)
        ]
        return [
            "run" if p.state == "complete" else f"{p.started_at:%d}"
            for p in with_missing_nights(points)
        ]

    assert states(0 * day, day, 4 * day) == ["run", "run", "03", "04", "run"]
    # a run that began late the next evening missed no night
    assert states(0 * day, day + timedelta(hours=20)) == ["run", "run"]
    # a run that went on past midnight covered the next night
    assert states(0 * day, 2 * day, finished={0: day + timedelta(hours=2)}) == ["run", "run"]
    # weekly runs: only a skipped week is missing
    week = 7 * day
    assert states(0 * week, week, 2 * week, 4 * week) == ["run", "run", "run", "22", "run"]
    assert states() == [] and states(0 * day) == ["run"]


# --- in Chromium --------------------------------------------------------------------------------


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next((path for path in map(shutil.which, names) if path), None)


CHROMIUM = find_chromium()
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(tmp_path: Path) -> Any:
    """A page in a fresh headless Chromium profile, recording dialogs, errors and requests."""
    if CHROMIUM is None:
        pytest.skip("no Chromium executable found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only for this test

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1440, "height": 900},
            offline=True,
        )
        page = context.pages[0] if context.pages else context.new_page()
        seen: dict[str, list[str]] = {"dialogs": [], "errors": [], "requests": []}
        page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
        page.on("request", lambda r: seen["requests"].append(r.url))
        try:
            yield page, seen
        finally:
            context.close()


def visible_rows(page: Any) -> int:
    return int(page.locator("#rows tr").count())


def column_texts(page: Any, column: int, limit: int = 12) -> list[str]:
    return list(
        page.eval_on_selector_all(
            f"#rows tr td:nth-child({column})",
            f"cells => cells.slice(0, {limit}).map(c => c.textContent)",
        )
    )


STATUS_RANK = ["broken", "suspect", "blocked", "unknown", "ok"]
RESULT_RANK = ["fail", "warn", "pass"]


def test_report_in_headless_chromium(browser_page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - only for the browser tests

    page, seen = browser_page
    report = tmp_path / "report.html"
    report.write_text(render(), encoding="utf-8")
    page.goto(report.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    total = 40
    assert page.locator("#rows tr").count() == total
    assert visible_rows(page) == total
    assert page.text_content("#count") == f"Showing {total} of {total} sources"

    # it opens on the problems: broken first, then suspect, blocked, unknown, ok last
    statuses = column_texts(page, 7, total)
    assert statuses[0] == "broken" and statuses[-1] == "ok"
    assert statuses == sorted(statuses, key=STATUS_RANK.index)
    assert page.get_attribute("th[data-key=status]", "aria-sort") == "ascending"
    assert page.evaluate("location.hash") == ""

    # the hostile title is text, and nothing ran
    hostile = page.locator("#rows tr", has_text="onerror=alert(2)")
    assert hostile.count() == 1
    assert hostile.locator("td").first.locator("div").first.text_content() == HOSTILE
    assert "</script><img src=x onerror=alert(2)>" in hostile.inner_text()
    assert page.locator("#rows img, #rows script, #rows b").count() == 0
    # javascript: and data: URLs stay text; every link is http(s) with rel noopener noreferrer
    bad_row = page.locator("#rows tr", has_text="javascript:alert(3)//x")
    assert bad_row.locator("a", has_text="javascript:").count() == 0
    assert bad_row.get_by_text("javascript:alert(3)//x").count() == 1
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => [a.href, a.rel])")
    assert hrefs and all(re.match(r"https?://", h) and r == "noopener noreferrer" for h, r in hrefs)

    # search
    page.fill("#q", "reuters")
    expect(page.locator("#count")).to_have_attribute("data-shown", "8")
    assert visible_rows(page) == 8
    assert all("reuters" in t.lower() for t in column_texts(page, 5))
    assert page.evaluate("location.hash") == "#q=reuters"
    page.fill("#q", "")
    expect(page.locator("#count")).to_have_attribute("data-shown", str(total))

    # filter by status, then combine with event result
    page.select_option("#f-status", "=broken")
    broken = visible_rows(page)
    assert 0 < broken < total
    assert set(column_texts(page, 7, total)) == {"broken"}
    page.select_option("#f-result", "=fail")
    assert visible_rows(page) == broken  # every broken source fails its event
    page.select_option("#f-result", "=pass")
    assert visible_rows(page) == 0 and page.is_visible("#empty")
    page.click("#reset")
    assert visible_rows(page) == total
    assert page.evaluate("location.hash") == ""

    # sort by HTTP status, both ways; empty values stay last
    before = column_texts(page, 8, total)
    page.click("th[data-key=http] button")
    ascending = column_texts(page, 8, total)
    assert ascending != before
    numbers = [int(t) for t in ascending if t]
    assert numbers == sorted(numbers) and ascending[: len(numbers)] == [str(n) for n in numbers]
    page.click("th[data-key=http] button")
    descending = [int(t) for t in column_texts(page, 8, total) if t]
    assert descending == sorted(numbers, reverse=True)
    assert page.get_attribute("th[data-key=http]", "aria-sort") == "descending"
    assert page.evaluate("location.hash") == "#sort=-http"
    page.click("th[data-key=event] button")
    titles = column_texts(page, 1, total)
    assert all(t.startswith("<script>") for t in titles[:4])
    assert titles[4].startswith("Event number 1") and titles[-1].startswith("Event number 9")

    ARTIFACTS.mkdir(exist_ok=True)
    page.click("#reset")
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

    assert seen["dialogs"] == []
    assert seen["errors"] == []
    assert all(url.startswith("file://") for url in seen["requests"]), seen["requests"]


def test_chips_filter_and_the_url_keeps_the_view(browser_page: Any, tmp_path: Path) -> None:
    """A summary chip filters the table (again: unfilters); search, filters and sort live in
    the URL's fragment, so a reload or a sent link opens the same view."""
    page, seen = browser_page
    report = tmp_path / "report.html"
    reports = make_reports()
    summary = summarize(reports).model_dump() | {"failing_hosts": {"justice.gov": 3}}
    report.write_text(render_html(reports, summary, make_history(), NOW), encoding="utf-8")
    page.goto(report.as_uri())
    page.wait_for_selector("html[data-ready='1']")
    rows = embedded(report.read_text())[1]["rows"]

    suspect = page.locator("button.chip[data-filter=status][data-value=suspect]")
    suspect.click()
    assert page.input_value("#f-status") == "=suspect"
    assert set(column_texts(page, 7, 40)) == {"suspect"}
    assert visible_rows(page) == sum(r["status"] == "suspect" for r in rows)
    assert suspect.get_attribute("aria-pressed") == "true"
    assert page.evaluate("location.hash") == "#status=suspect"
    suspect.click()
    assert page.input_value("#f-status") == "" and visible_rows(page) == 40
    assert suspect.get_attribute("aria-pressed") == "false"

    # the failing hosts' chips name hosts as the table does (no www.)
    page.locator("button.chip[data-filter=host][data-value='justice.gov']").click()
    assert visible_rows(page) == sum(r["host"] == "justice.gov" for r in rows) > 0
    page.locator("button.chip[data-filter=verdict][data-value=dead]").click()
    shown = visible_rows(page)
    assert shown == sum(r["host"] == "justice.gov" and r["verdict"] == "dead" for r in rows)
    page.locator("button.chip[data-filter=rule][data-value=source-dead]").click()
    ruled = page.input_value("#f-rule")
    assert ruled == "=source-dead" and visible_rows(page) == shown
    page.fill("#q", "hearing")
    page.wait_for_function("() => location.hash.includes('q=hearing')")
    page.click("th[data-key=http] button")
    view = page.evaluate("location.hash")
    assert "host=justice.gov" in view and "verdict=dead" in view and "sort=http" in view
    expected = (page.get_attribute("#count", "data-shown"), column_texts(page, 8, 40))

    page.reload()
    page.wait_for_selector("html[data-ready='1']")
    assert page.evaluate("location.hash") == view
    assert page.input_value("#q") == "hearing"
    assert page.input_value("#f-host") == "=justice.gov"
    assert page.input_value("#f-verdict") == "=dead"
    assert page.input_value("#f-rule") == ruled
    assert page.get_attribute("th[data-key=http]", "aria-sort") == "ascending"
    assert (page.get_attribute("#count", "data-shown"), column_texts(page, 8, 40)) == expected

    # a link someone sent: restored on load; a value this report lacks is ignored
    page.goto(report.as_uri() + "#status=broken&tier=9&sort=-event")
    page.wait_for_selector("html[data-ready='1']")
    assert page.input_value("#f-status") == "=broken" and page.input_value("#f-tier") == ""
    assert set(column_texts(page, 7, 40)) == {"broken"}
    assert page.get_attribute("th[data-key=event]", "aria-sort") == "descending"
    # and the fragment edited by hand (or Back) is followed
    page.evaluate("location.hash = '#result=pass'")
    page.wait_for_function("() => document.getElementById('f-result').value === '=pass'")
    assert page.input_value("#f-status") == ""
    assert set(column_texts(page, 7, 40)) <= {"ok", "blocked", "unknown"}
    assert seen["errors"] == []


def test_six_thousand_rows_stay_usable(browser_page: Any, tmp_path: Path) -> None:
    """6,000 sources: one page of 200 rows in the DOM; sorting and filtering stay quick."""
    from playwright.sync_api import expect  # noqa: PLC0415 - only for the browser tests

    page, seen = browser_page
    report = tmp_path / "big.html"
    page_text = render(events=1500)
    rows = embedded(page_text)[1]["rows"]
    report.write_text(page_text, encoding="utf-8")
    page.goto(report.as_uri())
    page.wait_for_selector("html[data-ready='1']", timeout=30_000)
    assert page.get_attribute("#count", "data-shown") == "6000"
    assert visible_rows(page) == 200
    assert page.text_content("#page") == "Rows 1–200 · page 1 of 30"
    page.click("#next")
    assert page.text_content("#page") == "Rows 201–400 · page 2 of 30"
    problems_first = sorted(
        rows,
        key=lambda r: (STATUS_RANK.index(r["status"]), RESULT_RANK.index(r["result"])),
    )  # a stable sort: the data's order within each group
    first = column_texts(page, 1, 1)[0]
    assert first.startswith(problems_first[200]["event"])
    assert first.endswith(problems_first[200]["event_id"])
    assert page.evaluate("location.hash") == "#page=2"

    timed = """([selector, event]) => {
        const t = performance.now();
        const node = document.querySelector(selector);
        if (event === 'click') node.click(); else node.dispatchEvent(new Event(event));
        void document.body.offsetHeight;  // force the layout into the measurement
        return performance.now() - t;
    }"""
    assert page.evaluate(timed, ["th[data-key=publisher] button", "click"]) < 1000
    assert page.text_content("#page") == "Rows 1–200 · page 1 of 30"
    page.eval_on_selector("#f-status", "s => { s.value = '=broken'; }")
    assert page.evaluate(timed, ["#f-status", "change"]) < 1000
    broken = sum(r["status"] == "broken" for r in rows)
    assert page.get_attribute("#count", "data-shown") == str(broken)
    assert set(column_texts(page, 7, 200)) == {"broken"}
    page.click("#reset")
    page.fill("#q", "hearing reuters")
    expected = sum("hearing" in r["event"] and r["host"] == "reuters.com" for r in rows)
    expect(page.locator("#count")).to_have_attribute("data-shown", str(expected))
    assert seen["errors"] == []
