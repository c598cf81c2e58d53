"""dist/wheelhouse/: the locked third-party wheels, the project's wheels and the bootstrap tools."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
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
    """requirements-bootstrap.txt resolved with hashes; versions the lock also holds are kept.
    Without annotations: they name a temporary file, and the download is keyed by the content."""
    with tempfile.TemporaryDirectory() as scratch:
        constraints = export_requirements(
            Path(scratch) / "constraints.txt", hashes=False, groups=True
        )
        run([uv(), "pip", "compile", "--quiet", "--generate-hashes", "--no-header", "--no-annotate",
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


def inputs_digest(*paths: Path) -> str:
    """sha256 over the contents of PATHS, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def current(stamp: Path, digest: str, outputs: list[Path]) -> bool:
    """Whether STAMP records DIGEST and every one of OUTPUTS still exists with its recorded size:
    then the step that made them would make them again, and is skipped."""
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    sizes = recorded.get("sizes", {})
    return (
        recorded.get("digest") == digest
        and all(path.is_file() and path.stat().st_size == sizes.get(path.name) for path in outputs)
        and set(sizes) == {path.name for path in outputs}
    )


def record(stamp: Path, digest: str, outputs: list[Path]) -> None:
    """Write STAMP after the step made OUTPUTS from inputs whose digest is DIGEST."""
    sizes = {path.name: path.stat().st_size for path in outputs}
    stamp.write_text(json.dumps({"digest": digest, "sizes": sizes}), encoding="utf-8")


def third_party_wheels(wheelhouse: Path) -> list[Path]:
    """The downloaded wheels: every one but the project's own."""
    return [w for w in wheelhouse.glob("*.whl") if not w.name.startswith("tabship_")]


def cmd_wheelhouse(args: argparse.Namespace) -> dict[str, Any]:
    """dist/wheelhouse/: locked third-party wheels, the project's wheels, the bootstrap tools.

    The SBOMs and the download are skipped when their inputs (the exported requirements, and the
    package's pyproject.toml for an SBOM) are those of the last run and its files are all there:
    `pip download` re-reads every wheel to check it (about 15 s), and the images' `pip install
    --require-hashes` checks each wheel's hash when it installs it anyway."""
    wheelhouse: Path = args.out
    wheelhouse.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    requirements = [wheelhouse / f"requirements-{target}.txt" for target in TARGETS]
    with timed("export", timings):
        for target, package in TARGET_PACKAGE.items():
            # With hashes: the images install with pip --require-hashes.
            export_requirements(wheelhouse / f"requirements-{target}.txt", package=package)
        compile_bootstrap(wheelhouse / "requirements-ci.txt")
    with timed("sbom", timings):
        SBOM_DIR.mkdir(parents=True, exist_ok=True)
        for target, package in TARGET_PACKAGE.items():
            listed = wheelhouse / f"requirements-{target}.txt"
            pyproject = ROOT / "packages" / package.removeprefix("tabship-") / "pyproject.toml"
            out, digest = SBOM_DIR / f"{target}.cdx.json", inputs_digest(listed, pyproject)
            stamp = SBOM_DIR / f".{target}.inputs"
            if not current(stamp, digest, [out]):
                write_sbom(sbom_tool(), listed, package, out)
                record(stamp, digest, [out])
    with timed("download", timings):
        stamp, digest = wheelhouse / ".downloaded", inputs_digest(*requirements)
        if not current(stamp, digest, third_party_wheels(wheelhouse)):
            for listed in requirements:
                download(listed, wheelhouse)
            record(stamp, digest, third_party_wheels(wheelhouse))
    with timed("project wheels", timings):
        build_wheels(wheelhouse)  # the same builder as the bento's, reused when current
    wheels = sorted(wheelhouse.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    log(f"{wheelhouse.relative_to(ROOT)}: {len(wheels)} wheels, {size / 1e6:.0f} MB")
    return {"wheelhouse": str(wheelhouse), "wheels": len(wheels), "bytes": size, "seconds": timings}
