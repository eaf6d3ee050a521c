"""Pure: parsing Wayback Machine answers and deciding what they mean.

See ``../shared/reference/wayback-api.md``: CDX values are all strings, ``[]`` means no rows,
rows repeat, revisits carry status ``-``; SPN2 reports errors as HTTP 200 with an open-ended
``status_ext``; a Wayback 429 has no ``Memento-Datetime``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from verifier.archive.wayback_links import timestamp_bounds
from verifier.errors import CdxFormatError

CDX_FIELDS = ("timestamp", "original", "statuscode", "mimetype", "digest")
TIMESTAMP = re.compile(r"\d{14}")

# SPN2 ``status_ext`` codes worth trying again later (InternetArchiveBot's list, APII.php;
# its ``user-session-limit`` is ``SPN_SESSION_LIMIT``, read apart: wait, then submit again);
# everything else means the URL cannot be archived now. The list upstream is open-ended.
RETRYABLE_SPN_ERRORS = frozenset(
    {
        "error:celery",
        "error:soft-time-limit-exceeded",
        "error:proxy-error",
        "error:browsing-timeout",
        "error:no-browsers-available",
        "error:redis-error",
        "error:capture-location-error",
        "error:too-many-requests",
        "error:service-unavailable",
        "error:gateway-timeout",
        "error:bad-gateway",
        "error:internal-server-error",
        "error:job-failed",
    }
)
SPN_SESSION_LIMIT = "error:user-session-limit"
SPN_URL_DAILY_CAP = "error:too-many-daily-captures"
SPN_DAILY_CAP = re.compile(r"daily.*limit|captures per day|more than [\d,]+ captures", re.I)
SPN_SAME_SNAPSHOT = re.compile(r"same snapshot had been made", re.I)
SPN_URL_CAPTURED_TODAY = re.compile(r"already captured \d+ times today", re.I)


@dataclass(frozen=True, slots=True)
class Capture:
    """One CDX row."""

    timestamp: str
    original: str
    status: int | None  # None for revisits ("-")
    mimetype: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def when(self) -> dt.datetime:
        return timestamp_datetime(self.timestamp)

    def replay_url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.timestamp}/{self.original}"


def parse_cdx_json(text: str) -> list[Capture]:
    """Rows of a CDX ``output=json`` answer, de-duplicated, header row dropped."""
    try:
        data: Any = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        raise CdxFormatError(f"CDX answered something that is not JSON: {text[:80]!r}") from exc
    if not isinstance(data, list):
        raise CdxFormatError("CDX JSON is not a list")
    if not data:
        return []
    header = data[0]
    if not isinstance(header, list) or not all(isinstance(name, str) for name in header):
        raise CdxFormatError("CDX JSON has no header row")
    index = {name: position for position, name in enumerate(header)}
    if "timestamp" not in index or "original" not in index:
        raise CdxFormatError("CDX JSON lacks timestamp/original fields")
    captures: dict[tuple[str, str], Capture] = {}
    for row in data[1:]:
        if not isinstance(row, list) or len(row) != len(header):
            continue  # the resume-key trailer ([], ["key"]) or garbage
        if (
            not TIMESTAMP.fullmatch(str(row[index["timestamp"]]))
            or timestamp_bounds(str(row[index["timestamp"]])) is None
        ):
            continue  # no time: no capture anyone can replay or compare
        status_text = row[index["statuscode"]] if "statuscode" in index else "-"
        capture = Capture(
            timestamp=str(row[index["timestamp"]]),
            original=str(row[index["original"]]),
            status=int(status_text) if str(status_text).isdigit() else None,
            mimetype=str(row[index["mimetype"]]) if "mimetype" in index else "",
        )
        captures.setdefault((capture.timestamp, capture.original), capture)
    return list(captures.values())


def timestamp_of(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def timestamp_datetime(timestamp: str) -> dt.datetime:
    """The start of the period a 1–14-digit timestamp names (ValueError if it names none)."""
    bounds = timestamp_bounds(timestamp)
    if bounds is None:
        raise ValueError(f"not a Wayback timestamp: {timestamp!r}")
    return bounds[0]


def looks_fabricated(timestamp: str) -> bool:
    """Cheap suspicion, used only to put a link first in the verification queue."""
    return (
        not TIMESTAMP.fullmatch(timestamp)
        or timestamp.endswith("000000")
        or timestamp_datetime(timestamp) > dt.datetime.now(dt.UTC)
    )


class SpnKind(StrEnum):
    """What an SPN2 submit or status reply means (the values are the names used in notices
    and counts)."""

    JOB = "job"
    """A new capture job."""
    RECENT = "recent"
    """No new capture: the job of the same snapshot made minutes ago, whose status names that
    capture."""
    SUCCESS = "success"
    """The capture job ended with a capture."""
    PENDING = "pending"
    """The capture job is still running."""
    SESSION_LIMIT = "session-limit"
    """Every capture session of the account is busy: submit again later."""
    TRANSIENT = "transient"
    """The capture failed for a passing reason: submit again later."""
    RETRY = "retry"
    """The request itself failed (an HTTP error, no JSON)."""
    URL_DAILY_CAP = "url-daily-cap"
    """This URL was captured as often as allowed today: what the archive holds stands."""
    DAILY_CAP = "daily-cap"
    """The account's daily cap."""
    FAILED = "failed"
    """The URL cannot be captured now."""
    UNKNOWN = "unknown"
    """No answer: it may have been captured."""


