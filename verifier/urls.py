"""Pure URL helpers: normalisation (one check per URL), host names, validity.

All three facts come from one cached parse, since the same URLs recur across events.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UrlFacts(NamedTuple):
    key: str
    """Scheme and host lower-cased, default port and fragment dropped, empty path made ``/``."""
    host: str
    """Lower-case host without a leading ``www.``, or ``""``."""
    is_web: bool
    """An absolute http(s) URL with a host name and a valid port."""


@lru_cache(maxsize=65_536)
def url_facts(url: str) -> UrlFacts:
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return UrlFacts(text, "", False)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    short_host = host[4:] if host.startswith("www.") else host
    if not scheme or not host:
        return UrlFacts(text, short_host, False)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    key = urlunsplit(SplitResult(scheme, netloc, parts.path or "/", parts.query, ""))
    is_web = scheme in _DEFAULT_PORTS and " " not in text
    return UrlFacts(key, short_host, is_web)


def normalize_url(url: str) -> str:
    """The key a URL is checked under (see ``UrlFacts.key``); path and query keep their case.

    Unparseable input is returned stripped, so that it is still a stable key.
    """
    return url_facts(url).key


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` without a leading ``www.``, or ``""``."""
    return url_facts(url).host


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host name and a valid port."""
    return url_facts(url).is_web
