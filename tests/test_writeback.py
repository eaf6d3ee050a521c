"""Writing archive URLs back: only ``archive_url`` lines change, atomically, never over news."""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import GOOD_EVENT
from tests.corpus import TIMELINE_EVENTS
from verifier.archive import writeback
from verifier.archive.writeback import (
    ArchiveEdit,
    FileChangedError,
    WriteBackError,
    apply_edits,
    sha256_hex,
    write_archive_urls,
)
from verifier.events.parse import parse_event_bytes
from verifier.events.yaml_compose import MAX_DEPTH, MAX_NODES
from verifier.models import LoadedEvent

WB = "https://web.archive.org/web/20240101000000/"
DOJ = "https://www.justice.gov/opa/pr/example"
AP = "https://apnews.com/article/example"
ARCHIVE_LINE = re.compile(r'^\s*(- )?(archive_url:|"archive_url":)')
BOUNDARY = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


def edit(index: int, url: str) -> ArchiveEdit:
    return ArchiveEdit(index, url, WB + url)


def front_matter(text: str) -> Any:
    _, fm, _ = BOUNDARY.split(text.lstrip("\ufeff \t\r\n"), 2)
    return yaml.safe_load(fm)


def write(tmp_path: Path, text: str, name: str = "2021-02-03--e.md") -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path, sha256_hex(path.read_bytes())


# --- YAML front matter --------------------------------------------------------------------


def test_missing_archive_url_is_one_new_line_after_the_url_line() -> None:
    result = apply_edits(GOOD_EVENT, [edit(0, DOJ), edit(1, AP)], ".md")
    expected = GOOD_EVENT.replace(
        f"- url: {DOJ}\n", f"- url: {DOJ}\n  archive_url: {WB}{DOJ}\n"
    ).replace(f"- url: {AP}\n", f"- url: {AP}\n  archive_url: {WB}{AP}\n")
    assert result == expected


def test_existing_value_is_replaced_on_its_own_line() -> None:
    text = GOOD_EVENT.replace(
        "  tier: 2\n", "  tier: 2\n  archive_url: 'https://web.archive.org/web/2019/old'  # x\n"
    )
    result = apply_edits(text, [edit(1, AP)], ".md")
    assert result == text.replace("'https://web.archive.org/web/2019/old'", WB + AP)


def test_existing_value_as_first_key_keeps_its_dash() -> None:
    text = f"---\nsources:\n- archive_url: https://old.example/x\n  url: {AP}\n---\n"
    result = apply_edits(text, [edit(0, AP)], ".md")
    assert result == f"---\nsources:\n- archive_url: {WB}{AP}\n  url: {AP}\n---\n"


@pytest.mark.parametrize(
    "old",
    [
        "https://web.archive.org/web/2019/\n    very-long-continued\n    path",
        "'https://web.archive.org/web/2019/\n    quoted-continued'",
        ">-\n    https://web.archive.org/web/2019/\n    folded",
    ],
    ids=["plain", "single-quoted", "folded"],
)
def test_multi_line_old_value_becomes_one_line(old: str) -> None:
    text = f"---\nsources:\n- url: {AP}\n  archive_url: {old}\n  tier: 2\n---\nBody\n"
    result = apply_edits(text, [edit(0, AP)], ".md")
    assert result == f"---\nsources:\n- url: {AP}\n  archive_url: {WB}{AP}\n  tier: 2\n---\nBody\n"


@pytest.mark.parametrize("old", ["null", "", "   # none yet"])
def test_null_or_empty_value_is_filled_in(old: str) -> None:
    text = f"---\nsources:\n- url: {AP}\n  archive_url:{' ' if old else ''}{old}\n  tier: 2\n---\n"
    result = apply_edits(text, [edit(0, AP)], ".md")
    assert front_matter(result)["sources"][0] == {"url": AP, "archive_url": WB + AP, "tier": 2}
    assert result.count("\n") == text.count("\n")


