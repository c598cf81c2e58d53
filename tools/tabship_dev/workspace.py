"""The workspace: its root, its packages, their versions and the internal dependency graph."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# In layer order: a package may depend only on the ones before it.
PACKAGES = ("data", "features", "models", "serving")
# What mypy checks beside the packages (nox -s typecheck): the tooling and the benchmarks.
TOOLING = ("noxfile.py", "tasks.py", "conftest.py", "docker/image.py", "deploy/deploy.py",
           "tools/tabship_dev", "bench")  # fmt: skip


class ToolError(RuntimeError):
    """A step cannot go on; the message names the cause and the remedy in one line."""


def package_pyproject(package: str, root: Path = ROOT) -> dict[str, Any]:
    """The parsed pyproject.toml of one package."""
    with (root / "packages" / package / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def package_version(package: str, root: Path = ROOT) -> str:
    """A package's version, read from its own pyproject.toml."""
    return str(package_pyproject(package, root)["project"]["version"])


def internal_dependencies(root: Path = ROOT) -> dict[str, set[str]]:
    """Map each package (short name) to the internal packages it declares as dependencies."""
    packages = sorted(p.parent.name for p in (root / "packages").glob("*/pyproject.toml"))
    dist_to_short = {f"tabship-{p}": p for p in packages}
    graph: dict[str, set[str]] = {}
    for package in packages:
        dependencies = package_pyproject(package, root)["project"]["dependencies"]
        names = {re.split(r"[\s<>=!~;\[(]", dep, maxsplit=1)[0] for dep in dependencies}
        graph[package] = {dist_to_short[n] for n in names if n in dist_to_short}
    return graph


def layer_order(package: str) -> int:
    """Sort key: data first, serving last, unknown packages after them."""
    return PACKAGES.index(package) if package in PACKAGES else len(PACKAGES)


def mypy_runs(root: Path = ROOT) -> list[list[str]]:
    """The paths of each mypy run of `nox -s typecheck`: every package's source with the tooling,
    then each test folder alone (each has a conftest.py, which one run would see as duplicates)."""
    sources = [str(p.relative_to(root)) for p in sorted(root.glob("packages/*/src"))]
    tests = [str(p.relative_to(root)) for p in sorted(root.glob("packages/*/tests"))]
    return [[*sources, *TOOLING], *([folder] for folder in [*tests, "tests"])]


def git(*args: str, root: Path = ROOT) -> str:
    """git's stdout, stripped; CalledProcessError when git fails."""
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def uv() -> str:
    """The uv executable, pinned in requirements-bootstrap.txt (the one place uv is pinned)."""
    found = shutil.which("uv")
    if not found:
        raise ToolError(
            "uv is not on PATH: python3.11 -m pip install -r requirements-bootstrap.txt"
        )
    return found


def uv_sync(
    *groups: str, package: str = "", only: bool = False, bytecode: bool = False
) -> list[str]:
    """`uv sync --frozen` of the workspace (or tabship-PACKAGE and what it depends on) with the
    dependency GROUPS, or of ONLY the groups; never the default groups (nox's sessions).

    BYTECODE compiles every installed module once (uv: about 16 s for the test venv's 12,000
    files on 2 cores, then 0.7 s while nothing changed). Where PYTHONDONTWRITEBYTECODE is set, as
    on CI's machines, a Python process otherwise compiles MLflow, pandas and BentoML from source
    each time it starts: 8.7 s instead of 3 s for a worker's imports. On a fresh clone that took
    the test suite's hundreds of subprocesses to 1,798 s of pytest; compiled, 1,376 s.
    """
    chosen = [f"--{'only-' if only else ''}group={group}" for group in groups]
    if not only:
        chosen += ["--package", f"tabship-{package}"] if package else ["--all-packages"]
    return [uv(), "sync", "--frozen", "--no-default-groups", *chosen,
            *(["--compile-bytecode"] if bytecode else [])]  # fmt: skip
