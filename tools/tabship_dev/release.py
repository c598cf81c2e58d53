"""Releases: one package's version bump, CHANGELOG section, dependents' ranges, commit and tag.

`uv version --bump` rewrites the version; the lock is refreshed once at the end, after the
dependents accept the new version (before that it would not resolve).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

from tabship_dev.workspace import (
    PACKAGES,
    ROOT,
    ToolError,
    git,
    internal_dependencies,
    package_version,
    uv,
)

PARTS = ("major", "minor", "patch")
RELEASE_TAG = re.compile(r"tabship-(?P<package>[a-z]+)-v(?P<version>\d+\.\d+\.\d+)")


def compatible_range(version: str) -> str:
    """The range a dependent declares: the same minor before 1.0, the same major after it."""
    major, minor, _ = (int(x) for x in version.split("."))
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


def bump_version(package: str, part: str, root: Path = ROOT) -> str:
    """Bump PACKAGE's version in its pyproject.toml with `uv version` (no relock); the new one."""
    if part not in PARTS:
        raise ToolError(f"part must be major, minor or patch, not {part!r}")
    subprocess.run(
        [uv(), "version", "--quiet", "--frozen", "--bump", part, "--package", f"tabship-{package}"],
        cwd=root,
        check=True,
    )
    return package_version(package, root)


def changelog_section(package: str, old: str, new: str, root: Path, today: str | None) -> str:
    """A CHANGELOG section for NEW listing the package's commits since the tag of OLD."""
    previous_tag = f"tabship-{package}-v{old}"
    has_previous = bool(git("tag", "--list", previous_tag, root=root))
    log_range = [f"{previous_tag}..HEAD"] if has_previous else []
    subjects = git(
        "log", "--format=- %s", *log_range, "--", f"packages/{package}", root=root
    ).splitlines()
    date = today or dt.date.today().isoformat()
    return f"## {new} - {date}\n\n" + "\n".join(subjects or ["- No functional change."]) + "\n\n"


def release_package(
    package: str, part: str, root: Path = ROOT, today: str | None = None
) -> tuple[str, list[Path]]:
    """Bump PACKAGE's version, add a CHANGELOG section, widen dependents' ranges; return the tag."""
    old = package_version(package, root)
    new = bump_version(package, part, root)
    changelog = root / "packages" / package / "CHANGELOG.md"
    lines = changelog.read_text(encoding="utf-8")
    first = re.search(r"(?m)^## ", lines)
    at = first.start() if first else len(lines)
    section = changelog_section(package, old, new, root, today)
    changelog.write_text(lines[:at] + section + lines[at:], encoding="utf-8")
    touched = [root / "packages" / package / "pyproject.toml", changelog]
    # Dependents must accept the new version, or the workspace lock no longer resolves.
    for dependent, deps in internal_dependencies(root).items():
        if package not in deps:
            continue
        dep_file = root / "packages" / dependent / "pyproject.toml"
        dep_text = dep_file.read_text(encoding="utf-8")
        wanted = f'"tabship-{package}{compatible_range(new)}"'
        dep_file.write_text(re.sub(rf'"tabship-{package}[^"]*"', wanted, dep_text), "utf-8")
        touched.append(dep_file)
    if package == "serving":  # the manifests' default image follows the serving package
        touched.append(pin_serving_image(new, root))
    return f"tabship-{package}-v{new}", touched


SERVING_IMAGE = re.compile(r"(image: \S+/tabship/serving):\S+")


def pin_serving_image(version: str, root: Path = ROOT) -> Path:
    """deploy/k8s/deployment.yaml's serving image, tagged VERSION."""
    path = root / "deploy" / "k8s" / "deployment.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(SERVING_IMAGE.sub(rf"\g<1>:{version}", text), encoding="utf-8")
    return path


def release(package: str, part: str, root: Path = ROOT) -> str:
    """The whole release: bump, CHANGELOG, ranges, `uv lock`, a commit and an annotated tag."""
    if package not in PACKAGES or part not in PARTS:
        raise ToolError(f"usage: release {{{','.join(PACKAGES)}}} {{{','.join(PARTS)}}}")
    if git("status", "--porcelain", "--untracked-files=no", root=root):
        raise ToolError("the work tree has uncommitted changes: commit or stash them first")
    tag, touched = release_package(package, part, root)
    subprocess.run([uv(), "lock", "--quiet"], cwd=root, check=True)
    version = tag.rsplit("-v", 1)[1]
    git("add", "uv.lock", *map(str, touched), root=root)
    git("commit", "--quiet", "-m", f"release: tabship-{package} {version}", root=root)
    git("tag", "-a", tag, "-m", f"tabship-{package} {version}", root=root)
    return tag


def publish(tag: str, root: Path = ROOT) -> list[Path]:
    """Build the package a release tag names and upload it with `uv publish`.

    The index comes from UV_PUBLISH_URL and UV_PUBLISH_TOKEN, as `uv publish` reads them. The tag
    must match the package's own version.
    """
    match = RELEASE_TAG.fullmatch(tag)
    if match is None or match["package"] not in PACKAGES:
        raise ToolError(f"not a release tag: {tag!r} (want tabship-PACKAGE-vX.Y.Z)")
    package, version = match["package"], match["version"]
    if package_version(package, root) != version:
        raise ToolError(f"{tag}: packages/{package} is at version {package_version(package, root)}")
    out = root / "dist" / "release" / package
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [uv(), "build", "--package", f"tabship-{package}", "--out-dir", str(out)],
        cwd=root,
        check=True,
    )
    files = sorted(out.iterdir())
    if not os.environ.get("UV_PUBLISH_URL"):
        raise ToolError("built, but not uploaded: set UV_PUBLISH_URL (and UV_PUBLISH_TOKEN)")
    subprocess.run([uv(), "publish", *map(str, files)], cwd=root, check=True)
    return files
