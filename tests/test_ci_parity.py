"""Jenkins, GitLab CI and GitHub Actions run the same nox sessions in the same order."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import nox
import pytest
import yaml

NOX_COMMAND = re.compile(r"^nox -s (\S+)(?: -- .*)?$")


def _session(command: str) -> str | None:
    match = NOX_COMMAND.match(command.strip())
    return match.group(1) if match else None


def github_sessions(root: Path) -> list[str]:
    workflow: dict[str, Any] = yaml.safe_load((root / ".github/workflows/ci.yml").read_text())
    sessions = []
    for job in workflow["jobs"].values():
        commands = [step["run"] for step in job["steps"] if "run" in step]
        assert len(commands) == 1, f"a job runs exactly one command, not {commands}"
        session = _session(commands[0])
        assert session, f"not a nox command: {commands[0]!r}"
        sessions.append(session)
    return sessions


def gitlab_sessions(root: Path) -> list[str]:
    pipeline: dict[str, Any] = yaml.safe_load((root / "ci-cd/gitlab-ci.yml").read_text())
    stages: list[str] = pipeline["stages"]
    jobs = [
        (stages.index(body["stage"]), name, body)
        for name, body in pipeline.items()
        if isinstance(body, dict) and "script" in body
    ]
    sessions = []
    for _, name, body in sorted(jobs, key=lambda job: job[0]):
        assert len(body["script"]) == 1, f"job {name} runs exactly one command"
        session = _session(body["script"][0])
        assert session, f"job {name}: not a nox command: {body['script'][0]!r}"
        sessions.append(session)
    return sessions


def jenkins_sessions(root: Path) -> list[str]:
    text = (root / "ci-cd/Jenkinsfile").read_text()
    sessions = []
    for stage, body in re.findall(r"stage\('([^']+)'\)\s*\{(.*?)\n {8}\}", text, flags=re.DOTALL):
        commands = re.findall(r"\bsh\s+'([^']*)'", body)
        assert len(commands) == 1, f"stage {stage} runs exactly one sh step, not {commands}"
        session = _session(commands[0])
        assert session, f"stage {stage}: not a nox command: {commands[0]!r}"
        sessions.append(session)
    return sessions


def test_the_root_gitlab_file_includes_the_pipeline(repo_root: Path) -> None:
    root = yaml.safe_load((repo_root / ".gitlab-ci.yml").read_text())
    assert root["include"] == [{"local": "ci-cd/gitlab-ci.yml"}]


def test_three_ci_systems_run_the_same_sessions_in_order(repo_root: Path) -> None:
    github = github_sessions(repo_root)
    assert github[:4] == ["lint", "typecheck", "test", "build"]
    assert gitlab_sessions(repo_root) == github
    assert jenkins_sessions(repo_root) == github


@pytest.mark.parametrize("reader", [github_sessions, gitlab_sessions, jenkins_sessions])
def test_every_session_named_in_ci_exists(
    reader: Any, repo_root: Path, noxfile: ModuleType
) -> None:
    defined = set(nox.registry.get())
    for session in reader(repo_root):
        assert session in defined, f"{session} is not a nox session"
