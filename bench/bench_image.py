"""Benchmark the serving image's build, measured in one run on a copy of the checkout:

1. the wheelhouse (the locked wheels come from pip's cache when present; the project's wheels
   are built), then a cold build of the serving image (`--no-cache`: every step runs; the local
   Debian base is reused, and its own cost is printed when it had to be made), and its size;
2. a rebuild with nothing changed;
3. a rebuild after a change to one Python file (a comment appended to the serving package's
   `__init__.py`): the wheelhouse rebuilds that package's wheel, and the build reruns only the
   project-wheels step and what follows it.

Each line gives the seconds, the steps taken from the layer cache, and the load average. The copy
holds the tracked files and the checkout's stored model (dist/bento: run `nox -s image` once
first), so the checkout itself is never edited. `nox -s bench -- image [--keep]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = Path("dist") / "bento" / "models"
# Tagged apart, so the checkout's own localhost/tabship-serving:latest is left as it was.
BUILD = ("--target", "serving", "--tag", "bench")
IMAGE = "localhost/tabship-serving:bench"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def copy_checkout(target: Path) -> None:
    """The tracked files, and the stored model the serving image carries."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.split("\0")  # fmt: skip
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copytree(REPO / MODELS, target / MODELS)
    subprocess.run(["git", "init", "--quiet"], cwd=target, check=True)  # the revision label


def step(copy: Path, label: str, *args: str) -> float:
    """Run `python docker/image.py ARGS` in the copy; print and return its seconds."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(copy / "docker" / "image.py"), *args], cwd=copy,
                          capture_output=True, text=True, check=False)  # fmt: skip
    seconds = time.monotonic() - start
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"bench image: {label} failed")
    cached = done.stdout.count("Using cache") + done.stderr.count("Using cache")
    print(f"{label:<44} {seconds:7.1f} s  {cached:2d} steps cached  {load()}", flush=True)
    return seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the copy (its path is printed)")
    args = parser.parse_args(argv)
    if not (REPO / MODELS).is_dir():
        print(f"bench image: no {MODELS}: run `nox -s image` once first", file=sys.stderr)
        return 2
    copy = Path(tempfile.mkdtemp(prefix="tabship-bench-image-"))
    try:
        copy_checkout(copy)
        print(f"bench image: a copy of the checkout in {copy}; {load()}", flush=True)
        step(copy, "base (made only if missing)", "base")
        step(copy, "wheelhouse", "wheelhouse")
        cold = step(copy, "cold build (--no-cache)", "build", *BUILD, "--no-cache")
        listing = subprocess.run(["buildah", "images", "--format", "{{.Size}}",
                                  IMAGE],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        print(f"{'serving image size':<44} {listing.stdout.strip() or '?'}")
        unchanged = step(copy, "rebuild, nothing changed", "build", *BUILD)
        init = copy / "packages" / "serving" / "src" / "tabship" / "serving" / "__init__.py"
        init.write_text(init.read_text(encoding="utf-8") + "# bench: one changed file\n")
        wheels = step(copy, "wheelhouse after a one-file change", "wheelhouse")
        changed = step(copy, "rebuild after a one-file change", "build", *BUILD)
        print(
            f"\none-file rebuild / cold build: {changed / cold:.2f} "
            f"({changed:.1f} s / {cold:.1f} s; with its wheelhouse {(changed + wheels):.1f} s); "
            f"unchanged: {unchanged:.1f} s"
        )
    finally:
        subprocess.run(["buildah", "rmi", IMAGE], capture_output=True, check=False)
        if args.keep:
            print(f"kept {copy}")
        else:
            shutil.rmtree(copy, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
