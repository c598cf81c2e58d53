"""`nox -s promotion` after a retrain: build, image and deploy follow only a promotion, in each
CI system's own way (a marker file for Jenkins, a job output for GitHub, a child pipeline for
GitLab), and a missing or broken outcome is one line, exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tabship_dev import promotion

OUTCOME = {"dataset": "adult", "model_name": "tabship-adult", "champion": "3", "trigger": "drift"}


def run(
    root: Path, tmp_path: Path, status: str, challenger: str | None
) -> subprocess.CompletedProcess[str]:
    outcome = tmp_path / "dist" / "retrain" / "outcome.json"
    outcome.parent.mkdir(parents=True, exist_ok=True)
    outcome.write_text(json.dumps({**OUTCOME, "status": status, "challenger": challenger}))
    return subprocess.run(
        [sys.executable, "-m", "tabship_dev", "promotion", "--outcome", str(outcome),
         "--gitlab-child", str(tmp_path / "child.yml")],
        env={"PYTHONPATH": str(root / "tools"), "GITHUB_OUTPUT": str(tmp_path / "github-output")},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_promotion_releases_everywhere(repo_root: Path, tmp_path: Path) -> None:
    done = run(repo_root, tmp_path, "promoted", "4")
    assert done.returncode == 0, done.stderr
    assert "promoted, version 4 is the champion: build, image, deploy" in done.stdout
    assert (tmp_path / "dist" / "retrain" / "promoted").read_text().strip() == "4"
    assert (tmp_path / "github-output").read_text() == "promoted=true\nstatus=promoted\n"
    child = (tmp_path / "child.yml").read_text()
    assert child == (repo_root / "ci-cd" / "gitlab-release.yml").read_text()


@pytest.mark.parametrize("status", ["refused", "skipped"])
def test_no_promotion_releases_nothing(repo_root: Path, tmp_path: Path, status: str) -> None:
    (tmp_path / "dist" / "retrain").mkdir(parents=True)
    (tmp_path / "dist" / "retrain" / "promoted").write_text("2\n")  # an earlier run's marker
    done = run(repo_root, tmp_path, status, "5" if status == "refused" else None)
    assert done.returncode == 0, done.stderr
    assert f"{status}; champion 3 stays: nothing to release" in done.stdout
    assert not (tmp_path / "dist" / "retrain" / "promoted").exists()
    assert (tmp_path / "github-output").read_text() == f"promoted=false\nstatus={status}\n"
    child = yaml.safe_load((tmp_path / "child.yml").read_text())
    assert child["stages"] == ["report"]
    (script,) = child["nothing-to-release"]["script"]
    assert script.startswith("echo ") and "nothing to release" in script
    assert set(child) == {"stages", "nothing-to-release"}  # no build, image or deploy
    schema = [
        "check-jsonschema",
        "--builtin-schema",
        "vendor.gitlab-ci",
        str(tmp_path / "child.yml"),
    ]
    checked = subprocess.run(schema, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(("text", "words"), [(None, "no such file"), ("{", "not a retrain outcome"),
                                             ('{"state": 1}', "no string 'status'")])  # fmt: skip
def test_a_missing_or_broken_outcome_is_one_line(
    repo_root: Path, tmp_path: Path, text: str | None, words: str
) -> None:
    outcome = tmp_path / "outcome.json"
    if text is not None:
        outcome.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "tabship_dev", "promotion", "--outcome", str(outcome)],
        env={"PYTHONPATH": str(repo_root / "tools")}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert words in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_the_summary_of_an_outcome_without_names() -> None:
    assert promotion.summary({"status": "skipped"}) == (
        "retrain (unknown trigger) of the default dataset: skipped; champion None stays: "
        "nothing to release"
    )
