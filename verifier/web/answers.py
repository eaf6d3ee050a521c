"""What one request, or one attempt at a URL, produced: plain values the decisions read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Failure(StrEnum):
    """Why a request produced no HTTP response (or no usable one)."""

    DNS_NOT_FOUND = "dns-not-found"
    DNS_TEMPORARY = "dns-temporary"
    REFUSED = "connection-refused"
    CONNECT = "connect-error"
    TIMEOUT = "timeout"
    RESET = "connection-reset"
    TLS = "tls-error"
    PROTOCOL = "protocol-error"
    POLICY = "refused-by-policy"
    BAD_URL = "bad-url"
    REDIRECT_LOOP = "redirect-loop"
    TOO_MANY_REDIRECTS = "too-many-redirects"


@dataclass(frozen=True, slots=True)
class Response:
    """The essentials of one HTTP response; ``body`` is the decoded first bytes (GET only)."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt at a URL: the redirect chain followed to a final response, or a failure."""

    url: str
    response: Response | None = None
    failure: Failure | None = None
    detail: str = ""
    chain: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None
