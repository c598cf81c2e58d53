"""The local base image: Debian bookworm made once with debootstrap and imported."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tabship_dev.images.engine import Engine, choose_engine
from tabship_dev.images.settings import (
    BASE_PACKAGES,
    ImageError,
    log,
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


def ensure_base(engine: Engine, name: str, mirror: str, force: bool) -> bool:
    """Make the local base image unless it exists; True when it was made now."""
    if engine.exists(name) and not force:
        log(f"{name} exists: reused (--force remakes it)")
        return False
    with tempfile.TemporaryDirectory(prefix="tabship-base-", dir="/var/tmp") as scratch:
        rootfs = Path(scratch) / "rootfs"
        debootstrap(rootfs, mirror)
        engine.import_rootfs(rootfs, name, "Debian bookworm minbase + python3")
    return True


def cmd_base(args: argparse.Namespace) -> dict[str, Any]:
    """Make (or reuse) the local Debian bookworm base image."""
    engine = choose_engine(args.tool)
    timings: dict[str, float] = {}
    with timed("base", timings):
        made = ensure_base(engine, args.name, args.mirror, args.force)
    return {"image": args.name, "made": made, "bytes": engine.size(args.name),
            "seconds": timings}  # fmt: skip
