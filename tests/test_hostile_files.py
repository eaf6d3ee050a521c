"""No single hostile event file may stop a run: each becomes a located ``load`` error on that
file alone, and every other event keeps the result it has without it. Through the CLI
(``check --offline``, ``run``, the PR gate, ``archive --write``), with the shipped limits
unless a test says otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GOOD_EVENT, git
from tests.fakes.loopweb import LoopWeb, served_title
from tests.fakes.wayback import (
    DEFAULT_ACCOUNT,
    FakeClock,
    FakeWayback,
    FakeWaybackConfig,
    serve_fake_wayback,
)
from verifier.archive import writeback
from verifier.archive.writeback import ArchiveEdit, WriteBackError, sha256_hex, write_archive_urls
from verifier.cli import ExitCode, main
from verifier.config import LimitsSettings
from verifier.events.yaml_compose import MAX_DEPTH, MAX_NODES

LIMITS = LimitsSettings()
DEEP = 1_000
INT_DIGITS = 5_000


def good_event(stem: str) -> str:
    """``GOOD_EVENT`` (which passes every rule) as the event ``stem``."""
    text = GOOD_EVENT.replace("2021-02-03--example-event", stem)
    return text.replace("date: '2021-02-03'\ntitle", f"date: '{stem[:10]}'\ntitle")


def header(stem: str) -> str:
    """Four lines of front matter; the hostile part goes on line 5."""
    return f"---\nid: {stem}\ndate: '{stem[:10]}'\ntitle: Hostile\n"


def loopback_event(text: str, first: str, second: str) -> str:
    """``text`` (from ``GOOD_EVENT``) citing ``first`` and ``second`` instead of the web,
    under the titles those loopback pages show."""
    text = text.replace(DOJ, first).replace("title: Press release", f"title: {served_title(first)}")
    text = text.replace("title: Wire story", f"title: {served_title(second)}")
    return text.replace("https://apnews.com/article/example", second)


def yaml_list(stem: str, size: int) -> str:
    """An event of about ``size`` bytes: one long YAML list in its front matter."""
    return header(stem) + "items:\n" + "- x\n" * (size // 4) + "---\nBody.\n"


def padded_body(stem: str, size: int) -> str:
    """A valid front matter and a ``size``-byte body: only the file-size cap refuses it."""
    return good_event(stem) + "b" * size


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile file: its text, and the load error it must become."""

    text: Callable[[str], str]  # stem → file text
    says: str
    line: int | None


