"""The version check: a package whose source changed needs a new version and a CHANGELOG section,
and every package's range for another workspace package admits that package's version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tabship_dev.release import compatible_range
from tabship_dev.workspace import (
    ROOT,
    git,
    internal_dependencies,
    package_pyproject,
    package_version,
)


def version_problems(base: str, root: Path = ROOT) -> list[str]:
    """Packages whose source changed since BASE without a version bump and a CHANGELOG entry."""
    problems = []
    merge_base = git("merge-base", base, "HEAD", root=root)
    changed = set(git("diff", "--name-only", merge_base, "--", "packages", root=root).split())
    for package in sorted(internal_dependencies(root)):
        if not any(f.startswith(f"packages/{package}/src/") for f in changed):
            continue
        now = package_version(package, root)
        before_text = git("show", f"{merge_base}:packages/{package}/pyproject.toml", root=root)
        before = tomllib.loads(before_text)["project"]["version"]
        if now == before:
            problems.append(f"tabship-{package}: source changed but the version is still {now}")
        changelog = (root / "packages" / package / "CHANGELOG.md").read_text(encoding="utf-8")
        if not re.search(rf"^## {re.escape(now)}\b", changelog, flags=re.MULTILINE):
            problems.append(f"tabship-{package}: CHANGELOG.md has no '## {now}' section")
    return problems + range_problems(root)


def range_problems(root: Path = ROOT) -> list[str]:
    """Dependents whose declared range for a workspace package is not the one its version needs
    (`uv version --bump` changes the version alone; `nox -s release` widens the ranges too)."""
    problems = []
    for package, needs in sorted(internal_dependencies(root).items()):
        declared = package_pyproject(package, root)["project"]["dependencies"]
        for dependency in sorted(needs):
            name = f"tabship-{dependency}"
            wanted = name + compatible_range(package_version(dependency, root))
            found = [d for d in declared if re.split(r"[\s<>=!~;\[(]", d, maxsplit=1)[0] == name]
            if found != [wanted]:
                problems.append(f"tabship-{package}: depends on {found[0]!r}, wanted {wanted!r}")
    return problems
