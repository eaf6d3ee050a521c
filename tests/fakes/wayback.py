"""A faithful fake Wayback Machine (spec: shared/reference/wayback-api.md, section 6).

One Starlette app answers availability, CDX, replay and Save Page Now 2 by path, on a fake
clock, with scripted faults and 60-second rate windows, so the archiving layer can be tested
against the real API's shapes and failure modes without the internet. Use it in-process with
``httpx.ASGITransport(app=fake.app)`` or on loopback with ``serve_fake_wayback(fake)`` (needed
for real timeouts and dropped connections).

Every URL it emits names the public hosts (``https://web.archive.org/...``), never the test
port, as the real service does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import json
import math
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
import surt  # type: ignore[import-untyped]  # no stubs; one function used
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = [
    "BLOCKED_ERROR",
    "DEFAULT_ACCOUNT",
    "ROBOTS_ERROR",
    "Account",
    "Capture",
    "FakeClock",
    "FakeWayback",
    "FakeWaybackConfig",
    "Fault",
    "Job",
    "RequestRecord",
    "SpnOutcome",
    "canonical_key",
    "dt_of",
    "serve_fake_wayback",
    "ts_of",
]

WEB = "https://web.archive.org"
DEFAULT_ACCOUNT = "test-access:test-secret"
"""Key pair accepted by the default config: send ``Authorization: LOW test-access:test-secret``."""

BLOCKED_ERROR = (
    "org.archive.util.io.RuntimeIOException: org.archive.wayback.exception."
    "AdministrativeAccessControlException: Blocked Site Error"
)
ROBOTS_ERROR = (
    "org.archive.util.io.RuntimeIOException: org.archive.wayback.exception."
    "RobotAccessControlException: Blocked By Robots"
)
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
NOT_ARCHIVED_HTML = (
    "<html><head><title>Wayback Machine</title></head><body><p>Hrm. The Wayback Machine has "
    "not archived that URL.</p></body></html>"
)
EXCLUDED_HTML = (
    "<html><head><title>Wayback Machine</title></head><body><p>Sorry. This URL has been "
    "excluded from the Wayback Machine.</p></body></html>"
)
TOO_MANY_HTML = (
    "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1>"
    "<p>We are limiting the rate of requests from your client.</p></body></html>"
)
LOGIN_HTML = "<html><body><p>You need to be logged in to use Save Page Now.</p></body></html>"
OUTAGE_HTML = (
    "<html><head><title>Internet Archive: Temporarily Offline</title></head><body>"
    "<p>The Wayback Machine is temporarily offline. Please check back later.</p></body></html>"
)
SESSION_LIMIT = (
    "You have already reached the limit of active Save Page Now sessions. "
    "Please wait for a minute and then try again."
)
URL_DAILY_LIMIT = (
    "This URL has been already captured {n} times today, which is a daily limit we have set for "
    'that Resource type. Please try again tomorrow. Please email us at "info@archive.org" if you '
    "would like to discuss this more."
)
ANON_DAILY_LIMIT = (
    "You have reached your daily not-logged-in captures limit of ({n},) webpages, log in to "
    "archive up to (40000,) webpages per day."
)
# status_ext for a target answering with an HTTP error when capture_all is off (SPN2 doc).
_HTTP_ERRORS = {
    401: "error:unauthorized",
    403: "error:no-access",
    404: "error:not-found",
    405: "error:method-not-allowed",
    429: "error:too-many-requests",
    500: "error:internal-server-error",
    501: "error:not-implemented",
    502: "error:bad-gateway",
    503: "error:service-unavailable",
    504: "error:gateway-timeout",
    505: "error:http-version-not-supported",
    509: "error:bandwidth-limit-exceeded",
    511: "error:network-authentication-required",
}
_ERROR_MESSAGES = {
    "error:no-captures": "Save Page Now could not capture this URL because it was unreachable.",
    "error:invalid-host-resolution": "Couldn't resolve host for {url}.",
    "error:not-found": "The server cannot find the requested resource {url}.",
    "error:no-access": "Access to {url} is forbidden (HTTP status=403).",
}
DEFAULT_RATE_LIMITS: dict[str, int | None] = {
    "cdx": 30,
    "replay": 600,
    "availability": 60,
    "spn_status": 120,
    "spn_user": 60,
}


# --------------------------------------------------------------------------- time and keys


class FakeClock:
    """Injectable UTC clock: time only moves when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


def ts_of(dt: datetime) -> str:
    """``YYYYMMDDhhmmss`` in UTC, the Wayback timestamp format."""
    return dt.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def dt_of(ts: str) -> datetime:
    """The UTC instant of a 14-digit timestamp."""
    return datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _ts_near(ts: str | None) -> datetime | None:
    """A 1–14 digit timestamp as the earliest instant it names (``2017`` → 2017-01-01)."""
    if not ts or not ts.isdigit() or len(ts) > 14:
        return None
    try:
        return dt_of(ts + "00000101000000"[len(ts) :])
    except ValueError:
        return None


def _http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def canonical_key(url: str) -> str:
    """The index's urlkey (SURT), e.g. ``com,example)/page?a=1``, from the Internet Archive's
    own ``surt`` package, as the real CDX index computes it.

    Scheme, ``www``/``wwwN`` prefixes, default ports, fragments, a trailing slash, query order,
    case and percent-encoding (``%7E`` == ``~``, ``%e2`` == ``%E2``) are ignored (EDGI
    ``search()`` docstring: http == https, case-insensitive, ``www.`` ignored), which is why
    callers must compare ``original`` with what they asked for. A scheme-less URL
    (``www.nasa.gov/``) is taken as http, as Wayback does. What surt cannot key falls back to a
    simpler SURT-like key, so that garbage still gets a (never matching) key.
    """
    raw = url.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", raw):
        raw = "http://" + raw.lstrip("/")
    try:
        key = surt.surt(raw)
    except Exception:  # foreign code fed arbitrary URLs: fall back, never fail a request
        key = None
    if isinstance(key, str) and ")" in key:
        return key
    return _plain_key(raw)


def _plain_key(raw: str) -> str:
    """A SURT-like key without the surt package (scheme, www, default port, query order)."""
    try:
        parts = urlsplit(raw)
    except ValueError:
        return raw.lower()
    try:
        hostname = parts.hostname or ""
    except ValueError:
        hostname = ""
    host = re.sub(r"^www\d*\.", "", hostname.rstrip("."))
    try:
        port = parts.port
    except ValueError:
        port = None
    head = ",".join(reversed(host.split("."))) if host else ""
    if port not in (None, 80, 443):
        head += f":{port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{head}){parts.path or '/'}{'?' + query if query else ''}".lower()


def _job_id(key: str, at: datetime) -> str:
    """``spn2-<sha1>``: deterministic per URL and hour, as observed in 2026 (MKRWW#108)."""
    return "spn2-" + hashlib.sha1(f"{key}{at:%Y%m%d%H}".encode()).hexdigest()


def _on(options: dict[str, str], name: str) -> bool:
    """SPN2 option truthiness: only ``1`` and ``on`` count (doc 2025-10-22)."""
    return options.get(name) in ("1", "on")


