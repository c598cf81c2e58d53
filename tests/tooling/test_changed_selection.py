"""Changed-package selection: a change tests its package and every package that depends on it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tabship_dev.selection import changed_files, select_test_paths, with_dependents
from tabship_dev.workspace import internal_dependencies


def test_graph_is_read_from_the_packages_own_pyproject_files() -> None:
    graph = internal_dependencies()
    assert graph["data"] == set()
    assert graph["features"] == set()  # features sits on no other tabship package
    assert graph["models"] == {"data", "features"}
    assert "models" in graph["serving"]
    assert graph["serving"] <= {"data", "features", "models"}


def test_a_change_in_data_selects_its_dependents() -> None:
    paths = select_test_paths(
        ["packages/data/src/tabship/data/config/schema.py"], internal_dependencies()
    )
    assert paths == [
        "packages/data/tests",
        "packages/models/tests",
        "packages/serving/tests",
        "tests",
    ]


def test_a_change_in_serving_selects_serving_only() -> None:
    paths = select_test_paths(
        ["packages/serving/src/tabship/serving/service.py"], internal_dependencies()
    )
    assert paths == ["packages/serving/tests", "tests"]


def test_docs_outside_packages_select_nothing_and_the_lock_everything() -> None:
    graph = internal_dependencies()
    assert select_test_paths(["README.md", "packages/models/CHANGELOG.md"], graph) == [
        "packages/models/tests",
        "packages/serving/tests",
        "tests",
    ]
    assert select_test_paths(["README.md", "notebooks/eda.ipynb"], graph) == []
    assert select_test_paths(["docker/ci.Dockerfile", "ci-cd/Jenkinsfile"], graph) == ["tests"]
    assert len(select_test_paths(["uv.lock"], graph)) == 5


def test_dependents_come_from_declared_dependencies_not_a_list(repo_copy: Path) -> None:
    """Rewire the copy so that nothing depends on features any more: a change to features then
    selects features alone, while a change to data still reaches models and serving."""
    for package in ("models", "serving"):
        pyproject = repo_copy / f"packages/{package}/pyproject.toml"
        text = re.sub(r'(?m)^\s*"tabship-features[^"]*",\n', "", pyproject.read_text())
        pyproject.write_text(text, encoding="utf-8")
    graph = internal_dependencies(repo_copy)
    assert "features" not in graph["models"] | graph["serving"]
    assert with_dependents({"features"}, graph) == {"features"}
    assert with_dependents({"data"}, graph) == {"data", "models", "serving"}


def test_changed_since_uses_git_history(repo_copy: Path, git: Callable[..., str]) -> None:
    base = git(repo_copy, "rev-parse", "HEAD")
    service = repo_copy / "packages/features/src/tabship/features/cli.py"
    service.write_text(service.read_text() + "\n# a change\n", encoding="utf-8")
    git(repo_copy, "commit", "--quiet", "-am", "change features")
    files = changed_files(base, repo_copy)
    assert files == ["packages/features/src/tabship/features/cli.py"]
    paths = select_test_paths(files, internal_dependencies(repo_copy))
    assert paths == [
        "packages/features/tests",
        "packages/models/tests",
        "packages/serving/tests",
        "tests",
    ]
