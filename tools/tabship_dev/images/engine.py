"""The container engine: docker when its daemon answers, otherwise buildah (chroot isolation)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from tabship_dev.images.settings import ImageError, output


def docker_answers() -> bool:
    """Whether a Docker daemon answers `docker info`."""
    if not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def choose_tool(wanted: str) -> str:
    """docker or buildah."""
    if wanted == "docker" or (wanted == "auto" and docker_answers()):
        return "docker"
    if not shutil.which("buildah"):
        raise ImageError("no Docker daemon answers and buildah is missing: apt-get install buildah")
    return "buildah"


def buildah_env() -> dict[str, str]:
    """buildah as root without namespaces it cannot create here."""
    return {**os.environ, "BUILDAH_ISOLATION": "chroot"}


def image_exists(tool: str, name: str) -> bool:
    """Whether the local store holds image NAME."""
    command = ["docker", "image", "inspect", name] if tool == "docker" else [
        "buildah", "inspect", "--type", "image", name]  # fmt: skip
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def image_size(tool: str, name: str) -> int:
    """The image's size in bytes, uncompressed (what `docker images` shows)."""
    if tool == "docker":
        return int(output(["docker", "image", "inspect", "--format", "{{.Size}}", name]))
    # buildah reports it only rounded, in SI units: "138 MB".
    listing = json.loads(output(["buildah", "images", "--json", name], env=buildah_env()))
    number, unit = str(listing[0]["size"]).split()
    scale = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    return int(float(number) * scale[unit])
