"""Shared fixtures: event files written on the fly, and settings built from TOML text."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.corpus import corpus_missing
from verifier.config import Settings, load_settings

# The PostgreSQL server fixtures and the postgres marker (see tests/postgres_support.py), and
# the store tests' engines (tests/history_engines.py).
pytest_plugins = ["tests.postgres_support", "tests.history_engines"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.corpus`` tests need the real corpus: skip without it, fail in CI."""
    if item.get_closest_marker("corpus") is None:
        return
    missing = corpus_missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{missing}: CI must run the corpus tests", pytrace=False)
    pytest.skip(missing)


GOOD_EVENT = """\
---
id: 2021-02-03--example-event
date: '2021-02-03'
title: An example event
importance: 5
sources:
- url: https://www.justice.gov/opa/pr/example
  title: Press release
  publisher: Department of Justice
  date: '2021-02-03'
  tier: 1
- url: https://apnews.com/article/example
  title: Wire story
  publisher: Associated Press
  date: '2021-02-03'
  tier: 2
---
Body.
"""


@pytest.fixture
def write_event(tmp_path: Path) -> Callable[..., Path]:
    """Write an event file (text dedented) under ``tmp_path/events`` and return its path."""

    def write(name: str, text: str | bytes, folder: str = "events") -> Path:
        path = tmp_path / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def settings_from(tmp_path: Path) -> Callable[[str], Settings]:
    def build(toml: str) -> Settings:
        path = tmp_path / "config.toml"
        path.write_text(textwrap.dedent(toml), encoding="utf-8")
        return load_settings(path)

    return build


GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
    "PATH": os.environ["PATH"],
}


def git(repo: Path, *args: str) -> None:
    """Run git in ``repo`` with a fixed identity and no user configuration."""
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env={**GIT_ENV, "HOME": str(repo)},
    )