def test_title_first_source_gets_the_line_after_its_url() -> None:
    text = f"---\nsources:\n- title: Wire\n  url: {AP}\n  outlet: AP\n---\n"
    result = apply_edits(text, [edit(0, AP)], ".md")
    assert result == text.replace(f"{AP}\n", f"{AP}\n  archive_url: {WB}{AP}\n")
    assert result.index("archive_url") > result.index("title")


def test_indented_list_uses_the_mapping_indentation() -> None:
    text = f"---\nsources:\n  -   title: Wire\n      url: {AP}\n  -   url: {DOJ}\n---\n"
    result = apply_edits(text, [edit(0, AP), edit(1, DOJ)], ".md")
    assert f"\n      url: {AP}\n      archive_url: {WB}{AP}\n" in result
    assert f"\n  -   url: {DOJ}\n      archive_url: {WB}{DOJ}\n---" in result


def test_crlf_file_keeps_crlf_line_endings() -> None:
    text = GOOD_EVENT.replace("\n", "\r\n")
    result = apply_edits(text, [edit(0, DOJ)], ".md")
    assert result == text.replace(f"{DOJ}\r\n", f"{DOJ}\r\n  archive_url: {WB}{DOJ}\r\n", 1)
    assert "\n" not in result.replace("\r\n", "")


def test_url_that_is_unsafe_plain_is_single_quoted() -> None:
    url = "https://example.org/it's here: ok"
    text = f"---\nsources:\n- url: '{url.replace(chr(39), chr(39) * 2)}'\n---\n"
    result = apply_edits(text, [ArchiveEdit(0, url, WB + url)], ".md")
    assert f"\n  archive_url: '{WB}https://example.org/it''s here: ok'\n" in result
    assert front_matter(result)["sources"][0]["archive_url"] == WB + url


def test_flow_style_source_gets_the_key_inside_its_braces() -> None:
    url = "https://example.org/a,b"
    text = f"---\nsources:\n- {{title: A, url: '{url}', tier: 1}}\n---\n"
    result = apply_edits(text, [ArchiveEdit(0, url, WB + url)], ".md")
    assert front_matter(result)["sources"][0] == {
        "title": "A",
        "url": url,
        "archive_url": WB + url,
        "tier": 1,
    }


def test_body_and_other_lines_are_byte_identical() -> None:
    text = "\ufeff" + GOOD_EVENT + "archive_url: not front matter\n---\nurl: x\n"
    result = apply_edits(text, [edit(1, AP)], ".md")
    diff = difflib.ndiff(text.splitlines(), result.splitlines())
    assert [line for line in diff if line[0] in "+-"] == [f"+   archive_url: {WB}{AP}"]
    assert result.endswith("Body.\narchive_url: not front matter\n---\nurl: x\n")


def test_same_value_already_present_changes_nothing(tmp_path: Path) -> None:
    text = GOOD_EVENT.replace(f"- url: {AP}\n", f"- url: {AP}\n  archive_url: {WB}{AP}\n")
    path, digest = write(tmp_path, text)
    assert write_archive_urls(path, [edit(1, AP)], digest) is False
    assert path.read_text(encoding="utf-8") == text


# --- the shared YAML composer: what the event loader refuses, the write-back refuses ------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("title: again\n", "duplicate key 'title'"),
        ("loop: &a [*a]\n", f"front matter is nested deeper than {MAX_DEPTH} levels"),
        (
            "a: &a [" + "x, " * 400 + "x]\nb: [" + "*a, " * 300 + "*a]\n",
            f"front matter expands to more than {MAX_NODES:,} values",
        ),
    ],
    ids=["duplicate-key", "recursive-alias", "alias-bomb"],
)
def test_front_matter_over_the_composer_limits_is_refused(
    tmp_path: Path, extra: str, message: str
) -> None:
    text = GOOD_EVENT.replace("importance: 5\n", f"importance: 5\n{extra}")
    path, digest = write(tmp_path, text)
    with pytest.raises(WriteBackError, match=re.escape(message)):
        write_archive_urls(path, [edit(0, DOJ)], digest)
    assert path.read_text(encoding="utf-8") == text
    assert list(tmp_path.iterdir()) == [path]


