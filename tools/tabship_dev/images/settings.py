"""The image tooling's settings and its small shared steps: paths, targets, running a command."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tabship_dev.workspace import ROOT, ToolError

DOCKER_DIR = ROOT / "docker"
WHEELHOUSE = ROOT / "dist" / "wheelhouse"
# The BentoML home whose model store the serving image carries (BENTOML_HOME for `tabship-serving
# build --model-only`). Only its models/ folder goes into the image.
MODEL_HOME = ROOT / "dist" / "bento"
# Held by every command that builds, so two builds in one checkout take turns.
BUILD_LOCK = ROOT / "dist" / ".image.lock"
SBOM_DIR = ROOT / "dist" / "sbom"  # each image's CycloneDX SBOM, made with the wheelhouse
MODEL_NAME = "tabship-adult"
TARGETS = ("serving", "training", "ci")
# The workspace package each image installs, with its locked third-party dependencies.
TARGET_PACKAGE = {"serving": "tabship-serving", "training": "tabship-models"}
# The project's own wheels each image installs (no dependencies: the lock export pins those).
TARGET_WHEELS = {
    "serving": ("tabship-data", "tabship-features", "tabship-models", "tabship-serving"),
    "training": ("tabship-data", "tabship-features", "tabship-models"),
    "ci": (),
}


def project_wheels(wheelhouse: Path, package: str) -> list[Path]:
    """PACKAGE's wheels in WHEELHOUSE (a wheel's name spells the package with underscores)."""
    return sorted(wheelhouse.glob(f"{package.replace('-', '_')}-*.whl"))


BASE_IMAGE = "localhost/tabship-base:bookworm"
# python3-venv brings ensurepip (the images make a venv); LightGBM's wheel needs libgomp1.
BASE_PACKAGES = ("python3", "python3-venv", "libgomp1")
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# An imported root file system has no environment: the Dockerfiles extend this PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SERVING_PORT = 3000
# The wheels must fit CPython 3.11 on glibc x86_64 (Debian bookworm has glibc 2.36). pip matches a
# --platform tag exactly, so list every manylinux tag such a system accepts.
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "linux_x86_64",
)


def targets(target: str) -> tuple[str, ...]:
    """The targets `--target TARGET` names: TARGET, or every one for `all`."""
    return TARGETS if target == "all" else (target,)


class ImageError(ToolError):
    """A step cannot go on; the message says why and what to do."""


def log(message: str) -> None:
    """Progress on stderr, so that stdout stays free for --json."""
    print(f"image.py: {message}", file=sys.stderr, flush=True)


def run(
    command: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root; echo it first."""
    argv = [str(c) for c in command]
    log("$ " + " ".join(argv))
    if capture:
        return subprocess.run(argv, cwd=cwd, env=env, check=check, text=True, capture_output=True)
    # The command's own output is progress: stderr, so that stdout holds only --json's document.
    return subprocess.run(argv, cwd=cwd, env=env, check=check, text=True, stdout=sys.stderr)


def output(command: Sequence[str | Path], env: dict[str, str] | None = None) -> str:
    """A quiet command's stdout, stripped."""
    argv = [str(c) for c in command]
    done = subprocess.run(argv, cwd=ROOT, env=env, check=True, text=True, capture_output=True)
    return done.stdout.strip()


@contextlib.contextmanager
def timed(step: str, timings: dict[str, float]) -> Iterator[None]:
    """Record how long STEP took (wall clock, seconds)."""
    start = time.monotonic()
    yield
    timings[step] = round(time.monotonic() - start, 1)
    log(f"{step}: {timings[step]} s")
