"""The verifier's exceptions.

    VerifierError
    ├── ConfigError            config.toml unreadable or invalid (exit code 2)
    │   └── PathKindError      a configured path is the wrong kind of thing: a file where a
    │                          folder is needed (or under it), a folder where the history
    │                          database goes, a file that is no SQLite database (exit code 2)
    ├── UsageError             bad command-line input, e.g. an unknown git ref (exit code 2)
    ├── CannotWriteError       the machine refuses a write the command must make: permission
    │                          denied, read-only or full disk (exit code 3: could not run)
    ├── EventLoadError         an event file cannot be read or parsed; carries path and line
    │   └── EventLimitError    it is over a limit: size, nesting depth, values, integer digits
    ├── RunLockedError         another run holds the lock (exit code 3)
    ├── NetworkPolicyError     a URL's target is refused by the network policy (never retried)
    ├── HostLookupError        a host name cannot be resolved (an OSError, as the network
    │   │                      stack expects of a connect)
    │   ├── DnsNotFoundError   NXDOMAIN: the host does not exist
    │   └── DnsTemporaryError  no resolver, SERVFAIL, a timeout: it can pass
    ├── InvalidHostError       a host name that cannot even be looked up (a ValueError)
    ├── RunStopping            the run is stopping: a request (web or Wayback) was not sent
    ├── FetchError             a web request produced no usable answer (a ``Failure``)
    └── ArchiveError           the Wayback Machine could not answer about a URL
        ├── WaybackUnavailable the archive could not be asked: network, 5xx, 429 throughout
        ├── WaybackBlocked     the URL is excluded from the archive
        │   └── WaybackBadUrl  no request about this URL can be built
        └── CdxFormatError     the CDX answer is not the JSON it should be (a ValueError)

Foreign exceptions are translated once, where they enter (``raise … from exc``). The line
between exit 2 and 3 for paths: what only a change of ``config.toml`` (or of the tree it
names) can fix is configuration; a path of the right kind that the machine will not let us
write (permissions, a read-only mount, a full disk) is "could not run", as an outage is.
``verifier.commands.preflight`` raises both before any request; ``verifier.reports.writer`` raises
``CannotWriteError`` for a write that fails later. Ctrl-C ends a command with exit 130
(``run`` and ``schedule`` take SIGINT as a graceful stop instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from verifier.web.answers import Failure


class VerifierError(Exception):
    """Base class of every error the verifier raises on purpose."""


class ConfigError(VerifierError):
    """The configuration file cannot be read or holds an invalid value."""


class UsageError(VerifierError):
    """The command line asks for something impossible."""


class EventLoadError(VerifierError):
    """An event file is unreadable, undecodable or not valid frontmatter, located by line."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = f"{self.path}" if self.path else "<event>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


class EventLimitError(EventLoadError):
    """An event file is refused for what loading it would cost (``[limits]``, ``MAX_DEPTH``…)."""


class NetworkPolicyError(VerifierError):
    """The network policy refuses a target (private address, bad scheme…); never retried."""


class PathKindError(ConfigError):
    """A configured path names the wrong kind of thing (a file where a folder is needed…)."""


class CannotWriteError(VerifierError):
    """A file or folder the command must write refuses it (permission, read-only, disk full)."""


class RunLockedError(VerifierError):
    """Another run holds the lock."""


class HostLookupError(VerifierError, OSError):
    """A host name cannot be resolved; an ``OSError``, as a connect's failures are."""


class DnsNotFoundError(HostLookupError):
    """The host name does not resolve (NXDOMAIN): the web says this host does not exist."""


class DnsTemporaryError(HostLookupError):
    """Name resolution failed for a reason that can pass (no resolver, SERVFAIL, timeout)."""


class InvalidHostError(VerifierError, ValueError):
    """The host name cannot be looked up at all (an empty or over-long label, say): the URL
    is malformed, which says nothing about the network."""


class RunStopping(VerifierError):
    """The run is stopping: a request was not sent (nothing is concluded about its URL)."""


class FetchError(VerifierError):
    """A request that produced no usable response, already translated to a ``Failure``."""

    def __init__(self, failure: Failure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail


class ArchiveError(VerifierError):
    """The Wayback Machine could not answer about a URL."""


class WaybackUnavailable(ArchiveError):
    """The archive could not be asked: network failure, 5xx or 429 through every retry."""


class WaybackBlocked(ArchiveError):
    """The URL is excluded from the Wayback Machine (blocked site or robots)."""


class WaybackBadUrl(WaybackBlocked):
    """No request about this URL can be built (malformed, or too long for a query): like an
    excluded URL, a fact about the one URL, never a sign that the archive is down."""


class CdxFormatError(ArchiveError, ValueError):
    """The CDX answer is not the JSON it should be (an HTML error page, truncated JSON…)."""
