"""Report files: safe names, atomic writes, pruning; escaping in Markdown, checked with a
CommonMark parser with GFM tables (markdown-it-py, which rich brings); ``broken-links.md``."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from verifier.atomic import TEMPORARY, TemporaryFileError, write_atomically
from verifier.models import (
    ArchiveInfo,
    ArchiveState,
    CitationInfo,
    CitationVerdict,
    Citing,
    EventReport,
    EventSummary,
    Result,
    SourceReport,
    Status,
    Verdict,
)
from verifier.reports.formats.markdown import (
    BrokenLink,
    code,
    file_link,
    md,
    md_link,
    render_broken_links,
    render_event_markdown,
)
from verifier.reports.writer import safe_name, write_reports


@pytest.mark.parametrize(
    "event_id", ["../../etc/passwd", "/abs/path", "..", ".hidden", "a/b\\c", "x" * 500, ""]
)
def test_hostile_ids_stay_inside_the_reports_folder(tmp_path: Path, event_id: str) -> None:
    name = safe_name(event_id)
    assert "/" not in name
    assert "\\" not in name
    assert not name.startswith(".")
    write_reports(tmp_path / "reports", {}, {f"{name}.json": "{}"})
    written = list((tmp_path / "reports").rglob("*.json"))
    assert len(written) == 1
    assert written[0].parent == (tmp_path / "reports" / "events").resolve()


def test_distinct_ids_never_share_a_file() -> None:
    assert safe_name("a/b") != safe_name("a_b")
    assert safe_name("2021-01-01--ok") == "2021-01-01--ok"


def test_reports_of_deleted_events_are_removed(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_reports(reports, {"summary.json": "{}"}, {"a.json": "1", "a.md": "1", "b.json": "2"})
    write_reports(reports, {"summary.json": "{}"}, {"a.json": "1", "a.md": "1"})
    assert sorted(p.name for p in (reports / "events").iterdir()) == ["a.json", "a.md"]
    assert not list(reports.rglob("*.tmp"))


def current_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_reports_get_the_umask_mode_and_replaced_ones_keep_theirs(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_reports(reports, {"summary.json": "{}", "index.html": "<p>"}, {"a.json": "1"})
    assert {mode(p) for p in reports.rglob("*") if p.is_file()} == {0o666 & ~current_umask()}
    (reports / "summary.json").chmod(0o640)
    write_reports(reports, {"summary.json": "{ }", "index.html": "<p>"}, {"a.json": "2"})
    assert (reports / "summary.json").read_text() == "{ }"
    assert mode(reports / "summary.json") == 0o640
    assert mode(reports / "index.html") == 0o666 & ~current_umask()


def test_an_atomic_write_refused_before_the_rename_leaves_the_old_file_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "2021-01-01--e.md"
    path.write_text("old")

    def refuse() -> None:
        temporaries = [p.name for p in tmp_path.iterdir() if p != path]
        assert len(temporaries) == 1
        assert TEMPORARY.match(temporaries[0])  # hidden, beside the file: never an event
        assert temporaries[0].startswith(f".{path.name}.")
        raise RuntimeError("changed meanwhile")

    with pytest.raises(RuntimeError, match="changed meanwhile"):
        write_atomically(path, b"new", before_replace=refuse)
    assert path.read_text() == "old"
    assert list(tmp_path.iterdir()) == [path]


def test_an_atomic_write_into_a_missing_folder_is_a_temporary_file_error(tmp_path: Path) -> None:
    with pytest.raises(TemporaryFileError) as caught:
        write_atomically(tmp_path / "missing" / "x.json", b"{}")
    assert isinstance(caught.value, OSError)
    assert caught.value.strerror


def report(
    title: str,
    url: str,
    *,
    event_id: str = "2021-01-01--x",
    file: str = "events/x.md",
    **source: Any,
) -> EventReport:
    return EventReport(
        event=EventSummary(id=event_id, file=file, title=title, date="2021-01-01"),
        result=Result.FAIL,
        sources=[
            SourceReport(
                **{
                    "index": 0,
                    "url": url,
                    "verdict": Verdict.DEAD,
                    "status": Status.BROKEN,
                    "http_status": 404,
                    "line": 9,
                    **source,
                }
            )
        ],
    )


def test_markdown_escapes_untrusted_text() -> None:
    hostile = "<script>alert(1)</script> | [click](javascript:alert(1)) **bold**"
    text = render_event_markdown(report(hostile, "javascript:alert(1)"))
    assert "<script>" not in text
    assert "](javascript:" not in text
    assert "\\|" in text
    assert md("a_b*c") == "a\\_b\\*c"


def test_broken_links_group_new_breakage_first() -> None:
    old = BrokenLink(
        report("Old", "https://a.example/1"),
        report("Old", "https://a.example/1").sources[0],
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        new=False,
    )
    new = BrokenLink(
        report("New", "https://b.example/2"),
        report("New", "https://b.example/2").sources[0],
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        new=True,
    )
    text = render_broken_links([new, old], dt.datetime(2026, 11, 26, tzinfo=dt.UTC))
    assert text.index("New since the last run") < text.index("Still broken")
    assert "2026\\-11\\-01" in text or "2026-11-01" in text
    assert "1 new since the last run" in text


# --- Markdown as GitHub reads it ----------------------------------------------------------------

GFM = MarkdownIt("commonmark").enable("table")
NOW = dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC)


class Cells(HTMLParser):
    """The rendered tables: per row, each cell's text, links (href) and code spans."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[dict[str, Any]]] = []
        self.cell: dict[str, Any] | None = None
        self.where: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = {"text": "", "hrefs": [], "code": []}
            self.rows[-1].append(self.cell)
        elif tag == "a" and self.cell is not None:
            self.cell["hrefs"].append(dict(attrs)["href"])
        elif tag == "code" and self.cell is not None:
            self.cell["code"].append("")
            self.where = "code"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.cell = None
        elif tag == "code":
            self.where = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell["text"] += data
            if self.where == "code":
                self.cell["code"][-1] += data


