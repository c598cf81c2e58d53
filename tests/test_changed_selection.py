"""Changed-package selection: a change tests its package and every package that depends on it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType


def test_graph_is_read_from_the_packages_own_pyproject_files(noxfile: ModuleType) -> None:
    graph = noxfile.internal_dependencies()
    assert graph["data"] == set()
    assert graph["features"] == {"data"}
    assert graph["models"] == {"data", "features"}
    assert "models" in graph["serving"]
    assert graph["serving"] <= {"data", "features", "models"}


def test_a_change_in_data_selects_all_four(noxfile: ModuleType) -> None:
    paths = noxfile.select_test_paths(
        ["packages/data/src/tabship/data/schema.py"], noxfile.internal_dependencies()
    )
    assert paths == [
        "packages/data/tests",
        "packages/features/tests",
        "packages/models/tests",
        "packages/serving/tests",
        "tests",
    ]


def test_a_change_in_serving_selects_serving_only(noxfile: ModuleType) -> None:
    paths = noxfile.select_test_paths(
        ["packages/serving/src/tabship/serving/service.py"], noxfile.internal_dependencies()
    )
    assert paths == ["packages/serving/tests", "tests"]


def test_docs_outside_packages_select_nothing_and_the_lock_everything(
    noxfile: ModuleType,
) -> None:
    graph = noxfile.internal_dependencies()
    assert noxfile.select_test_paths(["README.md", "packages/models/CHANGELOG.md"], graph) == [
        "packages/models/tests",
        "packages/serving/tests",
        "tests",
    ]
    assert noxfile.select_test_paths(["README.md", "notebooks/eda.ipynb"], graph) == []
    assert noxfile.select_test_paths(["docker/ci.Dockerfile", "ci-cd/Jenkinsfile"], graph) == [
        "tests"
    ]
    assert len(noxfile.select_test_paths(["uv.lock"], graph)) == 5


def test_dependents_come_from_declared_dependencies_not_a_list(
    noxfile: ModuleType, repo_copy: Path
) -> None:
    """Rewire the copy so that nothing depends on features any more: a change to features then
    selects features alone, while a change to data still reaches every package."""
    for package in ("models", "serving"):
        pyproject = repo_copy / f"packages/{package}/pyproject.toml"
        text = re.sub(r'(?m)^\s*"tabship-features[^"]*",\n', "", pyproject.read_text())
        pyproject.write_text(text, encoding="utf-8")
    graph = noxfile.internal_dependencies(repo_copy)
    assert "features" not in graph["models"] | graph["serving"]
    assert noxfile.with_dependents({"features"}, graph) == {"features"}
    assert noxfile.with_dependents({"data"}, graph) == {"data", "features", "models", "serving"}


def test_changed_since_uses_git_history(
    noxfile: ModuleType, repo_copy: Path, git: Callable[..., str]
) -> None:
    base = git(repo_copy, "rev-parse", "HEAD")
    service = repo_copy / "packages/features/src/tabship/features/cli.py"
    service.write_text(service.read_text() + "\n# a change\n", encoding="utf-8")
    git(repo_copy, "commit", "--quiet", "-am", "change features")
    files = noxfile.changed_files(base, repo_copy)
    assert files == ["packages/features/src/tabship/features/cli.py"]
    paths = noxfile.select_test_paths(files, noxfile.internal_dependencies(repo_copy))
    assert paths == [
        "packages/features/tests",
        "packages/models/tests",
        "packages/serving/tests",
        "tests",
    ]
