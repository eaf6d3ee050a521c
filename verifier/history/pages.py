"""The history's page tables: what each live page said about itself at its latest check,
and the heads of Wayback captures read for the citation check (a capture never changes, so
one read serves every later run)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, MutableMapping

from verifier.citation.facts import PageFacts
from verifier.citation.judge import CaptureHead
from verifier.history.engine import Sql, rows_for_keys
from verifier.models import Observation

MIGRATION = """
    CREATE TABLE pages (
        url TEXT PRIMARY KEY,          -- normalised URL
        checked_at TEXT NOT NULL,      -- the observation these facts came with
        facts TEXT NOT NULL            -- PageFacts as JSON
    );
    CREATE TABLE capture_heads (
        capture TEXT PRIMARY KEY,      -- the capture's replay URL
        facts TEXT,                    -- PageFacts as JSON, NULL when not an HTML page
        read_at TEXT NOT NULL
    );
"""


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def put_pages(db: Sql, observations: Iterable[Observation]) -> None:
    """Keep the page facts that came with ``observations`` (inside the caller's transaction)."""
    db.executemany(
        "INSERT INTO pages (url, checked_at, facts) VALUES (?, ?, ?) ON CONFLICT (url) DO "
        "UPDATE SET checked_at = excluded.checked_at, facts = excluded.facts",
        [
            (o.url, _iso(o.checked_at), o.page.model_dump_json(exclude_defaults=True))
            for o in observations
            if o.page is not None
        ],
    )


def attach_pages(db: Sql, latest: MutableMapping[str, Observation]) -> None:
    """Give each observation in ``latest`` the page facts read with it (facts from an older
    check of the URL describe a page that may be gone, so they are not attached)."""
    query = "SELECT url, checked_at, facts FROM pages WHERE url IN ({keys})"
    for url, checked_at, facts in rows_for_keys(db, query, list(latest)):
        observation = latest.get(url)
        if observation is not None and _iso(observation.checked_at) == checked_at:
            latest[url] = observation.model_copy(
                update={"page": PageFacts.model_validate_json(facts)}
            )


def get_capture_head(db: Sql, capture: str) -> CaptureHead | None:
    row = db.execute("SELECT facts FROM capture_heads WHERE capture = ?", (capture,)).fetchone()
    if row is None:
        return None
    return CaptureHead(capture, PageFacts.model_validate_json(row[0]) if row[0] else None)


def put_capture_head(db: Sql, head: CaptureHead, now: dt.datetime) -> None:
    facts = head.facts.model_dump_json(exclude_defaults=True) if head.facts else None
    db.execute(
        "INSERT INTO capture_heads (capture, facts, read_at) VALUES (?, ?, ?) "
        "ON CONFLICT (capture) DO UPDATE SET facts = excluded.facts, read_at = excluded.read_at",
        (head.url, facts, _iso(now)),
    )
