"""The real corpus's archive links, verified and written back against a fake Wayback Machine.

    python -m benchmarks.archive_corpus [--corpus PATH]

Copies the corpus's events to a temporary folder and seeds the fake Wayback Machine as if
every claimed capture were real where it can be: a capture at the exact second of each
14-digit link (of the URL embedded in the link, as written), and, for calendar links and
partial timestamps, a capture three hours after the moment they name. Then it runs what
``verifier archive --write`` runs for links (``archive_tasks`` → ``Archiver`` →
``planned_edits`` → ``write_archive_urls``; liveness is left out: no internet here) and
prints what the links were judged to be, which ones were replaced and why, and checks that
every other byte of every file is unchanged.

What this shows: on the corpus's real link shapes (calendar links, partial timestamps,
percent-encoding and trailing-slash differences, other archives), only links proved wrong
or imprecise are replaced. It does not show what the real Wayback Machine holds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import httpx

from tests.corpus import TIMELINE_EVENTS
from tests.fakes.wayback import FakeClock, FakeWayback, FakeWaybackConfig
from verifier.archive.archiver import Archiver, MemoryArchiveStore
from verifier.archive.edits import planned_edits
from verifier.archive.wayback import WaybackClient
from verifier.archive.wayback_links import OtherArchive, WaybackLink, parse_archive_link
from verifier.archive.writeback import write_archive_urls
from verifier.config import Settings, WaybackSettings
from verifier.events.parse import load_event_file
from verifier.events.rules import RuleContext
from verifier.models import LoadedEvent, Verdict
from verifier.stages import archive_tasks

DEFAULT_CORPUS = TIMELINE_EVENTS
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
UNLIMITED = dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))


def seed(fake: FakeWayback, loaded: list[LoadedEvent]) -> Counter[str]:
    shapes: Counter[str] = Counter()
    for item in loaded:
        assert item.event is not None
        for source in item.event.sources:
            link = parse_archive_link((source.archive_url or "").strip())
            if isinstance(link, OtherArchive):
                shapes["another archive"] += 1
            elif isinstance(link, WaybackLink):
                if link.exact:
                    shapes["14-digit"] += 1
                    fake.add_capture(link.original, link.timestamp)
                else:
                    shapes["calendar" if link.calendar else "partial timestamp"] += 1
                    later = link.moment + dt.timedelta(hours=3)
                    fake.add_capture(link.original, later.strftime("%Y%m%d%H%M%S"))
            elif source.archive_url:
                shapes["not an archive link"] += 1
    return shapes


async def judge(loaded: list[LoadedEvent]) -> tuple[FakeWayback, dict, Counter[str]]:  # type: ignore[type-arg]
    fake = FakeWayback(FakeWaybackConfig(rate_limits=dict(UNLIMITED)), FakeClock(NOW))
    shapes = seed(fake, loaded)
    settings = Settings()
    ctx = RuleContext.build(settings.rules, settings.domain_registry())
    tasks = [task for task in archive_tasks(ctx, loaded) if task.archive_url]
    wayback = WaybackSettings(
        cdx_url="https://wayback.test/cdx/search/cdx",
        rate_window=1.0,
        cdx_per_window=10_000,
        workers=16,
        time_budget=600.0,
    )
    client = WaybackClient(wayback, "verifier-benchmark", httpx.ASGITransport(app=fake.app), {})

    async def alive(_url: str) -> Verdict:
        return Verdict.ALIVE

    archiver = Archiver(wayback, client, MemoryArchiveStore(), clock=fake.clock.now)
    try:
        run = await archiver.run(tasks, alive)
    finally:
        await client.aclose()
    return fake, run.records, shapes


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        events = Path(scratch) / "events"
        shutil.copytree(args.corpus, events)
        loaded = [
            item
            for path in sorted(events.glob("*.md"))
            if isinstance(item := load_event_file(path), LoadedEvent) and item.event is not None
        ]
        fake, records, shapes = asyncio.run(judge(loaded))
        states = Counter(info.state.value for info in records.values())
        reasons: Counter[str] = Counter()
        files = 0
        before = {path: path.read_bytes() for path in events.glob("*.md")}
        for item in loaded:
            edits = [edit for edit in planned_edits(item, records) if edit.why != "filled in"]
            reasons.update(edit.why for edit in edits)
            if edits and write_archive_urls(Path(item.path), edits, item.sha256, events):
                files += 1
        changed_lines = 0
        for path, old in before.items():
            new = path.read_bytes()
            if new != old:
                old_lines, new_lines = old.splitlines(), new.splitlines()
                assert len(old_lines) == len(new_lines), path
                diff = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
                assert all(b"archive_url" in a and b"archive_url" in b for a, b in diff), path
                changed_lines += len(diff)
        print(f"corpus: {len(loaded)} events, archive links by shape: {dict(shapes)}")
        print(f"CDX queries: {len(fake.requests(family='cdx'))}")
        print("verdicts: " + ", ".join(f"{n} {s}" for s, n in states.most_common()))
        print(
            f"replaced: {sum(reasons.values())} links in {files} files "
            + f"({', '.join(f'{n} {why}' for why, n in reasons.most_common()) or 'none'}); "
            + f"{changed_lines} lines changed, every one an archive_url line"
        )


if __name__ == "__main__":
    main()
