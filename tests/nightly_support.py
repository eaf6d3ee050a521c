"""Helpers for nightly-run tests: a corpus copy whose URLs point at the loopback web."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from tests.fakes.loopweb import LoopWeb, loopback_addresses
from verifier.config import (
    HistorySettings,
    HttpSettings,
    OutageSettings,
    PathsSettings,
    RetrySettings,
    SecuritySettings,
    Settings,
    WaybackSettings,
)
from verifier.parse import load_event_file
from verifier.urls import is_web_url

CORPUS = (
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "kleptocracy-timeline" / "events"
)


def corpus_urls(folder: Path) -> list[str]:
    """Every distinct source URL string as written in the files."""
    urls: dict[str, None] = {}
    for path in sorted(folder.iterdir()):
        loaded = load_event_file(path)
        event = getattr(loaded, "event", None)
        if event is not None:
            for source in event.sources:
                if is_web_url(source.url):
                    urls.setdefault(source.url.strip(), None)
    return list(urls)


def _source_urls(path: Path) -> set[str]:
    loaded = load_event_file(path)
    event = getattr(loaded, "event", None)
    if event is None:
        return set()
    return {source.url.strip() for source in event.sources if is_web_url(source.url)}


def host_map(urls: list[str]) -> dict[str, str]:
    """Each real host → its own loopback address (keeps the host distribution)."""
    hosts = sorted({(urlsplit(url).hostname or "").lower() for url in urls})
    return dict(zip(hosts, loopback_addresses(len(hosts)), strict=True))


def mapped(url: str, hosts: dict[str, str], port: int) -> str:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return f"http://{hosts[(parts.hostname or '').lower()]}:{port}{target}"


def copy_corpus_to_loopback(
    destination: Path, web_port: int
) -> tuple[dict[str, str], dict[str, str]]:
    """Copy the corpus with every source URL rewritten onto the loopback web.

    Returns (original URL → loopback URL, host → address). Files change only in those URLs.
    """
    shutil.copytree(CORPUS, destination)
    urls = corpus_urls(destination)
    hosts = host_map(urls)
    mapping = {url: mapped(url, hosts, web_port) for url in urls}
    for path in destination.iterdir():
        text = path.read_text(encoding="utf-8")
        changed = text
        for url in sorted(_source_urls(path), key=len, reverse=True):
            changed = changed.replace(url, mapping[url])
        if changed != text:
            path.write_text(changed, encoding="utf-8")
    return mapping, hosts


def run_settings(root: Path, events: Path, **http: object) -> Settings:
    options: dict[str, object] = {
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "attempt_deadline": 3.0,
        "min_host_interval": 0.0,
        "max_concurrency": 256,
        "retry": RetrySettings(backoff_base=0.01, jitter=0.0, retry_after_cap=1.0),
    }
    options.update(http)
    return Settings(
        paths=PathsSettings(events=events, reports=root / "reports"),
        http=HttpSettings(**options),  # type: ignore[arg-type]
        security=SecuritySettings(allowed_networks=("127.0.0.0/8",)),
        outage=OutageSettings(min_hosts=5),
        wayback=WaybackSettings(enabled=False),
        history=HistorySettings(path=root / "history.sqlite3"),
        base_dir=root,
    )


def publish_all(web: LoopWeb, mapping: dict[str, str]) -> None:
    by_host: dict[str, list[str]] = {}
    for url in mapping.values():
        parts = urlsplit(url)
        by_host.setdefault(parts.hostname or "", []).append(
            parts.path + ("?" + parts.query if parts.query else "")
        )
    for host, paths in by_host.items():
        web.publish(host, paths)
