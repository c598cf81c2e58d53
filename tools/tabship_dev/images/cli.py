"""Container images for tabship: a wheelhouse, a local base image, builds and a smoke check.

    python docker/image.py wheelhouse                  dist/wheelhouse/ from uv.lock (+ bootstrap tools)
    python docker/image.py base [--force]              localhost/tabship-base:bookworm (debootstrap)
    python docker/image.py build [--target T] [--base-image NAME] [--tool auto|docker|buildah]
    python docker/image.py check [--target T] [--port N]  start the image; /readyz and one prediction
    python docker/image.py make [--target T] [--base-image NAME]  wheelhouse, then build and check each
    python docker/image.py prepare                     wheelhouse, base, and every layer but the model

Commands that build hold dist/.image.lock, so two of them (CI's `prepare` in the background and a
test's build) take turns instead of writing the same wheelhouse at once; the second then finds
its layers cached.

`make` is what `nox -s image` runs, after storing the champion's model when the serving image is
among the targets (`BENTOML_HOME=dist/bento tabship-serving build --model-only`).

Every Dockerfile installs Python packages only from dist/wheelhouse/ (`pip install --no-index`), so a
build needs no index once the wheelhouse exists. `build` uses `docker build` when a Docker daemon
answers and buildah (chroot isolation) otherwise. Plain Python 3.11 standard library: it runs before
any environment exists. See docker/README.md for the steps and the measured times.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tabship_dev.images.base import cmd_base
from tabship_dev.images.build import MODEL_FREE_STAGE, cmd_build
from tabship_dev.images.check import cmd_check
from tabship_dev.images.settings import (
    BASE_IMAGE,
    BUILD_LOCK,
    DEBIAN_MIRROR,
    TARGETS,
    WHEELHOUSE,
    log,
    targets,
)
from tabship_dev.images.wheelhouse import cmd_wheelhouse
from tabship_dev.workspace import ROOT, ToolError


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(prog="python docker/image.py", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    top.add_argument("--json", action="store_true", help="print the result as one JSON object")
    commands = top.add_subparsers(dest="command", required=True)

    wheelhouse = commands.add_parser("wheelhouse", help="dist/wheelhouse from uv.lock")
    wheelhouse.add_argument("--out", type=Path, default=WHEELHOUSE, help="default: dist/wheelhouse")
    wheelhouse.set_defaults(run=cmd_wheelhouse)

    def add_tool(command: argparse.ArgumentParser) -> None:
        command.add_argument("--tool", choices=("auto", "docker", "podman", "buildah"),
                             default="auto", help="default: docker when its daemon answers, "
                             "else podman (buildah builds) when installed, else buildah")  # fmt: skip

    base = commands.add_parser("base", help=f"make (or reuse) {BASE_IMAGE} with debootstrap")
    base.add_argument("--name", default=BASE_IMAGE)
    base.add_argument("--mirror", default=DEBIAN_MIRROR)
    base.add_argument("--force", action="store_true", help="make it again even if it exists")
    add_tool(base)
    base.set_defaults(run=cmd_base)

    build = commands.add_parser("build", help="build an image with docker or buildah")
    build.add_argument("--target", choices=(*TARGETS, "all"), default="serving")
    base_help = f"BASE_IMAGE build argument (default: {BASE_IMAGE}, made if missing)"
    build.add_argument("--base-image", default="", help=base_help)
    build.add_argument("--tag", default="latest")
    build.add_argument("--no-cache", action="store_true", help="rebuild every step")
    build.add_argument("--stage", default="", choices=("", MODEL_FREE_STAGE),
                       help=f"serving only: build its `{MODEL_FREE_STAGE}` stage (all but the "
                       "model), named localhost/tabship-serving-runtime")  # fmt: skip
    add_tool(build)
    build.set_defaults(run=cmd_build)

    check = commands.add_parser("check", help="start a built image and check that it works")
    check.add_argument("--target", choices=TARGETS, default="serving")
    check.add_argument("--image", default="", help="image name (default: the target's build)")
    check.add_argument("--tag", default="latest")
    check.add_argument(
        "--port", type=int, default=0, help="loopback port (default: 3000 if free, else any)"
    )
    check.add_argument("--timeout", type=float, default=120, help="seconds to wait for /readyz")
    add_tool(check)
    check.set_defaults(run=cmd_check)

    make = commands.add_parser("make", help="the wheelhouse, then build and check each target")
    make.add_argument("--target", choices=(*TARGETS, "all"), default="serving")
    make.add_argument("--base-image", default="", help=base_help)
    add_tool(make)
    make.set_defaults(run=cmd_make)

    prepare = commands.add_parser(
        "prepare", help="the wheelhouse, the base, every model-free layer"
    )
    prepare.add_argument("--base-image", default="", help=base_help)
    add_tool(prepare)
    prepare.set_defaults(run=cmd_prepare)
    return top


def make_targets(argv: Sequence[str]) -> tuple[str, ...]:
    """The targets `image.py make ARGV` builds, in order (bad arguments: argparse exits 2)."""
    return targets(parser().parse_args(["make", *argv]).target)


def cmd_make(args: argparse.Namespace) -> dict[str, Any]:
    """The wheelhouse, then each target built and checked in turn, with the defaults of `build`
    and `check` for what `make` does not take."""
    steps = parser()
    result: dict[str, Any] = {"wheelhouse": cmd_wheelhouse(steps.parse_args(["wheelhouse"]))}
    for target in targets(args.target):
        chosen = ["--target", target, "--tool", args.tool]
        built = cmd_build(steps.parse_args(["build", *chosen, "--base-image", args.base_image]))
        result[target] = {"build": built, "check": cmd_check(steps.parse_args(["check", *chosen]))}
    return result


def cmd_prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Everything a build can do before a champion exists: the wheelhouse, the base image, the
    training image and the serving image's model-free stage. CI runs it in the background while
    the tests run; the tests' own builds then reuse its layers."""
    steps = parser()
    common = ["--tool", args.tool, "--base-image", args.base_image]
    stage = ["--stage", MODEL_FREE_STAGE]
    return {
        "wheelhouse": cmd_wheelhouse(steps.parse_args(["wheelhouse"])),
        "training": cmd_build(steps.parse_args(["build", "--target", "training", *common])),
        "serving": cmd_build(steps.parse_args(["build", "--target", "serving", *common, *stage])),
    }


@contextlib.contextmanager
def build_lock(command: str) -> Iterator[None]:
    """Hold dist/.image.lock while COMMAND builds (check only reads and needs none)."""
    if command == "check":
        yield
        return
    BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with BUILD_LOCK.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"{command}: waiting for another build to finish ({BUILD_LOCK.relative_to(ROOT)})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # the lock goes with the file's closing


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        with build_lock(args.command):
            result: dict[str, Any] = args.run(args)
    except (ToolError, subprocess.CalledProcessError) as error:
        print(f"image.py {args.command}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.command}: " + ", ".join(f"{k} {v}" for k, v in result.items()))
    return 0
