"""The version check: a package whose source changed needs a new version and a CHANGELOG section."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tabship_dev.workspace import ROOT, git, internal_dependencies, package_version


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
    return problems
