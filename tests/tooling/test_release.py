"""Releases: one package's version bump, CHANGELOG section and tag, and the version check."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from tabship_dev.release import compatible_range, release_package
from tabship_dev.versions import range_problems, version_problems
from tabship_dev.workspace import package_version


def nox_in(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    # CI machines may have no git identity (an empty HOME); the release commits.
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "tabship-test"
        env[f"GIT_{role}_EMAIL"] = "test@tabship.invalid"
    return subprocess.run(
        ["nox", "--envdir", str(repo / ".nox"), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_dependents_accept_the_same_minor_before_1_0_and_the_same_major_after() -> None:
    assert compatible_range("0.3.0") == ">=0.3,<0.4"
    assert compatible_range("1.4.2") == ">=1.4,<2"


def test_release_bumps_one_package_and_tags_it(repo_copy: Path, git: Callable[..., str]) -> None:
    before = {p: package_version(p, repo_copy) for p in ("data", "models")}
    major, minor, _ = before["data"].split(".")
    new = f"{major}.{int(minor) + 1}.0"
    result = nox_in(repo_copy, "-s", "release", "--", "data", "minor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert package_version("data", repo_copy) == new
    assert package_version("models", repo_copy) == before["models"]
    changelog = (repo_copy / "packages/data/CHANGELOG.md").read_text()
    assert changelog.index(f"## {new}") < changelog.index(f"## {before['data']}")
    # The dependents now accept the new minor version, and the lock agrees.
    wanted = f'"tabship-data{compatible_range(new)}"'
    assert wanted in (repo_copy / "packages/models/pyproject.toml").read_text()
    assert wanted in (repo_copy / "packages/serving/pyproject.toml").read_text()
    assert f'name = "tabship-data"\nversion = "{new}"' in (repo_copy / "uv.lock").read_text()
    assert git(repo_copy, "tag", "--list") == f"tabship-data-v{new}"
    assert git(repo_copy, "status", "--porcelain", "--untracked-files=no") == ""


def test_version_check_fails_on_a_source_change_without_a_bump(
    repo_copy: Path, git: Callable[..., str]
) -> None:
    git(repo_copy, "branch", "target")
    module = repo_copy / "packages/models/src/tabship/models/cli.py"
    module.write_text(module.read_text() + "\n# changed\n")
    git(repo_copy, "commit", "--quiet", "-am", "change models")
    problems = version_problems("target", repo_copy)
    version = package_version("models", repo_copy)
    assert problems == [
        f"tabship-models: source changed but the version is still {version}",
    ]
    tag, _ = release_package("models", "patch", repo_copy, today="2026-01-01")
    major, minor, patch = version.split(".")
    assert tag == f"tabship-models-v{major}.{minor}.{int(patch) + 1}"
    git(repo_copy, "commit", "--quiet", "-am", "release models")
    assert version_problems("target", repo_copy) == []
    result = nox_in(repo_copy, "-s", "version_check", "--", "target")
    assert result.returncode == 0, result.stdout + result.stderr


def test_version_check_fails_when_a_dependent_s_range_excludes_the_new_version(
    repo_copy: Path,
) -> None:
    assert range_problems(repo_copy) == []
    pyproject = repo_copy / "packages/data/pyproject.toml"
    version = package_version("data", repo_copy)
    major, minor, _ = version.split(".")
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace(f'version = "{version}"', f'version = "{major}.{int(minor) + 1}.0"')
    )
    problems = range_problems(repo_copy)
    assert len(problems) == 2  # models and serving both pin the old minor
    assert all("tabship-data" in p for p in problems)


def test_a_serving_release_pins_the_manifests_image_to_it(repo_copy: Path) -> None:
    tag, touched = release_package("serving", "patch", repo_copy, today="2026-12-06")
    version = tag.rsplit("-v", 1)[1]
    deployment = repo_copy / "deploy/k8s/deployment.yaml"
    assert f"/tabship/serving:{version}\n" in deployment.read_text()
    assert deployment in touched
