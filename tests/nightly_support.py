"""Helpers for nightly-run tests: a corpus copy whose URLs point at the loopback web, and
the five-nights scenario (``Nights``): ``verifier run`` as its own process, several nights."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import psycopg

from tests.corpus import TIMELINE_EVENTS
from tests.fakes.loopweb import LoopWeb, loopback_addresses
from tests.fakes.wayback import (
    DEFAULT_ACCOUNT,
    Capture,
    FakeClock,
    FakeWayback,
    FakeWaybackConfig,
    serve_fake_wayback,
    ts_of,
)
from verifier.config import (
    HistorySettings,
    HttpSettings,
    OutageSettings,
    PathsSettings,
    RetrySettings,
    SecuritySettings,
    Settings,
    WaybackSettings,
    load_settings,
)
from verifier.events.parse import load_event_file
from verifier.history.store import HISTORY_URL_VARIABLE
from verifier.urls import is_web_url

CORPUS = TIMELINE_EVENTS


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


# --------------------------------------------------------------------------- real nights
# ``verifier run`` as an operator runs it: its own process, the shipped config.toml with a
# few documented overrides, the loopback web and the fake Wayback over real sockets. Shared
# by tests/test_five_nights.py and benchmarks/nights.py.

SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config.toml"

NIGHT_SCALE = 1 / 120
"""Wayback time is scaled by this in the nights: the shipped budgets (24 CDX lookups a
minute, 1,800 s of archiving a night) would make each night last half an hour. Every
Wayback duration of the client (rate window, time budget, polling) and the fake's clock
(its 60 s rate windows, 20 s captures) are scaled alike, so a scaled night sends as many
Wayback requests, at the same share of each limit, as a real night does."""

SCHEDULE_LEAD = 4.0
"""Seconds from writing the schedule's cron to its firing (the daemon should be up by then;
if not, the cron fires a minute later)."""

WORKER_GRACE = 3.0
"""Seconds the workers of ``run --workers`` may outlive a killed run: each sees its parent
gone within 0.2 s, then gives its leases back and exits."""

IN_FLIGHT_SLACK = 0.5
"""Seconds after a signal during which a request arriving at a server still counts as sent
before it: already on the wire (the loopback servers share this process's CPU and may read
it late), or sent before a busy event loop ran the signal handler. Measured: up to 0.11 s
with 64 requests in flight; the engine before the fix went on for 2.5-3.4 s."""


def shipped_config() -> dict[str, Any]:
    """The repository's ``config.toml``, as TOML data."""
    with SHIPPED_CONFIG.open("rb") as stream:
        return tomllib.load(stream)


