"""The local base image: Debian bookworm made once with debootstrap and imported."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tabship_dev.images.engine import buildah_env, choose_tool, image_exists, image_size
from tabship_dev.images.settings import (
    BASE_PACKAGES,
    DEFAULT_PATH,
    ImageError,
    log,
    output,
    run,
    timed,
)


def debootstrap(rootfs: Path, mirror: str) -> None:
    """A minimal Debian bookworm with Python 3.11 at ROOTFS, without caches, docs or man pages."""
    if not shutil.which("debootstrap"):
        raise ImageError("debootstrap is missing: apt-get install debootstrap")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", "bookworm",
         rootfs, mirror])  # fmt: skip
    for garbage in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/man",
                    "usr/share/info", "usr/share/locale", "var/log"):  # fmt: skip
        folder = rootfs / garbage
        for child in folder.iterdir() if folder.is_dir() else ():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            elif child.name != "lock":
                child.unlink()
    (rootfs / "etc" / "apt" / "sources.list").write_text(
        f"deb {mirror} bookworm main\n"
        f"deb {mirror} bookworm-updates main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n",
        encoding="utf-8",
    )


def commit_rootfs(tool: str, rootfs: Path, name: str) -> None:
    """Import ROOTFS as image NAME: `buildah from scratch` + copy + commit, or `docker import`."""
    if tool == "docker":
        log(f"$ tar -C {rootfs} -c . | docker import - {name}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "--change", f"ENV PATH={DEFAULT_PATH}",
                        "--change", "ENV LANG=C.UTF-8", "--change",
                        'CMD ["/bin/bash"]', "-", name], stdin=tar.stdout, check=True)  # fmt: skip
        if tar.wait() != 0:
            raise ImageError(f"tar of {rootfs} failed")
        return
    env = buildah_env()
    container = output(["buildah", "from", "scratch"], env=env)
    try:
        mount = output(["buildah", "mount", container], env=env)
        run(["cp", "-a", f"{rootfs}/.", mount])
        run(["buildah", "config", "--env", f"PATH={DEFAULT_PATH}", "--env", "LANG=C.UTF-8",
             "--cmd", "/bin/bash",
             "--label", "org.opencontainers.image.description=Debian bookworm minbase + python3",
             container], env=env)  # fmt: skip
        run(["buildah", "commit", "--quiet", "--format", "docker", container, name], env=env)
    finally:
        subprocess.run(["buildah", "rm", container], env=env, capture_output=True, check=False)


def ensure_base(tool: str, name: str, mirror: str, force: bool) -> bool:
    """Make the local base image unless it exists; True when it was made now."""
    if image_exists(tool, name) and not force:
        log(f"{name} exists: reused (--force remakes it)")
        return False
    with tempfile.TemporaryDirectory(prefix="tabship-base-", dir="/var/tmp") as scratch:
        rootfs = Path(scratch) / "rootfs"
        debootstrap(rootfs, mirror)
        commit_rootfs(tool, rootfs, name)
    return True


def cmd_base(args: argparse.Namespace) -> dict[str, Any]:
    """Make (or reuse) the local Debian bookworm base image."""
    tool = choose_tool(args.tool)
    timings: dict[str, float] = {}
    with timed("base", timings):
        made = ensure_base(tool, args.name, args.mirror, args.force)
    return {"image": args.name, "made": made, "bytes": image_size(tool, args.name),
            "seconds": timings}  # fmt: skip