HOSTILE: dict[str, Hostile] = {
    "2021-02-03--nested.json": Hostile(
        lambda stem: f'{{\n  "id": "{stem}",\n  "deep": ' + "[" * DEEP + "]" * DEEP + "\n}\n",
        f"JSON is nested deeper than {MAX_DEPTH} levels",
        3,
    ),
    "2021-02-03--nested-not-yaml.json": Hostile(  # a 2,000-character key: YAML gives up first
        lambda stem: (
            f'{{"{"k" * 2000}": 1,\n  "id": "{stem}",\n  "deep": '
            + "[" * DEEP
            + "]" * DEEP
            + "\n}\n"
        ),
        f"JSON is nested deeper than {MAX_DEPTH} levels",
        3,
    ),
    "2021-02-03--nested-flow.md": Hostile(
        lambda stem: header(stem) + "deep: " + "[" * DEEP + "]" * DEEP + "\n---\nBody.\n",
        f"front matter is nested deeper than {MAX_DEPTH} levels",
        5,
    ),
    "2021-02-03--nested-block.md": Hostile(
        lambda stem: header(stem) + "deep:\n  " + "- " * DEEP + "x\n---\nBody.\n",
        f"front matter is nested deeper than {MAX_DEPTH} levels",
        6,
    ),
    "2021-02-03--self-alias.md": Hostile(
        lambda stem: header(stem) + "loop: &a [*a]\n---\nBody.\n",
        "alias *a names no anchor defined before it",
        5,
    ),
    "2021-02-03--big-int.md": Hostile(
        lambda stem: header(stem) + "importance: " + "9" * INT_DIGITS + "\n---\nBody.\n",
        f"an integer of {INT_DIGITS:,} digits is too long",
        5,
    ),
    "2021-02-03--big-int.json": Hostile(
        lambda stem: f'{{\n  "id": "{stem}",\n  "importance": ' + "9" * INT_DIGITS + "\n}\n",
        f"an integer of {INT_DIGITS:,} digits is too long",
        3,
    ),
    "2021-02-03--big-int-not-yaml.json": Hostile(  # found by the decoder: no line
        lambda stem: (
            f'{{"{"k" * 2000}": 1,\n  "id": "{stem}",\n  "importance": '
            + "9" * INT_DIGITS
            + "\n}\n"
        ),
        f"an integer of {INT_DIGITS:,} digits is too long",
        None,
    ),
    "2021-02-03--big-file.md": Hostile(
        lambda stem: padded_body(stem, LIMITS.max_file_bytes),
        f"over the limit of {LIMITS.max_file_bytes:,} (limits.max_file_bytes)",
        None,
    ),
    "2021-02-03--big-front-matter.md": Hostile(
        lambda stem: yaml_list(stem, LIMITS.max_front_matter_bytes + 4096),
        f"over the limit of {LIMITS.max_front_matter_bytes:,} (limits.max_front_matter_bytes)",
        1,
    ),
    "2021-02-03--node-bomb.md": Hostile(  # 2 bytes a value: under the size caps
        lambda stem: header(stem) + "v: [" + "x," * (MAX_NODES + 10) + "x]\n---\nBody.\n",
        f"front matter expands to more than {MAX_NODES:,} values",
        5,
    ),
}
"""File name → what it holds and says. Every one raised (RecursionError, ValueError) or
exhausted memory before: each stopped every other file."""

LINKS = {
    "2021-02-03--passwd.md": Path("/etc/passwd"),
    "2021-02-03--environ.md": Path("/proc/self/environ"),
}
"""Symlinks in the events folder to files outside it; never read."""

LEAVES = "symlink leaves the events folder; not read"
DOJ = "https://www.justice.gov/opa/pr/example"  # GOOD_EVENT's first source


def write_config(root: Path, extra: str = "") -> Path:
    config = root / "config.toml"
    config.write_text(
        '[paths]\nevents = "events"\nreports = "reports"\n[history]\npath = "h.sqlite3"\n' + extra
    )
    return config


def write_good(events: Path) -> None:
    events.mkdir(parents=True, exist_ok=True)
    (events / "2021-02-03--example-event.md").write_text(GOOD_EVENT)
    (events / "2021-02-04--second-event.md").write_text(good_event("2021-02-04--second-event"))


def write_hostile(events: Path, name: str) -> None:
    path = events / name
    path.write_text(HOSTILE[name].text(path.stem))


def offline_reports(
    root: Path, capsys: pytest.CaptureFixture[str], config: Path | None = None
) -> tuple[int, dict[str, dict[str, Any]]]:
    config = config or write_config(root)
    code = main(
        ["--config", str(config), "check", "--offline", "--format", "json", str(root / "events")]
    )
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, {Path(e["event"]["file"]).name: e for e in json.loads(out)["events"]}


def assert_located(report: dict[str, Any], says: str, line: int | None) -> None:
    assert report["result"] == "fail"
    [violation] = report["violations"]
    assert (violation["rule"], violation["severity"]) == ("load", "error")
    assert says in violation["message"], violation["message"]
    assert violation["line"] == line
    assert len(violation["message"]) < 200  # the hostile text is not echoed back


@pytest.fixture
def baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """The good events' reports with no hostile file beside them."""
    write_good(tmp_path / "clean" / "events")
    code, reports = offline_reports(tmp_path / "clean", capsys)
    assert code == ExitCode.PASSED
    assert {report["result"] for report in reports.values()} == {"pass"}
    return {name: _comparable(report) for name, report in reports.items()}


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {**report, "event": {**report["event"], "file": Path(report["event"]["file"]).name}}


