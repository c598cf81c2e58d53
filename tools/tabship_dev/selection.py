"""Changed-package selection: which test folders a change needs.

A package's change selects it and every package that depends on it, read from the packages' own
`dependencies`. CI definitions, deployment, images, tooling and tests/ select the cross-package
tests only. Shared files (the lock, the noxfile, configs) select everything; documentation nothing.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tabship_dev.workspace import PACKAGES, ROOT, ToolError, git, internal_dependencies, layer_order

CROSS_PACKAGE_TESTS = "tests"
# Paths outside packages/ whose change cannot affect any test result.
INERT_PATTERNS = (r".*\.md$", r"^notebooks/", r"^LICENSE")
# Paths whose change is checked by the cross-package tests alone.
CROSS_ONLY_PATTERNS = (
    r"^tests/",
    r"^tools/",
    r"^deploy/",
    r"^\.github/",
    r"^ci-cd/",
    r"^docker/",
    r"^\.gitlab-ci\.yml$",
)


def with_dependents(changed: Iterable[str], graph: dict[str, set[str]]) -> set[str]:
    """The changed packages plus every package that depends on one of them, directly or not."""
    selected = set(changed)
    grew = True
    while grew:
        dependents = {p for p, deps in graph.items() if deps & selected}
        grew = not dependents <= selected
        selected |= dependents
    return selected


def changed_files(rev: str, root: Path = ROOT) -> list[str]:
    """Files changed since the merge base of REV and HEAD, uncommitted and untracked ones included."""
    base = git("merge-base", rev, "HEAD", root=root)
    diff = git("diff", "--name-only", base, root=root).split()
    untracked = git("ls-files", "--others", "--exclude-standard", root=root).split()
    return sorted(set(diff) | set(untracked))


def select_test_paths(files: Iterable[str], graph: dict[str, set[str]]) -> list[str]:
    """Test folders to run for a set of changed files (cross-package tests whenever any is)."""
    changed: set[str] = set()
    cross = False
    for name in files:
        parts = name.split("/")
        if parts[0] == "packages" and len(parts) > 1 and parts[1] in graph:
            changed.add(parts[1])
        elif any(re.match(p, name) for p in CROSS_ONLY_PATTERNS):
            cross = True
        elif not any(re.match(p, name) for p in INERT_PATTERNS):
            changed |= set(graph)
    selected = with_dependents(changed, graph)
    paths = [f"packages/{p}/tests" for p in sorted(selected, key=layer_order)]
    if selected or cross:
        paths.append(CROSS_PACKAGE_TESTS)
    return paths


@dataclass(frozen=True)
class TestPlan:
    """What `nox -s test` hands to pytest."""

    __test__ = False  # not a pytest test class

    paths: list[str]
    args: list[str]
    rev: str | None

    def pytest_args(self, root: Path = ROOT) -> list[str]:
        """The folders and arguments, after JUnit XML and coverage reports for CI to publish."""
        reports = root / "reports"  # not tracked
        return [
            f"--junitxml={reports / 'junit.xml'}",
            *(f"--cov=tabship.{p}" for p in PACKAGES),
            f"--cov-report=xml:{reports / 'coverage.xml'}",
            "--cov-report=term:skip-covered",
            *self.paths,
            *self.args,
        ]

    @property
    def nothing_to_test(self) -> bool:
        """--changed-since selected no test folder."""
        return self.rev is not None and not self.paths


def plan(posargs: Sequence[str], root: Path = ROOT) -> TestPlan:
    """Test folders and pytest arguments for `nox -s test -- [--changed-since REV] [pytest args]`.

    Arguments that name test files or folders replace the default folders; so does the selection.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--changed-since", default=None)
    known, args = parser.parse_known_args(list(posargs))
    rev: str | None = known.changed_since
    if any(not a.startswith("-") and (root / a.split("::")[0]).exists() for a in args):
        return TestPlan([], args, rev)  # the caller named what to test
    if rev is None:
        paths = [*(f"packages/{p}/tests" for p in PACKAGES), CROSS_PACKAGE_TESTS]
    else:
        try:
            changed = changed_files(rev, root)
        except subprocess.CalledProcessError:
            raise ToolError(
                f"--changed-since {rev}: no such revision here; fetch it first "
                f"(e.g. git fetch origin {rev.removeprefix('origin/')}) or clone with full history"
            ) from None
        paths = select_test_paths(changed, internal_dependencies(root))
    # A package may have no tests folder yet (git does not keep empty folders).
    return TestPlan([p for p in paths if (root / p).is_dir()], args, rev)
