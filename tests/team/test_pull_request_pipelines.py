"""A pull request's pipeline, run for real against the team stack: the GitHub workflow's `train`
and `review` jobs through act (`nox -s ci_github`), the GitLab merge-request jobs through
gitlab-ci-local (`nox -s ci_gitlab`). The repository's champion is trained on "main" into the
shared registry first; the branch changes one training parameter; each system's review posts
its comment to a loopback stand-in of its API (tests/tooling/forges.py).

The jobs get the stack only as CI would hand it to them: act's `--var` and `--secret` (the
workflow maps them to the jobs' environment) and gitlab-ci-local's `--variable` (as the project's
CI/CD variables); nothing of the stack is in the environment act and gitlab-ci-local start from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ..tooling.forges import Forge

MODEL = "tabship-pr-review"
TOKEN = "pr-review-token-0123"
FOREIGN = ("MLFLOW_", "TABSHIP_", "AWS_", "GITHUB_", "GITLAB_", "CI_")
VARS = ("MLFLOW_TRACKING_URI", "TABSHIP_DATA_STORE", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION")
SECRETS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "AWS_ACCESS_KEY_ID",
           "AWS_SECRET_ACCESS_KEY")  # fmt: skip
TRAIN_YAML = "configs/datasets/adult/train.yaml"


def _edit(repo: Path, old: str, new: str) -> None:
    path = repo / TRAIN_YAML
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _clean_env(repo: Path) -> dict[str, str]:
    """The caller's environment without any registry, store or CI platform of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return {**env, "PYTHONPATH": str(repo / "tools")}


def _run(command: list[str], cwd: Path, env: dict[str, str], limit: int = 900) -> str:
    """COMMAND's stdout; its output's end when it fails."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=limit, check=False)  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return done.stdout


@pytest.fixture
def pull_request(
    repo_copy: Path, team_stack: dict[str, str], git: Callable[..., str]
) -> tuple[Path, str]:
    """The repository with its model named MODEL, its champion trained from "main" into the
    team's registry, and a branch that changes one parameter: (the checkout, the champion)."""
    _edit(repo_copy, "model_name: tabship-adult ", f"model_name: {MODEL}")
    _edit(repo_copy, "experiment: tabship-adult ", f"experiment: {MODEL}")
    git(repo_copy, "commit", "--quiet", "-am", "main: the model of this test")
    env = {**_clean_env(repo_copy), **team_stack}
    trained = _run([str(Path(sys.executable).parent / "tabship-models"), "train", "--json"],
                   repo_copy, env)  # fmt: skip
    champion = json.loads(trained)["champion"]
    git(repo_copy, "checkout", "--quiet", "-b", "fewer-leaves")
    _edit(repo_copy, "  num_leaves: 31", "  num_leaves: 15")
    git(repo_copy, "commit", "--quiet", "-am", "fewer leaves")
    return repo_copy, champion


def _client(stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(name, stack[name])
    return MlflowClient(stack["MLFLOW_TRACKING_URI"])


def _check_review(body: str, champion: str) -> None:
    assert body.startswith("<!-- tabship-review -->")
    assert f"vs champion v{champion}" in body
    assert "+  num_leaves: 15" in body and "-  num_leaves: 31" in body


@pytest.mark.slow
def test_github_pull_request_jobs_through_act(
    pull_request: tuple[Path, str], team_stack: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    repo, champion = pull_request
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 9, "head": {"sha": head},
                                                  "base": {"ref": "main"}}}))  # fmt: skip
    artifacts = tmp_path / "artifacts"
    with Forge("github", TOKEN) as forge:
        command = ["nox", "-s", "ci_github", "--", "--artifacts", str(artifacts), "--only",
                   "train,review", "pull_request", "-j", "review", "-e", str(event),
                   "--secret", f"GITHUB_TOKEN={TOKEN}", "--env", f"GITHUB_API_URL={forge.url}"]  # fmt: skip
        command += [a for k in VARS for a in ("--var", f"{k}={team_stack[k]}")]
        command += [a for k in SECRETS for a in ("--secret", f"{k}={team_stack[k]}")]
        output = _run(command, repo, _clean_env(repo))
        assert len(forge.comments) == 1, output[-5000:]
        (comment,) = forge.comments
        _check_review(comment["body"], champion)
        (status,) = forge.statuses
        review = json.loads((artifacts / "model-review" / "review.json").read_text())
        assert status["context"] == "tabship/review" and status["sha"] == head
        assert status["state"] == ("success" if review["verdict"] == "promote" else "failure")
    assert review["registry"] == team_stack["MLFLOW_TRACKING_URI"]  # the team's, not a local one
    client = _client(team_stack, monkeypatch)
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion
    candidate = client.get_model_version(MODEL, review["candidate"]["version"])
    assert client.get_run(str(candidate.run_id)).data.tags["tabship.review"] == "true"
    # The review job found the train job's candidate in its cache: one new version, not two.
    assert len(client.search_model_versions(f"name='{MODEL}'")) == 2


@pytest.mark.slow
def test_gitlab_merge_request_jobs_through_gitlab_ci_local(
    pull_request: tuple[Path, str], team_stack: dict[str, str], repo_root: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    repo, champion = pull_request
    tool = repo_root / "ci-cd" / "tools" / "node_modules" / ".bin" / "gitlab-ci-local"
    if not tool.exists():
        if os.environ.get("CI"):
            pytest.fail("gitlab-ci-local is not installed: nox -s ci_check installs it")
        pytest.skip("gitlab-ci-local is not installed: nox -s ci_check installs it")
    with Forge("gitlab", TOKEN, "/api/v4") as forge:
        # As GitLab sets them for a merge request's pipeline (gitlab-ci-local says GITLAB_CI=false).
        variables = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "merge_request_event",
                     "CI_MERGE_REQUEST_IID": "9",
                     "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_PROJECT_ID": "77",
                     "CI_API_V4_URL": forge.url, "TABSHIP_GITLAB_TOKEN": TOKEN,
                     **{k: team_stack[k] for k in (*VARS, *SECRETS)}}  # fmt: skip
        command = [str(tool), "--force-shell-executor", "train", "review",
                   "--ignore-predefined-vars",
                   "GITLAB_CI,CI_PIPELINE_SOURCE,CI_PROJECT_ID,CI_API_V4_URL"]  # fmt: skip
        command += [a for k, v in variables.items() for a in ("--variable", f"{k}={v}")]
        # The jobs' `python` (their image's, here a venv of this machine's): before_script
        # pip-installs the bootstrap tools into it.
        python = tmp_path / "python"
        subprocess.run(["python3.11", "-m", "venv", str(python)], check=True)
        env = _clean_env(repo)
        env["PATH"] = f"{python / 'bin'}:{env['PATH']}"
        output = _run(command, repo, env)
        assert len(forge.comments) == 1, output[-5000:]
        (note,) = forge.comments
        _check_review(note["body"], champion)
    review = json.loads((repo / "reports" / "review" / "review.json").read_text())
    client = _client(team_stack, monkeypatch)
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion
    assert review["champion"]["version"] == champion