def assert_good_intact(
    reports: dict[str, dict[str, Any]], baseline: dict[str, dict[str, Any]]
) -> None:
    assert {name: _comparable(reports[name]) for name in baseline} == baseline


# -- check --offline: one test per hostile input -------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_check_reports_the_hostile_file_located_and_the_others_intact(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], baseline: dict[str, Any]
) -> None:
    events = tmp_path / "events"
    write_good(events)
    write_hostile(events, name)
    code, reports = offline_reports(tmp_path, capsys)
    assert code == ExitCode.FAILED
    assert set(reports) == {*baseline, name}
    assert_located(reports[name], HOSTILE[name].says, HOSTILE[name].line)
    assert_good_intact(reports, baseline)


def test_front_matter_of_deep_json_flow_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `.md` whose front matter holds JSON flow objects nested 1,000 deep."""
    events = tmp_path / "events"
    write_good(events)
    stem = "2021-02-03--json-flow"
    deep = '{"a": ' * DEEP + "1" + "}" * DEEP
    (events / f"{stem}.md").write_text(header(stem) + f"deep: {deep}\n---\nBody.\n")
    code, reports = offline_reports(tmp_path, capsys)
    assert code == ExitCode.FAILED
    assert_located(reports[f"{stem}.md"], f"nested deeper than {MAX_DEPTH} levels", 5)


@pytest.mark.parametrize("suffix", [".md", ".json"])
def test_nesting_is_refused_just_past_max_depth(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The event itself is level 1; ``deep`` holding k lists is k + 1 levels. Below libyaml's
    own cap (1,000), so this is the verifier's limit at work."""
    events = tmp_path / "events"
    events.mkdir()
    for stem, lists in (("2021-02-03--at-limit", MAX_DEPTH - 1), ("2021-02-03--over", MAX_DEPTH)):
        deep = "[" * lists + "]" * lists
        text = (
            f'{{"id": "{stem}",\n"deep": {deep}}}'
            if suffix == ".json"
            else f"{header(stem)}deep: {deep}\n---\n"
        )
        (events / f"{stem}{suffix}").write_text(text)
    _, reports = offline_reports(tmp_path, capsys)
    at_limit = reports[f"2021-02-03--at-limit{suffix}"]["violations"]
    assert not [v for v in at_limit if v["rule"] == "load"]
    line = 2 if suffix == ".json" else 5
    assert_located(reports[f"2021-02-03--over{suffix}"], f"deeper than {MAX_DEPTH} levels", line)


def test_lowered_limits_from_config_refuse_a_few_megabytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], baseline: dict[str, Any]
) -> None:
    events = tmp_path / "events"
    write_good(events)
    big = "2021-02-03--big.md"
    (events / big).write_text(yaml_list(big[:-3], 3_000_000))
    front = "2021-02-03--front.md"
    (events / front).write_text(yaml_list(front[:-3], 20_000))
    config = write_config(
        tmp_path, "[limits]\nmax_file_bytes = 2000000\nmax_front_matter_bytes = 16384\n"
    )
    code, reports = offline_reports(tmp_path, capsys, config)
    assert code == ExitCode.FAILED
    size = (events / big).stat().st_size
    assert_located(
        reports[big],
        f"file is {size:,} bytes, over the limit of 2,000,000 (limits.max_file_bytes)",
        None,
    )
    assert_located(reports[front], "over the limit of 16,384 (limits.max_front_matter_bytes)", 1)
    assert_good_intact(reports, baseline)


def test_a_node_bomb_is_counted_while_it_is_composed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Size caps lifted: the list is refused at its 100,001st value, on that value's line."""
    events = tmp_path / "events"
    write_good(events)
    name = "2021-02-03--long-list.md"
    (events / name).write_text(yaml_list(name[:-3], 4 * (MAX_NODES + 1000)))
    config = write_config(
        tmp_path, "[limits]\nmax_file_bytes = 8000000\nmax_front_matter_bytes = 8000000\n"
    )
    code, reports = offline_reports(tmp_path, capsys, config)
    assert code == ExitCode.FAILED
    # values: the mapping, id, date, title, the list (line 5), then item k on line 5 + k
    assert_located(reports[name], f"expands to more than {MAX_NODES:,} values", MAX_NODES + 1)


