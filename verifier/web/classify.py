"""Pure decisions about HTTP outcomes: verdicts and bot-wall signs (soft-404 signs come
from ``verifier.web.soft404``, what is retried from ``verifier.web.retry``).

Nothing here awaits or touches the network; the checker gathers an ``Outcome`` and asks.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import assert_never

from verifier.models import Verdict
from verifier.web.answers import Failure, Outcome, Response
from verifier.web.soft404 import ProbeFacts, same_answer, soft404_sign

CONNECTION_LEVEL = frozenset(
    {Failure.DNS_NOT_FOUND, Failure.DNS_TEMPORARY, Failure.REFUSED, Failure.CONNECT}
)
"""Failures that say nothing about the page: with most hosts failing so, the network is down."""

_CHALLENGE_MARKERS = (
    b"just a moment...",
    b"cf-chl",
    b"challenge-platform",
    b"attention required! | cloudflare",
    b"captcha-delivery.com",  # DataDome
    b"px-captcha",  # PerimeterX / HUMAN
    b"incapsula incident",  # Imperva
    b"_incapsula_resource",
    b"checking your browser",
    b"ddos-guard",
)
_CHALLENGE_SCAN = 16_384
"""Bytes of the page's head in which a challenge marker counts."""
_WALL_HEADERS = (
    ("cf-mitigated", "Cloudflare challenge"),
    ("x-datadome", "DataDome bot protection"),
    ("x-amzn-waf-action", "AWS WAF challenge"),
    ("x-sucuri-block", "Sucuri firewall"),
)


def bot_wall(response: Response) -> str | None:
    """A sign that the server refuses automated clients, or None."""
    for header, name in _WALL_HEADERS:
        if header in response.headers:
            return name
    if response.status == 999:
        return "bot wall (HTTP 999, as LinkedIn answers crawlers)"
    # lowercased once, then plain substring scans (a case-blind regex is 16x slower)
    head = response.body[:_CHALLENGE_SCAN].lower()
    if any(marker in head for marker in _CHALLENGE_MARKERS):
        return "bot challenge page"
    server = response.headers.get("server", "").lower()
    if response.status in (403, 503) and ("cloudflare" in server or "akamai" in server):
        return f"{server} refused the request (HTTP {response.status})"
    return None


def classify(
    outcome: Outcome, sibling: ProbeFacts | None = None, accept: Collection[int] = ()
) -> tuple[Verdict, str]:
    """The verdict on a URL from its final outcome (after retries) and, for a 2xx page,
    the answer of a random sibling path on the same host; a status in ``accept`` (the
    user's ``[sources] accept``) is alive whatever else it says."""
    if outcome.failure is not None:
        return _classify_failure(outcome.failure, outcome.detail)
    response = outcome.response
    assert response is not None
    status = response.status
    if status in accept:
        return Verdict.ALIVE, f"HTTP {status} (accepted by [sources] accept)"
    wall = bot_wall(response)
    if wall is not None:
        return Verdict.BLOCKED, wall
    if 200 <= status < 300:
        sign = soft404_sign(outcome)
        if sign is not None:
            return Verdict.SOFT_DEAD, sign
        if sibling is not None and same_answer(response, sibling):
            return Verdict.SOFT_DEAD, (
                f"a random path on the same site answers the same way (HTTP {sibling.status})"
            )
        return Verdict.ALIVE, f"HTTP {status}"
    if status in (404, 410):
        return Verdict.DEAD, f"HTTP {status}"
    if status in (401, 403, 407, 429, 451, 999):
        return Verdict.BLOCKED, f"HTTP {status}: the server refuses automated clients"
    if status >= 500:
        return Verdict.UNREACHABLE, f"HTTP {status} through every retry"
    return Verdict.UNREACHABLE, f"HTTP {status}"


def _classify_failure(failure: Failure, detail: str) -> tuple[Verdict, str]:
    match failure:
        case Failure.DNS_NOT_FOUND:
            return Verdict.DEAD, detail or "host name does not resolve"
        case Failure.REDIRECT_LOOP | Failure.TOO_MANY_REDIRECTS:
            return Verdict.DEAD, detail
        case Failure.POLICY | Failure.BAD_URL:
            return Verdict.INVALID, detail
        case (
            Failure.DNS_TEMPORARY
            | Failure.REFUSED
            | Failure.CONNECT
            | Failure.TIMEOUT
            | Failure.RESET
            | Failure.TLS
            | Failure.PROTOCOL
        ):
            return Verdict.UNREACHABLE, detail or failure.value
        case _:
            assert_never(failure)
