"""dist/wheelhouse/: the locked third-party wheels, the project's wheels and the bootstrap tools."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tabship_dev.artifacts import build_wheels, export_requirements
from tabship_dev.images.settings import (
    PLATFORMS,
    SBOM_DIR,
    TARGET_PACKAGE,
    TARGETS,
    log,
    run,
    timed,
)
from tabship_dev.workspace import ROOT, uv


def pip_env() -> dict[str, str]:
    """The environment for `pip download`: no machine-specific find-links or extra indexes.

    Every file is checked against the lock's hashes anyway; PIP_INDEX_URL (a mirror) still applies.
    """
    env = {
        k: v for k, v in os.environ.items() if k not in {"PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"}
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def compile_bootstrap(out: Path) -> None:
    """requirements-bootstrap.txt resolved with hashes; versions the lock also holds are kept."""
    with tempfile.TemporaryDirectory() as scratch:
        constraints = export_requirements(
            Path(scratch) / "constraints.txt", hashes=False, groups=True
        )
        run([uv(), "pip", "compile", "--quiet", "--generate-hashes", "--no-header",
             "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28",
             "--constraint", constraints, "--output-file", out,
             ROOT / "requirements-bootstrap.txt"])  # fmt: skip


def pip() -> list[str]:
    """pip: this Python's, or one uv runs (a uv-made venv, like a nox session's, has none)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    return [uv(), "tool", "run", "pip==26.3"]


def download(requirements: Path, wheelhouse: Path) -> None:
    """Every wheel in REQUIREMENTS for CPython 3.11 on Linux x86_64; hashes checked."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    run([*pip(), "download", "--quiet", "--require-hashes", "--no-deps",
         "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
         "--abi", "cp311", *platforms, "--dest", wheelhouse, "--requirement", requirements],
        env=pip_env())  # fmt: skip


def sbom_tool() -> Path:
    """cyclonedx-py from the lock's `sbom` group, synced into .nox/sbom (the lock pins it)."""
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(ROOT / ".nox" / "sbom")}
    run([uv(), "sync", "--frozen", "--quiet", "--no-default-groups", "--only-group", "sbom"],
        env=env)  # fmt: skip
    return ROOT / ".nox" / "sbom" / "bin" / "cyclonedx-py"


def write_sbom(tool: Path, requirements: Path, package: str, out: Path) -> Path:
    """The CycloneDX SBOM (JSON, reproducible) of the Python packages REQUIREMENTS pins, with
    PACKAGE's pyproject.toml as its root component."""
    folder = package.removeprefix("tabship-")
    run([tool, "requirements", requirements, "--pyproject",
         ROOT / "packages" / folder / "pyproject.toml", "--output-reproducible", "--of", "JSON",
         "-o", out])  # fmt: skip
    return out


def cmd_wheelhouse(args: argparse.Namespace) -> dict[str, Any]:
    """dist/wheelhouse/: locked third-party wheels, the project's wheels, the bootstrap tools."""
    wheelhouse: Path = args.out
    wheelhouse.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with timed("export", timings):
        for target, package in TARGET_PACKAGE.items():
            # With hashes: the images install with pip --require-hashes.
            export_requirements(wheelhouse / f"requirements-{target}.txt", package=package)
        compile_bootstrap(wheelhouse / "requirements-ci.txt")
    with timed("sbom", timings):
        tool = sbom_tool()
        for target, package in TARGET_PACKAGE.items():
            SBOM_DIR.mkdir(parents=True, exist_ok=True)
            write_sbom(tool, wheelhouse / f"requirements-{target}.txt", package,
                       SBOM_DIR / f"{target}.cdx.json")  # fmt: skip
    with timed("download", timings):
        for target in TARGETS:
            download(wheelhouse / f"requirements-{target}.txt", wheelhouse)
    with timed("project wheels", timings):
        build_wheels(wheelhouse)  # the same builder as the bento's, reused when current
    wheels = sorted(wheelhouse.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    log(f"{wheelhouse.relative_to(ROOT)}: {len(wheels)} wheels, {size / 1e6:.0f} MB")
    return {"wheelhouse": str(wheelhouse), "wheels": len(wheels), "bytes": size, "seconds": timings}
