"""Why a request produced no usable response: foreign errors translated to a ``Failure``, once."""

from __future__ import annotations

import ssl

import httpx

from verifier.errors import (
    DnsNotFoundError,
    DnsTemporaryError,
    FetchError,
    InvalidHostError,
    NetworkPolicyError,
)
from verifier.web.answers import Failure


def translate(exc: BaseException) -> FetchError:
    """Map httpx/httpcore/OS errors to the checker's failures, once, most specific first."""
    chain = _cause_chain(exc)
    for error in chain:
        if isinstance(error, NetworkPolicyError):
            return FetchError(Failure.POLICY, str(error))
        if isinstance(error, DnsNotFoundError):
            return FetchError(Failure.DNS_NOT_FOUND, str(error))
        if isinstance(error, DnsTemporaryError):
            return FetchError(Failure.DNS_TEMPORARY, str(error))
        if isinstance(error, ssl.SSLError | ssl.CertificateError):
            return FetchError(
                Failure.TLS, f"TLS failure: {getattr(error, 'reason', None) or error}"
            )
        if isinstance(error, ConnectionRefusedError):
            return FetchError(Failure.REFUSED, "connection refused")
        if isinstance(error, ConnectionResetError):
            return FetchError(Failure.RESET, "connection reset by peer")
        if isinstance(error, InvalidHostError):
            return FetchError(Failure.BAD_URL, str(error))
        if isinstance(error, UnicodeError) and not isinstance(error, UnicodeDecodeError):
            # The IDNA codec (resolver, TLS server name) refusing a host name: a fact about
            # the URL, not the network.
            return FetchError(Failure.BAD_URL, f"host name cannot be encoded: {error}")
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(Failure.TIMEOUT, f"timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "refused" in text.lower():
            return FetchError(Failure.REFUSED, "connection refused")
        if "ssl" in text.lower() or "certificate" in text.lower():
            return FetchError(Failure.TLS, f"TLS failure: {text}")
        return FetchError(Failure.CONNECT, f"cannot connect: {text or type(exc).__name__}")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return FetchError(Failure.RESET, f"connection lost: {exc or type(exc).__name__}")
    if isinstance(exc, httpx.RemoteProtocolError):
        text = str(exc)
        if "disconnected" in text.lower():
            return FetchError(Failure.RESET, "server closed the connection without answering")
        return FetchError(Failure.PROTOCOL, f"invalid HTTP answer: {text}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return FetchError(Failure.BAD_URL, str(exc))
    if isinstance(exc, httpx.HTTPError | OSError):
        return FetchError(Failure.CONNECT, f"{type(exc).__name__}: {exc}")
    raise exc


def _cause_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