def test_a_duplicate_key_inside_a_source_is_refused_as_the_loader_refuses_it() -> None:
    text = GOOD_EVENT.replace("  tier: 2\n", "  tier: 2\n  url: https://other.example/\n")
    with pytest.raises(WriteBackError, match="duplicate key 'url'"):
        apply_edits(text, [edit(1, AP)], ".md")
    loaded = parse_event_bytes(text.encode(), "e.md", "2021-02-03--example-event", ".md")
    assert isinstance(loaded, LoadedEvent)
    assert [v.message for v in loaded.load_violations] == ["duplicate key 'url'"]


# --- JSON ---------------------------------------------------------------------------------

JSON_EVENT = """\
{
  "id": "2021-02-03--example",
  "sources": [
    {
      "url": "https://apnews.com/article/example",
      "title": "Wire story",
      "tier": 2
    },
    {
      "title": "Press release",
      "url": "https://www.justice.gov/opa/pr/example"
    }
  ]
}
"""


def test_json_insert_adds_one_member_line_with_the_file_indentation() -> None:
    result = apply_edits(JSON_EVENT, [edit(0, AP), edit(1, DOJ)], ".json")
    after_url = f'      "url": "{AP}",\n      "archive_url": "{WB}{AP}",\n'
    before_url = f'      "archive_url": "{WB}{DOJ}",\n      "url": "{DOJ}"\n'
    expected = JSON_EVENT.replace(f'      "url": "{AP}",\n', after_url)
    assert result == expected.replace(f'      "url": "{DOJ}"\n', before_url)
    data = json.loads(result)
    assert [s["archive_url"] for s in data["sources"]] == [WB + AP, WB + DOJ]


def test_json_fix_replaces_only_the_value() -> None:
    text = JSON_EVENT.replace('"tier": 2', '"tier": 2, "archive_url": null')
    result = apply_edits(text, [edit(0, AP)], ".json")
    assert result == text.replace('"archive_url": null', f'"archive_url": "{WB}{AP}"')


def test_json_compact_object_gets_the_member_on_the_same_line() -> None:
    text = f'{{"id": "x", "sources": [{{"url": "{AP}"}}]}}'
    result = apply_edits(text, [edit(0, AP)], ".json")
    assert result == f'{{"id": "x", "sources": [{{"archive_url": "{WB}{AP}", "url": "{AP}"}}]}}'


def test_json_crlf_file_keeps_crlf() -> None:
    text = JSON_EVENT.replace("\n", "\r\n")
    result = apply_edits(text, [edit(1, DOJ)], ".json")
    assert f'      "archive_url": "{WB}{DOJ}",\r\n' in result
    assert "\n" not in result.replace("\r\n", "")


# --- refusals and file safety -------------------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([ArchiveEdit(0, "https://other.example/", WB)], "sources[0].url is"),
        ([edit(5, AP)], "no sources[5]"),
        ([edit(1, AP), edit(1, AP)], "two edits for the same source"),
        ([ArchiveEdit(1, AP, "https://web.archive.org/\nx")], "line-break"),
    ],
    ids=["url-differs", "no-such-source", "duplicate", "newline-in-value"],
)
def test_impossible_edit_raises_and_leaves_the_file_untouched(
    tmp_path: Path, edits: list[ArchiveEdit], message: str
) -> None:
    path, digest = write(tmp_path, GOOD_EVENT)
    with pytest.raises(WriteBackError, match=re.escape(message)) as caught:
        write_archive_urls(path, edits, digest)
    assert caught.value.path == path
    assert path.read_text(encoding="utf-8") == GOOD_EVENT
    assert list(tmp_path.iterdir()) == [path]


def test_json_url_mismatch_raises() -> None:
    with pytest.raises(WriteBackError, match="file changed since it was checked"):
        apply_edits(JSON_EVENT, [edit(0, DOJ)], ".json")


def test_file_without_front_matter_raises() -> None:
    with pytest.raises(WriteBackError, match="no YAML front matter"):
        apply_edits("# Just notes\n", [edit(0, AP)], ".md")


