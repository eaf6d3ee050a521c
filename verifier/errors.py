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
    ├── NetworkPolicyError     a URL's target is refused by the network policy (never retried)
    ├── RunLockedError         another run holds the lock (exit code 3)      [verifier.lock]
    └── WaybackUnavailable / WaybackBlocked   the archive could not be asked  [verifier.wayback]

Foreign exceptions are translated once, where they enter (``raise … from exc``). The line
between exit 2 and 3 for paths: what only a change of ``config.toml`` (or of the tree it
names) can fix is configuration; a path of the right kind that the machine will not let us
write (permissions, a read-only mount, a full disk) is "could not run", as an outage is.
``verifier.preflight`` raises both before any request; ``verifier.report_writer`` raises
``CannotWriteError`` for a write that fails later. Ctrl-C ends a command with exit 130
(``run`` and ``schedule`` take SIGINT as a graceful stop instead).
"""

from __future__ import annotations

from pathlib import Path


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