# -- symlinks ------------------------------------------------------------------------------


def test_links_out_of_the_events_folder_are_not_read_links_inside_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], baseline: dict[str, Any]
) -> None:
    events = tmp_path / "events"
    write_good(events)
    for name, target in LINKS.items():
        (events / name).symlink_to(target)
    outside = tmp_path / "outside" / "2021-02-05--outside.md"
    outside.parent.mkdir()
    outside.write_text(good_event(outside.stem))
    (events / outside.name).symlink_to(outside)  # would pass if it were read
    (events / "linked-folder").symlink_to(outside.parent, target_is_directory=True)
    stored = events / "store" / "2021-02-06--inside.txt"
    stored.parent.mkdir()
    stored.write_text(good_event("2021-02-06--inside"))
    (events / "2021-02-06--inside.md").symlink_to(Path("store") / stored.name)
    code, reports = offline_reports(tmp_path, capsys)
    assert code == ExitCode.FAILED
    assert set(reports) == {*baseline, *LINKS, outside.name, "2021-02-06--inside.md"}
    for name in [*LINKS, outside.name]:
        assert_located(reports[name], LEAVES, None)
    assert reports["2021-02-06--inside.md"]["result"] == "pass"  # a link inside is followed
    assert_good_intact(reports, baseline)