def _parse_within(value: str | None, default: float) -> float:
    """``if_not_archived_within``: seconds, or ``3d 5h 20m``; the first of two values."""
    if value is None or not value.strip():
        return default
    first = value.split(",")[0].strip()
    if re.fullmatch(r"\d+(\.\d+)?", first):
        return float(first)
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)\s*([dhms])", first)
    return float(sum(int(n) * units[u] for n, u in parts)) if parts else default


def _valid_url(url: str) -> bool:
    """Roughly SPN2's syntax check: http(s)/ftp, a dotted host with an alphabetic TLD."""
    if any(ch.isspace() for ch in url):
        return False
    raw = url if "://" in url else "http://" + url
    try:
        parts = urlsplit(raw)
        _ = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return False
    label = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
    return parts.scheme in ("http", "https", "ftp") and bool(
        re.fullmatch(rf"(?:{label}\.)+[a-z]{{2,63}}\.?|\d{{1,3}}(?:\.\d{{1,3}}){{3}}", host)
    )


# --------------------------------------------------------------------------- data model


@dataclass
class Capture:
    """One archived response (spec 6.1).

    A ``revisit`` is a WARC revisit record: CDX shows it as ``warc/revisit``/``-`` unless
    ``resolveRevisits=true``, which (like replay) answers the status and mimetype of the capture
    it revisits: the latest earlier non-revisit capture of the same urlkey with the same
    ``digest`` (then one of any URL); only without one do the revisit's own ``statuscode``/
    ``mimetype`` stand in. ``visible_at`` models index lag (None: visible at once);
    ``replay_visible_at`` lets replay lag behind CDX (wayback#210).
    """

    original: str
    timestamp: str
    statuscode: str = "200"
    mimetype: str = "text/html"
    body: bytes = b"<html><body>archived page</body></html>"
    orig_headers: dict[str, str] = field(default_factory=dict)
    redirect_to: str | None = None
    visible_at: datetime | None = None
    replay_visible_at: datetime | None = None
    revisit: bool = False
    job_id: str | None = None
    digest: str = ""
    length: str = ""
    urlkey: str = field(init=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{14}", self.timestamp):
            raise ValueError(f"timestamp must be 14 digits, got {self.timestamp!r}")
        self.digest = self.digest or base64.b32encode(hashlib.sha1(self.body).digest()).decode()
        self.length = self.length or str(len(self.body))
        self.urlkey = canonical_key(self.original)

    @property
    def at(self) -> datetime:
        return dt_of(self.timestamp)

    def cdx_value(self, name: str, resolve_revisits: bool, revisited: Capture | None = None) -> str:
        """One CDX field; ``revisited`` is the capture a revisit points at (for resolving)."""
        if self.revisit and name in ("mimetype", "statuscode"):
            if not resolve_revisits:
                return "warc/revisit" if name == "mimetype" else "-"
            if revisited is not None:
                return str(getattr(revisited, name))
        return str(getattr(self, name))


@dataclass(frozen=True)
class Account:
    """SPN2 limits of one key pair (doc 2025-10-22; daily cap as observed in 2026).

    ``used_today`` makes the account start near its cap: that many captures count as already
    made on the fake clock's first day (the day the fake was built or last reset), e.g.
    ``Account(daily_limit=30000, used_today=29990)`` has 10 captures left that day.
    """

    daily_limit: int = 30000
    per_minute: int = 12
    concurrent: int = 5
    used_today: int = 0


@dataclass(frozen=True)
class SpnOutcome:
    """Scripted result of one SPN2 job.

    ``status_ext=None`` means the target answered ``http_status``: 2xx/3xx (or anything with
    ``capture_all=1``) makes a capture, otherwise the job fails with the matching code.
    """

    status_ext: str | None = None
    message: str | None = None
    exception: str | None = None
    http_status: int = 200
    final_url: str | None = None
    mimetype: str = "text/html"
    body: bytes = b"<html><body>captured page</body></html>"
    resources: tuple[str, ...] = ()
    outlinks: tuple[str, ...] = ()
    duration_s: float | None = None

    @classmethod
    def error(
        cls, status_ext: str, message: str | None = None, exception: str | None = None
    ) -> SpnOutcome:
        code = status_ext if status_ext.startswith("error:") else f"error:{status_ext}"
        return cls(status_ext=code, message=message, exception=exception)


@dataclass
class Job:
    """An SPN2 job; it settles when the fake clock passes ``complete_at``."""

    job_id: str
    url: str
    key: str
    submitted_at: datetime
    start_at: datetime
    complete_at: datetime
    account: str = ""
    options: dict[str, str] = field(default_factory=dict)
    outcome: SpnOutcome = field(default_factory=SpnOutcome)
    pending_resources: list[str] = field(default_factory=list)
    done: bool = False
    capture: Capture | None = None
    first_archive: bool = False

    @property
    def succeeds(self) -> bool:
        o = self.outcome
        return o.status_ext is None and (o.http_status < 400 or _on(self.options, "capture_all"))


FaultKind = Literal[
    "status", "delay", "drop", "reset", "malformed_json", "html_200", "succeed_but_report_error"
]


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour (spec 6.6), used up by the next request whose path matches.

    - ``status``: answer ``status`` (default 503) with ``body`` (HTML); the handler is skipped.
    - ``delay``: handle normally, answer after ``delay_s`` real seconds (client timeouts).
    - ``drop``: close the connection without a response.
    - ``reset``: handle, send the headers and half the body, then close the connection.
    - ``malformed_json``: handle, answer 200 with the body cut in half.
    - ``html_200``: answer 200 with an HTML outage page; the handler is skipped.
    - ``succeed_but_report_error``: handle (an SPN2 capture is still made), then answer
      ``status`` (default 523) — wayback#297.

    ``delay_s`` delays any kind. Without a socket (ASGI mode) ``drop``/``reset`` raise
    ``httpx.RemoteProtocolError``, the error httpx gives for the socket case.
    """

    kind: FaultKind = "status"
    status: int | None = None
    body: str | None = None
    delay_s: float = 0.0


@dataclass
class RequestRecord:
    """One request seen by the fake (control requests excluded). ``status=None``: dropped.

    ``at`` is the fake clock's time; ``received`` is the real ``time.monotonic()`` of its
    arrival (the same clock in every process of the machine), for "did a request start
    after the client was told to stop?".
    """

    at: datetime
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client: str
    family: str
    status: int | None = None
    received: float = field(default_factory=time.monotonic)

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "at": ts_of(self.at), "body": self.body.decode("utf-8", "replace")}


@dataclass
class FakeWaybackConfig:
    """Every limit and quirk of spec 6, with its defaults. Tests scale the budgets down.

    ``rate_limits`` are requests per sliding 60 s per client (``X-Fake-Client`` header, else
    the peer address); ``None`` turns a family off. ``retry_after`` is ``None`` (no header, as
    real Wayback in 2023), seconds, or ``"http-date"``.

    Replay lag (wayback#210, MKRWW#108): a capture listed by CDX is not replayable until its
    ``replay_visible_at`` (for SPN2 captures: ``visible_at + replay_lag``). Replay then answers
    a 302 to the nearest replayable capture, or, with ``replay_lag_redirect_to_previous``, to
    the replayable capture *before* the one the index names (the observed anomaly).
    """

    accounts: dict[str, Account] = field(default_factory=lambda: {DEFAULT_ACCOUNT: Account()})
    allow_anonymous: bool = False
    anonymous: Account = field(default_factory=lambda: Account(200, 4, 5))
    rate_limits: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    retry_after: int | Literal["http-date"] | None = None
    escalate_families: frozenset[str] = frozenset({"cdx"})
    block_after_s: float = 60.0
    block_s: float = 3600.0
    spn_rate_mode: Literal["429", "delay"] = "429"
    per_url_daily: int = 5
    capture_duration: float = 20.0
    index_lag: float = 0.0
    delayed_availability_lag: float = 12 * 3600.0
    replay_lag: float = 0.0
    replay_lag_redirect_to_previous: bool = False
    if_not_archived_within: float = 45 * 60.0
    job_retention: float = 3600.0
    unknown_job_status: int = 404
    duplicate_rows: int = 1
    availability_statuses: frozenset[str] | None = None
    spurious_empty_rate: float = 0.0
    seed: int = 0
    blocked_replay_status: int = 200
    pagination: bool = False
    system_status: Literal["ok", "overloaded", "critical"] = "ok"
    legacy_save: Literal["dead429", "dead404", "legacy2020"] = "dead429"


# --------------------------------------------------------------------------- plumbing


@dataclass
class _Req:
    method: str
    path: str
    raw_path: str
    query: str
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes
    client: str
    args: list[tuple[str, str]]

    @classmethod
    async def read(cls, request: Request) -> _Req:
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw = request.scope.get("raw_path")
        peer = request.client.host if request.client else "unknown"
        query = request.url.query
        return cls(
            method=request.method,
            path=request.url.path,
            raw_path=raw.decode("latin-1") if raw else request.url.path,
            query=query,
            headers=headers,
            cookies=dict(request.cookies),
            body=await request.body(),
            client=headers.get("x-fake-client", peer),
            args=parse_qsl(query, keep_blank_values=True),
        )

    def arg(self, name: str) -> str | None:
        return next((v for k, v in self.args if k == name), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.args if k == name]

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


class _Abort(Response):
    """Ends the exchange like a broken TCP connection: nothing at all (``drop``) or a cut body
    (``reset``). On loopback the uvicorn transport is aborted; under ASGITransport, which has no
    socket, the httpx error a client would see is raised instead."""

    def __init__(self, fake: FakeWayback, partial: Response | None = None) -> None:
        super().__init__(b"", status_code=partial.status_code if partial else 500)
        self.fake, self.partial = fake, partial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = self.fake._transport_for(scope)
        if transport is None:
            what = "without sending a response" if self.partial is None else "mid-body"
            raise httpx.RemoteProtocolError(f"Server disconnected {what} (fake wayback)")
        if self.partial is not None:
            body = self.partial.body
            headers = self.partial.raw_headers
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": headers}
            )
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
        transport.abort()
        for _ in range(3):  # let uvicorn see connection_lost, so it neither logs nor sends a 500
            await asyncio.sleep(0)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status, headers)


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return HTMLResponse(body, status, headers)


def _text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers, media_type="text/plain;charset=UTF-8")


def _spn_error(message: str, status_ext: str | None = None) -> Response:
    """SPN2 refuses a submission with HTTP 200 and no ``job_id`` (MKRWW#108, 2026)."""
    data = {"status": "error", "message": message}
    return _json({**data, "status_ext": status_ext} if status_ext else data)


def _family(path: str) -> str:
    """Which rate-limit pool a path draws on (timemaps share CDX's since 2026, edgi#206)."""
    if path.startswith("/wayback/available"):
        return "availability"
    if path.startswith(("/cdx/", "/web/timemap/")):
        return "cdx"
    if path.startswith("/web/"):
        return "replay"
    if path.rstrip("/") == "/save/status/user":
        return "spn_user"
    if path.startswith("/save/status"):
        return "spn_status"
    return "spn_submit" if path.startswith("/save") else "other"


# --------------------------------------------------------------------------- the fake


class FakeWayback:
    """The fake service: state, Python controls and the Starlette app in ``.app``.

    All state sits behind one lock because a loopback server thread and the test thread may
    touch it at once. Jobs settle lazily: every request (and ``settle()``) first completes the
    jobs whose ``complete_at`` has passed on the fake clock.
    """

    def __init__(self, config: FakeWaybackConfig | None = None, clock: FakeClock | None = None):
        self.config = config or FakeWaybackConfig()
        self.clock = clock or FakeClock()
        self._lock = threading.RLock()
        self._servers: list[uvicorn.Server] = []
        self._stopping = threading.Event()
        self.reset()
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])]
        )

    # ---- Python controls

    def reset(self) -> None:
        """Forget captures, blocks, jobs, scripts, faults, the log and rate state (not the clock
        or the config)."""
        with self._lock:
            self.captures: list[Capture] = []
            self.blocked: set[str] = set()
            self.robots_blocked: set[str] = set()
            self.jobs: dict[str, Job] = {}
            self.log: list[RequestRecord] = []
            self._submissions: list[Job] = []  # every accepted job, even if its id was reused
            self._scripts: dict[str, deque[SpnOutcome]] = {}
            self._faults: list[tuple[re.Pattern[str], deque[Fault]]] = []
            self._windows: dict[tuple[str, str], deque[float]] = {}
            self._streaks: dict[tuple[str, str], float] = {}
            self._blocked_until: dict[str, float] = {}
            self._block_counts: dict[str, int] = {}
            self._rng = random.Random(self.config.seed)
            self._first_day = self.clock.now().date()  # Account.used_today counts on this day

    def add_capture(self, original: str, timestamp: str, **fields: Any) -> Capture:
        """Seed one capture; ``fields`` are ``Capture`` fields (statuscode, body, visible_at…)."""
        capture = Capture(original, timestamp, **fields)
        self.add_captures(capture)
        return capture

    def add_captures(self, *captures: Capture) -> None:
        with self._lock:
            self.captures.extend(captures)

    def block(self, url_prefix: str, *, robots: bool = False) -> None:
        """Exclude a URL prefix (AdministrativeAccessControlException, or robots.txt)."""
        with self._lock:
            (self.robots_blocked if robots else self.blocked).add(url_prefix)

    def script_spn(self, url: str, *outcomes: SpnOutcome) -> None:
        """Queue outcomes for the next SPN2 jobs of ``url``; afterwards jobs succeed."""
        with self._lock:
            self._scripts.setdefault(canonical_key(url), deque()).extend(outcomes)

    def add_fault(self, path_regex: str, *faults: Fault) -> None:
        """Queue faults for requests whose ``path?query`` matches (``re.search``), in order."""
        with self._lock:
            self._faults.append((re.compile(path_regex), deque(faults)))

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            now = self.clock.advance(seconds)
            self.settle()
            return now

    def settle(self) -> None:
        """Complete every job whose ``complete_at`` has passed."""
        with self._lock:
            now = self.clock.now()
            for job in self._submissions:
                if not job.done and job.complete_at <= now:
                    self._finish(job)

    def requests(
        self, family: str | None = None, path_regex: str | None = None
    ) -> list[RequestRecord]:
        """The request log, optionally narrowed by family or a ``re.search`` on the path."""
        with self._lock:
            return [
                r
                for r in self.log
                if (family is None or r.family == family)
                and (path_regex is None or re.search(path_regex, r.path))
            ]

    def captures_of(self, url: str) -> list[Capture]:
        """All captures (visible or not) whose urlkey matches ``url``."""
        key = canonical_key(url)
        with self._lock:
            return sorted((c for c in self.captures if c.urlkey == key), key=lambda c: c.timestamp)

    # ---- request flow

    async def _endpoint(self, request: Request) -> Response:
        received = time.monotonic()
        req = await _Req.read(request)
        if req.path.startswith("/__fake__/"):
            with self._lock:
                return self._control(req)
        fault: Fault | None = None
        with self._lock:
            self.settle()
            record = RequestRecord(
                self.clock.now(),
                req.method,
                req.path,
                req.query,
                req.headers,
                req.body,
                req.client,
                _family(req.path),
                received=received,
            )
            self.log.append(record)
            if self._t() < self._blocked_until.get(req.client, -math.inf):
                response: Response = _Abort(self)
            elif (limited := self._rate_gate(record.family, req.client)) is not None:
                response = limited
            else:
                fault = self._next_fault(req)
                response = self._apply_fault(fault, req) if fault else self._route(req)
            record.status = None if isinstance(response, _Abort) else response.status_code
        if fault is not None and fault.delay_s > 0:
            await self._sleep(fault.delay_s)
        return response

    def _route(self, req: _Req) -> Response:
        path, post = req.path, req.method == "POST"
        if path.rstrip("/") == "/wayback/available":
            return self._availability(req)
        if path.rstrip("/") == "/cdx/search/cdx":
            return self._cdx(req)
        if path.startswith("/web/timemap/"):
            return self._timemap(req)
        if path.startswith("/web/"):
            return self._replay(req)
        if path.rstrip("/") == "/save":
            if post:
                return self._spn_submit(req)
            return _html(
                "<html><body><form method=post action=/save>Save Page Now</form></body></html>"
            )
        if path.rstrip("/") == "/save/status/user":
            return self._spn_user(req)
        if path.rstrip("/") == "/save/status/system":
            return self._spn_system()
        if path.rstrip("/") == "/save/status" or path.startswith("/save/status/"):
            return self._spn_status(req)
        if path.startswith("/save/"):
            return self._legacy_save(req)
        return _html("<html><body>Not Found</body></html>", 404)

    def _t(self) -> float:
        return self.clock.now().timestamp()

    async def _sleep(self, seconds: float) -> None:
        """Real-time sleep, cut short when the loopback server shuts down."""
        end = time.monotonic() + seconds
        # A threading.Event (set from the test thread) can't be awaited, hence the polling.
        while (left := end - time.monotonic()) > 0 and not self._stopping.is_set():  # noqa: ASYNC110
            await asyncio.sleep(min(left, 0.02))

    def _transport_for(self, scope: Scope) -> asyncio.Transport | None:
        client = tuple(scope.get("client") or ())
        for server in self._servers:
            for conn in list(server.server_state.connections):
                if getattr(conn, "client", None) == client:
                    transport: asyncio.Transport = conn.transport
                    return transport
        return None

    # ---- rate limits and faults (6.6, 6.7)

    def _rate_gate(self, family: str, client: str) -> Response | None:
        """Sliding 60 s window per family and client; answered-429 requests count too, and a
        client that keeps going for ``block_after_s`` is firewalled (IA staff, edgi#137)."""
        budget = self.config.rate_limits.get(family)
        if budget is None:
            return None
        now, slot = self._t(), (family, client)
        window = self._count(slot)
        if len(window) <= budget:
            self._streaks.pop(slot, None)
            return None
        started = self._streaks.setdefault(slot, now)
        if family in self.config.escalate_families and now - started > self.config.block_after_s:
            count = self._block_counts.get(client, 0)
            self._blocked_until[client] = now + self.config.block_s * 2**count
            self._block_counts[client] = count + 1
            self._streaks.pop(slot, None)
        return self._too_many(window[len(window) - budget] + 60 - now)

    def _count(self, slot: tuple[str, str]) -> deque[float]:
        """Record a request in its sliding 60 s window and return the window."""
        now, window = self._t(), self._windows.setdefault(slot, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        window.append(now)
        return window

    def _too_many(self, retry_in: float) -> Response:
        """Wayback's own 429: HTML, ``X-ts: 429`` and no ``Memento-Datetime``."""
        headers = {"X-ts": "429"}
        wait = max(1, math.ceil(retry_in))
        if self.config.retry_after == "http-date":
            headers["Retry-After"] = _http_date(self.clock.now() + timedelta(seconds=wait))
        elif self.config.retry_after is not None:
            headers["Retry-After"] = str(self.config.retry_after)
        return _html(TOO_MANY_HTML, 429, headers)

    def _next_fault(self, req: _Req) -> Fault | None:
        target = f"{req.path}?{req.query}" if req.query else req.path
        for pattern, queue in self._faults:
            if queue and pattern.search(target):
                return queue.popleft()
        return None

    def _apply_fault(self, fault: Fault, req: _Req) -> Response:
        kind = fault.kind
        if kind == "status":
            status = fault.status or 503
            return _html(fault.body or f"<html><body><h1>{status} Error</h1></body></html>", status)
        if kind == "html_200":
            return _html(fault.body or OUTAGE_HTML, fault.status or 200)
        if kind == "drop":
            return _Abort(self)
        inner = self._route(req)
        if kind == "reset":
            return _Abort(self, inner)
        if kind == "malformed_json":
            body = bytes(inner.body)
            if not body.lstrip().startswith((b"{", b"[")):
                body = b'{"archived_snapshots": {"closest": {"available": true, "url": "http'
            return Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")
        if kind == "succeed_but_report_error":
            status = fault.status or 523
            return _html(
                fault.body or f"<html><body><h1>{status} Origin Is Unreachable</h1>", status
            )
        return inner  # "delay"

    # ---- shared lookups

    def _blocked_kind(self, url: str) -> str | None:
        key = canonical_key(url)
        if any(key.startswith(canonical_key(p)) for p in self.blocked):
            return BLOCKED_ERROR
        if any(key.startswith(canonical_key(p)) for p in self.robots_blocked):
            return ROBOTS_ERROR
        return None

    def _visible(self, capture: Capture, *, replay: bool = False) -> bool:
        now = self.clock.now()
        gates = (capture.visible_at, capture.replay_visible_at if replay else None)
        return all(g is None or g <= now for g in gates)

    def _revisited(self, cap: Capture) -> Capture | None:
        """The capture a revisit record points at: the latest earlier non-revisit one with the
        same digest, of the same urlkey if there is one (None for a non-revisit)."""
        if not cap.revisit:
            return None
        earlier = [
            c
            for c in self.captures
            if not c.revisit and c.digest == cap.digest and c.timestamp <= cap.timestamp
        ]
        pool = [c for c in earlier if c.urlkey == cap.urlkey] or earlier
        return max(pool, key=lambda c: c.timestamp, default=None)

    def _closest(self, caps: list[Capture], target: datetime | None) -> Capture | None:
        """Nearest in time (earlier wins a tie); the latest when there is no target."""
        if not caps:
            return None
        if target is None:
            return max(caps, key=lambda c: c.timestamp)
        return min(caps, key=lambda c: (abs((c.at - target).total_seconds()), c.timestamp))

    # ---- availability (6.2)

    def _availability(self, req: _Req) -> Response:
        if req.method == "POST" and req.headers.get("wayback-api-version") == "2":
            return self._availability_v2(req)
        url = req.arg("url")
        if not url:
            return _json({"error": "url parameter is required"}, 400)
        ts = req.arg("timestamp")
        data: dict[str, Any] = {"url": url, "archived_snapshots": self._snapshot(url, ts)}
        if ts is not None:
            data["timestamp"] = ts
        if callback := req.arg("callback"):
            return Response(f"{callback}({json.dumps(data)})", media_type="application/javascript")
        return _json(data)

    def _availability_v2(self, req: _Req) -> Response:
        """InternetArchiveBot's undocumented batch form: one query string per body line."""
        results = []
        for line in req.body.decode("utf-8", "replace").splitlines():
            if not line.strip():
                continue
            item = parse_qsl(line.strip(), keep_blank_values=True)
            get = dict(item)
            statuses = frozenset(v for k, v in item if k == "statuscodes") or None
            url, ts = get.get("url", ""), get.get("timestamp")
            snap = self._snapshot(url, ts, get.get("closest", "either"), statuses)
            results.append(
                {"url": url, "timestamp": ts, "tag": get.get("tag", ""), "archived_snapshots": snap}
            )
        return _json({"results": results})

    def _snapshot(
        self,
        url: str,
        ts: str | None,
        closest: str = "either",
        statuses: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        if self._blocked_kind(url):
            return {}
        key, statuses = canonical_key(url), statuses or self.config.availability_statuses
        caps = [
            c
            for c in self.captures
            if c.urlkey == key
            and self._visible(c)
            and (statuses is None or c.statuscode in statuses)
        ]
        if caps and self.config.spurious_empty_rate > 0:
            caps = [] if self._rng.random() < self.config.spurious_empty_rate else caps
        target = _ts_near(ts)
        if target is not None and closest == "before":
            caps = [c for c in caps if c.at <= target]
        elif target is not None and closest == "after":
            caps = [c for c in caps if c.at >= target]
        best = self._closest(caps, target)
        if best is None:
            return {}
        return {
            "closest": {
                "status": (self._revisited(best) or best).statuscode,
                "available": True,
                "timestamp": best.timestamp,
                "url": f"http://web.archive.org/web/{best.timestamp}/{best.original}",
            }
        }

    # ---- CDX (6.3)

    def _cdx(self, req: _Req) -> Response:
        url = req.arg("url")
        if not url:
            return _text("Missing required parameter: url", 400)
        if req.arg("page") is not None and not self.config.pagination:
            return _text("Pagination is not supported for this query", 400)
        if req.arg("showNumPages") == "true":
            return _text("1\n")
        match_type = req.arg("matchType") or "exact"
        if url.endswith("*"):
            url, match_type = url[:-1], "prefix"
        if url.startswith("*."):
            url, match_type = url[2:], "domain"
        if error := self._blocked_kind(url):
            return _text(error, 403, {"X-Archive-Wayback-Runtime-Error": error})
        fields = (req.arg("fl") or ",".join(CDX_FIELDS)).split(",")
        if bad := [f for f in fields if f not in CDX_FIELDS]:
            return _text(f"Unknown field(s): {','.join(bad)}", 400)
        resolve = req.arg("resolveRevisits") == "true"

        def value(c: Capture, name: str) -> str:
            return c.cdx_value(name, resolve, self._revisited(c) if resolve else None)

        # short bounds are padded to the start / the end of the period they name (pywb)
        low_arg = re.sub(r"\D", "", req.arg("from") or "")[:14]
        high_arg = re.sub(r"\D", "", req.arg("to") or "")[:14]
        low = low_arg + "10000101000000"[len(low_arg) :]
        high = high_arg + "29991231235959"[len(high_arg) :]
        matches = self._url_matcher(url, match_type)
        rows = sorted(
            (
                c
                for c in self.captures
                if matches(c.urlkey) and low <= c.timestamp <= high and self._visible(c)
            ),
            key=lambda c: (c.urlkey, c.timestamp),
        )
        rows = [c for c in rows for _ in range(max(1, self.config.duplicate_rows))]
        for spec in req.all("filter"):
            m = re.fullmatch(r"([!~]*)(\w+):(.*)", spec, re.S)
            if not m or m[2] not in CDX_FIELDS:
                return _text(f"Bad filter: {spec}", 400)
            negate, substring, name, pattern = "!" in m[1], "~" in m[1], m[2], m[3]
            try:
                regex = re.compile(re.escape(pattern) if substring else pattern)
            except re.error:
                return _text(f"Bad filter regex: {spec}", 400)
            test = regex.search if substring else regex.fullmatch
            rows = [c for c in rows if bool(test(value(c, name))) != negate]
        sort = req.arg("sort")
        if sort == "reverse":
            rows.reverse()
        elif sort == "closest":
            target = _ts_near(req.arg("closest")) or self.clock.now()
            rows.sort(key=lambda c: (abs((c.at - target).total_seconds()), c.timestamp))
        for spec in req.all("collapse"):
            name, _, width = spec.partition(":")
            if name not in CDX_FIELDS:
                return _text(f"Bad collapse field: {spec}", 400)
            n = int(width) if width.isdigit() else None
            kept: list[Capture] = []
            for c in rows:
                if not kept or value(kept[-1], name)[:n] != value(c, name)[:n]:
                    kept.append(c)
            rows = kept
        if resume := req.arg("resumeKey"):
            after = tuple(re.split(r"[+ ](?=\d{14}$)", unquote(resume), maxsplit=1))
            rows = [c for c in rows if (c.urlkey, c.timestamp) > after]
        try:
            offset, limit = int(req.arg("offset") or 0), int(req.arg("limit") or 150000)
        except ValueError:
            return _text("offset and limit must be integers", 400)
        rows = rows[max(0, offset) :]
        limit = max(-150000, min(150000, limit))  # the server's per-query maximum
        more = limit >= 0 and len(rows) > limit
        rows = rows[:limit] if limit >= 0 else rows[limit:]
        key = None
        if more and rows and req.arg("showResumeKey") == "true":
            key = f"{quote(rows[-1].urlkey, safe='')}+{rows[-1].timestamp}"
        table = [[value(c, f) for f in fields] for c in rows]
        if req.arg("output") == "json":
            out: list[list[str]] = [fields, *table] if table else []
            if key:
                out += [[], [key]]
            body, media = json.dumps(out).encode(), "application/json"
        else:
            text = "".join(" ".join(r) + "\n" for r in table) + (f"\n{key}\n" if key else "")
            body, media = text.encode(), "text/plain;charset=UTF-8"
        headers = {"X-location": "cdx"}
        if "gzip" in req.headers.get("accept-encoding", "") and req.arg("gzip") != "false":
            body, headers["Content-Encoding"] = gzip.compress(body, mtime=0), "gzip"
        return Response(body, 200, headers, media_type=media)

    @staticmethod
    def _url_matcher(url: str, match_type: str) -> Callable[[str], bool]:
        key = canonical_key(url)
        host = key.split(")", 1)[0]
        if match_type == "prefix":
            if url.endswith("/") and not key.endswith("/"):  # surt drops it; a prefix keeps it
                key += "/"
            return lambda k: k.startswith(key)
        if match_type == "host":
            return lambda k: k.split(")", 1)[0] == host
        if match_type == "domain":
            return lambda k: k.startswith((host + ")", host + ","))
        return lambda k: k == key

    # ---- replay (6.4)

    def _replay(self, req: _Req) -> Response:
        """A memento, a 302 to the nearest one, or the calendar (``/web/<ts>*/<url>``).

        The URL is matched by urlkey (SURT), so it may lack a scheme or be percent-encoded
        differently from the capture; every ``Location`` names the capture's own ``original``.
        """
        rest = req.raw_path[len("/web/") :] + (f"?{req.query}" if req.query else "")
        if calendar := re.match(r"(\d{0,14})\*/(.*)$", rest, re.S):
            return self._calendar(calendar[2])
        m = re.match(r"(\d{1,14})([a-z]{2}_)?/(.+)$", rest, re.S)
        ts, mode, url = (m[1], m[2] or "", m[3]) if m else (None, "", rest)
        url = re.sub(r"^(https?:)/(?!/)", r"\1//", url)  # clients that squash "//"
        if not url:
            return _html(NOT_ARCHIVED_HTML, 404)
        if self._blocked_kind(url):
            return _html(EXCLUDED_HTML, self.config.blocked_replay_status)
        key = canonical_key(url)
        listed = sorted(
            (c for c in self.captures if c.urlkey == key and self._visible(c)),
            key=lambda c: c.timestamp,
        )
        caps = [c for c in listed if self._visible(c, replay=True)]
        if not caps:
            return _html(NOT_ARCHIVED_HTML, 404)
        exact = [c for c in caps if c.timestamp == ts]
        if exact:
            chosen = next((c for c in exact if c.original == url), exact[0])
            return self._memento(chosen, caps, mode, req.method)
        target = _ts_near(ts)
        best = self._closest(caps, target) or caps[-1]
        if self.config.replay_lag_redirect_to_previous:
            # the capture the index names, if replay has not caught up: the one before it
            named = next((c for c in listed if c.timestamp == ts), None)
            named = named or self._closest(listed, target) or best
            if named not in caps:
                before = [c for c in caps if c.timestamp < named.timestamp]
                best = before[-1] if before else best
        return Response(
            b"",
            302,
            {
                "Location": f"{WEB}/web/{best.timestamp}{mode}/{best.original}",
                "X-Archive-Redirect-Reason": f"found capture at {best.timestamp}",
            },
        )

    def _calendar(self, raw_url: str) -> Response:
        """``/web/<ts>*/<url>``: the calendar / URL search page, an HTML 200 with no
        ``Memento-Datetime`` whether or not anything is archived (its data loads by script)."""
        url = re.sub(r"^(https?:)/(?!/)", r"\1//", raw_url)
        if url and self._blocked_kind(url.rstrip("*")):
            return _html(EXCLUDED_HTML, self.config.blocked_replay_status)
        key = canonical_key(url.rstrip("*")) if url else ""
        stamps = sorted(c.timestamp for c in self.captures if c.urlkey == key and self._visible(c))
        saved = (
            f"Saved {len(stamps)} times between {stamps[0]} and {stamps[-1]}."
            if stamps
            else "The Wayback Machine has not archived that URL."
        )
        page = (
            "<html><head><title>Wayback Machine</title></head><body>"
            f'<div id="wb-calendar" data-url="{url}"><p>{saved}</p></div></body></html>'
        )
        return _html(page, 200)

    def _memento(self, cap: Capture, caps: list[Capture], mode: str, method: str) -> Response:
        """The archived response of ``cap`` (a revisit replays the capture it revisits)."""
        i = caps.index(cap)
        src = self._revisited(cap) or cap

        def memento(c: Capture, rel: str) -> str:
            date = _http_date(c.at)
            return f'<{WEB}/web/{c.timestamp}/{c.original}>; rel="{rel}"; datetime="{date}"'

        links = [
            f'<{cap.original}>; rel="original"',
            f'<{WEB}/web/timemap/link/{cap.original}>; rel="timemap"; '
            'type="application/link-format"',
            f'<{WEB}/web/{cap.original}>; rel="timegate"',
            memento(caps[0], "first memento"),
            *([memento(caps[i - 1], "prev memento")] if i > 0 else []),
            memento(cap, "memento"),
            *([memento(caps[i + 1], "next memento")] if i + 1 < len(caps) else []),
            memento(caps[-1], "last memento"),
        ]
        headers = {
            "Memento-Datetime": _http_date(cap.at),
            "Link": ", ".join(links),
            "X-Archive-Src": f"fake-{cap.timestamp}.warc.gz",
            "X-ts": src.statuscode,
        }
        headers.update({f"X-Archive-Orig-{k}": v for k, v in src.orig_headers.items()})
        status = int(src.statuscode) if src.statuscode.isdigit() else 200
        body = src.body
        redirect_to = cap.redirect_to or src.redirect_to
        if 300 <= status < 400 and redirect_to:
            target = f"{WEB}/web/{cap.timestamp}{mode}/{redirect_to}"
            if not mode:  # view mode shows a page instead of redirecting (EDGI)
                page = (
                    f"<html><body><p>Got an HTTP {status} response at crawl time</p>"
                    f'<p>Redirecting to...</p><a href="{target}">{redirect_to}</a>'
                    "</body></html>"
                )
                return _html(page, 200, headers)
            headers["Location"] = target
            body = b""
        elif not mode and src.mimetype == "text/html":
            body = (
                b"<!-- BEGIN WAYBACK TOOLBAR INSERT --><!-- END WAYBACK TOOLBAR INSERT -->" + body
            )
        return Response(b"" if method == "HEAD" else body, status, headers, media_type=src.mimetype)

    def _timemap(self, req: _Req) -> Response:
        url = req.raw_path.split("/", 4)[-1] + (f"?{req.query}" if req.query else "")
        key = canonical_key(url)
        caps = sorted(
            (c for c in self.captures if c.urlkey == key and self._visible(c)),
            key=lambda c: c.timestamp,
        )
        lines = [f'<{url}>; rel="original"', f'<{WEB}/web/{url}>; rel="timegate"']
        lines += [
            f'<{WEB}/web/{c.timestamp}/{c.original}>; rel="memento"; datetime="{_http_date(c.at)}"'
            for c in caps
        ]
        return Response(",\n".join(lines) + "\n", media_type="application/link-format")

    # ---- Save Page Now 2 (6.5)

    def _auth(self, req: _Req) -> tuple[str, Account] | None:
        header = req.headers.get("authorization", "")
        if m := re.fullmatch(r"\s*low\s+(\S+:\S+)\s*", header, re.I):
            account = self.config.accounts.get(m[1])
            return (m[1], account) if account else None
        user, sig = req.cookies.get("logged-in-user"), req.cookies.get("logged-in-sig")
        if user and sig:
            account = self.config.accounts.get(f"{user}:{sig}")
            return (f"{user}:{sig}", account) if account else None
        if not header and self.config.allow_anonymous:
            return f"anonymous@{req.client}", self.config.anonymous
        return None

    def _today(self, at: datetime) -> bool:
        return at.date() == self.clock.now().date()

    def _processing(self, account: str) -> int:
        return sum(1 for j in self._submissions if j.account == account and not j.done)

    def _daily(self, account: str, limits: Account | None = None) -> int:
        """Captures the account made today (jobs accepted), plus its ``used_today`` head start."""
        made = sum(
            1 for j in self._submissions if j.account == account and self._today(j.submitted_at)
        )
        if limits is not None and self.clock.now().date() == self._first_day:
            made += limits.used_today
        return made

    def _spn_submit(self, req: _Req) -> Response:
        auth = self._auth(req)
        if auth is None:
            return _html(LOGIN_HTML, 401)
        acct_key, account = auth
        form = req.form()
        url = (form.pop("url", None) or req.arg("url") or "").strip()
        if not url:
            return _html("<html><body>Missing url parameter.</body></html>", 400)
        window, delay = self._count(("spn_submit", acct_key)), 0
        if (over := len(window) - account.per_minute) > 0:
            if self.config.spn_rate_mode == "429":  # the doc: "SPN2 returns an error"
                return self._too_many(window[over] + 60 - self._t())
            # overcast07 saw delays instead: start when this request would have fitted
            delay = max(1, math.ceil(window[over - 1] + 60 - self._t()))
        if self._processing(acct_key) >= account.concurrent:
            return _spn_error(SESSION_LIMIT, "error:user-session-limit")
        # the daily user cap: no status_ext is known for this one
        if self._daily(acct_key, account) >= account.daily_limit:
            if acct_key.startswith("anonymous@"):
                return _spn_error(ANON_DAILY_LIMIT.format(n=account.daily_limit))
            return _spn_error(f"You cannot make more than {account.daily_limit:,} captures per day")
        if not _valid_url(url):
            return _spn_error(f"{url} URL syntax is not valid.", "error:invalid-url-syntax")
        key, today = canonical_key(url), ts_of(self.clock.now())[:8]
        done_today = sum(1 for c in self.captures if c.urlkey == key and c.timestamp[:8] == today)
        pending = sum(1 for j in self._submissions if j.key == key and not j.done and j.succeeds)
        if done_today + pending >= (n := self.config.per_url_daily):
            return _spn_error(URL_DAILY_LIMIT.format(n=n), "error:too-many-daily-captures")
        default_within = self.config.if_not_archived_within
        if recent := self._recent(
            key, _parse_within(form.get("if_not_archived_within"), default_within)
        ):
            job_id, at = recent
            minutes = int((self.clock.now() - at).total_seconds() // 60)
            message = (
                f"The same snapshot had been made {minutes} minutes ago. "
                "You can make new capture of this URL after 1 hour."
            )
            return _json({"url": url, "job_id": job_id, "message": message})
        job = self._new_job(acct_key, url, key, form, delay)
        if "application/json" not in req.headers.get("accept", ""):
            return _html(f'<html><body><script>spn.watchJob("{job.job_id}")</script></body></html>')
        data = {"url": url, "job_id": job.job_id}
        if delay:
            data["message"] = f"Your capture will begin in {delay}s."
        return _json(data)

    def _recent(self, key: str, within: float) -> tuple[str, datetime] | None:
        """The job (or capture) of ``key`` made within ``within`` seconds, latest first."""
        if within <= 0:
            return None
        now = self.clock.now()
        since = now - timedelta(seconds=within)
        found: list[tuple[datetime, str, Capture | None]] = [
            (j.start_at, j.job_id, None)
            for j in self._submissions
            if j.key == key and j.start_at >= since and (not j.done or j.capture is not None)
        ]
        found += [
            (c.at, c.job_id or _job_id(key, c.at), c)
            for c in self.captures
            if c.urlkey == key and since <= c.at <= now
        ]
        if not found:
            return None
        at, job_id, capture = max(found, key=lambda f: f[0])
        if capture is not None and job_id not in self.jobs:  # a seeded capture: give it a job
            job = Job(job_id, capture.original, key, at, at, at, done=True, capture=capture)
            self.jobs[job_id] = job
        return job_id, at

    def _new_job(
        self, account: str, url: str, key: str, options: dict[str, str], delay: int
    ) -> Job:
        now = self.clock.now()
        script = self._scripts.get(key)
        outcome = script.popleft() if script else SpnOutcome()
        start = now + timedelta(seconds=delay)
        duration = outcome.duration_s
        end = start + timedelta(
            seconds=self.config.capture_duration if duration is None else duration
        )
        job = Job(_job_id(key, now), url, key, now, start, end, account, options, outcome, [url])
        self.jobs[job.job_id] = job
        self._submissions.append(job)
        return job

    def _finish(self, job: Job) -> None:
        job.done = True
        if not job.succeeds:
            return
        o, ts = job.outcome, ts_of(job.start_at)
        lag = (
            self.config.delayed_availability_lag
            if _on(job.options, "delay_wb_availability")
            else self.config.index_lag
        )
        visible = job.complete_at + timedelta(seconds=lag)
        replay_visible = visible + timedelta(seconds=self.config.replay_lag)
        final = o.final_url or job.url
        final_key = canonical_key(final)
        job.first_archive = not any(
            c.urlkey == final_key and c.timestamp < ts for c in self.captures
        )
        common: dict[str, Any] = {
            "visible_at": visible,
            "replay_visible_at": replay_visible,
            "job_id": job.job_id,
        }
        job.capture = Capture(final, ts, str(o.http_status), o.mimetype, o.body, **common)
        if final_key != job.key:  # SPN2 also records the redirect it followed
            self.captures.append(Capture(job.url, ts, "302", body=b"", redirect_to=final, **common))
        self.captures.append(job.capture)

    def _status_body(self, job: Job) -> dict[str, Any]:
        if not job.done:
            return {"status": "pending", "job_id": job.job_id, "resources": job.pending_resources}
        o, opts, cap = job.outcome, job.options, job.capture
        if cap is None:
            code = (
                o.status_ext
                or _HTTP_ERRORS.get(o.http_status)
                or ("error:internal-server-error" if o.http_status >= 500 else "error:bad-request")
            )
            message = o.message or _ERROR_MESSAGES.get(
                code, "Save Page Now could not capture {url} (" + code + ")."
            ).format(url=job.url)
            return {
                "status": "error",
                "exception": o.exception or "",
                "status_ext": code,
                "job_id": job.job_id,
                "message": message,
                "resources": [],
            }
        outlinks: Any = list(o.outlinks)
        if _on(opts, "outlinks_availability"):
            latest = {
                u: [c.timestamp for c in self.captures_of(u) if self._visible(c)] for u in outlinks
            }
            outlinks = {u: {"timestamp": max(ts, default=None)} for u, ts in latest.items()}
        elif _on(opts, "capture_outlinks"):
            outlinks = {u: _job_id(canonical_key(u), job.start_at) for u in o.outlinks}
        resources = list(o.resources) or [cap.original]
        data: dict[str, Any] = {
            "status": "success",
            "job_id": job.job_id,
            "original_url": cap.original,
            "timestamp": cap.timestamp,
            "duration_sec": round((job.complete_at - job.start_at).total_seconds(), 3),
            "resources": resources,
            "outlinks": outlinks,
            # the archived status: a recent-capture reply reports the earlier capture (301, 403…)
            "http_status": int(cap.statuscode) if cap.statuscode.isdigit() else o.http_status,
            "counters": {"embeds": len(resources), "outlinks": len(o.outlinks)},
        }
        if not _on(opts, "skip_first_archive"):
            data["first_archive"] = job.first_archive
        if _on(opts, "capture_screenshot"):
            data["screenshot"] = f"http://web.archive.org/screenshot/{cap.original}"
        return data

    def _live_job(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or (
            job.done and self._t() - job.complete_at.timestamp() > self.config.job_retention
        ):
            return None
        return job

    def _spn_status(self, req: _Req) -> Response:
        missing = {"message": "job not found"}
        if req.method == "POST":
            form = req.form()
            if "job_ids" in form:
                jobs = [(i, self._live_job(i)) for i in form["job_ids"].split(",") if i]
                return _json(
                    [self._status_body(j) if j else {"job_id": i, **missing} for i, j in jobs]
                )
            if "job_id_outlinks" in form:
                return _json([])  # outlink jobs are not modelled
            job_id = form.get("job_id", "")
        else:
            job_id = req.path[len("/save/status/") :].strip("/")
        job = self._live_job(job_id)
        if job is None:
            return _json(missing, self.config.unknown_job_status)
        return _json(self._status_body(job))

    def _spn_user(self, req: _Req) -> Response:
        auth = self._auth(req)
        if auth is None:
            return _html(LOGIN_HTML, 401)
        key, account = auth
        processing = self._processing(key)
        return _json(
            {
                "available": max(0, account.concurrent - processing),
                "processing": processing,
                "daily_captures": self._daily(key, account),
                "daily_captures_limit": account.daily_limit,
            }
        )

    def _spn_system(self) -> Response:
        if self.config.system_status == "critical":
            return _html("<html><body><h1>502 Bad Gateway</h1></body></html>", 502)
        if self.config.system_status == "overloaded":
            return _json(
                {
                    "status": "Save Page Now servers are temporarily overloaded. "
                    "Your captures may be delayed."
                }
            )
        return _json({"status": "ok"})

    def _legacy_save(self, req: _Req) -> Response:
        """``GET /save/<url>``: dead in 2026 (429 or 404); ``legacy2020`` for old clients."""
        if self.config.legacy_save == "dead404":
            return _html("<html><body>Not Found</body></html>", 404)
        if self.config.legacy_save == "dead429":
            return self._too_many(60)
        url = req.raw_path[len("/save/") :] + (f"?{req.query}" if req.query else "")
        if error := self._blocked_kind(url):
            return _html(
                "<html><body>Error</body></html>", 403, {"X-Archive-Wayback-Runtime-Error": error}
            )
        now = self.clock.now()
        recent = [c for c in self.captures_of(url) if now - c.at <= timedelta(minutes=45)]
        cache = "HIT" if recent else "MISS"
        if recent:
            cap = recent[-1]
        else:
            visible = now + timedelta(seconds=self.config.index_lag)
            cap = self.add_capture(url, ts_of(now), visible_at=visible)
        mem, date = f"{WEB}/web/{cap.timestamp}/{url}", _http_date(cap.at)
        link = (
            f'<{url}>; rel="original", <{WEB}/web/timemap/link/{url}>; rel="timemap"; '
            f'type="application/link-format", <{WEB}/web/{url}>; rel="timegate", '
            f'<{mem}>; rel="memento"; datetime="{date}", '
            f'<{mem}>; rel="last memento"; datetime="{date}"'
        )
        return _html(
            "<html><body>Saved</body></html>",
            200,
            {
                "Content-Location": f"/web/{cap.timestamp}/{url}",
                "Link": link,
                "X-Page-Cache": cache,
            },
        )

    # ---- /__fake__/ control endpoints

    def _control(self, req: _Req) -> Response:
        name = req.path[len("/__fake__/") :].strip("/")
        if req.method == "GET" and name == "requests":
            return _json([r.to_json() for r in self.log])
        if req.method != "POST":
            return _json({"error": "use POST"}, 405)
        try:
            data = json.loads(req.body or b"{}")
            if name == "captures":
                for raw in data.get("captures", []):
                    item = dict(raw)
                    item["body"] = str(item.get("body", "")).encode()
                    if visible := item.pop("visible_at", None):
                        item["visible_at"] = dt_of(visible)
                    self.add_captures(Capture(**item))
                for prefix in data.get("blocked", []):
                    self.block(prefix)
                for prefix in data.get("robots_blocked", []):
                    self.block(prefix, robots=True)
                return _json({"captures": len(self.captures)})
            if name == "clock":
                return _json({"now": ts_of(self.advance(float(data.get("advance", 0))))})
            if name == "faults":
                self.add_fault(data["path_regex"], *(Fault(**r) for r in data["responses"]))
                return _json({"ok": True})
            if name == "spn":
                outcomes = [
                    SpnOutcome(**{**o, "body": str(o.get("body", "")).encode()})
                    for o in data["outcomes"]
                ]
                self.script_spn(data["url"], *outcomes)
                return _json({"ok": True})
            if name == "reset":
                self.reset()
                return _json({"ok": True})
        except (KeyError, TypeError, ValueError) as exc:
            return _json({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return _json({"error": f"unknown control {name!r}"}, 404)


# --------------------------------------------------------------------------- loopback server


@contextlib.contextmanager
def serve_fake_wayback(fake: FakeWayback, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``fake.app`` on a free loopback port from a background thread with its own event
    loop; yields ``http://127.0.0.1:PORT``. Needed for clients without an ASGI transport and
    for real read timeouts and dropped connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake.app,
        host=host,
        port=port,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"fake-wayback-{port}", daemon=True
    )
    fake._stopping.clear()
    fake._servers.append(server)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake Wayback server did not start")
            time.sleep(0.005)
        yield f"http://{host}:{port}"
    finally:
        fake._stopping.set()
        server.should_exit = True
        thread.join(10)
        fake._servers.remove(server)
        sock.close()
