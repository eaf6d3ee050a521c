"""The verifier's exceptions.

    VerifierError
    ├── ConfigError            config.toml unreadable or invalid (exit code 2)
    ├── UsageError             bad command-line input, e.g. an unknown git ref (exit code 2)
    ├── EventLoadError         an event file cannot be read or parsed; carries path and line
    │   └── EventLimitError    it is over a limit: size, nesting depth, values, integer digits
    ├── NetworkPolicyError     a URL's target is refused by the network policy (never retried)
    ├── RunLockedError         another run holds the lock (exit code 3)      [verifier.lock]
    └── WaybackUnavailable / WaybackBlocked   the archive could not be asked  [verifier.wayback]

Foreign exceptions are translated once, where they enter (``raise … from exc``).
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
