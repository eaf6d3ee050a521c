"""``--format json``: the DESIGN.md contract, ``schema_version`` 1."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from verifier.models import SCHEMA_VERSION, EventReport
from verifier.summary import Summary


def render_json(reports: Sequence[EventReport], summary: Summary) -> str:
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "events": [report.model_dump(mode="json") for report in reports],
        "summary": summary.model_dump(mode="json"),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