def tables(markdown: str) -> list[list[dict[str, Any]]]:
    parser = Cells()
    parser.feed(GFM.render(markdown))
    return parser.rows


def link(url: str, *, new: bool = True, **source: Any) -> BrokenLink:
    made = report(source.pop("title", "An event"), url, **source)
    return BrokenLink(made, made.sources[0], dt.datetime(2026, 11, 1, tzinfo=dt.UTC), new=new)


FORGED = "https://dead.example/gone|alive|ok|"


def test_a_pipe_in_a_dead_url_cannot_forge_table_cells() -> None:
    page = render_event_markdown(report("T", FORGED, publisher="P|Q"))
    broken = render_broken_links([link(FORGED)], NOW)
    for text in (page, broken):
        header, *rows = tables(text)
        assert rows and all(len(row) == len(header) for row in rows), text
        assert all(cell["text"].strip() not in ("alive", "ok") for row in rows for cell in row)
        hrefs = [href for row in rows for cell in row for href in cell["hrefs"]]
        assert "https://dead.example/gone%7Calive%7Cok%7C" in hrefs
    assert "(<https://dead.example/gone%7Calive%7Cok%7C>)" in broken
    # the label is text: the pipes shown, escaped for the table
    assert tables(page)[1][1]["text"] == "P|Q"


