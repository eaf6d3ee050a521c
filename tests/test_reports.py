"""Report files: safe names, atomic writes, pruning, and escaping in Markdown."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from verifier.atomic import TEMPORARY, TemporaryFileError, write_atomically
from verifier.models import EventReport, EventSummary, Result, SourceReport, Status, Verdict
from verifier.reports.formats.markdown import (
    BrokenLink,
    md,
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


def report(title: str, url: str) -> EventReport:
    return EventReport(
        event=EventSummary(id="2021-01-01--x", file="events/x.md", title=title, date="2021-01-01"),
        result=Result.FAIL,
        sources=[
            SourceReport(
                index=0,
                url=url,
                verdict=Verdict.DEAD,
                status=Status.BROKEN,
                http_status=404,
                line=9,
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
