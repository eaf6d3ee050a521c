"""The run's own log: JSON lines (one object per event) for the nightly job's log file."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger("verifier")


class JsonLinesFormatter(logging.Formatter):
    """``{"time", "level", "event", …fields}`` per line; fields come from ``extra={"fields":…}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_to_file(path: Path) -> logging.Handler:
    """Append the run's JSON lines to ``path``; returns the handler (remove it when done)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonLinesFormatter())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    return handler


def event(message: str, **fields: Any) -> None:
    LOGGER.info(message, extra={"fields": fields})