def test_link_targets_stay_the_cited_url() -> None:
    cases = {
        # parentheses and brackets need nothing inside <…>: linked as they are
        "https://en.wikipedia.org/wiki/Foo_(bar)": "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://x.example/a[1]*_b_": "https://x.example/a%5B1%5D*_b_",  # as GitHub writes it
        # an entity-like & stays the characters cited, not the character it names
        "https://x.example/?a=1&amp;b=2&copy=3": "https://x.example/?a=1&amp;amp;b=2&amp;copy=3",
        "https://x.example/a\\b>c": "https://x.example/a%5Cb%3Ec",
        "https://x.example/`x`": "https://x.example/%60x%60",
    }
    for url, href in cases.items():
        rendered = GFM.render(md_link("label", url))
        assert f'<a href="{href}">label</a>' in rendered, (url, rendered)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://x.example/a b_c*d",
        "https://x.example/\x1b[31mred",
        "ftp://x.example/file_name",
        "https://@evil.example/",
    ],
)
def test_a_url_that_is_not_linked_is_code_not_an_autolink(url: str) -> None:
    shown = md_link(url, url)
    rendered = GFM.render(shown)
    assert "<a " not in rendered
    [content] = re.findall(r"<code>(.*?)</code>", rendered)
    assert "\\" not in content  # nothing backslash-escaped: GitHub would show the backslashes
    assert content == (url.replace("\x1b", "\ufffd").replace("&", "&amp;").replace("<", "&lt;"))
    # beside another label, the URL still shows, as code
    assert re.fullmatch(r"Publisher `[^`]+`", md_link("Publisher", url))


def test_code_spans_show_paths_as_they_are() -> None:
    for path in (
        "events/(141-million)_war-chest.md",
        "events/a`b``c.md",
        "`leading and trailing`",
        " spaced ",
        "events/*not* [a](link) <b>.md",
    ):
        rendered = GFM.render(code(path))
        assert re.fullmatch(r"<p><code>(.*)</code></p>\n", rendered, re.DOTALL), rendered
        inner = rendered[len("<p><code>") : -len("</code></p>\n")]
        assert inner == path.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    page = render_event_markdown(report("T", "https://a.example/", file="events/(1)_x.md"))
    assert "`events/(1)_x.md`" in page
    assert "\\(" not in page and "\\_" not in page


def test_a_path_in_a_table_code_span_keeps_its_pipe_and_the_row() -> None:
    wrong = report(
        "T",
        "https://a.example/x y",
        file="/elsewhere/ev|ents/`x`.md",
        citation=CitationInfo(
            verdict=CitationVerdict.WRONG_PAGE, cited=Citing(title="A"), seen=Citing(title="B")
        ),
    )
    text = render_broken_links([], NOW, [wrong], folder="C:" if os.name == "nt" else "/reports")
    header, row = tables(text)
    assert len(row) == len(header)
    assert row[1]["code"] == ["https://a.example/x y"]
    assert row[0]["hrefs"] == ["../elsewhere/ev%7Cents/%60x%60.md"]


CONTROLS = "\x1b[2J\x1b]0;pwned\x07\x00\x08\x9b\x7f\u202e\u2066\ud800"


def test_no_control_character_reaches_any_markdown_output() -> None:
    hostile = report(
        f"Title {CONTROLS}",
        f"https://dead.example/{CONTROLS}",
        file=f"events/{CONTROLS}.md",
        publisher=f"Pub {CONTROLS}",
        detail=f"detail {CONTROLS}",
        http_status=None,
        archive=ArchiveInfo(state=ArchiveState.EXISTING, url=f"https://web.archive.org/{CONTROLS}"),
        citation=CitationInfo(
            verdict=CitationVerdict.WRONG_PAGE,
            cited=Citing(title=f"cited {CONTROLS}"),
            seen=Citing(title=f"seen {CONTROLS}"),
        ),
    )
    outputs = [
        render_event_markdown(hostile),
        render_broken_links(
            [BrokenLink(hostile, hostile.sources[0], None, new=True)], NOW, [hostile]
        ),
    ]
    for text in outputs:
        text.encode("utf-8")  # no lone surrogate
        bad = {
            ch
            for ch in text
            if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs", "Cf") and ch != "\u200d"
        }
        assert not bad, sorted(map(hex, map(ord, bad)))
        assert "pwned" in text  # the text around them stays


# --- broken-links.md ----------------------------------------------------------------------------


def sections(text: str) -> list[str]:
    return re.findall(r"^#{2,3} (.+)$", text, re.MULTILINE)


