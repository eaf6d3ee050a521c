"""Pure URL helpers: normalisation (one check per URL) and host names."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """The key a URL is checked under: scheme and host lower-cased, default port and fragment
    dropped, an empty path made ``/``. Path and query keep their case (servers may care).

    Unparseable input is returned stripped, so that it is still a stable key.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return text
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit(SplitResult(scheme, netloc, parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` without a leading ``www.``, or ``""``."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host name and a valid port."""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port
    except ValueError:
        return False
    return (
        parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname) and " " not in url.strip()
    )