def test_file_changed_before_writing_is_refused(tmp_path: Path) -> None:
    path, digest = write(tmp_path, GOOD_EVENT)
    path.write_text(GOOD_EVENT + "edited\n", encoding="utf-8")
    with pytest.raises(FileChangedError):
        write_archive_urls(path, [edit(0, DOJ)], digest)
    assert path.read_text(encoding="utf-8") == GOOD_EVENT + "edited\n"


def test_file_changed_while_writing_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, digest = write(tmp_path, GOOD_EVENT)
    real_apply = writeback.apply_edits

    def apply_then_someone_saves(text: str, edits: Any, suffix: str) -> str:
        path.write_text(GOOD_EVENT + "edited\n", encoding="utf-8")
        return real_apply(text, edits, suffix)

    monkeypatch.setattr(writeback, "apply_edits", apply_then_someone_saves)
    with pytest.raises(FileChangedError, match="while the edit was being written"):
        write_archive_urls(path, [edit(0, DOJ)], digest)
    assert path.read_text(encoding="utf-8") == GOOD_EVENT + "edited\n"
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone


def test_write_preserves_mode_and_returns_true(tmp_path: Path) -> None:
    path, digest = write(tmp_path, GOOD_EVENT)
    path.chmod(0o640)
    assert write_archive_urls(path, [edit(0, DOJ)], digest) is True
    assert path.stat().st_mode & 0o7777 == 0o640
    assert front_matter(path.read_text(encoding="utf-8"))["sources"][0]["archive_url"] == WB + DOJ
    assert list(tmp_path.iterdir()) == [path]


def test_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    path, digest = write(tmp_path, JSON_EVENT, "2021-02-03--e.json")
    link = tmp_path / "link.json"
    link.symlink_to(path)
    assert write_archive_urls(link, [edit(0, AP)], digest) is True
    assert link.is_symlink()
    assert json.loads(path.read_text(encoding="utf-8"))["sources"][0]["archive_url"] == WB + AP


# --- the real corpus ----------------------------------------------------------------------


def _corpus_sample() -> list[Path]:
    files = sorted(TIMELINE_EVENTS.iterdir())
    markdown = [p for p in files if p.suffix == ".md" and p.name != "README.md"]
    with_archive = [p for p in markdown if b"archive_url:" in p.read_bytes()]
    indented = [p for p in markdown if b"\n  - url:" in p.read_bytes()]
    sample = markdown[::60] + with_archive[::25] + indented[:2]
    sample += [p for p in files if p.suffix == ".json"][::10]
    return sorted(set(sample))


def _expected_after(data: Any) -> tuple[Any, list[ArchiveEdit], int]:
    """The data after an edit of every source with a URL, the edits, and the lines added."""
    expected = copy.deepcopy(data)
    edits, added = [], 0
    for index, source in enumerate(expected.get("sources") or []):
        if isinstance(source, dict) and isinstance(source.get("url"), str) and source["url"]:
            edits.append(edit(index, source["url"]))
            added += "archive_url" not in source
            source["archive_url"] = WB + source["url"]
    return expected, edits, added


@pytest.mark.corpus
def test_real_corpus_files_change_only_in_archive_url_lines(tmp_path: Path) -> None:
    sample = _corpus_sample()
    assert len(sample) >= 40
    for original in sample:
        path = tmp_path / original.name
        shutil.copyfile(original, path)
        before = path.read_text(encoding="utf-8")
        load = json.loads if path.suffix == ".json" else front_matter
        expected, edits, added = _expected_after(load(before))
        changed = write_archive_urls(path, edits, sha256_hex(path.read_bytes()))
        after = path.read_text(encoding="utf-8")

        assert load(after) == expected, original.name
        assert changed == (after != before)
        old_lines, new_lines = before.splitlines(True), after.splitlines(True)
        matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                touched = old_lines[i1:i2] + new_lines[j1:j2]
                assert all(ARCHIVE_LINE.match(line) for line in touched), (original.name, touched)
        assert len(new_lines) - len(old_lines) == added, original.name
        assert os.path.getsize(path) == len(after.encode("utf-8"))
