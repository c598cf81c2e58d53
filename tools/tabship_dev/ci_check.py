"""Check the three CI definitions: same nox sessions in the same order, each step one command.

Run by `nox -s ci_check` (with the schema and linters around it). Usable on any checkout:
`PYTHONPATH=tools python -m tabship_dev.ci_check --root PATH`. Exits 1 and names every fault it found.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

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
    "build",
    "image",
    "deploy",
    "publish",
]


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


def github_steps(root: Path, faults: Faults) -> list[tuple[str, str]]:
    """(job, session) pairs of .github/workflows/ci.yml, in file order."""
    path = root / ".github/workflows/ci.yml"
    workflow: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: list[tuple[str, str]] = []
    for job, body in (workflow.get("jobs") or {}).items():
        runs = [step["run"] for step in body.get("steps", []) if "run" in step]
        _one_command(path, job, runs, faults, found)
    return found


def gitlab_steps(root: Path, faults: Faults) -> list[tuple[str, str]]:
    """(job, session) pairs of ci-cd/gitlab-ci.yml, in stage order."""
    path = root / "ci-cd/gitlab-ci.yml"
    pipeline: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    stages: list[str] = pipeline.get("stages", [])
    jobs = []
    for name, body in pipeline.items():
        if not isinstance(body, dict) or "script" not in body:
            continue
        if body.get("stage") not in stages:
            faults.append(f"{path}: job {name}: stage {body.get('stage')!r} is not in `stages`")
            continue
        jobs.append((stages.index(body["stage"]), name, body["script"]))
    found: list[tuple[str, str]] = []
    for _, name, script in sorted(jobs, key=lambda job: job[0]):
        _one_command(path, name, script, faults, found)
    return found


def jenkins_steps(root: Path, faults: Faults) -> list[tuple[str, str]]:
    """(stage, session) pairs of ci-cd/Jenkinsfile, in file order; checks dash compatibility."""
    path = root / "ci-cd/Jenkinsfile"
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


def check(root: Path) -> Faults:
    """Every fault in the three definitions."""
    faults = Faults()
    systems = {
        "GitHub Actions": github_steps(root, faults),
        "GitLab CI": gitlab_steps(root, faults),
        "Jenkins": jenkins_steps(root, faults),
    }
    orders = {name: [session for _, session in steps] for name, steps in systems.items()}
    reference = orders["GitHub Actions"]
    if reference[: len(STAGES)] != STAGES:
        faults.append(f"GitHub Actions: the first stages are {reference}, expected {STAGES} first")
    for name, order in orders.items():
        if order != reference:
            faults.append(f"{name} runs {order}, but GitHub Actions runs {reference}")
    known = nox_sessions(root)
    for name, steps in systems.items():
        for step, session in steps:
            if not session.startswith("invoke:") and session not in known:
                faults.append(f"{name}: {step} runs `nox -s {session}`, which is not a nox session")
    return faults


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints each fault and returns 1 when there are any."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    try:
        faults = check(args.root)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        print(f"ci_check: cannot read the CI definitions: {error}", file=sys.stderr)
        return 1
    for fault in faults:
        print(f"ci_check: {fault}", file=sys.stderr)
    if faults:
        return 1
    print("ci_check: GitHub Actions, GitLab CI and Jenkins run the same sessions in the same order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
