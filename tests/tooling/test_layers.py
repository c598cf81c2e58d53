"""The layer rule (data <- features <- models <- serving) is enforced by the lint session."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def run_lint(repo: Path, *nox_args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    return subprocess.run(
        ["nox", *nox_args, "-s", "lint", "--envdir", str(repo / ".nox")],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_an_upward_import_fails_the_lint_session(repo_copy: Path) -> None:
    clean = run_lint(repo_copy)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    planted = repo_copy / "packages/data/src/tabship/data/planted.py"
    planted.write_text(
        '"""A forbidden import."""\n\nimport tabship.serving\n\nVERSION = tabship.serving.__version__\n'
    )
    broken = run_lint(repo_copy, "-R")
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0
    assert "BROKEN" in output
    assert "tabship.data.planted -> tabship.serving" in output


def test_an_import_of_another_package_s_private_module_fails_the_lint_session(
    repo_copy: Path,
) -> None:
    planted = repo_copy / "packages/models/src/tabship/models/planted.py"
    planted.write_text(
        '"""A private import."""\n\nfrom tabship.data.versions.store import read_latest\n\n'
        "LATEST = read_latest\n"
    )
    broken = run_lint(repo_copy)
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0
    assert "tabship.data is used through its API only BROKEN" in output
    assert "tabship.models.planted -> tabship.data.versions.store" in output


def test_inside_a_package_an_upward_import_and_a_circle_each_fail_the_lint_session(
    repo_copy: Path,
) -> None:
    models = repo_copy / "packages/models/src/tabship/models"
    upward = models / "training" / "planted.py"  # training sits below jobs
    upward.write_text(
        '"""An upward import."""\n\nfrom tabship.models.jobs import train\n\nT = train\n'
    )
    broken = run_lint(repo_copy)
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0
    assert "tabship.models: cli > jobs" in output and "BROKEN" in output
    assert "tabship.models.training.planted -> tabship.models.jobs.train" in output

    # Two modules of one folder importing each other: no layer sees it, the circle check does.
    upward.unlink()
    for mine, theirs in (("planted_a", "planted_b"), ("planted_b", "planted_a")):
        (models / "monitoring" / f"{mine}.py").write_text(
            f'"""Half of a circle."""\n\nfrom tabship.models.monitoring import {theirs}\n\n'
            f"OTHER = {theirs}\n"
        )
    circled = run_lint(repo_copy, "-R")
    output = circled.stdout + circled.stderr
    assert circled.returncode != 0
    assert (
        "import circle: tabship.models.monitoring.planted_a -> "
        "tabship.models.monitoring.planted_b -> tabship.models.monitoring.planted_a" in output
    )
