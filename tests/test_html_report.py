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

from verifier.models import (
    ArchiveInfo,
    ArchiveState,
    EventReport,
    EventSummary,
    Result,
    SourceReport,
    Status,
    Verdict,
)
from verifier.reports.formats.html import RunPoint, render_html, safe_href, script_json
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
        reports.append(
            EventReport(
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

    # the hostile title is text, and nothing ran
    first_event = page.locator("#rows tr").first.locator("td").first
    assert first_event.locator("div").first.text_content() == HOSTILE
    assert "</script><img src=x onerror=alert(2)>" in page.locator("#rows tr").first.inner_text()
    assert page.locator("#rows img, #rows script, #rows b").count() == 0
    # javascript: and data: URLs stay text; every link is http(s) with rel noopener noreferrer
    bad_row = page.locator("#rows tr").nth(5)
    assert bad_row.locator("a", has_text="javascript:").count() == 0
    assert bad_row.get_by_text("javascript:alert(3)//x").count() == 1
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => [a.href, a.rel])")
    assert hrefs and all(re.match(r"https?://", h) and r == "noopener noreferrer" for h, r in hrefs)

    # search
    page.fill("#q", "reuters")
    expect(page.locator("#count")).to_have_attribute("data-shown", "8")
    assert visible_rows(page) == 8
    assert all("reuters" in t.lower() for t in column_texts(page, 5))
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
    page.click("th[data-key=event] button")
    titles = column_texts(page, 1, total)
    assert all(t.startswith("<script>") for t in titles[:4])
    assert titles[4].startswith("Event number 1") and titles[-1].startswith("Event number 9")

    ARTIFACTS.mkdir(exist_ok=True)
    page.click("th[data-key=status] button")
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

    assert seen["dialogs"] == []
    assert seen["errors"] == []
    assert all(url.startswith("file://") for url in seen["requests"]), seen["requests"]


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
    assert column_texts(page, 1, 1)[0].startswith("Event number 50:")

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
    expected = sum("hearing" in r["event"] and r["host"] == "www.reuters.com" for r in rows)
    expect(page.locator("#count")).to_have_attribute("data-shown", str(expected))
    assert seen["errors"] == []