def test_broken_links_are_grouped_by_host_then_event_new_first() -> None:
    links = [
        link("https://b.example/1", event_id="2021-03-01--c", file="events/c.md", new=False),
        link("https://a.example/1", event_id="2021-02-01--b", file="events/b.md"),
        link("https://www.b.example/2", event_id="2021-01-01--a", file="events/a.md"),
        link("https://b.example/3", event_id="2021-02-01--b", file="events/b.md", index=1),
        link("https://a.example/2", event_id="2021-01-01--a", file="events/a.md", new=False),
        link("https://b.example/4", event_id="2021-01-01--a", file="events/a.md", index=2),
    ]
    text = render_broken_links(links, NOW)
    assert sections(text) == [
        "New since the last run",
        "b.example",  # 3 new links: first
        "a.example",
        "Still broken",
        "a.example",
        "b.example",
    ]
    assert "6 broken sources in 3 events on 2 hosts · 4 new since the last run" in text
    new_part = text[: text.index("## Still broken")]
    b_rows = tables(new_part[new_part.index("### b.example") : new_part.index("### a.example")])
    assert [row[1]["text"] for row in b_rows[1:]] == [
        "https://www.b.example/2",
        "https://b.example/4",
        "https://b.example/3",
    ]  # by event (a, a, b), then by source
    assert [row[0]["hrefs"] for row in b_rows[1:]] == [
        ["../events/a.md"],
        ["../events/a.md"],
        ["../events/b.md"],
    ]


def test_event_files_are_linked_relative_to_the_reports_folder() -> None:
    text = render_broken_links([link("https://a.example/1", file="events/x.md")], NOW)
    assert "(<../events/x.md>)" in text
    nested = render_broken_links(
        [link("https://a.example/1", file="timeline/events/2021 (a)#1.md")],
        NOW,
        folder="site/reports",
    )
    assert "(<../../timeline/events/2021%20%28a%29%231.md>)" in nested
    assert file_link("/srv/t/events/e.md", "/srv/t/reports") == "../events/e.md"
    assert file_link("", "reports") is None


def test_not_looked_up_yet_is_kept_apart_from_no_capture() -> None:
    capture = ArchiveInfo(
        state=ArchiveState.EXISTING,
        url="https://web.archive.org/web/20200101000000/https://a.example/3",
        timestamp="20200101000000",
        suggested=True,
    )
    links = [
        link("https://a.example/1", archive=None),
        link("https://a.example/2", archive=ArchiveInfo(state=ArchiveState.MISSING)),
        link("https://a.example/3", archive=capture),
        link("https://a.example/4", archive=ArchiveInfo(state=ArchiveState.PENDING)),
        link("https://a.example/5", archive=ArchiveInfo(state=ArchiveState.UNVERIFIED)),
    ]
    text = render_broken_links(links, NOW)
    _, *rows = tables(text)
    archive = {row[1]["text"]: (row[5]["text"], row[5]["hrefs"]) for row in rows}
    assert archive == {
        "https://a.example/1": ("not looked up yet", []),
        "https://a.example/2": ("no capture", []),
        "https://a.example/3": ("capture 2020-01-01", [capture.url]),
        "https://a.example/4": ("capture requested", []),
        "https://a.example/5": ("not looked up yet", []),
    }
    assert "capture: 1 · no capture: 1 · capture requested: 1 · not looked up yet: 2" in text


def test_wrong_pages_stay_a_section_of_their_own() -> None:
    wrong = report(
        "Harbour bill",
        "https://news.example/politics",
        verdict=Verdict.ALIVE,
        status=Status.OK,
        citation=CitationInfo(
            verdict=CitationVerdict.GENERIC_PAGE,
            cited=Citing(title="Senate passes the bill"),
            seen=Citing(title="Politics | News"),
        ),
    )
    text = render_broken_links([link("https://a.example/1")], NOW, [wrong])
    assert sections(text)[-1] == "Wrong pages"
    header, row = tables(text[text.index("## Wrong pages") :])
    assert len(row) == len(header)
    assert row[0]["hrefs"] == ["../events/x.md"]
    assert row[4]["text"] == "Politics | News"
    assert "Nothing is broken" in render_broken_links([], NOW, [wrong])