@dataclass(frozen=True, slots=True)
class SpnAnswer:
    """The meaning of an SPN2 submit or status reply (``kind``: see ``SpnKind``)."""

    kind: SpnKind
    job_id: str | None = None
    timestamp: str | None = None
    original_url: str | None = None
    message: str = ""
    http_status: int | None = None
    """For a success: the status the archived page answered (a 301 or 403 is no good capture)."""


@dataclass(frozen=True, slots=True)
class UserStatus:
    """``/save/status/user``: capture sessions free and captures left today."""

    available: int
    processing: int
    daily_captures: int | None
    daily_limit: int | None

    @property
    def captures_left(self) -> int | None:
        if self.daily_captures is None or self.daily_limit is None:
            return None
        return max(0, self.daily_limit - self.daily_captures)


def read_user_status(payload: Any) -> UserStatus | None:
    """The user-status reply, or None if it is not one (fields are integers, some optional)."""
    if not isinstance(payload, dict):
        return None

    def number(name: str) -> int | None:
        value = payload.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    available, processing = number("available"), number("processing")
    if available is None:
        return None
    return UserStatus(
        available, processing or 0, number("daily_captures"), number("daily_captures_limit")
    )


def read_spn_reply(payload: Any) -> SpnAnswer:
    """Interpret a submit or status JSON body (both answer HTTP 200 even for errors)."""
    if not isinstance(payload, dict):
        return SpnAnswer(SpnKind.RETRY, message="unexpected SPN2 answer")
    status = payload.get("status")
    message = str(payload.get("message") or "")
    job_id = payload.get("job_id")
    if status == "success":
        http_status = payload.get("http_status")
        return SpnAnswer(
            SpnKind.SUCCESS,
            str(job_id),
            str(payload.get("timestamp") or ""),
            str(payload.get("original_url") or ""),
            message,
            http_status if isinstance(http_status, int) else None,
        )
    if status == "pending":
        return SpnAnswer(SpnKind.PENDING, str(job_id) if job_id else None, message=message)
    if status == "error":
        code = str(payload.get("status_ext") or "")
        if code == SPN_URL_DAILY_CAP or SPN_URL_CAPTURED_TODAY.search(message):
            return SpnAnswer(SpnKind.URL_DAILY_CAP, message=message)
        if not code and SPN_DAILY_CAP.search(message):
            return SpnAnswer(SpnKind.DAILY_CAP, message=message)
        if code == SPN_SESSION_LIMIT:
            return SpnAnswer(SpnKind.SESSION_LIMIT, message=message)
        if code in RETRYABLE_SPN_ERRORS:
            return SpnAnswer(
                SpnKind.TRANSIENT, str(job_id) if job_id else None, message=f"{code} {message}"
            )
        return SpnAnswer(
            SpnKind.FAILED,
            str(job_id) if job_id else None,
            message=f"{code or 'error'}: {message}".strip(),
        )
    if job_id:
        kind = SpnKind.RECENT if SPN_SAME_SNAPSHOT.search(message) else SpnKind.JOB
        return SpnAnswer(kind, str(job_id), message=message)
    return SpnAnswer(SpnKind.RETRY, message=message or "SPN2 answer without job_id or status")
