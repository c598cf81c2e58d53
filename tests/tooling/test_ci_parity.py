"""Jenkins, GitLab CI and GitHub Actions run the same nox sessions in the same order, and the
checks behind `nox -s ci_check` catch planted faults."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import tabship_dev.ci_check
import yaml


@pytest.fixture(scope="module")
def ci_check() -> ModuleType:
    return tabship_dev.ci_check


def test_the_root_gitlab_file_includes_the_pipeline(repo_root: Path) -> None:
    root = yaml.safe_load((repo_root / ".gitlab-ci.yml").read_text())
    assert root["include"] == [{"local": "ci-cd/gitlab-ci.yml"}]


def test_three_ci_systems_run_the_same_sessions_in_order(
    ci_check: ModuleType, repo_root: Path
) -> None:
    faults = ci_check.Faults()
    github = [s for _, s in ci_check.github_steps(repo_root, faults)]
    assert github == [
        "lint", "version_check", "typecheck", "test", "train", "build", "image", "deploy", "publish",
    ]  # fmt: skip
    assert [s for _, s in ci_check.gitlab_steps(repo_root, faults)] == github
    assert [s for _, s in ci_check.jenkins_steps(repo_root, faults)] == github
    assert list(faults) == []
    assert list(ci_check.check(repo_root)) == []


def test_an_unknown_session_in_one_file_is_caught(ci_check: ModuleType, repo_copy: Path) -> None:
    path = repo_copy / "ci-cd/gitlab-ci.yml"
    path.write_text(path.read_text().replace("nox -s typecheck", "nox -s typechek"))
    faults = list(ci_check.check(repo_copy))
    assert any("GitLab CI runs" in f and "typechek" in f for f in faults), faults
    assert any("`nox -s typechek`, which is not a nox session" in f for f in faults), faults


def test_a_bash_only_jenkins_step_is_caught(ci_check: ModuleType, repo_copy: Path) -> None:
    path = repo_copy / "ci-cd/Jenkinsfile"
    path.write_text(path.read_text().replace("sh 'nox -s lint'", "sh 'source .venv/bin/activate'"))
    faults = list(ci_check.check(repo_copy))
    assert any("Jenkinsfile:" in f and "`source`" in f and "dash" in f for f in faults), faults


def test_a_second_command_in_a_step_is_caught(ci_check: ModuleType, repo_copy: Path) -> None:
    path = repo_copy / ".github/workflows/ci.yml"
    path.write_text(path.read_text().replace("run: nox -s test", "run: pip list && nox -s test"))
    faults = list(ci_check.check(repo_copy))
    assert any("job test" in f and "not one nox or invoke command" in f for f in faults), faults


@pytest.mark.parametrize(
    ("file", "schema", "old", "new"),
    [
        ("ci-cd/gitlab-ci.yml", "vendor.gitlab-ci", "  stage: lint\n", "  stag: lint\n"),
        (".github/workflows/ci.yml", "vendor.github-workflows", "runs-on:", "runs_on:"),
    ],
)  # fmt: skip
def test_a_typo_key_fails_the_schema_check(
    repo_copy: Path, file: str, schema: str, old: str, new: str
) -> None:
    path = repo_copy / file
    command = ["check-jsonschema", "--builtin-schema", schema, str(path)]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    failed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert failed.returncode != 0
    assert "schema" in failed.stdout.lower() + failed.stderr.lower()