def merge_tables(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, table by table (other values are replaced)."""
    merged = dict(base)
    for key, value in overrides.items():
        known = merged.get(key)
        if isinstance(value, Mapping) and isinstance(known, Mapping):
            merged[key] = merge_tables(known, value)
        else:
            merged[key] = value
    return merged


def toml_text(data: Mapping[str, Any]) -> str:
    """Write TOML (tables, strings, numbers, booleans, arrays): enough for config.toml.
    The text is read back and compared, so a value this cannot write fails loudly."""
    lines: list[str] = []

    def value(item: object) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int | float):
            return repr(item)
        if isinstance(item, str):
            return json.dumps(item)
        if isinstance(item, list | tuple):
            return "[" + ", ".join(value(element) for element in item) + "]"
        raise TypeError(f"no TOML for {item!r}")

    def key(name: str) -> str:
        return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)

    def table(prefix: str, entries: Mapping[str, Any]) -> None:
        if prefix:
            lines.append(f"[{prefix}]")
        for name, item in entries.items():
            if not isinstance(item, Mapping):
                lines.append(f"{key(name)} = {value(item)}")
        lines.append("")
        for name, item in entries.items():
            if isinstance(item, Mapping):
                table(f"{prefix}.{key(name)}" if prefix else key(name), item)

    table("", data)
    text = "\n".join(lines)
    if tomllib.loads(text) != json.loads(json.dumps(data)):
        raise ValueError("toml_text could not write this data faithfully")
    return text


class TickingClock(FakeClock):
    """A fake clock that runs: ``speed`` fake seconds per real second from the last ``set``."""

    def __init__(self, start: dt.datetime, speed: float = 1.0) -> None:
        super().__init__(start)
        self.speed = speed
        self._since = time.monotonic()

    def now(self) -> dt.datetime:
        return self._now + dt.timedelta(seconds=(time.monotonic() - self._since) * self.speed)

    def advance(self, seconds: float) -> dt.datetime:
        self._now += dt.timedelta(seconds=seconds)
        return self.now()

    def set(self, when: dt.datetime) -> None:
        super().set(when)
        self._since = time.monotonic()


@dataclass(slots=True)
class ProcessRun:
    """One ``verifier`` process: how it ended and what it cost."""

    argv: list[str]
    code: int
    """Exit code; minus the signal number when a signal ended it."""
    wall: float
    peak_rss_mib: float
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)
    started_at: float
    ended_at: float
    signalled_at: float | None = None
    timed_out: bool = False
    survivors: bool = False
    """Processes of its process group were still alive after it ended."""

    @property
    def stop_to_exit(self) -> float | None:
        return None if self.signalled_at is None else self.ended_at - self.signalled_at


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output: Path,
    timeout: float,
    signum: int | None = None,
    when: Callable[[], bool] | None = None,
    grace: float = 0.0,
) -> ProcessRun:
    """Run ``argv`` to its end, at most ``timeout`` seconds (then its stack is dumped to its
    stderr — ``PYTHONFAULTHANDLER`` — and it is killed): a hang fails, it never hangs.
    With ``signum``, the signal is sent once ``when()`` holds (polled every 10 ms).
    Processes it started count as survivors when they outlive it by ``grace`` seconds."""
    output.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = output.with_suffix(".stdout"), output.with_suffix(".stderr")
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**env, "PYTHONFAULTHANDLER": "1"},
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group: survivors can be found
        )
    started = time.monotonic()
    signalled_at: float | None = None
    timed_out = False
    abort_sent = 0.0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        now = time.monotonic()
        if signum is not None and signalled_at is None and (when is None or when()):
            os.kill(process.pid, signum)
            signalled_at = time.monotonic()
        elif now - started > timeout and not timed_out:
            timed_out = True
            os.kill(process.pid, signal.SIGABRT)  # faulthandler writes every thread's stack
            abort_sent = now
        elif timed_out and now - abort_sent > 5:
            os.kill(process.pid, signal.SIGKILL)
        time.sleep(0.01)
    ended = time.monotonic()
    process.returncode = os.waitstatus_to_exitcode(status)
    survivors = group_alive(process.pid, grace)
    if survivors:
        os.killpg(process.pid, signal.SIGKILL)  # only the group this call started
    return ProcessRun(
        argv,
        process.returncode,
        ended - started,
        usage.ru_maxrss / 1024,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
        started,
        ended,
        signalled_at,
        timed_out,
        survivors,
    )


def group_alive(group: int, grace: float = 0.0) -> bool:
    """Whether a process of ``group`` is still alive ``grace`` seconds from now (or sooner)."""
    deadline = time.monotonic() + grace
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)


@dataclass(frozen=True, slots=True)
class NightsOptions:
    stride: int = 1
    """Keep every ``stride``-th event file of the corpus (1: all of it)."""
    seed: int = 7
    latency_ms: float = 0.0
    """Latency of every loopback host (the slow hosts have more)."""
    timeout: float = 240.0
    """Seconds a ``verifier`` process may take before it counts as hung."""
    scale: float = NIGHT_SCALE
    dead_share: float = 0.01
    """Share of the URLs that answer 404 every night."""
    history_url: str | None = None
    """A PostgreSQL history, given as ``$VERIFIER_HISTORY_URL`` (the config.toml stays as
    shipped), instead of the shipped SQLite file."""
    workers: int = 0
    """``verifier run --workers N`` (with ``history_url``): N worker processes check."""


FIGURES_HEADER = (
    f"{'process':<20} {'exit':>5} {'wall s':>8} {'peak MiB':>9} {'web req':>8} {'wb req':>8}"
)
"""Column names of ``Night.figures``."""


@dataclass(slots=True)
class Night:
    """One ``verifier`` process of the scenario, with the servers' view of it."""

    label: str
    now: str
    process: ProcessRun
    web_requests: int
    wayback_requests: int
    web_after_signal: int = 0
    """Requests that reached the web more than IN_FLIGHT_SLACK after the signal."""
    wayback_after_signal: int = 0
    web_in_slack: int = 0
    """Requests that reached the web within IN_FLIGHT_SLACK after the signal."""
    wayback_in_slack: int = 0
    wayback_by_family: dict[str, int] = field(default_factory=dict)
    web_targets: Counter[str] = field(default_factory=Counter, repr=False)
    """Requests per URL (``http://host:port/target``) that reached the web."""
    web_last_after_signal: float | None = None
    """Seconds from the signal to the last request that reached the web after it."""
    wayback_last_after_signal: float | None = None

    @property
    def code(self) -> int:
        return self.process.code

    def figures(self) -> str:
        """One line: exit, wall time, peak RSS, requests; after a signal, what followed."""
        p = self.process
        state = "HUNG" if p.timed_out else f"{p.code:>4}"
        line = (
            f"{self.label:<20} {state:>5} {p.wall:>8.1f} {p.peak_rss_mib:>9.0f} "
            f"{self.web_requests:>8} {self.wayback_requests:>8}"
        )
        if p.signalled_at is not None:
            last = self.web_last_after_signal
            line += (
                f"   signal→exit {p.stop_to_exit:.2f} s; started after it: web "
                f"{self.web_after_signal} (+{self.web_in_slack} within {IN_FLIGHT_SLACK} s"
                + (f", last at +{last:.3f} s" if last is not None else "")
                + f"), wayback {self.wayback_after_signal} (+{self.wayback_in_slack})"
            )
        return line

    def diagnosis(self) -> str:
        """What to print when this night's assertions fail."""
        p = self.process
        head = f"{self.label} ({self.now}): exit {p.code} after {p.wall:.1f} s"
        if p.timed_out:
            head += " — HUNG: killed at the hard timeout; its stack dump is in stderr"
        return f"{head}\nstdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-6000:]}"


NIGHT_1 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def night_time(n: int, minutes: float = 0) -> dt.datetime:
    """03:00 UTC of night ``n`` (1-based), one day apart."""
    return NIGHT_1 + dt.timedelta(days=n - 1, minutes=minutes)


class Nights:
    """The five-nights scenario on a copy of the real corpus.

    The loopback web serves every corpus URL, except: ``dead_share`` of them answer 404;
    three soft-404 sites answer 200 "welcome" for a page they lost; two sites redirect lost
    pages to their home page; five small hosts fail 30 % of requests with 503 (seeded); five
    single-page hosts answer after 1-3 s; three small hosts refuse connections. The fake
    Wayback has captures for about 60 % of the URLs (some older than a year, so a new
    capture is due). Events of two held-back batches arrive before nights 4 and 5. The
    tracked URLs:

    - ``always_dead``: 404 every night — suspect, then broken once failed over 3 days;
    - ``refused``: on a host that refuses connections every night — the same;
    - ``on_host_gone``: new in batch A, on a host that answered nights 1-3 and refuses
      connections from night 4;
    - ``dies``: alive on night 1, 404 from night 2 (not due again before its OK TTL, 7 days);
    - ``recovers``: 404 on nights 1 and 2, back on night 3;
    - ``new_alive`` / ``new_dead``: cited by an event file added before night 2.

    Use as a context manager; then call the nights in order.
    """

    def __init__(
        self, root: Path, options: NightsOptions = NightsOptions(), *, schedule: bool = False
    ) -> None:
        self.root = root
        self.options = options
        self.schedule = schedule
        self.start = dt.datetime.now(dt.UTC).replace(microsecond=0) if schedule else night_time(1)
        self.rng = random.Random(options.seed)
        self.down = self._down_hosts()
        self.web = LoopWeb(
            hosts=1200,
            latency_ms=options.latency_ms,
            host_modes=dict.fromkeys(self.down, "down"),
            failure_seed=options.seed,
        )
        self.fake = FakeWayback(
            FakeWaybackConfig(seed=options.seed), TickingClock(self.start, 1 / options.scale)
        )
        self.fire_at: dt.datetime | None = None
        self.tracked: dict[str, str] = {}
        self.nights: list[Night] = []
        self._stack = contextlib.ExitStack()
        self._postgres: psycopg.Connection[Any] | None = None
        self.access, self.secret = DEFAULT_ACCOUNT.split(":")

    # -- set-up ----------------------------------------------------------------------------

    def __enter__(self) -> Nights:
        try:
            self._stack.enter_context(self.web.running_in_thread())
            self.wayback_base = self._stack.enter_context(serve_fake_wayback(self.fake))
            self._prepare()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _split(self, files: list[Path]) -> tuple[list[Path], list[list[Path]]]:
        """The files of night 1, and of the two batches (every 8th: nights 4 and 5)."""
        kept = files[:: self.options.stride]
        base = [path for n, path in enumerate(kept) if n % 8 not in (3, 5)]
        batches = [[path for n, path in enumerate(kept) if n % 8 == k] for k in (3, 5)]
        return base, batches

    def _down_hosts(self) -> list[str]:
        """Addresses of three small night-1 hosts that refuse connections every night
        (chosen before the web starts: a host listens or not from its start)."""
        urls = {path: _source_urls(path) for path in sorted(CORPUS.iterdir())}
        hosts = host_map(sorted(set().union(*urls.values())))
        base, _ = self._split(sorted(urls))
        count = Counter(hosts[(urlsplit(u).hostname or "").lower()] for p in base for u in urls[p])
        small = sorted(addr for addr, n in count.items() if 2 <= n <= 6)
        return random.Random(self.options.seed + 2).sample(small, 3)

    def _prepare(self) -> None:
        events = self.root / "events"
        self.mapping, hosts = copy_corpus_to_loopback(events, self.web.port)
        assert set(hosts.values()) <= set(self.web.hosts)
        base_files, batch_files = self._split(sorted(events.iterdir()))
        for path in set(events.iterdir()) - set(base_files) - {*batch_files[0], *batch_files[1]}:
            path.unlink()
        self.batches: list[Path] = [self.root / "batch-a", self.root / "batch-b"]
        for batch, paths in zip(self.batches, batch_files, strict=True):
            batch.mkdir()
            for path in paths:
                path.rename(batch / path.name)
        base = {url for path in events.iterdir() for url in _source_urls(path)}
        later = {url for b in self.batches for path in b.iterdir() for url in _source_urls(path)}
        self.base_urls = sorted(base)
        self.batch_urls = [sorted(_source_urls_of(b) - base) for b in self.batches]
        publish_all(self.web, {url: url for url in base | later})
        self._shape_the_web(sorted(base))
        self._seed_captures(sorted(base | later))
        self.write_config()

    def _shape_the_web(self, urls: list[str]) -> None:
        by_host: dict[str, list[str]] = {}
        for url in urls:
            by_host.setdefault(urlsplit(url).hostname or "", []).append(url)
        rng = self.rng
        ordered = sorted(by_host)
        rng.shuffle(ordered)
        middling = [h for h in ordered if 3 <= len(by_host[h]) <= 12]
        small = [h for h in ordered if 2 <= len(by_host[h]) <= 6]
        single = [h for h in ordered if len(by_host[h]) == 1]
        special: set[str] = set(self.down)

        def take(pool: list[str], n: int) -> list[str]:
            chosen = [h for h in pool if h not in special][:n]
            special.update(chosen)
            return chosen

        for host in take(middling, 3):
            self.web.host_modes[host] = "soft404"
            self._unpublish(by_host[host][0])  # now answers 200 "welcome"
        for host in take(middling, 2):
            self.web.host_modes[host] = "home-redirect"
            self._unpublish(by_host[host][0])  # now redirects to the home page
        for host in take(small, 5):
            self.web.host_failure_rate[host] = 0.3
        for host in take(single, 5):
            self.web.host_latency_ms[host] = rng.uniform(1000, 3000) + self.options.latency_ms
        later = {urlsplit(url).hostname for url in self.batch_urls[0]}
        [self.goes_down] = take([h for h in ordered if h in later and len(by_host[h]) >= 2], 1)
        self.tracked["refused"] = by_host[self.down[0]][0]
        self.tracked["on_host_gone"] = next(
            url for url in self.batch_urls[0] if urlsplit(url).hostname == self.goes_down
        )
        plain = [url for url in urls if urlsplit(url).hostname not in special]
        rng.shuffle(plain)
        dead = plain[: max(3, int(len(urls) * self.options.dead_share))]
        for url in dead:
            self._unpublish(url)
        self.tracked["always_dead"], self.tracked["recovers"] = dead[0], dead[1]
        self.tracked["dies"] = plain[len(dead)]
        site = urlsplit(plain[len(dead) + 1]).hostname or ""
        self.tracked["new_alive"] = self.web.url(site, "/2026/new-event/alive-page")
        self.tracked["new_dead"] = self.web.url(site, "/2026/new-event/missing-page")
        self.web.publish(site, ["/2026/new-event/alive-page"])
        self.specials = {
            "soft404": [h for h, m in self.web.host_modes.items() if m == "soft404"],
            "home_redirect": [h for h, m in self.web.host_modes.items() if m == "home-redirect"],
            "flaky": sorted(self.web.host_failure_rate),
            "slow": sorted(self.web.host_latency_ms),
            "down": self.down,
            "goes_down": [self.goes_down],
            "dead": dead,
        }

    def _seed_captures(self, urls: list[str]) -> None:
        rng = random.Random(self.options.seed + 1)
        captures = []
        for url in urls:
            draw = rng.random()
            if draw < 0.45:  # recent: no new capture due
                when = self.start - dt.timedelta(days=rng.uniform(5, 300))
            elif draw < 0.6:  # over a year old: a new capture is due
                when = self.start - dt.timedelta(days=rng.uniform(400, 2000))
            else:
                continue  # never archived
            captures.append(Capture(url, ts_of(when)))
        self.fake.add_captures(*captures)

    def _unpublish(self, url: str) -> None:
        parts = urlsplit(url)
        self.web.unpublish(parts.hostname or "", [_target(parts)])

    def _publish(self, url: str) -> None:
        parts = urlsplit(url)
        self.web.publish(parts.hostname or "", [_target(parts)])

    def deviations(self) -> dict[str, Any]:
        """Every change to the shipped config.toml, and why (nothing else differs: [http]
        timings, per_host, min_host_interval, the retry policy, [history], ... as shipped)."""
        wayback = load_settings(SHIPPED_CONFIG).wayback
        scale = self.options.scale
        changes: dict[str, Any] = {
            # The scenario's own folders (the history stays at its shipped relative path,
            # .verifier/history.sqlite3 beside this config.toml).
            "paths": {"events": "events", "reports": "reports"},
            # The loopback web stands in for the internet; the shipped policy refuses it.
            "security": {"allowed_networks": ["127.0.0.0/8"]},
            "wayback": {
                # The fake Wayback, over a real socket, stands in for web.archive.org
                # (replay_url is only written into links, never requested: as shipped).
                "cdx_url": f"{self.wayback_base}/cdx/search/cdx",
                "save_url": f"{self.wayback_base}/save",
                "status_url": f"{self.wayback_base}/save/status",
                # Wayback time scaled by NIGHT_SCALE (the fake's clock runs 1/NIGHT_SCALE
                # times faster), or each night would archive for half an hour; requests per
                # night and the share of each limit stay as shipped. cooldown_after_429
                # stays shipped: a 429 would cost a real minute, visible in the wall time.
                "rate_window": wayback.rate_window * scale,
                "time_budget": wayback.time_budget * scale,
                "poll_interval": wayback.poll_interval * scale,
                "poll_timeout": wayback.poll_timeout * scale,
            },
        }
        if self.fire_at is not None:
            # `verifier schedule` on a fresh history waits for its cron: make it fire in a
            # few seconds (and every minute after, should the daemon start late) instead
            # of at 03:00.
            changes["schedule"] = {"second": str(self.fire_at.second), "minute": "*", "hour": "*"}
        return changes

    def write_config(self) -> Path:
        path = self.root / "config.toml"
        path.write_text(toml_text(merge_tables(shipped_config(), self.deviations())))
        return path

    # -- the nights ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        variables = {
            **os.environ,
            "CI": "true",
            "WAYBACK_ACCESS_KEY": self.access,
            "WAYBACK_SECRET_KEY": self.secret,
        }
        if self.options.history_url is not None:
            variables[HISTORY_URL_VARIABLE] = self.options.history_url
        return variables

    def run(
        self,
        label: str,
        now: dt.datetime | None,
        *,
        signum: int | None = None,
        when: Callable[[], bool] | None = None,
    ) -> Night:
        """One ``verifier run --now`` (``now=None``: ``verifier schedule``), the servers'
        counters from its start."""
        self.web.reset_counters()
        moment = now or dt.datetime.now(dt.UTC)
        self.fake.clock.set(moment)
        command = ["run", "--now", moment.isoformat()] if now is not None else ["schedule"]
        if now is not None and self.options.workers:
            command += ["--workers", str(self.options.workers)]
        argv = [sys.executable, "-m", "verifier", "--config", str(self.root / "config.toml")]
        since = time.monotonic()
        process = run_process(
            [*argv, *command],
            cwd=self.root,
            env=self.env(),
            output=self.root / "logs" / label,
            timeout=self.options.timeout,
            signum=signum,
            when=when,
            grace=WORKER_GRACE if self.options.workers else 0.0,
        )
        entries = self.web.log
        wayback_log = [r for r in self.fake.requests() if r.received >= since]
        night = Night(
            label,
            moment.isoformat(),
            process,
            len(entries),
            len(wayback_log),
            wayback_by_family=dict(Counter(r.family for r in wayback_log)),
            web_targets=Counter(f"{self.web.base_url(e.host)}{e.target}" for e in entries),
        )
        if process.signalled_at is not None:
            at = process.signalled_at
            cut = at + IN_FLIGHT_SLACK
            web_times = [entry.time for entry in entries]
            wayback_times = [r.received for r in wayback_log]
            night.web_after_signal = sum(1 for t in web_times if t > cut)
            night.wayback_after_signal = sum(1 for t in wayback_times if t > cut)
            night.web_in_slack = sum(1 for t in web_times if at < t <= cut)
            night.wayback_in_slack = sum(1 for t in wayback_times if at < t <= cut)
            night.web_last_after_signal = max((t - at for t in web_times if t > at), default=None)
            night.wayback_last_after_signal = max(
                (t - at for t in wayback_times if t > at), default=None
            )
        self.nights.append(night)
        return night

    def wayback_requests_since(self, since: float, family: str | None = None) -> int:
        return sum(1 for r in self.fake.requests(family) if r.received >= since)

    def first_night(self) -> Night:
        """Everything is due."""
        return self.run("night 1", night_time(1))

    def second_night(self) -> Night:
        """Incremental: a page dies, a new event cites a live and a dead page."""
        self._unpublish(self.tracked["dies"])
        _write_event(
            self.root / "events" / "2026-11-20--a-new-event.md",
            "2026-11-20--a-new-event",
            [self.tracked["new_alive"], self.tracked["new_dead"]],
        )
        return self.run("night 2", night_time(2))

    def third_night(self) -> Night:
        """Incremental: a dead page comes back."""
        self._publish(self.tracked["recovers"])
        return self.run("night 3", night_time(3))

    def killed_night(self) -> tuple[Night, int, Night]:
        """Batch A arrives, and a host known to answer goes down (it refuses connections
        from now on; batch A cites it); the run is SIGKILLed mid-check (observations of a
        third of its new URLs stored), then restarted. Returns the killed night, the requests that
        reached the web from IN_FLIGHT_SLACK to 2 s after the kill (none if nothing of the
        run survived it), and the restart."""
        self._release(0)
        self.web.take_down(self.goes_down)
        target = max(10, len(self.batch_urls[0]) // 3)
        killed = self.run(
            "night 4 (killed)",
            night_time(4),
            signum=signal.SIGKILL,
            when=lambda: self.observed_tonight() >= target,
        )
        assert killed.process.signalled_at is not None, killed.diagnosis()
        time.sleep(max(0.0, killed.process.signalled_at + 2 - time.monotonic()))
        cut = killed.process.signalled_at + IN_FLIGHT_SLACK
        after_kill = sum(1 for entry in self.web.log if entry.time > cut)
        restarted = self.run("night 4 (restart)", night_time(4, minutes=20))
        return killed, after_kill, restarted

    def stopped_night(self) -> Night:
        """Batch B arrives; SIGTERM once capture jobs are being polled (mid-archive)."""
        self._release(1)
        since = time.monotonic()
        return self.run(
            "night 5 (SIGTERM)",
            night_time(5),
            signum=signal.SIGTERM,
            when=lambda: self.wayback_requests_since(since, "spn_status") > 0,
        )

    def scheduled_stop(self) -> Night:
        """``verifier schedule`` on a fresh history, its cron firing now; SIGTERM once the
        run has asked the Wayback Machine and stored a quarter of its URLs."""
        self.fire_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=SCHEDULE_LEAD)
        self.write_config()
        since = time.monotonic()
        target = max(20, len(self.base_urls) // 4)
        return self.run(
            "schedule (SIGTERM)",
            None,
            signum=signal.SIGTERM,
            when=lambda: (
                self.wayback_requests_since(since) > 0 and self.observed_tonight() >= target
            ),
        )

    def _release(self, batch: int) -> None:
        for path in sorted(self.batches[batch].iterdir()):
            shutil.move(path, self.root / "events" / path.name)

    # -- what the nights left --------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.root / "reports" / "summary.json").read_text())
        return loaded

    def broken_links(self) -> str:
        return (self.root / "reports" / "broken-links.md").read_text()

    def sources(self) -> dict[str, dict[str, Any]]:
        """Source URL (as written) → its entry in the per-event JSON reports."""
        found: dict[str, dict[str, Any]] = {}
        for path in (self.root / "reports" / "events").glob("*.json"):
            for source in json.loads(path.read_text())["sources"]:
                if source.get("url"):
                    found[source["url"]] = source
        return found

    def statuses(self) -> dict[str, str]:
        """Source URL (as written) → status, from the per-event JSON reports."""
        return {url: source["status"] for url, source in self.sources().items()}

    def observed_tonight(self) -> int:
        """Observations stored so far by the newest run (read while it runs: WAL)."""
        try:
            rows = self.query(
                "SELECT COUNT(*) FROM observations WHERE run_id = (SELECT MAX(id) FROM runs)"
            )
        except (sqlite3.Error, psycopg.Error):  # not created yet, or busy for a moment
            return 0
        return int(rows[0][0])

    def runs(self) -> list[tuple[int, str, str | None]]:
        """(id, state, finished_at) of every row of the history's ``runs`` table."""
        return [
            (int(row[0]), str(row[1]), None if row[2] is None else str(row[2]))
            for row in self.query("SELECT id, state, finished_at FROM runs ORDER BY id")
        ]

    def query(self, text: str) -> list[tuple[Any, ...]]:
        """The rows of ``text`` in the history, SQLite or PostgreSQL (read-only; one
        PostgreSQL connection for the scenario: ``observed_tonight`` is polled every 10 ms)."""
        if self.options.history_url is not None:
            if self._postgres is None:
                self._postgres = self._stack.enter_context(
                    psycopg.connect(self.options.history_url, autocommit=True, connect_timeout=5)
                )
            return list(self._postgres.execute(text))
        path = self.root / ".verifier" / "history.sqlite3"
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return list(db.execute(text))


def _target(parts: SplitResult) -> str:
    return (parts.path or "/") + ("?" + parts.query if parts.query else "")


def _source_urls_of(folder: Path) -> set[str]:
    return {url for path in folder.iterdir() for url in _source_urls(path)}


def _write_event(path: Path, event_id: str, urls: list[str]) -> None:
    day = event_id[:10]
    sources = "".join(
        f"- url: {url}\n  title: Page {k}\n  publisher: Publisher {k}\n  tier: {1 + k % 2}\n"
        for k, url in enumerate(urls)
    )
    path.write_text(
        f"---\nid: {event_id}\ndate: '{day}'\ntitle: A new event\nimportance: 5\n"
        f"sources:\n{sources}---\nAdded between two nights.\n"
    )
