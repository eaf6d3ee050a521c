"""Pure URL helpers: normalisation (one check per URL), host names, validity.

All facts come from one cached parse, since the same URLs recur across events.

Validity means *sendable*: source URLs come from strangers, and a URL that httpx, the IDNA
codec or the Wayback client would raise on must be caught here, as that one source's
``url-valid`` violation, before any network layer sees it (``url_problem``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}

MAX_URL_OCTETS = 8192
"""Longest URL checked, in UTF-8 octets. RFC 9110 §4.1 asks for at least 8,000 octets to be
supported, and many servers answer 414 beyond that. Percent-encoded as the ``url`` parameter
of a Wayback CDX query, each octet takes at most 3 characters: 24 KiB, well under httpx's
64 KiB limit on a URL (beyond which it raises ``httpx.InvalidURL``)."""

MAX_HOST_OCTETS = 253
"""Longest host name, as dots and labels (RFC 1035 §2.3.4: 255 octets on the wire)."""

MAX_LABEL_OCTETS = 63
"""Longest label of a host name (RFC 1035 §2.3.4); the IDNA codec refuses longer or empty
labels with ``UnicodeError`` (Python's ``encodings.idna``), which ``getaddrinfo`` raises."""


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Whitespace, C0/C1 controls (Unicode category Cc) and lone surrogates (Cs, from JSON
``\\ud800``): httpx refuses the controls, and a space is never part of a sendable URL."""


_PLAIN = re.compile(r"https?://(?P<host>[a-z0-9_.-]+)(?::[0-9]{1,5})?(?:[/?#].*)?", re.I | re.S)
"""The everyday URL: an ASCII host name, perhaps a port, then anything. Once spaces, controls
and length are ruled out, httpx accepts such a URL without fail (it percent-encodes the rest)
and sends the host as written: ``test_hostile_urls`` checks the claim. Anything else is put
to httpx itself."""

_NEEDS_HTTPX_HOST = re.compile(r"^[0-9.]+$|(?:^|\.)xn--", re.IGNORECASE)
"""Hosts httpx validates further: IPv4-like (``999.1.1.1`` is refused), IDNA A-labels."""


class UrlFacts(NamedTuple):
    key: str
    """Scheme and host lower-cased, default port and fragment dropped, empty path made ``/``."""
    host: str
    """Lower-case host without a leading ``www.``, or ``""``."""
    problem: str | None
    """Why the URL cannot be checked (see ``url_problem``), or None."""

    @property
    def is_web(self) -> bool:
        return self.problem is None


@lru_cache(maxsize=65_536)
def url_facts(url: str) -> UrlFacts:
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        return UrlFacts(text, "", _text_problem(text) or f"malformed URL ({exc})")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    short_host = host[4:] if host.startswith("www.") else host
    if not scheme or not host:
        missing = _text_problem(text) or _scheme_problem(scheme) or "no host name"
        return UrlFacts(text, short_host, missing)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    key = urlunsplit(SplitResult(scheme, netloc, parts.path or "/", parts.query, ""))
    problem = _text_problem(text) or _scheme_problem(scheme) or _sendable_problem(text)
    return UrlFacts(key, short_host, problem)


def _text_problem(text: str) -> str | None:
    """Empty, a space or control character, or too long."""
    if not text:
        return "empty URL"
    bad = _SPACE_OR_CONTROL.search(text)
    if bad is not None:
        return f"contains a space or control character ({bad.group()!r} at {bad.start()})"
    if len(text) * 4 > MAX_URL_OCTETS and (size := len(text.encode("utf-8"))) > MAX_URL_OCTETS:
        return f"{size:,} octets long; at most {MAX_URL_OCTETS:,} are checked"
    return None


def _scheme_problem(scheme: str) -> str | None:
    return None if scheme in _DEFAULT_PORTS else "not an http(s) URL"


def _sendable_problem(text: str) -> str | None:
    """What httpx or the IDNA codec would refuse in an http(s) URL with a host."""
    plain = _PLAIN.fullmatch(text)
    if plain is not None and not _NEEDS_HTTPX_HOST.search(plain["host"]):
        return host_problem(plain["host"].lower())  # httpx takes this host as it is
    import httpx  # noqa: PLC0415 - lazily, as cli.py does: a tenth of a second offline

    try:
        parsed = httpx.URL(text)
        _ = parsed.host  # decodes ``xn--`` labels, which raises on a bad one
    except (httpx.InvalidURL, UnicodeError) as exc:  # idna.IDNAError is a UnicodeError
        return f"malformed URL ({exc})"
    return host_problem(parsed.raw_host.decode("ascii"))


def host_problem(host: str) -> str | None:
    """Why the (ASCII, IDNA-encoded) host name cannot be resolved, or None.

    IP literals pass (httpx validated them); a name needs 1..63 octets per label and at
    most 253 in all, a single trailing dot allowed (an absolute name).
    """
    if ":" in host:  # an IPv6 literal, unbracketed by httpx
        return None
    name = host.removesuffix(".")
    if not name:
        return "no host name"
    if len(name) > MAX_HOST_OCTETS:
        return f"host name is {len(name)} octets long; at most {MAX_HOST_OCTETS} allowed"
    for label in name.split("."):
        if not label:
            return f"host name {_shown(host)} has an empty label"
        if len(label) > MAX_LABEL_OCTETS:
            return (
                f"host name has a label of {len(label)} octets; at most {MAX_LABEL_OCTETS} allowed"
            )
    return None


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def shown_url(url: str, limit: int = 120) -> str:
    """``url`` quoted and cut for a message (a 64 KiB URL does not belong in a report)."""
    return _shown(url.strip(), limit)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be checked, or None if it can: an http(s) URL with a host name
    that httpx accepts, whose host the IDNA codec can encode and DNS can hold, free of
    spaces and control characters, and at most ``MAX_URL_OCTETS`` long."""
    return url_facts(url).problem


def normalize_url(url: str) -> str:
    """The key a URL is checked under (see ``UrlFacts.key``); path and query keep their case.

    Unparseable input is returned stripped, so that it is still a stable key.
    """
    return url_facts(url).key


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` without a leading ``www.``, or ``""``."""
    return url_facts(url).host


def request_host(url: str) -> str:
    """The lower-case host a request for ``url`` goes to, or ``""``: the unit of politeness
    and of the outage watch (``www.example.com`` and ``example.com`` may be two servers),
    where ``host_of`` names the site, for reports and the tier registry."""
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".")
    except ValueError:
        return ""


def domain_suffixes(host: str) -> list[str]:
    """``host`` and each domain above it, longest first (case and a final dot ignored):
    ``a.b.example`` → ``a.b.example``, ``b.example``, ``example``."""
    labels = host.lower().rstrip(".").split(".")
    return [".".join(labels[start:]) for start in range(len(labels))]


def under_domain(host: str, domain: str) -> bool:
    """``host`` is ``domain`` or one of its subdomains (case and final dots ignored)."""
    name = domain.lower().strip(".")
    return bool(name) and name in domain_suffixes(host)


def is_web_url(url: str) -> bool:
    """True for a URL that can be checked: see ``url_problem``."""
    return url_facts(url).is_web


def join_url(base: str, location: str) -> str | None:
    """``location`` (a redirect target) resolved against ``base``, or None if it cannot be
    parsed (``urljoin`` raises ``ValueError`` on, e.g., ``http://[::1/``)."""
    try:
        return urljoin(base, location.strip())
    except ValueError:
        return None