def test_the_pr_gate_refuses_a_committed_link_out_of_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path
    events = repo / "events"
    write_good(events)
    write_config(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "pr")
    (events / "2021-02-03--passwd.md").symlink_to("/etc/passwd")
    (events / "2021-02-05--third.md").write_text(good_event("2021-02-05--third"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "pr")
    monkeypatch.chdir(repo)
    code = main(["check", "--changed-since", "main", "--offline", "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == ExitCode.FAILED
    reports = {Path(e["event"]["file"]).name: e for e in document["events"]}
    assert set(reports) == {"2021-02-03--passwd.md", "2021-02-05--third.md"}
    assert_located(reports["2021-02-03--passwd.md"], LEAVES, None)
    assert reports["2021-02-05--third.md"]["result"] == "pass"


def test_write_back_never_writes_through_a_link_out_of_the_folder(tmp_path: Path) -> None:
    events, outside = tmp_path / "events", tmp_path / "outside.md"
    events.mkdir()
    outside.write_text(GOOD_EVENT)
    link = events / "2021-02-03--example-event.md"
    link.symlink_to(outside)
    edit = ArchiveEdit(0, DOJ, f"https://web.archive.org/web/20210203000000/{DOJ}")
    with pytest.raises(WriteBackError, match="symlink leaves the events folder"):
        write_archive_urls(link, [edit], sha256_hex(outside.read_bytes()), events)
    assert outside.read_text() == GOOD_EVENT
    assert link.is_symlink()


def test_write_back_rechecks_the_link_just_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link inside the folder is swapped for one leaving it while the edit is prepared."""
    events, outside = tmp_path / "events", tmp_path / "outside.md"
    (events / "store").mkdir(parents=True)
    inside = events / "store" / "event.md"
    inside.write_text(GOOD_EVENT)
    outside.write_text(GOOD_EVENT)
    link = events / "2021-02-03--example-event.md"
    link.symlink_to(inside)
    real_apply = writeback.apply_edits

    def apply_then_swap(*args: Any) -> str:
        link.unlink()
        link.symlink_to(outside)
        return real_apply(*args)

    monkeypatch.setattr(writeback, "apply_edits", apply_then_swap)
    edit = ArchiveEdit(0, DOJ, f"https://web.archive.org/web/20210203000000/{DOJ}")
    with pytest.raises(WriteBackError, match="not written"):
        write_archive_urls(link, [edit], sha256_hex(inside.read_bytes()), events)
    assert inside.read_text() == GOOD_EVENT == outside.read_text()
    assert sorted(p.name for p in (events / "store").iterdir()) == ["event.md"]  # no temp left


# -- the nightly run -----------------------------------------------------------------------


def test_nightly_run_reports_every_hostile_file_and_checks_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    for name in HOSTILE:
        write_hostile(events, name)
    for name, target in LINKS.items():
        (events / name).symlink_to(target)
    with LoopWeb(hosts=2).running_in_thread() as web:
        good = loopback_event(
            GOOD_EVENT, web.url(0, "/ok/hostile-files/a"), web.url(1, "/ok/hostile-files/b")
        )
        (events / "2021-02-03--example-event.md").write_text(good)
        config = write_config(
            tmp_path,
            "[http]\nmin_host_interval = 0.0\n"
            '[security]\nallowed_networks = ["127.0.0.0/8"]\n[outage]\nmin_hosts = 5\n'
            "[wayback]\nenabled = false\n",
        )
        code = main(["--config", str(config), "run"])
    out, err = capsys.readouterr()
    assert code == ExitCode.FAILED, err
    assert "Traceback" not in err
    hostile = len(HOSTILE) + len(LINKS)
    assert f" complete: {hostile + 1} events (1 pass, 0 warn, {hostile} fail)" in out
    folder = tmp_path / "reports" / "events"
    reports = [json.loads(path.read_text()) for path in folder.glob("*.json")]
    by_file = {Path(report["event"]["file"]).name: report for report in reports}
    for name, case in HOSTILE.items():
        assert_located(by_file[name], case.says, case.line)
    for name in LINKS:
        assert_located(by_file[name], LEAVES, None)
    report = by_file["2021-02-03--example-event.md"]
    assert (report["result"], report["violations"]) == ("pass", [])
    assert [source["verdict"] for source in report["sources"]] == ["alive", "alive"]
    text = json.dumps(reports)
    assert "root:" not in text and "PATH=" not in text  # neither linked file was read


def test_archive_write_edits_the_events_but_not_a_linked_file_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeWayback(
        FakeWaybackConfig(
            rate_limits=dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))
        ),
        FakeClock(),
    )
    with LoopWeb(hosts=2).running_in_thread() as web, serve_fake_wayback(fake) as wayback:
        urls = [web.url(n % 2, f"/ok/hostile-files/{n}") for n in range(4)]
        for url in urls:
            fake.add_capture(url, "20210101101010")
        events, outside = tmp_path / "events", tmp_path / "outside.md"
        events.mkdir()
        inside = events / "2021-02-03--example-event.md"
        inside.write_text(loopback_event(GOOD_EVENT, *urls[:2]))
        outside.write_text(loopback_event(good_event("2021-02-04--outside"), *urls[2:]))
        (events / "2021-02-04--outside.md").symlink_to(outside)
        config = write_config(
            tmp_path,
            '[http]\nmin_host_interval = 0.0\n[security]\nallowed_networks = ["127.0.0.0/8"]\n'
            f'[wayback]\ncdx_url = "{wayback}/cdx/search/cdx"\nsave_url = "{wayback}/save"\n'
            f'status_url = "{wayback}/save/status"\nrate_window = 1.0\ncdx_per_window = 100\n'
            "save_if_no_capture_within_days = 36500\npoll_timeout = 2.0\n",
        )
        before = outside.read_text()
        access, secret = DEFAULT_ACCOUNT.split(":")
        monkeypatch.setenv("WAYBACK_ACCESS_KEY", access)
        monkeypatch.setenv("WAYBACK_SECRET_KEY", secret)
        monkeypatch.chdir(tmp_path)
        code = main(["--config", str(config), "archive", "--write", "events"])
    out, err = capsys.readouterr()
    assert code == ExitCode.PASSED, err
    assert "2 archive_url edits planned, 1 files written" in out
    for url in urls[:2]:
        assert (
            f"archive_url: https://web.archive.org/web/20210101101010/{url}" in inside.read_text()
        )
    assert outside.read_text() == before
    assert (events / "2021-02-04--outside.md").is_symlink()
    asked = json.dumps([r.params for r in fake.requests("cdx")])
    assert urls[0] in asked and urls[2] not in asked  # the linked file was never read
