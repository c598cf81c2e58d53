"""The workspace's build outputs, made in one place: requirements exported from uv.lock and the
wheels (and sdists) of the four packages. The bento, the wheelhouse and the images take them as paths.

Wheels never depend on what happens to be in uv's cache: matching wheels already in dist/wheels are
reused, otherwise uv builds them and fetches the build backend from the index. When offline is
demanded (--offline or UV_OFFLINE) and the backend is not cached, the error says so in one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tabship_dev.workspace import PACKAGES, ROOT, ToolError, package_version, uv

WHEELS = ROOT / "dist" / "wheels"
SERVING_REQUIREMENTS = "requirements-serving.txt"
# uv's words when a build backend is needed but the network is off and the cache lacks it.
OFFLINE_MISS = ("not found in the cache", "network was disabled")


def export_requirements(
    out: Path,
    *,
    package: str | None = None,
    hashes: bool = True,
    groups: bool = False,
    root: Path = ROOT,
) -> Path:
    """Third-party requirements pinned by uv.lock, into OUT: PACKAGE's (a distribution name) or
    the whole workspace's, with dependency groups when GROUPS; never the workspace packages."""
    target = ["--package", package] if package else ["--all-packages"]
    command = [uv(), "export", "--frozen", "--no-emit-workspace", "--no-header", *target]
    command += ["--all-groups"] if groups else ["--no-default-groups"]
    command += [] if hashes else ["--no-hashes"]
    out.parent.mkdir(parents=True, exist_ok=True)
    # uv also prints the export on stdout: keep it out of the log.
    subprocess.run([*command, "--output-file", str(out)], cwd=root, check=True, capture_output=True)
    return out


def wheel_name(package: str, root: Path = ROOT) -> str:
    """The file name of a package's wheel at its current version."""
    return f"tabship_{package}-{package_version(package, root)}-py3-none-any.whl"


def _newest_source(package: str, root: Path) -> float:
    """The newest modification time of what goes into a package's wheel."""
    folder = root / "packages" / package
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return max(p.stat().st_mtime for p in files if "tests" not in p.relative_to(folder).parts)


def current_wheels(out: Path, root: Path = ROOT) -> list[Path] | None:
    """OUT's wheels when there is one per package, at its version, newer than its sources."""
    wheels = {p: out / wheel_name(p, root) for p in PACKAGES}
    for package, wheel in wheels.items():
        if not wheel.is_file() or wheel.stat().st_mtime < _newest_source(package, root):
            return None
    return list(wheels.values())


def offline_demanded(flag: bool = False) -> bool:
    """--offline, or UV_OFFLINE set to a true value as uv reads it."""
    return flag or os.environ.get("UV_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def build_wheels(
    out: Path = WHEELS,
    *,
    sdists: bool = False,
    offline: bool = False,
    rebuild: bool = False,
    root: Path = ROOT,
) -> list[Path]:
    """The four packages' wheels in OUT (and their sdists with SDISTS), reused when current."""
    if not (rebuild or sdists):
        reused = current_wheels(out, root)
        if reused is not None:
            return reused
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("tabship_*.whl"), *out.glob("tabship_*.tar.gz")]:
        old.unlink()
    command = [uv(), "build", "--all-packages", "--quiet", "--out-dir", str(out)]
    command += [] if sdists else ["--wheel"]
    command += ["--offline"] if offline_demanded(offline) else []
    done = subprocess.run(command, cwd=root, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        if any(words in done.stderr for words in OFFLINE_MISS):
            raise ToolError(
                "the build backend (hatchling) is not in uv's cache and offline was demanded "
                "(--offline or UV_OFFLINE): run `nox -s build` once with the index reachable, "
                "or drop the offline demand"
            )
        last = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise ToolError(f"uv build failed: {last[0]}")
    wheels = [out / wheel_name(p, root) for p in PACKAGES]
    for wheel in wheels:
        if not wheel.is_file():
            raise ToolError(
                f"uv build made no {wheel.name}: is the version in pyproject.toml right?"
            )
    return wheels


def check_wheels(wheels: list[Path], root: Path = ROOT) -> str:
    """Install WHEELS with the locked dependencies into a new venv and import every package."""
    with tempfile.TemporaryDirectory() as scratch:
        constraints = export_requirements(
            Path(scratch) / "constraints.txt", hashes=False, root=root
        )
        venv = Path(scratch) / "venv"
        python = venv / "bin" / "python"
        subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [uv(), "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints),
             *map(str, wheels)],
            check=True,
        )  # fmt: skip
        imports = ", ".join(f"tabship.{p}" for p in PACKAGES)
        subprocess.run([str(python), "-c", f"import {imports}"], check=True)
    return imports
