"""I/O: an async Wayback Machine client on httpx — CDX lookups and Save Page Now 2.

Not waybackpy: its last release is 3.0.6 (2022), it has no SPN2 (no authenticated POST, no
job polling), sets no timeouts, sleeps ~5 s per availability call (blocking), and installs a
top-level ``tests`` package. See ``../shared/reference/wayback-api.md``.

Respect for the service is built in: each endpoint family has its own pacer (evenly spaced
requests, never a burst above the budget), a 429 (recognised by having no
``Memento-Datetime``) cools the whole family down for ``Retry-After`` or the configured time,
captures share a cap on concurrent sessions, and keys come from environment variables and
are never logged or shown.

Its endpoints come from ``config.toml``, which a pull request can change, so without an
injected transport every request goes through the checker's network policy
(``verifier.web.transport.policy_transport``): an endpoint on a loopback, private or
metadata address is refused as a source URL would be (``WaybackUnavailable``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import httpx

from verifier.archive.capture_choice import ReplayAnswer, read_replay
from verifier.archive.wayback_data import (
    Capture,
    SpnAnswer,
    SpnKind,
    UserStatus,
    parse_cdx_json,
    read_spn_reply,
    read_user_status,
    timestamp_of,
)
from verifier.archive.wayback_links import capture_key, same_capture_target
from verifier.config import SecuritySettings, Settings, WaybackSettings
from verifier.errors import (
    CdxFormatError,
    HostLookupError,
    InvalidHostError,
    NetworkPolicyError,
    RunStopping,
    WaybackBadUrl,
    WaybackBlocked,
    WaybackUnavailable,
)
from verifier.urls import shown_url
from verifier.web.bodies import content_codings, decode_bounded
from verifier.web.body_reader import read_head_of_body
from verifier.web.netpolicy import NetworkPolicy, Resolver
from verifier.web.pacing import BookedPacer, Pacer, Schedule
from verifier.web.retry import archive_cool_down, archive_rate_limited, archive_retrying
from verifier.web.transport import policy_transport


def _account_name(access_key: str | None) -> str:
    """The account a shared schedule is kept for, named without its key."""
    if not access_key:
        return "anonymous"
    return "key-" + hashlib.sha256(access_key.encode()).hexdigest()[:16]


def _endpoint(request: httpx.Request) -> str:
    """The endpoint a request goes to, as a message shows it: without the query (the URL
    being asked about, which has its own place in the message)."""
    return shown_url(str(request.url.copy_with(query=None)))


class _Keys:
    """S3-style keys; ``repr`` never shows them."""

    def __init__(self, access: str, secret: str) -> None:
        self.header = f"LOW {access}:{secret}"

    def __repr__(self) -> str:
        return "_Keys(<hidden>)"


class WaybackClient:
    """Async client for the CDX and SPN2 endpoints named in ``WaybackSettings``.

    Without ``transport``, requests go through the network policy of ``security`` (the
    run's ``settings.security``; by default private networks are refused), resolved by
    ``resolver``. An injected transport (a test's ``ASGITransport``) is used as it is.
    With ``schedule`` each family's budget is shared with every process using it (the
    account's, not this process's: ``verifier.history.wayback_pace``).
    """

    def __init__(
        self,
        settings: WaybackSettings,
        user_agent: str,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        stop: asyncio.Event | None = None,
        *,
        security: SecuritySettings | None = None,
        resolver: Resolver | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        self._settings = settings
        if transport is None:
            transport = policy_transport(
                NetworkPolicy.from_settings(security or SecuritySettings()),
                resolver or Resolver(timeout=settings.timeout),
            )
        self._stop = stop
        env = os.environ if environ is None else environ
        access, secret = env.get(settings.access_key_env), env.get(settings.secret_key_env)
        self._keys = _Keys(access, secret) if access and secret else None
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=settings.timeout,
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )
        budgets = {
            "cdx": settings.cdx_per_window,
            "save": settings.save_per_window,
            "status": settings.status_per_window,
            "replay": settings.replay_per_window,
        }
        window = settings.rate_window
        account = _account_name(access if self._keys else None)
        self._pacers: dict[str, Pacer | BookedPacer] = {
            family: Pacer(count, window)
            if schedule is None
            else BookedPacer(schedule, f"{account}/{family}", count, window)
            for family, count in budgets.items()
        }
        self.sessions = asyncio.Semaphore(settings.max_sessions)
        self.counts: Counter[str] = Counter()

    @property
    def can_save(self) -> bool:
        return self._keys is not None

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- transport -------------------------------------------------------------------------

    async def _request(
        self,
        family: str,
        method: str,
        url: str,
        *,
        retry: bool = True,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request of ``family``, paced, retried on 429/5xx/network errors. With
        ``stream`` the body is left unread (the caller closes the response)."""
        pacer = self._pacers[family]
        try:
            request = self._client.build_request(method, url, **kwargs)
        except (httpx.InvalidURL, UnicodeError) as exc:  # idna.IDNAError is a UnicodeError
            raise WaybackBadUrl(f"no {family} request can carry this URL: {exc}") from exc

        async def attempt() -> httpx.Response:
            """One paced send; the archive's own 429 cools the whole family down."""
            await pacer.turn()
            if self._stop is not None and self._stop.is_set():
                raise RunStopping(f"{family} request not sent: the run is stopping")
            self.counts[family] += 1
            try:
                response = await self._client.send(request, stream=stream)
            except NetworkPolicyError as exc:  # a fact about the configuration: not retried
                raise WaybackUnavailable(
                    f"the {family} endpoint {_endpoint(request)} is refused by the network "
                    f"policy: {exc} (see [security] in config.toml)"
                ) from exc
            except InvalidHostError as exc:
                raise WaybackUnavailable(
                    f"the {family} endpoint {_endpoint(request)} cannot be asked: {exc}"
                ) from exc
            except HostLookupError as exc:  # as httpx's own transport says it: retried
                raise httpx.ConnectError(str(exc), request=request) from exc
            if stream and (response.status_code >= 500 or response.status_code == 429):
                await response.aclose()
            if archive_rate_limited(response):
                self.counts[f"{family}-429"] += 1
                now = dt.datetime.now(dt.UTC)
                pacer.cool_down(
                    archive_cool_down(response.headers, self._settings.cooldown_after_429, now)
                )
            return response

        attempts = self._settings.attempts if retry else 1
        retrying = archive_retrying(
            attempts, pacer.interval, f"{family} {url}", sleep=asyncio.sleep
        )
        answer: httpx.Response = await retrying(attempt)
        return answer

    # -- CDX -------------------------------------------------------------------------------

    async def cdx(self, url: str, **params: str) -> list[Capture]:
        """Captures of ``url`` as the index matches it (SURT: scheme, ``www.``, case and a
        trailing slash ignored); rows of other URLs and repeated rows dropped; revisit rows
        resolved to the status of the capture they repeat."""
        if capture_key(url) is None:  # no row could ever match it: do not spend the budget
            raise WaybackBadUrl(f"{shown_url(url)} is not a URL the archive index can match")
        query = {
            "url": url,
            "output": "json",
            "fl": "timestamp,original,statuscode,mimetype",
            "resolveRevisits": "true",
            **params,
        }
        response = await self._request("cdx", "GET", self._settings.cdx_url, params=query)
        if response.status_code == 403:
            raise WaybackBlocked(f"{url} is excluded from the Wayback Machine")
        if response.status_code == 400:  # about this query, not a sign the archive is down
            raise WaybackBadUrl(f"CDX refused the query for {shown_url(url)} (HTTP 400)")
        if response.status_code != 200:
            raise WaybackUnavailable(f"CDX answered HTTP {response.status_code} for {url}")
        try:
            rows = parse_cdx_json(response.text)
        except CdxFormatError as exc:
            raise WaybackUnavailable(str(exc)) from exc
        return [row for row in rows if same_capture_target(row.original, url)]

    async def closest(
        self, url: str, moment: dt.datetime, *, good_only: bool = False, limit: int = 10
    ) -> list[Capture]:
        """The ``limit`` captures nearest to ``moment`` in time (any status, or 2xx only),
        nearest first."""
        params = {"sort": "closest", "closest": timestamp_of(moment), "limit": str(limit)}
        if good_only:
            params["filter"] = "statuscode:2.."
        rows = await self.cdx(url, **params)
        return sorted(rows, key=lambda row: (abs(row.when - moment), row.timestamp))

    async def last_good(self, url: str, before: str | None = None) -> Capture | None:
        """The latest 2xx capture, optionally at or before ``before``."""
        params = {"filter": "statuscode:2..", "limit": "-1"}
        if before is not None:
            params["to"] = before
        rows = await self.cdx(url, **params)
        return max((row for row in rows if row.ok), key=lambda r: r.timestamp, default=None)

    async def first_good_after(self, url: str, after: str) -> Capture | None:
        """The first 2xx capture after ``after``."""
        rows = await self.cdx(url, **{"from": after, "filter": "statuscode:2..", "limit": "1"})
        return min((row for row in rows if row.ok), key=lambda r: r.timestamp, default=None)

    async def replay(self, timestamp: str, url: str) -> ReplayAnswer:
        """What replaying ``/web/<timestamp>id_/<url>`` answers: redirects not followed,
        the body not read (``Memento-Datetime`` and ``Location`` say what it is)."""
        base = (self._settings.replay_request_url or self._settings.replay_url).rstrip("/")
        response = await self._request("replay", "GET", f"{base}/{timestamp}id_/{url}", stream=True)
        await response.aclose()
        return read_replay(response.status_code, response.headers)

    async def replay_head(self, timestamp: str, url: str, keep: int) -> tuple[ReplayAnswer, bytes]:
        """The capture's answer and its first ``keep`` decoded bytes (``id_``: the page as
        archived, without the Wayback toolbar). Redirects are not followed: an archived
        redirect's answer is a memento with a ``Location``, the caller decides."""
        base = (self._settings.replay_request_url or self._settings.replay_url).rstrip("/")
        response = await self._request("replay", "GET", f"{base}/{timestamp}id_/{url}", stream=True)
        try:
            raw = await read_head_of_body(response, keep, 0)
        except httpx.HTTPError as exc:
            raise WaybackUnavailable(f"replay of {shown_url(url)} broke off: {exc!r}") from exc
        finally:
            await response.aclose()
        body = decode_bounded(raw, content_codings(response.headers.get("content-encoding")), keep)
        return read_replay(response.status_code, response.headers, body), body

    # -- Save Page Now 2 --------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        if self._keys is None:
            raise WaybackUnavailable("no Wayback keys configured")
        return {"Authorization": self._keys.header}

    async def user_status(self) -> UserStatus | None:
        """``/save/status/user``: sessions free and captures left today (None: not told)."""
        response = await self._request(
            "status",
            "GET",
            f"{self._settings.status_url}/user",
            params={"_t": str(time.time_ns())},
            headers=self._auth(),
        )
        if response.status_code == 401:
            raise WaybackUnavailable("Save Page Now refused the keys (HTTP 401)")
        if response.status_code != 200:
            return None
        try:
            return read_user_status(response.json())
        except ValueError:
            return None

    async def submit(self, url: str, if_not_archived_within_days: int) -> SpnAnswer:
        """POST a capture request. Not retried blindly: a 5xx or timeout may hide a capture
        that did happen (wayback#297), so the caller checks CDX on a later run."""
        data = {"url": url, "skip_first_archive": "1"}
        if if_not_archived_within_days:
            data["if_not_archived_within"] = f"{if_not_archived_within_days}d"
        try:
            response = await self._request(
                "save",
                "POST",
                self._settings.save_url,
                retry=False,
                data=data,
                headers=self._auth(),
            )
        except WaybackUnavailable as exc:
            return SpnAnswer(SpnKind.UNKNOWN, message=str(exc))
        if response.status_code == 401:
            raise WaybackUnavailable("Save Page Now refused the keys (HTTP 401)")
        if response.status_code != 200:
            return SpnAnswer(
                SpnKind.RETRY, message=f"Save Page Now answered HTTP {response.status_code}"
            )
        try:
            return read_spn_reply(response.json())
        except ValueError:
            return SpnAnswer(
                SpnKind.RETRY, message="Save Page Now answered with something not JSON"
            )

    async def job_status(self, job_id: str) -> SpnAnswer:
        """A capture job's state; asked with the keys (the documented way), when there are."""
        headers = {} if self._keys is None else {"Authorization": self._keys.header}
        response = await self._request(
            "status", "GET", f"{self._settings.status_url}/{job_id}", headers=headers
        )
        if response.status_code == 404:
            return SpnAnswer(SpnKind.FAILED, job_id, message="job not found (expired?)")
        if response.status_code != 200:
            return SpnAnswer(
                SpnKind.RETRY, job_id, message=f"status answered HTTP {response.status_code}"
            )
        try:
            return read_spn_reply(response.json())
        except ValueError:
            return SpnAnswer(SpnKind.RETRY, job_id, message="status answer is not JSON")


def wayback_client(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    stop: asyncio.Event | None = None,
    schedule: Schedule | None = None,
) -> WaybackClient:
    """The run's Wayback client, as every stage builds it: the configured endpoints and user
    agent, under the run's network policy, stopping with the run, its budgets kept on
    ``schedule`` when shared with other processes."""
    return WaybackClient(
        settings.wayback,
        settings.http.user_agent,
        transport,
        stop=stop,
        security=settings.security,
        schedule=schedule,
    )
