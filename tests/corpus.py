"""Where the real corpus lives: ``$VERIFIER_CORPUS``, by default ``../shared/corpus`` beside
the repository. Tests that read it carry ``@pytest.mark.corpus``: without the corpus they skip
on a workstation and fail in CI (``CI`` set), so a CI run never passes without them."""

from __future__ import annotations

import os
from pathlib import Path

CORPUS_ROOT = Path(
    os.environ.get("VERIFIER_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus"
)
TIMELINE_EVENTS = CORPUS_ROOT / "kleptocracy-timeline" / "events"


def corpus_missing() -> str | None:
    """Why the corpus cannot be read, or None when it is there."""
    if TIMELINE_EVENTS.is_dir():
        return None
    return f"the real corpus is not at {TIMELINE_EVENTS} (set VERIFIER_CORPUS to its folder)"
