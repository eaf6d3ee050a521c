"""The history on PostgreSQL: migrations and the run lock under concurrency, and nightly runs
whose reports are the same as on SQLite."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest

from tests.fakes.loopweb import LoopWeb
from tests.nightly_support import run_settings
from verifier.cli import ExitCode, main
from verifier.commands.run import nightly_run
from verifier.config import Settings
from verifier.config_sections import HistorySettings
from verifier.errors import RunLockedError
from verifier.history.postgres import PostgresEngine
from verifier.history.store import HISTORY_URL_VARIABLE, MIGRATIONS, History, open_history

NIGHT_0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def test_workers_opening_at_once_migrate_once(postgres_url: str) -> None:
    opened: list[int] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            with History(PostgresEngine(postgres_url, MIGRATIONS)) as store:
                opened.append(store.schema_version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert opened == [len(MIGRATIONS)] * 6
    with History(PostgresEngine(postgres_url, MIGRATIONS)) as store:
        rows = store._db.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [row[0] for row in rows] == list(range(1, len(MIGRATIONS) + 1))


def test_a_second_run_is_refused_while_one_holds_the_lock(postgres_url: str) -> None:
    with (
        History(PostgresEngine(postgres_url, MIGRATIONS)) as first,
        History(PostgresEngine(postgres_url, MIGRATIONS)) as second,
    ):
        with first.run_lock(), pytest.raises(RunLockedError), second.run_lock():
            pass
        with second.run_lock():
            pass  # released with the first holder's lock


def test_the_url_may_come_from_the_environment(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HISTORY_URL_VARIABLE, postgres_url)
    settings = Settings(base_dir=tmp_path)
    with open_history(settings) as store:
        assert isinstance(store.engine, PostgresEngine)
    assert not (tmp_path / ".verifier").exists()  # no SQLite file beside it


def write_events(folder: Path, urls: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, url in enumerate(urls):
        (folder / f"2021-02-{n + 1:02d}--e{n}.md").write_text(
            f"---\nid: 2021-02-{n + 1:02d}--e{n}\ndate: '2021-02-{n + 1:02d}'\ntitle: Event {n}\n"
            f"sources:\n- url: {url}\n  publisher: P{n}\n  tier: 2\n---\n"
        )


def comparable(reports: Path) -> dict[str, object]:
    """The reports folder without what differs between any two runs (times)."""
    summary = json.loads((reports / "summary.json").read_text())
    summary.pop("generated_at")
    summary["run"].pop("wall_seconds")
    root = str(reports.parent)
    files = {
        p.name: p.read_text().replace(root, "ROOT")
        for p in sorted((reports / "events").glob("*.json"))
    }
    return {"summary": summary, "events": files, "broken": (reports / "broken-links.md").name}


async def test_nightly_runs_on_postgres_report_as_on_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    async with LoopWeb(hosts=6) as web:
        urls = [web.url(n % 6, f"/ok/story-{n}") for n in range(20)]
        urls += [web.url(n % 6, f"/status/404/gone-{n}") for n in range(4)]
        folders: dict[str, Path] = {}
        for engine in ("sqlite", "postgres"):
            root = tmp_path / engine
            write_events(root / "events", urls)
            settings = run_settings(root, root / "events")
            if engine == "postgres":
                history = HistorySettings(url=postgres_url, path=root / "unused.sqlite3")
                settings = settings.model_copy(update={"history": history})
            for night in range(4):
                outcome = await nightly_run(
                    settings, clock=lambda night=night: NIGHT_0 + dt.timedelta(days=night * 1.5)
                )
                assert outcome.state == "complete"
            folders[engine] = root / "reports"
        assert not (tmp_path / "postgres" / "unused.sqlite3").exists()
    sqlite, postgres = comparable(folders["sqlite"]), comparable(folders["postgres"])
    assert postgres == sqlite
    statuses = sqlite["summary"]["statuses"]  # type: ignore[index]
    assert statuses == {"ok": 20, "broken": 4}


def test_the_cli_runs_against_postgres(postgres_url: str, tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[paths]\nevents = "events"\nreports = "reports"\n[history]\nurl = "{postgres_url}"\n'
        "[wayback]\nenabled = false\n"
    )
    assert main(["--config", str(config), "run"]) == ExitCode.PASSED
    with History(PostgresEngine(postgres_url, MIGRATIONS)) as store:
        [run] = store.runs()
    assert run.state == "complete"
    assert (tmp_path / "reports" / "summary.json").is_file()
