"""The pre-commit hook (.pre-commit-hooks.yaml) for real, in a timeline repository:
``pre-commit try-repo``, and ``pre-commit run`` with a user's .pre-commit-config.yaml. Both
build the hook's own virtual environment with ``pip install`` of this repository.

They are pointed at a snapshot of the working tree committed in a scratch repository
(tracked and untracked files, less what .gitignore ignores): ``try-repo /work/main`` itself
builds from HEAD plus the changes to tracked files only (``git add -u``), without new files
not yet added. Building the environment needs verifier's dependencies from the package index
(10–60 s; try-repo builds it in a store of its own each time, ``pre-commit run`` once per
session here); without an index these tests skip, and fail in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import git

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "events"
GOOD = "2020-01-18--nyt-reveals-clearview-ai-facial-recognition-scraping.md"
GOOD_TOO = "2020-05-28--aclu-sues-clearview-ai-under-illinois-biometric-law"  # as JSON
FAILING = "2023-06-01--clearview-ai-blog-claims-unverified.md"
GOOD_PATH = f"events/{GOOD}"
GOOD_JSON_PATH = f"events/{GOOD_TOO}.json"
FAILING_PATH = f"events/{FAILING}"
ELSEWHERE_PATH = f"content/events/{FAILING}"  # an events folder the default pattern misses
NOT_EVENTS = ["package.json", "docs/README.md", "docs/about.md", "events/README.md"]
HOOK_NAME = "verifier (tier rules, offline)"

Run = Callable[..., subprocess.CompletedProcess[str]]


def snapshot(into: Path) -> Path:
    """The working tree as a commit would have it, in a repository of its own."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    git(into, "init", "-q")
    git(into, "add", "-A")
    git(into, "commit", "-qm", "snapshot")
    return into


def timeline(into: Path) -> Path:
    """A timeline repository: two passing events (Markdown, JSON) and one failing event,
    the failing one again in another folder, and files the hook must leave alone: a
    package.json, Markdown docs with front matter, the events folder's README."""
    events = into / "events"
    events.mkdir(parents=True)
    shutil.copy(EXAMPLES / GOOD, events / GOOD)
    shutil.copy(EXAMPLES / FAILING, events / FAILING)
    front = yaml.safe_load((EXAMPLES / f"{GOOD_TOO}.md").read_text().split("---")[1])
    (events / f"{GOOD_TOO}.json").write_text(json.dumps(front, indent=2, default=str))
    shutil.copy(EXAMPLES / "README.md", events / "README.md")
    (into / "content" / "events").mkdir(parents=True)
    shutil.copy(EXAMPLES / FAILING, into / ELSEWHERE_PATH)
    (into / "package.json").write_text('{"name": "timeline", "private": true}\n')
    (into / "docs").mkdir()
    page = "---\ntitle: {}\nlayout: page\n---\nHow to add an event.\n"
    (into / "docs" / "README.md").write_text(page.format("Docs"))
    (into / "docs" / "about.md").write_text(page.format("About"))
    git(into, "init", "-q")
    git(into, "add", "-A")
    git(into, "commit", "-qm", "timeline")
    return into


def head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("precommit")
    return snapshot(root / "verifier"), timeline(root / "timeline"), root / "pre-commit-home"


def pre_commit(repos: tuple[Path, Path, Path], *args: str) -> subprocess.CompletedProcess[str]:
    _, tree, home = repos
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode == 3 and "pip" in done.stdout + done.stderr:
        # pre-commit's "unexpected error": pip could not install the hook's environment.
        reason = f"pre-commit could not build the hook's environment:\n{done.stdout[-1500:]}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return done


@pytest.fixture(scope="module")
def run_hook(repos: tuple[Path, Path, Path]) -> Run:
    """``pre-commit run --files …`` with a user's config naming this repository (at the
    snapshot's commit), ``hook`` the user's overrides of the hook; one environment."""
    verifier, tree, _ = repos

    def run(*files: str, **hook: str) -> subprocess.CompletedProcess[str]:
        config = {
            "repos": [
                {
                    "repo": str(verifier),
                    "rev": head(verifier),
                    "hooks": [{"id": "verifier-rules", **hook}],
                }
            ]
        }
        path = tree.parent / f"config-{len(hook)}.yaml"
        path.write_text(yaml.safe_dump(config))
        return pre_commit(repos, "run", "--config", str(path), "--verbose", "--files", *files)

    return run


def test_try_repo_fails_the_failing_event_and_leaves_other_files_alone(repos) -> None:
    """``pre-commit try-repo REPO verifier-rules --files …``: only the three event files
    reach verifier; the passing ones pass, the failing one fails the hook, named."""
    verifier, _, _ = repos
    done = pre_commit(
        repos,
        *("try-repo", str(verifier), "verifier-rules", "--verbose", "--files"),
        *(GOOD_PATH, GOOD_JSON_PATH, FAILING_PATH, ELSEWHERE_PATH, *NOT_EVENTS),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{HOOK_NAME}..." in done.stdout and "Failed" in done.stdout
    assert f"{FAILING_PATH}  [fail]" in done.stdout
    assert "min-credible-sources" in done.stdout
    assert "3 events: 1 pass, 1 warn, 1 fail" in done.stdout  # the three events, nothing else
    for name in [ELSEWHERE_PATH, *NOT_EVENTS]:
        assert name not in done.stdout


def test_passing_events_pass(run_hook: Run) -> None:
    done = run_hook(GOOD_PATH, GOOD_JSON_PATH, *NOT_EVENTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout
    assert "2 events: 1 pass, 1 warn, 0 fail" in done.stdout
    for name in NOT_EVENTS:
        assert name not in done.stdout


def test_other_files_alone_skip_the_hook(run_hook: Run) -> None:
    done = run_hook(ELSEWHERE_PATH, *NOT_EVENTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no files to check)Skipped" in done.stdout


def test_a_files_override_in_the_users_config_moves_the_hook(run_hook: Run) -> None:
    """Events in another folder: the user's own ``files:`` replaces the hook's."""
    done = run_hook(GOOD_PATH, ELSEWHERE_PATH, *NOT_EVENTS, files=r"^content/events/.*\.(md|json)$")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{ELSEWHERE_PATH}  [fail]" in done.stdout
    assert "1 event: 0 pass, 0 warn, 1 fail" in done.stdout


def test_the_files_left_out_would_fail_the_check(repos) -> None:
    """Why the hook is limited to events/: given to the check, such files fail it."""
    _, tree, _ = repos
    done = subprocess.run(
        [str(Path(sys.executable).parent / "verifier"), "check", "--offline", *NOT_EVENTS[:3]],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "package.json  [fail]" in done.stdout
    assert "docs/about.md  [fail]" in done.stdout


def test_the_hook_is_limited_to_the_events_folder() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["files"] == r"^events/.*\.(md|json)$"
    assert hook["entry"] == "verifier check --offline"
    assert hook["language"] == "python"
